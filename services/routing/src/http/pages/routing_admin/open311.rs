//! `/admin/open311-keys` (接口密钥): the township's Open311 keys, one per outside
//! system that files reports through `/open311/v2`: when each was issued and last
//! used, a form to issue one (the key shown once, on the page that answers the form,
//! never in a URL), and a button to revoke one. The same functions as the JSON API.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use mashang_auth::permissions::{Action, Target};
use mashang_auth::{OPEN311_KEY_NAME_MAX, Open311KeyInfo};
use mashang_http::ApiError;
use serde::Deserialize;
use uuid::Uuid;

use mashang_http::openapi::{FormErrors, Html, PageErrors};

use super::super::layout::{Chrome, PageError, Staff, render, see_other};
use crate::RoutingState;
use crate::http::open311_keys::{IssuedKey, MAX_LIVE_KEYS, issue};

/// A key as listed.
#[derive(Debug)]
struct KeyLine {
    id: Uuid,
    name: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

#[derive(Debug, Template)]
#[template(path = "admin/open311_keys.html")]
struct KeysPage {
    chrome: Chrome,
    keys: Vec<KeyLine>,
    /// The key just issued, shown this once.
    issued: Option<(String, String)>,
    /// What was typed when the form was refused, and why.
    name: String,
    error: Option<String>,
    notice: Option<&'static str>,
    max_name: usize,
    max_live: i64,
    /// Where integrations send requests.
    endpoint: &'static str,
}

fn when(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string()
}

async fn build(
    state: &RoutingState,
    staff: Staff,
    issued: Option<(String, String)>,
    refused: Option<(String, String)>,
    notice: Option<&'static str>,
) -> Result<KeysPage, PageError> {
    let mut tx = state.db.tenant(staff.tenant).await?;
    let keys: Vec<Open311KeyInfo> = mashang_auth::list_open311_keys(&mut tx).await?;
    let zone: Option<(String,)> =
        sqlx::query_as("SELECT time_zone FROM routing.tenants WHERE id = $1")
            .bind(staff.tenant.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
    tx.commit().await?;
    let zone: Tz = zone
        .and_then(|(z,)| z.parse().ok())
        .unwrap_or(chrono_tz::Asia::Shanghai);
    let (name, error) = refused.map_or((String::new(), None), |(n, e)| (n, Some(e)));
    Ok(KeysPage {
        chrome: staff.chrome,
        keys: keys
            .into_iter()
            .map(|k| KeyLine {
                id: k.id,
                name: k.name,
                created: when(k.created_at, zone),
                last_used: k
                    .last_used_at
                    .map_or_else(|| "从未使用 (never)".to_owned(), |t| when(t, zone)),
                revoked: k.revoked_at.map(|t| when(t, zone)),
            })
            .collect(),
        issued,
        name,
        error,
        notice,
        max_name: OPEN311_KEY_NAME_MAX,
        max_live: MAX_LIVE_KEYS,
        endpoint: "/open311/v2/discovery.json",
    })
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct KeysQuery {
    ok: Option<String>,
}

/// `GET /admin/open311-keys`.
#[utoipa::path(get, path = "/admin/open311-keys", tag = "pages", operation_id = "get_admin_open311_keys",
    summary = "接口密钥 (The Open311 keys page)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn page(
    State(state): State<RoutingState>,
    staff: Staff,
    Query(q): Query<KeysQuery>,
) -> Result<Response, PageError> {
    staff.require(Action::ManageApiTokens, Target::Township)?;
    let notice = match q.ok.as_deref() {
        Some("revoked") => Some("已停用，这个密钥不能再使用。(Revoked: the key no longer works.)"),
        _ => None,
    };
    let page = build(&state, staff, None, None, notice).await?;
    Ok(render(StatusCode::OK, &page))
}

/// The issue form as typed.
#[derive(Debug, Default, Deserialize)]
pub(super) struct IssueForm {
    #[serde(default)]
    name: String,
}

/// `POST /admin/open311-keys`: issues a key and shows it once.
#[utoipa::path(post, path = "/admin/open311-keys", tag = "pages", operation_id = "post_admin_open311_keys",
    summary = "新建接口密钥 (Issues a key and shows it once)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (`name`, with `_csrf`)"),
    responses(
        (status = 200, description = "新密钥，只显示这一次 (The new key, shown this once)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn add(
    State(state): State<RoutingState>,
    staff: Staff,
    Form(form): Form<IssueForm>,
) -> Result<Response, PageError> {
    staff.require(Action::ManageApiTokens, Target::Township)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    match issue(&mut tx, &form.name, staff.principal.user()).await {
        Ok(IssuedKey { key, .. }) => {
            tx.commit().await?;
            let name = form.name.trim().to_owned();
            let page = build(&state, staff, Some((name, key)), None, None).await?;
            Ok(render(StatusCode::OK, &page))
        }
        Err(ApiError::Validation(errors)) => {
            drop(tx);
            let why = errors
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join("；");
            let page = build(&state, staff, None, Some((form.name, why)), None).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(err) => Err(err.into()),
    }
}

/// `POST /admin/open311-keys/{id}/revoke`.
#[utoipa::path(post, path = "/admin/open311-keys/{id}/revoke", tag = "pages", operation_id = "post_admin_open311_keys_id_revoke",
    summary = "停用接口密钥 (Revokes a key)",
    params(("id" = uuid::Uuid, Path, description = "The key")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (`_csrf`)"),
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn revoke(
    State(state): State<RoutingState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    staff.require(Action::ManageApiTokens, Target::Township)?;
    let id: Uuid = id.parse().map_err(|_| PageError::not_found())?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    if !mashang_auth::revoke_open311_key(&mut tx, id).await? {
        return Err(PageError::not_found());
    }
    tx.commit().await?;
    Ok(see_other("/admin/open311-keys?ok=revoked"))
}
