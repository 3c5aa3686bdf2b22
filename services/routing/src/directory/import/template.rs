//! Downloadable templates: the headers, a few example rows that import cleanly into
//! the township they were made for, and short instructions.

use mashang_domain::Username;
use mashang_domain::grid::NodeKind;
use mashang_domain::role::Role;

use super::write::{NodeRecord, PersonRecord, write_with_notes};
use super::{ImportError, ImportFormat};

/// One line per row: Chinese, then English.
const NOTES: [&str; 18] = [
    "填写说明 / How to fill in this file",
    "1. “网格”表每行一个节点：编码在本镇内唯一；类型为乡镇、村、社区、网格、微网格或站所；上级编码填上级节点的编码，只有第一行的乡镇（本镇根节点）上级编码为空。",
    "   The 网格 sheet has one node per row: a code unique in the township; a kind (乡镇/村/社区/网格/微网格/站所 or township/village/community/grid/subgrid/office); the parent's code, empty only for the township root on the first row.",
    "2. “人员”表每行一个角色：同一人有多个角色时写多行，手机号相同，姓名、登录名、启用要一致。角色为网格员、网格长、村负责人、镇综治中心或镇管理员，所在节点编码填该角色所在节点的编码。",
    "   The 人员 sheet has one role per row: a person with several roles has several rows with the same phone, name, username and active. Roles: 网格员/网格长/村负责人/镇综治中心/镇管理员 (grid_worker/grid_leader/village_head/township_centre/township_admin), held at the node whose code is given.",
    "3. 登录名可不填；启用填“是”或“否”，空着表示“是”；排序可不填。",
    "   Username is optional; active is 是 or 否 (empty means 是); position is optional.",
    "4. 按编码匹配节点、按手机号匹配人员：已有的会被更新，没有的会被新建；文件中没有的节点和人员保持不变。文件中人员的角色会改为文件所列的角色。",
    "   Nodes are matched by code and people by phone: existing ones are updated, others created; nodes and people not in the file are left alone. A listed person's roles become exactly those listed.",
    "5. 有任何错误时整个文件都不会导入，系统会列出每个错误的表、行号和列。",
    "   If there is any error nothing is imported, and every error is listed with its sheet, row and column.",
    "6. 导入的人员没有密码，由管理员为其发放一次性验证码。",
    "   Imported people have no password: an administrator issues them one-time codes.",
    "7. 示例行请替换为本镇的实际数据；可以先导出本镇现有数据作为起点。",
    "   Replace the example rows with your township's data; an export of the current directory is a good starting point.",
    "8. CSV文件请在Excel中另存为“CSV UTF-8（逗号分隔）”。以#开头的行会被忽略。",
    "   Save CSV files from Excel as \"CSV UTF-8 (Comma delimited)\". Rows starting with # are ignored.",
    "详见 docs/import-format.md / See docs/import-format.md",
];

/// A template for the township whose root node has `root_code` and `root_name`: the
/// headers, example rows (two villages or communities, their grids, people with one
/// and with two roles) and instructions. Imports cleanly into that township.
pub fn template(
    format: ImportFormat,
    root_code: &str,
    root_name: &str,
) -> Result<Vec<u8>, ImportError> {
    let node = |code: &str, name: &str, kind, parent: Option<&str>| NodeRecord {
        code: code.to_owned(),
        name: name.to_owned(),
        kind,
        parent: parent.map(str::to_owned),
        active: true,
        position: 0,
    };
    let nodes = [
        node(root_code, root_name, NodeKind::Township, None),
        node("V01", "东湾村", NodeKind::Village, Some(root_code)),
        node("V01-01", "东湾村一组", NodeKind::Grid, Some("V01")),
        node("V01-02", "东湾村二组", NodeKind::Grid, Some("V01")),
        node("C01", "新城社区", NodeKind::Community, Some(root_code)),
        node("C01-01", "新城社区第一网格", NodeKind::Grid, Some("C01")),
    ];
    let person = |name: &str, phone: &str, role, at: &str, username: Option<String>| PersonRecord {
        name: name.to_owned(),
        phone: phone.to_owned(),
        role: Some((role, at.to_owned())),
        username,
        active: true,
    };
    let admin = Username::parse(&format!("{root_code}.admin"))
        .ok()
        .map(|u| u.as_str().to_owned());
    let people = [
        person("张伟", "13800000001", Role::GridWorker, "V01-01", None),
        person("李娜", "13800000002", Role::GridLeader, "V01", None),
        person("李娜", "13800000002", Role::VillageHead, "V01", None),
        person("王芳", "13800000003", Role::GridWorker, "C01-01", None),
        person("刘洋", "13800000004", Role::TownshipAdmin, root_code, admin),
    ];
    write_with_notes(format, &nodes, &people, &NOTES)
}
