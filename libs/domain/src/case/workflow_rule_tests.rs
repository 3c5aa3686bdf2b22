//! The workflow's own actor rules (403), detail rules (422), follow-up verdicts, effects
//! and the serialised shape of actions and timeline entries.

use super::test_fixtures::{Cast, at, canonical, case_in, note, step};
use super::*;
use crate::events::EventType;
use crate::ids::{CaseId, UserId};
use crate::role::Role;
use crate::sla::{EscalationLevel, TargetKind};

fn status(result: Result<Outcome, WorkflowError>) -> u16 {
    match result {
        Ok(_) => 200,
        Err(e) => e.status(),
    }
}

#[test]
fn invalidation_needs_a_second_person_from_the_township_centre() {
    let cast = Cast::new();
    let pending = case_in(&cast, CaseState::InvalidRequested);
    assert_eq!(pending.invalid_requested_by, Some(cast.centre));
    let approve = Action::ApproveInvalid { note: None };
    let reject = Action::RejectInvalid { note: None };
    // The requester cannot approve their own request, even from the centre.
    assert_eq!(
        status(apply(&pending, &cast.actor(cast.centre), &approve, at(9))),
        403
    );
    // Someone outside the centre cannot approve.
    assert_eq!(
        status(apply(&pending, &cast.actor(cast.leader), &approve, at(9))),
        403
    );
    assert_eq!(
        status(apply(&pending, &cast.actor(cast.leader), &reject, at(9))),
        403
    );
    let approved =
        apply(&pending, &cast.actor(cast.centre2), &approve, at(9)).expect("second person");
    assert_eq!(approved.facts.state, CaseState::Invalid);
    assert_eq!(approved.effects, [Effect::StopAllTargets]);

    // A grid worker's request: they may withdraw it; it goes back where it was.
    let assigned = case_in(&cast, CaseState::Acknowledged);
    let request = Action::RequestInvalid {
        reason: InvalidReason::OutsideJurisdiction,
        note: None,
    };
    let requested = apply(&assigned, &cast.actor(cast.worker), &request, at(9)).expect("allowed");
    let withdrawn =
        apply(&requested.facts, &cast.actor(cast.worker), &reject, at(10)).expect("withdraw");
    assert_eq!(withdrawn.facts.state, CaseState::Acknowledged);
    assert_eq!(withdrawn.facts.check(), Ok(()));
}

#[test]
fn the_follow_up_is_never_done_by_a_handler() {
    let cast = Cast::new();
    let resolved = case_in(&cast, CaseState::Resolved);
    let (_, follow_up) = canonical(&cast, &resolved, ActionKind::FollowUp);
    assert_eq!(
        status(apply(
            &resolved,
            &cast.actor(cast.worker),
            &follow_up,
            at(9)
        )),
        403
    );
    // Someone who handled the case earlier and passed it on cannot either.
    let assigned = case_in(&cast, CaseState::Assigned);
    let transfer = Action::Transfer {
        to: cast.worker2,
        node: cast.node,
        reason: note("换人"),
    };
    let mut facts = apply(&assigned, &cast.actor(cast.centre), &transfer, at(2))
        .expect("ok")
        .facts;
    for kind in [ActionKind::Acknowledge, ActionKind::Resolve] {
        facts = step(&cast, &facts, kind);
    }
    assert_eq!(facts.handlers, [cast.worker, cast.worker2]);
    assert_eq!(
        status(apply(&facts, &cast.actor(cast.worker), &follow_up, at(9))),
        403
    );
    assert_eq!(
        status(apply(&facts, &cast.actor(cast.checker), &follow_up, at(9))),
        200
    );
}

#[test]
fn only_a_person_sends_a_case_to_the_county() {
    let cast = Cast::new();
    let facts = case_in(&cast, CaseState::InProgress);
    let to_county = Action::Escalate {
        level: EscalationLevel::County,
        to: UserId::new(),
        reason: Some(note("镇级无法解决")),
    };
    assert_eq!(
        status(apply(&facts, &Actor::System, &to_county, at(9))),
        403
    );
    assert_eq!(
        status(apply(&facts, &cast.actor(cast.centre), &to_county, at(9))),
        200
    );
}

#[test]
fn details_that_contradict_the_case_are_refused_with_their_field() {
    let cast = Cast::new();
    let fields = |result: Result<Outcome, WorkflowError>| match result {
        Err(WorkflowError::InvalidDetails { fields, .. }) => fields
            .into_iter()
            .map(|f| (f.field, f.problem))
            .collect::<Vec<_>>(),
        other => panic!("expected 422, got {other:?}"),
    };
    let assigned = case_in(&cast, CaseState::Assigned);
    let worker = cast.actor(cast.worker);
    let late_call = Action::Acknowledge {
        contacted_at: at(30),
        method: ContactMethod::Visit,
        summary: SummaryText::parse("上门").expect("valid"),
    };
    assert_eq!(
        fields(apply(&assigned, &worker, &late_call, at(10))),
        [("contacted_at".to_owned(), FieldProblem::InFuture)]
    );
    let other = Action::Return {
        reason: ReturnReason::Other,
        note: None,
    };
    assert_eq!(
        fields(apply(&assigned, &worker, &other, at(10))),
        [("note".to_owned(), FieldProblem::Required)]
    );
    let explained = Action::Return {
        reason: ReturnReason::Other,
        note: Some(note("群众已搬走")),
    };
    let returned = apply(&assigned, &worker, &explained, at(10)).expect("with a note");
    assert_eq!(returned.effects, [Effect::NeedsReassignment]);
    assert_eq!(returned.facts.assignee, None);
    let same = Action::Transfer {
        to: cast.worker,
        node: cast.node,
        reason: note("换人"),
    };
    assert_eq!(
        fields(apply(&assigned, &cast.actor(cast.centre), &same, at(10))),
        [("to".to_owned(), FieldProblem::Unchanged)]
    );
    let itself = Action::RequestInvalid {
        reason: InvalidReason::Duplicate { of: cast.case_id },
        note: None,
    };
    assert_eq!(
        fields(apply(&assigned, &worker, &itself, at(10))),
        [("reason.of".to_owned(), FieldProblem::SelfReference)]
    );
    let other_case = Action::RequestInvalid {
        reason: InvalidReason::Duplicate { of: CaseId::new() },
        note: None,
    };
    assert_eq!(status(apply(&assigned, &worker, &other_case, at(10))), 200);
}

#[test]
fn raw_details_are_collected_into_one_422() {
    let mut errors = FieldErrors::default();
    let summary = errors.check("summary", SummaryText::parse("  "));
    let measures = errors.check("measures", MeasuresText::parse(&"长".repeat(2001)));
    let photos = errors.check("photos", Photos::new(vec![]));
    assert!(summary.is_none() && measures.is_none() && photos.is_some());
    let err = errors
        .finish(ActionKind::Resolve)
        .expect_err("two bad fields");
    assert_eq!(err.status(), 422);
    let json = match &err {
        WorkflowError::InvalidDetails { fields, .. } => {
            serde_json::to_value(fields).expect("serialises")
        }
        other => panic!("expected 422, got {other:?}"),
    };
    assert_eq!(
        json,
        serde_json::json!([
            {"field": "summary", "problem": "empty"},
            {"field": "measures", "problem": "too_long", "max": 2000},
        ])
    );
}

#[test]
fn an_unsatisfied_or_unresolved_verdict_reopens_and_is_counted() {
    let cast = Cast::new();
    let resolved = case_in(&cast, CaseState::Resolved);
    let checker = cast.actor(cast.checker);
    for (resolved_said, satisfaction, reopens) in [
        (true, Satisfaction::Satisfied, false),
        (true, Satisfaction::BasicallySatisfied, false),
        (true, Satisfaction::Unsatisfied, true),
        (false, Satisfaction::Satisfied, true),
    ] {
        let follow_up = Action::FollowUp {
            method: ContactMethod::Phone,
            resolved: resolved_said,
            satisfaction,
            note: None,
        };
        let out = apply(&resolved, &checker, &follow_up, at(50)).expect("allowed");
        if reopens {
            assert_eq!(out.facts.state, CaseState::Reopened);
            assert_eq!(out.facts.reopen_count, 1);
            assert_eq!(out.facts.assignee, Some(cast.worker), "back to the handler");
            assert_eq!(
                out.events,
                [EventType::CaseFollowedUp, EventType::CaseReopened]
            );
            assert_eq!(
                out.effects,
                [
                    Effect::StopTarget(TargetKind::FollowUp),
                    Effect::StartTarget(TargetKind::Resolution)
                ]
            );
        } else {
            assert_eq!(out.facts.state, CaseState::FollowedUp);
            assert_eq!(out.effects, [Effect::StopTarget(TargetKind::FollowUp)]);
        }
    }
    // A citizen's unhappy rating after closing reopens too.
    let closed = case_in(&cast, CaseState::Closed);
    let rating = Action::Rate {
        resolved: true,
        satisfaction: Satisfaction::Unsatisfied,
        comment: Some(note("垃圾又堆起来了")),
    };
    let out = apply(&closed, &Actor::Citizen, &rating, at(60)).expect("allowed");
    assert_eq!(
        (out.facts.state, out.facts.reopen_count),
        (CaseState::Reopened, 1)
    );
}

#[test]
fn effects_tell_the_caller_what_to_do_with_the_clocks() {
    let cast = Cast::new();
    let assigned = case_in(&cast, CaseState::Assigned);
    let first = step(&cast, &assigned, ActionKind::Acknowledge);
    let (actor, ack) = canonical(&cast, &assigned, ActionKind::Acknowledge);
    let out = apply(&assigned, &actor, &ack, at(10)).expect("allowed");
    assert_eq!(out.effects, [Effect::StopTarget(TargetKind::FirstResponse)]);
    // After a transfer the new handler calls again, but the first response is long met.
    let transferred = step(&cast, &first, ActionKind::Transfer);
    let (actor, ack) = canonical(&cast, &transferred, ActionKind::Acknowledge);
    assert_eq!(
        apply(&transferred, &actor, &ack, at(20))
            .expect("allowed")
            .effects,
        []
    );
    let working = case_in(&cast, CaseState::InProgress);
    let (actor, pause) = canonical(&cast, &working, ActionKind::Pause);
    let paused = apply(&working, &actor, &pause, at(30)).expect("allowed");
    assert_eq!(
        (paused.effects.as_slice(), paused.facts.clock_paused),
        ([Effect::PauseClock].as_slice(), true)
    );
    let resumed = apply(&paused.facts, &actor, &Action::Resume {}, at(40)).expect("allowed");
    assert_eq!(
        (resumed.effects.as_slice(), resumed.facts.clock_paused),
        ([Effect::ResumeClock].as_slice(), false)
    );
    let (actor, resolve) = canonical(&cast, &working, ActionKind::Resolve);
    assert_eq!(
        apply(&working, &actor, &resolve, at(50))
            .expect("allowed")
            .effects,
        [
            Effect::StopTarget(TargetKind::Resolution),
            Effect::StartTarget(TargetKind::FollowUp)
        ]
    );
}

#[test]
fn actions_and_entries_have_a_stable_serialised_shape() {
    let cast = Cast::new();
    for state in CaseState::ALL {
        let facts = case_in(&cast, state);
        for kind in ActionKind::ALL {
            let (_, action) = canonical(&cast, &facts, kind);
            let stored =
                Action::from_stored(kind.as_str(), action.details_json()).expect("reads back");
            assert_eq!(stored, action);
            assert_eq!(ActionKind::from_slug(&kind.slug()), Some(kind));
        }
    }
    let facts = case_in(&cast, CaseState::Assigned);
    let (actor, ack) = canonical(&cast, &facts, ActionKind::Acknowledge);
    let entry = apply(&facts, &actor, &ack, at(3)).expect("allowed").entry;
    let json = serde_json::to_value(&entry).expect("serialises");
    assert_eq!(json["action"], "acknowledge");
    assert_eq!(json["details"]["method"], "phone");
    assert_eq!(json["actor"]["kind"], "staff");
    assert_eq!(
        json["actor"]["roles"],
        serde_json::json!([Role::GridWorker.as_str()])
    );
    assert_eq!(
        (json["from"].as_str(), json["to"].as_str()),
        (Some("assigned"), Some("acknowledged"))
    );
    let back: TimelineEntry = serde_json::from_value(json).expect("deserialises");
    assert_eq!(back, entry);
    assert_eq!(
        Action::Start {}.details_json(),
        serde_json::json!({}),
        "actions without details store an empty object"
    );
    assert!(Action::from_stored("start", serde_json::json!({})).is_ok());
    assert!(Action::from_stored("resolve", serde_json::json!({"measures": " "})).is_err());
}
