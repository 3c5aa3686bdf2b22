//! `GET /console/overdue`: cases past a deadline or within an hour of one, grouped by
//! village › grid, each with its handler, the time over, who has been reminded or
//! escalated to, and who supervises. Two bounded reads of the case list (on the
//! `(list_deadline, id)` index) and one look-up of those cases' timers' traces: the
//! cost follows the late cases shown, not the township's case count.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::centre_names::{Desk, Names, Row, require};
use super::layout::{Chrome, PageError, Staff, render};
use crate::RoutingState;
use crate::http::case_list::{ListQuery, query};
use mashang_http::openapi::{Html, PageErrors};

/// The most cases of each kind (late, due soon) shown.
const SHOWN: i64 = 200;

struct Late {
    row: Row,
    /// `提醒 张三 12-03 14:05` lines.
    reminded: Vec<String>,
    supervisors: Vec<String>,
}

#[derive(Template)]
#[template(path = "centre/overdue.html")]
struct OverduePage {
    chrome: Chrome,
    groups: Vec<(String, Vec<Late>)>,
    late: usize,
    soon: usize,
    capped: bool,
}

/// A reminder or escalation of a listed case: case, action, details, when, handler.
type Trace = (Uuid, String, serde_json::Value, DateTime<Utc>, Option<Uuid>);

/// `GET /console/overdue`.
#[utoipa::path(get, path = "/console/overdue", tag = "pages", operation_id = "get_console_overdue",
    summary = "超时事件 (Overdue cases)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn page(
    State(state): State<RoutingState>,
    staff: Staff,
) -> Result<Response, PageError> {
    require(&staff, Desk::Supervisor)?;
    let ask = |overdue: bool| ListQuery {
        overdue,
        due_within_minutes: (!overdue).then_some(60),
        limit: Some(SHOWN),
        ..ListQuery::default()
    };
    let (late, more_late) = query(&state, &staff.principal, &ask(true)).await?;
    let (soon, more_soon) = query(&state, &staff.principal, &ask(false)).await?;
    let (n_late, n_soon) = (late.len(), soon.len());
    let lines: Vec<_> = late.into_iter().chain(soon).collect();
    let ids: Vec<Uuid> = lines.iter().map(|l| l.id).collect();
    let mut tx = state.db.tenant(staff.tenant).await?;
    let t = tx.tenant().as_uuid();
    // Who was told: reminders go to the handler and supervisors, escalations add one.
    let traces: Vec<Trace> =
        sqlx::query_as(
            "SELECT tl.case_id, tl.action, tl.details, tl.occurred_at, c.assignee_id \
             FROM routing.case_timeline tl JOIN routing.cases c ON c.tenant_id = tl.tenant_id AND c.id = tl.case_id \
             WHERE tl.tenant_id = $1 AND tl.case_id = ANY($2) AND tl.action IN ('reminder', 'escalated', 'escalate') \
             ORDER BY tl.occurred_at",
        )
        .bind(t)
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
    let sups: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT case_id, user_id FROM routing.case_supervisors WHERE tenant_id = $1 AND case_id = ANY($2) ORDER BY added_at",
    )
    .bind(t)
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    // The leaders and village heads above each grid shown.
    let grids: Vec<Uuid> = lines.iter().map(|l| l.grid_node_id).collect();
    let above: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT g.id, r.user_id FROM routing.grid_nodes g \
         JOIN routing.staff_roles r ON r.tenant_id = g.tenant_id \
           AND ((r.role = 'grid_leader' AND r.node_id = g.id) OR (r.role = 'village_head' AND r.node_id = g.parent_id)) \
         WHERE g.tenant_id = $1 AND g.id = ANY($2)",
    )
    .bind(t)
    .bind(&grids)
    .fetch_all(&mut *tx)
    .await?;
    let names = Names::load(&mut tx).await?;
    tx.commit().await?;
    let now = Utc::now();
    let mut by_case: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (case, action, details, at, assignee) in &traces {
        let when = names.when(*at);
        let line = if action == "reminder" {
            format!("{when} 催办 {}", names.person(*assignee))
        } else {
            let to = details["supervisor"]
                .as_str()
                .or_else(|| details["to"].as_str())
                .and_then(|s| s.parse().ok());
            format!("{when} 督办 → {}", names.person(to))
        };
        by_case.entry(*case).or_default().push(line);
    }
    let mut groups: BTreeMap<String, Vec<Late>> = BTreeMap::new();
    for l in &lines {
        let mut supervisors: Vec<String> = sups
            .iter()
            .filter(|s| s.0 == l.id)
            .map(|s| names.person(Some(s.1)))
            .collect();
        for (_, u) in above.iter().filter(|a| a.0 == l.grid_node_id) {
            let n = names.person(Some(*u));
            if !supervisors.contains(&n) {
                supervisors.push(n);
            }
        }
        let row = Row::of(l, &names, now);
        groups.entry(row.grid.clone()).or_default().push(Late {
            reminded: by_case.remove(&l.id).unwrap_or_default(),
            supervisors,
            row,
        });
    }
    let page = OverduePage {
        chrome: staff.chrome,
        groups: groups.into_iter().collect(),
        late: n_late,
        soon: n_soon,
        capped: more_late.is_some() || more_soon.is_some(),
    };
    Ok(render(StatusCode::OK, &page))
}
