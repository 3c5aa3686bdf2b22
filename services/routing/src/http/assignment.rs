//! Who gets which case: the township's assignment rules and each person's duty, leave
//! and substitute. The JSON handlers and the administrator's pages both go through the
//! functions here, so both check the same things.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, put};
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

pub(super) fn routes() -> Router<RoutingState> {
    Router::new()
        .route(
            "/api/v1/admin/assignment-rules",
            get(list_rules).post(create_rule),
        )
        .route("/api/v1/admin/assignment-rules/{id}", delete(delete_rule))
        .route("/api/v1/admin/people/{id}/duty", put(put_duty))
}

/// An assignment rule as typed: category (none = any) and grid subtree (none =
/// anywhere) → target node (none = the report's own grid) and role.
#[derive(Clone, Debug, Default, Deserialize)]
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

/// Checks a rule against the township's roles, nodes and categories; the errors name
/// the fields.
pub(crate) async fn check_rule(
    tx: &mut TenantTx,
    input: &RuleInput,
) -> Result<Result<NewRule, Vec<FieldError>>, ApiError> {
    let mut errors = Vec::new();
    let role = Role::parse(&input.target_role).filter(|r| {
        matches!(
            r,
            Role::GridWorker | Role::GridLeader | Role::VillageHead | Role::TownshipCentre
        )
    });
    if role.is_none() {
        errors.push(FieldError::new(
            "target_role",
            "grid_worker, grid_leader, village_head or township_centre",
        ));
    }
    let mut node = |field: &'static str, raw: &Option<String>| -> Option<Option<Uuid>> {
        match raw {
            None => Some(None),
            Some(r) => match r.parse::<Uuid>() {
                Ok(id) => Some(Some(id)),
                Err(_) => {
                    errors.push(FieldError::new(field, "节点不存在 (no such node)"));
                    None
                }
            },
        }
    };
    let within = node("within_node", &input.within_node);
    let target = node("target_node", &input.target_node);
    for (field, id) in [
        ("within_node", within.flatten()),
        ("target_node", target.flatten()),
    ] {
        if let Some(id) = id
            && nodes::node(tx, GridNodeId::from_uuid(id)).await?.is_none()
        {
            errors.push(FieldError::new(field, "节点不存在 (no such node)"));
        }
    }
    if let Some(c) = &input.category {
        let known: Option<(String,)> = sqlx::query_as(
            "SELECT code FROM routing.categories WHERE tenant_id = $1 AND code = $2",
        )
        .bind(tx.tenant().as_uuid())
        .bind(c)
        .fetch_optional(&mut **tx)
        .await?;
        if known.is_none() {
            errors.push(FieldError::new("category", "未知类别 (unknown category)"));
        }
    }
    let (Some(role), Some(within_node), Some(target_node), true) =
        (role, within, target, errors.is_empty())
    else {
        return Ok(Err(errors));
    };
    Ok(Ok(NewRule {
        position: input.position.unwrap_or(0),
        category: input.category.clone(),
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
        "UPDATE routing.assignment_rules SET active = false WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A person's duty as typed: on duty or not, and leave with a substitute.
#[derive(Clone, Debug, Deserialize)]
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

/// Checks a duty for `person`: the leave ends after it starts, the substitute is
/// another active person of the township.
pub(crate) async fn check_duty(
    tx: &mut TenantTx,
    person: Uuid,
    input: &DutyInput,
) -> Result<Result<Duty, Vec<FieldError>>, ApiError> {
    if let (Some(from), Some(until)) = (input.leave_from, input.leave_until)
        && until <= from
    {
        return Ok(Err(vec![FieldError::new(
            "leave_until",
            "须晚于开始时间 (must be after leave_from)",
        )]));
    }
    let substitute = match &input.substitute_id {
        Some(raw) => {
            let no_such = || {
                vec![FieldError::new(
                    "substitute_id",
                    "查无此人 (no such person)",
                )]
            };
            let Ok(sub) = raw.parse::<Uuid>() else {
                return Ok(Err(no_such()));
            };
            let known: Option<(Uuid,)> = sqlx::query_as(
                "SELECT id FROM routing.staff_users WHERE tenant_id = $1 AND id = $2 AND active",
            )
            .bind(tx.tenant().as_uuid())
            .bind(sub)
            .fetch_optional(&mut **tx)
            .await?;
            if known.is_none() || sub == person {
                return Ok(Err(no_such()));
            }
            Some(sub)
        }
        None => None,
    };
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
