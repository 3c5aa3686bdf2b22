//! Random action sequences: the case always satisfies its invariants, every accepted
//! action raises the version by one, refusals change nothing, and the timeline of
//! accepted outcomes (also after a JSON round trip) replays to the same snapshot.

use proptest::prelude::*;

use super::test_fixtures::{Cast, at, canonical, note};
use super::*;
use crate::ids::{CaseId, UserId};
use crate::sla::EscalationLevel;

/// One random step: which action, who, and a few knobs for the details.
#[derive(Clone, Debug)]
struct Step {
    kind: usize,
    actor: usize,
    pick: usize,
    flag: bool,
    satisfaction: usize,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = (0usize..18, 0usize..10, 0usize..6, any::<bool>(), 0usize..3).prop_map(
        |(kind, actor, pick, flag, satisfaction)| Step {
            kind,
            actor,
            pick,
            flag,
            satisfaction,
        },
    );
    proptest::collection::vec(step, 1..120)
}

fn pool(cast: &Cast) -> [UserId; 6] {
    [
        cast.worker,
        cast.worker2,
        cast.leader,
        cast.centre,
        cast.centre2,
        cast.checker,
    ]
}

fn build(cast: &Cast, facts: &CaseFacts, s: &Step, minute: i64) -> (Actor, Action) {
    let kind = ActionKind::ALL[s.kind];
    let users = pool(cast);
    let handler = users[s.pick % 3];
    let satisfaction = SATISFACTION_LEVELS[s.satisfaction];
    let method = if s.flag {
        ContactMethod::Phone
    } else {
        ContactMethod::Visit
    };
    let action = match kind {
        ActionKind::Assign => Action::Assign {
            to: handler,
            node: cast.node,
        },
        ActionKind::Dispatch => Action::Dispatch {
            to: handler,
            node: cast.node,
        },
        ActionKind::Acknowledge => Action::Acknowledge {
            // Now and then a contact time in the future, which must be refused.
            contacted_at: at(minute + if s.pick == 5 { 1 } else { -1 }),
            method,
            summary: SummaryText::parse("已联系").expect("valid"),
        },
        ActionKind::Start => Action::Start {},
        ActionKind::Pause => Action::Pause {
            reason: note("等待材料"),
        },
        ActionKind::Resume => Action::Resume {},
        ActionKind::Resolve => Action::Resolve {
            measures: MeasuresText::parse("已处理").expect("valid"),
            photos: Photos::default(),
        },
        ActionKind::Return => Action::Return {
            reason: ReturnReason::ALL[s.pick % 5],
            note: s.flag.then(|| note("说明")),
        },
        ActionKind::Transfer => Action::Transfer {
            to: handler,
            node: cast.node,
            reason: note("改派"),
        },
        ActionKind::Escalate => Action::Escalate {
            level: EscalationLevel::ALL[s.pick % 5],
            to: users[s.pick],
            reason: None,
        },
        ActionKind::RequestInvalid => Action::RequestInvalid {
            reason: match s.pick % 3 {
                0 => InvalidReason::Spam,
                1 if s.flag => InvalidReason::Duplicate { of: cast.case_id },
                1 => InvalidReason::Duplicate { of: CaseId::new() },
                _ => InvalidReason::OutsideJurisdiction,
            },
            note: None,
        },
        ActionKind::ApproveInvalid => Action::ApproveInvalid { note: None },
        ActionKind::RejectInvalid => Action::RejectInvalid { note: None },
        ActionKind::FollowUp => Action::FollowUp {
            method,
            resolved: s.flag || s.pick > 1,
            satisfaction,
            note: None,
        },
        ActionKind::Rate => Action::Rate {
            resolved: s.flag || s.pick > 1,
            satisfaction,
            comment: None,
        },
        ActionKind::Reopen => Action::Reopen {
            reason: note("重办"),
        },
        ActionKind::Close => Action::Close {},
        ActionKind::Note => Action::Note {
            text: note("备注")
        },
    };
    let actor = match s.actor {
        0..=5 => cast.actor(users[s.actor]),
        6 => Actor::System,
        7 => Actor::Citizen,
        // Most often the one who would normally act.
        _ => canonical(cast, facts, kind).0,
    };
    (actor, action)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_sequences_keep_the_case_valid_and_replayable(steps in steps()) {
        let cast = Cast::new();
        let mut facts = CaseFacts::new(cast.case_id);
        let mut timeline = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            let minute = i64::try_from(i).expect("fewer than 2^63 steps") * 7;
            let (actor, action) = build(&cast, &facts, s, minute);
            match apply(&facts, &actor, &action, at(minute)) {
                Ok(outcome) => {
                    prop_assert_eq!(outcome.facts.check(), Ok(()), "after {:?}", action.kind());
                    prop_assert_eq!(outcome.facts.version, facts.version + 1);
                    prop_assert_eq!(outcome.entry.version, outcome.facts.version);
                    prop_assert_eq!(outcome.entry.from, facts.state);
                    prop_assert_eq!(outcome.entry.to, outcome.facts.state);
                    prop_assert!(outcome.facts.reopen_count >= facts.reopen_count);
                    prop_assert!(next(facts.state, action.kind()).is_some());
                    facts = outcome.facts;
                    timeline.push(outcome.entry);
                }
                Err(error) => {
                    prop_assert!([403, 409, 422].contains(&error.status()));
                    if let WorkflowError::NotAllowed { state, .. } = error {
                        prop_assert_eq!(state, facts.state);
                        prop_assert!(next(facts.state, action.kind()).is_none());
                    }
                }
            }
        }
        prop_assert_eq!(facts.version, 1 + i64::try_from(timeline.len()).expect("small"));
        prop_assert_eq!(replay(cast.case_id, &timeline), Ok(facts.clone()));
        let json = serde_json::to_string(&timeline).expect("serialises");
        let stored: Vec<TimelineEntry> = serde_json::from_str(&json).expect("deserialises");
        prop_assert_eq!(replay(cast.case_id, &stored), Ok(facts));
    }
}

#[test]
fn replay_detects_a_tampered_timeline() {
    let cast = Cast::new();
    let mut facts = CaseFacts::new(cast.case_id);
    let mut timeline = Vec::new();
    for kind in [
        ActionKind::Assign,
        ActionKind::Acknowledge,
        ActionKind::Start,
    ] {
        let (actor, action) = canonical(&cast, &facts, kind);
        let outcome = apply(&facts, &actor, &action, at(facts.version)).expect("allowed");
        facts = outcome.facts;
        timeline.push(outcome.entry);
    }
    let mut skipped = timeline.clone();
    skipped.remove(1);
    assert!(matches!(
        replay(cast.case_id, &skipped),
        Err(ReplayError::Refused { index: 1, .. })
    ));
    let mut relabelled = timeline;
    relabelled[2].to = CaseState::Resolved;
    assert!(matches!(
        replay(cast.case_id, &relabelled),
        Err(ReplayError::Diverged { index: 2, .. })
    ));
}

#[test]
fn the_random_sequences_reach_every_state_and_accept_every_action() {
    use std::collections::BTreeSet;

    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let mut states = BTreeSet::new();
    let mut accepted = BTreeSet::new();
    for _ in 0..300 {
        let steps = steps().new_tree(&mut runner).expect("generates").current();
        let cast = Cast::new();
        let mut facts = CaseFacts::new(cast.case_id);
        for (i, s) in steps.iter().enumerate() {
            let minute = i64::try_from(i).expect("small") * 7;
            let (actor, action) = build(&cast, &facts, s, minute);
            if let Ok(outcome) = apply(&facts, &actor, &action, at(minute)) {
                accepted.insert(action.kind());
                facts = outcome.facts;
                states.insert(facts.state);
            }
        }
    }
    assert_eq!(
        states.len(),
        CaseState::ALL.len(),
        "reached only {states:?}"
    );
    assert_eq!(
        accepted.len(),
        ActionKind::ALL.len(),
        "accepted only {accepted:?}"
    );
}
