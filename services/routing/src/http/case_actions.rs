//! One route per case action (`POST /api/v1/cases/{id}/acknowledge`, …), each with
//! its own typed body. The body is read at once but checked only after the case and
//! the permission (a 404 or 403 before a 422), then handed to the workflow as the
//! action's details.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use mashang_auth::Auth;
use mashang_domain::case::ActionKind;
use mashang_domain::case::{
    ContactMethod, InvalidReason, MeasuresText, NoteText, Photos, ReturnReason, Satisfaction,
    SummaryText,
};
use mashang_domain::sla::EscalationLevel;
use mashang_domain::{GridNodeId, UserId};
use mashang_http::openapi::{
    BadRequestError, ConflictError, JsonBodyErrors, NotFoundError, StaffErrors, Unavailable,
};
use mashang_http::{ApiError, ApiJson, ApiJsonLater};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cases::act_on;
use crate::RoutingState;
use crate::cases::read::CaseView;

/// `dispatch`: the township centre gives a case from its queue to a handler.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct DispatchBody {
    /// The handler.
    to: UserId,
    /// The node where the handler holds their role (looked up when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    node: Option<GridNodeId>,
}

/// `acknowledge`: the handler reached the citizen (the first response).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct AcknowledgeBody {
    /// When the contact happened (not in the future).
    contacted_at: DateTime<Utc>,
    /// Phone or visit.
    method: ContactMethod,
    /// What was said.
    summary: SummaryText,
}

/// An action that carries nothing (`start`, `resume`, `close`).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub(super) struct EmptyBody {}

/// `pause`: wait on the citizen; the clock stops.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct PauseBody {
    /// What the case waits for.
    reason: NoteText,
}

/// `resolve`: the measures taken (办结).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct ResolveBody {
    /// What was done.
    measures: MeasuresText,
    /// Photos of the result, uploaded to the case by the same person.
    #[serde(default)]
    photos: Photos,
}

/// `return`: send a mis-routed case back to the dispatcher (退单).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct ReturnBody {
    /// The reason.
    reason: ReturnReason,
    /// An explanation; required with `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<NoteText>,
}

/// `transfer`: give the case to another handler (改派).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct TransferBody {
    /// The new handler.
    to: UserId,
    /// The node where the new handler holds their role (looked up when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    node: Option<GridNodeId>,
    /// Why.
    reason: NoteText,
}

/// `escalate`: move the case up the ladder (上报).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct EscalateBody {
    /// `grid_leader`, `village_head` or `township_centre` (the county only through a
    /// county request).
    #[schema(value_type = EscalationLevel)]
    level: String,
    /// The handler at that level (the nearest holder of the level when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<UserId>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<NoteText>,
}

/// `request-invalid`: ask for the case to be judged invalid; a second person decides.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct RequestInvalidBody {
    /// Spam, a duplicate (of which case) or outside the jurisdiction.
    reason: InvalidReason,
    /// An explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<NoteText>,
}

/// `approve-invalid`, `reject-invalid`: decide a pending invalidation request.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub(super) struct DecisionBody {
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<NoteText>,
}

/// `follow-up`: the citizen was asked about the outcome (回访).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct FollowUpBody {
    /// How the citizen was reached.
    method: ContactMethod,
    /// Does the citizen say the matter is resolved?
    resolved: bool,
    /// Is the citizen satisfied?
    satisfaction: Satisfaction,
    /// What the citizen said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<NoteText>,
}

/// `reopen`: send a resolved or closed case back to its handler.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct ReopenBody {
    /// Why.
    reason: NoteText,
}

/// `note`: add a note to the timeline.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct NoteBody {
    /// The note.
    text: NoteText,
}

/// The details of a typed body, as the workflow reads them.
fn details<T: Serialize + serde::de::DeserializeOwned>(
    body: ApiJsonLater<T>,
) -> Result<serde_json::Value, ApiError> {
    let body = body.parse()?;
    serde_json::to_value(body).map_err(ApiError::internal)
}

/// One action's route: its handler and its OpenAPI description.
macro_rules! action {
    ($name:ident, $path:literal, $kind:expr, $body:ty, $summary:literal) => {
        #[utoipa::path(post, path = $path, tag = "cases", summary = $summary,
            params(
                ("id" = uuid::Uuid, Path, description = "The case"),
                ("If-Match" = Option<String>, Header,
                    description = "The case version the person saw; a newer one is a 409"),
            ),
            request_body(content = $body, content_type = "application/json"),
            responses(
                (status = 200, description = "操作后的事件 (The case after the action, phone masked)", body = Object),
                BadRequestError, StaffErrors, NotFoundError, ConflictError, JsonBodyErrors, Unavailable,
            ))]
        async fn $name(
            State(state): State<RoutingState>,
            Auth(principal): Auth,
            Path(id): Path<String>,
            headers: HeaderMap,
            body: ApiJsonLater<$body>,
        ) -> Result<ApiJson<CaseView>, ApiError> {
            act_on(&state, &principal, &id, $kind, &headers, details(body)).await
        }
    };
}

action!(
    dispatch,
    "/api/v1/cases/{id}/dispatch",
    ActionKind::Dispatch,
    DispatchBody,
    "分拨 (Dispatch to a handler)"
);
action!(
    acknowledge,
    "/api/v1/cases/{id}/acknowledge",
    ActionKind::Acknowledge,
    AcknowledgeBody,
    "响应 (The first response: the citizen was called or visited)"
);
action!(
    start,
    "/api/v1/cases/{id}/start",
    ActionKind::Start,
    EmptyBody,
    "开始办理 (Start work)"
);
action!(
    pause,
    "/api/v1/cases/{id}/pause",
    ActionKind::Pause,
    PauseBody,
    "等待群众 (Wait on the citizen)"
);
action!(
    resume,
    "/api/v1/cases/{id}/resume",
    ActionKind::Resume,
    EmptyBody,
    "恢复办理 (Stop waiting)"
);
action!(
    resolve,
    "/api/v1/cases/{id}/resolve",
    ActionKind::Resolve,
    ResolveBody,
    "办结 (Record the measures taken)"
);
action!(
    return_case,
    "/api/v1/cases/{id}/return",
    ActionKind::Return,
    ReturnBody,
    "退单 (Send back to the dispatcher)"
);
action!(
    transfer,
    "/api/v1/cases/{id}/transfer",
    ActionKind::Transfer,
    TransferBody,
    "改派 (Give to another handler)"
);
action!(
    escalate,
    "/api/v1/cases/{id}/escalate",
    ActionKind::Escalate,
    EscalateBody,
    "上报 (Move up the ladder)"
);
action!(
    request_invalid,
    "/api/v1/cases/{id}/request-invalid",
    ActionKind::RequestInvalid,
    RequestInvalidBody,
    "申请无效 (Ask for the case to be judged invalid)"
);
action!(
    approve_invalid,
    "/api/v1/cases/{id}/approve-invalid",
    ActionKind::ApproveInvalid,
    DecisionBody,
    "批准无效 (Approve an invalidation request)"
);
action!(
    reject_invalid,
    "/api/v1/cases/{id}/reject-invalid",
    ActionKind::RejectInvalid,
    DecisionBody,
    "驳回无效申请 (Turn down or withdraw an invalidation request)"
);
action!(
    follow_up,
    "/api/v1/cases/{id}/follow-up",
    ActionKind::FollowUp,
    FollowUpBody,
    "回访 (Record the follow-up with the citizen)"
);
action!(
    reopen,
    "/api/v1/cases/{id}/reopen",
    ActionKind::Reopen,
    ReopenBody,
    "重办 (Send back to the handler)"
);
action!(
    close,
    "/api/v1/cases/{id}/close",
    ActionKind::Close,
    EmptyBody,
    "关闭 (Close a followed-up case)"
);
action!(
    note,
    "/api/v1/cases/{id}/note",
    ActionKind::Note,
    NoteBody,
    "备注 (Add a note to the timeline)"
);

/// The actions' routes.
pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(dispatch))
        .routes(routes!(acknowledge))
        .routes(routes!(start))
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(resolve))
        .routes(routes!(return_case))
        .routes(routes!(transfer))
        .routes(routes!(escalate))
        .routes(routes!(request_invalid))
        .routes(routes!(approve_invalid))
        .routes(routes!(reject_invalid))
        .routes(routes!(follow_up))
        .routes(routes!(reopen))
        .routes(routes!(close))
        .routes(routes!(note))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_of_the_api_has_its_route() {
        let doc = routes().into_openapi();
        for kind in ActionKind::ALL {
            if matches!(kind, ActionKind::Assign | ActionKind::Rate) {
                continue;
            }
            let path = format!("/api/v1/cases/{{id}}/{}", kind.slug());
            assert!(doc.paths.paths.contains_key(&path), "{path}");
        }
    }
}
