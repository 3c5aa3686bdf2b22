//! The county's administration of townships: create one with its first administrator,
//! suspend and resume. The JSON endpoints and the county's pages call the same
//! functions ([`create_township`], [`set_township_status`]).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use mashang_auth::permissions::{Action, Target};
use mashang_auth::{Auth, Principal};
use mashang_domain::role::Role;
use mashang_domain::tenant::TenantStatus;
use mashang_domain::{GridNodeId, PhoneNumber, TenantCode, TenantId, UserId, Username};
use mashang_http::{ApiError, ApiJson, FieldError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::allow;
use crate::RoutingState;
use crate::directory::DirectoryError;
use crate::directory::staff::{PersonInput, create_person, grant_role};
use crate::directory::tenants::{
    Tenant, TenantRow, check_contact, create_tenant_in, list_tenants, set_contact_in, set_status,
};
use mashang_http::openapi::{
    ConflictError, JsonBodyErrors, NotFoundError, StaffErrors, Unavailable,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(suspend))
        .routes(routes!(resume))
}

/// `GET /api/v1/county/tenants`: every township; county staff may look, only the
/// county's administrators change them.
#[utoipa::path(get, path = "/api/v1/county/tenants", tag = "county", operation_id = "get_api_v1_county_tenants",
    summary = "乡镇列表 (The townships)",
    responses(
        (status = 200, description = "乡镇 (The townships)", body = Vec<Object>),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn list(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Vec<TenantRow>>, ApiError> {
    allow(&principal, Action::ViewCounty, Target::County)?;
    Ok(ApiJson(list_tenants(&state.db).await?))
}

/// A township's first administrator.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct NewAdmin {
    /// Their name.
    pub name: String,
    /// Their mobile number, also their sign-in name.
    pub phone: String,
    /// A second sign-in name, if wanted.
    #[serde(default)]
    pub username: Option<String>,
}

/// A new township as the county enters it.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct NewTownship {
    /// Its short code (`caotan`), the prefix of its tracking numbers.
    pub code: String,
    /// Its name (草滩镇).
    pub name: String,
    /// IANA time zone; Asia/Shanghai when absent.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// The public contact number citizens are shown.
    #[serde(default)]
    pub contact_phone: Option<String>,
    /// The first administrator, who gets a one-time code to set a password.
    #[serde(default)]
    pub admin: Option<NewAdmin>,
}

/// The administrator created with a township, and the one-time code to pass on.
#[derive(Clone, Debug)]
pub(crate) struct CreatedAdmin {
    pub id: UserId,
    pub name: String,
    pub phone: String,
    pub username: Option<String>,
    /// Shown once: the person sets a password with it at `/login/reset`.
    pub reset_code: String,
}

/// A township just created.
#[derive(Clone, Debug)]
pub(crate) struct CreatedTownship {
    pub tenant: Tenant,
    pub root: GridNodeId,
    pub admin: Option<CreatedAdmin>,
}

/// The checked input of [`create_township`].
struct Checked {
    code: TenantCode,
    name: String,
    time_zone: String,
    contact: Option<String>,
    admin: Option<(String, PhoneNumber, Option<Username>)>,
}

fn check(body: &NewTownship) -> Result<Checked, ApiError> {
    let mut errors = Vec::new();
    let code = TenantCode::parse(body.code.trim())
        .map_err(|_| {
            errors.push(FieldError::new(
                "code",
                "编码为2到16位小写字母或数字，以字母开头 (2 to 16 lowercase letters and digits, starting with a letter)",
            ))
        })
        .ok();
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::new(
            "name",
            "名称为1到100个字 (1 to 100 characters)",
        ));
    }
    let time_zone = body
        .time_zone
        .as_deref()
        .map(str::trim)
        .filter(|z| !z.is_empty())
        .unwrap_or("Asia/Shanghai")
        .to_owned();
    if time_zone.len() > 64 || time_zone.parse::<chrono_tz::Tz>().is_err() {
        errors.push(FieldError::new(
            "time_zone",
            "不是有效的时区 (not an IANA time zone)",
        ));
    }
    let contact = body
        .contact_phone
        .as_deref()
        .filter(|c| !c.trim().is_empty());
    if check_contact(contact).is_err() {
        errors.push(FieldError::new(
            "contact_phone",
            "联系电话为1到30个字符 (1 to 30 characters)",
        ));
    }
    let admin = body.admin.as_ref().and_then(|a| {
        let name = a.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 50 {
            errors.push(FieldError::new(
                "admin.name",
                "姓名为1到50个字 (1 to 50 characters)",
            ));
        }
        let phone = PhoneNumber::parse(a.phone.trim())
            .map_err(|e| errors.push(FieldError::new("admin.phone", e.to_string())))
            .ok();
        let username = match a.username.as_deref().map(str::trim) {
            None | Some("") => Some(None),
            Some(raw) => Username::parse(raw)
                .map(Some)
                .map_err(|_| {
                    errors.push(FieldError::new(
                        "admin.username",
                        "登录名为3到32位小写字母、数字或 _ . -，以字母开头 (3 to 32 lowercase letters, digits, _ . -, starting with a letter)",
                    ))
                })
                .ok(),
        };
        Some((name, phone?, username?))
    });
    match code {
        Some(code) if errors.is_empty() => Ok(Checked {
            code,
            name,
            time_zone,
            contact: contact.map(|c| c.trim().to_owned()),
            admin,
        }),
        _ => Err(ApiError::Validation(errors)),
    }
}

/// Refuses a sign-in name someone already has (the database's unique key still
/// decides a race), naming the field.
async fn free_login(
    tx: &mut mashang_db::TenantTx,
    field: &'static str,
    login: &str,
) -> Result<(), ApiError> {
    let taken: Option<(uuid::Uuid,)> =
        sqlx::query_as("SELECT user_id FROM routing.logins WHERE login = $1")
            .bind(login)
            .fetch_optional(&mut **tx)
            .await?;
    match taken {
        Some(_) => Err(ApiError::Validation(vec![FieldError::new(
            field,
            format!("{login} 已是别人的登录名 (already someone's sign-in name)"),
        )])),
        None => Ok(()),
    }
}

/// Creates a township with its root node and default categories and, when given, its
/// first administrator with a one-time code, all in one transaction: either all of it
/// exists afterwards or none of it. A taken code is a conflict (409).
pub(crate) async fn create_township(
    state: &RoutingState,
    principal: &Principal,
    body: &NewTownship,
) -> Result<CreatedTownship, ApiError> {
    allow(principal, Action::ManageTenants, Target::County)?;
    let input = check(body)?;
    let mut tx = state.db.tenant(TenantId::new()).await?;
    if let Some((_, phone, username)) = &input.admin {
        free_login(&mut tx, "admin.phone", phone.expose()).await?;
        if let Some(username) = username {
            free_login(&mut tx, "admin.username", username.as_str()).await?;
        }
    }
    let created = create_tenant_in(&mut tx, &input.code, &input.name, &input.time_zone)
        .await
        .map_err(|e| match e {
            DirectoryError::Duplicate(_) => {
                ApiError::Conflict(format!("乡镇编码 {} 已存在 (code taken)", input.code))
            }
            other => other.into(),
        })?;
    if input.contact.is_some() {
        set_contact_in(&mut tx, input.contact.as_deref()).await?;
    }
    let mut admin = None;
    if let Some((name, phone, username)) = input.admin {
        let user = create_person(
            &mut tx,
            &PersonInput {
                name: name.clone(),
                phone: phone.clone(),
                username: username.clone(),
                active: true,
            },
        )
        .await?;
        grant_role(&mut tx, user, Role::TownshipAdmin, created.root).await?;
        let code = mashang_auth::issue_reset_code(&mut tx, &state.keys, user, principal.user())
            .await?
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the new administrator vanished")))?;
        admin = Some(CreatedAdmin {
            id: user,
            name,
            phone: phone.expose().to_owned(),
            username: username.map(|u| u.as_str().to_owned()),
            reset_code: code,
        });
    }
    tx.commit().await?;
    Ok(CreatedTownship {
        tenant: created.tenant,
        root: created.root,
        admin,
    })
}

/// `POST /api/v1/county/tenants`: a new township with its root node, default
/// categories and, optionally, its first administrator.
#[utoipa::path(post, path = "/api/v1/county/tenants", tag = "county", operation_id = "post_api_v1_county_tenants",
    summary = "开通乡镇 (Opens a township with its first administrator)",
    request_body(content = NewTownship, content_type = "application/json"),
    responses(
        (status = 201, description = "已开通 (Opened, with the first sign-in codes)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        ConflictError,
    ))]
async fn create(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<NewTownship>,
) -> Result<(StatusCode, ApiJson<Value>), ApiError> {
    let created = create_township(&state, &principal, &body).await?;
    let admin = created.admin.map_or(Value::Null, |a| {
        json!({"id": a.id, "login": a.phone, "username": a.username, "reset_code": a.reset_code})
    });
    Ok((
        StatusCode::CREATED,
        ApiJson(json!({
            "id": created.tenant.id,
            "code": created.tenant.code,
            "name": created.tenant.name,
            "time_zone": created.tenant.time_zone,
            "root_node_id": created.root,
            "admin": admin,
        })),
    ))
}

/// Suspends or resumes the township `code` for `principal`; a suspended township's
/// staff are signed out at once. Unknown codes are 404.
pub(crate) async fn set_township_status(
    state: &RoutingState,
    principal: &Principal,
    code: &str,
    to: TenantStatus,
) -> Result<TenantRow, ApiError> {
    allow(principal, Action::ManageTenants, Target::County)?;
    let code = TenantCode::parse(code).map_err(|_| ApiError::NotFound)?;
    let row = set_status(&state.db, &code, to)
        .await?
        .ok_or(ApiError::NotFound)?;
    if to == TenantStatus::Suspended {
        let mut tx = state.db.global().await?;
        sqlx::query("DELETE FROM routing.sessions WHERE tenant_id = $1")
            .bind(row.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(row)
}

#[utoipa::path(post, path = "/api/v1/county/tenants/{code}/suspend", tag = "county", operation_id = "post_api_v1_county_tenants_code_suspend",
    summary = "停用乡镇 (Suspends a township)",
    params(("code" = String, Path, max_length = 100, description = "The township code")),
    responses(
        (status = 200, description = "乡镇 (The township)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
        ConflictError,
    ))]
async fn suspend(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(code): Path<String>,
) -> Result<ApiJson<TenantRow>, ApiError> {
    let row = set_township_status(&state, &principal, &code, TenantStatus::Suspended).await?;
    Ok(ApiJson(row))
}

#[utoipa::path(post, path = "/api/v1/county/tenants/{code}/resume", tag = "county", operation_id = "post_api_v1_county_tenants_code_resume",
    summary = "恢复乡镇 (Resumes a township)",
    params(("code" = String, Path, max_length = 100, description = "The township code")),
    responses(
        (status = 200, description = "乡镇 (The township)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
        ConflictError,
    ))]
async fn resume(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(code): Path<String>,
) -> Result<ApiJson<TenantRow>, ApiError> {
    let row = set_township_status(&state, &principal, &code, TenantStatus::Active).await?;
    Ok(ApiJson(row))
}
