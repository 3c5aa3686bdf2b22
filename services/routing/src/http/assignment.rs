//! Who gets which case: the township's assignment rules and each person's duty, leave
//! and substitute. The JSON handlers and the administrator's pages both go through the
//! functions here, so both check the same things.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use mashang_auth::Auth;
use mashang_auth::permissions::{Action, Target};
use mashang_db::TenantTx;
use mashang_domain::GridNodeId;
use mashang_domain::role::Role;
use mashang_http::{ApiError, ApiJson, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{allow, tenant_tx};
use crate::RoutingState;
use crate::directory::nodes;
use mashang_http::openapi::{
    ConflictError, JsonBodyErrors, NotFoundError, StaffErrors, Unavailable,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(delete_rule))
        .routes(routes!(put_duty))
}

/// An assignment rule as typed: category (none = any) and grid subtree (none =
/// anywhere) → target node (none = the report's own grid) and role.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct RuleInput {
    /// Order among the rules; the first that matches wins.
    pub position: Option<i32>,
    /// A category code.
    pub category: Option<String>,
    /// The id of the node whose subtree the rule covers.
    pub within_node: Option<String>,
    /// The id of the node that gets the case.
    pub target_node: Option<String>,
    /// The role there that gets it.
    pub target_role: String,
}

/// A rule that passed the checks, ready to store.
#[derive(Clone, Debug)]
pub(crate) struct NewRule {
    position: i32,
    category: Option<String>,
    within_node: Option<Uuid>,
    target_node: Option<Uuid>,
    role: Role,
}

/// One active assignment rule.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub(crate) struct Rule {
    pub id: Uuid,
    pub position: i32,
    pub category: Option<String>,
    pub within_node: Option<Uuid>,
    pub target_node: Option<Uuid>,
    pub target_role: String,
}

/// The township's active rules, in the order they are tried.
pub(crate) async fn rules(tx: &mut TenantTx) -> Result<Vec<Rule>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, position, category, within_node, target_node, target_role FROM routing.assignment_rules \
         WHERE tenant_id = $1 AND active ORDER BY position, id",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_all(&mut **tx)
    .await
}

/// The most active rules a township keeps: each new case tries them in order.
pub(crate) const MAX_RULES: i64 = 50;

/// The largest position a rule may have.
pub(crate) const MAX_POSITION: i32 = 9999;

/// The roles a rule may send cases to.
pub(crate) const TARGET_ROLES: [Role; 4] = [
    Role::GridWorker,
    Role::GridLeader,
    Role::VillageHead,
    Role::TownshipCentre,
];

/// A text that was typed: trimmed, `None` when blank.
fn given(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().map(str::trim).filter(|r| !r.is_empty())
}

/// Checks a rule against the township's roles, nodes and categories, and the bounds;
/// the errors name the fields.
pub(crate) async fn check_rule(
    tx: &mut TenantTx,
    input: &RuleInput,
) -> Result<Result<NewRule, Vec<FieldError>>, ApiError> {
    let mut errors = Vec::new();
    let role = Role::parse(input.target_role.trim()).filter(|r| TARGET_ROLES.contains(r));
    if role.is_none() {
        errors.push(FieldError::new(
            "target_role",
            "请选择接收案件的角色 (grid_worker, grid_leader, village_head or township_centre)",
        ));
    }
    // `Some(None)`: not given (anywhere, or the report's own grid); `None`: refused.
    let (mut within, mut target) = (Some(None), Some(None));
    for (field, raw, slot) in [
        ("within_node", given(&input.within_node), &mut within),
        ("target_node", given(&input.target_node), &mut target),
    ] {
        let Some(raw) = raw else { continue };
        let found = match raw.parse::<Uuid>() {
            Ok(id) => nodes::node(tx, GridNodeId::from_uuid(id)).await?,
            Err(_) => None,
        };
        *slot = found.map(|node| Some(node.id));
        if slot.is_none() {
            errors.push(FieldError::new(field, "节点不存在 (no such node)"));
        }
    }
    let category = given(&input.category);
    if let Some(c) = category {
        // A category code is at most 32 characters: anything longer is not looked up.
        let known: Option<(String,)> = if c.len() > 32 {
            None
        } else {
            sqlx::query_as("SELECT code FROM routing.categories WHERE tenant_id = $1 AND code = $2")
                .bind(tx.tenant().as_uuid())
                .bind(c)
                .fetch_optional(&mut **tx)
                .await?
        };
        if known.is_none() {
            errors.push(FieldError::new("category", "未知类别 (unknown category)"));
        }
    }
    let position = input.position.unwrap_or(0);
    if !(0..=MAX_POSITION).contains(&position) {
        errors.push(FieldError::new(
            "position",
            format!("顺序为 0 到 {MAX_POSITION} 的整数 (a whole number from 0 to {MAX_POSITION})"),
        ));
    }
    let (count,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM routing.assignment_rules WHERE tenant_id = $1 AND active",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_one(&mut **tx)
    .await?;
    if count >= MAX_RULES {
        errors.push(FieldError::new(
            "rules",
            format!(
                "最多 {MAX_RULES} 条分派规则，请先删去不用的 (at most {MAX_RULES} rules; delete one first)"
            ),
        ));
    }
    let (Some(role), Some(within_node), Some(target_node), true) =
        (role, within, target, errors.is_empty())
    else {
        return Ok(Err(errors));
    };
    Ok(Ok(NewRule {
        position,
        category: category.map(str::to_owned),
        within_node,
        target_node,
        role,
    }))
}

/// Stores a checked rule; returns its id.
pub(crate) async fn insert_rule(tx: &mut TenantTx, rule: &NewRule) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO routing.assignment_rules (id, tenant_id, position, category, within_node, target_node, target_role) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(tx.tenant().as_uuid())
    .bind(rule.position)
    .bind(&rule.category)
    .bind(rule.within_node)
    .bind(rule.target_node)
    .bind(rule.role.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Retires a rule (kept, inactive); false when the township has no such active rule.
pub(crate) async fn remove_rule(tx: &mut TenantTx, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE routing.assignment_rules SET active = false WHERE tenant_id = $1 AND id = $2 AND active",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A person's duty as typed: on duty or not, and leave with a substitute.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct DutyInput {
    pub on_duty: bool,
    pub leave_from: Option<DateTime<Utc>>,
    pub leave_until: Option<DateTime<Utc>>,
    /// The id of the person who takes their cases while they are away.
    pub substitute_id: Option<String>,
}

/// A duty that passed the checks, ready to store.
#[derive(Clone, Debug)]
pub(crate) struct Duty {
    on_duty: bool,
    leave_from: Option<DateTime<Utc>>,
    leave_until: Option<DateTime<Utc>>,
    substitute: Option<Uuid>,
}

/// The longest leave: anything longer is being off duty.
pub(crate) const MAX_LEAVE_DAYS: i64 = 366;

/// Checks a duty for `person`: the leave has a start, ends after it and within a
/// year; the substitute is another active person of the township. The errors name
/// the fields.
pub(crate) async fn check_duty(
    tx: &mut TenantTx,
    person: Uuid,
    input: &DutyInput,
) -> Result<Result<Duty, Vec<FieldError>>, ApiError> {
    let mut errors = Vec::new();
    match (input.leave_from, input.leave_until) {
        (None, Some(_)) => errors.push(FieldError::new(
            "leave_from",
            "请填写请假开始时间 (leave_from is needed with leave_until)",
        )),
        (Some(from), Some(until)) if until <= from => errors.push(FieldError::new(
            "leave_until",
            "须晚于开始时间 (must be after leave_from)",
        )),
        (Some(from), Some(until)) if until - from > chrono::Duration::days(MAX_LEAVE_DAYS) => {
            errors.push(FieldError::new(
                "leave_until",
                "请假最长一年；更长时间请设为不在岗 (at most a year; for longer, set off duty)",
            ));
        }
        _ => {}
    }
    let substitute = match given(&input.substitute_id) {
        Some(raw) => {
            let sub = raw.parse::<Uuid>().ok();
            let known: Option<(Uuid,)> = match sub {
                Some(sub) => {
                    sqlx::query_as(
                        "SELECT id FROM routing.staff_users WHERE tenant_id = $1 AND id = $2 AND active",
                    )
                    .bind(tx.tenant().as_uuid())
                    .bind(sub)
                    .fetch_optional(&mut **tx)
                    .await?
                }
                None => None,
            };
            if sub == Some(person) {
                errors.push(FieldError::new(
                    "substitute_id",
                    "代班人不能是本人 (the substitute cannot be the person themselves)",
                ));
            } else if known.is_none() {
                errors.push(FieldError::new(
                    "substitute_id",
                    "查无此人：代班人须是本镇在用的人员 (no such person: an active person of this township)",
                ));
            }
            sub
        }
        None => None,
    };
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    Ok(Ok(Duty {
        on_duty: input.on_duty,
        leave_from: input.leave_from,
        leave_until: input.leave_until,
        substitute,
    }))
}

/// Stores a checked duty; false when the township has no such person.
pub(crate) async fn apply_duty(
    tx: &mut TenantTx,
    person: Uuid,
    duty: &Duty,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE routing.staff_users SET on_duty = $3, leave_from = $4, leave_until = $5, substitute_id = $6, updated_at = now() \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(person)
    .bind(duty.on_duty)
    .bind(duty.leave_from)
    .bind(duty.leave_until)
    .bind(duty.substitute)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// `GET /api/v1/admin/assignment-rules`: the active rules in order.
#[utoipa::path(get, path = "/api/v1/admin/assignment-rules", tag = "admin", operation_id = "get_api_v1_admin_assignment_rules",
    summary = "派单规则 (The township assignment rules)",
    responses(
        (status = 200, description = "规则 (The rules)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn list_rules(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Value>, ApiError> {
    allow(&principal, Action::ConfigureRouting, Target::Township)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let rules = rules(&mut tx).await?;
    tx.commit().await?;
    Ok(ApiJson(json!({ "rules": rules })))
}

/// `POST /api/v1/admin/assignment-rules`: adds a rule.
#[utoipa::path(post, path = "/api/v1/admin/assignment-rules", tag = "admin", operation_id = "post_api_v1_admin_assignment_rules",
    summary = "添加派单规则 (Adds an assignment rule)",
    request_body(content = RuleInput, content_type = "application/json"),
    responses(
        (status = 201, description = "已添加 (Added)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        ConflictError,
    ))]
async fn create_rule(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<RuleInput>,
) -> Result<(StatusCode, ApiJson<Value>), ApiError> {
    allow(&principal, Action::ConfigureRouting, Target::Township)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let rule = check_rule(&mut tx, &body)
        .await?
        .map_err(ApiError::Validation)?;
    let id = insert_rule(&mut tx, &rule).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(json!({"id": id}))))
}

/// `DELETE /api/v1/admin/assignment-rules/{id}`.
#[utoipa::path(delete, path = "/api/v1/admin/assignment-rules/{id}", tag = "admin", operation_id = "delete_api_v1_admin_assignment_rules_id",
    summary = "删除派单规则 (Removes an assignment rule)",
    params(("id" = uuid::Uuid, Path, description = "The rule")),
    responses(
        (status = 204, description = "已删除 (Removed)"),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn delete_rule(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    allow(&principal, Action::ConfigureRouting, Target::Township)?;
    let id: Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    if !remove_rule(&mut tx, id).await? {
        return Err(ApiError::NotFound);
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/admin/people/{id}/duty`: on duty or not, and leave with a substitute.
#[utoipa::path(put, path = "/api/v1/admin/people/{id}/duty", tag = "admin", operation_id = "put_api_v1_admin_people_id_duty",
    summary = "值班与代理 (Sets a person on or off duty, with a stand-in)",
    params(("id" = uuid::Uuid, Path, description = "The person")),
    request_body(content = DutyInput, content_type = "application/json"),
    responses(
        (status = 204, description = "已保存 (Saved)"),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
    ))]
async fn put_duty(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DutyInput>,
) -> Result<StatusCode, ApiError> {
    allow(&principal, Action::EditPeople, Target::Township)?;
    let id: Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let duty = check_duty(&mut tx, id, &body)
        .await?
        .map_err(ApiError::Validation)?;
    if !apply_duty(&mut tx, id, &duty).await? {
        return Err(ApiError::NotFound);
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
