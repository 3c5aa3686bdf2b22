//! The county's administration of townships.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use mashang_auth::Auth;
use mashang_auth::permissions::{Action, Target};
use mashang_domain::role::Role;
use mashang_domain::tenant::TenantStatus;
use mashang_domain::{PhoneNumber, TenantCode};
use mashang_http::{ApiError, ApiJson, FieldError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::allow;
use crate::RoutingState;
use crate::directory::staff::{PersonInput, create_person, grant_role};
use crate::directory::tenants::{TenantRow, create_tenant, list_tenants, set_contact, set_status};

pub(super) fn routes() -> Router<RoutingState> {
    Router::new()
        .route("/api/v1/county/tenants", get(list).post(create))
        .route("/api/v1/county/tenants/{code}/suspend", post(suspend))
        .route("/api/v1/county/tenants/{code}/resume", post(resume))
}

async fn list(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Vec<TenantRow>>, ApiError> {
    allow(&principal, Action::ManageTenants, Target::County)?;
    Ok(ApiJson(list_tenants(&state.db).await?))
}

#[derive(Debug, Deserialize)]
struct NewAdmin {
    name: String,
    phone: String,
}

#[derive(Debug, Deserialize)]
struct NewTenant {
    code: String,
    name: String,
    time_zone: Option<String>,
    contact_phone: Option<String>,
    /// The township's first administrator, who gets a one-time code to set a password.
    admin: Option<NewAdmin>,
}

/// `POST /api/v1/county/tenants`: a new township with its root node, default
/// categories and, optionally, its first administrator.
async fn create(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<NewTenant>,
) -> Result<(StatusCode, ApiJson<Value>), ApiError> {
    allow(&principal, Action::ManageTenants, Target::County)?;
    let mut errors = Vec::new();
    let code = TenantCode::parse(&body.code)
        .map_err(|e| errors.push(FieldError::new("code", e.to_string())))
        .ok();
    let time_zone = body.time_zone.unwrap_or_else(|| "Asia/Shanghai".to_owned());
    if time_zone.parse::<chrono_tz::Tz>().is_err() {
        errors.push(FieldError::new(
            "time_zone",
            "不是有效的时区 (not an IANA time zone)",
        ));
    }
    let admin = match &body.admin {
        Some(a) => match PhoneNumber::parse(&a.phone) {
            Ok(phone) => Some((a.name.clone(), phone)),
            Err(e) => {
                errors.push(FieldError::new("admin.phone", e.to_string()));
                None
            }
        },
        None => None,
    };
    let Some(code) = code.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let created = create_tenant(&state.db, &code, &body.name, &time_zone)
        .await
        .map_err(|e| match e {
            crate::directory::DirectoryError::Duplicate(_) => {
                ApiError::Conflict(format!("乡镇编码 {code} 已存在 (code taken)"))
            }
            other => other.into(),
        })?;
    if body.contact_phone.is_some() {
        set_contact(&state.db, created.tenant.id, body.contact_phone.as_deref()).await?;
    }
    let mut admin_out = Value::Null;
    if let Some((name, phone)) = admin {
        let mut tx = state.db.tenant(created.tenant.id).await?;
        let user = create_person(
            &mut tx,
            &PersonInput {
                name,
                phone: phone.clone(),
                username: None,
                active: true,
            },
        )
        .await?;
        grant_role(&mut tx, user, Role::TownshipAdmin, created.root).await?;
        let code = mashang_auth::issue_reset_code(&mut tx, &state.keys, user, principal.user())
            .await?
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the new administrator vanished")))?;
        tx.commit().await?;
        admin_out = json!({"id": user, "login": phone.expose(), "reset_code": code});
    }
    Ok((
        StatusCode::CREATED,
        ApiJson(json!({
            "id": created.tenant.id,
            "code": created.tenant.code,
            "name": created.tenant.name,
            "time_zone": created.tenant.time_zone,
            "root_node_id": created.root,
            "admin": admin_out,
        })),
    ))
}

async fn change(
    state: &RoutingState,
    principal: &mashang_auth::Principal,
    code: &str,
    to: TenantStatus,
) -> Result<ApiJson<TenantRow>, ApiError> {
    allow(principal, Action::ManageTenants, Target::County)?;
    let code = TenantCode::parse(code).map_err(|_| ApiError::NotFound)?;
    let row = set_status(&state.db, &code, to)
        .await?
        .ok_or(ApiError::NotFound)?;
    if to == TenantStatus::Suspended {
        // Staff of a suspended township are signed out at once.
        let mut tx = state.db.global().await?;
        sqlx::query("DELETE FROM routing.sessions WHERE tenant_id = $1")
            .bind(row.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(ApiJson(row))
}

async fn suspend(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(code): Path<String>,
) -> Result<ApiJson<TenantRow>, ApiError> {
    change(&state, &principal, &code, TenantStatus::Suspended).await
}

async fn resume(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(code): Path<String>,
) -> Result<ApiJson<TenantRow>, ApiError> {
    change(&state, &principal, &code, TenantStatus::Active).await
}
