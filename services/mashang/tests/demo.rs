//! `mashang demo` as a user runs it: the real binary, its own PostgreSQL, a report
//! through all four services, a clean stop, and a second start on the same data.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn data_dir() -> PathBuf {
    // Under target/, which the unprivileged PostgreSQL user can reach when tests run as root.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("demo-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("creating the data folder");
    dir
}

/// The demo process, stopped with SIGTERM even when the test fails part-way.
struct Demo(Option<Child>);

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(child) = self.0.take() {
            stop(child);
        }
    }
}

/// A stand-in OpenTelemetry collector: counts the trace exports it receives.
async fn collector() -> (String, Arc<AtomicUsize>) {
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let counter = counter.clone();
                async move {
                    let protobuf = headers
                        .get("content-type")
                        .is_some_and(|v| v == "application/x-protobuf");
                    if protobuf && !body.is_empty() {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                    axum::http::StatusCode::OK
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

fn start(dir: &Path, otlp: &str) -> Child {
    let _ = std::fs::remove_file(dir.join("demo.json"));
    Command::new(env!("CARGO_BIN_EXE_mashang"))
        .env("MASHANG_OTLP_ENDPOINT", otlp)
        .args([
            "--log-format",
            "pretty",
            "--log",
            "warn",
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir)
        .env_remove("MASHANG_OPERATOR_TOKEN")
        .stdout(Stdio::null())
        .spawn()
        .expect("starting mashang demo")
}

fn wait_for_info(dir: &Path, child: &mut Child) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(text) = std::fs::read_to_string(dir.join("demo.json"))
            && let Ok(info) = serde_json::from_str::<Value>(&text)
        {
            return info;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("mashang demo exited early with {status}");
        }
        assert!(
            Instant::now() < deadline,
            "mashang demo did not write demo.json"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stop(mut child: Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("sending SIGTERM");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("waiting") {
            assert!(status.success(), "mashang demo exited with {status}");
            return;
        }
        assert!(Instant::now() < deadline, "mashang demo did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn poll<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Signs in with one of `demo.json`'s logins; the session token.
async fn sign_in(http: &reqwest::Client, base: &str, login: &Value) -> String {
    let signed: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"login": login["login"], "password": login["password"]}))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("JSON");
    signed["token"]
        .as_str()
        .expect("a session token")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_a_report_through_and_keeps_its_data_across_restarts() {
    let dir = data_dir();
    let (otlp, exported) = collector().await;
    let mut child = start(&dir, &otlp);
    let info = wait_for_info(&dir, &mut child);
    let demo = Demo(Some(child));
    mashang_notification::delivery::outbound::install_tls();
    let http = reqwest::Client::new();
    let base = info["base_url"].as_str().expect("base_url").to_owned();
    let operator = info["operator_token"]
        .as_str()
        .expect("operator_token")
        .to_owned();
    let townships = info["townships"].as_array().expect("townships").clone();
    assert_eq!(townships.len(), 3);
    // Sign-ins for the township centre, an administrator and a grid worker in two townships.
    for t in &townships[..2] {
        let roles: Vec<&str> = t["logins"]
            .as_array()
            .expect("logins")
            .iter()
            .filter_map(|l| l["role"].as_str())
            .collect();
        assert_eq!(
            roles,
            ["township_centre", "township_admin", "grid_worker"],
            "{t}"
        );
    }
    // The county centre's sign-in, shaped like a township's, works at once.
    let county = info["county_logins"].as_array().expect("county_logins");
    let roles: Vec<&str> = county.iter().filter_map(|l| l["role"].as_str()).collect();
    assert_eq!(roles, ["county_centre", "county_admin"], "{info}");
    let token = sign_in(&http, &base, &county[0]).await;
    let me: Value = http
        .get(format!("{base}/api/v1/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    assert!(me.to_string().contains("county_centre"), "{me}");
    let _ = &operator;
    let first = &townships[0];
    let qr = &first["qr"][0];
    let page = http
        .get(qr["url"].as_str().expect("a QR URL"))
        .send()
        .await
        .expect("GET");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .expect("HTML")
            .contains(first["name"].as_str().expect("a name"))
    );

    let created: Value = http
        .post(format!("{base}/api/v1/reports"))
        .json(
            &json!({"qr_token": qr["token"], "category": "utilities", "description": "停水两天了"}),
        )
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("JSON");
    let status_url = created["status_url"]
        .as_str()
        .expect("a status URL")
        .to_owned();
    poll("the report to be assigned", async || {
        let s: Value = http
            .get(&status_url)
            .header("accept", "application/json")
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (s["status"] == "assigned").then_some(())
    })
    .await;
    // The QR code's grid worker got the case.
    let worker = first["workers"][0]["id"].as_str().expect("a worker id");
    assert_eq!(first["workers"][0]["node_code"], qr["node_code"]);
    let _ = worker;
    let login = first["logins"]
        .as_array()
        .expect("logins")
        .iter()
        .find(|l| l["role"] == "grid_worker")
        .expect("a grid worker's sign-in");
    assert_eq!(login["node_code"], qr["node_code"]);
    let token = sign_in(&http, &base, login).await;
    let inbox_url = format!("{base}/api/v1/inbox");
    let number = created["tracking_number"]
        .as_str()
        .expect("a tracking number")
        .to_owned();
    poll("the worker's notice", async || {
        let inbox: Value = http
            .get(&inbox_url)
            .bearer_auth(&token)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        inbox["notices"]
            .as_array()?
            .iter()
            .any(|n| n["title"].as_str().is_some_and(|t| t.contains(&number)))
            .then_some(())
    })
    .await;

    // The first run seeded cases in the states the staff pages show: new,
    // acknowledged, resolved awaiting follow-up, and one past its first-response
    // deadline, which the timers have escalated.
    let cases = |http: reqwest::Client, base: String, token: String| async move {
        let list: Value = http
            .get(format!("{base}/api/v1/cases?mine=true"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("JSON");
        list["cases"].as_array().expect("cases").clone()
    };
    let seeded = cases(http.clone(), base.clone(), token.clone()).await;
    let mut states: Vec<&str> = seeded.iter().filter_map(|c| c["state"].as_str()).collect();
    states.sort_unstable();
    assert_eq!(
        states,
        [
            "acknowledged",
            "assigned",
            "assigned",
            "assigned",
            "resolved"
        ],
        "{seeded:?}"
    );
    let overdue: Vec<&Value> = seeded.iter().filter(|c| c["overdue"] == true).collect();
    assert_eq!(overdue.len(), 1, "{seeded:?}");
    let late = overdue[0]["id"].as_str().expect("an id").to_owned();
    poll("the overdue case to be escalated", async || {
        let case: Value = http
            .get(format!("{base}/api/v1/cases/{late}"))
            .bearer_auth(&token)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (!case["supervisors"].as_array()?.is_empty()).then_some(())
    })
    .await;
    // The second township holds new cases for its centre: one waits in the triage queue.
    let centre = townships[1]["logins"]
        .as_array()
        .expect("logins")
        .iter()
        .find(|l| l["role"] == "township_centre")
        .expect("a centre login")
        .clone();
    let centre_token = sign_in(&http, &base, &centre).await;
    poll("the triage case", async || {
        let list: Value = http
            .get(format!("{base}/api/v1/cases?triage=true"))
            .bearer_auth(&centre_token)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let waiting = list["cases"].as_array()?;
        (waiting.len() == 1
            && waiting[0]["state"] == "created"
            && waiting[0]["assignee_id"].is_null())
        .then_some(())
    })
    .await;
    drop(demo);
    assert!(
        exported.load(Ordering::SeqCst) > 0,
        "spans are exported over OTLP when an endpoint is configured"
    );
    assert!(
        !dir.join("pg/data/postmaster.pid").exists(),
        "the private PostgreSQL is stopped"
    );

    // A second run reuses the folder: same townships, same codes, same report.
    let mut child = start(&dir, &otlp);
    let again = wait_for_info(&dir, &mut child);
    let demo = Demo(Some(child));
    assert_eq!(again["operator_token"], info["operator_token"]);
    assert_eq!(again["townships"][0]["qr"][0]["token"], qr["token"]);
    assert_eq!(again["county_logins"], info["county_logins"], "seeded once");
    let base = again["base_url"].as_str().expect("base_url");
    let status_url = status_url.replace(info["base_url"].as_str().expect("base_url"), base);
    let s: Value = http
        .get(&status_url)
        .header("accept", "application/json")
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    assert_eq!(s["status"], "assigned");
    // Nothing is seeded twice.
    let token = sign_in(&http, base, login).await;
    assert_eq!(
        cases(http.clone(), base.to_owned(), token).await.len(),
        5,
        "the second run seeds no more cases"
    );
    drop(demo);
    let _ = std::fs::remove_dir_all(&dir);
}
