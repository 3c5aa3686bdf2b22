//! Typed rows and every check of a single cell (required, length, kind, role, phone,
//! username, yes/no, position). Errors are collected, not returned early.

use std::collections::HashMap;

use mashang_domain::grid::NodeKind;
use mashang_domain::role::Role;
use mashang_domain::{PhoneNumber, Username};

use super::layout::{Column, Table, clean, parse_kind, parse_role, parse_yes_no};
use super::rejection::{RowError, RowErrorKind};
use super::rows::RawRow;

/// Longest node code, node name and person name, in characters (as the database).
pub(crate) const MAX_CODE: usize = 64;
pub(crate) const MAX_NODE_NAME: usize = 100;
pub(crate) const MAX_PERSON_NAME: usize = 50;

/// An optional cell: its column absent from the file, the cell empty, a value, or a
/// value that was refused (and reported).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Given<T> {
    Absent,
    Empty,
    Value(T),
    Invalid,
}

/// A node row, its refused cells as `None`.
#[derive(Debug)]
pub(crate) struct NodeRow {
    pub row: u32,
    pub code: Option<String>,
    pub name: Option<String>,
    pub kind: Option<NodeKind>,
    /// The parent code; `None` when the cell is empty (the township root).
    pub parent: Option<String>,
    pub active: Given<bool>,
    pub position: Given<i32>,
}

/// The role a person row lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Assignment {
    /// 角色 and 所在节点编码 both empty: the person, without a role on this row.
    None,
    /// A role at a node code.
    Role(Role, String),
    /// Refused (and reported).
    Invalid,
}

/// A person row, its refused cells as `None` or `Invalid`.
#[derive(Debug)]
pub(crate) struct PersonRow {
    pub row: u32,
    pub name: Option<String>,
    pub phone: Option<PhoneNumber>,
    pub assignment: Assignment,
    pub username: Given<Username>,
    pub active: Given<bool>,
}

/// One data row with its header mapping.
pub(crate) struct Cells<'a> {
    pub map: &'a HashMap<Column, usize>,
    pub row: &'a RawRow,
}

impl Cells<'_> {
    /// The trimmed cell, `None` when the file has no such column.
    pub fn get(&self, column: Column) -> Option<&str> {
        let i = *self.map.get(&column)?;
        Some(self.row.cells.get(i).map_or("", |c| clean(c)))
    }

    pub fn is_blank(&self) -> bool {
        self.row.cells.iter().all(|c| clean(c).is_empty())
    }
}

fn required<'a>(
    table: Table,
    cells: &'a Cells<'_>,
    column: Column,
    max: usize,
    problems: &mut Vec<RowError>,
) -> Option<&'a str> {
    let value = cells.get(column).unwrap_or("");
    let error = |kind, message| RowError::cell(table, cells.row.row, column, kind, message);
    if value.is_empty() {
        problems.push(error(
            RowErrorKind::Required,
            format!(
                "“{}”不能为空; {} is required",
                column.label(),
                column.code()
            ),
        ));
        return None;
    }
    if value.chars().any(char::is_control) {
        problems.push(error(
            RowErrorKind::InvalidText,
            format!(
                "“{}”含有换行、制表符等控制字符，请删去; {} holds control characters (a line break, a tab): remove them",
                column.label(),
                column.code()
            ),
        ));
        return None;
    }
    if value.chars().count() > max {
        problems.push(error(
            RowErrorKind::TooLong,
            format!(
                "“{label}”最多{max}个字; {code} is at most {max} characters",
                label = column.label(),
                code = column.code()
            ),
        ));
        return None;
    }
    Some(value)
}

fn yes_no(table: Table, cells: &Cells<'_>, problems: &mut Vec<RowError>) -> Given<bool> {
    match cells.get(Column::Active).map(|v| (v, parse_yes_no(v))) {
        None => Given::Absent,
        Some((_, Some(None))) => Given::Empty,
        Some((_, Some(Some(value)))) => Given::Value(value),
        Some((value, None)) => {
            problems.push(RowError::cell(
                table,
                cells.row.row,
                Column::Active,
                RowErrorKind::InvalidActive,
                format!("“启用”应填“是”或“否”，而不是“{value}”; active must be 是 (yes) or 否 (no), not \"{value}\""),
            ));
            Given::Invalid
        }
    }
}

pub(crate) fn node_row(cells: &Cells<'_>, problems: &mut Vec<RowError>) -> NodeRow {
    let t = Table::Nodes;
    let row = cells.row.row;
    let code = required(t, cells, Column::Code, MAX_CODE, problems).and_then(|code| {
        if code.chars().any(char::is_whitespace) {
            problems.push(RowError::cell(
                t,
                row,
                Column::Code,
                RowErrorKind::InvalidCode,
                format!("编码“{code}”不能包含空格; the code \"{code}\" must not contain spaces"),
            ));
            return None;
        }
        Some(code.to_owned())
    });
    let name = required(t, cells, Column::Name, MAX_NODE_NAME, problems).map(str::to_owned);
    let kind = required(t, cells, Column::Kind, usize::MAX, problems).and_then(|raw| {
        let kind = parse_kind(raw);
        if kind.is_none() {
            problems.push(RowError::cell(t, row, Column::Kind, RowErrorKind::UnknownKind,
                format!("未知的类型“{raw}”，应为乡镇、村、社区、网格、微网格或站所; unknown kind \"{raw}\": use township, village, community, grid, subgrid or office")));
        }
        kind
    });
    let parent = cells
        .get(Column::Parent)
        .filter(|p| !p.is_empty())
        .map(str::to_owned);
    let position = match cells.get(Column::Position) {
        None => Given::Absent,
        Some("") => Given::Empty,
        Some(raw) => match raw.parse::<i32>() {
            Ok(value) => Given::Value(value),
            Err(_) => {
                problems.push(RowError::cell(t, row, Column::Position, RowErrorKind::InvalidPosition,
                    format!("“排序”应为整数，而不是“{raw}”; position must be a whole number, not \"{raw}\"")));
                Given::Invalid
            }
        },
    };
    NodeRow {
        row,
        code,
        name,
        kind,
        parent,
        active: yes_no(t, cells, problems),
        position,
    }
}

pub(crate) fn person_row(cells: &Cells<'_>, problems: &mut Vec<RowError>) -> PersonRow {
    let t = Table::People;
    let row = cells.row.row;
    let error = |column, kind, message| RowError::cell(t, row, column, kind, message);
    let name = required(t, cells, Column::PersonName, MAX_PERSON_NAME, problems).map(str::to_owned);
    let phone = required(t, cells, Column::Phone, usize::MAX, problems).and_then(|raw| {
        let phone = PhoneNumber::parse(raw).ok();
        if phone.is_none() {
            problems.push(error(Column::Phone, RowErrorKind::InvalidPhone,
                format!("手机号“{raw}”格式不正确，应为11位手机号码; \"{raw}\" is not a mainland mobile number (11 digits starting with 13–19)")));
        }
        phone
    });
    let role = cells.get(Column::Role).unwrap_or("");
    let node = cells.get(Column::Node).unwrap_or("");
    let assignment = match (role.is_empty(), node.is_empty()) {
        (true, true) => Assignment::None,
        (false, true) | (true, false) => {
            let column = if role.is_empty() {
                Column::Role
            } else {
                Column::Node
            };
            problems.push(error(column, RowErrorKind::Required,
                "“角色”和“所在节点编码”要么都填，要么都空; role and node_code are filled together or left empty together".to_owned()));
            Assignment::Invalid
        }
        (false, false) => match parse_role(role) {
            None => {
                problems.push(error(Column::Role, RowErrorKind::UnknownRole,
                    format!("未知的角色“{role}”，应为网格员、网格长、村负责人、镇综治中心或镇管理员; unknown role \"{role}\": use grid_worker, grid_leader, village_head, township_centre or township_admin")));
                Assignment::Invalid
            }
            Some(r) if r.is_county() => {
                problems.push(error(Column::Role, RowErrorKind::CountyRole,
                    format!("“{role}”是县级角色，不能在乡镇文件中导入; {code} is a county role and cannot be given in a township's file", code = r.as_str())));
                Assignment::Invalid
            }
            Some(r) => Assignment::Role(r, node.to_owned()),
        },
    };
    let username = match cells.get(Column::Username) {
        None => Given::Absent,
        Some("") => Given::Empty,
        Some(raw) => match Username::parse(raw) {
            Ok(username) => Given::Value(username),
            Err(_) => {
                problems.push(error(Column::Username, RowErrorKind::InvalidUsername,
                    format!("登录名“{raw}”不符合要求：3–32个小写字母、数字、_ . -，以字母开头; \"{raw}\" is not a valid username: 3–32 lowercase letters, digits, _ . or -, starting with a letter")));
                Given::Invalid
            }
        },
    };
    PersonRow {
        row,
        name,
        phone,
        assignment,
        username,
        active: yes_no(t, cells, problems),
    }
}
