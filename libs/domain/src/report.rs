//! A report as the citizen sees it: its public status.

use serde::{Deserialize, Serialize};

/// The citizen-facing status of a report. Internal case states map onto these few
/// steps; staff details never show here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// Received, not yet with a handler.
    Submitted,
    /// 已受理: a handler has it.
    Assigned,
    /// 已联系: the handler has contacted the citizen.
    Contacted,
    /// 处理中: being handled.
    InProgress,
    /// 已办结: measures recorded.
    Resolved,
    /// 回访: the outcome was checked with the citizen.
    FollowedUp,
    /// Closed.
    Closed,
}

impl ReportStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Assigned => "assigned",
            Self::Contacted => "contacted",
            Self::InProgress => "in_progress",
            Self::Resolved => "resolved",
            Self::FollowedUp => "followed_up",
            Self::Closed => "closed",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::Submitted,
            Self::Assigned,
            Self::Contacted,
            Self::InProgress,
            Self::Resolved,
            Self::FollowedUp,
            Self::Closed,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }

    /// The Chinese label shown to the citizen.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Submitted => "已提交",
            Self::Assigned => "已受理",
            Self::Contacted => "已联系",
            Self::InProgress => "处理中",
            Self::Resolved => "已办结",
            Self::FollowedUp => "已回访",
            Self::Closed => "已关闭",
        }
    }

    /// The English label.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Submitted => "Submitted",
            Self::Assigned => "Accepted",
            Self::Contacted => "Contacted",
            Self::InProgress => "In progress",
            Self::Resolved => "Resolved",
            Self::FollowedUp => "Followed up",
            Self::Closed => "Closed",
        }
    }
}

/// How a report reached us.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The citizen scanned a grid's QR code.
    Qr,
    /// A signed-in worker filed it on a citizen's behalf.
    Assisted,
    /// An outside system filed it through Open311 GeoReport v2 with its key.
    Api,
}

/// The flag of a report that names no grid (filed through Open311 without a point in
/// a known grid area): routing holds its case for the township centre's triage.
pub const FLAG_UNPLACED: &str = "unplaced";

impl Channel {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Qr => "qr",
            Self::Assisted => "assisted",
            Self::Api => "api",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_are_ordered_by_progress() {
        for s in [
            ReportStatus::Submitted,
            ReportStatus::Assigned,
            ReportStatus::Closed,
        ] {
            assert_eq!(ReportStatus::parse(s.as_str()), Some(s));
        }
        assert!(ReportStatus::Submitted < ReportStatus::Assigned);
        assert_eq!(ReportStatus::parse("lost"), None);
    }
}
