//! `GET /console/cases`: every case the person's roles reach, with the township
//! centre's filters as a plain GET form, a page at a time by the case list's keyset
//! cursor (a "下一页" link carries the filters and the cursor). Bad filters show the
//! form again with what is wrong.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use mashang_domain::case::CaseState;
use mashang_http::ApiError;
use uuid::Uuid;

use super::case_fmt::state_label;
use super::centre_names::{Desk, Names, Row, encode, require};
use super::layout::{Chrome, PageError, Staff, render};
use crate::RoutingState;
use crate::http::case_list::{ListQuery, query};
use mashang_http::openapi::{Html, PageErrors};

/// Lines per page.
const PAGE: i64 = 50;

/// The filters as the form sends them (every value kept as typed).
#[derive(Debug, Default)]
pub(super) struct Filters {
    pub states: Vec<String>,
    pub category: String,
    pub node_id: String,
    pub assignee_id: String,
    pub overdue: bool,
    pub soon: bool,
    pub from: String,
    pub to: String,
    pub q: String,
    pub cursor: String,
    /// Lines per page (1 to [`PAGE`]; [`PAGE`] when absent or not a number).
    pub limit: i64,
}

impl Filters {
    fn parse(raw: Option<&str>) -> Self {
        let mut f = Self {
            limit: PAGE,
            ..Self::default()
        };
        for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let v: String = v.chars().take(200).collect();
            match k.as_ref() {
                "state" if f.states.len() < 20 && !v.is_empty() => f.states.push(v),
                "category" => f.category = v,
                "node_id" => f.node_id = v,
                "assignee_id" => f.assignee_id = v,
                "overdue" => f.overdue = !v.is_empty(),
                "soon" => f.soon = !v.is_empty(),
                "from" => f.from = v,
                "to" => f.to = v,
                "q" => f.q = v,
                "cursor" => f.cursor = v,
                "limit" => f.limit = v.parse().map_or(PAGE, |n: i64| n.clamp(1, PAGE)),
                _ => {}
            }
        }
        f
    }

    fn list_query(&self) -> ListQuery {
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        ListQuery {
            state: (!self.states.is_empty()).then(|| self.states.join(",")),
            node_id: some(&self.node_id),
            assignee_id: some(&self.assignee_id),
            category: some(&self.category),
            overdue: self.overdue,
            due_within_minutes: self.soon.then_some(60),
            from: some(&self.from),
            to: some(&self.to),
            q: some(&self.q),
            limit: Some(self.limit),
            cursor: some(&self.cursor),
            ..ListQuery::default()
        }
    }

    /// The query string of these filters without the cursor.
    fn href(&self) -> String {
        let mut parts: Vec<String> = self
            .states
            .iter()
            .map(|s| format!("state={}", encode(s)))
            .collect();
        for (k, v) in [
            ("category", &self.category),
            ("node_id", &self.node_id),
            ("assignee_id", &self.assignee_id),
            ("from", &self.from),
            ("to", &self.to),
            ("q", &self.q),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}={}", encode(v)));
            }
        }
        if self.overdue {
            parts.push("overdue=1".into());
        }
        if self.soon {
            parts.push("soon=1".into());
        }
        if self.limit != PAGE {
            parts.push(format!("limit={}", self.limit));
        }
        parts.join("&")
    }

    pub fn has_state(&self, s: &&str) -> bool {
        self.states.iter().any(|x| x == *s)
    }
}

#[derive(Template)]
#[template(path = "centre/cases.html")]
struct CasesPage {
    chrome: Chrome,
    f: Filters,
    errors: Vec<(String, String)>,
    rows: Vec<Row>,
    next: Option<String>,
    first_page: Option<String>,
    states: Vec<(&'static str, String, String)>,
    categories: Vec<(String, String)>,
    nodes: Vec<(Uuid, String)>,
    people: Vec<(Uuid, String)>,
}

impl CasesPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// The township's handlers as `(id, "name · role node")`, for selects.
pub(super) async fn handlers(
    tx: &mut mashang_db::TenantTx,
) -> Result<Vec<(Uuid, String, Uuid, String)>, PageError> {
    let rows: Vec<(Uuid, String, Uuid, String)> = sqlx::query_as(
        "SELECT u.id, u.name, r.node_id, r.role FROM routing.staff_roles r \
         JOIN routing.staff_users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id \
         WHERE r.tenant_id = $1 AND u.active \
           AND r.role IN ('grid_worker', 'grid_leader', 'village_head', 'township_centre') \
         ORDER BY u.name, r.role",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows)
}

/// `GET /console/cases`.
#[utoipa::path(get, path = "/console/cases", tag = "pages", operation_id = "get_console_cases",
    summary = "全部事件 (The township cases, filtered)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn page(
    State(state): State<RoutingState>,
    staff: Staff,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    require(&staff, Desk::Supervisor)?;
    let f = Filters::parse(raw.as_deref());
    let (lines, next, errors) = match query(&state, &staff.principal, &f.list_query()).await {
        Ok((lines, next)) => (lines, next, Vec::new()),
        Err(ApiError::Validation(errors)) => (
            Vec::new(),
            None,
            errors.into_iter().map(|e| (e.field, e.message)).collect(),
        ),
        Err(other) => return Err(other.into()),
    };
    let mut tx = state.db.tenant(staff.tenant).await?;
    let people = handlers(&mut tx).await?;
    let names = Names::load(&mut tx).await?;
    let categories: Vec<(String, String)> = sqlx::query_as(
        "SELECT code, name_zh FROM routing.categories WHERE tenant_id = $1 ORDER BY name_zh, code",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let now = Utc::now();
    let rows = lines.iter().map(|l| Row::of(l, &names, now)).collect();
    let href = f.href();
    let next = next.map(|c| format!("/console/cases?{href}&cursor={}", encode(&c)));
    let first_page = (!f.cursor.is_empty()).then(|| format!("/console/cases?{href}"));
    let mut seen = std::collections::HashSet::new();
    let people = people
        .into_iter()
        .filter(|p| seen.insert(p.0))
        .map(|(id, name, _, _)| (id, name))
        .collect();
    let page = CasesPage {
        chrome: staff.chrome,
        errors,
        rows,
        next,
        first_page,
        states: CaseState::ALL
            .iter()
            .map(|s| {
                let (zh, en) = state_label(s.as_str());
                (s.as_str(), zh, en)
            })
            .collect(),
        categories,
        nodes: names.node_options(),
        people,
        f,
    };
    Ok(render(StatusCode::OK, &page))
}
