//! The figures of a small projected history, counted by hand.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use mashang_db::testing::TestDatabase;
use mashang_domain::events::{
    CaseAssigned, CaseCreated, CaseUpdate, Envelope, EventType, QrScanned, ReportSubmitted,
};
use mashang_domain::report::Channel;
use mashang_domain::sla::EscalationLevel;
use mashang_domain::{CaseId, GridNodeId, QrCodeId, ReportId, TenantId, UserId};
use serde_json::json;

use super::trend::{Scope, weekly};
use super::{Filters, Period, township_figures};
use crate::projection::project;

fn at(minutes: i64) -> DateTime<Utc> {
    // 2026-12-01 09:00 in Shanghai.
    Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0)
        .single()
        .expect("a time")
        + Duration::minutes(minutes)
}

struct Case {
    tenant: TenantId,
    report: ReportId,
    case: CaseId,
    version: i64,
    handler: UserId,
    events: Vec<Envelope>,
}

impl Case {
    fn new(tenant: TenantId, grid: GridNodeId, qr: Option<QrCodeId>, handler: UserId) -> Self {
        let report = ReportId::new();
        let case = CaseId::new();
        let submitted = ReportSubmitted {
            report_id: report,
            tracking_number: "CT-20261201-0001".into(),
            qr_code_id: qr,
            grid_node_id: grid,
            category: "roads".into(),
            description: String::new(),
            flags: Vec::new(),
            location: None,
            attachments: Vec::new(),
            channel: if qr.is_some() {
                Channel::Qr
            } else {
                Channel::Assisted
            },
            submitted_at: at(0),
        };
        let created = CaseCreated {
            case_id: case,
            case_version: 1,
            report_id: report,
            tracking_number: "CT-20261201-0001".into(),
            grid_node_id: grid,
            category: "roads".into(),
            first_response_due: at(30),
            priority: Some("normal".into()),
            resolution_due: Some(at(600)),
        };
        let assigned = CaseAssigned {
            case_id: case,
            case_version: 2,
            report_id: report,
            tracking_number: "CT-20261201-0001".into(),
            assignee_id: handler,
            assigned_node_id: grid,
            vacancy: false,
            first_response_due: at(30),
            handler_level: Some(EscalationLevel::GridWorker),
            resolution_due: Some(at(600)),
        };
        Self {
            tenant,
            report,
            case,
            version: 2,
            handler,
            events: vec![
                Envelope::new(tenant, at(0), &submitted).expect("an envelope"),
                Envelope::new(tenant, at(0), &created).expect("an envelope"),
                Envelope::new(tenant, at(0), &assigned).expect("an envelope"),
            ],
        }
    }

    fn then(self, minutes: i64, event: EventType, state: &str, action: &str) -> Self {
        self.then_with(minutes, event, state, action, json!({}))
    }

    fn then_with(
        mut self,
        minutes: i64,
        event: EventType,
        state: &str,
        action: &str,
        details: serde_json::Value,
    ) -> Self {
        self.version += 1;
        let update = CaseUpdate {
            case_id: self.case,
            case_version: self.version,
            report_id: self.report,
            tracking_number: "CT-20261201-0001".into(),
            state: state.into(),
            action: action.into(),
            actor_id: None,
            assignee_id: Some(self.handler),
            details,
            notify: Vec::new(),
            handler_level: Some(EscalationLevel::GridWorker),
            first_response_due: None,
            resolution_due: None,
        };
        self.events.push(
            Envelope::of_type(self.tenant, at(minutes), event, &update).expect("an envelope"),
        );
        self
    }
}

#[tokio::test]
async fn a_small_history_gives_the_figures_counted_by_hand() {
    let test = TestDatabase::create().await;
    let tenant = TenantId::new();
    let grid = GridNodeId::new();
    let code = QrCodeId::new();
    let worker = UserId::new();
    let ack = |m: i64| json!({"contacted_at": at(m), "method": "phone", "summary": "ok"});
    // 1: called back in 10 minutes, resolved in 2 hours, the citizen satisfied.
    let one = Case::new(tenant, grid, Some(code), worker)
        .then_with(
            10,
            EventType::CaseAcknowledged,
            "acknowledged",
            "acknowledge",
            ack(10),
        )
        .then(120, EventType::CaseResolved, "resolved", "resolve")
        .then_with(
            130,
            EventType::CaseFollowedUp,
            "followed_up",
            "rate",
            json!({"resolved": true, "satisfaction": "satisfied"}),
        );
    // 2: called back late (45 minutes), resolved after its deadline, unsatisfied.
    let two = Case::new(tenant, grid, None, worker)
        .then_with(
            45,
            EventType::CaseAcknowledged,
            "acknowledged",
            "acknowledge",
            ack(45),
        )
        .then(700, EventType::CaseResolved, "resolved", "resolve")
        .then_with(
            710,
            EventType::CaseFollowedUp,
            "followed_up",
            "follow_up",
            json!({"resolved": false, "satisfaction": "unsatisfied"}),
        );
    // 3: invalid (approved); 4: invalid asked but rejected, never called back.
    let three = Case::new(tenant, grid, Some(code), worker)
        .then(
            5,
            EventType::CaseInvalidationRequested,
            "invalid_requested",
            "request_invalid",
        )
        .then(6, EventType::CaseInvalidated, "invalid", "approve_invalid");
    let four = Case::new(tenant, grid, None, worker)
        .then(
            5,
            EventType::CaseInvalidationRequested,
            "invalid_requested",
            "request_invalid",
        )
        .then(
            6,
            EventType::CaseInvalidationRejected,
            "assigned",
            "reject_invalid",
        );
    let scans = (0..4).map(|i| {
        let payload = QrScanned {
            qr_code_id: code,
            grid_node_id: grid,
            scanned_at: at(i),
        };
        Envelope::new(tenant, at(i), &payload).expect("an envelope")
    });
    let events: Vec<Envelope> = [one, two, three, four]
        .into_iter()
        .flat_map(|c| c.events)
        .chain(scans)
        .collect();
    for envelope in events.iter().rev() {
        let mut tx = test.db.tenant(tenant).await.expect("a transaction");
        project(&mut tx, envelope).await.expect("projects");
        tx.commit().await.expect("commits");
    }

    let day = NaiveDate::from_ymd_opt(2026, 12, 1).expect("a day");
    let period = Period::new(day, day).expect("a period");
    let mut tx = test.db.tenant(tenant).await.expect("a transaction");
    let out = township_figures(&mut tx, period, &Filters::default())
        .await
        .expect("figures");
    let f = |k: &str| {
        let f = out.figures[k];
        (f.numerator, f.denominator)
    };
    assert_eq!(f("reports"), (4, 4));
    assert_eq!(f("invalid_rate"), (1, 4));
    // Valid: 1, 2, 4. Responded: 1 (on time), 2 (late); 4 never, its deadline passed.
    assert_eq!(f("timely_response_rate"), (1, 3));
    assert_eq!(f("resolution_rate"), (2, 3));
    assert_eq!(f("on_time_resolution_rate"), (1, 3));
    assert_eq!(f("overdue_rate"), (2, 3));
    assert_eq!(f("solved_rate"), (1, 2));
    assert_eq!(f("satisfaction_rate"), (1, 2));
    assert_eq!(f("follow_up_rate"), (2, 2));
    assert_eq!(f("village_rate"), (2, 2));
    assert_eq!(f("cases_per_worker"), (3, 1));
    assert_eq!(out.figures["first_response_median"].value, Some(10.0));
    assert_eq!(out.figures["first_response_p90"].value, Some(45.0));
    assert_eq!(out.figures["resolution_median"].value, Some(120.0));
    assert_eq!(f("qr_scans"), (4, 4));
    assert_eq!(f("qr_conversion"), (2, 4));
    assert_eq!(out.by_worker.len(), 1);
    assert_eq!(out.by_grid[0].figures["reports"].numerator, 4);
    assert_eq!(out.qr.len(), 1);
    assert_eq!((out.qr[0].scans, out.qr[0].reports), (4, 2));

    let other = Period::new(
        day.succ_opt().expect("a day"),
        day.succ_opt().expect("a day"),
    )
    .expect("a period");
    let none = township_figures(&mut tx, other, &Filters::default())
        .await
        .expect("figures");
    assert_eq!(none.figures["reports"].numerator, 0);
    assert_eq!(none.figures["resolution_rate"].value, None);

    // The trend's weeks, read at once, give what the figures of each week give (less
    // durations and cases per worker), for the township, a category, a grid's subtree
    // and the county.
    let end = NaiveDate::from_ymd_opt(2026, 12, 7).expect("a day");
    let grid_nodes = [grid.as_uuid()];
    let scopes = [
        (None, None),
        (Some("roads"), None),
        (Some("water"), None),
        (None, Some(&grid_nodes[..])),
    ];
    for (category, nodes) in scopes {
        let trend = weekly(
            &mut tx,
            Scope::Township {
                tenant: tenant.as_uuid(),
                category,
                nodes,
            },
            end,
            3,
        )
        .await
        .expect("a trend");
        assert_eq!(trend.len(), 3);
        assert_eq!(trend[2].0, Period::new(day, end).expect("a week"));
        for (week, figures) in &trend {
            // Every case is at `grid` (which this test's directory does not hold, so a
            // `node_id` filter would find no subtree): its trend equals the township's.
            let filters = Filters {
                node_id: None,
                category: category.map(str::to_owned),
            };
            let each = township_figures(&mut tx, *week, &filters)
                .await
                .expect("figures");
            let mut expected = each.figures.clone();
            expected.retain(|k, _| {
                !k.ends_with("_median") && !k.ends_with("_p90") && k != "cases_per_worker"
            });
            assert_eq!(figures, &expected, "{category:?} {nodes:?} {week:?}");
        }
        let reports = if category == Some("water") { 0 } else { 4 };
        assert_eq!(trend[2].1["reports"].numerator, reports);
        assert_eq!(trend[1].1["reports"].numerator, 0);
    }
    let elsewhere = [GridNodeId::new().as_uuid()];
    let other_grid = weekly(
        &mut tx,
        Scope::Township {
            tenant: tenant.as_uuid(),
            category: None,
            nodes: Some(&elsewhere),
        },
        end,
        1,
    )
    .await
    .expect("a trend");
    assert_eq!(other_grid[0].1["reports"].numerator, 0);
    assert_eq!(other_grid[0].1["qr_scans"].numerator, 0);
    tx.commit().await.expect("commits");
    let mut county = test
        .db
        .system(mashang_db::SystemScope::CountyRead)
        .await
        .expect("a county read");
    let trend = weekly(&mut county, Scope::County, end, 2)
        .await
        .expect("the county's trend");
    assert_eq!(trend[1].1["timely_response_rate"].numerator, 1);
    assert_eq!(trend[1].1["timely_response_rate"].denominator, 3);
    assert_eq!(trend[1].1["qr_conversion"].numerator, 2);
    assert_eq!(trend[0].1["reports"].numerator, 0);
}
