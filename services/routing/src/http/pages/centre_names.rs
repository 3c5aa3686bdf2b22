//! What the township centre's pages share: who may open them, a grid as
//! `village › grid`, and a case line in words (the words themselves come from
//! `case_fmt`, shared with the worker's pages).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use mashang_db::TenantTx;
use mashang_domain::role::Role;
use uuid::Uuid;

use super::case_fmt::{self, state_label, time_left};
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

/// Time left to (or past) a deadline in words (`还剩 25 分钟`, `已超时 1 小时 5 分`);
/// `—` without one.
pub(super) fn left_zh(deadline: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    deadline.map_or_else(|| "—".to_owned(), |d| time_left(d, now).zh)
}

/// The township's names: the shared ones (categories, people, time zone) and the
/// grid tree, so that a grid reads `village › grid`.
#[derive(Debug)]
pub(super) struct Names {
    shared: case_fmt::Names,
    /// Node id → (name, parent id, kind).
    nodes: HashMap<Uuid, (String, Option<Uuid>, String)>,
}

impl Names {
    /// Loads the township's names (a few hundred rows at most).
    pub async fn load(tx: &mut TenantTx) -> Result<Self, PageError> {
        let shared = case_fmt::Names::load(tx).await?;
        let nodes: Vec<(Uuid, String, Option<Uuid>, String)> = sqlx::query_as(
            "SELECT id, name, parent_id, kind FROM routing.grid_nodes WHERE tenant_id = $1",
        )
        .bind(tx.tenant().as_uuid())
        .fetch_all(&mut **tx)
        .await?;
        Ok(Self {
            shared,
            nodes: nodes
                .into_iter()
                .map(|(id, name, parent, kind)| (id, (name, parent, kind)))
                .collect(),
        })
    }

    /// A category's Chinese name (the code when unknown).
    pub fn category(&self, code: &str) -> String {
        self.shared.category(code)
    }

    /// A moment in the township's time.
    pub fn when(&self, at: DateTime<Utc>) -> String {
        self.shared.when(at)
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

    /// A person's name; `—` for nobody.
    pub fn person(&self, id: Option<Uuid>) -> String {
        id.map_or_else(|| "—".to_owned(), |i| self.shared.person(Some(i)))
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
}

/// A case line in words, for a table or a card.
#[derive(Clone, Debug)]
pub(super) struct Row {
    pub id: Uuid,
    pub tracking_number: String,
    pub category: String,
    pub grid: String,
    pub state_zh: String,
    pub state_en: String,
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
            submitted: names.when(line.submitted_at),
            left: left_zh(line.next_deadline, now),
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
