//! The facts of one report and its case, folded from its events. Pure: the same events
//! give the same facts whatever order they arrived in, so an incremental projection
//! and a rebuild from the kept history agree.

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use chrono_tz::Tz;
use mashang_domain::events::{
    CaseAssigned, CaseCreated, CaseUpdate, Envelope, EventType, ReportSubmitted,
};
use mashang_domain::sla::EscalationLevel;
use serde::Serialize;
use uuid::Uuid;

/// The level a case is held (or was resolved) at, as the figures name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 网格: a grid worker or grid leader.
    Grid,
    /// 村: the village head.
    Village,
    /// 镇: the township centre.
    Township,
    /// 县: the county centre.
    County,
}

impl Level {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grid => "grid",
            Self::Village => "village",
            Self::Township => "township",
            Self::County => "county",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Grid, Self::Village, Self::Township, Self::County]
            .into_iter()
            .find(|l| l.as_str() == raw)
    }

    /// The level of a rung of the escalation ladder.
    pub fn of(level: EscalationLevel) -> Self {
        match level {
            EscalationLevel::GridWorker | EscalationLevel::GridLeader => Self::Grid,
            EscalationLevel::VillageHead => Self::Village,
            EscalationLevel::TownshipCentre => Self::Township,
            EscalationLevel::County => Self::County,
        }
    }

    /// Whether a case settled here stayed in the village (小事不出村).
    pub fn in_village(self) -> bool {
        matches!(self, Self::Grid | Self::Village)
    }
}

/// What became of a request to judge the case invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum InvalidStatus {
    /// Nobody asked.
    #[default]
    None,
    /// Asked; not decided yet.
    Requested,
    /// Judged invalid: the case leaves every figure but 无效率.
    Approved,
    /// Turned down (or withdrawn): the case counts as valid.
    Rejected,
}

impl InvalidStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Requested => "requested",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::None, Self::Requested, Self::Approved, Self::Rejected]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// The citizen's (rating) or the follow-up's answers to the two questions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// When.
    pub at: DateTime<Utc>,
    /// Was the matter resolved?
    pub resolved: bool,
    /// `satisfied`, `basically_satisfied` or `unsatisfied`.
    pub satisfaction: String,
    /// `citizen` (the rating) or `follow_up` (a person's call).
    pub source: &'static str,
}

impl Answer {
    /// Whether the answer counts as satisfied (满意 or 基本满意).
    pub fn satisfied(&self) -> bool {
        matches!(
            self.satisfaction.as_str(),
            "satisfied" | "basically_satisfied"
        )
    }
}

/// One row of `analytics.case_facts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseFact {
    /// The report.
    pub report_id: Uuid,
    /// The case routing opened for it (none until `case.created` arrives).
    pub case_id: Option<Uuid>,
    /// What the citizen quotes.
    pub tracking_number: String,
    /// The QR code scanned, if any.
    pub qr_code_id: Option<Uuid>,
    /// The grid the report belongs to.
    pub grid_node_id: Option<Uuid>,
    /// The village (or community) above the grid; filled from the directory.
    pub village_node_id: Option<Uuid>,
    /// Category code.
    pub category: String,
    /// `qr`, `assisted`, … as intake names it.
    pub channel: String,
    /// `normal` or `urgent`.
    pub priority: String,
    /// The case's state (`submitted` before the case exists).
    pub status: String,
    /// When intake accepted the report.
    pub submitted_at: DateTime<Utc>,
    /// The township's local day of `submitted_at`.
    pub submitted_day: NaiveDate,
    /// The first-response deadline in force.
    pub first_response_due: Option<DateTime<Utc>>,
    /// When the citizen was first contacted.
    pub first_responded_at: Option<DateTime<Utc>>,
    /// The resolution deadline last in force.
    pub resolve_due: Option<DateTime<Utc>>,
    /// The first resolution.
    pub first_resolved_at: Option<DateTime<Utc>>,
    /// The latest resolution, cleared when the case is reopened.
    pub resolved_at: Option<DateTime<Utc>>,
    /// When it was closed (or judged invalid).
    pub closed_at: Option<DateTime<Utc>>,
    /// The current (or last) handler.
    pub handler_id: Option<Uuid>,
    /// The level the handler holds the case at.
    pub handler_level: Option<Level>,
    /// The level of the handler who recorded the latest resolution.
    pub resolved_level: Option<Level>,
    /// 退单 count.
    pub returns: i32,
    /// 改派 count.
    pub transfers: i32,
    /// 重办 count.
    pub reopenings: i32,
    /// 上报 / 督办 count (a person's escalation or an automatic one on a breach).
    pub escalations: i32,
    /// Times it waited on the citizen.
    pub pauses: i32,
    /// The invalidation request's fate.
    pub invalid_status: InvalidStatus,
    /// The latest answers to the two questions.
    pub answer: Option<Answer>,
    /// The highest case version seen.
    pub case_version: i64,
}

impl CaseFact {
    /// The facts with every time cut to the database's microseconds, so that facts
    /// read back compare equal to facts folded anew.
    fn in_micros(mut self) -> Self {
        let cut = |t: &mut DateTime<Utc>| *t = t.trunc_subsecs(6);
        let cut_opt = |t: &mut Option<DateTime<Utc>>| {
            if let Some(t) = t.as_mut() {
                *t = t.trunc_subsecs(6);
            }
        };
        cut(&mut self.submitted_at);
        for t in [
            &mut self.first_response_due,
            &mut self.first_responded_at,
            &mut self.resolve_due,
            &mut self.first_resolved_at,
            &mut self.resolved_at,
            &mut self.closed_at,
        ] {
            cut_opt(t);
        }
        if let Some(a) = self.answer.as_mut() {
            cut(&mut a.at);
        }
        self
    }

    /// Whether the case counts in the figures (not judged invalid).
    pub fn valid(&self) -> bool {
        self.invalid_status != InvalidStatus::Approved
    }

    /// Whether the case is 办结 now: resolved, followed up or closed, and valid.
    pub fn resolved_now(&self) -> bool {
        self.valid()
            && matches!(self.status.as_str(), "resolved" | "followed_up" | "closed")
            && self.resolved_at.is_some()
    }

    /// Whether the first response met its deadline (no deadline: met).
    pub fn responded_on_time(&self) -> Option<bool> {
        let at = self.first_responded_at?;
        Some(self.first_response_due.is_none_or(|due| at <= due))
    }

    /// Whether the latest resolution met the deadline then in force (no deadline: met).
    pub fn resolved_on_time(&self) -> Option<bool> {
        let at = self.resolved_at?;
        Some(self.resolve_due.is_none_or(|due| at <= due))
    }
}

/// The order in which a report's events are folded: the report first, then the case's
/// events by case version, time, the order one action emits them in, and id.
fn order_key(envelope: &Envelope) -> (u8, i64, DateTime<Utc>, u8, Uuid) {
    let phase = match envelope.event_type {
        EventType::ReportSubmitted => 0,
        EventType::ReportRated => 2,
        _ => 1,
    };
    let version = envelope
        .payload
        .get("case_version")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0);
    // One action can emit two events with one version (a follow-up that reopens).
    let within = match envelope.event_type {
        EventType::CaseReopened => 2,
        EventType::CaseClosed => 1,
        _ => 0,
    };
    (
        phase,
        version,
        envelope.occurred_at,
        within,
        envelope.id.as_uuid(),
    )
}

/// Folds the events of one report into its facts, in the township's `zone`. `None`
/// while neither the report nor its case is known (an event arrived before them).
pub fn fold(events: &[Envelope], zone: Tz) -> Option<CaseFact> {
    let mut sorted: Vec<&Envelope> = events.iter().collect();
    sorted.sort_by_key(|e| order_key(e));
    let mut fact: Option<CaseFact> = None;
    for envelope in sorted {
        apply(&mut fact, envelope, zone);
    }
    fact.map(CaseFact::in_micros)
}

fn local_day(at: DateTime<Utc>, zone: Tz) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

fn apply(fact: &mut Option<CaseFact>, envelope: &Envelope, zone: Tz) {
    match envelope.event_type {
        EventType::ReportSubmitted => {
            let Ok(report) = envelope.decode::<ReportSubmitted>() else {
                return;
            };
            let f = fact.get_or_insert_with(|| blank(envelope, zone));
            f.report_id = report.report_id.as_uuid();
            f.tracking_number = report.tracking_number;
            f.qr_code_id = report.qr_code_id.map(|q| q.as_uuid());
            f.grid_node_id = Some(report.grid_node_id.as_uuid());
            f.category = report.category;
            f.channel = report.channel.as_str().to_owned();
            f.submitted_at = report.submitted_at;
            f.submitted_day = local_day(report.submitted_at, zone);
        }
        EventType::CaseCreated => {
            let Ok(created) = envelope.decode::<CaseCreated>() else {
                return;
            };
            let f = fact.get_or_insert_with(|| {
                let mut f = blank(envelope, zone);
                f.report_id = created.report_id.as_uuid();
                f.tracking_number = created.tracking_number.clone();
                f.grid_node_id = Some(created.grid_node_id.as_uuid());
                f.category = created.category.clone();
                f
            });
            f.case_id = Some(created.case_id.as_uuid());
            if f.status == "submitted" {
                f.status = "created".to_owned();
            }
            if let Some(priority) = created.priority {
                f.priority = priority;
            }
            f.first_response_due = Some(created.first_response_due);
            f.resolve_due = created.resolution_due.or(f.resolve_due);
            f.case_version = f.case_version.max(created.case_version);
        }
        EventType::CaseAssigned => {
            let (Some(f), Ok(a)) = (fact.as_mut(), envelope.decode::<CaseAssigned>()) else {
                return;
            };
            f.case_id = Some(a.case_id.as_uuid());
            f.status = "assigned".to_owned();
            f.handler_id = Some(a.assignee_id.as_uuid());
            f.handler_level = a.handler_level.map(Level::of);
            f.first_response_due = Some(a.first_response_due);
            f.resolve_due = a.resolution_due.or(f.resolve_due);
            f.case_version = f.case_version.max(a.case_version);
        }
        // The case's own follow-up event carries the rating; the report's is redundant.
        EventType::ReportRated | EventType::TenantAlerted | EventType::QrScanned => {}
        other => {
            let (Some(f), Ok(u)) = (
                fact.as_mut(),
                serde_json::from_value::<CaseUpdate>(envelope.payload.clone()),
            ) else {
                return;
            };
            update(f, other, &u, envelope.occurred_at);
        }
    }
}

fn blank(envelope: &Envelope, zone: Tz) -> CaseFact {
    CaseFact {
        report_id: Uuid::nil(),
        case_id: None,
        tracking_number: String::new(),
        qr_code_id: None,
        grid_node_id: None,
        village_node_id: None,
        category: String::new(),
        channel: "unknown".to_owned(),
        priority: "normal".to_owned(),
        status: "submitted".to_owned(),
        submitted_at: envelope.occurred_at,
        submitted_day: local_day(envelope.occurred_at, zone),
        first_response_due: None,
        first_responded_at: None,
        resolve_due: None,
        first_resolved_at: None,
        resolved_at: None,
        closed_at: None,
        handler_id: None,
        handler_level: None,
        resolved_level: None,
        returns: 0,
        transfers: 0,
        reopenings: 0,
        escalations: 0,
        pauses: 0,
        invalid_status: InvalidStatus::None,
        answer: None,
        case_version: 0,
    }
}

fn update(f: &mut CaseFact, event: EventType, u: &CaseUpdate, at: DateTime<Utc>) {
    f.case_id = Some(u.case_id.as_uuid());
    f.status = u.state.clone();
    f.handler_id = u.assignee_id.map(|a| a.as_uuid());
    f.handler_level = u.handler_level.map(Level::of);
    if let Some(due) = u.first_response_due {
        f.first_response_due = Some(due);
    }
    if let Some(due) = u.resolution_due {
        f.resolve_due = Some(due);
    }
    f.case_version = f.case_version.max(u.case_version);
    match event {
        EventType::CaseAcknowledged if f.first_responded_at.is_none() => {
            let contacted = u
                .details
                .get("contacted_at")
                .and_then(|v| serde_json::from_value::<DateTime<Utc>>(v.clone()).ok());
            f.first_responded_at = Some(contacted.unwrap_or(at));
        }
        EventType::CaseResolved => {
            f.resolved_at = Some(at);
            f.first_resolved_at.get_or_insert(at);
            f.resolved_level = f.handler_level;
        }
        EventType::CaseReturned => f.returns += 1,
        EventType::CaseTransferred => f.transfers += 1,
        // A county note rides on `case.escalated` but moves nothing up.
        EventType::CaseEscalated if matches!(u.action.as_str(), "escalate" | "breach") => {
            f.escalations += 1;
        }
        EventType::CaseReopened => {
            f.reopenings += 1;
            f.resolved_at = None;
            f.resolved_level = None;
        }
        EventType::CaseFollowedUp => {
            let resolved = u
                .details
                .get("resolved")
                .and_then(serde_json::Value::as_bool);
            let satisfaction = u.details.get("satisfaction").and_then(|s| s.as_str());
            if let (Some(resolved), Some(satisfaction)) = (resolved, satisfaction) {
                f.answer = Some(Answer {
                    at,
                    resolved,
                    satisfaction: satisfaction.to_owned(),
                    source: if u.action == "rate" {
                        "citizen"
                    } else {
                        "follow_up"
                    },
                });
            }
        }
        EventType::CaseInvalidationRequested => f.invalid_status = InvalidStatus::Requested,
        EventType::CaseInvalidationRejected => f.invalid_status = InvalidStatus::Rejected,
        EventType::CaseInvalidated => {
            f.invalid_status = InvalidStatus::Approved;
            f.closed_at = Some(at);
        }
        EventType::CaseClosed => f.closed_at = Some(at),
        EventType::CasePaused => f.pauses += 1,
        _ => {}
    }
}
