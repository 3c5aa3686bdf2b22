//! Extension requests (申请延期): the handler asks with a reason and a date, a second
//! person approves (the resolution deadline and its breach timer move) or rejects
//! (nothing moves); one pending request per case; bad dates are named.

use chrono::{DateTime, Duration, Utc};
use mashang_tests::browser::Browser;
use mashang_tests::cases::case_id;
use mashang_tests::intake::post_report;
use mashang_tests::{Client, PASSWORD, TestApp, TestEnv, seed_tenant};
use serde_json::json;

async fn report(app: &TestApp, qr: &str, text: &str, key: &str) -> String {
    let body = json!({"qr_token": qr, "category": "roads", "description": text});
    post_report(&app.intake, &body, Some(key))
        .await
        .expect(201)
        .body["tracking_number"]
        .as_str()
        .expect("a number")
        .to_owned()
}

async fn due(client: &Client, id: &str) -> DateTime<Utc> {
    client
        .get(&format!("/api/v1/cases/{id}"))
        .await
        .expect(200)
        .body["resolution_due"]
        .as_str()
        .expect("a resolution deadline")
        .parse()
        .expect("RFC 3339")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_extension_moves_the_deadline_and_a_rejected_one_leaves_it() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "extend").await;
    let app = TestApp::monolith(&env).await;
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;
    let first = report(&app, &fx.qr_token, "路灯坏了三盏", "ext-1").await;
    let second = report(&app, &fx.qr_token, "护栏被撞断了", "ext-2").await;
    let a = case_id(&worker, &first).await;
    let b = case_id(&worker, &second).await;
    let before = due(&worker, &a).await;
    let ask = |id: &str| format!("/api/v1/cases/{id}/extension-requests");

    // Bad dates and a missing reason are named.
    for (until, reason) in [
        ((Utc::now() - Duration::hours(1)).to_rfc3339(), "需要协调"),
        ((before - Duration::hours(1)).to_rfc3339(), "需要协调"),
        ((Utc::now() + Duration::days(31)).to_rfc3339(), "需要协调"),
        ("下周二".to_owned(), "需要协调"),
        ((before + Duration::days(2)).to_rfc3339(), "  "),
    ] {
        let fields = worker
            .post_json(&ask(&a), &json!({"reason": reason, "until": until}))
            .await
            .expect_problem(422);
        assert_eq!(fields.len(), 1, "{until} {reason:?}: {fields:?}");
    }

    // One pending request per case.
    let until = (before + Duration::days(2)).to_rfc3339();
    let request = worker
        .post_json(
            &ask(&a),
            &json!({"reason": "需要协调水务部门", "until": until}),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    worker
        .post_json(&ask(&a), &json!({"reason": "再申请一次", "until": until}))
        .await
        .expect(409);
    // The worker cannot decide; nor can anyone decide their own request.
    worker
        .post_json(
            &format!("/api/v1/extension-requests/{request}/approve"),
            &json!({"note": ""}),
        )
        .await
        .expect(403);
    let own = centre
        .post_json(&ask(&b), &json!({"reason": "综治中心协调中", "until": (due(&centre, &b).await + Duration::days(1)).to_rfc3339()}))
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    centre
        .post_json(
            &format!("/api/v1/extension-requests/{own}/approve"),
            &json!({"note": ""}),
        )
        .await
        .expect(403);

    // Approved: the deadline and the breach timer move to the date asked for.
    centre
        .post_json(
            &format!("/api/v1/extension-requests/{request}/approve"),
            &json!({"note": "同意"}),
        )
        .await
        .expect(200);
    let after = due(&worker, &a).await;
    assert_eq!(after.timestamp(), (before + Duration::days(2)).timestamp());
    let mut owner = env.database.owner().await;
    let (breach,): (DateTime<Utc>,) = sqlx::query_as(
        "SELECT due_at FROM routing.timers WHERE case_id = $1::uuid AND target = 'resolution' AND point = 'breach' AND fired_at IS NULL",
    )
    .bind(&a)
    .fetch_one(&mut owner)
    .await
    .expect("a pending breach timer");
    assert_eq!(breach.timestamp(), after.timestamp());
    centre
        .post_json(
            &format!("/api/v1/extension-requests/{request}/reject"),
            &json!({"note": "晚了"}),
        )
        .await
        .expect(409);
    let timeline = worker
        .get(&format!("/api/v1/cases/{a}"))
        .await
        .expect(200)
        .body["timeline"]
        .clone();
    let actions: Vec<&str> = timeline
        .as_array()
        .expect("a timeline")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"extension_requested") && actions.contains(&"extension_approved"),
        "{actions:?}"
    );

    // Rejected (with a reason, required): the deadline stays.
    let third = report(&app, &fx.qr_token, "公厕没人打扫", "ext-3").await;
    let c = case_id(&worker, &third).await;
    let c_before = due(&worker, &c).await;
    let request = worker
        .post_json(
            &ask(&c),
            &json!({"reason": "等待材料", "until": (c_before + Duration::days(1)).to_rfc3339()}),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let fields = centre
        .post_json(
            &format!("/api/v1/extension-requests/{request}/reject"),
            &json!({"note": " "}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["note"]);
    centre
        .post_json(
            &format!("/api/v1/extension-requests/{request}/reject"),
            &json!({"note": "三天内可以办完"}),
        )
        .await
        .expect(200);
    assert_eq!(due(&worker, &c).await, c_before);
    // Decided, the case takes a new request.
    worker
        .post_json(
            &ask(&c),
            &json!({"reason": "确实需要", "until": (c_before + Duration::days(1)).to_rfc3339()}),
        )
        .await
        .expect(201);
    app.stop().await;
}

async fn sign_in(base: &str, login: &str) -> Browser {
    let b = Browser::new(base);
    let token = b.get("/login").await.expect(200).csrf();
    b.post(
        "/login",
        &[("_csrf", &token), ("login", login), ("password", PASSWORD)],
    )
    .await
    .see_other();
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handler_asks_from_the_case_page_and_the_centre_approves_from_its_list() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "extpage").await;
    let app = TestApp::monolith(&env).await;
    let api = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let number = report(&app, &fx.qr_token, "桥栏杆松动", "extp-1").await;
    let id = case_id(&api, &number).await;
    let before = due(&api, &id).await;
    let worker = sign_in(&app.routing.base, &fx.logins.worker).await;
    let at = format!("/console/cases/{id}");

    // The form is on the case page, its date field in the township's local time.
    let page = worker.get(&at).await.expect(200);
    assert!(page.has(r#"id="do-extension""#), "{}", page.html);
    let until = (before + Duration::days(2))
        .with_timezone(&china())
        .format("%Y-%m-%dT%H:%M")
        .to_string();

    // No reason: refused in words, the date kept.
    let refused = worker
        .post(
            &format!("{at}/extension"),
            &[("_csrf", &page.csrf()), ("until", &until), ("reason", " ")],
        )
        .await
        .expect(422);
    assert!(refused.has("没有提交"), "{}", refused.html);
    assert!(refused.has(&format!(r#"value="{until}""#)));

    let to = worker
        .post(
            &format!("{at}/extension"),
            &[
                ("_csrf", &page.csrf()),
                ("until", &until),
                ("reason", "需要水务站配合"),
                ("back", &at),
            ],
        )
        .await
        .see_other();
    assert_eq!(to, format!("{at}?ok=extension"));
    let page = worker.get(&to).await.expect(200);
    assert!(page.has("已提交延期申请"), "{}", page.html);
    // While it waits the page says so and does not offer the form again.
    assert!(page.has("延期申请审批中"));
    assert!(!page.has(r#"id="do-extension""#));
    assert_eq!(
        due(&api, &id).await,
        before,
        "nothing moves before approval"
    );

    // The centre finds it on its approvals page and approves it there.
    let centre = sign_in(&app.routing.base, &fx.logins.centre).await;
    let list = centre.get("/console/approvals").await.expect(200);
    assert!(list.has("需要水务站配合"), "{}", list.html);
    let (_, rest) = list
        .html
        .split_once(r#"action="/console/extension-requests/"#)
        .expect("a decision form");
    let request = rest.split('/').next().expect("an id");
    let to = centre
        .post(
            &format!("/console/extension-requests/{request}/approve"),
            &[("_csrf", &list.csrf()), ("note", "同意")],
        )
        .await
        .see_other();
    assert_eq!(to, "/console/approvals?ok=approved");
    let expected = (before + Duration::days(2))
        .with_timezone(&china())
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let moved = due(&api, &id)
        .await
        .with_timezone(&china())
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    assert_eq!(moved, expected);
    // Decided: the form is offered again.
    assert!(
        worker
            .get(&at)
            .await
            .expect(200)
            .has(r#"id="do-extension""#)
    );
    app.stop().await;
}

/// The test township's zone (Asia/Shanghai keeps +08:00 all year).
fn china() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("an offset")
}
