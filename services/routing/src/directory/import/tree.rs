//! The grid tree as the file would leave it: parents, the one township root, loops
//! (also through nodes already stored), depth; and what to write for each node row.

use std::collections::{HashMap, HashSet};

use mashang_domain::grid::NodeKind;
use uuid::Uuid;

use super::apply::RowCounts;
use super::cells::{Given, NodeRow};
use super::layout::{Column, Table};
use super::load::StoredNode;
use super::rejection::{RowError, RowErrorKind};
use super::rows::ImportFile;

/// The deepest tree the directory's recursive reads walk (`nodes::tree`), root = 1.
pub(crate) const MAX_DEPTH: usize = 32;

/// A node to insert or update.
#[derive(Clone, Debug)]
pub(crate) struct NodeWrite {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub kind: NodeKind,
    pub code: String,
    pub name: String,
    pub active: bool,
    pub position: i32,
}

/// What the file does to the tree.
#[derive(Debug, Default)]
pub(crate) struct NodePlan {
    /// The id of every node the township will have, stored or new, by code.
    pub ids: HashMap<String, Uuid>,
    pub inserts: Vec<NodeWrite>,
    pub updates: Vec<NodeWrite>,
    pub counts: RowCounts,
}

fn error(row: u32, column: Column, kind: RowErrorKind, message: String) -> RowError {
    RowError::cell(Table::Nodes, row, column, kind, message)
}

/// Checks the node rows against each other and the stored tree, and plans the writes.
pub(crate) fn plan(
    file: &ImportFile,
    stored: &[StoredNode],
    errors: &mut Vec<RowError>,
) -> NodePlan {
    let stored_by_code: HashMap<&str, &StoredNode> =
        stored.iter().map(|n| (n.code.as_str(), n)).collect();
    let code_of: HashMap<Uuid, &str> = stored.iter().map(|n| (n.id, n.code.as_str())).collect();
    let stored_root = stored.iter().find(|n| n.parent_id.is_none());

    // The rows that count: the first row of each code.
    let mut first: HashMap<&str, u32> = HashMap::new();
    let mut rows: Vec<(&str, &NodeRow)> = Vec::new();
    for row in &file.nodes {
        let Some(code) = row.code.as_deref() else {
            continue;
        };
        if let Some(earlier) = first.get(code) {
            errors.push(error(row.row, Column::Code, RowErrorKind::DuplicateCode,
                format!("编码“{code}”与第{earlier}行重复; the code \"{code}\" is already used on row {earlier}")));
            continue;
        }
        first.insert(code, row.row);
        rows.push((code, row));
    }

    let mut file_root: Option<&str> = None;
    for &(code, row) in &rows {
        root_rules(code, row, stored_root, &mut file_root, errors);
        if let Some(parent) = row.parent.as_deref() {
            if parent == code {
                errors.push(error(row.row, Column::Parent, RowErrorKind::Cycle,
                    format!("节点“{code}”的上级编码不能是它自己; node \"{code}\" cannot be its own parent")));
            } else if !first.contains_key(parent) && !stored_by_code.contains_key(parent) {
                errors.push(error(row.row, Column::Parent, RowErrorKind::MissingParent,
                    format!("上级编码“{parent}”不存在（文件和本镇中都没有）; the parent code \"{parent}\" is neither in the file nor in this township")));
            }
        }
    }

    // The tree as it would be: stored parents, overridden by the file's.
    let mut parent_of: HashMap<&str, Option<&str>> = stored
        .iter()
        .map(|n| {
            (
                n.code.as_str(),
                n.parent_id.and_then(|p| code_of.get(&p).copied()),
            )
        })
        .collect();
    for &(code, row) in &rows {
        // The stored root stays the root (a parent given to it is reported above).
        if stored_root.is_none_or(|r| r.code != code) {
            parent_of.insert(code, row.parent.as_deref().filter(|p| *p != code));
        }
    }
    loops_and_depth(&rows, &parent_of, errors);

    let mut plan = NodePlan {
        ids: stored.iter().map(|n| (n.code.clone(), n.id)).collect(),
        ..NodePlan::default()
    };
    for &(code, _) in &rows {
        plan.ids.entry(code.to_owned()).or_insert_with(Uuid::now_v7);
    }
    for &(code, row) in &rows {
        let (Some(name), Some(kind)) = (&row.name, row.kind) else {
            continue;
        };
        let parent_id = match row.parent.as_deref() {
            Some(parent) => match plan.ids.get(parent) {
                Some(id) => Some(*id),
                None => continue,
            },
            None => None,
        };
        let current = stored_by_code.get(code);
        let write = NodeWrite {
            id: plan.ids.get(code).copied().unwrap_or_else(Uuid::now_v7),
            parent_id,
            kind,
            code: code.to_owned(),
            name: name.clone(),
            active: match row.active {
                Given::Value(active) => active,
                Given::Empty => true,
                Given::Absent | Given::Invalid => current.is_none_or(|n| n.active),
            },
            position: match row.position {
                Given::Value(position) => position,
                _ => current.map_or(0, |n| n.position),
            },
        };
        match current {
            None => {
                plan.counts.created += 1;
                plan.inserts.push(write);
            }
            Some(n)
                if n.name == write.name
                    && n.kind == kind.as_str()
                    && n.parent_id == write.parent_id
                    && n.active == write.active
                    && n.position == write.position =>
            {
                plan.counts.unchanged += 1;
            }
            Some(_) => {
                plan.counts.updated += 1;
                plan.updates.push(write);
            }
        }
    }
    plan
}

/// Only the township root has no parent; a township node is only ever the root.
fn root_rules<'a>(
    code: &'a str,
    row: &NodeRow,
    stored_root: Option<&StoredNode>,
    file_root: &mut Option<&'a str>,
    errors: &mut Vec<RowError>,
) {
    let is_stored_root = stored_root.is_some_and(|r| r.code == code);
    match (&row.parent, row.kind) {
        (Some(_), Some(NodeKind::Township)) => errors.push(error(row.row, Column::Kind, RowErrorKind::TownshipNotRoot,
            "乡镇节点只能是根节点，它的上级编码应为空; a township node can only be the root: leave its parent code empty".to_owned())),
        (Some(_), _) if is_stored_root => errors.push(error(row.row, Column::Parent, RowErrorKind::TownshipNotRoot,
            format!("“{code}”是本镇的根节点，不能有上级编码; \"{code}\" is the township's root and cannot have a parent")),),
        (Some(_), _) => {}
        (None, kind) if is_stored_root => {
            if kind.is_some_and(|k| k != NodeKind::Township) {
                errors.push(error(row.row, Column::Kind, RowErrorKind::TownshipNotRoot,
                    format!("根节点“{code}”的类型必须是乡镇; the root \"{code}\" must be of kind township")));
            }
        }
        (None, _) => {
            if let Some(root) = stored_root.map(|r| r.code.as_str()).or(*file_root) {
                errors.push(error(row.row, Column::Parent, RowErrorKind::SecondRoot,
                    format!("只有根节点“{root}”的上级编码可以为空，请填写上级编码; only the root \"{root}\" may have an empty parent code: fill in the parent code")));
            } else if row.kind.is_some_and(|k| k != NodeKind::Township) {
                errors.push(error(row.row, Column::Kind, RowErrorKind::TownshipNotRoot,
                    "根节点（上级编码为空的节点）的类型必须是乡镇; the root (the node without a parent code) must be of kind township".to_owned()));
            } else {
                *file_root = Some(code);
            }
        }
    }
}

/// Reports each file row that is on a loop of parent codes, or deeper than
/// [`MAX_DEPTH`]. Every loop has a file row on it: the stored tree has none.
fn loops_and_depth(
    rows: &[(&str, &NodeRow)],
    parent_of: &HashMap<&str, Option<&str>>,
    errors: &mut Vec<RowError>,
) {
    let mut depth: HashMap<&str, usize> = HashMap::new();
    let mut on_loop: HashMap<&str, String> = HashMap::new();
    let mut into_loop: HashSet<&str> = HashSet::new();
    for &(start, _) in rows {
        let mut path: Vec<&str> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut at = start;
        let base = loop {
            if let Some(&d) = depth.get(at) {
                break Some(d);
            }
            if on_loop.contains_key(at) || into_loop.contains(at) {
                break None;
            }
            if let Some(&i) = index.get(at) {
                let cycle = &path[i..];
                let text = cycle
                    .iter()
                    .chain([&cycle[0]])
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" → ");
                for code in cycle {
                    on_loop.insert(code, text.clone());
                }
                break None;
            }
            index.insert(at, path.len());
            path.push(at);
            match parent_of.get(at).copied().flatten() {
                Some(parent) if parent_of.contains_key(parent) => at = parent,
                // The root, or a missing parent (reported already).
                _ => break Some(0),
            }
        };
        for (k, code) in path.iter().rev().enumerate() {
            match base {
                Some(b) => {
                    depth.insert(code, b + k + 1);
                }
                None if !on_loop.contains_key(code) => {
                    into_loop.insert(code);
                }
                None => {}
            }
        }
    }
    for &(code, row) in rows {
        if let Some(text) = on_loop.get(code) {
            errors.push(error(row.row, Column::Parent, RowErrorKind::Cycle,
                format!("上级编码形成循环（{text}），节点不能移到自己的下级之下; the parent codes form a loop ({text}): a node cannot move under its own descendant")));
        } else if depth.get(code).is_some_and(|&d| d > MAX_DEPTH) {
            errors.push(error(
                row.row,
                Column::Parent,
                RowErrorKind::TooDeep,
                format!("层级超过{MAX_DEPTH}层; the tree would be deeper than {MAX_DEPTH} levels"),
            ));
        }
    }
}
