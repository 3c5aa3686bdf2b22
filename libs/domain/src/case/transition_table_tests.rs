//! The exhaustive transition table: every state × every action, with the actor who
//! would normally take it. `-` means refused with 409 (not allowed in this state).

use super::test_fixtures::{Cast, canonical, case_in};
use super::*;
use crate::events::EventType;

/// Columns in [`ActionKind::ALL`] order: assign, dispatch, acknowledge, start, pause,
/// resume, resolve, return, transfer, escalate, request_invalid, approve_invalid,
/// reject_invalid, follow_up, rate, reopen, close, note.
#[rustfmt::skip]
const TABLE: [(&str, [&str; 18]); 14] = [
    ("created",            ["assigned", "assigned", "-", "-", "-", "-", "-", "-", "-", "escalated", "invalid_requested", "-", "-", "-", "-", "-", "-", "created"]),
    ("assigned",           ["-", "-", "acknowledged", "-", "-", "-", "-", "returned", "transferred", "escalated", "invalid_requested", "-", "-", "-", "-", "-", "-", "assigned"]),
    ("acknowledged",       ["-", "-", "-", "in_progress", "-", "-", "resolved", "returned", "transferred", "escalated", "invalid_requested", "-", "-", "-", "-", "-", "-", "acknowledged"]),
    ("in_progress",        ["-", "-", "-", "-", "waiting_on_citizen", "-", "resolved", "returned", "transferred", "escalated", "invalid_requested", "-", "-", "-", "-", "-", "-", "in_progress"]),
    ("waiting_on_citizen", ["-", "-", "-", "-", "-", "in_progress", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "waiting_on_citizen"]),
    ("resolved",           ["-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "followed_up", "followed_up", "reopened", "-", "resolved"]),
    ("followed_up",        ["-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "followed_up", "reopened", "closed", "followed_up"]),
    ("closed",             ["-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "closed", "reopened", "-", "closed"]),
    ("returned",           ["assigned", "assigned", "-", "-", "-", "-", "-", "-", "-", "escalated", "invalid_requested", "-", "-", "-", "-", "-", "-", "returned"]),
    ("transferred",        ["-", "-", "acknowledged", "-", "-", "-", "-", "returned", "transferred", "escalated", "invalid_requested", "-", "-", "-", "-", "-", "-", "transferred"]),
    ("escalated",          ["-", "-", "acknowledged", "-", "-", "-", "-", "returned", "transferred", "escalated", "invalid_requested", "-", "-", "-", "-", "-", "-", "escalated"]),
    ("invalid_requested",  ["-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "invalid", "assigned", "-", "-", "-", "-", "invalid_requested"]),
    ("invalid",            ["-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "invalid"]),
    ("reopened",           ["-", "-", "acknowledged", "-", "-", "-", "-", "returned", "transferred", "escalated", "invalid_requested", "-", "-", "-", "-", "-", "-", "reopened"]),
];

#[test]
fn every_state_and_action_is_allowed_or_refused_as_the_table_says() {
    let cast = Cast::new();
    assert_eq!(
        TABLE.map(|(s, _)| s),
        CaseState::ALL.map(CaseState::as_str),
        "one row per state, in order"
    );
    for (state_name, row) in TABLE {
        let state = CaseState::parse(state_name).expect("a state name");
        let facts = case_in(&cast, state);
        for (kind, expected) in ActionKind::ALL.into_iter().zip(row) {
            let (actor, action) = canonical(&cast, &facts, kind);
            let result = apply(&facts, &actor, &action, super::test_fixtures::at(100));
            match (expected, result) {
                (
                    "-",
                    Err(WorkflowError::NotAllowed {
                        state: s,
                        action: a,
                        reason_zh,
                        reason_en,
                    }),
                ) => {
                    assert_eq!((s, a), (state, kind));
                    assert!(!reason_zh.is_empty() && !reason_en.is_empty());
                }
                (to, Ok(outcome)) => {
                    assert_eq!(outcome.facts.state.as_str(), to, "{state_name} × {kind:?}");
                    assert_eq!(outcome.facts.version, facts.version + 1);
                    assert_eq!(outcome.facts.check(), Ok(()), "{state_name} × {kind:?}");
                    assert_eq!(
                        (outcome.entry.from, outcome.entry.to),
                        (state, outcome.facts.state)
                    );
                }
                (expected, got) => {
                    panic!("{state_name} × {kind:?}: expected {expected}, got {got:?}")
                }
            }
            // The table in `rules` agrees with the outcome.
            assert_eq!(
                next(state, kind).is_some(),
                expected != "-",
                "{state_name} × {kind:?}"
            );
        }
    }
}

#[test]
fn every_reachable_state_satisfies_the_invariants() {
    let cast = Cast::new();
    for state in CaseState::ALL {
        assert_eq!(case_in(&cast, state).check(), Ok(()), "{state:?}");
    }
}

#[test]
fn only_the_right_kind_of_actor_may_act() {
    let cast = Cast::new();
    // A staff member who may do anything the workflow allows staff to do here.
    let staff = Actor::staff(cast.checker, [crate::role::Role::TownshipCentre]);
    let allowed: [(ActionKind, [bool; 3]); 18] = {
        use ActionKind as A;
        // [staff, system, citizen]
        [
            (A::Assign, [true, true, false]),
            (A::Dispatch, [true, false, false]),
            (A::Acknowledge, [true, false, false]),
            (A::Start, [true, false, false]),
            (A::Pause, [true, false, false]),
            (A::Resume, [true, false, false]),
            (A::Resolve, [true, false, false]),
            (A::Return, [true, false, false]),
            (A::Transfer, [true, false, false]),
            (A::Escalate, [true, true, false]),
            (A::RequestInvalid, [true, false, false]),
            (A::ApproveInvalid, [true, false, false]),
            (A::RejectInvalid, [true, false, false]),
            (A::FollowUp, [true, false, false]),
            (A::Rate, [false, false, true]),
            (A::Reopen, [true, false, false]),
            (A::Close, [true, true, false]),
            (A::Note, [true, true, false]),
        ]
    };
    for (kind, expect) in allowed {
        let state = CaseState::ALL
            .into_iter()
            .find(|s| next(*s, kind).is_some())
            .expect("every action is allowed somewhere");
        let facts = case_in(&cast, state);
        let (_, action) = canonical(&cast, &facts, kind);
        for (actor, ok) in [staff.clone(), Actor::System, Actor::Citizen]
            .into_iter()
            .zip(expect)
        {
            let result = apply(&facts, &actor, &action, super::test_fixtures::at(100));
            match result {
                Ok(_) => assert!(ok, "{kind:?} by {actor:?} must be refused"),
                Err(WorkflowError::Forbidden { action: a, .. }) => {
                    assert!(!ok, "{kind:?} by {actor:?} must be allowed");
                    assert_eq!(a, kind);
                }
                Err(other) => panic!("{kind:?} by {actor:?}: unexpected {other:?}"),
            }
        }
    }
}

#[test]
fn each_action_emits_its_event() {
    use ActionKind as A;
    use EventType as E;
    let cast = Cast::new();
    let cases: [(CaseState, ActionKind, &[EventType]); 18] = [
        (CaseState::Created, A::Assign, &[E::CaseAssigned]),
        (CaseState::Returned, A::Dispatch, &[E::CaseAssigned]),
        (CaseState::Assigned, A::Acknowledge, &[E::CaseAcknowledged]),
        (CaseState::Acknowledged, A::Start, &[]),
        (CaseState::InProgress, A::Pause, &[E::CasePaused]),
        (CaseState::WaitingOnCitizen, A::Resume, &[E::CaseResumed]),
        (CaseState::InProgress, A::Resolve, &[E::CaseResolved]),
        (CaseState::Assigned, A::Return, &[E::CaseReturned]),
        (CaseState::InProgress, A::Transfer, &[E::CaseTransferred]),
        (CaseState::Assigned, A::Escalate, &[E::CaseEscalated]),
        (
            CaseState::Assigned,
            A::RequestInvalid,
            &[E::CaseInvalidationRequested],
        ),
        (
            CaseState::InvalidRequested,
            A::ApproveInvalid,
            &[E::CaseInvalidated],
        ),
        (
            CaseState::InvalidRequested,
            A::RejectInvalid,
            &[E::CaseInvalidationRejected],
        ),
        (CaseState::Resolved, A::FollowUp, &[E::CaseFollowedUp]),
        (CaseState::Resolved, A::Rate, &[E::CaseFollowedUp]),
        (CaseState::Closed, A::Reopen, &[E::CaseReopened]),
        (CaseState::FollowedUp, A::Close, &[E::CaseClosed]),
        (CaseState::InProgress, A::Note, &[]),
    ];
    for (state, kind, events) in cases {
        let facts = case_in(&cast, state);
        let (actor, action) = canonical(&cast, &facts, kind);
        let outcome = apply(&facts, &actor, &action, super::test_fixtures::at(100))
            .unwrap_or_else(|e| panic!("{kind:?} from {state:?}: {e}"));
        assert_eq!(outcome.events, events, "{kind:?} from {state:?}");
    }
}
