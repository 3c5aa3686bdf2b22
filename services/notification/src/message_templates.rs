//! The township's message words for outside channels: the JSON API
//! (`GET /api/v1/admin/message-templates`, `PUT/DELETE …/{kind}`, `POST …/{kind}/preview`)
//! and the page `/admin/message-templates` 消息模板, where each kind's words are
//! edited, previewed with a sample case, or put back to the default.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use mashang_auth::{Auth, MaybeSignedIn, Principal};
use mashang_http::{ApiError, ApiJson, FieldError};
use mashang_web::csrf::{FormLimits, form_csrf};
use mashang_web::staff::{self, StaffHeader};
use serde_json::{Value, json};

use crate::NotificationState;
use crate::channels::admin;
use crate::delivery::templates::{
    DEFAULTS, PLACEHOLDERS, Words, check, default_words, render, sample,
};
use crate::pages::{ASSETS, api_refusal, failed};
use mashang_http::openapi::{
    FormErrors, Html, JsonBodyErrors, NotFoundError, PageErrors, StaffErrors, Unavailable,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn routes() -> OpenApiRouter<NotificationState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(save, reset))
        .routes(routes!(preview))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(page))
                .routes(routes!(page_save))
                .routes(routes!(page_reset))
                .layer(middleware::from_fn_with_state(
                    FormLimits::new(8 * 1024),
                    form_csrf,
                )),
        )
}

/// One kind as listed.
#[derive(Debug, serde::Serialize)]
struct Entry {
    kind: &'static str,
    name: &'static str,
    /// Whether the township changed the default.
    custom: bool,
    words: Words,
    default: Words,
}

async fn entries(state: &NotificationState, principal: &Principal) -> Result<Vec<Entry>, ApiError> {
    let tenant = admin(principal)?;
    let mut tx = state.db.tenant(tenant).await?;
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT kind, title, text_zh, text_en FROM notification.message_templates WHERE tenant_id = $1",
    )
    .bind(tenant.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(DEFAULTS
        .iter()
        .map(|(kind, name, ..)| {
            let default = default_words(kind).unwrap_or_default();
            let custom = rows.iter().find(|r| r.0 == *kind).map(|r| Words {
                title: r.1.clone(),
                text_zh: r.2.clone(),
                text_en: r.3.clone(),
            });
            Entry {
                kind,
                name,
                custom: custom.is_some(),
                words: custom.unwrap_or_else(|| default.clone()),
                default,
            }
        })
        .collect())
}

fn known(kind: &str) -> Result<&'static str, ApiError> {
    DEFAULTS
        .iter()
        .find(|(k, ..)| *k == kind)
        .map(|(k, ..)| *k)
        .ok_or(ApiError::NotFound)
}

fn checked(words: &Words) -> Result<Words, ApiError> {
    let words = Words {
        title: words.title.trim().to_owned(),
        text_zh: words.text_zh.trim().to_owned(),
        text_en: words.text_en.trim().to_owned(),
    };
    let errors = check(&words);
    if errors.is_empty() {
        Ok(words)
    } else {
        Err(ApiError::Validation(
            errors
                .into_iter()
                .map(|(f, m)| FieldError::new(f, m))
                .collect(),
        ))
    }
}

async fn store(
    state: &NotificationState,
    principal: &Principal,
    kind: &str,
    words: &Words,
) -> Result<Words, ApiError> {
    let tenant = admin(principal)?;
    let kind = known(kind)?;
    let words = checked(words)?;
    let mut tx = state.db.tenant(tenant).await?;
    sqlx::query(
        "INSERT INTO notification.message_templates (tenant_id, kind, title, text_zh, text_en) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, kind) DO UPDATE SET \
         title = $3, text_zh = $4, text_en = $5, updated_at = now()",
    )
    .bind(tenant.as_uuid())
    .bind(kind)
    .bind(&words.title)
    .bind(&words.text_zh)
    .bind(&words.text_en)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(words)
}

async fn restore(
    state: &NotificationState,
    principal: &Principal,
    kind: &str,
) -> Result<(), ApiError> {
    let tenant = admin(principal)?;
    let kind = known(kind)?;
    let mut tx = state.db.tenant(tenant).await?;
    sqlx::query("DELETE FROM notification.message_templates WHERE tenant_id = $1 AND kind = $2")
        .bind(tenant.as_uuid())
        .bind(kind)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// `GET /api/v1/admin/message-templates`.
#[utoipa::path(get, path = "/api/v1/admin/message-templates", tag = "notification", operation_id = "get_api_v1_admin_message_templates",
    summary = "消息模板 (The township message templates, each with its default)",
    responses(
        (status = 200, description = "模板 (The templates)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn list(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Value>, ApiError> {
    let all = entries(&state, &principal).await?;
    Ok(ApiJson(
        json!({"templates": all, "placeholders": PLACEHOLDERS}),
    ))
}

/// `PUT /api/v1/admin/message-templates/{kind}` `{"title", "text_zh", "text_en"}`.
#[utoipa::path(put, path = "/api/v1/admin/message-templates/{kind}", tag = "notification", operation_id = "put_api_v1_admin_message_templates_kind",
    summary = "修改消息模板 (Sets the words of one kind of message)",
    params(("kind" = String, Path, max_length = 100, description = "The message kind (`case_assigned`, …)")),
    request_body(content = Words, content_type = "application/json"),
    responses(
        (status = 200, description = "已保存 (Saved)", body = Words),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
    ))]
async fn save(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
    Path(kind): Path<String>,
    ApiJson(words): ApiJson<Words>,
) -> Result<ApiJson<Words>, ApiError> {
    Ok(ApiJson(store(&state, &principal, &kind, &words).await?))
}

/// `DELETE /api/v1/admin/message-templates/{kind}`: back to the default.
#[utoipa::path(delete, path = "/api/v1/admin/message-templates/{kind}", tag = "notification", operation_id = "delete_api_v1_admin_message_templates_kind",
    summary = "恢复默认 (Goes back to the default words)",
    params(("kind" = String, Path, max_length = 100, description = "The message kind (`case_assigned`, …)")),
    responses(
        (status = 204, description = "已恢复 (Reset)"),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn reset(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
    Path(kind): Path<String>,
) -> Result<StatusCode, ApiError> {
    restore(&state, &principal, &kind).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/admin/message-templates/{kind}/preview`: the words filled with a
/// sample case, nothing saved.
#[utoipa::path(post, path = "/api/v1/admin/message-templates/{kind}/preview", tag = "notification", operation_id = "post_api_v1_admin_message_templates_kind_preview",
    summary = "预览 (The message as it would read, with sample values)",
    params(("kind" = String, Path, max_length = 100, description = "The message kind (`case_assigned`, …)")),
    request_body(content = Words, content_type = "application/json"),
    responses(
        (status = 200, description = "预览 (The preview)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
    ))]
async fn preview(
    Auth(principal): Auth,
    Path(kind): Path<String>,
    ApiJson(words): ApiJson<Words>,
) -> Result<ApiJson<Value>, ApiError> {
    admin(&principal)?;
    known(&kind)?;
    let words = checked(&words)?;
    let (title, text) = render(&words, &sample());
    Ok(ApiJson(json!({"title": title, "text": text})))
}

/// One kind's card on the page.
#[derive(Debug)]
struct Card {
    kind: &'static str,
    name: &'static str,
    custom: bool,
    words: Words,
    preview: Option<(String, String)>,
    errors: Vec<(String, String)>,
}

impl Card {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

#[derive(Template)]
#[template(path = "message_templates.html")]
struct TemplatesPage {
    chrome: StaffHeader,
    css: String,
    notice: Option<&'static str>,
    placeholders: String,
    cards: Vec<Card>,
}

fn signed_in_admin(signed_in: Result<MaybeSignedIn, ApiError>) -> Result<Principal, Box<Response>> {
    match signed_in {
        Ok(MaybeSignedIn(Some(p))) => match admin(&p) {
            Ok(_) => Ok(p),
            Err(_) => Err(Box::new(staff::refuse(
                StatusCode::FORBIDDEN,
                "只有镇管理员能改消息模板。(Only the township's administrators edit messages.)",
                p.csrf.as_deref(),
                &ASSETS,
            ))),
        },
        Ok(MaybeSignedIn(None)) => Err(Box::new(
            Redirect::to(&staff::login_then(Some("/admin/message-templates"))).into_response(),
        )),
        Err(err) => Err(Box::new(api_refusal(err))),
    }
}

async fn render_page(
    state: &NotificationState,
    principal: &Principal,
    status: StatusCode,
    notice: Option<&'static str>,
    edited: Option<Card>,
) -> Response {
    let loaded = async {
        let all = entries(state, principal).await?;
        let tenant = admin(principal)?;
        let mut tx = state.db.tenant(tenant).await?;
        let (township,): (String,) =
            sqlx::query_as("SELECT name FROM routing.tenants WHERE id = $1")
                .bind(tenant.as_uuid())
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok::<_, ApiError>((all, township))
    };
    let (all, township) = match loaded.await {
        Ok(x) => x,
        Err(ApiError::Internal(err)) => return failed(err),
        Err(other) => return api_refusal(other),
    };
    let mut edited = edited;
    let cards = all
        .into_iter()
        .map(|e| match edited.take_if(|c| c.kind == e.kind) {
            Some(card) => card,
            None => Card {
                kind: e.kind,
                name: e.name,
                custom: e.custom,
                words: e.words,
                preview: None,
                errors: Vec::new(),
            },
        })
        .collect();
    let page = TemplatesPage {
        chrome: StaffHeader::new(principal, Some(township), &ASSETS),
        css: ASSETS.url("notices.css"),
        notice,
        placeholders: PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(" "),
        cards,
    };
    staff::page(status, &page, &ASSETS)
}

/// `GET /admin/message-templates`.
#[utoipa::path(get, path = "/admin/message-templates", tag = "pages", operation_id = "get_admin_message_templates",
    summary = "消息模板页面 (The message templates page)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
async fn page(
    State(state): State<NotificationState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    uri: Uri,
) -> Response {
    let principal = match signed_in_admin(signed_in) {
        Ok(p) => p,
        Err(page) => return *page,
    };
    let notice = match uri.query() {
        Some("ok=saved") => Some("已保存。(Saved.)"),
        Some("ok=reset") => Some("已恢复默认。(Back to the default.)"),
        _ => None,
    };
    render_page(&state, &principal, StatusCode::OK, notice, None).await
}

/// `POST /admin/message-templates/{kind}`: `do=preview` shows the words filled with a
/// sample case; `do=save` saves them.
#[utoipa::path(post, path = "/admin/message-templates/{kind}", tag = "pages", operation_id = "post_admin_message_templates_kind",
    summary = "保存模板 (The page form that saves a template)",
    params(("kind" = String, Path, max_length = 100, description = "The message kind (`case_assigned`, …)")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示 (The page again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
async fn page_save(
    State(state): State<NotificationState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    Path(kind): Path<String>,
    body: Bytes,
) -> Response {
    let principal = match signed_in_admin(signed_in) {
        Ok(p) => p,
        Err(page) => return *page,
    };
    let Ok(kind) = known(&kind) else {
        return staff::refuse(
            StatusCode::NOT_FOUND,
            mashang_web::strings::NOT_FOUND,
            principal.csrf.as_deref(),
            &ASSETS,
        );
    };
    let mut words = Words::default();
    let mut action = String::new();
    for (key, value) in url::form_urlencoded::parse(&body) {
        match key.as_ref() {
            "title" => words.title = value.into_owned(),
            "text_zh" => words.text_zh = value.into_owned(),
            "text_en" => words.text_en = value.into_owned(),
            "do" => action = value.into_owned(),
            _ => {}
        }
    }
    let name = DEFAULTS
        .iter()
        .find(|(k, ..)| *k == kind)
        .map_or("", |(_, n, ..)| *n);
    let card = |preview, errors| Card {
        kind,
        name,
        custom: true,
        words: words.clone(),
        preview,
        errors,
    };
    let refused = |errors: Vec<FieldError>| {
        errors
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect::<Vec<_>>()
    };
    if action == "preview" {
        return match checked(&words) {
            Ok(ok) => {
                let shown = render(&ok, &sample());
                render_page(
                    &state,
                    &principal,
                    StatusCode::OK,
                    None,
                    Some(card(Some(shown), Vec::new())),
                )
                .await
            }
            Err(ApiError::Validation(errors)) => {
                render_page(
                    &state,
                    &principal,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    None,
                    Some(card(None, refused(errors))),
                )
                .await
            }
            Err(other) => api_refusal(other),
        };
    }
    match store(&state, &principal, kind, &words).await {
        Ok(_) => Redirect::to("/admin/message-templates?ok=saved").into_response(),
        Err(ApiError::Validation(errors)) => {
            render_page(
                &state,
                &principal,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(card(None, refused(errors))),
            )
            .await
        }
        Err(ApiError::Internal(err)) => failed(err),
        Err(other) => api_refusal(other),
    }
}

/// `POST /admin/message-templates/{kind}/reset`.
#[utoipa::path(post, path = "/admin/message-templates/{kind}/reset", tag = "pages", operation_id = "post_admin_message_templates_kind_reset",
    summary = "恢复默认 (The page form that resets a template)",
    params(("kind" = String, Path, max_length = 100, description = "The message kind (`case_assigned`, …)")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
async fn page_reset(
    State(state): State<NotificationState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    Path(kind): Path<String>,
) -> Response {
    let principal = match signed_in_admin(signed_in) {
        Ok(p) => p,
        Err(page) => return *page,
    };
    match restore(&state, &principal, &kind).await {
        Ok(()) => Redirect::to("/admin/message-templates?ok=reset").into_response(),
        Err(ApiError::NotFound) => staff::refuse(
            StatusCode::NOT_FOUND,
            mashang_web::strings::NOT_FOUND,
            principal.csrf.as_deref(),
            &ASSETS,
        ),
        Err(ApiError::Internal(err)) => failed(err),
        Err(other) => api_refusal(other),
    }
}
