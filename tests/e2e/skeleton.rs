//! One citizen report through all four services, in both modes.

use std::time::Duration;

use mashang_storage::BlobKey;
use mashang_tests::photo::jpeg;
use mashang_tests::{Fixture, PASSWORD, TestApp, TestEnv, eventually, seed_tenant};
use reqwest::multipart::{Form, Part};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

/// Submits a report with a photo and follows it until every service has done its part.
async fn walk(env: &TestEnv, app: &TestApp, fx: &Fixture) {
    let photo = jpeg(300_000, 7);
    let form = Form::new()
        .text("qr_token", fx.qr_token.clone())
        .text("category", "roads")
        .text("description", "村口路灯坏了，晚上很黑")
        .text("contact_phone", "13812341234")
        .text("lat", "34.26")
        .text("lng", "108.94")
        .part(
            "photo",
            Part::bytes(photo.clone())
                .file_name("IMG_0001.jpg")
                .mime_str("image/jpeg")
                .expect("a MIME type"),
        );
    let created = app
        .intake
        .post_multipart("/api/v1/reports", form)
        .await
        .expect(201);
    let tracking = created.body["tracking_number"]
        .as_str()
        .expect("a tracking number")
        .to_owned();
    assert!(
        tracking.starts_with(&format!("{}-", fx.code.to_uppercase())),
        "{tracking}"
    );
    let status_url = created.body["status_url"]
        .as_str()
        .expect("a status URL")
        .to_owned();
    assert!(
        status_url.starts_with(&format!("http://public.test/r/{tracking}?s=")),
        "{status_url}"
    );
    let status_url = status_url.replace("http://public.test", &app.intake.base);

    // The citizen's status moves to assigned once routing's event reaches intake.
    let status = eventually(
        "the citizen's status to show the case as assigned",
        WAIT,
        || async {
            let reply = app.intake.get_json_url(&status_url).await.expect(200);
            (reply.body["status"] == "assigned").then_some(reply.body)
        },
    )
    .await;
    let steps: Vec<&str> = status["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["status"].as_str())
        .collect();
    assert_eq!(steps, ["submitted", "assigned"]);
    assert!(
        status.get("contact_phone").is_none(),
        "the status page never shows the phone"
    );

    // The photo is in the blob store under the tenant's prefix, byte for byte.
    let mut owner = env.database.owner().await;
    let (key, content_type): (String, String) = sqlx::query_as(
        "SELECT blob_key, content_type FROM intake.attachments WHERE tenant_id = $1",
    )
    .bind(fx.tenant.as_uuid())
    .fetch_one(&mut owner)
    .await
    .expect("one attachment row");
    assert!(key.starts_with(&format!("{}/", fx.tenant)), "{key}");
    assert_eq!(content_type, "image/jpeg");
    let stored = app
        .blobs
        .get_bytes(&BlobKey::parse(&key).expect("a valid key"))
        .await
        .expect("the photo is stored");
    assert_eq!(stored.as_ref(), photo.as_slice());

    // The phone is sealed at rest: the stored bytes do not contain the digits.
    let (sealed,): (Vec<u8>,) =
        sqlx::query_as("SELECT contact_phone_sealed FROM intake.reports WHERE tenant_id = $1")
            .bind(fx.tenant.as_uuid())
            .fetch_one(&mut owner)
            .await
            .expect("the report row");
    assert!(!sealed.windows(11).any(|w| w == b"13812341234"));

    // The assignee, signed in, has an in-app notice (the session works with every service).
    let worker_token = app.routing.session_token(&fx.logins.worker, PASSWORD).await;
    let worker_inbox = app.notification.with_bearer(&worker_token);
    let notice = eventually("the worker's in-app notice", WAIT, || async {
        let reply = worker_inbox.get("/api/v1/inbox").await.expect(200);
        reply.body["notices"]
            .as_array()
            .and_then(|n| n.first().cloned())
    })
    .await;
    assert!(
        notice["title"]
            .as_str()
            .is_some_and(|t| t.contains(&tracking)),
        "{notice}"
    );
    let case_id = notice["case_id"]
        .as_str()
        .expect("the notice names its case")
        .to_owned();

    // Routing holds the case, assigned to the grid's worker, due 30 minutes after submission.
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let case = worker
        .get(&format!("/api/v1/cases/{case_id}"))
        .await
        .expect(200)
        .body;
    assert_eq!(case["state"], "assigned");
    assert_eq!(case["assignee_id"], fx.worker.to_string());
    assert_eq!(case["tracking_number"], tracking.as_str());
    assert_eq!(case["vacancy"], false);
    let submitted: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(case["submitted_at"].clone()).expect("a time");
    let due: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(case["first_response_due"].clone()).expect("a time");
    assert_eq!(due - submitted, chrono::Duration::minutes(30));
    let actions: Vec<&str> = case["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .filter_map(|t| t["action"].as_str())
        .collect();
    assert_eq!(actions, ["created", "assign"]);
    // The assignee sees the phone in full (and the view is audited); others see it masked.
    assert_eq!(case["contact_phone"], "13812341234");
    assert_eq!(case["contact_phone_unmasked"], true);
    let leader = app.routing.signed_in(&fx.logins.leader, PASSWORD).await;
    let seen = leader
        .get(&format!("/api/v1/cases/{case_id}"))
        .await
        .expect(200)
        .body;
    assert_eq!(seen["contact_phone"], "138****1234");
    assert_eq!(seen["contact_phone_unmasked"], false);
    let (views,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM routing.pii_views WHERE tenant_id = $1 AND viewer_id = $2",
    )
    .bind(fx.tenant.as_uuid())
    .bind(fx.worker.as_uuid())
    .fetch_one(&mut owner)
    .await
    .expect("counting");
    assert_eq!(views, 1);
    assert!(
        case["lat"]
            .as_f64()
            .is_some_and(|l| (l - 34.26).abs() < 1e-9)
    );

    // Analytics counted the submission and the assignment.
    let centre_token = app.routing.session_token(&fx.logins.centre, PASSWORD).await;
    let centre = app.analytics.with_bearer(&centre_token);
    eventually("the counts to reach analytics", WAIT, || async {
        let body: Value = centre.get("/api/v1/stats/summary").await.expect(200).body;
        (body["submitted"] == 1 && body["assigned"] == 1).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_goes_through_all_four_services_in_one_process() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "mono").await;
    let app = TestApp::monolith(&env).await;
    walk(&env, &app, &fx).await;
    app.stop().await;
}

/// The outbox relays' listeners hold connections of their own, and a relay holds one
/// from the pool while the in-process bus waits for the consumers, which need their
/// own: four relays and their consumers still get through a pool of five.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_carries_a_report_through_on_a_small_pool() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "small").await;
    let app = TestApp::monolith_with_pool(&env, 5).await;
    walk(&env, &app, &fx).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_goes_through_four_separate_services_over_nats_and_s3() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "split").await;
    let app = TestApp::split(&env, mashang_tests::infra::nats_config()).await;
    walk(&env, &app, &fx).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_of_a_submission_continues_in_routing() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "trace").await;
    let app = TestApp::monolith(&env).await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let reply = app
        .intake
        .http
        .post(app.intake.url("/api/v1/reports"))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&serde_json::json!({"qr_token": fx.qr_token, "category": "roads", "description": "井盖丢了"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(reply.status(), 201);
    // The event routing emitted while handling the report carries the same trace.
    let traceparent = eventually("routing's case.created event", WAIT, || async {
        let mut owner = env.database.owner().await;
        let row: Option<(Value,)> = sqlx::query_as(
            "SELECT envelope FROM routing.outbox WHERE tenant_id = $1 AND event_type = 'case.created'",
        )
        .bind(fx.tenant.as_uuid())
        .fetch_optional(&mut owner)
        .await
        .expect("reading the outbox");
        row.map(|(envelope,)| envelope["traceparent"].as_str().unwrap_or_default().to_owned())
    })
    .await;
    assert!(
        traceparent.starts_with(&format!("00-{trace_id}-")),
        "routing's event is not in the submission's trace: {traceparent:?}"
    );
    app.stop().await;
}
