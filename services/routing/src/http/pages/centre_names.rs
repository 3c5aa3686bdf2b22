//! What the township centre's pages share: who may open them, and the names that
//! turn a case line's codes and ids into words (category, village › grid, person,
//! state, time left).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use mashang_db::TenantTx;
use mashang_domain::role::Role;
use uuid::Uuid;

use super::layout::{PageError, Staff};
use crate::http::case_list::CaseLine;

/// Which of the centre's pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Desk {
    /// Triage and follow-ups: the township centre only.
    Centre,
    /// All cases and the overdue board: whoever supervises (centre, village heads,
    /// grid leaders).
    Supervisor,
}

/// Refuses with a 403 page unless the person's roles reach the desk.
pub(super) fn require(staff: &Staff, desk: Desk) -> Result<(), PageError> {
    let p = &staff.principal;
    let ok = match desk {
        Desk::Centre => p.has_role(Role::TownshipCentre),
        Desk::Supervisor => [Role::TownshipCentre, Role::VillageHead, Role::GridLeader]
            .into_iter()
            .any(|r| p.has_role(r)),
    };
    if ok {
        Ok(())
    } else {
        Err(PageError::forbidden(match desk {
            Desk::Centre => {
                "这是镇综治中心的页面。(This page is for the township centre.)".to_owned()
            }
            Desk::Supervisor => {
                "这是综治中心和村、网格负责人的页面。(This page is for supervisors.)".to_owned()
            }
        }))
    }
}

/// A state's label: Chinese, then English.
pub(super) fn state_label(state: &str) -> (&'static str, &'static str) {
    match state {
        "created" => ("待受理", "New"),
        "assigned" => ("已派单", "Assigned"),
        "acknowledged" => ("已联系", "Contacted"),
        "in_progress" => ("处理中", "In progress"),
        "waiting_on_citizen" => ("等待群众", "Waiting on citizen"),
        "resolved" => ("已办结", "Resolved"),
        "followed_up" => ("已回访", "Followed up"),
        "closed" => ("已关闭", "Closed"),
        "returned" => ("已退单", "Returned"),
        "transferred" => ("已改派", "Transferred"),
        "escalated" => ("已上报", "Escalated"),
        "invalid_requested" => ("申请无效", "Invalid requested"),
        "invalid" => ("无效", "Invalid"),
        "reopened" => ("重新办理", "Reopened"),
        _ => ("未知", "Unknown"),
    }
}

/// Time left to (or past) a deadline, in words: `还剩 2小时5分` or `超时 40分`.
pub(super) fn time_left(deadline: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(d) = deadline else {
        return "—".to_owned();
    };
    let secs = (d - now).num_seconds();
    let m = secs.abs() / 60;
    let span = if m >= 24 * 60 {
        format!("{}天{}小时", m / (24 * 60), (m % (24 * 60)) / 60)
    } else if m >= 60 {
        format!("{}小时{}分", m / 60, m % 60)
    } else {
        format!("{m}分")
    };
    if secs < 0 {
        format!("超时 {span}")
    } else {
        format!("还剩 {span}")
    }
}

/// A time in the township's zone, `12-03 14:05`.
pub(super) fn local(at: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    at.with_timezone(&zone).format("%m-%d %H:%M").to_string()
}

/// The township's names for categories, grid nodes and people.
#[derive(Debug, Default)]
pub(super) struct Names {
    categories: HashMap<String, String>,
    /// Node id → (name, parent id).
    nodes: HashMap<Uuid, (String, Option<Uuid>, String)>,
    people: HashMap<Uuid, String>,
    /// The township's time zone.
    pub zone: chrono_tz::Tz,
}

impl Names {
    /// Loads every category and node of the township (both small), and the people
    /// named by `people`.
    pub async fn load(tx: &mut TenantTx, people: &[Uuid]) -> Result<Self, PageError> {
        let t = tx.tenant().as_uuid();
        let categories: Vec<(String, String)> =
            sqlx::query_as("SELECT code, name_zh FROM routing.categories WHERE tenant_id = $1")
                .bind(t)
                .fetch_all(&mut **tx)
                .await?;
        let nodes: Vec<(Uuid, String, Option<Uuid>, String)> = sqlx::query_as(
            "SELECT id, name, parent_id, kind FROM routing.grid_nodes WHERE tenant_id = $1",
        )
        .bind(t)
        .fetch_all(&mut **tx)
        .await?;
        let people: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT id, name FROM routing.staff_users WHERE tenant_id = $1 AND id = ANY($2)",
        )
        .bind(t)
        .bind(people)
        .fetch_all(&mut **tx)
        .await?;
        let (zone,): (String,) =
            sqlx::query_as("SELECT time_zone FROM routing.tenants WHERE id = $1")
                .bind(t)
                .fetch_one(&mut **tx)
                .await?;
        Ok(Self {
            categories: categories.into_iter().collect(),
            nodes: nodes
                .into_iter()
                .map(|(id, name, parent, kind)| (id, (name, parent, kind)))
                .collect(),
            people: people.into_iter().collect(),
            zone: zone.parse().unwrap_or(chrono_tz::Asia::Shanghai),
        })
    }

    /// A category's Chinese name (the code when unknown).
    pub fn category(&self, code: &str) -> String {
        self.categories
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_owned())
    }

    /// A node as `village › grid` (its parent, unless that is the township).
    pub fn grid(&self, id: Uuid) -> String {
        let Some((name, parent, _)) = self.nodes.get(&id) else {
            return "—".to_owned();
        };
        match parent.and_then(|p| self.nodes.get(&p)) {
            Some((parent, _, kind)) if kind != "township" => format!("{parent} › {name}"),
            _ => name.clone(),
        }
    }

    /// A person's name.
    pub fn person(&self, id: Option<Uuid>) -> String {
        id.and_then(|i| self.people.get(&i).cloned())
            .unwrap_or_else(|| "—".to_owned())
    }

    /// The nodes of the township as `(id, label)`, in tree order by label.
    pub fn node_options(&self) -> Vec<(Uuid, String)> {
        let mut all: Vec<(Uuid, String)> = self
            .nodes
            .iter()
            .filter(|(_, (_, _, kind))| kind != "office")
            .map(|(id, _)| (*id, self.grid(*id)))
            .collect();
        all.sort_by(|a, b| a.1.cmp(&b.1));
        all
    }

    /// The categories as `(code, name)`, by name.
    pub fn category_options(&self) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = self
            .categories
            .iter()
            .map(|(c, n)| (c.clone(), n.clone()))
            .collect();
        all.sort_by(|a, b| a.1.cmp(&b.1));
        all
    }
}

/// A case line in words, for a table or a card.
#[derive(Clone, Debug)]
pub(super) struct Row {
    pub id: Uuid,
    pub tracking_number: String,
    pub category: String,
    pub grid: String,
    pub state_zh: &'static str,
    pub state_en: &'static str,
    pub assignee: String,
    pub submitted: String,
    pub left: String,
    pub overdue: bool,
    pub soon: bool,
}

impl Row {
    /// A line of `case_list::query`, named.
    pub fn of(line: &CaseLine, names: &Names, now: DateTime<Utc>) -> Self {
        let (state_zh, state_en) = state_label(&line.state);
        Self {
            id: line.id,
            tracking_number: line.tracking_number.clone(),
            category: names.category(&line.category),
            grid: names.grid(line.grid_node_id),
            state_zh,
            state_en,
            assignee: names.person(line.assignee_id),
            submitted: local(line.submitted_at, names.zone),
            left: time_left(line.next_deadline, now),
            overdue: line.next_deadline.is_some_and(|d| d < now),
            soon: line
                .next_deadline
                .is_some_and(|d| d >= now && d < now + chrono::Duration::minutes(60)),
        }
    }
}

/// Percent-encodes a query-string value.
pub(super) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
