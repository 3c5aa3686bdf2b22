//! Every row of the matrix, including the refusals, and the documentation table.

use mashang_domain::role::Role;
use mashang_domain::{GridNodeId, TenantId, UserId};

use super::*;
use crate::principal::{Principal, PrincipalKind, RoleGrant};

/// A small tree: township → village → grid, and another village beside it.
struct Tree {
    township: GridNodeId,
    village: GridNodeId,
    grid: GridNodeId,
    other_village: GridNodeId,
}

impl Tree {
    fn new() -> Self {
        Self {
            township: GridNodeId::new(),
            village: GridNodeId::new(),
            grid: GridNodeId::new(),
            other_village: GridNodeId::new(),
        }
    }
    fn grid_line(&self) -> [GridNodeId; 3] {
        [self.grid, self.village, self.township]
    }
    fn other_line(&self) -> [GridNodeId; 2] {
        [self.other_village, self.township]
    }
}

/// Where each role is held in the test tree.
fn holder(role: Role, tree: &Tree) -> Principal {
    let user = UserId::new();
    let (kind, node) = match role {
        Role::CountyAdmin | Role::CountyCentre => (PrincipalKind::County { user }, None),
        _ => (
            PrincipalKind::Staff {
                user,
                tenant: TenantId::new(),
            },
            Some(match role {
                Role::GridWorker => tree.grid,
                Role::GridLeader | Role::VillageHead => tree.village,
                _ => tree.township,
            }),
        ),
    };
    Principal {
        kind,
        name: role.as_str().into(),
        roles: vec![RoleGrant { role, node }],
        csrf: None,
    }
}

#[test]
fn every_role_and_action_reaches_exactly_its_documented_scope() {
    let tree = Tree::new();
    for role in Role::ALL {
        let p = holder(role, &tree);
        let me = p.user();
        for action in ALL_ACTIONS {
            let scope = scope_of(role, action);
            let grid_line = tree.grid_line();
            let other_line = tree.other_line();
            let own_case = Target::Case {
                ancestry: &grid_line,
                assignee: me,
            };
            let someone_elses_case = Target::Case {
                ancestry: &grid_line,
                assignee: Some(UserId::new()),
            };
            let elsewhere_case = Target::Case {
                ancestry: &other_line,
                assignee: Some(UserId::new()),
            };
            let own_node = Target::Node {
                ancestry: &grid_line,
            };
            let other_node = Target::Node {
                ancestry: &other_line,
            };
            let expect = |target: Target<'_>, allowed: bool, what: &str| {
                assert_eq!(
                    allows(&p, action, target),
                    allowed,
                    "{} {} on {what}: expected {}",
                    role.as_str(),
                    action.as_str(),
                    if allowed { "allowed" } else { "refused" }
                );
            };
            match scope {
                None => {
                    for (t, what) in [
                        (Target::County, "county"),
                        (Target::Township, "township"),
                        (Target::List, "list"),
                        (own_case, "own case"),
                        (own_node, "own node"),
                    ] {
                        expect(t, false, what);
                    }
                }
                Some(Scope::County) => {
                    expect(Target::County, true, "county");
                    expect(elsewhere_case, true, "any case");
                }
                Some(Scope::Tenant) => {
                    expect(Target::County, false, "county");
                    expect(Target::Township, true, "township");
                    expect(elsewhere_case, true, "a case anywhere in the township");
                    expect(other_node, true, "a node anywhere in the township");
                }
                Some(Scope::Subtree) => {
                    expect(Target::Township, false, "township");
                    expect(Target::List, true, "list");
                    expect(someone_elses_case, true, "a case below the role's node");
                    expect(own_node, true, "a node below the role's node");
                    expect(elsewhere_case, false, "a case in another village");
                    expect(other_node, false, "a node in another village");
                }
                Some(Scope::Own) => {
                    expect(Target::Township, false, "township");
                    expect(Target::List, true, "list");
                    expect(own_case, true, "own case");
                    expect(
                        someone_elses_case,
                        false,
                        "a colleague's case in the same grid",
                    );
                    expect(own_node, true, "own node");
                    expect(other_node, false, "another node");
                }
            }
        }
    }
}

#[test]
fn county_roles_never_act_inside_a_township_and_township_roles_never_county_wide() {
    let tree = Tree::new();
    let county = holder(Role::CountyAdmin, &tree);
    assert!(!allows(&county, Action::EditGrid, Target::Township));
    let admin = holder(Role::TownshipAdmin, &tree);
    assert!(!allows(&admin, Action::ManageTenants, Target::County));
    assert!(!allows(&admin, Action::ViewCounty, Target::County));
}

#[test]
fn several_roles_add_up() {
    let tree = Tree::new();
    let mut p = holder(Role::GridWorker, &tree);
    assert!(!allows(
        &p,
        Action::PrintPosters,
        Target::Node {
            ancestry: &tree.grid_line()
        }
    ));
    p.roles.push(RoleGrant {
        role: Role::VillageHead,
        node: Some(tree.village),
    });
    assert!(allows(
        &p,
        Action::PrintPosters,
        Target::Node {
            ancestry: &tree.grid_line()
        }
    ));
    assert_eq!(
        visibility(&p, Action::ViewCase),
        Some(Visible {
            subtrees: vec![tree.village],
            nodes: vec![tree.grid],
            own_cases: true,
        })
    );
}

#[test]
fn an_own_role_and_a_subtree_role_see_exactly_their_union() {
    let tree = Tree::new();
    // A grid worker at one village's grid who also leads another village's grid.
    let mut p = holder(Role::GridWorker, &tree);
    let elsewhere = tree.other_village;
    p.roles.push(RoleGrant {
        role: Role::GridLeader,
        node: Some(elsewhere),
    });
    let visible = visibility(&p, Action::ViewCase).expect("not township-wide");
    // The own role gives its own cases, not its grid's subtree of cases.
    assert!(visible.own_cases);
    assert_eq!(visible.subtrees, vec![elsewhere]);
    assert!(!visible.subtrees.contains(&tree.grid));
    // Someone else's case at the worker's own grid: neither role allows it.
    let other_person = Some(UserId::new());
    assert!(!allows(
        &p,
        Action::ViewCase,
        Target::Case {
            ancestry: &tree.grid_line(),
            assignee: other_person,
        }
    ));
    // Anyone's case under the led grid: the subtree role allows it.
    assert!(allows(
        &p,
        Action::ViewCase,
        Target::Case {
            ancestry: &tree.other_line(),
            assignee: other_person,
        }
    ));
    // Nodes: the worker's own grid itself (own), the led grid's subtree.
    assert_eq!(
        visibility(&p, Action::ViewGrid).map(|v| v.nodes),
        Some(vec![tree.grid])
    );
    // Posters: only what a role grants for them (neither does).
    assert_eq!(visible_roots(&p, Action::PrintPosters), Some(vec![]));
}

#[test]
fn the_documentation_table_matches_the_matrix() {
    let doc = include_str!("../../../../docs/permissions.md");
    let header = doc
        .lines()
        .find(|l| l.starts_with("| action |"))
        .expect("the table header");
    let roles: Vec<Role> = header
        .split('|')
        .skip(2)
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| Role::parse(c).expect("a role column"))
        .collect();
    assert_eq!(roles.len(), Role::ALL.len());
    let mut documented = Vec::new();
    for line in doc.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let name = cells[1].split('`').nth(1).expect("an action name");
        let action = ALL_ACTIONS
            .into_iter()
            .find(|a| a.as_str() == name)
            .expect("a known action");
        for (role, cell) in roles.iter().zip(&cells[2..]) {
            if !cell.is_empty() {
                documented.push((role.as_str(), action.as_str(), cell.to_string()));
            }
        }
    }
    let mut code: Vec<_> = MATRIX
        .iter()
        .map(|(r, a, s)| (r.as_str(), a.as_str(), s.as_str().to_owned()))
        .collect();
    documented.sort();
    code.sort();
    assert_eq!(documented, code, "docs/permissions.md and MATRIX differ");
}
