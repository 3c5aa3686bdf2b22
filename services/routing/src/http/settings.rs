//! The township's routing settings: triage, SLA policies, the working calendar (hours,
//! holidays, make-up days, published years, the holiday-cn import). Assignment rules
//! and people's duty and leave are in `assignment.rs`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use mashang_auth::Auth;
use mashang_auth::permissions::{Action, Target};
use mashang_domain::sla::SlaPolicy;
use mashang_http::{ApiError, ApiJson, FieldError};
use serde::Deserialize;
use serde_json::Value;

use super::{allow, tenant_tx};
use crate::RoutingState;
use mashang_http::openapi::{
    BadRequestError, JsonBodyErrors, NotFoundError, QueryErrors, StaffErrors, Unavailable,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(get_policy, put_policy))
        .routes(routes!(get_calendar, put_calendar))
        .routes(routes!(import_calendar))
        .routes(routes!(put_override, delete_override))
}

/// A change to the township's settings; a field left out keeps its value.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct Settings {
    pub triage_mode: Option<String>,
    pub reassign_on_breach: Option<bool>,
}

/// The township's routing settings as they are.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct TownshipSettings {
    /// `auto`: new cases are assigned at once; `triage`: they wait for the centre.
    pub triage_mode: String,
    /// On a breach, reassign to the next level (true) or add it as supervisor.
    pub reassign_on_breach: bool,
}

async fn read_settings(tx: &mut mashang_db::TenantTx) -> Result<TownshipSettings, ApiError> {
    let row: Option<(String, bool)> = sqlx::query_as(
        "SELECT triage_mode, reassign_on_breach FROM routing.tenant_settings WHERE tenant_id = $1",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_optional(&mut **tx)
    .await?;
    let (triage_mode, reassign_on_breach) = row.unwrap_or(("auto".to_owned(), false));
    Ok(TownshipSettings {
        triage_mode,
        reassign_on_breach,
    })
}

/// The settings of `principal`'s township (the admin page reads them too).
pub(crate) async fn settings_of(
    state: &RoutingState,
    principal: &mashang_auth::Principal,
) -> Result<TownshipSettings, ApiError> {
    allow(principal, Action::ConfigureRouting, Target::Township)?;
    let mut tx = tenant_tx(state, principal).await?;
    let out = read_settings(&mut tx).await?;
    tx.commit().await?;
    Ok(out)
}

/// Changes the settings of `principal`'s township (the admin page's form calls this).
pub(crate) async fn save_settings(
    state: &RoutingState,
    principal: &mashang_auth::Principal,
    body: Settings,
) -> Result<TownshipSettings, ApiError> {
    allow(principal, Action::ConfigureRouting, Target::Township)?;
    if body
        .triage_mode
        .as_deref()
        .is_some_and(|m| m != "auto" && m != "triage")
    {
        return Err(ApiError::field(
            "triage_mode",
            "自动派单或人工受理 (auto or triage)",
        ));
    }
    let mut tx = tenant_tx(state, principal).await?;
    sqlx::query(
        "INSERT INTO routing.tenant_settings (tenant_id, triage_mode, reassign_on_breach) VALUES ($1, coalesce($2, 'auto'), coalesce($3, false)) \
         ON CONFLICT (tenant_id) DO UPDATE SET triage_mode = coalesce($2, routing.tenant_settings.triage_mode), \
             reassign_on_breach = coalesce($3, routing.tenant_settings.reassign_on_breach), updated_at = now()",
    )
    .bind(tx.tenant().as_uuid())
    .bind(&body.triage_mode)
    .bind(body.reassign_on_breach)
    .execute(&mut *tx)
    .await?;
    let out = read_settings(&mut tx).await?;
    tx.commit().await?;
    Ok(out)
}

#[utoipa::path(get, path = "/api/v1/admin/settings", tag = "admin", operation_id = "get_api_v1_admin_settings",
    summary = "乡镇设置 (The township settings)",
    responses(
        (status = 200, description = "设置 (The settings)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn get_settings(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
) -> Result<ApiJson<TownshipSettings>, ApiError> {
    settings_of(&state, &principal).await.map(ApiJson)
}

#[utoipa::path(put, path = "/api/v1/admin/settings", tag = "admin", operation_id = "put_api_v1_admin_settings",
    summary = "修改乡镇设置 (Sets the township settings)",
    request_body(content = Settings, content_type = "application/json"),
    responses(
        (status = 200, description = "设置 (The settings)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
    ))]
async fn put_settings(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<Settings>,
) -> Result<ApiJson<TownshipSettings>, ApiError> {
    save_settings(&state, &principal, body).await.map(ApiJson)
}

/// The priority named in a path: `normal` or `urgent`.
fn priority(raw: &str) -> Result<&str, ApiError> {
    match raw {
        "normal" | "urgent" => Ok(raw),
        _ => Err(ApiError::field("priority", "normal or urgent")),
    }
}

/// `GET /api/v1/admin/sla-policies/{category|*}/{priority}`: the policy in force.
#[utoipa::path(get, path = "/api/v1/admin/sla-policies/{category}/{priority}", tag = "admin", operation_id = "get_api_v1_admin_sla_policies_category_priority",
    summary = "时限规则 (The SLA policy of a category and priority)",
    params(("category" = String, Path, max_length = 100, description = "A category code, or `*` for the default"), ("priority" = String, Path, max_length = 100, description = "`normal` or `urgent`")),
    responses(
        (status = 200, description = "规则 (The policy)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
        QueryErrors,
    ))]
async fn get_policy(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path((category, prio)): Path<(String, String)>,
) -> Result<ApiJson<SlaPolicy>, ApiError> {
    allow(&principal, Action::ConfigureRouting, Target::Township)?;
    let prio = priority(&prio)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let policy = crate::workflow::policy::pick(&mut tx, &category, prio)
        .await
        .map_err(ApiError::internal)?;
    tx.commit().await?;
    Ok(ApiJson(policy))
}

/// `PUT …`: sets the policy for new cases of that category (`*` for any) and priority.
/// Cases already open keep the policy they were created with.
#[utoipa::path(put, path = "/api/v1/admin/sla-policies/{category}/{priority}", tag = "admin", operation_id = "put_api_v1_admin_sla_policies_category_priority",
    summary = "修改时限规则 (Sets the SLA policy of a category and priority)",
    params(("category" = String, Path, max_length = 100, description = "A category code, or `*` for the default"), ("priority" = String, Path, max_length = 100, description = "`normal` or `urgent`")),
    request_body(content = Object, content_type = "application/json", description = "时限规则 (The policy: targets, reminders, escalation ladder)"),
    responses(
        (status = 200, description = "规则 (The policy)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
    ))]
async fn put_policy(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path((category, prio)): Path<(String, String)>,
    ApiJson(policy): ApiJson<SlaPolicy>,
) -> Result<ApiJson<SlaPolicy>, ApiError> {
    save_policy(&state, &principal, &category, &prio, policy)
        .await
        .map(ApiJson)
}

/// Sets the policy of new cases of `category` (`*` for any) at `prio` in
/// `principal`'s township (the admin page's form calls this). Open cases keep theirs.
pub(crate) async fn save_policy(
    state: &RoutingState,
    principal: &mashang_auth::Principal,
    category: &str,
    prio: &str,
    policy: SlaPolicy,
) -> Result<SlaPolicy, ApiError> {
    allow(principal, Action::ConfigureRouting, Target::Township)?;
    let prio = priority(prio)?;
    if let Err(refused) = policy.check() {
        return Err(ApiError::Validation(
            refused
                .into_iter()
                .map(|(kind, err)| {
                    let message = match err {
                        mashang_domain::sla::LengthError::Zero => {
                            "至少1分钟或1个工作日 (at least one minute or one working day)"
                        }
                        mashang_domain::sla::LengthError::TooLong => {
                            "最长366天或250个工作日 (at most 366 days or 250 working days)"
                        }
                    };
                    FieldError::new(format!("{}.length", kind.as_str()), message)
                })
                .collect(),
        ));
    }
    let mut tx = tenant_tx(state, principal).await?;
    if category != "*" {
        let known: Option<(String,)> = sqlx::query_as(
            "SELECT code FROM routing.categories WHERE tenant_id = $1 AND code = $2",
        )
        .bind(tx.tenant().as_uuid())
        .bind(category)
        .fetch_optional(&mut *tx)
        .await?;
        if known.is_none() {
            return Err(ApiError::field("category", "未知类别 (unknown category)"));
        }
    }
    sqlx::query(
        "INSERT INTO routing.sla_policies (tenant_id, category, priority, policy) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id, category, priority) DO UPDATE SET policy = $4, updated_at = now()",
    )
    .bind(tx.tenant().as_uuid())
    .bind(category)
    .bind(prio)
    .bind(serde_json::to_value(&policy).map_err(ApiError::internal)?)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(policy)
}

#[utoipa::path(get, path = "/api/v1/admin/calendar", tag = "admin", operation_id = "get_api_v1_admin_calendar",
    summary = "工作日历 (The working week, hours and overrides)",
    responses(
        (status = 200, description = "日历 (The calendar)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn get_calendar(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Value>, ApiError> {
    super::calendar_config::calendar_of(&state, &principal)
        .await
        .map(ApiJson)
}

#[utoipa::path(put, path = "/api/v1/admin/calendar", tag = "admin", operation_id = "put_api_v1_admin_calendar",
    summary = "修改工作日历 (Sets the working week and hours)",
    request_body(content = super::calendar_config::CalendarBody, content_type = "application/json"),
    responses(
        (status = 200, description = "日历 (The calendar)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
    ))]
async fn put_calendar(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<super::calendar_config::CalendarBody>,
) -> Result<ApiJson<Value>, ApiError> {
    super::calendar_config::save_calendar(&state, &principal, body)
        .await
        .map(ApiJson)
}

/// `POST /api/v1/admin/calendar/import`: a year in the holiday-cn JSON layout (one
/// entry per date with `isOffDay`); a year with its notice is marked published.
#[utoipa::path(post, path = "/api/v1/admin/calendar/import", tag = "admin", operation_id = "post_api_v1_admin_calendar_import",
    summary = "导入节假日 (Imports a year of official holidays, holiday-cn JSON)",
    request_body(content = Object, content_type = "application/json", description = "holiday-cn 格式 (A year in the holiday-cn layout)"),
    responses(
        (status = 200, description = "导入结果 (What was imported)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        BadRequestError,
    ))]
async fn import_calendar(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    body: axum::body::Bytes,
) -> Result<ApiJson<super::calendar_config::HolidayImport>, ApiError> {
    let body = std::str::from_utf8(&body).map_err(|_| {
        ApiError::BadRequest(
            "文件应为 UTF-8 编码的 JSON (the file must be JSON in UTF-8)".to_owned(),
        )
    })?;
    super::calendar_config::import_holidays(&state, &principal, body)
        .await
        .map(ApiJson)
}

#[utoipa::path(put, path = "/api/v1/admin/calendar/overrides/{day}", tag = "admin", operation_id = "put_api_v1_admin_calendar_overrides_day",
    summary = "设定某天 (Makes one day a working day or a day off)",
    params(("day" = String, Path, max_length = 100, description = "The day, `YYYY-MM-DD`")),
    request_body(content = super::calendar_config::OverrideBody, content_type = "application/json"),
    responses(
        (status = 204, description = "已保存 (Saved)"),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
    ))]
async fn put_override(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(day): Path<String>,
    ApiJson(body): ApiJson<super::calendar_config::OverrideBody>,
) -> Result<StatusCode, ApiError> {
    super::calendar_config::save_override(&state, &principal, &day, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/admin/calendar/overrides/{day}", tag = "admin", operation_id = "delete_api_v1_admin_calendar_overrides_day",
    summary = "取消设定 (Removes a day override)",
    params(("day" = String, Path, max_length = 100, description = "The day, `YYYY-MM-DD`")),
    responses(
        (status = 204, description = "已删除 (Removed)"),
        StaffErrors,
        NotFoundError,
        Unavailable,
        QueryErrors,
    ))]
async fn delete_override(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(day): Path<String>,
) -> Result<StatusCode, ApiError> {
    super::calendar_config::remove_override(&state, &principal, &day).await?;
    Ok(StatusCode::NO_CONTENT)
}
