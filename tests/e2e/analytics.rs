//! The figures a township is judged by, through the real services: a scripted day of
//! reports, call-backs in and out of time, resolutions at different levels, a return,
//! an approved and a rejected invalidation and the citizens' answers, whose figures are
//! counted here by hand; the drill-down, isolation between townships, the county's
//! read-only and audited view, and a rebuild that changes nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use mashang_domain::role::Role;
use mashang_tests::cases::case_id;
use mashang_tests::intake::{rating_url, status_url};
use mashang_tests::{Client, Fixture, PASSWORD, TestApp, TestEnv, eventually, seed_tenant};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);
const LONG: Duration = Duration::from_secs(150);

/// A report through the grid's QR code: (case id, tracking number, status URL).
async fn report(
    app: &TestApp,
    fx: &Fixture,
    category: &str,
    viewer: &Client,
) -> (String, String, String) {
    let created = app
        .intake
        .post_json(
            "/api/v1/reports",
            &json!({"qr_token": fx.qr_token, "category": category, "description": "村口路灯不亮", "contact_phone": "13811112222"}),
        )
        .await
        .expect(201);
    let tracking = created.body["tracking_number"]
        .as_str()
        .expect("a number")
        .to_owned();
    let status = status_url(&app.intake, &created.body);
    (case_id(viewer, &tracking).await, tracking, status)
}

fn ack() -> Value {
    json!({"contacted_at": Utc::now(), "method": "phone", "summary": "已电话联系群众"})
}

async fn act(client: &Client, case: &str, action: &str, body: Value) -> Value {
    client
        .post_json(&format!("/api/v1/cases/{case}/{action}"), &body)
        .await
        .expect(200)
        .body
}

async fn rate(app: &TestApp, status: &str, resolved: bool, satisfaction: &str) {
    eventually("the report to show resolved", WAIT, || async {
        let s = app.intake.get_json_url(status).await.expect(200).body;
        (s["can_rate"] == true).then_some(())
    })
    .await;
    let rated = app
        .intake
        .http
        .post(rating_url(status))
        .json(&json!({"resolved": resolved, "satisfaction": satisfaction}))
        .send()
        .await
        .expect("POST");
    assert_eq!(rated.status(), 201);
}

fn today() -> String {
    Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .to_string()
}

/// (numerator, denominator) of each figure.
fn parts(stats: &Value) -> Vec<(String, i64, i64)> {
    stats["figures"]
        .as_object()
        .expect("figures")
        .iter()
        .map(|(k, f)| {
            (
                k.clone(),
                f["numerator"].as_i64().expect("a numerator"),
                f["denominator"].as_i64().expect("a denominator"),
            )
        })
        .collect()
}

/// Whole minutes, rounded up, from one time to another (as the figures count them).
fn minutes_between(from: &Value, to: &Value) -> f64 {
    let a: DateTime<Utc> = serde_json::from_value(from.clone()).expect("a time");
    let b: DateTime<Utc> = serde_json::from_value(to.clone()).expect("a time");
    ((b - a).num_milliseconds().max(0) as f64 / 60_000.0).ceil()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_day_gives_the_figures_counted_by_hand() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "figa").await;
    let other = seed_tenant(env.db(), "figb").await;
    let app = TestApp::monolith(&env).await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    // Roads: a one-minute call-back target, so one case can miss it.
    admin
        .put_json(
            "/api/v1/admin/sla-policies/roads/normal",
            &json!({
                "first_response": {"length": {"wall_minutes": 1}, "reminders": []},
                "resolution": {"length": {"wall_minutes": 600}, "reminders": []},
                "follow_up": {"length": {"working_days": 2}, "reminders": []},
            }),
        )
        .await
        .expect(200);
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let leader = app.routing.signed_in(&fx.logins.leader, PASSWORD).await;
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;

    // Eight openings of the poster's landing page.
    for _ in 0..8 {
        app.intake
            .get(&format!("/q/{}", fx.qr_token))
            .await
            .expect(200);
    }
    // F first: its one-minute target runs while the others are handled.
    let (f, f_no, _) = report(&app, &fx, "roads", &worker).await;
    // A: called back at once, resolved by the grid worker, the citizen satisfied.
    let (a, _, a_status) = report(&app, &fx, "dispute", &worker).await;
    act(&worker, &a, "acknowledge", ack()).await;
    act(&worker, &a, "start", json!({})).await;
    act(
        &worker,
        &a,
        "resolve",
        json!({"measures": "已调解，双方签字"}),
    )
    .await;
    rate(&app, &a_status, true, "satisfied").await;
    // B: called back, sent up to the township centre, which resolves it; the grid
    // leader's follow-up: resolved, basically satisfied.
    let (b, _, _) = report(&app, &fx, "dispute", &worker).await;
    act(&worker, &b, "acknowledge", ack()).await;
    act(
        &worker,
        &b,
        "escalate",
        json!({"level": "township_centre", "reason": "需镇里协调"}),
    )
    .await;
    act(&centre, &b, "acknowledge", ack()).await;
    act(&centre, &b, "start", json!({})).await;
    act(
        &centre,
        &b,
        "resolve",
        json!({"measures": "镇司法所调解完毕"}),
    )
    .await;
    act(
        &leader,
        &b,
        "follow-up",
        json!({"method": "phone", "resolved": true, "satisfaction": "basically_satisfied"}),
    )
    .await;
    // C: returned as mis-routed, dispatched back, resolved; the follow-up finds it
    // unresolved and it is reopened.
    let (c, _, _) = report(&app, &fx, "dispute", &worker).await;
    act(&worker, &c, "return", json!({"reason": "wrong_area"})).await;
    act(&centre, &c, "dispatch", json!({"to": fx.worker})).await;
    act(&worker, &c, "acknowledge", ack()).await;
    act(&worker, &c, "start", json!({})).await;
    act(&worker, &c, "resolve", json!({"measures": "已处理"})).await;
    let reopened = act(
        &leader,
        &c,
        "follow-up",
        json!({"method": "visit", "resolved": false, "satisfaction": "unsatisfied"}),
    )
    .await;
    assert_eq!(reopened["state"], "reopened");
    // D: judged invalid (spam), approved by the centre.
    let (d, d_no, _) = report(&app, &fx, "dispute", &worker).await;
    act(
        &worker,
        &d,
        "request-invalid",
        json!({"reason": {"code": "spam"}}),
    )
    .await;
    act(&centre, &d, "approve-invalid", json!({})).await;
    // E: an invalidation asked for and rejected: a valid case, called back, still open.
    let (e, _, _) = report(&app, &fx, "dispute", &worker).await;
    act(
        &worker,
        &e,
        "request-invalid",
        json!({"reason": {"code": "spam"}}),
    )
    .await;
    act(&centre, &e, "reject-invalid", json!({"note": "确有其事"})).await;
    act(&worker, &e, "acknowledge", ack()).await;
    // F: its call-back target passes (the grid leader is brought in), then the worker
    // calls back late and resolves it.
    eventually("F's missed call-back to escalate", LONG, || async {
        let case = worker
            .get(&format!("/api/v1/cases/{f}"))
            .await
            .expect(200)
            .body;
        case["timeline"]
            .as_array()?
            .iter()
            .any(|t| t["action"] == "escalated")
            .then_some(())
    })
    .await;
    let f_ack = ack();
    act(&worker, &f, "acknowledge", f_ack.clone()).await;
    act(&worker, &f, "start", json!({})).await;
    let f_case = act(&worker, &f, "resolve", json!({"measures": "已更换路灯"})).await;
    // The other township: one report, never counted here.
    let other_worker = app.routing.signed_in(&other.logins.worker, PASSWORD).await;
    let (_, other_no, _) = report(&app, &other, "dispute", &other_worker).await;

    // Counted by hand. Reports: A–F (6, all through the code); invalid: D.
    // Valid: A, B, C, E, F. Called back: A, B, C, E on time; F late.
    // Resolved now: A, B, F (C was reopened); all within their deadlines.
    // Answered: A (satisfied, resolved), B (basically satisfied, resolved),
    // C (unsatisfied, unresolved). Resolved at least once: A, B, C, F.
    // Escalated: B (sent up), F (its missed target). Level: A, F grid; B township.
    // Handlers of valid cases: the worker (A, C, E, F) and the centre (B).
    let expected: Vec<(String, i64, i64)> = [
        ("cases_per_worker", 5, 2),
        ("escalation_rate", 2, 5),
        ("first_response_median", 4, 5),
        ("first_response_p90", 5, 5),
        ("follow_up_rate", 3, 4),
        ("invalid_rate", 1, 6),
        ("on_time_resolution_rate", 3, 3),
        ("overdue_rate", 0, 5),
        ("qr_conversion", 6, 8),
        ("qr_reports", 6, 6),
        ("qr_scans", 8, 8),
        ("reopen_rate", 1, 4),
        ("reports", 6, 6),
        ("resolution_median", 2, 3),
        ("resolution_p90", 3, 3),
        ("resolution_rate", 3, 5),
        ("return_rate", 1, 6),
        ("satisfaction_rate", 2, 3),
        ("solved_rate", 2, 3),
        ("timely_response_rate", 4, 5),
        ("village_rate", 2, 3),
    ]
    .into_iter()
    .map(|(k, n, d)| (k.to_owned(), n, d))
    .collect();
    let day = today();
    let query = format!("/api/v1/stats/township?from={day}&to={day}");
    let stats = eventually("the figures to settle", WAIT, || async {
        let stats = centre.get(&query).await.expect(200).body;
        (parts(&stats) == expected).then_some(stats)
    })
    .await;
    let value = |k: &str| stats["figures"][k]["value"].as_f64();
    assert_eq!(value("timely_response_rate"), Some(0.8));
    assert_eq!(value("qr_conversion"), Some(0.75));
    assert_eq!(value("cases_per_worker"), Some(2.5));
    // Durations: A, B, C, E were called back within their first minute; F after its
    // missed minute, which is the p90 (the 5th of 5).
    assert_eq!(value("first_response_median"), Some(1.0));
    assert_eq!(
        value("first_response_p90"),
        Some(minutes_between(
            &f_case["submitted_at"],
            &f_ack["contacted_at"]
        ))
    );
    assert_eq!(
        value("resolution_p90"),
        Some(minutes_between(
            &f_case["submitted_at"],
            &f_case["resolved_at"]
        ))
    );
    // Breakdowns: one grid, one village; the worker and the centre.
    assert_eq!(stats["by_grid"][0]["id"], fx.grid.to_string());
    assert_eq!(stats["by_village"][0]["id"], fx.village.to_string());
    let workers = stats["by_worker"].as_array().expect("workers");
    let of = |id: String| {
        workers
            .iter()
            .find(|w| w["id"] == id.as_str())
            .map(|w| w["figures"]["reports"]["numerator"].clone())
    };
    assert_eq!(of(fx.worker.to_string()), Some(json!(5)), "A, C, D, E, F");
    assert_eq!(of(fx.centre.to_string()), Some(json!(1)), "B");
    assert_eq!(stats["qr"][0]["scans"], 8);
    assert_eq!(stats["qr"][0]["reports"], 6);

    // Drill-down: the late call-back is the one case of the denominator not in the
    // numerator; the invalid case is D.
    let cases = |figure: &str, part: &str| {
        let centre = &centre;
        let day = day.clone();
        let figure = figure.to_owned();
        let part = part.to_owned();
        async move {
            let page = centre
                .get(&format!(
                    "/api/v1/stats/cases?from={day}&to={day}&figure={figure}&part={part}"
                ))
                .await
                .expect(200)
                .body;
            let mut numbers: Vec<String> = page["cases"]
                .as_array()
                .expect("cases")
                .iter()
                .map(|c| c["tracking_number"].as_str().expect("a number").to_owned())
                .collect();
            numbers.sort();
            numbers
        }
    };
    let denominator = cases("timely_response_rate", "denominator").await;
    let numerator = cases("timely_response_rate", "numerator").await;
    assert_eq!((numerator.len(), denominator.len()), (4, 5));
    let missing: Vec<&String> = denominator
        .iter()
        .filter(|n| !numerator.contains(n))
        .collect();
    assert_eq!(missing, [&f_no]);
    assert_eq!(cases("invalid_rate", "numerator").await, vec![d_no]);
    let all = cases("reports", "numerator").await;
    assert_eq!(all.len(), 6);
    assert!(!all.contains(&other_no), "another township's case");
    assert_eq!(cases("resolution_p90", "numerator").await.len(), 3);
    // Paging: two at a time, all six, each once.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut path = format!(
            "/api/v1/stats/cases?from={day}&to={day}&figure=reports&part=denominator&limit=2"
        );
        if let Some(a) = &after {
            path.push_str(&format!("&after={a}"));
        }
        let page = centre.get(&path).await.expect(200).body;
        for c in page["cases"].as_array().expect("cases") {
            seen.push(c["tracking_number"].as_str().expect("a number").to_owned());
        }
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, all);

    // The other township sees only its own report.
    let other_centre = app.routing.signed_in(&other.logins.centre, PASSWORD).await;
    let theirs = other_centre.get(&query).await.expect(200).body;
    assert_eq!(theirs["figures"]["reports"]["numerator"], 1);

    // Bad input is a 400 problem, never a 500; a worker may not see the township's figures.
    for bad in [
        format!("/api/v1/stats/township?from={day}"),
        "/api/v1/stats/township?from=2026-13-01&to=2026-12-01".to_owned(),
        "/api/v1/stats/township?from=2026-12-02&to=2026-12-01".to_owned(),
        "/api/v1/stats/township?from=2024-01-01&to=2026-12-01".to_owned(),
        format!("/api/v1/stats/cases?from={day}&to={day}&figure=nonsense&part=numerator"),
        format!("/api/v1/stats/cases?from={day}&to={day}&figure=reports&part=all"),
        format!(
            "/api/v1/stats/cases?from={day}&to={day}&figure=reports&part=numerator&limit=100000"
        ),
    ] {
        centre.get(&bad).await.expect_problem(400);
    }
    worker.get(&query).await.expect_problem(403);

    // The county: township roles are refused; a county person sees both townships,
    // ranked, and every read is recorded.
    centre
        .get(&format!("/api/v1/county/stats?from={day}&to={day}"))
        .await
        .expect_problem(403);
    centre
        .get(&format!("/api/v1/county/league?from={day}&to={day}"))
        .await
        .expect_problem(403);
    let county = mashang_tests::county_user(
        env.db(),
        &app.analytics,
        "县综治中心",
        "13600000141",
        &[Role::CountyCentre],
    )
    .await;
    county.get(&query).await.expect_problem(403);
    let side = county
        .get(&format!("/api/v1/county/stats?from={day}&to={day}"))
        .await
        .expect(200)
        .body;
    let row = |code: &str| {
        side["townships"]
            .as_array()
            .expect("townships")
            .iter()
            .find(|t| t["code"] == code)
            .cloned()
            .expect("the township")
    };
    let ours = row("figa");
    for (key, n, d) in &expected {
        if key == "cases_per_worker" {
            continue;
        }
        assert_eq!(
            (
                ours["figures"][key]["numerator"].as_i64(),
                ours["figures"][key]["denominator"].as_i64()
            ),
            (Some(*n), Some(*d)),
            "the county's {key} agrees with the township's"
        );
    }
    assert_eq!(row("figb")["figures"]["reports"]["numerator"], 1);
    let league = county
        .get(&format!("/api/v1/county/league?from={day}&to={day}"))
        .await
        .expect(200)
        .body;
    let ranked = league["league"].as_array().expect("a league");
    let figa = ranked.iter().find(|r| r["code"] == "figa").expect("figa");
    // 25 × 4/5 + 25 × 3/3 + 20 × 2/3 + 10 × 2/3 + 10 × 3/4 + 10 × 2/3, over 100.
    let score =
        25.0 * 0.8 + 25.0 + 20.0 * 2.0 / 3.0 + 10.0 * 2.0 / 3.0 + 10.0 * 0.75 + 10.0 * 2.0 / 3.0;
    assert!(
        (figa["score"].as_f64().expect("a score") - score).abs() < 1e-9,
        "{figa}"
    );
    assert_eq!(figa["components"].as_array().expect("components").len(), 6);
    let across = county
        .get(&format!(
            "/api/v1/county/stats/cases?from={day}&to={day}&figure=reports&part=numerator"
        ))
        .await
        .expect(200)
        .body;
    assert_eq!(across["cases"].as_array().expect("cases").len(), 7);
    let just_b = county
        .get(&format!(
            "/api/v1/county/stats/cases?from={day}&to={day}&figure=reports&part=numerator&tenant=figb"
        ))
        .await
        .expect(200)
        .body;
    assert_eq!(just_b["cases"][0]["tracking_number"], other_no.as_str());
    county
        .get("/api/v1/county/league?from=2026-12-01")
        .await
        .expect_problem(400);
    let mut owner = env.database.owner().await;
    let (reads,): (i64,) = sqlx::query_as("SELECT count(*) FROM analytics.county_reads")
        .fetch_one(&mut owner)
        .await
        .expect("counting");
    assert_eq!(reads, 4, "each county read is recorded");

    // A rebuild from the kept events gives the same figures.
    let rebuilt = mashang_analytics::projection::rebuild_tenant(env.db(), fx.tenant)
        .await
        .expect("a rebuild");
    assert_eq!((rebuilt.reports, rebuilt.scans), (6, 8));
    let again = centre.get(&query).await.expect(200).body;
    assert_eq!(again["figures"], stats["figures"]);
    assert_eq!(again["by_worker"], stats["by_worker"]);
    app.stop().await;
}
