//! The township's control of routing: policies applied to new cases and re-applied on
//! request, deadlines in unpublished years, the county's supervision, and refusals of
//! every case endpoint to other townships and to roles without the right.

use std::time::Duration;

use chrono::{DateTime, Datelike, Utc};
use mashang_domain::role::Role;
use mashang_tests::cases::case_id;
use mashang_tests::{Client, Fixture, PASSWORD, TestApp, TestEnv, eventually, seed_tenant};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

/// Submits a report and returns the case once routing shows it to `viewer`.
async fn report(app: &TestApp, fx: &Fixture, category: &str, viewer: &Client) -> Value {
    let created = app
        .intake
        .post_json(
            "/api/v1/reports",
            &json!({"qr_token": fx.qr_token, "category": category, "description": "沟渠堵塞"}),
        )
        .await
        .expect(201);
    let tracking = created.body["tracking_number"]
        .as_str()
        .expect("a number")
        .to_owned();
    let id = case_id(viewer, &tracking).await;
    viewer
        .get(&format!("/api/v1/cases/{id}"))
        .await
        .expect(200)
        .body
}

fn time(v: &Value) -> DateTime<Utc> {
    serde_json::from_value(v.clone()).expect("a time")
}

fn policy(first_response_minutes: u32, resolution_days: u32) -> Value {
    json!({
        "first_response": {"length": {"wall_minutes": first_response_minutes}, "reminders": [50, 80]},
        "resolution": {"length": {"working_days": resolution_days}, "reminders": [50, 80]},
        "follow_up": {"length": {"working_days": 2}, "reminders": []},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_policy_applies_to_new_cases_until_an_admin_reapplies_it() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "policy").await;
    let other = seed_tenant(env.db(), "policyb").await;
    let app = TestApp::monolith(&env).await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    admin
        .put_json("/api/v1/admin/sla-policies/roads/normal", &policy(60, 3))
        .await
        .expect(200);
    let first = report(&app, &fx, "roads", &worker).await;
    let id = first["id"].as_str().expect("an id").to_owned();
    let submitted = time(&first["submitted_at"]);
    assert_eq!(
        time(&first["first_response_due"]) - submitted,
        chrono::Duration::minutes(60)
    );
    assert!(first["resolution_due"].is_string(), "{first}");

    // A tighter policy: new cases take it, the open one keeps its snapshot.
    admin
        .put_json("/api/v1/admin/sla-policies/roads/normal", &policy(20, 3))
        .await
        .expect(200);
    let second = report(&app, &fx, "roads", &worker).await;
    assert_eq!(
        time(&second["first_response_due"]) - time(&second["submitted_at"]),
        chrono::Duration::minutes(20)
    );
    let unchanged = worker
        .get(&format!("/api/v1/cases/{id}"))
        .await
        .expect(200)
        .body;
    assert_eq!(unchanged["first_response_due"], first["first_response_due"]);

    // Only the township's administrator may re-apply; another township's gets a 404.
    let path = format!("/api/v1/cases/{id}/reapply-policy");
    worker
        .post_json(&path, &json!({}))
        .await
        .expect_problem(403);
    let outsider = app.routing.signed_in(&other.logins.admin, PASSWORD).await;
    outsider
        .post_json(&path, &json!({}))
        .await
        .expect_problem(404);
    let reapplied = admin.post_json(&path, &json!({})).await.expect(200).body;
    assert_eq!(
        time(&reapplied["first_response_due"]) - submitted,
        chrono::Duration::minutes(20),
        "the deadline is recomputed from the original submission"
    );
    let entry = reapplied["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .find(|t| t["action"] == "policy_reapplied")
        .cloned()
        .expect("the change is in the timeline");
    assert_eq!(entry["actor_id"], fx.admin.to_string());
    assert_eq!(
        entry["details"]["before"]["first_response_due"],
        first["first_response_due"]
    );
    assert_eq!(
        entry["details"]["after"]["first_response_due"],
        reapplied["first_response_due"]
    );
    // The pending breach timer moved with the deadline: no ghost at the old time.
    let mut owner = env.database.owner().await;
    let breaches: Vec<(DateTime<Utc>,)> = sqlx::query_as(
        "SELECT due_at FROM routing.timers WHERE case_id = $1::uuid AND target = 'first_response' \
         AND point = 'breach' AND fired_at IS NULL",
    )
    .bind(&id)
    .fetch_all(&mut owner)
    .await
    .expect("reading");
    assert_eq!(breaches, [(time(&reapplied["first_response_due"]),)]);

    // A finished case has no deadlines left to change.
    let second_id = second["id"].as_str().expect("an id");
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;
    worker
        .post_json(
            &format!("/api/v1/cases/{second_id}/request-invalid"),
            &json!({"reason": {"code": "spam"}}),
        )
        .await
        .expect(200);
    centre
        .post_json(
            &format!("/api/v1/cases/{second_id}/approve-invalid"),
            &json!({}),
        )
        .await
        .expect(200);
    admin
        .post_json(
            &format!("/api/v1/cases/{second_id}/reapply-policy"),
            &json!({}),
        )
        .await
        .expect_problem(409);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_in_an_unpublished_year_is_provisional_and_alerts_the_admins_once() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "unpub").await;
    let app = TestApp::monolith(&env).await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    // Sixty working days from now always reach into next year, never published yet.
    admin
        .put_json("/api/v1/admin/sla-policies/*/normal", &policy(30, 60))
        .await
        .expect(200);
    let a = report(&app, &fx, "roads", &worker).await;
    let b = report(&app, &fx, "sanitation", &worker).await;
    let year = time(&a["resolution_due"]).year();
    assert!(year > Utc::now().year(), "{a}");
    for case in [&a, &b] {
        assert_eq!(case["deadlines_provisional"], true, "{case}");
    }
    let calendar = admin.get("/api/v1/admin/calendar").await.expect(200).body;
    assert!(
        !calendar["published_years"]
            .as_array()
            .expect("years")
            .contains(&json!(year)),
        "{calendar}"
    );
    // The administrators hear of it once, not once per case.
    let alerts = eventually("the alert", WAIT, || async {
        let inbox = admin.get("/api/v1/inbox").await.expect(200).body;
        let alerts: Vec<Value> = inbox["notices"]
            .as_array()?
            .iter()
            .filter(|n| n["kind"] == "tenant_alerted")
            .cloned()
            .collect();
        (!alerts.is_empty()).then_some(alerts)
    })
    .await;
    report(&app, &fx, "roads", &worker).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let inbox = admin.get("/api/v1/inbox").await.expect(200).body;
    let again = inbox["notices"]
        .as_array()
        .expect("notices")
        .iter()
        .filter(|n| n["kind"] == "tenant_alerted")
        .count();
    assert_eq!((alerts.len(), again), (1, 1));
    assert!(
        alerts[0]["body"]
            .as_str()
            .expect("a text")
            .contains(&year.to_string()),
        "{alerts:?}"
    );

    // Once the year's official schedule is imported (holiday-cn layout), new deadlines
    // are firm.
    let schedule = json!({
        "year": year,
        "papers": ["test schedule"],
        "days": [
            {"name": "元旦", "date": format!("{year}-01-01"), "isOffDay": true},
        ],
    });
    let imported = admin
        .http
        .post(admin.url("/api/v1/admin/calendar/import"))
        .header("content-type", "application/json")
        .body(schedule.to_string())
        .send()
        .await
        .expect("POST");
    assert_eq!(imported.status(), 200);
    let firm = report(&app, &fx, "roads", &worker).await;
    assert_eq!(firm["deadlines_provisional"], false, "{firm}");
    app.stop().await;
}

async fn county_centre(env: &TestEnv, client: &Client) -> Client {
    mashang_tests::county_user(
        env.db(),
        client,
        "县指挥中心",
        "13600000002",
        &[Role::CountyCentre],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_county_supervises_only_cases_a_township_sends_up() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "duban").await;
    let app = TestApp::monolith(&env).await;
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;
    let county = county_centre(&env, &app.routing).await;
    let case = report(&app, &fx, "dispute", &worker).await;
    let id = case["id"].as_str().expect("an id").to_owned();
    let note_path = format!("/api/v1/county/tenants/{}/cases/{id}/notes", fx.code);

    // Not sent up: the county neither lists it nor reaches it.
    let listed = county.get("/api/v1/county/cases").await.expect(200).body;
    assert_eq!(listed["cases"], json!([]));
    county
        .post_json(&note_path, &json!({"body": "请尽快办理"}))
        .await
        .expect_problem(404);

    // Only the township centre sends a case up, once.
    let request = format!("/api/v1/cases/{id}/county-request");
    worker
        .post_json(&request, &json!({"note": "x"}))
        .await
        .expect_problem(403);
    centre
        .post_json(&request, &json!({"note": "涉及多个村，请县里协调"}))
        .await
        .expect(204);
    centre
        .post_json(&request, &json!({}))
        .await
        .expect_problem(409);
    worker.get("/api/v1/county/cases").await.expect_problem(403);

    let listed = county.get("/api/v1/county/cases").await.expect(200).body;
    assert_eq!(listed["cases"][0]["id"], id.as_str());
    assert_eq!(listed["cases"][0]["tenant"]["code"], fx.code.as_str());
    let fields = county
        .post_json(&note_path, &json!({"body": "  "}))
        .await
        .expect_problem(422);
    assert_eq!(fields, ["body"]);
    let deadline = Utc::now() + chrono::Duration::days(3);
    county
        .post_json(
            &note_path,
            &json!({"body": "请三日内办结并报县中心", "deadline": deadline}),
        )
        .await
        .expect(201);
    let seen = worker
        .get(&format!("/api/v1/cases/{id}"))
        .await
        .expect(200)
        .body;
    assert_eq!(
        time(&seen["county_deadline"]).timestamp(),
        deadline.timestamp()
    );
    assert!(
        seen["timeline"]
            .as_array()
            .expect("a timeline")
            .iter()
            .any(|t| t["action"] == "county_note"
                && t["details"]["county_note"] == "请三日内办结并报县中心")
    );
    // The handler and the township centre are told.
    for person in [&worker, &centre] {
        eventually("the county's note", WAIT, || async {
            let inbox = person.get("/api/v1/inbox").await.expect(200).body;
            inbox["notices"]
                .as_array()?
                .iter()
                .any(|n| n["case_id"] == id.as_str() && n["kind"] == "case_escalated")
                .then_some(())
        })
        .await;
    }
    app.stop().await;
}

const ACTIONS: [&str; 17] = [
    "acknowledge",
    "start",
    "pause",
    "resume",
    "resolve",
    "return",
    "transfer",
    "escalate",
    "request-invalid",
    "approve-invalid",
    "reject-invalid",
    "follow-up",
    "reopen",
    "note",
    "dispatch",
    "county-request",
    "reapply-policy",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_endpoint_refuses_other_townships_and_roles_without_the_right() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "perm").await;
    let other = seed_tenant(env.db(), "permb").await;
    let app = TestApp::monolith(&env).await;
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let case = report(&app, &fx, "roads", &worker).await;
    let id = case["id"].as_str().expect("an id").to_owned();

    // Every person of another township, whatever their role: 404 on every endpoint,
    // and the case is untouched.
    for login in [
        &other.logins.worker,
        &other.logins.leader,
        &other.logins.centre,
        &other.logins.admin,
    ] {
        let outsider = app.routing.signed_in(login, PASSWORD).await;
        outsider
            .get(&format!("/api/v1/cases/{id}"))
            .await
            .expect_problem(404);
        for action in ACTIONS {
            let reply = outsider
                .post_json(&format!("/api/v1/cases/{id}/{action}"), &json!({}))
                .await;
            assert_eq!(reply.status, 404, "{login} {action}: {:?}", reply.body);
        }
        // (An administrator configures routing and does not list cases at all.)
        let listed = outsider.get("/api/v1/cases").await;
        if login != &other.logins.admin {
            assert_eq!(listed.status, 200);
            assert!(
                listed.body["cases"]
                    .as_array()
                    .expect("a list")
                    .iter()
                    .all(|c| c["id"] != id.as_str())
            );
        }
    }

    // The grid worker may work the case but not take a centre's or an admin's actions.
    for action in [
        "transfer",
        "dispatch",
        "approve-invalid",
        "reject-invalid",
        "follow-up",
        "reopen",
        "county-request",
        "reapply-policy",
    ] {
        let reply = worker
            .post_json(&format!("/api/v1/cases/{id}/{action}"), &json!({}))
            .await;
        assert_eq!(reply.status, 403, "worker {action}: {:?}", reply.body);
    }
    // The administrator configures routing but does not work cases.
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    admin
        .post_json(&format!("/api/v1/cases/{id}/acknowledge"), &json!({}))
        .await
        .expect_problem(403);
    // Routing settings are the administrator's alone.
    for (path, body) in [
        ("/api/v1/admin/settings", json!({"triage_mode": "triage"})),
        ("/api/v1/admin/calendar", json!({"weekly": {}})),
        ("/api/v1/admin/sla-policies/roads/normal", policy(10, 1)),
    ] {
        worker.put_json(path, &body).await.expect_problem(403);
    }
    worker
        .post_json(
            "/api/v1/admin/assignment-rules",
            &json!({"target_role": "grid_leader"}),
        )
        .await
        .expect_problem(403);
    let after = worker
        .get(&format!("/api/v1/cases/{id}"))
        .await
        .expect(200)
        .body;
    assert_eq!(
        after["version"], case["version"],
        "nothing changed the case"
    );
    assert_eq!(after["state"], case["state"]);

    // Bad settings are refused field by field.
    let fields = admin
        .put_json(
            "/api/v1/admin/settings",
            &json!({"triage_mode": "sometimes"}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["triage_mode"]);
    let fields = admin
        .put_json(
            "/api/v1/admin/calendar",
            &json!({"weekly": {"monday": "18:00-08:00", "someday": "08:00-12:00"}}),
        )
        .await
        .expect_problem(422);
    assert!(fields.contains(&"weekly.monday".to_owned()), "{fields:?}");
    assert!(fields.contains(&"weekly.someday".to_owned()), "{fields:?}");
    admin
        .put_json("/api/v1/admin/sla-policies/nosuch/normal", &policy(10, 1))
        .await
        .expect_problem(422);
    admin
        .put_json("/api/v1/admin/sla-policies/roads/sometimes", &policy(10, 1))
        .await
        .expect_problem(422);
    admin
        .put_json(
            "/api/v1/admin/calendar/overrides/2026-13-01",
            &json!({"kind": "off"}),
        )
        .await
        .expect_problem(422);
    admin
        .post_json(
            "/api/v1/admin/calendar/import",
            &json!({"year": "soon", "days": 3}),
        )
        .await
        .expect_problem(422);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_category_can_hold_its_cases_for_triage_and_make_them_urgent() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "percat").await;
    let app = TestApp::monolith(&env).await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;
    // The township assigns at once; disputes wait for the centre; safety is urgent.
    let dispute = admin
        .put_json(
            "/api/v1/admin/categories/dispute",
            &json!({"name_zh": "矛盾纠纷", "name_en": "Disputes", "icon": "handshake", "triage": "triage"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(dispute["triage"], "triage");
    assert_eq!(dispute["default_priority"], "normal");
    admin
        .put_json(
            "/api/v1/admin/categories/safety",
            &json!({"name_zh": "治安隐患", "name_en": "Public safety hazards", "icon": "shield", "default_priority": "urgent"}),
        )
        .await
        .expect(200);
    let fields = admin
        .put_json(
            "/api/v1/admin/categories/roads",
            &json!({"name_zh": "道路交通", "name_en": "Roads", "triage": "later", "default_priority": "soon"}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["triage", "default_priority"]);

    let held = report(&app, &fx, "dispute", &centre).await;
    assert_eq!(held["in_triage"], true, "{held}");
    assert!(held["assignee_id"].is_null(), "{held}");
    assert!(
        held["first_response_due"].is_string(),
        "the clock runs in triage"
    );
    let roads = report(&app, &fx, "roads", &centre).await;
    assert_eq!(roads["in_triage"], false);
    assert_eq!(roads["assignee_id"], fx.worker.to_string());
    let urgent = report(&app, &fx, "safety", &centre).await;
    assert_eq!(urgent["priority"], "urgent");
    assert_eq!(
        time(&urgent["first_response_due"]) - time(&urgent["submitted_at"]),
        chrono::Duration::minutes(15),
        "urgent cases take the urgent policy's first response"
    );
    assert_eq!(roads["priority"], "normal");
    assert_eq!(
        time(&roads["first_response_due"]) - time(&roads["submitted_at"]),
        chrono::Duration::minutes(30)
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_who_reach_a_case_open_its_photos_and_voice_notes() {
    use mashang_tests::intake::{ogg_voice, upload};
    use mashang_tests::photo::jpeg_with_gps;
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "files").await;
    let other = seed_tenant(env.db(), "filesb").await;
    let app = TestApp::monolith(&env).await;
    let voice = ogg_voice(24_000);
    let sent_photo = upload(
        &app.intake,
        &fx.qr_token,
        jpeg_with_gps(640, 480),
        "p.jpg",
        "image/jpeg",
    )
    .await;
    assert_eq!(sent_photo.status, 201, "{:?}", sent_photo.body);
    let sent_voice = upload(
        &app.intake,
        &fx.qr_token,
        voice.clone(),
        "v.ogg",
        "audio/ogg",
    )
    .await;
    assert_eq!(sent_voice.status, 201, "{:?}", sent_voice.body);
    let photo_id = sent_photo.body["id"].as_str().expect("an id").to_owned();
    let voice_id = sent_voice.body["id"].as_str().expect("an id").to_owned();
    let created = app
        .intake
        .post_json(
            "/api/v1/reports",
            &json!({"qr_token": fx.qr_token, "category": "roads", "description": "路面塌陷，请看照片和语音",
                    "attachment_ids": [photo_id, voice_id]}),
        )
        .await
        .expect(201);
    let tracking = created.body["tracking_number"]
        .as_str()
        .expect("a number")
        .to_owned();
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let id = case_id(&worker, &tracking).await;
    let path = |a: &str| format!("/api/v1/cases/{id}/attachments/{a}");

    // The handler plays the voice note as it was recorded.
    let got = worker
        .http
        .get(worker.url(&path(&voice_id)))
        .send()
        .await
        .expect("GET");
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "audio/ogg");
    assert_eq!(got.headers()["x-content-type-options"], "nosniff");
    assert_eq!(got.bytes().await.expect("bytes").to_vec(), voice);
    // The photo comes as stored: a JPEG without its location.
    let got = worker
        .http
        .get(worker.url(&path(&photo_id)))
        .send()
        .await
        .expect("GET");
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "image/jpeg");
    let bytes = got.bytes().await.expect("bytes");
    let exif = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(bytes.to_vec()));
    if let Ok(exif) = exif {
        assert!(
            exif.get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY)
                .is_none(),
            "the location was removed"
        );
    }
    // The township centre reaches it too; other townships and strangers do not.
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;
    let got = centre
        .http
        .get(centre.url(&path(&voice_id)))
        .send()
        .await
        .expect("GET");
    assert_eq!(got.status(), 200);
    let outsider = app.routing.signed_in(&other.logins.centre, PASSWORD).await;
    let got = outsider
        .http
        .get(outsider.url(&path(&voice_id)))
        .send()
        .await
        .expect("GET");
    assert_eq!(got.status(), 404);
    let got = worker
        .http
        .get(worker.url(&path(&uuid::Uuid::now_v7().to_string())))
        .send()
        .await
        .expect("GET");
    assert_eq!(got.status(), 404);
    let anonymous = reqwest::Client::new()
        .get(worker.url(&path(&voice_id)))
        .send()
        .await
        .expect("GET");
    assert_eq!(anonymous.status(), 401);
    app.stop().await;
}
