//! Submitting reports: safe retries with `Idempotency-Key`, the honeypot, the `burst`
//! flag, the abuse limits, and reports filed by a worker on a villager's behalf.

use std::time::{Duration, Instant};

use mashang_intake::LimitConfig;
use mashang_tests::client::Reply;
use mashang_tests::intake::{intake_rows, post_report, report};
use mashang_tests::{PASSWORD, TestApp, TestEnv, eventually, seed_tenant};
use reqwest::multipart::Form;
use serde_json::json;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(30);
/// Reports from one code in a day before the next are flagged (intake's private
/// `submit::BURST_PER_DAY`).
const BURST_PER_DAY: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_report_is_stored_once_and_answered_the_same() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "idem").await;
    let app = TestApp::monolith(&env).await;
    let c = &app.intake;
    let mut owner = env.database.owner().await;

    // The same report twice, one after the other.
    let body = report(&fx.qr_token, "水管爆了，路上全是水");
    let first = post_report(c, &body, Some("retry-1"))
        .await
        .expect(201)
        .body;
    let again = post_report(c, &body, Some("retry-1"))
        .await
        .expect(201)
        .body;
    assert_eq!(again["tracking_number"], first["tracking_number"]);
    assert_eq!(again["status_url"], first["status_url"]);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(intake_rows(&mut owner, fx.tenant).await[0], 1);

    // The same report twice at the same moment (a double tap on a slow network).
    let body = report(&fx.qr_token, "桥边护栏断了");
    let (a, b) = tokio::join!(
        post_report(c, &body, Some("double-tap")),
        post_report(c, &body, Some("double-tap")),
    );
    let (a, b) = (a.expect(201).body, b.expect(201).body);
    assert_eq!(a["tracking_number"], b["tracking_number"]);
    assert_eq!(a["status_url"], b["status_url"]);
    let [reports, _, outbox, numbers, keys] = intake_rows(&mut owner, fx.tenant).await;
    assert_eq!((reports, outbox, numbers, keys), (2, 2, 2, 2));

    // The same key with another report is a mistake, and stores nothing.
    let other = report(&fx.qr_token, "另一件事：路灯不亮");
    let fields = post_report(c, &other, Some("retry-1"))
        .await
        .expect_problem(422);
    assert_eq!(fields, ["Idempotency-Key"]);
    assert_eq!(
        intake_rows(&mut owner, fx.tenant).await,
        [2, 0, 2, 2, 2],
        "nothing new is stored"
    );
    // Without a key, each post is a report of its own.
    post_report(c, &body, None).await.expect(201);
    assert_eq!(intake_rows(&mut owner, fx.tenant).await[0], 3);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_robot_filling_the_hidden_field_is_refused_and_nothing_stored() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "honey").await;
    let app = TestApp::monolith(&env).await;
    let c = &app.intake;

    let mut body = report(&fx.qr_token, "免费领取礼品");
    body["website"] = json!("http://spam.example");
    body["contact_phone"] = json!("13800001111");
    c.post_json("/api/v1/reports", &body)
        .await
        .expect_problem(400);
    let form = Form::new()
        .text("category", "roads")
        .text("description", "免费领取礼品")
        .text("website", "http://spam.example");
    let page = c
        .post_multipart(&format!("/q/{}", fx.qr_token), form)
        .await
        .expect(400);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    let mut owner = env.database.owner().await;
    assert_eq!(intake_rows(&mut owner, fx.tenant).await, [0; 5]);
    // An empty hidden field is what people send: accepted.
    body["website"] = json!("");
    c.post_json("/api/v1/reports", &body).await.expect(201);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_reports_from_one_code_in_a_day_are_all_kept_and_the_later_ones_flagged() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "burst").await;
    let raised = LimitConfig {
        posts_per_address_per_minute: 1_000,
        reports_per_code_per_minute: 1_000,
        ..LimitConfig::default()
    };
    let app = TestApp::monolith_with_limits(&env, raised).await;
    let mut reports = Vec::new();
    for i in 0..BURST_PER_DAY + 2 {
        let body = report(&fx.qr_token, &format!("山体滑坡，第{i}位村民反映"));
        let done = app
            .intake
            .post_json("/api/v1/reports", &body)
            .await
            .expect(201)
            .body;
        reports.push(Uuid::parse_str(done["id"].as_str().expect("an id")).expect("a UUID"));
    }
    let mut owner = env.database.owner().await;
    let mut flags = Vec::new();
    for id in &reports {
        let (f,): (Vec<String>,) = sqlx::query_as("SELECT flags FROM intake.reports WHERE id = $1")
            .bind(id)
            .fetch_one(&mut owner)
            .await
            .expect("a report");
        flags.push(f);
    }
    assert!(
        flags[..BURST_PER_DAY].iter().all(Vec::is_empty),
        "{flags:?}"
    );
    assert!(
        flags[BURST_PER_DAY..].iter().all(|f| f == &["burst"]),
        "{flags:?}"
    );
    // The staff see the flag on the case.
    let last = *reports.last().expect("reports");
    let case_flags = eventually("the last case with its flag", WAIT, || async {
        let row: Option<(Vec<String>,)> =
            sqlx::query_as("SELECT flags FROM routing.cases WHERE report_id = $1")
                .bind(last)
                .fetch_optional(&mut env.database.owner().await)
                .await
                .expect("reading cases");
        row.map(|(f,)| f)
    })
    .await;
    assert_eq!(case_flags, ["burst"]);
    app.stop().await;
}

/// The most posts a quota of `burst` a minute may let through in `elapsed`: the burst,
/// and one more for every refill since the first post (GCRA refills one per
/// 60 s / `burst`).
fn allowed(burst: u64, elapsed: Duration) -> u64 {
    burst + elapsed.as_secs() * burst / 60 + 1
}

/// Sends `post` until it is refused (at most `cap` times); returns the answers.
async fn until_refused<F, Fut>(cap: usize, mut post: F) -> Vec<Reply>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    let mut replies = Vec::new();
    for i in 0..cap {
        let reply = post(i).await;
        let refused = reply.status.as_u16() == 429;
        replies.push(reply);
        if refused {
            break;
        }
    }
    replies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_code_gets_twenty_reports_a_minute() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "lcode").await;
    let app = TestApp::monolith(&env).await;
    let c = &app.intake;
    let started = Instant::now();
    // Twenty at once: all accepted, whatever the timing.
    let sends = (0..20).map(|i| {
        let body = report(&fx.qr_token, &format!("第{i}条"));
        async move { c.post_json("/api/v1/reports", &body).await.status.as_u16() }
    });
    let statuses = futures::future::join_all(sends).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    // Then refused until the quota refills (one report every 3 s).
    let mut replies = until_refused(40, |i| {
        let body = report(&fx.qr_token, &format!("再来第{i}条"));
        async move { c.post_json("/api/v1/reports", &body).await }
    })
    .await;
    let elapsed = started.elapsed();
    let refused = replies.pop().expect("at least one answer");
    let accepted = 20 + replies.len() as u64;
    assert!(
        accepted <= allowed(20, elapsed),
        "{accepted} reports from one code accepted in {elapsed:?}"
    );
    assert!(replies.iter().all(|r| r.status.as_u16() == 201));
    let retry_after = refused.headers.get("retry-after").cloned();
    refused.expect_problem(429);
    assert_eq!(retry_after.as_ref().map(|v| v.as_bytes()), Some(&b"60"[..]));
    // Another code of the same township is not held back.
    let (_, other_token) = {
        let mut tx = env.db().tenant(fx.tenant).await.expect("a transaction");
        let issued = mashang_routing::directory::qr::issue(&mut tx, fx.grid)
            .await
            .expect("a second QR code");
        tx.commit().await.expect("committing");
        issued
    };
    c.post_json("/api/v1/reports", &report(&other_token, "另一个网格"))
        .await
        .expect(201);
    let mut owner = env.database.owner().await;
    assert_eq!(
        intake_rows(&mut owner, fx.tenant).await[0],
        i64::try_from(accepted).expect("a small number") + 1
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_thirty_posts_a_minute_and_a_page_in_plain_words_after() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "laddr").await;
    let app = TestApp::monolith(&env).await;
    let c = &app.intake;
    let started = Instant::now();
    // Thirty posts at once, answered without storing anything (wrong body type).
    let sends = (0..30).map(|_| async {
        c.post_raw("/api/v1/reports", "text/plain", b"hello".to_vec())
            .await
            .status
            .as_u16()
    });
    let statuses = futures::future::join_all(sends).await;
    assert!(statuses.iter().all(|s| *s == 415), "{statuses:?}");
    // Then valid reports, refused for their address until the quota refills (every 2 s).
    let mut replies = until_refused(40, |i| {
        let body = report(&fx.qr_token, &format!("路灯坏了{i}"));
        async move { c.post_json("/api/v1/reports", &body).await }
    })
    .await;
    let elapsed = started.elapsed();
    let refused = replies.pop().expect("at least one answer");
    let accepted = 30 + replies.len() as u64;
    assert!(
        accepted <= allowed(30, elapsed),
        "{accepted} posts from one address accepted in {elapsed:?}"
    );
    let retry_after = refused.headers.get("retry-after").cloned();
    refused.expect_problem(429);
    assert_eq!(retry_after.as_ref().map(|v| v.as_bytes()), Some(&b"60"[..]));

    // The landing page's form gets a page a villager can read. (Missing category: if a
    // refill lets one through, it is refused as a form error and stores nothing.)
    let path = format!("/q/{}", fx.qr_token);
    let mut pages = until_refused(3, |_| {
        let form = Form::new().text("description", "路灯坏了");
        c.post_multipart(&path, form)
    })
    .await;
    let page = pages.pop().expect("an answer");
    assert!(page.headers.contains_key("retry-after"));
    let page = page.expect(429);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    let html = page.body.as_str().expect("HTML");
    assert!(html.contains("lang=\"zh-CN\""), "{html}");
    assert!(
        html.contains("请稍等一分钟") && html.contains("提交得太频繁了"),
        "{html}"
    );
    // Reading is not limited: the landing page still opens.
    c.get(&path).await.expect(200);
    let mut owner = env.database.owner().await;
    assert_eq!(
        intake_rows(&mut owner, fx.tenant).await[0],
        i64::try_from(replies.len()).expect("a small number"),
        "only the reports let through are stored"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_files_a_report_for_a_villager_of_their_own_township_only() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "asst").await;
    let elsewhere = seed_tenant(env.db(), "asso").await;
    let app = TestApp::monolith(&env).await;
    let mut body = report(&fx.qr_token, "张大爷说院墙要倒了");
    body["channel"] = json!("assisted");
    body["contact_phone"] = json!("13900002222");

    app.intake
        .post_json("/api/v1/reports", &body)
        .await
        .expect_problem(401);
    let stranger = app
        .routing
        .signed_in(&elsewhere.logins.worker, PASSWORD)
        .await;
    stranger
        .post_json("/api/v1/reports", &body)
        .await
        .expect_problem(403);
    let mut owner = env.database.owner().await;
    assert_eq!(intake_rows(&mut owner, fx.tenant).await, [0; 5]);

    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let done = worker
        .post_json("/api/v1/reports", &body)
        .await
        .expect(201)
        .body;
    let id = Uuid::parse_str(done["id"].as_str().expect("an id")).expect("a UUID");
    let (channel, by): (String, Option<Uuid>) =
        sqlx::query_as("SELECT channel, submitted_by FROM intake.reports WHERE id = $1")
            .bind(id)
            .fetch_one(&mut owner)
            .await
            .expect("the report");
    assert_eq!(channel, "assisted");
    assert_eq!(by, Some(fx.worker.as_uuid()));
    // The case says how it came in.
    let case_channel = eventually("the assisted case", WAIT, || async {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT channel FROM routing.cases WHERE report_id = $1")
                .bind(id)
                .fetch_optional(&mut env.database.owner().await)
                .await
                .expect("reading cases");
        row.map(|(c,)| c)
    })
    .await;
    assert_eq!(case_channel, "assisted");
    // Any other channel name is refused.
    body["channel"] = json!("phone");
    let fields = worker
        .post_json("/api/v1/reports", &body)
        .await
        .expect_problem(422);
    assert_eq!(fields, ["channel"]);
    app.stop().await;
}
