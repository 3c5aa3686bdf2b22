//! A deployment of four `mashang serve` processes over NATS and S3, a stream of
//! citizen submissions that retries the way the citizen's page does, and the
//! reconciliation that says whether anything was lost or done twice.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mashang_tests::procs::ServiceProcess;
use mashang_tests::{Fixture, eventually};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use uuid::Uuid;

/// One scenario at a time: each runs four processes and a stream of submissions, and
/// two at once on two cores would measure the machine rather than the fault.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::const_new(());
    SERIAL.lock().await
}

/// Submissions per scenario: `MASHANG_FAULT_REPORTS`, or a size that keeps the suite
/// quick; `tests/chaos/run` sets thousands.
pub fn reports_per_scenario() -> usize {
    std::env::var("MASHANG_FAULT_REPORTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

/// Where the processes find their dependencies.
#[derive(Clone, Debug)]
pub struct Endpoints {
    /// Application-role database URL.
    pub database_url: String,
    /// NATS URL.
    pub nats_url: String,
    /// S3 endpoint URL.
    pub s3_endpoint: String,
}

/// The four services, each its own process.
#[derive(Debug)]
pub struct Deployment {
    /// intake, routing, notification, analytics, in that order.
    pub services: Vec<ServiceProcess>,
    _logs: tempfile::TempDir,
}

impl Deployment {
    /// Starts the four processes and waits until each is alive.
    pub async fn start(endpoints: &Endpoints) -> Self {
        let logs = tempfile::tempdir().expect("a log folder");
        let prefix = mashang_tests::infra::unique_prefix();
        let bucket = format!("mashang-f-{}", &Uuid::new_v4().simple().to_string()[..16]);
        let env: Vec<(String, String)> = [
            ("MASHANG_DATABASE_URL", endpoints.database_url.clone()),
            ("MASHANG_DB_MAX_CONNECTIONS", "5".to_owned()),
            ("MASHANG_BUS", "nats".to_owned()),
            ("MASHANG_NATS_URL", endpoints.nats_url.clone()),
            ("MASHANG_NATS_PREFIX", prefix),
            ("MASHANG_STORAGE", "s3".to_owned()),
            ("MASHANG_S3_ENDPOINT", endpoints.s3_endpoint.clone()),
            ("MASHANG_S3_BUCKET", bucket),
            ("MASHANG_S3_PATH_STYLE", "true".to_owned()),
            ("MASHANG_S3_CREATE_BUCKET", "true".to_owned()),
            ("MASHANG_S3_ACCESS_KEY_ID", "test".to_owned()),
            ("MASHANG_S3_SECRET_ACCESS_KEY", "test".to_owned()),
            ("MASHANG_PII_KEY", mashang_tests::infra::pii_key_base64()),
            ("MASHANG_PUBLIC_URL", "http://public.test".to_owned()),
            ("MASHANG_LOG", "warn".to_owned()),
            ("MASHANG_SHUTDOWN_GRACE", "5".to_owned()),
            // Every submission comes from loopback: the abuse limits are not under test.
            ("MASHANG_POSTS_PER_ADDRESS_PER_MINUTE", "1000000".to_owned()),
            ("MASHANG_REPORTS_PER_CODE_PER_MINUTE", "1000000".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let mut services = Vec::new();
        for name in ["intake", "routing", "notification", "analytics"] {
            services.push(ServiceProcess::start(name, &env, logs.path()).await);
        }
        for service in &mut services {
            service.wait_alive().await;
        }
        Self {
            services,
            _logs: logs,
        }
    }

    /// The process running `name`.
    pub fn service(&mut self, name: &str) -> &mut ServiceProcess {
        self.services
            .iter_mut()
            .find(|s| s.name == name)
            .expect("one of the four services")
    }

    /// Stops every process gracefully.
    pub async fn stop(self) {
        for service in self.services {
            service.stop().await;
        }
    }
}

/// What a submission met before it was accepted.
#[derive(Debug, Default)]
pub struct Submissions {
    /// Report ids of accepted (201) submissions.
    pub accepted: Vec<Uuid>,
    /// Answers other than 201, by status and content type (`503 application/problem+json`).
    pub refusals: BTreeMap<String, usize>,
    /// Attempts that got no HTTP answer (connection refused or reset).
    pub unanswered: usize,
}

/// Sends `total` reports through the QR code `qr_token` to intake at `base`, `concurrency` at
/// a time. Each retries with the same `Idempotency-Key` until it is accepted, as the
/// citizen's page does; `progress` counts accepted ones, so a fault can be timed.
pub async fn submit_stream(
    base: String,
    qr_token: String,
    total: usize,
    concurrency: usize,
    progress: Arc<AtomicUsize>,
) -> Submissions {
    mashang_notification::delivery::outbound::install_tls();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(40))
        .build()
        .expect("an HTTP client");
    let next = Arc::new(AtomicUsize::new(0));
    let outcome = Arc::new(Mutex::new(Submissions::default()));
    let run = Uuid::new_v4().simple().to_string();
    let workers = (0..concurrency).map(|_| {
        let (http, next, outcome, progress) = (
            http.clone(),
            next.clone(),
            outcome.clone(),
            progress.clone(),
        );
        let (base, token, run) = (base.clone(), qr_token.clone(), run.clone());
        async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= total {
                    return;
                }
                let body = json!({
                    "qr_token": token,
                    "category": "roads",
                    "description": format!("路面塌陷，请尽快处理 #{i}"),
                });
                let key = format!("{run}-{i}");
                let id = submit_until_accepted(&http, &base, &body, &key, &outcome).await;
                outcome.lock().await.accepted.push(id);
                progress.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    futures::future::join_all(workers).await;
    Arc::try_unwrap(outcome)
        .expect("the workers are done")
        .into_inner()
}

async fn submit_until_accepted(
    http: &reqwest::Client,
    base: &str,
    body: &Value,
    key: &str,
    outcome: &Mutex<Submissions>,
) -> Uuid {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    let mut pause = Duration::from_millis(50);
    loop {
        let sent = http
            .post(format!("{base}/api/v1/reports"))
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await;
        match sent {
            Ok(reply) if reply.status() == 201 => {
                let answer: Value = reply.json().await.expect("a JSON answer");
                return answer["id"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .expect("the report's id");
            }
            Ok(reply) => {
                let kind = format!(
                    "{} {}",
                    reply.status().as_u16(),
                    reply
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                );
                *outcome.lock().await.refusals.entry(kind).or_default() += 1;
            }
            Err(_) => outcome.lock().await.unanswered += 1,
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a submission was not accepted within 3 minutes"
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// Waits until `n` submissions have been accepted.
pub async fn when_accepted(progress: &AtomicUsize, n: usize) {
    eventually(
        "enough accepted submissions",
        Duration::from_secs(180),
        || async { (progress.load(Ordering::SeqCst) >= n).then_some(()) },
    )
    .await;
}

/// What each service did with the accepted reports.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reconciliation {
    /// Reports accepted (201).
    pub accepted: usize,
    /// Accepted reports stored by intake.
    pub stored: usize,
    /// Accepted reports with exactly one case.
    pub cased: usize,
    /// Cases with exactly one assignment notice.
    pub noticed: usize,
    /// Reports counted by analytics.
    pub counted: i64,
    /// Accepted reports with no case, or a case with no notice.
    pub lost: usize,
    /// Reports with more than one case, cases with more than one notice, or rows
    /// for reports never accepted.
    pub duplicated: usize,
}

impl Reconciliation {
    /// Whether every accepted report went through every service exactly once.
    pub fn complete(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.stored == self.accepted
            && self.cased == self.accepted
            && self.noticed == self.accepted
            && self.counted == self.accepted as i64
    }
}

/// Counts, as the owner (the services' rows of every schema), what became of the
/// accepted reports.
pub async fn reconcile(
    owner: &mut sqlx::PgConnection,
    fx: &Fixture,
    accepted: &[Uuid],
) -> Reconciliation {
    let tenant = fx.tenant.as_uuid();
    let wanted: HashSet<Uuid> = accepted.iter().copied().collect();
    let stored: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM intake.reports WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_all(&mut *owner)
            .await
            .expect("reading reports");
    let cases: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT report_id, count(*) FROM routing.cases WHERE tenant_id = $1 GROUP BY report_id",
    )
    .bind(tenant)
    .fetch_all(&mut *owner)
    .await
    .expect("reading cases");
    let notices: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT c.report_id, count(n.id) FROM routing.cases c \
         LEFT JOIN notification.notices n ON n.case_id = c.id AND n.kind = 'case_assigned' \
         WHERE c.tenant_id = $1 GROUP BY c.id, c.report_id",
    )
    .bind(tenant)
    .fetch_all(&mut *owner)
    .await
    .expect("reading notices");
    let counted: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(value), 0)::bigint FROM analytics.tenant_counters \
         WHERE tenant_id = $1 AND metric = 'report.submitted'",
    )
    .bind(tenant)
    .fetch_one(&mut *owner)
    .await
    .expect("reading counters");

    let mut r = Reconciliation {
        accepted: wanted.len(),
        stored: stored.iter().filter(|id| wanted.contains(id)).count(),
        counted,
        ..Default::default()
    };
    r.duplicated += stored.iter().filter(|id| !wanted.contains(id)).count();
    r.duplicated += accepted.len() - wanted.len();
    for (report, n) in &cases {
        match (wanted.contains(report), *n) {
            (true, 1) => r.cased += 1,
            _ => r.duplicated += 1,
        }
    }
    let with_case: HashSet<Uuid> = cases.iter().map(|(id, _)| *id).collect();
    r.lost += wanted.difference(&with_case).count();
    for (_, n) in &notices {
        match *n {
            0 => r.lost += 1,
            1 => r.noticed += 1,
            _ => r.duplicated += 1,
        }
    }
    r
}

/// Waits for the backlog to drain, then returns the reconciliation; prints it as a
/// table (heading and row) either way.
pub async fn settle(
    owner: &mut sqlx::PgConnection,
    fx: &Fixture,
    scenario: &str,
    submissions: &Submissions,
) -> Reconciliation {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    let result = loop {
        let r = reconcile(owner, fx, &submissions.accepted).await;
        if r.complete() || tokio::time::Instant::now() >= deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    print_heading();
    print_row(scenario, &result, submissions);
    result
}

/// Prints the table's heading.
fn print_heading() {
    println!(
        "{:<34} {:>8} {:>7} {:>6} {:>8} {:>8} {:>5} {:>5}  refused while the fault lasted",
        "scenario", "accepted", "stored", "cases", "notices", "counted", "lost", "twice"
    );
}

fn print_row(scenario: &str, r: &Reconciliation, s: &Submissions) {
    let refused: Vec<String> = s
        .refusals
        .iter()
        .map(|(kind, n)| format!("{n}× {kind}"))
        .chain((s.unanswered > 0).then(|| format!("{}× no answer", s.unanswered)))
        .collect();
    println!(
        "{:<34} {:>8} {:>7} {:>6} {:>8} {:>8} {:>5} {:>5}  {}",
        scenario,
        r.accepted,
        r.stored,
        r.cased,
        r.noticed,
        r.counted,
        r.lost,
        r.duplicated,
        if refused.is_empty() {
            "-".to_owned()
        } else {
            refused.join(", ")
        }
    );
}
