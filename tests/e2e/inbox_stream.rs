//! `GET /api/v1/inbox/stream`: a worker with the console open hears of a new case at
//! once, as server-sent events; others hear nothing of it; streams are limited.

use std::time::{Duration, Instant};

use mashang_tests::intake::{post_report, report};
use mashang_tests::{Client, PASSWORD, TestApp, TestEnv, seed_tenant};

/// Reads the stream until an event of `kind` arrives or `within` passes; the event's
/// data line.
async fn next_event(
    response: &mut reqwest::Response,
    kind: &str,
    within: Duration,
) -> Option<String> {
    let deadline = Instant::now() + within;
    let mut buffer = String::new();
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let chunk = tokio::time::timeout(left, response.chunk())
            .await
            .ok()?
            .ok()??;
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let is_kind = block.lines().any(|l| l == format!("event: {kind}"));
            if is_kind {
                return block
                    .lines()
                    .find_map(|l| l.strip_prefix("data: ").map(str::to_owned));
            }
        }
    }
}

async fn open(client: &Client) -> reqwest::Response {
    client
        .http
        .get(client.url("/api/v1/inbox/stream"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("GET")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_case_reaches_the_workers_open_stream_within_a_second() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "stream").await;
    let other = seed_tenant(env.db(), "streamb").await;
    let app = TestApp::monolith(&env).await;
    let worker = app
        .notification
        .signed_in(&fx.logins.worker, PASSWORD)
        .await;
    let stranger = app
        .notification
        .signed_in(&other.logins.worker, PASSWORD)
        .await;

    let mut mine = open(&worker).await;
    assert_eq!(mine.status().as_u16(), 200);
    assert!(
        mine.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/event-stream"))
    );
    let first = next_event(&mut mine, "unread", Duration::from_secs(5))
        .await
        .expect("the unread count first");
    assert_eq!(first, r#"{"unread":0}"#);
    let mut theirs = open(&stranger).await;
    next_event(&mut theirs, "unread", Duration::from_secs(5))
        .await
        .expect("their count");

    let sent = Instant::now();
    post_report(&app.intake, &report(&fx.qr_token, "村口路灯坏了"), None)
        .await
        .expect(201);
    let data = next_event(&mut mine, "notice", Duration::from_secs(5))
        .await
        .expect("the new case's notice");
    let took = sent.elapsed();
    let event: serde_json::Value = serde_json::from_str(&data).expect("JSON");
    assert_eq!(event["notice"]["kind"], "case_assigned");
    assert!(
        event["notice"]["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("新案件"))
    );
    assert_eq!(event["unread"], 1);
    assert!(took < Duration::from_secs(2), "took {took:?}");
    // Another township's worker hears nothing of it.
    assert_eq!(
        next_event(&mut theirs, "notice", Duration::from_secs(2)).await,
        None
    );

    // At most five streams per person; the sixth is refused until one closes.
    let mut more = Vec::new();
    for _ in 0..4 {
        more.push(open(&worker).await);
    }
    assert!(more.iter().all(|r| r.status().as_u16() == 200));
    assert_eq!(open(&worker).await.status().as_u16(), 429);
    drop(more);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(open(&worker).await.status().as_u16(), 200);

    // Signed out: no stream.
    assert_eq!(
        open(&Client::new(app.notification.base.clone()))
            .await
            .status()
            .as_u16(),
        401
    );
    app.stop().await;
}
