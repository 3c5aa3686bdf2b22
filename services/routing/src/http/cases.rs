//! Cases over HTTP: one case with its timeline, and one endpoint per action (the list
//! is `case_list`).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use chrono::Utc;
use mashang_auth::permissions::{Action as Permission, Target};
use mashang_auth::{Auth, Principal, PrincipalKind};
use mashang_domain::case::{Action, ActionKind, Actor, WorkflowError};
use mashang_domain::role::Role;
use mashang_domain::sla::EscalationLevel;
use mashang_domain::{CaseId, GridNodeId, UserId};
use mashang_http::{ApiError, ApiJson, FieldError};
use uuid::Uuid;

use super::{allow, tenant_tx};
use crate::RoutingState;
use crate::cases::assign;
use crate::cases::read::{CaseView, load};
use crate::directory::nodes;
use crate::workflow::act::{ActError, act};
use crate::workflow::{calendar, record};
use mashang_http::openapi::{NotFoundError, StaffErrors, Unavailable};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(super::case_list::list))
        .routes(routes!(get_case))
        .routes(routes!(take_action))
        .merge(super::case_actions::routes())
}

fn case_id(raw: &str) -> Result<CaseId, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

/// `GET /api/v1/cases/{id}`: a case of the person's township that their roles reach.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", operation_id = "get_api_v1_cases_id",
    summary = "一个事件 (A case with its timeline; the phone unmasked only for its assignee)",
    params(("id" = uuid::Uuid, Path, description = "The case")),
    responses(
        (status = 200, description = "事件 (The case)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
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

/// `POST /api/v1/cases/{id}/{action}` for a name that is no action of the API (each
/// action has its own route, `case_actions`): not found, once signed in.
#[utoipa::path(post, path = "/api/v1/cases/{id}/{action}", tag = "cases",
    operation_id = "post_api_v1_cases_id_unknown_action",
    summary = "未知操作 (Any other action name: not found)",
    params(("id" = String, Path, max_length = 100, description = "The case"),
        ("action" = String, Path, max_length = 100, description = "A name that is not an action")),
    responses(StaffErrors, NotFoundError))]
async fn take_action(Auth(_): Auth) -> ApiError {
    ApiError::NotFound
}

/// Takes the action `kind` on the case `id` with the action's `details` (read by
/// `case_actions`), and the version the person saw from `If-Match`.
pub(super) async fn act_on(
    state: &RoutingState,
    principal: &Principal,
    id: &str,
    kind: ActionKind,
    headers: &HeaderMap,
    details: Result<serde_json::Value, ApiError>,
) -> Result<ApiJson<CaseView>, ApiError> {
    let id = case_id(id)?;
    let expected = match headers.get("if-match").and_then(|v| v.to_str().ok()) {
        Some(raw) => Some(raw.trim_matches('"').parse::<i64>().map_err(|_| {
            ApiError::BadRequest(
                "If-Match 须为案件版本号 (If-Match takes the case's version)".into(),
            )
        })?),
        None => None,
    };
    perform(state, principal, id, kind, details, expected)
        .await
        .map(ApiJson)
}

/// Takes one action on a case for a signed-in staff member, exactly as the JSON API
/// does (the console's forms call this too): the permission, the version the person
/// saw (`expected`, when given), the action's own checks, then the workflow. Answers
/// the case as it is afterwards, the phone masked.
pub(crate) async fn perform(
    state: &RoutingState,
    principal: &Principal,
    id: CaseId,
    kind: ActionKind,
    details: Result<serde_json::Value, ApiError>,
    expected: Option<i64>,
) -> Result<CaseView, ApiError> {
    if matches!(kind, ActionKind::Rate | ActionKind::Assign) {
        // The citizen rates through intake; the system assigns (people dispatch).
        return Err(ApiError::NotFound);
    }
    let (user, roles) = actor_of(principal)?;
    let mut tx = tenant_tx(state, principal).await?;
    let mut case = record::load_for_update(&mut tx, id)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    let ancestry = nodes::ancestry(&mut tx, case.grid_node_id).await?;
    allow(
        principal,
        permission(kind),
        Target::Case {
            ancestry: &ancestry,
            assignee: case.facts.assignee,
        },
    )?;
    if let Some(expected) = expected
        && expected != case.facts.version
    {
        return Err(ApiError::Conflict(format!(
            "案件已被他人更新（当前版本 {}）(the case changed meanwhile; version is now {})",
            case.facts.version, case.facts.version
        )));
    }
    // What the details say counts only once the case and the permission are known.
    let mut details = match details? {
        serde_json::Value::Null => serde_json::json!({}),
        other => other,
    };
    if kind == ActionKind::Resolve {
        // Photos of the measures: only ones this person uploaded to this case.
        let photos: Vec<Uuid> = details
            .get("photos")
            .and_then(|p| p.as_array())
            .map(|all| {
                all.iter()
                    .filter_map(|p| p.as_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        super::case_uploads::check_photos(&mut tx, id, user, &photos).await?;
    }
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
    Ok(view)
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
