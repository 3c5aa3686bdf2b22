//! The township's standard phrases (常用语) for the first call-back, replies, answers
//! and follow-up visits: `GET /api/v1/reply-templates` for the console's one-tap
//! chips, and the administrator's list (`/api/v1/admin/reply-templates…`: add, edit,
//! move, delete, bring back the defaults). The administration page calls the same
//! functions, so both check the same things.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use mashang_auth::Auth;
use mashang_auth::permissions::{Action, Target};
use mashang_db::TenantTx;
use mashang_http::{ApiError, ApiJson, ApiQuery, FieldError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{allow, tenant_tx};
use crate::RoutingState;
use mashang_http::openapi::{
    ConflictError, JsonBodyErrors, NotFoundError, QueryErrors, StaffErrors, Unavailable,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The kinds of phrase, as stored, in the order they are listed.
pub(crate) const KINDS: [&str; 4] = ["first_call", "reply", "answer", "follow_up"];

/// The most phrases a township keeps of one kind: more would not fit as chips.
pub(crate) const MAX_PER_KIND: i64 = 20;

/// The longest phrase, in characters (the table's own limit).
pub(crate) const MAX_CHARS: usize = 500;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(admin_list, admin_create))
        .routes(routes!(admin_defaults))
        .routes(routes!(admin_update, admin_delete))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// One kind; every kind when absent.
    kind: Option<String>,
}

/// One phrase.
#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub(crate) struct Template {
    pub id: Uuid,
    pub kind: String,
    pub text: String,
    /// Its place among the phrases of its kind, from 1.
    pub position: i32,
}

/// The kind named by `raw`, or the field error.
pub(crate) fn kind(raw: &str) -> Result<&'static str, FieldError> {
    KINDS.into_iter().find(|k| *k == raw).ok_or_else(|| {
        FieldError::new(
            "kind",
            "first_call, reply, answer 或 follow_up (one of first_call, reply, answer, follow_up)",
        )
    })
}

/// A phrase as it will be stored: one line (line breaks and tabs typed into the
/// page's text box become single spaces), trimmed, 1 to [`MAX_CHARS`] characters.
pub(crate) fn phrase_text(raw: &str) -> Result<String, FieldError> {
    let too_long = || {
        FieldError::new(
            "text",
            format!("最多 {MAX_CHARS} 个字 (at most {MAX_CHARS} characters)"),
        )
    };
    // Refused before any work when even its spaces could not bring it under the limit.
    if raw.len() > 8 * MAX_CHARS {
        return Err(too_long());
    }
    let joined = raw
        .split(['\r', '\n', '\t'])
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let text = joined.trim();
    if text.is_empty() {
        return Err(FieldError::new(
            "text",
            "请填写常用语的内容 (the phrase is empty)",
        ));
    }
    if text.chars().count() > MAX_CHARS {
        return Err(too_long());
    }
    if text.chars().any(char::is_control) {
        return Err(FieldError::new(
            "text",
            "常用语里有不能显示的字符 (the phrase holds characters that cannot be shown)",
        ));
    }
    Ok(text.to_owned())
}

/// The township's phrases, of one kind or all, grouped by kind in order.
pub(crate) async fn templates(
    tx: &mut TenantTx,
    kind: Option<&str>,
) -> Result<Vec<Template>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, kind, text, \
             (row_number() OVER (PARTITION BY kind ORDER BY position, created_at, id))::int AS position \
         FROM routing.reply_templates \
         WHERE tenant_id = $1 AND ($2::text IS NULL OR kind = $2) \
         ORDER BY array_position($3::text[], kind), position, created_at, id",
    )
    .bind(tx.tenant().as_uuid())
    .bind(kind)
    .bind(KINDS)
    .fetch_all(&mut **tx)
    .await
}

/// One phrase of the township; `None` for an unknown id or another township's.
pub(crate) async fn template(tx: &mut TenantTx, id: Uuid) -> Result<Option<Template>, sqlx::Error> {
    // A kind holds at most a few dozen phrases: its place is counted among them.
    Ok(templates(tx, None).await?.into_iter().find(|t| t.id == id))
}

/// Whether the kind already has `text` (other than the phrase `except`).
async fn duplicate(
    tx: &mut TenantTx,
    kind: &str,
    text: &str,
    except: Option<Uuid>,
) -> Result<bool, sqlx::Error> {
    let found: Option<(Uuid,)> = sqlx::query_as(
        "SELECT id FROM routing.reply_templates \
         WHERE tenant_id = $1 AND kind = $2 AND text = $3 AND ($4::uuid IS NULL OR id <> $4) LIMIT 1",
    )
    .bind(tx.tenant().as_uuid())
    .bind(kind)
    .bind(text)
    .bind(except)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(found.is_some())
}

fn already() -> FieldError {
    FieldError::new(
        "text",
        "这一类里已经有这句常用语 (this kind already has this phrase)",
    )
}

fn too_many() -> FieldError {
    FieldError::new(
        "text",
        format!(
            "每一类最多 {MAX_PER_KIND} 条常用语，请先删去不用的 (at most {MAX_PER_KIND} phrases of a kind)"
        ),
    )
}

/// Adds a phrase at the end of its kind (or at `position`, from 1); returns its id.
/// Errors name the fields.
pub(crate) async fn add(
    tx: &mut TenantTx,
    kind_raw: &str,
    text_raw: &str,
    position: Option<i32>,
) -> Result<Result<Uuid, Vec<FieldError>>, sqlx::Error> {
    let mut errors = Vec::new();
    let kind = kind(kind_raw).map_err(|e| errors.push(e)).ok();
    let text = phrase_text(text_raw).map_err(|e| errors.push(e)).ok();
    let (Some(kind), Some(text)) = (kind, text) else {
        return Ok(Err(errors));
    };
    let count: (i64,) = sqlx::query_as(
        "SELECT count(*) FROM routing.reply_templates WHERE tenant_id = $1 AND kind = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(kind)
    .fetch_one(&mut **tx)
    .await?;
    if count.0 >= MAX_PER_KIND {
        return Ok(Err(vec![too_many()]));
    }
    if duplicate(tx, kind, &text, None).await? {
        return Ok(Err(vec![already()]));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO routing.reply_templates (id, tenant_id, kind, text, position) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(tx.tenant().as_uuid())
    .bind(kind)
    .bind(&text)
    .bind(i32::try_from(count.0).unwrap_or(i32::MAX).saturating_add(1))
    .execute(&mut **tx)
    .await?;
    renumber(tx, kind).await?;
    if let Some(position) = position {
        place(tx, id, position).await?;
    }
    Ok(Ok(id))
}

/// Changes a phrase's words; `Ok(Ok(false))` when the township has no such phrase.
pub(crate) async fn edit(
    tx: &mut TenantTx,
    id: Uuid,
    text_raw: &str,
) -> Result<Result<bool, Vec<FieldError>>, sqlx::Error> {
    let Some(current) = template(tx, id).await? else {
        return Ok(Ok(false));
    };
    let text = match phrase_text(text_raw) {
        Ok(t) => t,
        Err(e) => return Ok(Err(vec![e])),
    };
    if duplicate(tx, &current.kind, &text, Some(id)).await? {
        return Ok(Err(vec![already()]));
    }
    sqlx::query("UPDATE routing.reply_templates SET text = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tx.tenant().as_uuid())
        .bind(id)
        .bind(&text)
        .execute(&mut **tx)
        .await?;
    Ok(Ok(true))
}

/// Deletes a phrase; false when the township has no such phrase. Case records keep
/// the words they were written with.
pub(crate) async fn remove(tx: &mut TenantTx, id: Uuid) -> Result<bool, sqlx::Error> {
    let gone: Option<(String,)> = sqlx::query_as(
        "DELETE FROM routing.reply_templates WHERE tenant_id = $1 AND id = $2 RETURNING kind",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((kind,)) = &gone {
        renumber(tx, kind).await?;
    }
    Ok(gone.is_some())
}

/// Numbers the phrases of `kind` 1, 2, 3… in their current order.
async fn renumber(tx: &mut TenantTx, kind: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE routing.reply_templates r SET position = o.n \
         FROM (SELECT id, (row_number() OVER (ORDER BY position, created_at, id))::int AS n \
               FROM routing.reply_templates WHERE tenant_id = $1 AND kind = $2) o \
         WHERE r.tenant_id = $1 AND r.id = o.id AND r.position <> o.n",
    )
    .bind(tx.tenant().as_uuid())
    .bind(kind)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves a phrase to `position` (from 1; beyond the end = last) among its kind; false
/// when the township has no such phrase.
pub(crate) async fn place(tx: &mut TenantTx, id: Uuid, position: i32) -> Result<bool, sqlx::Error> {
    let Some(current) = template(tx, id).await? else {
        return Ok(false);
    };
    let mut order: Vec<Uuid> = templates(tx, Some(&current.kind))
        .await?
        .into_iter()
        .map(|t| t.id)
        .filter(|t| *t != id)
        .collect();
    let at = usize::try_from(position.max(1) - 1)
        .unwrap_or(0)
        .min(order.len());
    order.insert(at, id);
    for (n, phrase) in order.iter().enumerate() {
        sqlx::query(
            "UPDATE routing.reply_templates SET position = $3 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tx.tenant().as_uuid())
        .bind(phrase)
        .bind(i32::try_from(n + 1).unwrap_or(i32::MAX))
        .execute(&mut **tx)
        .await?;
    }
    Ok(true)
}

/// Brings back the default phrases of `kind` that the township no longer has, at the
/// end of its list; returns how many came back.
pub(crate) async fn restore_defaults(
    tx: &mut TenantTx,
    kind_raw: &str,
) -> Result<Result<usize, Vec<FieldError>>, sqlx::Error> {
    let kind = match kind(kind_raw) {
        Ok(k) => k,
        Err(e) => return Ok(Err(vec![e])),
    };
    let missing: Vec<(String,)> = sqlx::query_as(
        "SELECT d.phrase FROM routing.default_reply_templates() d \
         WHERE d.kind = $2 AND NOT EXISTS (SELECT 1 FROM routing.reply_templates r \
             WHERE r.tenant_id = $1 AND r.kind = d.kind AND r.text = d.phrase) \
         ORDER BY d.place",
    )
    .bind(tx.tenant().as_uuid())
    .bind(kind)
    .fetch_all(&mut **tx)
    .await?;
    let mut added = 0;
    for (text,) in &missing {
        match add(tx, kind, text, None).await? {
            Ok(_) => added += 1,
            Err(errors) => return Ok(Err(errors)),
        }
    }
    Ok(Ok(added))
}

/// `GET /api/v1/reply-templates[?kind=]`: the phrases for the console's chips.
#[utoipa::path(get, path = "/api/v1/reply-templates", tag = "cases", operation_id = "get_api_v1_reply_templates",
    summary = "常用语 (The township standard phrases, for filling in forms)",
    params(ListQuery),
    responses(
        (status = 200, description = "常用语 (The phrases)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
        QueryErrors,
    ))]
async fn list(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<ApiJson<serde_json::Value>, ApiError> {
    allow(&principal, Action::ViewCase, Target::List)?;
    listed(&state, &principal, q).await
}

async fn listed(
    state: &RoutingState,
    principal: &mashang_auth::Principal,
    q: ListQuery,
) -> Result<ApiJson<serde_json::Value>, ApiError> {
    let kind = match q.kind.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => Some(kind(k).map_err(|e| ApiError::Validation(vec![e]))?),
        None => None,
    };
    let mut tx = tenant_tx(state, principal).await?;
    let templates = templates(&mut tx, kind).await?;
    tx.commit().await?;
    Ok(ApiJson(serde_json::json!({ "templates": templates })))
}

/// `GET /api/v1/admin/reply-templates[?kind=]`: the same list for the administrator.
#[utoipa::path(get, path = "/api/v1/admin/reply-templates", tag = "admin", operation_id = "get_api_v1_admin_reply_templates",
    summary = "常用语管理 (The standard phrases, for the administrator)",
    params(ListQuery),
    responses(
        (status = 200, description = "常用语 (The phrases)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
        QueryErrors,
    ))]
async fn admin_list(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<ApiJson<serde_json::Value>, ApiError> {
    allow(&principal, Action::ConfigureRouting, Target::Township)?;
    listed(&state, &principal, q).await
}

/// A new phrase.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct NewBody {
    kind: String,
    text: String,
    /// Where among its kind, from 1; the end when absent.
    position: Option<i32>,
}

/// A phrase's new words and place.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct EditBody {
    text: Option<String>,
    position: Option<i32>,
}

/// `POST /api/v1/admin/reply-templates`: adds a phrase.
#[utoipa::path(post, path = "/api/v1/admin/reply-templates", tag = "admin", operation_id = "post_api_v1_admin_reply_templates",
    summary = "添加常用语 (Adds a phrase)",
    request_body(content = NewBody, content_type = "application/json"),
    responses(
        (status = 201, description = "常用语 (The phrase)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        ConflictError,
    ))]
async fn admin_create(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<NewBody>,
) -> Result<(StatusCode, ApiJson<Template>), ApiError> {
    allow(&principal, Action::ConfigureRouting, Target::Township)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let id = add(&mut tx, &body.kind, &body.text, body.position)
        .await?
        .map_err(ApiError::Validation)?;
    let created = template(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(created)))
}

/// `PUT /api/v1/admin/reply-templates/{id}`: new words, a new place, or both.
#[utoipa::path(put, path = "/api/v1/admin/reply-templates/{id}", tag = "admin", operation_id = "put_api_v1_admin_reply_templates_id",
    summary = "修改常用语 (Changes a phrase)",
    params(("id" = uuid::Uuid, Path, description = "The phrase")),
    request_body(content = EditBody, content_type = "application/json"),
    responses(
        (status = 200, description = "常用语 (The phrase)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        ConflictError,
    ))]
async fn admin_update(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EditBody>,
) -> Result<ApiJson<Template>, ApiError> {
    allow(&principal, Action::ConfigureRouting, Target::Township)?;
    let id: Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    if template(&mut tx, id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    if let Some(text) = &body.text {
        edit(&mut tx, id, text)
            .await?
            .map_err(ApiError::Validation)?;
    }
    if let Some(position) = body.position {
        place(&mut tx, id, position).await?;
    }
    let updated = template(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(ApiJson(updated))
}

/// `DELETE /api/v1/admin/reply-templates/{id}`.
#[utoipa::path(delete, path = "/api/v1/admin/reply-templates/{id}", tag = "admin", operation_id = "delete_api_v1_admin_reply_templates_id",
    summary = "删除常用语 (Removes a phrase)",
    params(("id" = uuid::Uuid, Path, description = "The phrase")),
    responses(
        (status = 204, description = "已删除 (Removed)"),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn admin_delete(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    allow(&principal, Action::ConfigureRouting, Target::Township)?;
    let id: Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    if !remove(&mut tx, id).await? {
        return Err(ApiError::NotFound);
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which kind's defaults to bring back.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct DefaultsBody {
    kind: String,
}

/// `POST /api/v1/admin/reply-templates/defaults`: brings back the default phrases of a
/// kind that the township deleted.
#[utoipa::path(post, path = "/api/v1/admin/reply-templates/defaults", tag = "admin", operation_id = "post_api_v1_admin_reply_templates_defaults",
    summary = "恢复默认常用语 (Restores the default phrases of a kind)",
    request_body(content = DefaultsBody, content_type = "application/json"),
    responses(
        (status = 200, description = "恢复数量 (How many were restored)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
    ))]
async fn admin_defaults(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<DefaultsBody>,
) -> Result<ApiJson<serde_json::Value>, ApiError> {
    allow(&principal, Action::ConfigureRouting, Target::Township)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let added = restore_defaults(&mut tx, &body.kind)
        .await?
        .map_err(ApiError::Validation)?;
    tx.commit().await?;
    Ok(ApiJson(serde_json::json!({ "added": added })))
}
