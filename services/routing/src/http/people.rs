//! People of the signed-in person's township, their roles, and reset codes.

use std::collections::HashSet;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use mashang_auth::permissions::{Action, Target, visible_roots};
use mashang_auth::{Auth, Principal};
use mashang_db::TenantTx;
use mashang_domain::role::Role;
use mashang_domain::{EmailAddress, GridNodeId, PhoneNumber, UserId, Username};
use mashang_http::{ApiError, ApiJson, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{allow, tenant_tx};
use crate::RoutingState;
use crate::directory::nodes;
use crate::directory::staff::{PersonInput, create_person, set_email, set_roles, update_person};
use mashang_http::openapi::{
    ConflictError, JsonBodyErrors, NotFoundError, StaffErrors, Unavailable,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(one, update))
        .routes(routes!(reset_code))
}

/// A person with their roles.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Person {
    id: Uuid,
    name: String,
    phone: String,
    username: Option<String>,
    /// Where digests and alerts by e-mail go.
    email: Option<String>,
    active: bool,
    has_password: bool,
    roles: Vec<RoleAt>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct RoleAt {
    role: String,
    node_id: String,
}

type PersonRow = (
    Uuid,
    String,
    String,
    Option<String>,
    Option<String>,
    bool,
    bool,
);

async fn load(tx: &mut TenantTx, only: Option<UserId>) -> Result<Vec<Person>, ApiError> {
    let people: Vec<PersonRow> = sqlx::query_as(
        "SELECT id, name, phone, username, email, active, password_hash IS NOT NULL FROM routing.staff_users \
         WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id = $2) ORDER BY name, phone",
    )
    .bind(tx.tenant().as_uuid())
    .bind(only.map(|u| u.as_uuid()))
    .fetch_all(&mut **tx)
    .await?;
    let roles: Vec<(Uuid, String, Uuid)> = sqlx::query_as(
        "SELECT user_id, role, node_id FROM routing.staff_roles WHERE tenant_id = $1 AND ($2::uuid IS NULL OR user_id = $2) \
         ORDER BY role, node_id",
    )
    .bind(tx.tenant().as_uuid())
    .bind(only.map(|u| u.as_uuid()))
    .fetch_all(&mut **tx)
    .await?;
    Ok(people
        .into_iter()
        .map(
            |(id, name, phone, username, email, active, has_password)| Person {
                roles: roles
                    .iter()
                    .filter(|(u, ..)| *u == id)
                    .map(|(_, role, node)| RoleAt {
                        role: role.clone(),
                        node_id: node.to_string(),
                    })
                    .collect(),
                id,
                name,
                phone,
                username,
                email,
                active,
                has_password,
            },
        )
        .collect())
}

/// The nodes whose people the principal may see; `None` = all.
async fn visible_nodes(
    tx: &mut TenantTx,
    principal: &Principal,
) -> Result<Option<HashSet<String>>, ApiError> {
    match visible_roots(principal, Action::ViewPeople) {
        None => Ok(None),
        Some(roots) => {
            let mut set = HashSet::new();
            for root in roots {
                set.extend(
                    nodes::subtree(tx, root)
                        .await?
                        .into_iter()
                        .map(|n| n.to_string()),
                );
            }
            Ok(Some(set))
        }
    }
}

#[utoipa::path(get, path = "/api/v1/admin/people", tag = "admin", operation_id = "get_api_v1_admin_people",
    summary = "人员 (The township people with their roles)",
    responses(
        (status = 200, description = "人员 (The people)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn list(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Value>, ApiError> {
    allow(&principal, Action::ViewPeople, Target::List)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let mut people = load(&mut tx, None).await?;
    if let Some(visible) = visible_nodes(&mut tx, &principal).await? {
        people.retain(|p| p.roles.iter().any(|r| visible.contains(&r.node_id)));
    }
    tx.commit().await?;
    Ok(ApiJson(json!({ "people": people })))
}

fn user_id(raw: &str) -> Result<UserId, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

#[utoipa::path(get, path = "/api/v1/admin/people/{id}", tag = "admin", operation_id = "get_api_v1_admin_people_id",
    summary = "一个人员 (One person)",
    params(("id" = uuid::Uuid, Path, description = "The person")),
    responses(
        (status = 200, description = "人员 (The person)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn one(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<ApiJson<Person>, ApiError> {
    allow(&principal, Action::ViewPeople, Target::List)?;
    let id = user_id(&id)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let person = load(&mut tx, Some(id))
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    if let Some(visible) = visible_nodes(&mut tx, &principal).await?
        && !person.roles.iter().any(|r| visible.contains(&r.node_id))
    {
        return Err(ApiError::Forbidden(
            "不在您的管辖范围 (outside your area)".into(),
        ));
    }
    tx.commit().await?;
    Ok(ApiJson(person))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct PersonBody {
    name: String,
    phone: String,
    username: Option<String>,
    /// Left out: kept; `null` or empty: cleared.
    #[serde(default, deserialize_with = "some")]
    email: Option<Option<String>>,
    active: Option<bool>,
    roles: Vec<RoleAt>,
}

/// Tells a field left out (`None`) from one sent as `null` (`Some(None)`).
fn some<'de, D>(d: D) -> Result<Option<Option<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Option::<String>::deserialize(d).map(Some)
}

/// The e-mail change a body asks for: `None` none, `Some(None)` clear.
type EmailChange = Option<Option<EmailAddress>>;

/// Checks a sent e-mail address (at most 254 characters).
pub(crate) fn parse_email(raw: Option<&str>, errors: &mut Vec<FieldError>) -> Option<EmailAddress> {
    let raw = raw.map(str::trim).filter(|e| !e.is_empty())?;
    EmailAddress::parse(raw)
        .map_err(|_| {
            errors.push(FieldError::new(
                "email",
                "电子邮箱格式不对，如 name@example.com (an address like name@example.com)",
            ))
        })
        .ok()
}

/// Checks a person's fields and roles, collecting every error.
async fn parse_person(
    tx: &mut TenantTx,
    body: PersonBody,
) -> Result<(PersonInput, Vec<(Role, GridNodeId)>, EmailChange), ApiError> {
    let mut errors = Vec::new();
    let email: EmailChange = body
        .email
        .as_ref()
        .map(|e| parse_email(e.as_deref(), &mut errors));
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 50 {
        errors.push(FieldError::new(
            "name",
            "姓名为1到50个字 (1 to 50 characters)",
        ));
    }
    let phone = PhoneNumber::parse(&body.phone)
        .map_err(|_| {
            errors.push(FieldError::new(
                "phone",
                "请填写11位手机号 (an 11-digit mobile number)",
            ))
        })
        .ok();
    let username = match body
        .username
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        None => None,
        Some(raw) => Username::parse(raw)
            .map_err(|e| errors.push(FieldError::new("username", e.to_string())))
            .ok(),
    };
    let mut roles = Vec::new();
    for (i, r) in body.roles.iter().enumerate() {
        let role = Role::parse(&r.role).filter(|r| !r.is_county());
        let node = r.node_id.parse::<GridNodeId>().ok();
        let node = match node {
            Some(n) if nodes::node(tx, n).await?.is_some() => Some(n),
            _ => None,
        };
        match (role, node) {
            (Some(role), Some(node)) => roles.push((role, node)),
            (None, _) => errors.push(FieldError::new(
                format!("roles[{i}].role"),
                "未知角色 (unknown role)",
            )),
            (_, None) => errors.push(FieldError::new(
                format!("roles[{i}].node_id"),
                "节点不存在 (no such node)",
            )),
        }
    }
    match (phone, errors.is_empty()) {
        (Some(phone), true) => Ok((
            PersonInput {
                name,
                phone,
                username,
                active: body.active.unwrap_or(true),
            },
            roles,
            email,
        )),
        _ => Err(ApiError::Validation(errors)),
    }
}

fn taken(err: crate::directory::DirectoryError) -> ApiError {
    match err {
        crate::directory::DirectoryError::Duplicate(what) => ApiError::Conflict(format!(
            "手机号或登录名已被使用 (phone or username already in use): {what}"
        )),
        other => other.into(),
    }
}

#[utoipa::path(post, path = "/api/v1/admin/people", tag = "admin", operation_id = "post_api_v1_admin_people",
    summary = "添加人员 (Adds a person with their roles)",
    request_body(content = PersonBody, content_type = "application/json"),
    responses(
        (status = 201, description = "人员 (The person, with a first sign-in code)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        ConflictError,
    ))]
async fn create(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<PersonBody>,
) -> Result<(StatusCode, ApiJson<Person>), ApiError> {
    allow(&principal, Action::EditPeople, Target::Township)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let (input, roles, email) = parse_person(&mut tx, body).await?;
    let id = create_person(&mut tx, &input).await.map_err(taken)?;
    set_roles(&mut tx, id, &roles).await?;
    if let Some(email) = email {
        set_email(&mut tx, id, email.as_ref()).await?;
    }
    let person = load(&mut tx, Some(id))
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(person)))
}

#[utoipa::path(patch, path = "/api/v1/admin/people/{id}", tag = "admin", operation_id = "patch_api_v1_admin_people_id",
    summary = "修改人员 (Changes a person and their roles)",
    params(("id" = uuid::Uuid, Path, description = "The person")),
    request_body(content = PersonBody, content_type = "application/json"),
    responses(
        (status = 200, description = "人员 (The person)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        ConflictError,
    ))]
async fn update(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PersonBody>,
) -> Result<ApiJson<Person>, ApiError> {
    allow(&principal, Action::EditPeople, Target::Township)?;
    let id = user_id(&id)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let (input, roles, email) = parse_person(&mut tx, body).await?;
    // As on the pages: an administrator who deactivated themselves or dropped their own
    // administrator role could lock the township out.
    if principal.user() == Some(id) {
        let mut errors = Vec::new();
        if !input.active {
            errors.push(FieldError::new(
                "active",
                "不能停用自己的账号 (you cannot deactivate yourself)",
            ));
        }
        if principal.has_role(Role::TownshipAdmin)
            && !roles.iter().any(|(r, _)| *r == Role::TownshipAdmin)
        {
            errors.push(FieldError::new(
                "roles",
                "不能去掉自己的镇管理员角色，请让另一位镇管理员来改 (you cannot remove your own administrator role)",
            ));
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
    }
    update_person(&mut tx, id, &input).await.map_err(taken)?;
    set_roles(&mut tx, id, &roles).await?;
    if let Some(email) = email {
        set_email(&mut tx, id, email.as_ref()).await?;
    }
    let person = load(&mut tx, Some(id))
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    if !input.active {
        mashang_auth::end_all_sessions(&state.db, id).await?;
    }
    Ok(ApiJson(person))
}

#[derive(Debug, Serialize)]
struct ResetCode {
    code: String,
    expires_at: DateTime<Utc>,
}

/// `POST /api/v1/admin/people/{id}/reset-code`: a one-time code the person uses to set
/// a password (`POST /api/v1/auth/reset`). Shown once.
#[utoipa::path(post, path = "/api/v1/admin/people/{id}/reset-code", tag = "admin", operation_id = "post_api_v1_admin_people_id_reset_code",
    summary = "重置码 (A one-time code the person sets a new password with)",
    params(("id" = uuid::Uuid, Path, description = "The person")),
    responses(
        (status = 200, description = "重置码 (The code, shown once)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn reset_code(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<ApiJson<ResetCode>, ApiError> {
    allow(&principal, Action::ResetPassword, Target::Township)?;
    let id = user_id(&id)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let code = mashang_auth::issue_reset_code(&mut tx, &state.keys, id, principal.user())
        .await?
        .ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(ApiJson(ResetCode {
        code,
        expires_at: Utc::now() + chrono::Duration::hours(24),
    }))
}
