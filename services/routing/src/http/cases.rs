//! Cases over HTTP: the list (mine, by state, node, overdue) with deadlines and time
//! left, one case with its timeline, and one endpoint per action.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use mashang_auth::permissions::{Action as Permission, Target, visibility};
use mashang_auth::{Auth, Principal, PrincipalKind};
use mashang_domain::case::{Action, ActionKind, Actor, WorkflowError};
use mashang_domain::role::Role;
use mashang_domain::sla::EscalationLevel;
use mashang_domain::{CaseId, GridNodeId, UserId};
use mashang_http::{ApiError, ApiJson, ApiQuery, FieldError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{allow, tenant_tx};
use crate::RoutingState;
use crate::cases::assign;
use crate::cases::read::{CaseView, load};
use crate::directory::nodes;
use crate::workflow::act::{ActError, act};
use crate::workflow::{calendar, record};

pub(super) fn routes() -> Router<RoutingState> {
    Router::new()
        .route("/api/v1/cases", get(list))
        .route("/api/v1/cases/{id}", get(get_case))
        .route("/api/v1/cases/{id}/{action}", post(take_action))
}

fn case_id(raw: &str) -> Result<CaseId, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    #[serde(default)]
    mine: bool,
    state: Option<String>,
    node_id: Option<String>,
    #[serde(default)]
    overdue: bool,
    #[serde(default)]
    triage: bool,
    limit: Option<i64>,
}

/// One line of the list.
#[derive(Debug, Serialize, sqlx::FromRow)]
struct CaseLine {
    id: Uuid,
    tracking_number: String,
    category: String,
    state: String,
    priority: String,
    grid_node_id: Uuid,
    assignee_id: Option<Uuid>,
    in_triage: bool,
    vacancy: bool,
    submitted_at: DateTime<Utc>,
    first_response_due: Option<DateTime<Utc>>,
    resolution_due: Option<DateTime<Utc>>,
    follow_up_due: Option<DateTime<Utc>>,
    deadlines_provisional: bool,
    next_deadline: Option<DateTime<Utc>>,
    #[sqlx(skip)]
    time_left_seconds: Option<i64>,
    #[sqlx(skip)]
    overdue: bool,
}

/// `GET /api/v1/cases`: the cases the person may see, soonest deadline first.
async fn list(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<ApiJson<serde_json::Value>, ApiError> {
    allow(&principal, Permission::ViewCase, Target::List)?;
    let me = principal.user().map(|u| u.as_uuid());
    let mut tx = tenant_tx(&state, &principal).await?;
    // Exactly the union of the roles: an own role adds the person's own cases, a
    // subtree role every case below its node.
    let (nodes_in, own_cases): (Option<Vec<Uuid>>, bool) =
        match visibility(&principal, Permission::ViewCase) {
            None => (None, true),
            Some(visible) => {
                let mut all = Vec::new();
                for root in visible.subtrees {
                    all.extend(
                        nodes::subtree(&mut tx, root)
                            .await?
                            .into_iter()
                            .map(|n| n.as_uuid()),
                    );
                }
                (Some(all), visible.own_cases)
            }
        };
    let only_mine = q.mine;
    let node: Option<Uuid> = match &q.node_id {
        Some(raw) => Some(
            raw.parse()
                .map_err(|_| ApiError::field("node_id", "不是有效的节点编号 (not a node id)"))?,
        ),
        None => None,
    };
    let under: Option<Vec<Uuid>> = match node {
        Some(n) => Some(
            nodes::subtree(&mut tx, GridNodeId::from_uuid(n))
                .await?
                .into_iter()
                .map(|n| n.as_uuid())
                .collect(),
        ),
        None => None,
    };
    if let Some(s) = &q.state
        && mashang_domain::case::CaseState::parse(s).is_none()
    {
        return Err(ApiError::field("state", "未知状态 (unknown state)"));
    }
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let mut lines: Vec<CaseLine> = sqlx::query_as(
        "SELECT id, tracking_number, category, state, priority, grid_node_id, assignee_id, in_triage, vacancy, submitted_at, \
             first_response_due, resolution_due, follow_up_due, deadlines_provisional, \
             CASE WHEN responded_at IS NULL AND state NOT IN ('closed', 'invalid') THEN first_response_due \
                  WHEN state = 'resolved' THEN follow_up_due \
                  WHEN state IN ('closed', 'invalid', 'followed_up') THEN NULL \
                  ELSE resolution_due END AS next_deadline \
         FROM routing.cases \
         WHERE tenant_id = $1 \
           AND (NOT $2 OR assignee_id = $3) \
           AND ($4::uuid[] IS NULL OR grid_node_id = ANY($4) OR ($9 AND assignee_id = $3)) \
           AND ($5::uuid[] IS NULL OR grid_node_id = ANY($5)) \
           AND ($6::text IS NULL OR state = $6) \
           AND (NOT $7 OR in_triage) \
         ORDER BY next_deadline NULLS LAST, submitted_at LIMIT $8",
    )
    .bind(tx.tenant().as_uuid())
    .bind(only_mine)
    .bind(me)
    .bind(nodes_in)
    .bind(under)
    .bind(&q.state)
    .bind(q.triage)
    .bind(limit)
    .bind(own_cases)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let now = Utc::now();
    for line in &mut lines {
        line.time_left_seconds = line.next_deadline.map(|d| (d - now).num_seconds());
        line.overdue = line.next_deadline.is_some_and(|d| d < now);
    }
    if q.overdue {
        lines.retain(|l| l.overdue);
    }
    Ok(ApiJson(serde_json::json!({ "cases": lines })))
}

/// `GET /api/v1/cases/{id}`: a case of the person's township that their roles reach.
async fn get_case(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<ApiJson<CaseView>, ApiError> {
    let id = case_id(&id)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let case = load(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let ancestry = nodes::ancestry(&mut tx, GridNodeId::from_uuid(case.grid_node_id)).await?;
    allow(
        &principal,
        Permission::ViewCase,
        Target::Case {
            ancestry: &ancestry,
            assignee: case.assignee_id.map(UserId::from_uuid),
        },
    )?;
    let mut case = case;
    // The full number only for the person who must call back; every such view is audited.
    crate::cases::read::with_contact(&mut tx, &state.pii_key, &mut case, principal.user())
        .await
        .map_err(ApiError::internal)?;
    tx.commit().await?;
    Ok(ApiJson(case))
}

/// The permission an action needs.
fn permission(kind: ActionKind) -> Permission {
    match kind {
        ActionKind::Assign | ActionKind::Dispatch | ActionKind::Transfer => {
            Permission::ReassignCase
        }
        ActionKind::Escalate => Permission::EscalateCase,
        ActionKind::ApproveInvalid | ActionKind::RejectInvalid => Permission::ApproveInvalid,
        ActionKind::FollowUp | ActionKind::Reopen | ActionKind::Close => Permission::FollowUpCase,
        _ => Permission::WorkCase,
    }
}

/// The domain's refusal as an HTTP problem.
fn refusal(err: WorkflowError) -> ApiError {
    match err {
        WorkflowError::NotAllowed {
            reason_zh,
            reason_en,
            ..
        } => ApiError::Conflict(format!("{reason_zh} ({reason_en})")),
        WorkflowError::Forbidden {
            reason_zh,
            reason_en,
            ..
        } => ApiError::Forbidden(format!("{reason_zh} ({reason_en})")),
        WorkflowError::InvalidDetails { fields, .. } => ApiError::Validation(
            fields
                .into_iter()
                .map(|f| {
                    FieldError::new(
                        f.field,
                        serde_json::to_value(f.problem)
                            .map(|p| p.to_string())
                            .unwrap_or_default(),
                    )
                })
                .collect(),
        ),
    }
}

/// The node where `user` holds `role` at or above `under` (the case's grid).
async fn holder_node(
    tx: &mut mashang_db::TenantTx,
    user: UserId,
    roles: &[Role],
    under: GridNodeId,
) -> Result<Option<GridNodeId>, ApiError> {
    let line = nodes::ancestry(tx, under).await?;
    let raw: Vec<Uuid> = line.iter().map(|n| n.as_uuid()).collect();
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let row: Option<(Uuid,)> = sqlx::query_as(
        "SELECT r.node_id FROM routing.staff_roles r JOIN routing.staff_users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id \
         WHERE r.tenant_id = $1 AND r.user_id = $2 AND u.active AND r.role = ANY($3) \
         ORDER BY array_position($4, r.node_id) NULLS LAST LIMIT 1",
    )
    .bind(tx.tenant().as_uuid())
    .bind(user.as_uuid())
    .bind(&names)
    .bind(&raw)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(n,)| GridNodeId::from_uuid(n)))
}

/// `POST /api/v1/cases/{id}/{action}` with the action's details as JSON.
async fn take_action(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path((id, slug)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(details): ApiJson<serde_json::Value>,
) -> Result<ApiJson<CaseView>, ApiError> {
    let id = case_id(&id)?;
    let kind = ActionKind::from_slug(&slug).ok_or(ApiError::NotFound)?;
    if matches!(kind, ActionKind::Rate | ActionKind::Assign) {
        // The citizen rates through intake; the system assigns (people dispatch).
        return Err(ApiError::NotFound);
    }
    let (user, roles) = actor_of(&principal)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let mut case = record::load_for_update(&mut tx, id)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    let ancestry = nodes::ancestry(&mut tx, case.grid_node_id).await?;
    allow(
        &principal,
        permission(kind),
        Target::Case {
            ancestry: &ancestry,
            assignee: case.facts.assignee,
        },
    )?;
    if let Some(expected) = headers.get("if-match").and_then(|v| v.to_str().ok()) {
        let expected = expected.trim_matches('"');
        if expected != case.facts.version.to_string() {
            return Err(ApiError::Conflict(format!(
                "案件已被他人更新（当前版本 {}）(the case changed meanwhile; version is now {})",
                case.facts.version, case.facts.version
            )));
        }
    }
    let mut details = match details {
        serde_json::Value::Null => serde_json::json!({}),
        other => other,
    };
    // Escalation without a named person goes to the nearest holder of the level.
    let mut node = None;
    if kind == ActionKind::Escalate {
        let level = details
            .get("level")
            .and_then(|l| l.as_str())
            .and_then(EscalationLevel::parse)
            .ok_or_else(|| {
                ApiError::field("level", "grid_leader, village_head or township_centre")
            })?;
        if level == EscalationLevel::County {
            return Err(ApiError::field(
                "level",
                "请用督办申请上报县级 (send a case to the county with a county request)",
            ));
        }
        if details.get("to").is_none_or(serde_json::Value::is_null) {
            let (to, at) = assign::nearest(&mut tx, case.grid_node_id, level.role(), Utc::now())
                .await
                .map_err(ApiError::internal)?
                .ok_or_else(|| {
                    ApiError::field("level", "该层级无人可接 (nobody holds that level)")
                })?;
            details["to"] = serde_json::json!(to);
            node = Some(at);
        }
    }
    // Dispatch and transfer name a person; where they hold their role is looked up.
    if matches!(kind, ActionKind::Dispatch | ActionKind::Transfer)
        && details.get("node").is_none_or(serde_json::Value::is_null)
        && let Some(to) = details
            .get("to")
            .and_then(|t| t.as_str())
            .and_then(|t| t.parse::<UserId>().ok())
    {
        let handlers = [
            Role::GridWorker,
            Role::GridLeader,
            Role::VillageHead,
            Role::TownshipCentre,
        ];
        let at = holder_node(&mut tx, to, &handlers, case.grid_node_id)
            .await?
            .ok_or_else(|| {
                ApiError::field("to", "此人不在本乡镇或不担任相应角色 (not a handler here)")
            })?;
        details["node"] = serde_json::json!(at);
        node = Some(at);
    }
    let action =
        Action::from_stored(kind.as_str(), details).map_err(|e| serde_problem(&e.to_string()))?;
    if node.is_none()
        && let Some((to, eligible_roles)) = target_of(&action)
    {
        node = Some(
            holder_node(&mut tx, to, &eligible_roles, case.grid_node_id)
                .await?
                .ok_or_else(|| {
                    ApiError::field("to", "此人不在本乡镇或不担任相应角色 (not a handler here)")
                })?,
        );
    }
    let calendar = calendar::load(&mut tx).await.map_err(ApiError::internal)?;
    let actor = Actor::staff(user, roles);
    act(
        &mut tx,
        &mut case,
        &calendar,
        &actor,
        action,
        node,
        Utc::now(),
    )
    .await
    .map_err(|e| match e {
        ActError::Workflow(w) => refusal(w),
        ActError::Other(o) => ApiError::internal(o),
    })?;
    let mut view = load(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    crate::cases::read::with_contact(&mut tx, &state.pii_key, &mut view, None)
        .await
        .map_err(ApiError::internal)?;
    tx.commit().await?;
    Ok(ApiJson(view))
}

/// The person and roles of a principal that may act on cases.
fn actor_of(principal: &Principal) -> Result<(UserId, Vec<Role>), ApiError> {
    match principal.kind {
        PrincipalKind::Staff { user, .. } => {
            Ok((user, principal.roles.iter().map(|g| g.role).collect()))
        }
        _ => Err(ApiError::Forbidden(
            "案件操作须由本乡镇工作人员进行 (cases are worked by a township's staff)".into(),
        )),
    }
}

/// The new handler an action names, and the roles that make them eligible.
fn target_of(action: &Action) -> Option<(UserId, Vec<Role>)> {
    let handlers = vec![
        Role::GridWorker,
        Role::GridLeader,
        Role::VillageHead,
        Role::TownshipCentre,
    ];
    match action {
        Action::Dispatch { to, .. } | Action::Transfer { to, .. } => Some((*to, handlers)),
        Action::Escalate { to, level, .. } => Some((*to, vec![level.role()])),
        _ => None,
    }
}

/// A serde message about an action's details, as a field error where it names one.
fn serde_problem(message: &str) -> ApiError {
    if let Some(rest) = message.split("missing field `").nth(1) {
        let field = rest.split('`').next().unwrap_or("details");
        return ApiError::field(field, "必填 (required)");
    }
    ApiError::field("details", message.to_owned())
}
