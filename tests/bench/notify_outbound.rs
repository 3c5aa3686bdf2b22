//! The load generator of `tests/bench/notify-outbound`: how fast the notification
//! service works off a backlog of new cases onto outside channels, and whether its
//! memory stays flat as the backlog grows. Runs the local fakes of a WeCom group robot,
//! a DingTalk custom robot (signed) and Alibaba Cloud's SMS API (`mashang_tests::fakes`,
//! which check each request as the providers do), and starts `mashang serve
//! notification` itself (`MASHANG_BIN`, with `MASHANG_OUTBOUND_ALLOW=127.0.0.0/8` so
//! it may call them); intake and routing run already (the script starts them).
//!
//! ```text
//! notify-outbound --intake-url … --routing-url … --database-url postgres://app@…/db \
//!     [--events 1000,4000] [--grids 20] [--concurrency 8] [--per-minute 6000] [--code benchout]
//! ```
//!
//! For each size N of `--events`: a new township with `--grids` grids (a worker and a
//! QR code each) and the three channels, configured through the API with the
//! product's highest per-channel rate (`per_minute`, 6000 a minute) and the fakes'
//! per-robot limit lifted (WeCom and DingTalk allow 20 a minute; a real township would
//! spread its grids over several robots). Then the notification process is stopped, N
//! reports are posted, and once routing has published every `case.assigned` (the
//! backlog waits in NATS) the notification process starts again; it plans three
//! deliveries per case (the group robots @-mention the worker, the SMS carries the
//! worker's sign-in link) and sends them. Printed: deliveries per second from its start
//! to the last one sent, what the fakes accepted (each delivery exactly once), and
//! its resident memory (sampled every 10 ms): when it answers `/readyz`, peak, and at the end.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use mashang_db::{Db, DbConfig};
use mashang_domain::grid::NodeKind;
use mashang_domain::role::Role;
use mashang_domain::{PhoneNumber, TenantId};
use mashang_routing::directory::nodes::{NewNode, insert_node};
use mashang_routing::directory::{qr, staff};
use mashang_tests::fakes::Fakes;
use mashang_tests::procs::ServiceProcess;
use mashang_tests::{PASSWORD, seed_tenant};
use serde_json::json;
use uuid::Uuid;

const SIGN: &str = "码上反映";
const ALIYUN_KEY: (&str, &str) = ("LTAI5tBenchOut01", "aliyun-bench-secret-01");
const TEMPLATE: &str = "SMS_465100";

/// Command-line settings.
struct Settings {
    intake_url: String,
    routing_url: String,
    database_url: String,
    events: Vec<usize>,
    grids: usize,
    concurrency: usize,
    per_minute: u64,
    logs: PathBuf,
    code: String,
}

fn settings() -> anyhow::Result<Settings> {
    let mut given: HashMap<String, String> = HashMap::new();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let name = flag
            .strip_prefix("--")
            .with_context(|| format!("unexpected argument {flag:?}"))?;
        let value = args
            .next()
            .with_context(|| format!("--{name} needs a value"))?;
        given.insert(name.to_owned(), value);
    }
    let mut take = |name: &str| given.remove(name);
    let number = |value: Option<String>, default: u64| -> anyhow::Result<u64> {
        value.map_or(Ok(default), |v| v.parse().context("a number"))
    };
    let url = |value: Option<String>, name: &str| -> anyhow::Result<String> {
        Ok(value
            .with_context(|| format!("--{name} is required"))?
            .trim_end_matches('/')
            .to_owned())
    };
    Ok(Settings {
        intake_url: url(take("intake-url"), "intake-url")?,
        routing_url: url(take("routing-url"), "routing-url")?,
        database_url: take("database-url").context("--database-url is required")?,
        events: take("events")
            .unwrap_or_else(|| "1000,4000".to_owned())
            .split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .context("--events takes numbers, comma-separated")
            })
            .collect::<anyhow::Result<_>>()?,
        grids: usize::try_from(number(take("grids"), 20)?)?.max(1),
        concurrency: usize::try_from(number(take("concurrency"), 8)?)?.max(1),
        per_minute: number(take("per-minute"), 6000)?,
        logs: PathBuf::from(take("logs").unwrap_or_else(|| "target".to_owned())),
        code: take("code").unwrap_or_else(|| "benchout".to_owned()),
    })
}

/// A phone number for a seeded person, unique in the deployment.
fn phone() -> PhoneNumber {
    let n = Uuid::new_v4().as_u128() % 100_000_000;
    PhoneNumber::parse(&format!("137{n:08}")).expect("a valid number")
}

/// A township of `grids` grids, a worker and a QR code each; its id, the
/// administrator's sign-in name, and the QR tokens.
async fn township(
    db: &Db,
    code: &str,
    grids: usize,
) -> anyhow::Result<(TenantId, String, Vec<String>)> {
    let fx = seed_tenant(db, code).await;
    let mut tokens = vec![fx.qr_token.clone()];
    let mut tx = db.tenant(fx.tenant).await?;
    let password = mashang_auth::Password::new(PASSWORD).expect("a valid password");
    for g in 2..=grids {
        let grid = insert_node(
            &mut tx,
            &NewNode {
                parent: Some(fx.village),
                kind: NodeKind::Grid,
                code: format!("{code}-v1-g{g}"),
                name: format!("第{g}网格"),
            },
        )
        .await?;
        let worker = staff::insert_user(&mut tx, &format!("网格员{g}"), &phone()).await?;
        staff::grant_role(&mut tx, worker, Role::GridWorker, grid).await?;
        mashang_auth::set_staff_password(&mut tx, worker, &password).await?;
        tokens.push(qr::issue(&mut tx, grid).await?.1);
    }
    tx.commit().await?;
    Ok((fx.tenant, fx.logins.admin.clone(), tokens))
}

/// Signs `login` in at routing; the session's bearer token.
async fn sign_in(http: &reqwest::Client, routing: &str, login: &str) -> anyhow::Result<String> {
    let r = http
        .post(format!("{routing}/api/v1/auth/login"))
        .json(&json!({"login": login, "password": PASSWORD}))
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "signing in: {}", r.status());
    let body: serde_json::Value = r.json().await?;
    body["token"]
        .as_str()
        .map(str::to_owned)
        .context("a session token")
}

/// Adds a channel through the API (as the township's administrator).
async fn channel(
    http: &reqwest::Client,
    notification: &str,
    token: &str,
    body: serde_json::Value,
) -> anyhow::Result<()> {
    let r = http
        .post(format!("{notification}/api/v1/admin/channels"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let status = r.status();
    anyhow::ensure!(
        status == reqwest::StatusCode::CREATED,
        "adding a channel: {status} {}",
        r.text().await.unwrap_or_default()
    );
    Ok(())
}

/// Posts one report per token in turn until `n` were accepted.
async fn post_reports(
    http: &reqwest::Client,
    intake: &str,
    tokens: &[String],
    n: usize,
    concurrency: usize,
) -> anyhow::Result<()> {
    let next = Arc::new(AtomicU64::new(0));
    let tokens = Arc::new(tokens.to_vec());
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, next, tokens) = (http.clone(), next.clone(), tokens.clone());
        let url = format!("{intake}/api/v1/reports");
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= n {
                    return Ok::<(), anyhow::Error>(());
                }
                let body = json!({
                    "qr_token": tokens[i % tokens.len()],
                    "category": "roads",
                    "description": format!("基准测试：村口路灯坏了，晚上很黑（{i}）"),
                });
                let r = http.post(&url).json(&body).send().await?;
                anyhow::ensure!(
                    r.status() == reqwest::StatusCode::CREATED,
                    "a report was refused: {}",
                    r.status()
                );
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// One count in the township's transaction.
async fn count(db: &Db, tenant: TenantId, sql: &'static str) -> anyhow::Result<i64> {
    let mut tx = db.tenant(tenant).await?;
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(n)
}

/// Resident memory of `pid`, in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Samples `pid`'s RSS every 10 ms until `stop`; (peak, last) in KiB.
fn sample_rss(pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<(u64, u64)> {
    std::thread::spawn(move || {
        let (mut peak, mut last) = (0, 0);
        while !stop.load(Ordering::Relaxed) {
            if let Some(kib) = rss_kib(pid) {
                peak = peak.max(kib);
                last = kib;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        (peak, last)
    })
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Starts the notification process, with the settings it needs here.
async fn spawn_notification(logs: &std::path::Path) -> ServiceProcess {
    let env = vec![(
        "MASHANG_OUTBOUND_ALLOW".to_owned(),
        "127.0.0.0/8".to_owned(),
    )];
    ServiceProcess::start("notification", &env, logs).await
}

/// Waits until `process` answers `/readyz`.
async fn ready(process: &mut ServiceProcess) {
    process.wait_alive().await;
    process.client().wait_ready().await;
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    mashang_notification::delivery::outbound::install_tls();
    let s = settings()?;
    std::fs::create_dir_all(&s.logs)?;
    let mut config = DbConfig::new(s.database_url.clone());
    config.max_connections = 2;
    let db = Db::connect(&config)
        .await
        .context("connecting as the application role")?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(s.concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;

    let fakes = Fakes::start().await;
    fakes.aliyun_key(ALIYUN_KEY.0, ALIYUN_KEY.1);
    fakes.sms_sign(SIGN);
    fakes.sms_template(TEMPLATE, &["number", "deadline", "link"]);
    // The providers take 20 a minute per robot; lifted here (see the module's notes).
    fakes.set_per_minute(usize::MAX);
    fakes.sms_per_number(None);

    let mut results = Vec::new();
    for (round, &n) in s.events.iter().enumerate() {
        let code = format!("{}{round}", s.code);
        let (tenant, admin, tokens) = township(&db, &code, s.grids).await?;
        let mut notification = spawn_notification(&s.logs).await;
        ready(&mut notification).await;
        let base = notification.client().base.clone();
        let token = sign_in(&http, &s.routing_url, &admin).await?;
        let (wecom_key, ding_token) = (format!("wecom-{code}"), format!("ding-{code}"));
        let per_minute = s.per_minute;
        channel(
            &http,
            &base,
            &token,
            json!({"kind": "wecom", "name": "镇网格群",
            "settings": {"url": fakes.wecom_robot(&wecom_key)}, "per_minute": per_minute}),
        )
        .await?;
        channel(&http, &base, &token, json!({"kind": "dingtalk", "name": "镇钉钉群",
            "settings": {"url": fakes.dingtalk_robot(&ding_token, "SECbench"), "secret": "SECbench"},
            "per_minute": per_minute}))
        .await?;
        channel(
            &http,
            &base,
            &token,
            json!({"kind": "sms_aliyun", "name": "阿里云短信",
            "settings": {"sign_name": SIGN, "templates": {"case_assigned": TEMPLATE},
                "endpoint": fakes.aliyun_endpoint(), "access_key_id": ALIYUN_KEY.0,
                "access_key_secret": ALIYUN_KEY.1},
            "per_minute": per_minute}),
        )
        .await?;
        notification.stop().await;

        // The backlog: N new cases, their events waiting in NATS for notification.
        let posted = Instant::now();
        post_reports(&http, &s.intake_url, &tokens, n, s.concurrency).await?;
        loop {
            let cases = count(&db, tenant, "SELECT count(*) FROM routing.cases").await?;
            let waiting = count(
                &db,
                tenant,
                "SELECT count(*) FROM routing.outbox WHERE published_at IS NULL",
            )
            .await?;
            if cases as usize >= n && waiting == 0 {
                break;
            }
            anyhow::ensure!(
                posted.elapsed() < Duration::from_secs(600),
                "routing did not open {n} cases within 10 minutes ({cases})"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        println!(
            "{n} cases opened and their events published in {:.1} s; starting notification",
            posted.elapsed().as_secs_f64()
        );

        let expected = 3 * n as i64;
        let started = Instant::now();
        let mut notification = spawn_notification(&s.logs).await;
        let pid = notification
            .pid()
            .context("the notification process's id")?;
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = sample_rss(pid, stop.clone());
        ready(&mut notification).await;
        let ready_after = started.elapsed();
        // Already at work on the backlog by then.
        let first = rss_kib(pid).unwrap_or_default();
        let mut planned_at = None;
        let done_at;
        loop {
            let planned =
                count(&db, tenant, "SELECT count(*) FROM notification.deliveries").await?;
            if planned_at.is_none() && planned >= expected {
                planned_at = Some(started.elapsed());
            }
            let finished = count(
                &db,
                tenant,
                "SELECT count(*) FROM notification.deliveries WHERE state <> 'queued'",
            )
            .await?;
            if finished >= expected {
                done_at = started.elapsed();
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(900),
                "notification did not finish within 15 minutes ({planned} planned, {finished} done)"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stop.store(true, Ordering::Relaxed);
        let (peak, last) = sampler.join().unwrap_or_default();
        notification.stop().await;

        let mut tx = db.tenant(tenant).await?;
        let states: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT c.kind, d.state, count(*) FROM notification.deliveries d \
             JOIN notification.channels c ON c.tenant_id = d.tenant_id AND c.id = d.channel_id \
             GROUP BY 1, 2 ORDER BY 1, 2",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let wecom = fakes.received(&wecom_key).len();
        let ding = fakes.received(&ding_token).len();
        let phones: Vec<(String,)> = {
            let mut tx = db.tenant(tenant).await?;
            let rows = sqlx::query_as(
                "SELECT DISTINCT d.message->>'phone' FROM notification.deliveries d WHERE d.message->>'phone' IS NOT NULL",
            )
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            rows
        };
        let sms: usize = phones.iter().map(|(p,)| fakes.sms(p).len()).sum();
        let secs = done_at.as_secs_f64();
        println!(
            "{n} cases -> {expected} deliveries: notification ready in {:.1} s, all planned at {:.1} s, all sent at {secs:.1} s",
            ready_after.as_secs_f64(),
            planned_at.unwrap_or(done_at).as_secs_f64()
        );
        println!(
            "  {:.0} deliveries/s from the process's start to the last one sent",
            expected as f64 / secs
        );
        println!(
            "  by channel and state: {}",
            states
                .iter()
                .map(|(k, st, c)| format!("{k} {st} {c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "  the fakes accepted: WeCom {wecom}, DingTalk {ding}, SMS {sms} (each should be {n})"
        );
        println!(
            "  notification RSS: {:.1} MB when ready, peak {:.1} MB, {:.1} MB at the end",
            mb(first),
            mb(peak),
            mb(last)
        );
        results.push((n, expected as f64 / secs, mb(peak)));
        println!(
            "RESULT events={n} deliveries={expected} per_second={:.1} wecom={wecom} dingtalk={ding} sms={sms} rss_ready_mb={:.1} rss_peak_mb={:.1} rss_end_mb={:.1}",
            expected as f64 / secs,
            mb(first),
            mb(peak),
            mb(last)
        );
    }
    if results.len() > 1 {
        println!(
            "summary: {}",
            results
                .iter()
                .map(|(n, rate, peak)| format!(
                    "{n} events: {rate:.0} deliveries/s, peak RSS {peak:.1} MB"
                ))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    db.close().await;
    Ok(())
}
