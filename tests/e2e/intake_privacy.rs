//! Personal data in the logs: a report's way through every service, logged at the
//! most verbose level, never writes the citizen's phone number or their words.
//! (Sealing at rest, masking on the status page and the audited unmasked view are
//! covered by `skeleton.rs`.)

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mashang_tests::intake::{post_report, report, status_url};
use mashang_tests::photo::jpeg;
use mashang_tests::{PASSWORD, TestApp, TestEnv, eventually, seed_tenant};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use tracing_subscriber::fmt::format::FmtSpan;

const WAIT: Duration = Duration::from_secs(30);
const PHONE: &str = "13712345678";
const OTHER_PHONE: &str = "15887654321";
const WORDS: &str = "隐私测试：后院邻居天天半夜吵架";

/// Log lines written to memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("a poisoned log buffer"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("the log buffer")).into_owned()
    }
}

/// JSON log lines, as in production, at every level, with every span's fields.
fn verbose(into: Captured) -> tracing::Dispatch {
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
        .with_env_filter("trace")
        .with_writer(move || into.clone())
        .finish();
    tracing::Dispatch::new(subscriber)
}

/// The test's own runtime, every thread of which logs to `dispatch` (the process's
/// global subscriber belongs to all tests; this one only to this test's threads).
fn runtime(dispatch: &tracing::Dispatch) -> tokio::runtime::Runtime {
    let each = dispatch.clone();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(move || {
            // Kept for the thread's life: the guard would restore the global one.
            std::mem::forget(tracing::dispatcher::set_default(&each));
        })
        .build()
        .expect("a runtime")
}

/// Sends reports with a phone every way a citizen can, and has the assignee open one.
async fn submissions() -> String {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "pii").await;
    let app = TestApp::monolith(&env).await;
    let c = &app.intake;
    // The API with JSON, and with a photo (multipart).
    let mut body = report(&fx.qr_token, WORDS);
    body["contact_phone"] = json!(PHONE);
    body["contact_name"] = json!("王大妈");
    let done = post_report(c, &body, Some("pii-1")).await.expect(201).body;
    post_report(c, &body, Some("pii-1")).await.expect(201);
    let form = Form::new()
        .text("qr_token", fx.qr_token.clone())
        .text("category", "dispute")
        .text("description", WORDS)
        .text("contact_phone", OTHER_PHONE)
        .part("photo", Part::bytes(jpeg(3_000, 5)).file_name("a.jpg"));
    c.post_multipart("/api/v1/reports", form).await.expect(201);
    // The landing page's form, refused once (bad name length), then sent.
    let path = format!("/q/{}", fx.qr_token);
    let form = || {
        Form::new()
            .text("category", "dispute")
            .text("description", WORDS)
            .text("contact_phone", PHONE)
    };
    c.post_multipart(&path, form().text("contact_name", "名".repeat(60)))
        .await
        .expect(422);
    c.post_multipart(&path, form()).await.expect(303);
    // Status by digits, right and wrong.
    let tracking = done["tracking_number"]
        .as_str()
        .expect("a number")
        .to_owned();
    c.get_json_url(&c.url(&format!("/r/{tracking}?phone4={}", &PHONE[7..])))
        .await
        .expect(200);
    c.get_json_url(&c.url(&format!("/r/{tracking}?phone4=0000")))
        .await
        .expect(404);

    // The case reaches the worker, who opens it and sees the phone in full.
    let status = status_url(c, &done);
    eventually("the case to be assigned", WAIT, || async {
        let body: Value = c.get_json_url(&status).await.expect(200).body;
        (body["status"] == "assigned").then_some(())
    })
    .await;
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let cases: Vec<(uuid::Uuid,)> =
        sqlx::query_as("SELECT id FROM routing.cases WHERE tenant_id = $1")
            .bind(fx.tenant.as_uuid())
            .fetch_all(&mut env.database.owner().await)
            .await
            .expect("the cases");
    let mut seen = Vec::new();
    for (case,) in cases {
        let view = worker
            .get(&format!("/api/v1/cases/{case}"))
            .await
            .expect(200)
            .body;
        seen.push(
            view["contact_phone"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert!(
        seen.iter().any(|p| p == PHONE),
        "the assignee sees it: {seen:?}"
    );
    app.stop().await;
    tracking
}

#[test]
fn no_log_line_holds_a_citizens_phone_number_or_words() {
    let logs = Captured::default();
    let dispatch = verbose(logs.clone());
    let runtime = runtime(&dispatch);
    let tracking = {
        let _here = tracing::dispatcher::set_default(&dispatch);
        runtime.block_on(submissions())
    };
    runtime.shutdown_timeout(Duration::from_secs(5));
    let text = logs.text();
    // The capture saw the services at work, or this test would prove nothing.
    assert!(
        text.contains(&tracking) || text.contains("report.submitted"),
        "no log captured"
    );
    assert!(
        text.lines().count() > 100,
        "too few log lines: {}",
        text.lines().count()
    );
    for secret in [PHONE, OTHER_PHONE, WORDS, "王大妈"] {
        let hits: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(secret))
            .take(3)
            .collect();
        assert!(
            hits.is_empty(),
            "the log holds {secret:?}:\n{}",
            hits.join("\n")
        );
    }
}
