//! A small cast of users and canonical actions for the workflow tests, and a way to put
//! a case in any state by real transitions.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::*;
use crate::ids::{CaseId, GridNodeId, UserId};
use crate::role::Role;
use crate::sla::EscalationLevel;

/// The people around one case.
pub struct Cast {
    pub case_id: CaseId,
    /// The grid worker the case is assigned to first.
    pub worker: UserId,
    /// Another grid worker.
    pub worker2: UserId,
    /// A grid leader (escalation target).
    pub leader: UserId,
    /// A township-centre dispatcher.
    pub centre: UserId,
    /// A second township-centre person (approves invalidations).
    pub centre2: UserId,
    /// A village head who never handles the case (follows it up).
    pub checker: UserId,
    pub node: GridNodeId,
}

impl Cast {
    pub fn new() -> Self {
        Self {
            case_id: CaseId::new(),
            worker: UserId::new(),
            worker2: UserId::new(),
            leader: UserId::new(),
            centre: UserId::new(),
            centre2: UserId::new(),
            checker: UserId::new(),
            node: GridNodeId::new(),
        }
    }

    /// The roles each member holds.
    pub fn actor(&self, user: UserId) -> Actor {
        let role = if user == self.worker || user == self.worker2 {
            Role::GridWorker
        } else if user == self.leader {
            Role::GridLeader
        } else if user == self.centre || user == self.centre2 {
            Role::TownshipCentre
        } else {
            Role::VillageHead
        };
        Actor::staff(user, [role])
    }
}

pub fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 2, 0, 0)
        .single()
        .expect("valid instant")
        + TimeDelta::minutes(minute)
}

pub fn note(text: &str) -> NoteText {
    NoteText::parse(text).expect("valid note")
}

/// A valid action of each kind, with the actor who would normally take it in `facts`.
pub fn canonical(cast: &Cast, facts: &CaseFacts, kind: ActionKind) -> (Actor, Action) {
    let worker = cast.actor(facts.assignee.unwrap_or(cast.worker));
    match kind {
        ActionKind::Assign => (
            Actor::System,
            Action::Assign {
                to: cast.worker,
                node: cast.node,
            },
        ),
        ActionKind::Dispatch => (
            cast.actor(cast.centre),
            Action::Dispatch {
                to: cast.worker,
                node: cast.node,
            },
        ),
        ActionKind::Acknowledge => (
            worker,
            Action::Acknowledge {
                contacted_at: at(-5),
                method: ContactMethod::Phone,
                summary: SummaryText::parse("已电话联系，明天上门查看").expect("valid"),
            },
        ),
        ActionKind::Start => (worker, Action::Start {}),
        ActionKind::Pause => (
            worker,
            Action::Pause {
                reason: note("等群众提供照片"),
            },
        ),
        ActionKind::Resume => (worker, Action::Resume {}),
        ActionKind::Resolve => (
            worker,
            Action::Resolve {
                measures: MeasuresText::parse("已清理路边垃圾").expect("valid"),
                photos: Photos::default(),
            },
        ),
        ActionKind::Return => (
            worker,
            Action::Return {
                reason: ReturnReason::WrongArea,
                note: None,
            },
        ),
        ActionKind::Transfer => (
            cast.actor(cast.centre),
            Action::Transfer {
                to: UserId::new(),
                node: cast.node,
                reason: note("换人"),
            },
        ),
        ActionKind::Escalate => (
            Actor::System,
            Action::Escalate {
                level: EscalationLevel::GridLeader,
                to: UserId::new(),
                reason: None,
            },
        ),
        ActionKind::RequestInvalid => (
            cast.actor(cast.centre),
            Action::RequestInvalid {
                reason: InvalidReason::Spam,
                note: None,
            },
        ),
        ActionKind::ApproveInvalid => (
            cast.actor(cast.centre2),
            Action::ApproveInvalid { note: None },
        ),
        ActionKind::RejectInvalid => (
            cast.actor(cast.centre2),
            Action::RejectInvalid { note: None },
        ),
        ActionKind::FollowUp => (
            cast.actor(cast.checker),
            Action::FollowUp {
                method: ContactMethod::Phone,
                resolved: true,
                satisfaction: Satisfaction::Satisfied,
                note: None,
            },
        ),
        ActionKind::Rate => (
            Actor::Citizen,
            Action::Rate {
                resolved: true,
                satisfaction: Satisfaction::BasicallySatisfied,
                comment: None,
            },
        ),
        ActionKind::Reopen => (
            cast.actor(cast.centre),
            Action::Reopen {
                reason: note("群众再次反映"),
            },
        ),
        ActionKind::Close => (Actor::System, Action::Close {}),
        ActionKind::Note => (
            worker,
            Action::Note {
                text: note("已记录"),
            },
        ),
    }
}

/// Applies a canonical action, which must be accepted.
pub fn step(cast: &Cast, facts: &CaseFacts, kind: ActionKind) -> CaseFacts {
    let (actor, action) = canonical(cast, facts, kind);
    apply(facts, &actor, &action, at(facts.version))
        .unwrap_or_else(|e| panic!("{kind:?} from {:?} must be accepted: {e}", facts.state))
        .facts
}

/// A case brought to `state` by real transitions.
pub fn case_in(cast: &Cast, state: CaseState) -> CaseFacts {
    use ActionKind as A;
    use CaseState::*;
    let path: &[ActionKind] = match state {
        Created => &[],
        Assigned => &[A::Assign],
        Acknowledged => &[A::Assign, A::Acknowledge],
        InProgress => &[A::Assign, A::Acknowledge, A::Start],
        WaitingOnCitizen => &[A::Assign, A::Acknowledge, A::Start, A::Pause],
        Resolved => &[A::Assign, A::Acknowledge, A::Start, A::Resolve],
        FollowedUp => &[A::Assign, A::Acknowledge, A::Resolve, A::FollowUp],
        Closed => &[A::Assign, A::Acknowledge, A::Resolve, A::FollowUp, A::Close],
        Returned => &[A::Assign, A::Return],
        Transferred => &[A::Assign, A::Transfer],
        Escalated => &[A::Assign, A::Escalate],
        InvalidRequested => &[A::Assign, A::RequestInvalid],
        Invalid => &[A::Assign, A::RequestInvalid, A::ApproveInvalid],
        Reopened => &[A::Assign, A::Acknowledge, A::Resolve, A::Reopen],
    };
    let facts = path
        .iter()
        .fold(CaseFacts::new(cast.case_id), |f, k| step(cast, &f, *k));
    assert_eq!(facts.state, state, "the path leads to {state:?}");
    facts
}
