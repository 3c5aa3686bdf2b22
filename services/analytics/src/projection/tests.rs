//! The projection against the real database: events applied one by one, in any
//! arrival order, give the same facts and roll-ups as a rebuild from the kept history.

use std::sync::OnceLock;

use chrono::{DateTime, Duration, TimeZone, Utc};
use mashang_db::Db;
use mashang_db::testing::TestDatabase;
use mashang_domain::events::{
    CaseAssigned, CaseCreated, CaseUpdate, Envelope, EventType, QrScanned, ReportSubmitted,
};
use mashang_domain::report::Channel;
use mashang_domain::sla::EscalationLevel;
use mashang_domain::{CaseId, GridNodeId, QrCodeId, ReportId, TenantId, UserId};
use proptest::prelude::*;
use serde_json::json;
use uuid::Uuid;

use super::{project, rebuild_tenant};

/// One test database for every case of the property (each case its own township).
fn database() -> &'static (tokio::runtime::Runtime, TestDatabase) {
    static DB: OnceLock<(tokio::runtime::Runtime, TestDatabase)> = OnceLock::new();
    DB.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let db = rt.block_on(TestDatabase::create());
        (rt, db)
    })
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 15, 50, 0)
        .single()
        .expect("a time")
}

/// A step in a case's life, as the generator draws it.
#[derive(Clone, Debug)]
enum Step {
    Acknowledge,
    Resolve,
    Return,
    Transfer(usize),
    Escalate(&'static str),
    Reopen,
    Answer(bool, &'static str, bool),
    RequestInvalid,
    RejectInvalid,
    Invalidate,
    Close,
    Pause,
    Resume(i64),
    Extend(i64),
    Remind,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::Acknowledge),
        Just(Step::Resolve),
        Just(Step::Return),
        (0usize..3).prop_map(Step::Transfer),
        prop_oneof![Just("escalate"), Just("breach"), Just("county_note")].prop_map(Step::Escalate),
        Just(Step::Reopen),
        (
            any::<bool>(),
            prop_oneof![
                Just("satisfied"),
                Just("basically_satisfied"),
                Just("unsatisfied")
            ],
            any::<bool>()
        )
            .prop_map(|(r, s, c)| Step::Answer(r, s, c)),
        Just(Step::RequestInvalid),
        Just(Step::RejectInvalid),
        Just(Step::Invalidate),
        Just(Step::Close),
        Just(Step::Pause),
        (1i64..600).prop_map(Step::Resume),
        (1i64..6000).prop_map(Step::Extend),
        Just(Step::Remind),
    ]
}

/// A report's life: where, how, and its steps with the minutes between them.
#[derive(Clone, Debug)]
struct Life {
    grid: usize,
    category: usize,
    qr: Option<usize>,
    handler: usize,
    level: usize,
    submitted_after: i64,
    steps: Vec<(i64, Step)>,
}

fn life() -> impl Strategy<Value = Life> {
    (
        0usize..2,
        0usize..2,
        prop::option::of(0usize..2),
        0usize..3,
        0usize..5,
        0i64..3000,
        prop::collection::vec((0i64..300, step()), 0..8),
    )
        .prop_map(
            |(grid, category, qr, handler, level, submitted_after, steps)| Life {
                grid,
                category,
                qr,
                handler,
                level,
                submitted_after,
                steps,
            },
        )
}

/// Fixed ids of the generated world.
struct World {
    tenant: TenantId,
    grids: [Uuid; 2],
    codes: [Uuid; 2],
    handlers: [Uuid; 3],
}

#[allow(clippy::too_many_arguments)]
fn update(
    case: CaseId,
    report: ReportId,
    version: i64,
    state: &str,
    action: &str,
    handler: Option<Uuid>,
    level: Option<EscalationLevel>,
    details: serde_json::Value,
    due: DateTime<Utc>,
) -> CaseUpdate {
    CaseUpdate {
        case_id: case,
        case_version: version,
        report_id: report,
        tracking_number: "CT-20261201-0001".into(),
        state: state.into(),
        action: action.into(),
        actor_id: None,
        assignee_id: handler.map(UserId::from_uuid),
        details,
        notify: Vec::new(),
        handler_level: level,
        first_response_due: None,
        resolution_due: Some(due),
    }
}

/// The events of one life, in the order routing would publish them.
fn events_of(world: &World, life: &Life) -> Vec<Envelope> {
    let tenant = world.tenant;
    let report = ReportId::new();
    let case = CaseId::new();
    let mut at = t0() + Duration::minutes(life.submitted_after);
    // A report through a code belongs to the code's grid, as intake files it.
    let grid = world.grids[life.qr.unwrap_or(life.grid)];
    let category = ["roads", "water"][life.category];
    let mut out = Vec::new();
    let submitted = ReportSubmitted {
        report_id: report,
        tracking_number: "CT-20261201-0001".into(),
        qr_code_id: life.qr.map(|q| QrCodeId::from_uuid(world.codes[q])),
        grid_node_id: GridNodeId::from_uuid(grid),
        category: category.into(),
        description: String::new(),
        flags: Vec::new(),
        location: None,
        attachments: Vec::new(),
        channel: if life.qr.is_some() {
            Channel::Qr
        } else {
            Channel::Assisted
        },
        submitted_at: at,
    };
    out.push(Envelope::new(tenant, at, &submitted).expect("an envelope"));
    let mut due = at + Duration::minutes(600);
    let created = CaseCreated {
        case_id: case,
        case_version: 1,
        report_id: report,
        tracking_number: "CT-20261201-0001".into(),
        grid_node_id: GridNodeId::from_uuid(grid),
        category: category.into(),
        first_response_due: at + Duration::minutes(30),
        priority: Some("normal".into()),
        resolution_due: Some(due),
    };
    out.push(Envelope::new(tenant, at, &created).expect("an envelope"));
    let mut handler = Some(world.handlers[life.handler]);
    let mut level = Some(EscalationLevel::ALL[life.level]);
    let assigned = CaseAssigned {
        case_id: case,
        case_version: 2,
        report_id: report,
        tracking_number: "CT-20261201-0001".into(),
        assignee_id: UserId::from_uuid(world.handlers[life.handler]),
        assigned_node_id: GridNodeId::from_uuid(grid),
        vacancy: false,
        first_response_due: at + Duration::minutes(30),
        handler_level: level,
        resolution_due: Some(due),
    };
    out.push(Envelope::new(tenant, at, &assigned).expect("an envelope"));
    let mut version = 2;
    for (minutes, step) in &life.steps {
        at += Duration::minutes(*minutes);
        let (event, state, action, details) = match step {
            Step::Acknowledge => (
                EventType::CaseAcknowledged,
                "acknowledged",
                "acknowledge",
                json!({"contacted_at": at - Duration::minutes(1), "method": "phone", "summary": "ok"}),
            ),
            Step::Resolve => (EventType::CaseResolved, "resolved", "resolve", json!({})),
            Step::Return => {
                handler = None;
                level = None;
                (EventType::CaseReturned, "returned", "return", json!({}))
            }
            Step::Transfer(h) => {
                handler = Some(world.handlers[*h]);
                (
                    EventType::CaseTransferred,
                    "transferred",
                    "transfer",
                    json!({}),
                )
            }
            Step::Escalate(action) => {
                level = Some(EscalationLevel::TownshipCentre);
                (EventType::CaseEscalated, "escalated", *action, json!({}))
            }
            Step::Reopen => (EventType::CaseReopened, "reopened", "reopen", json!({})),
            Step::Answer(resolved, satisfaction, citizen) => (
                EventType::CaseFollowedUp,
                "followed_up",
                if *citizen { "rate" } else { "follow_up" },
                json!({"resolved": resolved, "satisfaction": satisfaction}),
            ),
            Step::RequestInvalid => (
                EventType::CaseInvalidationRequested,
                "invalid_requested",
                "request_invalid",
                json!({}),
            ),
            Step::RejectInvalid => (
                EventType::CaseInvalidationRejected,
                "assigned",
                "reject_invalid",
                json!({}),
            ),
            Step::Invalidate => (
                EventType::CaseInvalidated,
                "invalid",
                "approve_invalid",
                json!({}),
            ),
            Step::Close => (EventType::CaseClosed, "closed", "close", json!({})),
            Step::Pause => (
                EventType::CasePaused,
                "waiting_on_citizen",
                "pause",
                json!({}),
            ),
            Step::Resume(m) => {
                due += Duration::minutes(*m);
                (EventType::CaseResumed, "in_progress", "resume", json!({}))
            }
            Step::Extend(m) => {
                due += Duration::minutes(*m);
                (
                    EventType::CaseExtended,
                    "in_progress",
                    "extension_approved",
                    json!({}),
                )
            }
            Step::Remind => (
                EventType::CaseReminded,
                "in_progress",
                "reminder",
                json!({}),
            ),
        };
        if !matches!(step, Step::Remind | Step::Extend(_)) {
            version += 1;
        }
        let payload = update(
            case, report, version, state, action, handler, level, details, due,
        );
        out.push(Envelope::of_type(tenant, at, event, &payload).expect("an envelope"));
    }
    out
}

fn scan(world: &World, code: usize, minutes: i64) -> Envelope {
    let at = t0() + Duration::minutes(minutes);
    let payload = QrScanned {
        qr_code_id: QrCodeId::from_uuid(world.codes[code]),
        grid_node_id: GridNodeId::from_uuid(world.grids[code]),
        scanned_at: at,
    };
    Envelope::new(world.tenant, at, &payload).expect("an envelope")
}

/// Everything the projection wrote for a township, as comparable text.
async fn snapshot(db: &Db, tenant: TenantId) -> Vec<String> {
    let mut tx = db.tenant(tenant).await.expect("a transaction");
    let mut out = Vec::new();
    for sql in [
        "SELECT to_jsonb(r) - 'updated_at' FROM analytics.case_facts r ORDER BY report_id",
        "SELECT to_jsonb(r) FROM analytics.daily_rollups r ORDER BY day, grid_node_id, village_node_id, category, handler_id",
        "SELECT to_jsonb(r) FROM analytics.daily_durations r ORDER BY day, grid_node_id, village_node_id, category, handler_id, measure, bucket",
        "SELECT to_jsonb(r) FROM analytics.qr_daily r ORDER BY day, qr_code_id",
        "SELECT to_jsonb(r) FROM analytics.daily_totals r ORDER BY day, category",
        "SELECT to_jsonb(r) FROM analytics.daily_total_durations r ORDER BY day, category, measure, bucket",
    ] {
        let rows: Vec<(serde_json::Value,)> = sqlx::query_as(sql)
            .fetch_all(&mut *tx)
            .await
            .expect("reading the projection");
        out.extend(rows.into_iter().map(|(v,)| v.to_string()));
    }
    tx.commit().await.expect("commits");
    out
}

async fn check(lives: Vec<Life>, scans: Vec<(usize, i64)>, order: Vec<u32>) {
    let (_, test) = database();
    let world = World {
        tenant: TenantId::new(),
        grids: [Uuid::now_v7(), Uuid::now_v7()],
        codes: [Uuid::now_v7(), Uuid::now_v7()],
        handlers: [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()],
    };
    let mut events: Vec<Envelope> = lives.iter().flat_map(|l| events_of(&world, l)).collect();
    events.extend(scans.iter().map(|(c, m)| scan(&world, *c, *m)));
    // Arrival in any order, and a few events delivered twice.
    let mut keyed: Vec<(u32, Envelope)> = events
        .into_iter()
        .enumerate()
        .map(|(i, e)| (order.get(i).copied().unwrap_or(0), e))
        .collect();
    keyed.sort_by_key(|(k, _)| *k);
    let again: Vec<Envelope> = keyed.iter().step_by(3).map(|(_, e)| e.clone()).collect();
    for envelope in keyed.into_iter().map(|(_, e)| e).chain(again) {
        let mut tx = test.db.tenant(world.tenant).await.expect("a transaction");
        project(&mut tx, &envelope).await.expect("projects");
        tx.commit().await.expect("commits");
    }
    let incremental = snapshot(&test.db, world.tenant).await;
    let rebuilt = rebuild_tenant(&test.db, world.tenant)
        .await
        .expect("rebuilds");
    assert_eq!(rebuilt.scans, scans.len() as u64);
    let from_scratch = snapshot(&test.db, world.tenant).await;
    let differs = incremental.iter().zip(&from_scratch).find(|(a, b)| a != b);
    assert!(differs.is_none(), "incremental ≠ rebuilt: {differs:?}");
    assert_eq!(incremental, from_scratch);
    assert!(
        from_scratch.len() >= lives.len(),
        "every report has its facts"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn incremental_roll_ups_equal_a_rebuild_from_scratch(
        lives in prop::collection::vec(life(), 1..5),
        scans in prop::collection::vec((0usize..2, 0i64..3000), 0..6),
        order in prop::collection::vec(any::<u32>(), 60),
    ) {
        let (rt, _) = database();
        rt.block_on(check(lives, scans, order));
    }
}
