//! The cases behind a number: `/dashboard/cases` (the township's, each opening in the
//! console) and `/county/dashboard/cases` (across townships, each found through the
//! county's case search, which asks why before it opens a case). 50 a page.

use std::collections::HashMap;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use mashang_auth::{MaybeSignedIn, PrincipalKind};
use mashang_domain::case::CaseState;
use mashang_http::ApiError;
use mashang_web::staff::{self, StaffHeader};
use sqlx::PgConnection;
use uuid::Uuid;

use super::labels;
use super::query;
use mashang_http::openapi::{Html, PageErrors};

use crate::AnalyticsState;
use crate::figures::drill::{CaseRow, Condition, OVERDUE_NOW, Part, condition};
use crate::pages::ASSETS;
use crate::stats_api::{CasesPage, CasesQuery, county_case_page, township_case_page};

/// Cases a page lists.
const PAGE: i64 = 50;

/// The open cases past a deadline now (the dashboards' overdue list).
pub(crate) fn overdue_condition() -> Condition {
    condition(OVERDUE_NOW, Part::Numerator).expect("the overdue list has a condition")
}

/// One case as the lists show it.
#[derive(Debug)]
pub(crate) struct CaseLine {
    pub tracking: String,
    pub href: Option<String>,
    pub township: String,
    pub category: String,
    pub grid: String,
    pub status: String,
    pub submitted: String,
    pub due: String,
}

/// Beijing time, as staff read times.
pub(crate) fn local(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

pub(crate) fn status(raw: &str) -> String {
    CaseState::parse(raw)
        .map(|s| s.label_zh().to_owned())
        .unwrap_or_else(|| match raw {
            "submitted" => "待受理".to_owned(),
            other => other.to_owned(),
        })
}

pub(crate) fn line(row: &CaseRow, href: Option<String>) -> CaseLine {
    let due = match (
        row.first_responded_at,
        row.first_response_due,
        row.resolve_due,
    ) {
        (None, Some(due), _) => format!("回应 {}", local(due)),
        (_, _, Some(due)) => format!("办结 {}", local(due)),
        _ => String::new(),
    };
    CaseLine {
        tracking: row.tracking_number.clone(),
        href,
        township: String::new(),
        category: row.category.clone(),
        grid: String::new(),
        status: status(&row.status),
        submitted: local(row.submitted_at),
        due,
    }
}

/// The township's cases as lines, with their category and grid names from the
/// directory, each opening in the console.
pub(crate) async fn case_lines(
    conn: &mut PgConnection,
    rows: &[CaseRow],
) -> Result<Vec<CaseLine>, sqlx::Error> {
    let nodes: Vec<Uuid> = rows.iter().filter_map(|r| r.grid_node_id).collect();
    let names: HashMap<Uuid, String> = sqlx::query_as::<_, (Uuid, String)>(
        "SELECT id, name FROM routing.grid_nodes WHERE id = ANY($1)",
    )
    .bind(&nodes)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let categories: HashMap<String, String> =
        sqlx::query_as::<_, (String, String)>("SELECT code, name_zh FROM routing.categories")
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
    Ok(rows
        .iter()
        .map(|r| {
            let mut l = line(r, r.case_id.map(|id| format!("/console/cases/{id}")));
            if let Some(name) = categories.get(&r.category) {
                l.category = name.clone();
            }
            l.grid = r
                .grid_node_id
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_default();
            l
        })
        .collect())
}

#[derive(Debug, Template)]
#[template(path = "dashboard_cases.html")]
struct Page {
    chrome: StaffHeader,
    county: bool,
    title: String,
    subtitle: String,
    back: String,
    cases: Vec<CaseLine>,
    next: Option<String>,
}

/// What the list is of, in words.
fn title(q: &CasesQuery, part: &str) -> (String, String) {
    let key = q.figure.as_deref().unwrap_or_default();
    let what = if key == OVERDUE_NOW {
        "现在超时的案件 (Cases overdue now)".to_owned()
    } else {
        let l = labels::of(key);
        let part = if part == "numerator" {
            "分子 numerator"
        } else {
            "分母 denominator"
        };
        format!("{}（{part}）({})", l.zh, l.en)
    };
    let period = format!(
        "{} 至 {}",
        q.from.as_deref().unwrap_or_default(),
        q.to.as_deref().unwrap_or_default()
    );
    (what, period)
}

/// The link to the next page: the same query with `after`.
fn next_link(path: &str, q: &CasesQuery, page: &CasesPage) -> Option<String> {
    let after = page.next.as_deref()?;
    Some(format!(
        "{path}?{}",
        query(&[
            ("from", q.from.as_deref().unwrap_or_default()),
            ("to", q.to.as_deref().unwrap_or_default()),
            ("figure", q.figure.as_deref().unwrap_or_default()),
            ("part", q.part.as_deref().unwrap_or_default()),
            ("node_id", q.node_id.as_deref().unwrap_or_default()),
            ("category", q.category.as_deref().unwrap_or_default()),
            ("handler", q.handler.as_deref().unwrap_or_default()),
            ("tenant", q.tenant.as_deref().unwrap_or_default()),
            ("after", after),
        ])
    ))
}

/// `GET /dashboard/cases`.
#[utoipa::path(get, path = "/dashboard/cases", tag = "pages", operation_id = "dashboard_cases_page", params(CasesQuery),
    responses((status = 200, description = "指标背后的事件 (The cases behind a figure, as a page)", content_type = "text/html", body = Html), PageErrors))]
pub(crate) async fn township(
    State(state): State<AnalyticsState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    uri: Uri,
    q: Result<Query<CasesQuery>, QueryRejection>,
) -> Response {
    let principal = match super::signed_in(signed_in, &uri) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    if matches!(principal.kind, PrincipalKind::County { .. }) {
        return Redirect::to("/county/dashboard").into_response();
    }
    let Query(mut q) = q.unwrap_or_default();
    q.limit = Some(PAGE);
    let result = async {
        let page = township_case_page(&state, &principal, &q).await?;
        let mut conn = state.db.tenant(principal.require_tenant()?).await?;
        let lines = case_lines(&mut conn, &page.cases).await?;
        let township: Option<String> =
            sqlx::query_scalar("SELECT name FROM routing.tenants WHERE id = $1")
                .bind(conn.tenant().as_uuid())
                .fetch_optional(&mut *conn)
                .await?;
        conn.commit().await?;
        Ok::<_, ApiError>((page, lines, township))
    }
    .await;
    let (page, cases, township) = match result {
        Ok(found) => found,
        Err(err) => return super::refuse(err, &principal),
    };
    let back = format!(
        "/dashboard?{}",
        query(&[
            ("from", q.from.as_deref().unwrap_or_default()),
            ("to", q.to.as_deref().unwrap_or_default()),
            ("node_id", q.node_id.as_deref().unwrap_or_default()),
        ])
    );
    let chrome = StaffHeader::new(&principal, township, &ASSETS);
    show(chrome, false, &q, &page, cases, back)
}

/// The list page of `page`'s cases (`cases`, as lines), with its title, the way back
/// and the link to the next page.
fn show(
    chrome: StaffHeader,
    county: bool,
    q: &CasesQuery,
    page: &CasesPage,
    cases: Vec<CaseLine>,
    back: String,
) -> Response {
    let (title, subtitle) = title(q, page.part);
    let path = if county {
        "/county/dashboard/cases"
    } else {
        "/dashboard/cases"
    };
    let view = Page {
        chrome,
        county,
        title,
        subtitle,
        back,
        next: next_link(path, q, page),
        cases,
    };
    staff::page(StatusCode::OK, &view, &ASSETS)
}

/// Cases of any township as the county's lists show them: with the township's name,
/// each found through the county's case search (which asks why before it opens one).
pub(crate) fn county_lines(rows: &[CaseRow], names: &HashMap<Uuid, String>) -> Vec<CaseLine> {
    rows.iter()
        .map(|r| {
            let href = format!("/county/search?{}", query(&[("q", &r.tracking_number)]));
            let mut l = line(r, Some(href));
            l.township = names.get(&r.tenant_id).cloned().unwrap_or_default();
            l
        })
        .collect()
}

/// `GET /county/dashboard/cases` (recorded as a county read).
#[utoipa::path(get, path = "/county/dashboard/cases", tag = "pages", operation_id = "county_dashboard_cases_page", params(CasesQuery),
    responses((status = 200, description = "全县指标背后的事件 (The cases behind a county figure, as a page)", content_type = "text/html", body = Html), PageErrors))]
pub(crate) async fn county(
    State(state): State<AnalyticsState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    uri: Uri,
    q: Result<Query<CasesQuery>, QueryRejection>,
) -> Response {
    let principal = match super::signed_in(signed_in, &uri) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    let Query(mut q) = q.unwrap_or_default();
    q.limit = Some(PAGE);
    let page = match county_case_page(&state, &principal, &uri, &q).await {
        Ok(page) => page,
        Err(err) => return super::refuse(err, &principal),
    };
    let names: HashMap<Uuid, String> = match super::county::township_names(&state).await {
        Ok(names) => names,
        Err(err) => return super::refuse(err, &principal),
    };
    let cases = county_lines(&page.cases, &names);
    let back = format!(
        "/county/dashboard?{}",
        query(&[
            ("from", q.from.as_deref().unwrap_or_default()),
            ("to", q.to.as_deref().unwrap_or_default()),
            ("township", q.tenant.as_deref().unwrap_or_default()),
        ])
    );
    let chrome = StaffHeader::new(&principal, None, &ASSETS);
    show(chrome, true, &q, &page, cases, back)
}
