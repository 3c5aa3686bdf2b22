//! The file layout: the two tables, their columns (Chinese label and English code),
//! and the words accepted in cells for kinds, roles and yes/no.

use mashang_domain::grid::NodeKind;
use mashang_domain::role::Role;
use serde::Serialize;

/// The two tables of an import file: the `网格` and `人员` sheets of a workbook, or
/// the value of the `表` column of a CSV row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Table {
    /// 网格: the nodes of the grid tree.
    #[serde(rename = "网格")]
    Nodes,
    /// 人员: people, one row per role they hold.
    #[serde(rename = "人员")]
    People,
}

impl Table {
    /// Both tables, nodes first.
    pub const ALL: [Table; 2] = [Self::Nodes, Self::People];

    /// The sheet name and `表` value: `网格`, `人员`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Nodes => "网格",
            Self::People => "人员",
        }
    }

    /// The English code, accepted in place of the label: `nodes`, `people`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Nodes => "nodes",
            Self::People => "people",
        }
    }

    /// Recognises a sheet name or `表` value (label or code, any case, trimmed).
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = clean(raw);
        Self::ALL
            .into_iter()
            .find(|t| raw == t.label() || raw.eq_ignore_ascii_case(t.code()))
    }

    /// This table's columns, in the order the template and the export write them.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Self::Nodes => &NODE_COLUMNS,
            Self::People => &PEOPLE_COLUMNS,
        }
    }

    /// The columns a file must have when it has rows of this table.
    pub fn required(self) -> &'static [Column] {
        match self {
            Self::Nodes => &[Column::Code, Column::Name, Column::Kind, Column::Parent],
            Self::People => &[
                Column::PersonName,
                Column::Phone,
                Column::Role,
                Column::Node,
            ],
        }
    }
}

/// A column of either table (`Active` belongs to both).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    /// 表: which table a CSV row belongs to (CSV only).
    Table,
    /// 编码: the node's code, unique in the township.
    Code,
    /// 名称: the node's name.
    Name,
    /// 类型: the node's kind.
    Kind,
    /// 上级编码: the parent node's code; empty only for the township root.
    Parent,
    /// 排序: order among siblings.
    Position,
    /// 姓名: the person's name.
    PersonName,
    /// 手机号: the person's mobile number, which identifies them.
    Phone,
    /// 角色: the role held on this row.
    Role,
    /// 所在节点编码: the code of the node where the role is held.
    Node,
    /// 登录名: an optional username.
    Username,
    /// 启用: whether the node or person is active (是/否).
    Active,
}

const NODE_COLUMNS: [Column; 6] = [
    Column::Code,
    Column::Name,
    Column::Kind,
    Column::Parent,
    Column::Active,
    Column::Position,
];

const PEOPLE_COLUMNS: [Column; 6] = [
    Column::PersonName,
    Column::Phone,
    Column::Role,
    Column::Node,
    Column::Username,
    Column::Active,
];

/// The columns of the single-file CSV layout, in the order written.
pub const CSV_COLUMNS: [Column; 12] = [
    Column::Table,
    Column::Code,
    Column::Name,
    Column::Kind,
    Column::Parent,
    Column::Position,
    Column::PersonName,
    Column::Phone,
    Column::Role,
    Column::Node,
    Column::Username,
    Column::Active,
];

impl Column {
    /// The Chinese header, as the template writes it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Table => "表",
            Self::Code => "编码",
            Self::Name => "名称",
            Self::Kind => "类型",
            Self::Parent => "上级编码",
            Self::Position => "排序",
            Self::PersonName => "姓名",
            Self::Phone => "手机号",
            Self::Role => "角色",
            Self::Node => "所在节点编码",
            Self::Username => "登录名",
            Self::Active => "启用",
        }
    }

    /// The English header, accepted in place of the label.
    pub fn code(self) -> &'static str {
        match self {
            Self::Table => "table",
            Self::Code => "code",
            Self::Name => "name",
            Self::Kind => "kind",
            Self::Parent => "parent_code",
            Self::Position => "position",
            Self::PersonName => "person_name",
            Self::Phone => "phone",
            Self::Role => "role",
            Self::Node => "node_code",
            Self::Username => "username",
            Self::Active => "active",
        }
    }

    /// Whether a column belongs to `table` (in CSV, a cell of the other table's
    /// columns must be empty).
    pub fn belongs_to(self, table: Table) -> bool {
        table.columns().contains(&self)
    }

    /// Recognises a header: the Chinese label or the English code (any case).
    /// `table` is the sheet's table, or `None` for the CSV layout; in the `人员`
    /// sheet `name` also means 姓名.
    pub fn parse_header(raw: &str, table: Option<Table>) -> Option<Self> {
        let raw = clean(raw);
        let allowed: &[Column] = match table {
            Some(t) => t.columns(),
            None => &CSV_COLUMNS,
        };
        if table == Some(Table::People) && raw.eq_ignore_ascii_case("name") {
            return Some(Self::PersonName);
        }
        allowed
            .iter()
            .copied()
            .find(|c| raw == c.label() || raw.eq_ignore_ascii_case(c.code()))
    }
}

/// Trims spaces (also the ideographic space and a stray byte-order mark) from a cell.
pub(crate) fn clean(raw: &str) -> &str {
    raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// Recognises a node kind: 乡镇 (镇, 乡), 村, 社区, 网格, 微网格, 站所, or the English code.
pub fn parse_kind(raw: &str) -> Option<NodeKind> {
    let raw = clean(raw);
    if raw == "镇" || raw == "乡" {
        return Some(NodeKind::Township);
    }
    NodeKind::ALL
        .into_iter()
        .find(|k| raw == k.name_zh() || raw.eq_ignore_ascii_case(k.as_str()))
}

/// Recognises a role by its Chinese name (also 村支书, 第一书记, 综治中心) or English code,
/// county roles included: the caller refuses those with their own message.
pub fn parse_role(raw: &str) -> Option<Role> {
    let raw = clean(raw);
    match raw {
        "村支书" | "第一书记" => return Some(Role::VillageHead),
        "综治中心" => return Some(Role::TownshipCentre),
        _ => {}
    }
    Role::ALL
        .into_iter()
        .find(|r| raw == r.name_zh() || raw.eq_ignore_ascii_case(r.as_str()))
}

/// Recognises yes or no: 是/否, 启用/停用, Y/N, yes/no, true/false, 1/0. Empty is `None`.
pub fn parse_yes_no(raw: &str) -> Option<Option<bool>> {
    let raw = clean(raw).to_ascii_lowercase();
    match raw.as_str() {
        "" => Some(None),
        "是" | "启用" | "y" | "yes" | "true" | "1" => Some(Some(true)),
        "否" | "停用" | "n" | "no" | "false" | "0" => Some(Some(false)),
        _ => None,
    }
}

/// How a yes/no is written: 是 or 否.
pub fn yes_no(value: bool) -> &'static str {
    if value { "是" } else { "否" }
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    #[test]
    fn headers_and_words_are_recognised_in_both_languages() {
        assert_eq!(Column::parse_header(" 手机号 ", None), Some(Column::Phone));
        assert_eq!(Column::parse_header("Phone", None), Some(Column::Phone));
        assert_eq!(
            Column::parse_header("name", Some(Table::People)),
            Some(Column::PersonName)
        );
        assert_eq!(Column::parse_header("name", None), Some(Column::Name));
        assert_eq!(Column::parse_header("表", Some(Table::Nodes)), None);
        assert_eq!(Column::parse_header("备注", None), None);
        assert_eq!(parse_kind("微网格"), Some(NodeKind::Subgrid));
        assert_eq!(parse_kind("VILLAGE"), Some(NodeKind::Village));
        assert_eq!(parse_kind("县"), None);
        assert_eq!(parse_role("网格长"), Some(Role::GridLeader));
        assert_eq!(parse_role("county_admin"), Some(Role::CountyAdmin));
        assert_eq!(parse_yes_no("否"), Some(Some(false)));
        assert_eq!(parse_yes_no(""), Some(None));
        assert_eq!(parse_yes_no("也许"), None);
        assert_eq!(Table::parse("人员"), Some(Table::People));
        assert_eq!(Table::parse("Nodes"), Some(Table::Nodes));
    }
}
