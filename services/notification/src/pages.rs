//! The notices page (`/console/notices`): the signed-in person's in-app notices,
//! newest first, a page at a time, under the shared staff header. Opening a notice
//! marks it read and leads to its case; one button marks them all read. Plain forms
//! with the session's CSRF token; the header's script only fills the unread badge.

use std::sync::LazyLock;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use mashang_auth::{MaybeSignedIn, Principal};
use mashang_domain::{TenantId, UserId};
use mashang_http::ApiError;
use mashang_web::csrf::{FormLimits, form_csrf};
use mashang_web::staff::{self, StaffHeader};
use mashang_web::{Asset, Assets, strings};
use serde::Deserialize;

use crate::NotificationState;
use crate::notices::{self, Before, Notice};
use mashang_http::openapi::{FormErrors, Html, PageErrors};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Notices per page.
const PAGE: i64 = 20;

/// Unread notices counted for the heading (more shows as "99+").
const UNREAD_CAP: i64 = 100;

const FILES: [Asset; 3] = [
    mashang_web::assets::STAFF_CSS,
    mashang_web::assets::HEADER_JS,
    Asset::css("notices.css", include_str!("../static/notices.css")),
];

/// The files notification's pages link to, under `/static/notification/`.
pub(crate) static ASSETS: LazyLock<Assets> = LazyLock::new(|| Assets::new("notification", &FILES));

/// The pages' routes.
pub(crate) fn routes() -> OpenApiRouter<NotificationState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(read_all))
        .routes(routes!(open))
        .layer(middleware::from_fn_with_state(
            FormLimits::new(16 * 1024),
            form_csrf,
        ))
        .merge(ASSETS.router())
}

/// A notice as the page shows it.
#[derive(Debug)]
struct NoticeView {
    id: String,
    title: String,
    body: String,
    /// Local time, `12月3日 14:05`.
    when: String,
    unread: bool,
    /// Whether opening it leads to a case.
    case: bool,
}

#[derive(Debug, Template)]
#[template(path = "notices.html")]
struct NoticesPage {
    chrome: StaffHeader,
    notices: Vec<NoticeView>,
    unread: String,
    /// The link to the next (older) page.
    older: Option<String>,
    /// Whether this is a later page (offers the way back to the newest).
    later_page: bool,
    /// The confirmation after "mark all read".
    done: bool,
    css: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// The cursor of the next page.
    #[param(max_length = 100)]
    before: Option<String>,
    /// What was just done, for the notice on the page.
    #[param(max_length = 32)]
    ok: Option<String>,
}

/// Who the page is for: a township person signed in with a session.
pub(crate) struct Reader {
    pub(crate) tenant: TenantId,
    pub(crate) user: UserId,
    pub(crate) principal: Principal,
}

/// The reader, or the page that answers instead: to sign in (coming back to `uri`),
/// or refused.
pub(crate) fn reader(
    signed_in: Result<MaybeSignedIn, ApiError>,
    uri: &Uri,
) -> Result<Reader, Box<Response>> {
    let principal = match signed_in {
        Ok(MaybeSignedIn(Some(p))) => p,
        Ok(MaybeSignedIn(None)) => {
            let next = if uri.path().starts_with("/console/notices/") {
                "/console/notices"
            } else {
                uri.path_and_query()
                    .map_or("/console/notices", |p| p.as_str())
            };
            return Err(Box::new(
                Redirect::to(&staff::login_then(Some(next))).into_response(),
            ));
        }
        Err(err) => return Err(Box::new(api_refusal(err))),
    };
    let (Some(tenant), Some(user)) = (principal.tenant(), principal.user()) else {
        return Err(Box::new(staff::refuse(
            StatusCode::FORBIDDEN,
            "通知只发给乡镇工作人员。(Notices are for township staff.)",
            principal.csrf.as_deref(),
            &ASSETS,
        )));
    };
    Ok(Reader {
        tenant,
        user,
        principal,
    })
}

/// An API refusal (a form without its CSRF token, a failure) as a page.
pub(crate) fn api_refusal(err: ApiError) -> Response {
    let err = err.classify();
    let status = err.status();
    let message = match err {
        ApiError::Internal(err) => return failed(err),
        ApiError::Forbidden(m) | ApiError::BadRequest(m) | ApiError::Conflict(m) => m,
        other => other.title().to_owned(),
    };
    staff::refuse(status, &message, None, &ASSETS)
}

pub(crate) fn failed(err: impl Into<anyhow::Error>) -> Response {
    let err = err.into();
    tracing::error!(error = %format!("{err:#}"), "notices page failed");
    staff::refuse(
        StatusCode::INTERNAL_SERVER_ERROR,
        strings::INTERNAL_MESSAGE,
        None,
        &ASSETS,
    )
}

/// `GET /console/notices[?before=…]`.
#[utoipa::path(get, path = "/console/notices", tag = "pages", operation_id = "get_console_notices",
    summary = "通知页面 (The notices page)",
    params(ListQuery),
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
async fn list(
    State(state): State<NotificationState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    uri: Uri,
    Query(q): Query<ListQuery>,
) -> Response {
    let me = match reader(signed_in, &uri) {
        Ok(me) => me,
        Err(page) => return *page,
    };
    let before = match q.before.as_deref().filter(|b| !b.is_empty()) {
        None => None,
        Some(raw) => match Before::parse(raw) {
            Some(before) => Some(before),
            // An edited or stale link: the newest page.
            None => return Redirect::to("/console/notices").into_response(),
        },
    };
    match load(&state, &me, before).await {
        Ok((township, zone, rows, unread)) => {
            let older = (rows.len() > PAGE as usize)
                .then(|| rows.get(PAGE as usize - 1))
                .flatten()
                .map(|last| {
                    let cursor = Before {
                        created_at: last.created_at,
                        id: last.id,
                    };
                    format!("/console/notices?before={}", cursor.encode())
                });
            let notices = rows
                .into_iter()
                .take(PAGE as usize)
                .map(|n| view(n, zone))
                .collect();
            let page = NoticesPage {
                chrome: StaffHeader::new(&me.principal, Some(township), &ASSETS),
                notices,
                unread: if unread >= UNREAD_CAP {
                    "99+".to_owned()
                } else {
                    unread.to_string()
                },
                older,
                later_page: before.is_some(),
                done: q.ok.as_deref() == Some("read"),
                css: ASSETS.url("notices.css"),
            };
            staff::page(StatusCode::OK, &page, &ASSETS)
        }
        Err(err) => failed(err),
    }
}

async fn load(
    state: &NotificationState,
    me: &Reader,
    before: Option<Before>,
) -> Result<(String, chrono_tz::Tz, Vec<Notice>, i64), mashang_db::DbError> {
    let mut tx = state.db.tenant(me.tenant).await?;
    // The township's name and zone come from the directory, which every service reads.
    let (township, zone): (String, String) =
        sqlx::query_as("SELECT name, time_zone FROM routing.tenants WHERE id = $1")
            .bind(me.tenant.as_uuid())
            .fetch_one(&mut *tx)
            .await?;
    let rows = notices::page_for_user(&mut tx, me.user, before, PAGE).await?;
    let unread = notices::unread(&mut tx, me.user, UNREAD_CAP).await?;
    tx.commit().await?;
    Ok((
        township,
        zone.parse().unwrap_or(chrono_tz::Asia::Shanghai),
        rows,
        unread,
    ))
}

fn view(n: Notice, zone: chrono_tz::Tz) -> NoticeView {
    NoticeView {
        id: n.id.to_string(),
        title: n.title,
        body: n.body,
        when: local(n.created_at, zone),
        unread: n.read_at.is_none(),
        case: n.case_id.is_some(),
    }
}

fn local(at: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    at.with_timezone(&zone)
        .format("%-m月%-d日 %H:%M")
        .to_string()
}

/// `POST /console/notices/read-all`.
#[utoipa::path(post, path = "/console/notices/read-all", tag = "pages", operation_id = "post_console_notices_read_all",
    summary = "全部已读 (Marks every notice read)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        FormErrors,
    ))]
async fn read_all(
    State(state): State<NotificationState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    uri: Uri,
) -> Response {
    let me = match reader(signed_in, &uri) {
        Ok(me) => me,
        Err(page) => return *page,
    };
    let done = async {
        let mut tx = state.db.tenant(me.tenant).await?;
        notices::mark_all_read(&mut tx, me.user).await?;
        tx.commit().await?;
        Ok::<_, mashang_db::DbError>(())
    };
    match done.await {
        Ok(()) => Redirect::to("/console/notices?ok=read").into_response(),
        Err(err) => failed(err),
    }
}

/// `POST /console/notices/{id}/open`: marks the notice read and goes to its case (a
/// notice about no case: back to the list).
#[utoipa::path(post, path = "/console/notices/{id}/open", tag = "pages", operation_id = "post_console_notices_id_open",
    summary = "打开通知 (Marks a notice read and goes to its case)",
    params(("id" = uuid::Uuid, Path, description = "The notice")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        FormErrors,
    ))]
async fn open(
    State(state): State<NotificationState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let me = match reader(signed_in, &uri) {
        Ok(me) => me,
        Err(page) => return *page,
    };
    let not_found = || {
        staff::refuse(
            StatusCode::NOT_FOUND,
            strings::NOT_FOUND,
            me.principal.csrf.as_deref(),
            &ASSETS,
        )
    };
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return not_found();
    };
    let opened = async {
        let mut tx = state.db.tenant(me.tenant).await?;
        let case = notices::open(&mut tx, me.user, id).await?;
        tx.commit().await?;
        Ok::<_, mashang_db::DbError>(case)
    };
    match opened.await {
        Ok(Some(Some(case))) => Redirect::to(&format!("/console/cases/{case}")).into_response(),
        Ok(Some(None)) => Redirect::to("/console/notices").into_response(),
        Ok(None) => not_found(),
        Err(err) => failed(err),
    }
}
