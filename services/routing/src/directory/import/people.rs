//! People as the file would leave them: one person per phone number, their rows in
//! agreement, sign-in names free, roles at known nodes; and what to write.

use std::collections::{BTreeSet, HashMap};

use mashang_domain::role::Role;
use mashang_domain::{PhoneNumber, Username};
use uuid::Uuid;

use super::apply::RowCounts;
use super::cells::{Assignment, Given};
use super::layout::{Column, Table};
use super::load::{LoginHolder, Stored};
use super::rejection::{RowError, RowErrorKind};
use super::rows::ImportFile;

/// A person to insert or update.
#[derive(Clone, Debug)]
pub(crate) struct PersonWrite {
    pub id: Uuid,
    pub name: String,
    pub phone: String,
    pub username: Option<String>,
    pub active: bool,
}

/// What the file does to people, their sign-in names and their roles.
#[derive(Debug, Default)]
pub(crate) struct PeoplePlan {
    pub inserts: Vec<PersonWrite>,
    pub updates: Vec<PersonWrite>,
    /// People whose username sign-in is replaced (or removed).
    pub drop_usernames: Vec<Uuid>,
    /// Sign-in names to register: (login, user, `phone` or `username`).
    pub logins: Vec<(String, Uuid, &'static str)>,
    /// People whose roles are replaced, and their new roles (user, role, node).
    pub role_users: Vec<Uuid>,
    pub roles: Vec<(Uuid, Role, Uuid)>,
    pub counts: RowCounts,
    pub roles_added: u32,
    pub roles_removed: u32,
}

/// One person: the rows with the same phone number, merged.
struct Person<'a> {
    row: u32,
    phone: &'a PhoneNumber,
    name: Option<&'a str>,
    username: Given<&'a Username>,
    active: Given<bool>,
    /// Role, node code, row.
    roles: Vec<(Role, &'a str, u32)>,
}

fn error(row: u32, column: Column, kind: RowErrorKind, message: String) -> RowError {
    RowError::cell(Table::People, row, column, kind, message)
}

fn same<T: PartialEq>(a: &Given<T>, b: &Given<T>) -> bool {
    matches!((a, b), (Given::Invalid, _) | (_, Given::Invalid)) || a == b
}

/// Groups the person rows by phone, reporting disagreements, duplicate roles and
/// roles at unknown nodes.
fn group<'a>(
    file: &'a ImportFile,
    node_ids: &HashMap<String, Uuid>,
    errors: &mut Vec<RowError>,
) -> Vec<Person<'a>> {
    let mut people: Vec<Person<'a>> = Vec::new();
    let mut by_phone: HashMap<&str, usize> = HashMap::new();
    for row in &file.people {
        if let Assignment::Role(_, node) = &row.assignment
            && !node_ids.contains_key(node)
        {
            errors.push(error(row.row, Column::Node, RowErrorKind::UnknownNode,
                format!("节点编码“{node}”不存在（文件和本镇中都没有）; the node code \"{node}\" is neither in the file nor in this township")));
        }
        let Some(phone) = &row.phone else { continue };
        // Empty 启用 means 是.
        let active = match row.active {
            Given::Empty => Given::Value(true),
            ref other => other.clone(),
        };
        let username = match &row.username {
            Given::Value(u) => Given::Value(u),
            Given::Absent => Given::Absent,
            Given::Empty => Given::Empty,
            Given::Invalid => Given::Invalid,
        };
        let index = *by_phone.entry(phone.expose()).or_insert_with(|| {
            people.push(Person {
                row: row.row,
                phone,
                name: row.name.as_deref(),
                username: username.clone(),
                active: active.clone(),
                roles: Vec::new(),
            });
            people.len() - 1
        });
        let person = &mut people[index];
        if person.row != row.row {
            let first = person.row;
            let mismatch = |column: Column| {
                error(
                    row.row,
                    column,
                    RowErrorKind::PersonMismatch,
                    format!(
                        "同一手机号的人员在第{first}行的“{label}”与此行不同; the {code} value differs from row {first} of the same person (same phone)",
                        label = column.label(),
                        code = column.code()
                    ),
                )
            };
            match (person.name, row.name.as_deref()) {
                (Some(a), Some(b)) if a != b => errors.push(mismatch(Column::PersonName)),
                (None, Some(b)) => person.name = Some(b),
                _ => {}
            }
            if !same(&person.username, &username) {
                errors.push(mismatch(Column::Username));
            }
            if !same(&person.active, &active) {
                errors.push(mismatch(Column::Active));
            }
        }
        if let Assignment::Role(role, node) = &row.assignment {
            if let Some(&(_, _, earlier)) =
                person.roles.iter().find(|(r, n, _)| r == role && n == node)
            {
                errors.push(error(row.row, Column::Role, RowErrorKind::DuplicateRole,
                    format!("此人在节点“{node}”的“{zh}”角色与第{earlier}行重复; the same role at node \"{node}\" is already listed on row {earlier}", zh = role.name_zh())));
            } else {
                person.roles.push((*role, node, row.row));
            }
        }
    }
    people
}

/// Checks the people against each other and the stored directory, and plans the writes.
pub(crate) fn plan(
    file: &ImportFile,
    stored: &Stored,
    tenant: Uuid,
    node_ids: &HashMap<String, Uuid>,
    holders: &HashMap<String, LoginHolder>,
    errors: &mut Vec<RowError>,
) -> PeoplePlan {
    let people = group(file, node_ids, errors);
    let stored_by_phone: HashMap<&str, _> = stored
        .people
        .iter()
        .map(|p| (p.phone.as_str(), p))
        .collect();
    let target = |p: &Person<'_>| stored_by_phone.get(p.phone.expose()).map(|s| s.id);
    // The username each stored person listed in the file will have (`None`: keeps theirs).
    let new_username: HashMap<Uuid, Option<&str>> = people
        .iter()
        .filter_map(|p| {
            let id = target(p)?;
            match &p.username {
                Given::Value(u) => Some((id, Some(u.as_str()))),
                Given::Empty => Some((id, None)),
                Given::Absent | Given::Invalid => None,
            }
        })
        .collect();

    let mut usernames: HashMap<&str, u32> = HashMap::new();
    for person in &people {
        let me = target(person);
        // Who else holds a sign-in name, in Chinese and English; a username another
        // person of this township gives up in the same file is free.
        let taken = |login: &str, username: bool| -> Option<(&'static str, &'static str)> {
            let holder = holders.get(login)?;
            if Some(holder.user_id) == me {
                return None;
            }
            if holder.tenant_id != Some(tenant) {
                return Some((
                    "其他乡镇或县级人员",
                    "another township's or the county's staff",
                ));
            }
            match new_username.get(&holder.user_id) {
                Some(next) if username && *next != Some(login) => None,
                _ => Some(("本镇的另一人员", "another person of this township")),
            }
        };
        if let Some((zh, en)) = taken(person.phone.expose(), false) {
            errors.push(error(
                person.row,
                Column::Phone,
                RowErrorKind::LoginTaken,
                format!(
                    "手机号{m}已是{zh}的登录名; the phone {m} is already a sign-in name of {en}",
                    m = person.phone.masked()
                ),
            ));
        }
        if let Given::Value(username) = &person.username {
            let name = username.as_str();
            let earlier = *usernames.entry(name).or_insert(person.row);
            if earlier != person.row {
                errors.push(error(person.row, Column::Username, RowErrorKind::DuplicateUsername,
                    format!("登录名“{name}”已在第{earlier}行给了另一人员; the username \"{name}\" is already given to another person on row {earlier}")));
            } else if let Some((zh, en)) = taken(name, true) {
                errors.push(error(person.row, Column::Username, RowErrorKind::LoginTaken,
                    format!("登录名“{name}”已是{zh}的登录名; the username \"{name}\" is already a sign-in name of {en}")));
            }
        }
    }

    let mut plan = PeoplePlan::default();
    for person in &people {
        let Some(name) = person.name else { continue };
        if matches!(person.username, Given::Invalid) || matches!(person.active, Given::Invalid) {
            continue;
        }
        let current = stored_by_phone.get(person.phone.expose()).copied();
        let write = PersonWrite {
            id: current.map_or_else(Uuid::now_v7, |c| c.id),
            name: name.to_owned(),
            phone: person.phone.expose().to_owned(),
            username: match &person.username {
                Given::Value(u) => Some(u.as_str().to_owned()),
                Given::Empty => None,
                _ => current.and_then(|c| c.username.clone()),
            },
            active: match person.active {
                Given::Value(active) => active,
                _ => current.is_none_or(|c| c.active),
            },
        };
        let wanted: BTreeSet<(Role, Uuid)> = person
            .roles
            .iter()
            .filter_map(|(role, node, _)| Some((*role, *node_ids.get(*node)?)))
            .collect();
        let held: BTreeSet<(Role, Uuid)> = stored
            .roles
            .iter()
            .filter(|r| Some(r.user_id) == current.map(|c| c.id))
            .filter_map(|r| Some((Role::parse(&r.role)?, r.node_id)))
            .collect();
        let added = wanted.difference(&held).count() as u32;
        let removed = held.difference(&wanted).count() as u32;
        if added + removed > 0 {
            plan.roles_added += added;
            plan.roles_removed += removed;
            plan.role_users.push(write.id);
            plan.roles
                .extend(wanted.iter().map(|&(role, node)| (write.id, role, node)));
        }
        match current {
            None => {
                plan.counts.created += 1;
                plan.logins.push((write.phone.clone(), write.id, "phone"));
                if let Some(username) = &write.username {
                    plan.logins.push((username.clone(), write.id, "username"));
                }
                plan.inserts.push(write);
            }
            Some(c) => {
                let details = c.name != write.name
                    || c.username != write.username
                    || c.active != write.active;
                if c.username != write.username {
                    plan.drop_usernames.push(c.id);
                    if let Some(username) = &write.username {
                        plan.logins.push((username.clone(), c.id, "username"));
                    }
                }
                if details {
                    plan.updates.push(write);
                }
                if details || added + removed > 0 {
                    plan.counts.updated += 1;
                } else {
                    plan.counts.unchanged += 1;
                }
            }
        }
    }
    plan
}
