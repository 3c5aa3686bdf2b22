//! A generated township of realistic shape (villages and communities, their grids,
//! a few sub-grids and offices; grid workers, leaders, village heads, the centre and
//! admins, some with two roles), for tests, benchmarks and demonstrations.

use mashang_domain::Username;
use mashang_domain::grid::NodeKind;
use mashang_domain::role::Role;

use super::write::{NodeRecord, PersonRecord};

/// The size of a generated township.
#[derive(Clone, Copy, Debug)]
pub struct SampleSpec {
    /// Villages and communities (every sixth is a community).
    pub villages: usize,
    /// Grids, spread evenly over the villages.
    pub grids: usize,
    /// People (at least one per grid, village and the township's desk are made).
    pub people: usize,
    /// Phone numbers are `139` + this block (0–999) + a 5-digit serial, so townships
    /// generated with different blocks never share a sign-in name.
    pub phone_block: u32,
}

impl SampleSpec {
    /// A township of 30 villages, 300 grids and 500 people.
    pub fn standard(phone_block: u32) -> Self {
        Self {
            villages: 30,
            grids: 300,
            people: 500,
            phone_block,
        }
    }
}

const SURNAMES: [&str; 20] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗",
];
const GIVEN: [&str; 25] = [
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建国", "春梅",
];
const PLACE_FIRST: [&str; 10] = ["东", "西", "南", "北", "上", "下", "前", "后", "新", "老"];
const PLACE_SECOND: [&str; 8] = ["湾", "沟", "坪", "岭", "河", "庄", "堡", "滩"];

struct People<'a> {
    root_code: &'a str,
    spec: SampleSpec,
    next: usize,
    rows: Vec<PersonRecord>,
}

impl People<'_> {
    /// A new person holding `roles`; returns their phone.
    fn add(&mut self, roles: &[(Role, &str)]) -> String {
        let i = self.next;
        self.next += 1;
        let name = format!(
            "{}{}",
            SURNAMES[i % SURNAMES.len()],
            GIVEN[(i / SURNAMES.len() + i) % GIVEN.len()]
        );
        let phone = format!("139{:03}{:05}", self.spec.phone_block % 1000, i % 100_000);
        let username = (i % 7 == 3)
            .then(|| Username::parse(&format!("{}.u{i}", self.root_code)).ok())
            .flatten()
            .map(|u| u.as_str().to_owned());
        for (role, node) in roles {
            self.rows.push(PersonRecord {
                name: name.clone(),
                phone: phone.clone(),
                role: Some((*role, (*node).to_owned())),
                username: username.clone(),
                active: i % 50 != 49,
            });
        }
        phone
    }
}

/// Generates a township under the root node `root_code` (included as the first row).
pub fn township(
    root_code: &str,
    root_name: &str,
    spec: SampleSpec,
) -> (Vec<NodeRecord>, Vec<PersonRecord>) {
    let node = |code: String, name: String, kind, parent: &str, position: usize| NodeRecord {
        code,
        name,
        kind,
        parent: Some(parent.to_owned()),
        active: true,
        position: i32::try_from(position).unwrap_or(i32::MAX),
    };
    let mut nodes = vec![NodeRecord {
        code: root_code.to_owned(),
        name: root_name.to_owned(),
        kind: NodeKind::Township,
        parent: None,
        active: true,
        position: 0,
    }];
    for (i, office) in ["派出所", "司法所"].iter().enumerate() {
        let name = format!("{root_name}{office}");
        nodes.push(node(
            format!("O{:02}", i + 1),
            name,
            NodeKind::Office,
            root_code,
            100 + i,
        ));
    }
    let villages = spec.villages.max(1);
    let mut village_codes = Vec::new();
    for v in 0..villages {
        let place = format!(
            "{}{}",
            PLACE_FIRST[v % PLACE_FIRST.len()],
            PLACE_SECOND[(v / PLACE_FIRST.len()) % PLACE_SECOND.len()]
        );
        let (kind, name) = if v % 6 == 5 {
            (NodeKind::Community, format!("{place}社区"))
        } else {
            (NodeKind::Village, format!("{place}村"))
        };
        let code = format!("V{:02}", v + 1);
        nodes.push(node(code.clone(), name.clone(), kind, root_code, v + 1));
        village_codes.push((code, name));
    }
    let mut grid_codes = Vec::new();
    for g in 0..spec.grids {
        let v = g % villages;
        let k = g / villages + 1;
        let (village, village_name) = &village_codes[v];
        let code = format!("{village}-{k:02}");
        nodes.push(node(
            code.clone(),
            format!("{village_name}{k}组"),
            NodeKind::Grid,
            village,
            k,
        ));
        if g < 10 {
            let mut sub = node(
                format!("{code}-1"),
                format!("{village_name}{k}组1号片区"),
                NodeKind::Subgrid,
                &code,
                1,
            );
            sub.active = g != 3;
            nodes.push(sub);
        }
        grid_codes.push(code);
    }

    let mut people = People {
        root_code,
        spec,
        next: 0,
        rows: Vec::new(),
    };
    for _ in 0..2 {
        people.add(&[(Role::TownshipAdmin, root_code)]);
    }
    for _ in 0..3 {
        people.add(&[(Role::TownshipCentre, root_code)]);
    }
    for (v, (village, _)) in village_codes.iter().enumerate() {
        if v % 3 == 0 {
            people.add(&[(Role::VillageHead, village), (Role::GridLeader, village)]);
        } else {
            people.add(&[(Role::VillageHead, village)]);
            people.add(&[(Role::GridLeader, village)]);
        }
    }
    for (g, grid) in grid_codes.iter().enumerate() {
        match grid_codes.get(g + 1) {
            Some(next) if g % 25 == 0 => {
                people.add(&[(Role::GridWorker, grid), (Role::GridWorker, next)])
            }
            _ => people.add(&[(Role::GridWorker, grid)]),
        };
    }
    let mut g = 0;
    while people.next < spec.people && !grid_codes.is_empty() {
        let grid = grid_codes[g % grid_codes.len()].clone();
        people.add(&[(Role::GridWorker, &grid)]);
        g += 7;
    }
    (nodes, people.rows)
}
