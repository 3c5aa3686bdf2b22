//! 查阅记录 (`/county/views`): every time a county person opened a township's case
//! through the search (who, which case, which township, when, why), newest first, 50 a
//! page, read township by township and merged by a keyset cursor.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use mashang_auth::permissions::Action;
use mashang_domain::TenantId;
use serde::Deserialize;
use uuid::Uuid;

use super::county::{County, when, zone_of};
use super::county_case::reason_zh;
use super::layout::{Chrome, PageError, render};
use crate::RoutingState;
use crate::directory::tenants::list_tenants;
use mashang_http::openapi::{Html, PageErrors};

/// Lines per page.
const PAGE: usize = 50;

struct Line {
    at: DateTime<Utc>,
    id: Uuid,
    when: String,
    who: String,
    code: String,
    township: String,
    case_id: Uuid,
    tracking_number: String,
    reason: String,
    reason_text: Option<String>,
}

#[derive(Template)]
#[template(path = "county/views.html")]
struct ViewsPage {
    chrome: Chrome,
    lines: Vec<Line>,
    townships: Vec<(String, String)>,
    township: String,
    next: Option<String>,
    first_page: Option<String>,
    /// Whether the person may open cases (the tracking numbers link to them).
    search: bool,
}

#[derive(Debug, Deserialize)]
pub(super) struct ViewsQuery {
    township: Option<String>,
    cursor: Option<String>,
}

type Row = (
    Uuid,
    DateTime<Utc>,
    Option<String>,
    Uuid,
    String,
    String,
    Option<String>,
);

/// `GET /county/views[?township=…&cursor=…]`.
#[utoipa::path(get, path = "/county/views", tag = "pages", operation_id = "get_county_views",
    summary = "查阅记录 (The county case views)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn page(
    State(state): State<RoutingState>,
    county: County,
    Query(q): Query<ViewsQuery>,
) -> Result<Response, PageError> {
    county.require(Action::ViewCounty)?;
    let township = q.township.unwrap_or_default();
    let after: Option<(DateTime<Utc>, Uuid)> = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(raw) => {
            let parsed = raw.split_once('_').and_then(|(micros, id)| {
                Some((
                    DateTime::from_timestamp_micros(micros.parse().ok()?)?,
                    id.parse().ok()?,
                ))
            });
            Some(parsed.ok_or_else(PageError::not_found)?)
        }
    };
    let all = list_tenants(&state.db).await?;
    let mut lines = Vec::new();
    for tenant in all
        .iter()
        .filter(|t| township.is_empty() || t.code == township)
    {
        let mut tx = state.db.tenant(TenantId::from_uuid(tenant.id)).await?;
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT v.id, v.viewed_at, u.name, v.case_id, c.tracking_number, v.reason, v.reason_text \
             FROM routing.county_case_views v \
             JOIN routing.cases c ON c.tenant_id = v.tenant_id AND c.id = v.case_id \
             LEFT JOIN routing.county_users u ON u.id = v.viewer_id \
             WHERE v.tenant_id = $1 \
               AND ($2::timestamptz IS NULL OR (v.viewed_at, v.id) < ($2::timestamptz, $3::uuid)) \
             ORDER BY v.viewed_at DESC, v.id DESC LIMIT $4",
        )
        .bind(tenant.id)
        .bind(after.map(|(at, _)| at))
        .bind(after.map(|(_, id)| id))
        .bind(PAGE as i64 + 1)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let zone = zone_of(&tenant.time_zone);
        lines.extend(rows.into_iter().map(
            |(id, at, who, case_id, tracking_number, reason, reason_text)| Line {
                at,
                id,
                when: when(at, zone),
                who: who.unwrap_or_default(),
                code: tenant.code.clone(),
                township: tenant.name.clone(),
                case_id,
                tracking_number,
                reason: reason_zh(&reason).to_owned(),
                reason_text,
            },
        ));
    }
    lines.sort_by_key(|l| std::cmp::Reverse((l.at, l.id)));
    let filter = if township.is_empty() {
        String::new()
    } else {
        format!("township={}&", super::centre_names::encode(&township))
    };
    let next = (lines.len() > PAGE).then(|| {
        let last = &lines[PAGE - 1];
        format!(
            "/county/views?{filter}cursor={}_{}",
            last.at.timestamp_micros(),
            last.id
        )
    });
    lines.truncate(PAGE);
    Ok(render(
        StatusCode::OK,
        &ViewsPage {
            search: county.may(Action::ViewCase),
            chrome: county.chrome,
            lines,
            townships: all.into_iter().map(|t| (t.code, t.name)).collect(),
            first_page: after.map(|_| format!("/county/views?{filter}")),
            township,
            next,
        },
    ))
}
