//! The states of a case's handling.

use serde::{Deserialize, Serialize};

/// Where a case is in its handling. Stored by its snake_case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// Opened for a report; no handler yet (waiting in the township centre's triage
    /// queue, or about to be assigned automatically).
    Created,
    /// Given to a handler, who has not yet called the citizen back.
    Assigned,
    /// The handler contacted the citizen (first response).
    Acknowledged,
    /// Being handled.
    InProgress,
    /// Waiting on the citizen; the clock is paused.
    WaitingOnCitizen,
    /// Measures recorded; waiting for the follow-up.
    Resolved,
    /// The outcome was checked with the citizen, who accepted it.
    FollowedUp,
    /// Closed after the follow-up.
    Closed,
    /// 退单: sent back to the dispatcher as mis-routed; no handler.
    Returned,
    /// 改派: given to another handler, who has not yet contacted the citizen.
    Transferred,
    /// Moved up the ladder to a handler who has not yet contacted the citizen.
    Escalated,
    /// Someone asked for the case to be judged invalid; a second person decides.
    InvalidRequested,
    /// 无效事件: judged invalid (spam, duplicate, outside jurisdiction). Final.
    Invalid,
    /// Back with its handler after an unsatisfied follow-up or rating, or by decision.
    Reopened,
}

impl CaseState {
    /// Every state, roughly in the order of a case's life.
    pub const ALL: [CaseState; 14] = [
        Self::Created,
        Self::Assigned,
        Self::Acknowledged,
        Self::InProgress,
        Self::WaitingOnCitizen,
        Self::Resolved,
        Self::FollowedUp,
        Self::Closed,
        Self::Returned,
        Self::Transferred,
        Self::Escalated,
        Self::InvalidRequested,
        Self::Invalid,
        Self::Reopened,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Assigned => "assigned",
            Self::Acknowledged => "acknowledged",
            Self::InProgress => "in_progress",
            Self::WaitingOnCitizen => "waiting_on_citizen",
            Self::Resolved => "resolved",
            Self::FollowedUp => "followed_up",
            Self::Closed => "closed",
            Self::Returned => "returned",
            Self::Transferred => "transferred",
            Self::Escalated => "escalated",
            Self::InvalidRequested => "invalid_requested",
            Self::Invalid => "invalid",
            Self::Reopened => "reopened",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// The Chinese label shown to staff.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Created => "待派单",
            Self::Assigned => "已派单",
            Self::Acknowledged => "已响应",
            Self::InProgress => "办理中",
            Self::WaitingOnCitizen => "等待群众",
            Self::Resolved => "已办结",
            Self::FollowedUp => "已回访",
            Self::Closed => "已关闭",
            Self::Returned => "已退单",
            Self::Transferred => "已改派",
            Self::Escalated => "已上报",
            Self::InvalidRequested => "无效待审",
            Self::Invalid => "无效事件",
            Self::Reopened => "重新办理",
        }
    }

    /// The English label.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Created => "Awaiting dispatch",
            Self::Assigned => "Assigned",
            Self::Acknowledged => "Citizen contacted",
            Self::InProgress => "In progress",
            Self::WaitingOnCitizen => "Waiting on citizen",
            Self::Resolved => "Resolved",
            Self::FollowedUp => "Followed up",
            Self::Closed => "Closed",
            Self::Returned => "Returned",
            Self::Transferred => "Transferred",
            Self::Escalated => "Escalated",
            Self::InvalidRequested => "Invalidation requested",
            Self::Invalid => "Invalid",
            Self::Reopened => "Reopened",
        }
    }

    /// Whether nothing but notes can happen any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for state in CaseState::ALL {
            assert_eq!(CaseState::parse(state.as_str()), Some(state));
            let json = serde_json::to_string(&state).expect("serialises");
            assert_eq!(json, format!("\"{}\"", state.as_str()));
            assert!(!state.label_zh().is_empty() && !state.label_en().is_empty());
        }
        assert_eq!(CaseState::parse("open"), None);
    }
}
