//! `GET /console/queue`: 受理审核, the township centre's triage queue. One screen per
//! case (`?case=<id>`, else the first in line): the report in full and three forms,
//! dispatch, return, request invalid, posting to the case's action endpoint with
//! `back` so the centre comes back here. Keyboard first on a desktop: the first
//! control has focus, each form has an access key, and a link goes to the next case.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use mashang_domain::CaseId;
use mashang_domain::case::{ActionKind, CaseState, ReturnReason, next as workflow_next};
use mashang_domain::role::Role;
use serde::Deserialize;
use uuid::Uuid;

use super::centre_cases::handlers;
use super::centre_names::{Desk, Names, Row, require};
use super::layout::{Chrome, PageError, Staff, render};
use crate::RoutingState;
use crate::cases::read::{CaseView, load};
use crate::http::case_list::{ListQuery, query};
use mashang_http::openapi::{Html, PageErrors};

/// The longest queue shown in one look.
const QUEUE: i64 = 200;

#[derive(Debug, Deserialize)]
pub(super) struct Params {
    case: Option<String>,
}

/// A handler in the dispatch select.
struct Handler {
    id: Uuid,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "centre/queue.html")]
struct QueuePage {
    chrome: Chrome,
    triage_mode: bool,
    waiting: usize,
    case: Option<CaseView>,
    row: Option<Row>,
    submitted: String,
    photos: Vec<Uuid>,
    handlers: Vec<Handler>,
    next: Option<Uuid>,
    position: usize,
    may_return: bool,
    /// The return reasons: (value, Chinese).
    return_reasons: Vec<(&'static str, &'static str)>,
    back: String,
}

async fn triage_mode(tx: &mut mashang_db::TenantTx) -> Result<bool, PageError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT triage_mode FROM routing.tenant_settings WHERE tenant_id = $1")
            .bind(tx.tenant().as_uuid())
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.is_some_and(|(m,)| m == "triage"))
}

/// `GET /console/queue`.
#[utoipa::path(get, path = "/console/queue", tag = "pages", operation_id = "get_console_queue",
    summary = "待分拨 (The township centre queue)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn page(
    State(state): State<RoutingState>,
    staff: Staff,
    Query(params): Query<Params>,
) -> Result<Response, PageError> {
    require(&staff, Desk::Centre)?;
    let (lines, _) = query(
        &state,
        &staff.principal,
        &ListQuery {
            triage: true,
            limit: Some(QUEUE),
            ..ListQuery::default()
        },
    )
    .await?;
    // Only the cases that still wait for a handler.
    let lines: Vec<_> = lines
        .into_iter()
        .filter(|l| matches!(l.state.as_str(), "created" | "returned"))
        .collect();
    let wanted: Option<Uuid> = match params.case.as_deref().filter(|c| !c.is_empty()) {
        Some(raw) => Some(raw.parse().map_err(|_| PageError::not_found())?),
        None => None,
    };
    let mut tx = state.db.tenant(staff.tenant).await?;
    let triage = triage_mode(&mut tx).await?;
    let position = match wanted {
        Some(id) => lines.iter().position(|l| l.id == id),
        None => (!lines.is_empty()).then_some(0),
    };
    let case = match (wanted, position) {
        (Some(id), _) => {
            let case = load(&mut tx, CaseId::from_uuid(id))
                .await?
                .ok_or_else(PageError::not_found)?;
            Some(case)
        }
        (None, Some(i)) => load(&mut tx, CaseId::from_uuid(lines[i].id)).await?,
        (None, None) => None,
    };
    let all = handlers(&mut tx).await?;
    let names = Names::load(&mut tx).await?;
    tx.commit().await?;
    let now = Utc::now();
    let next = position
        .and_then(|i| lines.get(i + 1))
        .map(|l| l.id)
        .or_else(|| {
            // Past the last one (or a case not in the queue): back to the first.
            lines
                .first()
                .map(|l| l.id)
                .filter(|f| Some(*f) != case.as_ref().map(|c| c.id))
        });
    let row = position
        .and_then(|i| lines.get(i))
        .map(|l| Row::of(l, &names, now));
    let (photos, submitted, handlers, may_return) = match &case {
        Some(c) => {
            let photos = c
                .attachments
                .as_array()
                .map(|all| {
                    all.iter()
                        .filter(|a| {
                            a["content_type"]
                                .as_str()
                                .is_some_and(|t| t.starts_with("image/"))
                        })
                        .filter_map(|a| a["id"].as_str()?.parse().ok())
                        .collect()
                })
                .unwrap_or_default();
            // The case's grid's worker first and chosen; then everyone else.
            let mut hs: Vec<Handler> = all
                .iter()
                .map(|(id, name, node, role)| Handler {
                    id: *id,
                    label: format!(
                        "{name} · {}（{}）",
                        Role::parse(role).map_or("", |r| r.name_zh()),
                        names.grid(*node)
                    ),
                    selected: false,
                })
                .collect();
            if let Some(i) = all
                .iter()
                .position(|(_, _, node, role)| *node == c.grid_node_id && role == "grid_worker")
            {
                let mut h = hs.remove(i);
                h.selected = true;
                hs.insert(0, h);
            }
            let may_return = CaseState::parse(&c.state)
                .is_some_and(|s| workflow_next(s, ActionKind::Return).is_some());
            (photos, names.when(c.submitted_at), hs, may_return)
        }
        None => (Vec::new(), String::new(), Vec::new(), false),
    };
    let back = match &case {
        Some(_) => match next {
            Some(n) => format!("/console/queue?case={n}"),
            None => "/console/queue".to_owned(),
        },
        None => "/console/queue".to_owned(),
    };
    let page = QueuePage {
        chrome: staff.chrome,
        triage_mode: triage,
        waiting: lines.len(),
        row,
        case,
        submitted,
        photos,
        handlers,
        next,
        position: position.map_or(0, |p| p + 1),
        may_return,
        return_reasons: ReturnReason::ALL
            .iter()
            .map(|r| (r.as_str(), r.label_zh()))
            .collect(),
        back,
    };
    Ok(render(StatusCode::OK, &page))
}
