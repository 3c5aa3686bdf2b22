//! What the citizen sees after sending: the status by tracking number and the phone's
//! last four digits (throttled against guessing), the rating once the case is
//! resolved, and their own words shown back as text, never as markup.

use std::time::Duration;

use mashang_tests::client::Reply;
use mashang_tests::intake::{emit_case_event, post_report, rating_url, report, status_url};
use mashang_tests::{Client, TestApp, TestEnv, eventually, seed_tenant};
use reqwest::multipart::Form;
use serde_json::{Value, json};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(30);

/// The HTML with character references for `<`, `>` and `'` written as named ones,
/// since either form is correct escaping.
fn entities_named(html: &str) -> String {
    html.replace("&#60;", "&lt;")
        .replace("&#62;", "&gt;")
        .replace("&#39;", "'")
}

async fn status_json(c: &Client, path: &str) -> Reply {
    c.get_json_url(&c.url(path)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_opens_with_the_phones_last_digits_until_too_many_wrong_guesses() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "ph4").await;
    let app = TestApp::monolith(&env).await;
    let c = &app.intake;
    let mut body = report(&fx.qr_token, "下水道堵了");
    body["contact_phone"] = json!("13800001234");
    let done = post_report(c, &body, None).await.expect(201).body;
    let tracking = done["tracking_number"]
        .as_str()
        .expect("a number")
        .to_owned();
    body["contact_phone"] = json!("13800005678");
    let other = post_report(c, &body, None).await.expect(201).body;
    let other_tracking = other["tracking_number"]
        .as_str()
        .expect("a number")
        .to_owned();
    let without_phone = post_report(c, &report(&fx.qr_token, "没留电话"), None)
        .await
        .expect(201)
        .body;

    let path = format!("/r/{tracking}?phone4=1234");
    let status = status_json(c, &path).await.expect(200);
    assert_eq!(status.body["tracking_number"], tracking.as_str());
    assert!(
        status.body.get("contact_phone").is_none(),
        "{}",
        status.body
    );
    let text = status.body.to_string();
    assert!(!text.contains("13800001234"), "{text}");
    let page = c.get(&path).await.expect(200);
    assert!(page.body.as_str().is_some_and(|h| h.contains(&tracking)));

    // Wrong digits look like an unknown number; so do any digits without a phone.
    status_json(c, &format!("/r/{tracking}?phone4=4321"))
        .await
        .expect_problem(404);
    let no_phone = without_phone["tracking_number"].as_str().expect("a number");
    status_json(c, &format!("/r/{no_phone}?phone4=1234"))
        .await
        .expect_problem(404);
    status_json(c, &format!("/r/{tracking}?phone4=12345"))
        .await
        .expect_problem(404);
    for guess in ["0000", "1111", "2222"] {
        status_json(c, &format!("/r/{tracking}?phone4={guess}"))
            .await
            .expect_problem(404);
    }
    // Five wrong guesses for this number: now even the right digits wait an hour.
    let refused = status_json(c, &path).await;
    let retry_after = refused.headers.get("retry-after").cloned();
    refused.expect_problem(429);
    assert!(retry_after.is_some(), "a 429 says when to come back");
    // Other reports are not locked by guesses at this one.
    status_json(c, &format!("/r/{other_tracking}?phone4=5678"))
        .await
        .expect(200);
    // The status link (its secret) still works for the citizen who has it.
    c.get_json_url(&status_url(c, &done)).await.expect(200);
    app.stop().await;
}

/// Waits until routing has made the report's case, and returns (report, case).
async fn case_of(env: &TestEnv, report: &str) -> (Uuid, Uuid) {
    let report = Uuid::parse_str(report).expect("a report id");
    let case = eventually("routing's case to reach intake", WAIT, || async {
        let row: Option<(Option<Uuid>,)> =
            sqlx::query_as("SELECT case_id FROM intake.reports WHERE id = $1")
                .bind(report)
                .fetch_optional(&mut env.database.owner().await)
                .await
                .expect("reading the report");
        row.and_then(|(case,)| case)
    })
    .await;
    (report, case)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_citizen_rates_once_after_resolution_and_their_words_stay_text() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "rate").await;
    let app = TestApp::monolith(&env).await;
    let c = &app.intake;
    let done = post_report(c, &report(&fx.qr_token, "路灯坏了一个月"), None)
        .await
        .expect(201)
        .body;
    let status = status_url(c, &done);
    let rate = rating_url(&status);
    let comment = "还是不亮 <script>alert('x')</script>";
    let rating = json!({"resolved": false, "satisfaction": "unsatisfied", "comment": comment});

    // Not yet resolved.
    let early = c.post_json(&rate.replace(&c.base, ""), &rating).await;
    let detail = early.body["detail"].as_str().unwrap_or_default().to_owned();
    early.expect_problem(409);
    assert!(detail.contains("办结后才能评价"), "{detail}");
    // Missing answers are named.
    let fields = c
        .post_json(&rate.replace(&c.base, ""), &json!({"comment": "好"}))
        .await
        .expect_problem(422);
    assert_eq!(fields, ["resolved", "satisfaction"]);

    // Routing resolves the case (its event, through its outbox and the bus).
    let (report, case) = case_of(&env, done["id"].as_str().expect("an id")).await;
    let mut owner = env.database.owner().await;
    emit_case_event(&mut owner, fx.tenant, "case.resolved", case, report, 10).await;
    let resolved = eventually("the status page to say resolved", WAIT, || async {
        let body: Value = c.get_json_url(&status).await.expect(200).body;
        (body["status"] == "resolved" && body["can_rate"] == true).then_some(body)
    })
    .await;
    assert!(
        resolved["steps"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["status"] == "resolved"))
    );

    // A wrong secret is "not found".
    let (base, _) = rate.split_once("?s=").expect("a secret");
    c.post_json(&format!("{}?s=guess", base.replace(&c.base, "")), &rating)
        .await
        .expect_problem(404);

    let rated = c
        .post_json(&rate.replace(&c.base, ""), &rating)
        .await
        .expect(201)
        .body;
    assert_eq!(rated["resolved"], false);
    assert_eq!(rated["satisfaction"], "unsatisfied");
    assert_eq!(rated["comment"], comment);
    let (envelope,): (Value,) = sqlx::query_as(
        "SELECT envelope FROM intake.outbox WHERE tenant_id = $1 AND event_type = 'report.rated'",
    )
    .bind(fx.tenant.as_uuid())
    .fetch_one(&mut owner)
    .await
    .expect("one report.rated event");
    let payload = &envelope["payload"];
    assert_eq!(payload["resolved"], false);
    assert_eq!(payload["satisfaction"], "unsatisfied");
    assert_eq!(payload["comment"], comment);
    assert_eq!(payload["report_id"], report.to_string());
    assert_eq!(payload["case_id"], case.to_string());
    assert_eq!(payload["tracking_number"], done["tracking_number"]);

    // Once only, said politely.
    let twice = c.post_json(&rate.replace(&c.base, ""), &rating).await;
    let detail = twice.body["detail"].as_str().unwrap_or_default().to_owned();
    twice.expect_problem(409);
    assert!(detail.contains("您已评价过，感谢您的反馈"), "{detail}");
    let (events,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM intake.outbox WHERE tenant_id = $1 AND event_type = 'report.rated'",
    )
    .bind(fx.tenant.as_uuid())
    .fetch_one(&mut owner)
    .await
    .expect("counting");
    assert_eq!(events, 1);
    let after = c.get_json_url(&status).await.expect(200).body;
    assert_eq!(after["can_rate"], false);
    assert_eq!(after["rating"]["satisfaction"], "unsatisfied");

    // The status page shows the comment as text.
    let page = c.get(&status.replace(&c.base, "")).await.expect(200);
    let html = entities_named(page.body.as_str().expect("HTML"));
    assert!(
        html.contains("还是不亮 &lt;script&gt;alert('x')&lt;/script&gt;"),
        "the comment is shown as text: {html}"
    );
    assert!(!html.contains("<script>alert"), "{html}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_a_description_is_stored_as_text_and_shown_escaped() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "xss").await;
    let app = TestApp::monolith(&env).await;
    let c = &app.intake;
    let path = format!("/q/{}", fx.qr_token);
    let words = "<script>alert(document.cookie)</script>井盖没了";

    // Refused (bad phone): the form comes back with the words escaped.
    let refused = Form::new()
        .text("category", "roads")
        .text("description", words)
        .text("contact_phone", "123");
    let page = c.post_multipart(&path, refused).await.expect(422);
    let html = entities_named(page.body.as_str().expect("HTML"));
    assert!(
        html.contains("&lt;script&gt;alert(document.cookie)&lt;/script&gt;井盖没了"),
        "the words come back as text: {html}"
    );
    assert!(!html.contains("<script>alert"), "{html}");

    // Sent: stored exactly as typed; the status page never runs it.
    let sent = Form::new()
        .text("category", "roads")
        .text("description", words);
    let reply = c.post_multipart(&path, sent).await.expect(303);
    let location = reply.headers["location"]
        .to_str()
        .expect("a location")
        .replace("http://public.test", "");
    let mut owner = env.database.owner().await;
    let (stored,): (String,) =
        sqlx::query_as("SELECT description FROM intake.reports WHERE tenant_id = $1")
            .bind(fx.tenant.as_uuid())
            .fetch_one(&mut owner)
            .await
            .expect("the report");
    assert_eq!(stored, words);
    let status = c.get(&location).await.expect(200);
    let html = status.body.as_str().expect("HTML");
    assert!(!html.contains("<script>alert"), "{html}");
    app.stop().await;
}
