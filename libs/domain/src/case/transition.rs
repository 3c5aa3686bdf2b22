//! Applying an action to a case: the checks in order (kind of actor → 403, state → 409,
//! the workflow's own actor rules → 403, details → 422), then the new snapshot, the
//! timeline entry, the events and the effects.

use chrono::{DateTime, Utc};

use super::action::Action;
use super::actor::Actor;
use super::details::{InvalidReason, ReturnReason, accepts};
use super::facts::CaseFacts;
use super::outcome::{Effect, FieldErrors, FieldProblem, Outcome, TimelineEntry, WorkflowError};
use super::rules::{Next, actor_may, actor_refusal, next, refusal};
use super::state::CaseState;
use crate::events::EventType;
use crate::role::Role;
use crate::sla::{EscalationLevel, TargetKind};

/// Applies `action`, taken by `actor` at `at`, to a case. Pure: the caller stores the
/// new snapshot and the timeline entry, puts the events in its outbox and carries out
/// the effects, in one transaction.
pub fn apply(
    facts: &CaseFacts,
    actor: &Actor,
    action: &Action,
    at: DateTime<Utc>,
) -> Result<Outcome, WorkflowError> {
    let kind = action.kind();
    if !actor_may(actor.kind(), kind) {
        let (reason_zh, reason_en) = actor_refusal(kind);
        return Err(WorkflowError::Forbidden {
            action: kind,
            reason_zh,
            reason_en,
        });
    }
    let Some(next) = next(facts.state, kind) else {
        let (reason_zh, reason_en) = refusal(facts.state, kind);
        return Err(WorkflowError::NotAllowed {
            state: facts.state,
            action: kind,
            reason_zh,
            reason_en,
        });
    };
    check_actor(facts, actor, action)?;
    check_details(facts, action, at)?;

    let mut after = facts.clone();
    after.version += 1;
    let mut events = Vec::new();
    let mut effects = Vec::new();
    after.state = match next {
        Next::To(state) => state,
        Next::Same => facts.state,
        Next::Previous => match facts.state_before_invalid_request {
            Some(state) => state,
            // A snapshot from storage that lost the state to return to: refuse, never guess.
            None => {
                return Err(WorkflowError::NotAllowed {
                    state: facts.state,
                    action: kind,
                    reason_zh: "无效申请记录不完整，无法退回原状态",
                    reason_en: "the invalidation request does not record the state to return to",
                });
            }
        },
        Next::Verdict => verdict(facts.state, action),
    };

    match action {
        Action::Assign { to, .. } | Action::Dispatch { to, .. } => {
            hand_to(&mut after, *to);
            events.push(EventType::CaseAssigned);
        }
        Action::Transfer { to, .. } => {
            hand_to(&mut after, *to);
            events.push(EventType::CaseTransferred);
        }
        Action::Escalate { to, .. } => {
            hand_to(&mut after, *to);
            events.push(EventType::CaseEscalated);
        }
        Action::Acknowledge { .. } => {
            if !facts.responded {
                effects.push(Effect::StopTarget(TargetKind::FirstResponse));
            }
            after.responded = true;
            events.push(EventType::CaseAcknowledged);
        }
        Action::Pause { .. } => {
            after.clock_paused = true;
            events.push(EventType::CasePaused);
            effects.push(Effect::PauseClock);
        }
        Action::Resume {} => {
            after.clock_paused = false;
            events.push(EventType::CaseResumed);
            effects.push(Effect::ResumeClock);
        }
        Action::Resolve { .. } => {
            events.push(EventType::CaseResolved);
            effects.push(Effect::StopTarget(TargetKind::Resolution));
            effects.push(Effect::StartTarget(TargetKind::FollowUp));
        }
        Action::Return { .. } => {
            after.assignee = None;
            events.push(EventType::CaseReturned);
            effects.push(Effect::NeedsReassignment);
        }
        Action::RequestInvalid { .. } => {
            after.invalid_requested_by = actor.user_id();
            after.state_before_invalid_request = Some(facts.state);
            events.push(EventType::CaseInvalidationRequested);
        }
        Action::ApproveInvalid { .. } | Action::RejectInvalid { .. } => {
            after.invalid_requested_by = None;
            after.state_before_invalid_request = None;
            if after.state == CaseState::Invalid {
                events.push(EventType::CaseInvalidated);
                effects.push(Effect::StopAllTargets);
            } else {
                events.push(EventType::CaseInvalidationRejected);
            }
        }
        Action::FollowUp { .. } | Action::Rate { .. } => {
            events.push(EventType::CaseFollowedUp);
            if after.state == CaseState::FollowedUp && facts.state == CaseState::Resolved {
                effects.push(Effect::StopTarget(TargetKind::FollowUp));
            }
        }
        Action::Close {} => {
            events.push(EventType::CaseClosed);
            effects.push(Effect::StopAllTargets);
        }
        Action::Start {} | Action::Reopen { .. } | Action::Note { .. } => {}
    }
    if after.state == CaseState::Reopened && facts.state != CaseState::Reopened {
        after.reopen_count += 1;
        events.push(EventType::CaseReopened);
        effects.push(Effect::StopTarget(TargetKind::FollowUp));
        effects.push(Effect::StartTarget(TargetKind::Resolution));
    }

    let entry = TimelineEntry {
        version: after.version,
        at,
        actor: actor.clone(),
        from: facts.state,
        to: after.state,
        action: action.clone(),
    };
    Ok(Outcome {
        facts: after,
        entry,
        events,
        effects,
    })
}

/// The state a follow-up or rating leads to.
fn verdict(state: CaseState, action: &Action) -> CaseState {
    let accepted = match action {
        Action::FollowUp {
            resolved,
            satisfaction,
            ..
        }
        | Action::Rate {
            resolved,
            satisfaction,
            ..
        } => *resolved && accepts(*satisfaction),
        _ => true,
    };
    match (accepted, state) {
        (false, _) => CaseState::Reopened,
        (true, CaseState::Resolved) => CaseState::FollowedUp,
        (true, other) => other,
    }
}

fn hand_to(facts: &mut CaseFacts, to: crate::ids::UserId) {
    facts.assignee = Some(to);
    if !facts.handlers.contains(&to) {
        facts.handlers.push(to);
    }
}

/// The actor rules that belong to the workflow itself: four eyes on invalidation, no
/// follow-up of one's own case, the county only by a person.
fn check_actor(facts: &CaseFacts, actor: &Actor, action: &Action) -> Result<(), WorkflowError> {
    let forbid = |reason_zh, reason_en| {
        Err(WorkflowError::Forbidden {
            action: action.kind(),
            reason_zh,
            reason_en,
        })
    };
    match action {
        Action::ApproveInvalid { .. } => {
            if actor.user_id().is_some() && actor.user_id() == facts.invalid_requested_by {
                return forbid(
                    "不能批准自己提出的无效申请",
                    "you cannot approve your own invalidation request",
                );
            }
            if !actor.has_role(Role::TownshipCentre) {
                return forbid(
                    "只有镇综治中心可以批准无效事件",
                    "only the township centre can approve an invalidation",
                );
            }
        }
        Action::RejectInvalid { .. } => {
            let requester =
                actor.user_id().is_some() && actor.user_id() == facts.invalid_requested_by;
            if !requester && !actor.has_role(Role::TownshipCentre) {
                return forbid(
                    "只有镇综治中心或申请人可以驳回无效申请",
                    "only the township centre or the requester can reject an invalidation request",
                );
            }
        }
        Action::FollowUp { .. } if actor.user_id().is_some_and(|u| facts.is_handler(u)) => {
            return forbid(
                "回访须由未办理过本案的人员进行",
                "the follow-up must be done by someone who has not handled the case",
            );
        }
        Action::Escalate { level, .. }
            if *level == EscalationLevel::County && *actor == Actor::System =>
        {
            return forbid(
                "上报县级须由工作人员决定",
                "only a person can send a case to the county",
            );
        }
        _ => {}
    }
    Ok(())
}

/// Detail rules that need the case's facts (the details are otherwise valid by type).
fn check_details(
    facts: &CaseFacts,
    action: &Action,
    at: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    let mut errors = FieldErrors::default();
    match action {
        Action::Acknowledge { contacted_at, .. } if *contacted_at > at => {
            errors.add("contacted_at", FieldProblem::InFuture);
        }
        Action::Return {
            reason: ReturnReason::Other,
            note: None,
        } => errors.add("note", FieldProblem::Required),
        Action::Transfer { to, .. } | Action::Escalate { to, .. }
            if facts.assignee == Some(*to) =>
        {
            errors.add("to", FieldProblem::Unchanged);
        }
        Action::RequestInvalid {
            reason: InvalidReason::Duplicate { of },
            ..
        } if *of == facts.case_id => errors.add("reason.of", FieldProblem::SelfReference),
        _ => {}
    }
    errors.finish(action.kind())
}

/// Why a timeline could not be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// An entry's action is refused where it stands.
    #[error("entry {index} is refused: {error}")]
    Refused {
        /// The entry's position.
        index: usize,
        /// The refusal.
        error: WorkflowError,
    },
    /// An entry records another result than the rules give now.
    #[error("entry {index} records {recorded:?} but the rules give {computed:?}")]
    Diverged {
        /// The entry's position.
        index: usize,
        /// The state and version the entry records.
        recorded: (CaseState, i64),
        /// The state and version the rules give.
        computed: (CaseState, i64),
    },
}

/// Rebuilds a case's snapshot from its timeline, checking that every entry is what the
/// rules give.
pub fn replay(
    case_id: crate::ids::CaseId,
    entries: &[TimelineEntry],
) -> Result<CaseFacts, ReplayError> {
    let mut facts = CaseFacts::new(case_id);
    for (index, entry) in entries.iter().enumerate() {
        let outcome = apply(&facts, &entry.actor, &entry.action, entry.at)
            .map_err(|error| ReplayError::Refused { index, error })?;
        let computed = (outcome.facts.state, outcome.facts.version);
        if computed != (entry.to, entry.version) || entry.from != facts.state {
            return Err(ReplayError::Diverged {
                index,
                recorded: (entry.to, entry.version),
                computed,
            });
        }
        facts = outcome.facts;
    }
    Ok(facts)
}
