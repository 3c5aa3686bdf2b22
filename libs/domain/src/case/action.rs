//! Workflow actions with their validated details.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::details::{
    ContactMethod, InvalidReason, MeasuresText, NoteText, Photos, ReturnReason, Satisfaction,
    SummaryText,
};
use crate::ids::{GridNodeId, UserId};
use crate::sla::EscalationLevel;

/// Something done to a case, with the details it requires. Serialised as
/// `{"action": "<name>", "details": {…}}`; `details` is what the timeline stores.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", content = "details", rename_all = "snake_case")]
pub enum Action {
    /// Give an unassigned case to a handler (routing rules, or a dispatcher).
    Assign {
        /// The handler.
        to: UserId,
        /// The node at which the handler holds the role that makes them eligible.
        node: GridNodeId,
    },
    /// A dispatcher takes a case from the township centre's triage queue and gives it
    /// to a handler.
    Dispatch {
        /// The handler.
        to: UserId,
        /// The node at which the handler holds their role.
        node: GridNodeId,
    },
    /// The handler called (or visited) the citizen: the first response.
    Acknowledge {
        /// When the contact happened (not after the action is recorded).
        contacted_at: DateTime<Utc>,
        /// Phone or visit.
        method: ContactMethod,
        /// What was said.
        summary: SummaryText,
    },
    /// Work on the case begins.
    Start {},
    /// Wait on the citizen: the clock stops.
    Pause {
        /// What the case waits for.
        reason: NoteText,
    },
    /// Stop waiting on the citizen: the clock runs again.
    Resume {},
    /// Record the measures taken (办结).
    Resolve {
        /// What was done.
        measures: MeasuresText,
        /// Photos of the result.
        #[serde(default)]
        photos: Photos,
    },
    /// 退单: send a mis-routed case back to the dispatcher.
    Return {
        /// The reason code.
        reason: ReturnReason,
        /// An explanation; required with [`ReturnReason::Other`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<NoteText>,
    },
    /// 改派: give the case to another handler.
    Transfer {
        /// The new handler.
        to: UserId,
        /// The node at which the new handler holds their role.
        node: GridNodeId,
        /// Why.
        reason: NoteText,
    },
    /// 上报 / 督办: move the case up the ladder, to a handler at that level.
    Escalate {
        /// The level it goes to (the county only by a person).
        level: EscalationLevel,
        /// The handler at that level.
        to: UserId,
        /// Why (a breached target, or a person's explanation).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<NoteText>,
    },
    /// Ask for the case to be judged invalid; a second person decides.
    RequestInvalid {
        /// Spam, duplicate of another case, or outside jurisdiction.
        reason: InvalidReason,
        /// An explanation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<NoteText>,
    },
    /// Approve a pending invalidation request (township centre, not the requester).
    ApproveInvalid {
        /// A comment.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<NoteText>,
    },
    /// Turn down (or, by the requester, withdraw) a pending invalidation request.
    RejectInvalid {
        /// Why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<NoteText>,
    },
    /// 回访 by a person who has not handled the case.
    FollowUp {
        /// How the citizen was reached.
        method: ContactMethod,
        /// Does the citizen say the matter is resolved?
        resolved: bool,
        /// Is the citizen satisfied?
        satisfaction: Satisfaction,
        /// What the citizen said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<NoteText>,
    },
    /// The citizen's own rating arrived; it counts as a follow-up.
    Rate {
        /// Does the citizen say the matter is resolved?
        resolved: bool,
        /// Is the citizen satisfied?
        satisfaction: Satisfaction,
        /// The citizen's comment.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<NoteText>,
    },
    /// Send a resolved (or closed) case back to its handler.
    Reopen {
        /// Why.
        reason: NoteText,
    },
    /// Close a followed-up case.
    Close {},
    /// Add a note to the timeline; changes nothing else.
    Note {
        /// The note.
        text: NoteText,
    },
}

/// The name of an action, without its details.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// See [`Action::Assign`].
    Assign,
    /// See [`Action::Dispatch`].
    Dispatch,
    /// See [`Action::Acknowledge`].
    Acknowledge,
    /// See [`Action::Start`].
    Start,
    /// See [`Action::Pause`].
    Pause,
    /// See [`Action::Resume`].
    Resume,
    /// See [`Action::Resolve`].
    Resolve,
    /// See [`Action::Return`].
    Return,
    /// See [`Action::Transfer`].
    Transfer,
    /// See [`Action::Escalate`].
    Escalate,
    /// See [`Action::RequestInvalid`].
    RequestInvalid,
    /// See [`Action::ApproveInvalid`].
    ApproveInvalid,
    /// See [`Action::RejectInvalid`].
    RejectInvalid,
    /// See [`Action::FollowUp`].
    FollowUp,
    /// See [`Action::Rate`].
    Rate,
    /// See [`Action::Reopen`].
    Reopen,
    /// See [`Action::Close`].
    Close,
    /// See [`Action::Note`].
    Note,
}

impl ActionKind {
    /// Every action, in the order of the transition table.
    pub const ALL: [ActionKind; 18] = [
        Self::Assign,
        Self::Dispatch,
        Self::Acknowledge,
        Self::Start,
        Self::Pause,
        Self::Resume,
        Self::Resolve,
        Self::Return,
        Self::Transfer,
        Self::Escalate,
        Self::RequestInvalid,
        Self::ApproveInvalid,
        Self::RejectInvalid,
        Self::FollowUp,
        Self::Rate,
        Self::Reopen,
        Self::Close,
        Self::Note,
    ];

    /// The stored name (`request_invalid`), as in the timeline's `action` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assign => "assign",
            Self::Dispatch => "dispatch",
            Self::Acknowledge => "acknowledge",
            Self::Start => "start",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Resolve => "resolve",
            Self::Return => "return",
            Self::Transfer => "transfer",
            Self::Escalate => "escalate",
            Self::RequestInvalid => "request_invalid",
            Self::ApproveInvalid => "approve_invalid",
            Self::RejectInvalid => "reject_invalid",
            Self::FollowUp => "follow_up",
            Self::Rate => "rate",
            Self::Reopen => "reopen",
            Self::Close => "close",
            Self::Note => "note",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// The name as a URL path segment (`request-invalid`).
    pub fn slug(self) -> String {
        self.as_str().replace('_', "-")
    }

    /// Parses a URL path segment (`request-invalid`).
    pub fn from_slug(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.slug() == raw)
    }

    /// The Chinese label of the action.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Assign => "派单",
            Self::Dispatch => "分拨",
            Self::Acknowledge => "响应",
            Self::Start => "开始办理",
            Self::Pause => "等待群众",
            Self::Resume => "恢复办理",
            Self::Resolve => "办结",
            Self::Return => "退单",
            Self::Transfer => "改派",
            Self::Escalate => "上报",
            Self::RequestInvalid => "申请无效",
            Self::ApproveInvalid => "批准无效",
            Self::RejectInvalid => "驳回无效申请",
            Self::FollowUp => "回访",
            Self::Rate => "群众评价",
            Self::Reopen => "重办",
            Self::Close => "关闭",
            Self::Note => "备注",
        }
    }
}

impl Action {
    /// The action's name.
    pub fn kind(&self) -> ActionKind {
        match self {
            Self::Assign { .. } => ActionKind::Assign,
            Self::Dispatch { .. } => ActionKind::Dispatch,
            Self::Acknowledge { .. } => ActionKind::Acknowledge,
            Self::Start {} => ActionKind::Start,
            Self::Pause { .. } => ActionKind::Pause,
            Self::Resume {} => ActionKind::Resume,
            Self::Resolve { .. } => ActionKind::Resolve,
            Self::Return { .. } => ActionKind::Return,
            Self::Transfer { .. } => ActionKind::Transfer,
            Self::Escalate { .. } => ActionKind::Escalate,
            Self::RequestInvalid { .. } => ActionKind::RequestInvalid,
            Self::ApproveInvalid { .. } => ActionKind::ApproveInvalid,
            Self::RejectInvalid { .. } => ActionKind::RejectInvalid,
            Self::FollowUp { .. } => ActionKind::FollowUp,
            Self::Rate { .. } => ActionKind::Rate,
            Self::Reopen { .. } => ActionKind::Reopen,
            Self::Close {} => ActionKind::Close,
            Self::Note { .. } => ActionKind::Note,
        }
    }

    /// The details alone, as the timeline's `details` column stores them.
    pub fn details_json(&self) -> serde_json::Value {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut map)) => map
                .remove("details")
                .unwrap_or_else(|| serde_json::json!({})),
            // Every variant is a struct of serialisable values.
            _ => unreachable!("an action always serialises to an object"),
        }
    }

    /// Rebuilds an action from the timeline's `action` and `details` columns.
    pub fn from_stored(
        action: &str,
        details: serde_json::Value,
    ) -> Result<Self, serde_json::Error> {
        serde_json::from_value(serde_json::json!({ "action": action, "details": details }))
    }
}
