//! The township's report categories.

use axum::extract::{Path, State};
use mashang_auth::Auth;
use mashang_auth::permissions::{Action, Target};
use mashang_http::{ApiError, ApiJson, FieldError};
use serde::{Deserialize, Serialize};

use super::{allow, tenant_tx};
use crate::RoutingState;
use mashang_http::openapi::{
    ConflictError, JsonBodyErrors, NotFoundError, StaffErrors, Unavailable,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(upsert))
}

/// A category.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub(crate) struct Category {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub icon: String,
    pub position: i32,
    pub active: bool,
    /// `inherit` (the township's triage mode), `auto` or `triage`.
    pub triage: String,
    /// Priority of new cases: `normal` or `urgent`.
    pub default_priority: String,
}

#[utoipa::path(get, path = "/api/v1/admin/categories", tag = "admin", operation_id = "get_api_v1_admin_categories",
    summary = "类别 (The township categories)",
    responses(
        (status = 200, description = "类别 (The categories)", body = Vec<Object>),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn list(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Vec<Category>>, ApiError> {
    let mut tx = tenant_tx(&state, &principal).await?;
    let rows = all(&mut tx).await?;
    tx.commit().await?;
    Ok(ApiJson(rows))
}

/// The township's categories in their order (the admin pages list them too).
pub(crate) async fn all(tx: &mut mashang_db::TenantTx) -> Result<Vec<Category>, ApiError> {
    Ok(sqlx::query_as(
        "SELECT code, name_zh, name_en, icon, position, active, triage, default_priority \
         FROM routing.categories WHERE tenant_id = $1 ORDER BY position, code",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_all(&mut **tx)
    .await?)
}

/// A category as set; what is left out keeps its value (or takes the default).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct CategoryBody {
    pub name_zh: String,
    pub name_en: String,
    pub icon: Option<String>,
    pub position: Option<i32>,
    pub active: Option<bool>,
    pub triage: Option<String>,
    pub default_priority: Option<String>,
}

/// What a write may do with the category's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Write {
    /// Create it, or change it if it exists (the API's `PUT`).
    Upsert,
    /// Create it; a code already taken is refused (422).
    Create,
    /// Change it; an unknown code is not found (404).
    Update,
}

/// The order a category may take: lower comes first.
const POSITIONS: std::ops::RangeInclusive<i32> = 0..=9999;

/// `PUT /api/v1/admin/categories/{code}`: creates or changes a category.
#[utoipa::path(put, path = "/api/v1/admin/categories/{code}", tag = "admin", operation_id = "put_api_v1_admin_categories_code",
    summary = "添加或修改类别 (Adds or changes a category)",
    params(("code" = String, Path, max_length = 100, description = "The category code")),
    request_body(content = CategoryBody, content_type = "application/json"),
    responses(
        (status = 200, description = "类别 (The category)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        ConflictError,
    ))]
async fn upsert(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<CategoryBody>,
) -> Result<ApiJson<Category>, ApiError> {
    save(&state, &principal, &code, body, Write::Upsert)
        .await
        .map(ApiJson)
}

/// Creates or changes category `code` of `principal`'s township (the admin pages'
/// forms call this): the category as it is afterwards.
pub(crate) async fn save(
    state: &RoutingState,
    principal: &mashang_auth::Principal,
    code: &str,
    body: CategoryBody,
    write: Write,
) -> Result<Category, ApiError> {
    allow(principal, Action::EditCategories, Target::Township)?;
    let mut errors = Vec::new();
    let valid_code = code.len() <= 32
        && code.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid_code {
        errors.push(FieldError::new(
            "code",
            "编码为小写字母、数字和下划线 (lowercase letters, digits, _)",
        ));
    }
    let zh = body.name_zh.trim();
    let en = body.name_en.trim();
    if zh.is_empty() || zh.chars().count() > 30 {
        errors.push(FieldError::new("name_zh", "1到30个字 (1 to 30 characters)"));
    }
    if en.is_empty() || en.chars().count() > 60 {
        errors.push(FieldError::new("name_en", "1 to 60 characters"));
    }
    // Left out: a new category is drawn as `other`, a changed one keeps its icon.
    let icon = body.icon.as_deref().map(str::trim);
    if icon.is_some_and(|icon| {
        icon.is_empty()
            || icon.len() > 30
            || !icon.chars().all(|c| c.is_ascii_lowercase() || c == '-')
    }) {
        errors.push(FieldError::new(
            "icon",
            "an icon name (lowercase letters and -)",
        ));
    }
    if body
        .triage
        .as_deref()
        .is_some_and(|t| !matches!(t, "inherit" | "auto" | "triage"))
    {
        errors.push(FieldError::new("triage", "inherit, auto or triage"));
    }
    if body
        .default_priority
        .as_deref()
        .is_some_and(|p| !matches!(p, "normal" | "urgent"))
    {
        errors.push(FieldError::new("default_priority", "normal or urgent"));
    }
    if body.position.is_some_and(|p| !POSITIONS.contains(&p)) {
        errors.push(FieldError::new(
            "position",
            "0到9999之间的整数 (a whole number from 0 to 9999)",
        ));
    }
    let mut tx = tenant_tx(state, principal).await?;
    if write != Write::Upsert && valid_code {
        let exists: Option<(String,)> = sqlx::query_as(
            "SELECT code FROM routing.categories WHERE tenant_id = $1 AND code = $2",
        )
        .bind(tx.tenant().as_uuid())
        .bind(code)
        .fetch_optional(&mut *tx)
        .await?;
        match (write, exists) {
            (Write::Update, None) => return Err(ApiError::NotFound),
            (Write::Create, Some(_)) => errors.push(FieldError::new(
                "code",
                "已有这个编码的类别 (a category has this code already)",
            )),
            _ => {}
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let row = sqlx::query_as(
        "INSERT INTO routing.categories (tenant_id, code, name_zh, name_en, icon, position, active, triage, default_priority) \
         VALUES ($1, $2, $3, $4, coalesce($5, 'other'), coalesce($6, 100), coalesce($7, true), coalesce($8, 'inherit'), coalesce($9, 'normal')) \
         ON CONFLICT (tenant_id, code) DO UPDATE SET name_zh = $3, name_en = $4, icon = coalesce($5, routing.categories.icon), \
             position = coalesce($6, routing.categories.position), active = coalesce($7, routing.categories.active), \
             triage = coalesce($8, routing.categories.triage), \
             default_priority = coalesce($9, routing.categories.default_priority) \
         RETURNING code, name_zh, name_en, icon, position, active, triage, default_priority",
    )
    .bind(tx.tenant().as_uuid())
    .bind(code)
    .bind(zh)
    .bind(en)
    .bind(icon)
    .bind(body.position)
    .bind(body.active)
    .bind(&body.triage)
    .bind(&body.default_priority)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row)
}
