//! Export: the township's whole tree and all its people, in exactly the import layout,
//! so that importing an export changes nothing.

use std::collections::HashMap;

use mashang_db::TenantTx;
use mashang_domain::grid::NodeKind;
use mashang_domain::role::Role;
use uuid::Uuid;

use super::load::{self, StoredNode};
use super::write::{NodeRecord, PersonRecord, write_file};
use super::{ImportError, ImportFormat};

/// The nodes in tree order: each parent before its children, siblings by position
/// then code, every village followed by its grids.
fn tree_order(nodes: &[StoredNode]) -> Vec<&StoredNode> {
    let mut children: HashMap<Option<Uuid>, Vec<&StoredNode>> = HashMap::new();
    for node in nodes {
        children.entry(node.parent_id).or_default().push(node);
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| (a.position, &a.code).cmp(&(b.position, &b.code)));
    }
    let mut order = Vec::with_capacity(nodes.len());
    let mut stack: Vec<&StoredNode> = children
        .get(&None)
        .into_iter()
        .flatten()
        .rev()
        .copied()
        .collect();
    while let Some(node) = stack.pop() {
        order.push(node);
        if let Some(list) = children.get(&Some(node.id)) {
            stack.extend(list.iter().rev().copied());
        }
    }
    order
}

/// Writes the transaction's township in `format`: every node (parents first) and
/// every person, one row per role.
#[tracing::instrument(skip_all, fields(tenant_id = %tx.tenant(), ?format))]
pub async fn export(tx: &mut TenantTx, format: ImportFormat) -> Result<Vec<u8>, ImportError> {
    let stored = load::directory(tx).await?;
    let order = tree_order(&stored.nodes);
    let code_of: HashMap<Uuid, &str> = stored
        .nodes
        .iter()
        .map(|n| (n.id, n.code.as_str()))
        .collect();
    let place: HashMap<Uuid, usize> = order.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
    let nodes: Vec<NodeRecord> = order
        .iter()
        .filter_map(|n| {
            Some(NodeRecord {
                code: n.code.clone(),
                name: n.name.clone(),
                kind: NodeKind::parse(&n.kind)?,
                parent: n
                    .parent_id
                    .and_then(|p| code_of.get(&p).map(|c| (*c).to_owned())),
                active: n.active,
                position: n.position,
            })
        })
        .collect();

    let mut roles: HashMap<Uuid, Vec<(usize, Role, Uuid)>> = HashMap::new();
    for r in &stored.roles {
        let (Some(role), Some(&at)) = (Role::parse(&r.role), place.get(&r.node_id)) else {
            continue;
        };
        roles
            .entry(r.user_id)
            .or_default()
            .push((at, role, r.node_id));
    }
    for list in roles.values_mut() {
        list.sort();
    }
    // People by where they first work in the tree, so a village's people are together.
    let mut people: Vec<_> = stored.people.iter().collect();
    people.sort_by_key(|p| {
        let first = roles.get(&p.id).and_then(|l| l.first()).map(|r| (r.0, r.1));
        (first.is_none(), first, p.name.clone(), p.phone.clone())
    });
    let mut records = Vec::new();
    for person in people {
        let record = |role: Option<(Role, String)>| PersonRecord {
            name: person.name.clone(),
            phone: person.phone.clone(),
            role,
            username: person.username.clone(),
            active: person.active,
        };
        match roles.get(&person.id) {
            Some(list) if !list.is_empty() => {
                for (_, role, node) in list {
                    let code = code_of
                        .get(node)
                        .map(|c| (*c).to_owned())
                        .unwrap_or_default();
                    records.push(record(Some((*role, code))));
                }
            }
            _ => records.push(record(None)),
        }
    }
    write_file(format, &nodes, &records)
}
