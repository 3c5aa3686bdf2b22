//! The load generator of `tests/bench/notify-latency`: how long a citizen's report
//! takes to reach the grid worker's open console, with the services as separate
//! processes over NATS. Seeds a township with `--grids` grids (a worker and a QR code
//! each) in the database the running services use, signs every worker in (at routing)
//! and opens their `GET /api/v1/inbox/stream` (at notification), then posts JSON
//! reports to intake at a fixed rate, round-robin over the grids, and takes per report
//! the time from sending the `POST` to its `case_assigned` notice arriving on the
//! stream of the grid's worker. It asserts nothing: timings are for people to read.
//!
//! ```text
//! notify-latency --intake-url … --routing-url … --notification-url … \
//!     --database-url postgres://app@…/db [--rate 200] [--seconds 20] [--warmup 3] \
//!     [--grids 20] [--drain 15] [--watch intake=PID,routing=PID,…] [--code benchnote]
//! ```
//!
//! The load is open-loop: report *i* is sent at *i* / rate seconds whatever the
//! answers before it, so a slow server shows as latency, not as a lower rate. Reports
//! of the warm-up are not counted. After the last report it waits up to `--drain`
//! seconds for notices still on their way; a notice that never came is lost, one that
//! came twice or on another worker's stream is counted as such.
//!
//! With `--watch name=pid,…` it also prints the CPU time each process used during the
//! timed part (from `/proc/<pid>/stat`), and that of the database's server processes
//! serving this database, with the database's transactions and row changes, per report.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use mashang_db::{Db, DbConfig};
use mashang_domain::grid::NodeKind;
use mashang_domain::role::Role;
use mashang_domain::{GridNodeId, PhoneNumber};
use mashang_routing::directory::nodes::{NewNode, insert_node};
use mashang_routing::directory::{qr, staff};
use mashang_tests::{PASSWORD, seed_tenant};
use uuid::Uuid;

/// Command-line settings.
struct Settings {
    intake_url: String,
    routing_url: String,
    notification_url: String,
    database_url: String,
    rate: f64,
    seconds: u64,
    warmup: u64,
    grids: usize,
    drain: u64,
    watch: Vec<(String, u32)>,
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
    let watch = take("watch")
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, pid) = p.split_once('=').context("--watch takes name=pid,…")?;
            Ok((name.to_owned(), pid.parse().context("a process id")?))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Settings {
        intake_url: url(take("intake-url"), "intake-url")?,
        routing_url: url(take("routing-url"), "routing-url")?,
        notification_url: url(take("notification-url"), "notification-url")?,
        database_url: take("database-url").context("--database-url is required")?,
        rate: take("rate").map_or(Ok(200.0), |v| v.parse().context("a rate"))?,
        seconds: number(take("seconds"), 20)?,
        warmup: number(take("warmup"), 3)?,
        grids: usize::try_from(number(take("grids"), 20)?)?.max(1),
        drain: number(take("drain"), 15)?,
        watch,
        code: take("code").unwrap_or_else(|| "benchnote".to_owned()),
    })
}

/// A phone number for a seeded person, unique in the deployment.
fn phone() -> PhoneNumber {
    let n = Uuid::new_v4().as_u128() % 100_000_000;
    PhoneNumber::parse(&format!("136{n:08}")).expect("a valid number")
}

/// One grid of the township: its worker's sign-in name and its QR code's token.
struct Grid {
    login: String,
    qr_token: String,
}

/// Seeds the township: the fixture's grid, and more grids under its village up to
/// `grids`, each with a worker and a QR code.
async fn seed(db: &Db, code: &str, grids: usize) -> anyhow::Result<Vec<Grid>> {
    let fx = seed_tenant(db, code).await;
    let mut out = vec![Grid {
        login: fx.logins.worker.clone(),
        qr_token: fx.qr_token.clone(),
    }];
    let mut tx = db.tenant(fx.tenant).await?;
    let password = mashang_auth::Password::new(PASSWORD).expect("a valid password");
    for g in 2..=grids {
        let grid: GridNodeId = insert_node(
            &mut tx,
            &NewNode {
                parent: Some(fx.village),
                kind: NodeKind::Grid,
                code: format!("{code}-v1-g{g}"),
                name: format!("第{g}网格"),
            },
        )
        .await?;
        let login = phone();
        let worker = staff::insert_user(&mut tx, &format!("网格员{g}"), &login).await?;
        staff::grant_role(&mut tx, worker, Role::GridWorker, grid).await?;
        mashang_auth::set_staff_password(&mut tx, worker, &password).await?;
        let (_, qr_token) = qr::issue(&mut tx, grid).await?;
        out.push(Grid {
            login: login.expose().to_owned(),
            qr_token,
        });
    }
    tx.commit().await?;
    Ok(out)
}

/// A notice that arrived: on which grid's stream, when.
#[derive(Clone, Copy)]
struct Arrival {
    grid: usize,
    at: Instant,
}

/// Notices that arrived, by tracking number (more than one: a duplicate).
type Arrivals = Arc<Mutex<HashMap<String, Vec<Arrival>>>>;

/// Signs `login` in at routing; the session's bearer token.
async fn sign_in(http: &reqwest::Client, routing: &str, login: &str) -> anyhow::Result<String> {
    let r = http
        .post(format!("{routing}/api/v1/auth/login"))
        .json(&serde_json::json!({"login": login, "password": PASSWORD}))
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "signing in: {}", r.status());
    let body: serde_json::Value = r.json().await?;
    body["token"]
        .as_str()
        .map(str::to_owned)
        .context("a session token")
}

/// Opens `grid`'s worker's stream and records each `case_assigned` notice on it until
/// the stream ends; `ready` is told once the first event (the unread count) came.
async fn listen(
    http: reqwest::Client,
    url: String,
    token: String,
    grid: usize,
    arrivals: Arrivals,
    ready: tokio::sync::mpsc::Sender<anyhow::Result<()>>,
) {
    let response = http
        .get(&url)
        .bearer_auth(&token)
        .header("accept", "text/event-stream")
        .send()
        .await;
    let mut response = match response {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            let _ = ready
                .send(Err(anyhow::anyhow!("stream refused: {}", r.status())))
                .await;
            return;
        }
        Err(err) => {
            let _ = ready.send(Err(err.into())).await;
            return;
        }
    };
    let mut buffer = String::new();
    let mut told = false;
    while let Ok(Some(chunk)) = response.chunk().await {
        let at = Instant::now();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if !told && block.lines().any(|l| l == "event: unread") {
                told = true;
                let _ = ready.send(Ok(())).await;
            }
            if !block.lines().any(|l| l == "event: notice") {
                continue;
            }
            let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) else {
                continue;
            };
            let Ok(event) = serde_json::from_str::<serde_json::Value>(data) else {
                continue;
            };
            if event["notice"]["kind"] != "case_assigned" {
                continue;
            }
            let Some(number) = event["notice"]["title"]
                .as_str()
                .and_then(|t| t.strip_prefix("新案件 "))
            else {
                continue;
            };
            arrivals
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(number.to_owned())
                .or_default()
                .push(Arrival { grid, at });
        }
    }
}

/// One report sent.
struct Sent {
    grid: usize,
    at: Instant,
    timed: bool,
    /// The tracking number, or `None` when the report was refused.
    number: Option<String>,
    took: Duration,
}

/// CPU time (user + system) of process `pid` so far, in milliseconds.
fn cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: the fields start after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks of 10 ms (USER_HZ is 100 on Linux).
    Some((utime + stime) * 10.0)
}

/// What the database did so far: its server processes' CPU (by process id),
/// transactions and rows.
#[derive(Clone, Default)]
struct DbWork {
    cpu_ms: HashMap<u32, f64>,
    commits: i64,
    rollbacks: i64,
    inserted: i64,
    updated: i64,
    deleted: i64,
}

async fn db_work(stats: &sqlx::PgPool) -> anyhow::Result<DbWork> {
    let pids: Vec<(i32,)> = sqlx::query_as(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(stats)
    .await?;
    let (commits, rollbacks, inserted, updated, deleted): (i64, i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted \
             FROM pg_stat_database WHERE datname = current_database()",
        )
        .fetch_one(stats)
        .await?;
    Ok(DbWork {
        cpu_ms: pids
            .into_iter()
            .filter_map(|(p,)| Some((p as u32, cpu_ms(p as u32)?)))
            .collect(),
        commits,
        rollbacks,
        inserted,
        updated,
        deleted,
    })
}

fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    mashang_notification::delivery::outbound::install_tls();
    let s = settings()?;
    let mut config = DbConfig::new(s.database_url.clone());
    config.max_connections = 2;
    let db = Db::connect(&config)
        .await
        .context("connecting as the application role")?;
    let stats = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&s.database_url)
        .await?;
    let grids = seed(&db, &s.code, s.grids).await?;
    println!("SEEDED grids={}", grids.len());

    // Streams: no overall timeout (they stay open), one connection each.
    let streams = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()?;
    let posts = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(30))
        .build()?;
    let arrivals: Arrivals = Arc::default();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(grids.len());
    let mut listeners = Vec::new();
    for (i, grid) in grids.iter().enumerate() {
        let token = sign_in(&posts, &s.routing_url, &grid.login).await?;
        listeners.push(tokio::spawn(listen(
            streams.clone(),
            format!("{}/api/v1/inbox/stream", s.notification_url),
            token,
            i,
            arrivals.clone(),
            ready_tx.clone(),
        )));
    }
    for _ in 0..grids.len() {
        tokio::time::timeout(Duration::from_secs(30), ready_rx.recv())
            .await
            .context("waiting for the streams to open")?
            .context("a stream task ended")??;
    }
    println!("{} workers signed in with their streams open", grids.len());

    let tokens: Arc<Vec<String>> = Arc::new(grids.iter().map(|g| g.qr_token.clone()).collect());
    let url: Arc<str> = format!("{}/api/v1/reports", s.intake_url).into();
    let sent: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let interval = Duration::from_secs_f64(1.0 / s.rate.max(0.1));
    let warm_n = (s.warmup as f64 * s.rate).round() as u64;
    let total_n = warm_n + (s.seconds as f64 * s.rate).round() as u64;
    let started = Instant::now();
    let mut before = None;
    let mut timed_start = started;
    let mut tasks = Vec::with_capacity(total_n as usize);
    for i in 0..total_n {
        let due = started + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        if i == warm_n {
            timed_start = Instant::now();
            let procs: Vec<Option<f64>> = s.watch.iter().map(|(_, p)| cpu_ms(*p)).collect();
            before = Some((procs, db_work(&stats).await.ok()));
        }
        let grid = (i as usize) % tokens.len();
        let (posts, url, tokens, sent) = (posts.clone(), url.clone(), tokens.clone(), sent.clone());
        let timed = i >= warm_n;
        tasks.push(tokio::spawn(async move {
            let body = serde_json::json!({
                "qr_token": tokens[grid],
                "category": "roads",
                "description": format!("基准测试：村口路灯坏了，晚上很黑（{i}）"),
            });
            let at = Instant::now();
            let number = match posts.post(&*url).json(&body).send().await {
                Ok(r) if r.status() == reqwest::StatusCode::CREATED => r
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|b| b["tracking_number"].as_str().map(str::to_owned)),
                _ => None,
            };
            let took = at.elapsed();
            sent.lock().unwrap_or_else(|e| e.into_inner()).push(Sent {
                grid,
                at,
                timed,
                number,
                took,
            });
        }));
    }
    let send_end = Instant::now();
    for task in tasks {
        let _ = task.await;
    }
    let timed_secs = send_end.duration_since(timed_start).as_secs_f64();

    // Wait for the notices still on their way.
    let expected: Vec<String> = sent
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(|r| r.number.clone())
        .collect();
    let drain_until = Instant::now() + Duration::from_secs(s.drain);
    loop {
        let missing = {
            let got = arrivals.lock().unwrap_or_else(|e| e.into_inner());
            expected.iter().filter(|n| !got.contains_key(*n)).count()
        };
        if missing == 0 || Instant::now() >= drain_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let a duplicate, if any, arrive too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after_procs: Vec<Option<f64>> = s.watch.iter().map(|(_, p)| cpu_ms(*p)).collect();
    // The statistics of other sessions reach pg_stat_database within a second or so.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after_db = db_work(&stats).await.ok();
    for l in listeners {
        l.abort();
    }

    let sent = std::mem::take(&mut *sent.lock().unwrap_or_else(|e| e.into_inner()));
    let got = arrivals.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let timed: Vec<&Sent> = sent.iter().filter(|r| r.timed).collect();
    let accepted: Vec<&Sent> = timed
        .iter()
        .copied()
        .filter(|r| r.number.is_some())
        .collect();
    let refused = timed.len() - accepted.len();
    let mut latencies = Vec::with_capacity(accepted.len());
    let mut posts_took: Vec<Duration> = accepted.iter().map(|r| r.took).collect();
    let (mut lost, mut duplicated, mut misrouted) = (0usize, 0usize, 0usize);
    for r in &accepted {
        let number = r.number.as_deref().unwrap_or_default();
        match got.get(number) {
            None => lost += 1,
            Some(seen) => {
                if seen.len() > 1 {
                    duplicated += 1;
                }
                if seen[0].grid != r.grid {
                    misrouted += 1;
                }
                latencies.push(seen[0].at.saturating_duration_since(r.at));
            }
        }
    }
    let all_lost = sent
        .iter()
        .filter_map(|r| r.number.as_deref())
        .filter(|n| !got.contains_key(*n))
        .count();
    latencies.sort_unstable();
    posts_took.sort_unstable();
    let (p50, p90, p99) = (
        percentile_ms(&latencies, 50.0),
        percentile_ms(&latencies, 90.0),
        percentile_ms(&latencies, 99.0),
    );
    let max = latencies
        .last()
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
    let sent_rate = timed.len() as f64 / timed_secs.max(f64::EPSILON);
    println!(
        "{} reports at {:.0}/s over {} grids ({:.1} s timed after {} s of warm-up): {} accepted, {refused} refused; sent at {sent_rate:.1}/s",
        timed.len(),
        s.rate,
        grids.len(),
        timed_secs,
        s.warmup,
        accepted.len(),
    );
    println!(
        "  notices  {} of {} arrived on the assignee's stream; lost {lost}, twice {duplicated}, on another stream {misrouted} (lost over the warm-up too: {all_lost})",
        latencies.len(),
        accepted.len()
    );
    println!(
        "  submission -> notice   p50 {p50:.1} ms   p90 {p90:.1} ms   p99 {p99:.1} ms   max {max:.1} ms"
    );
    println!(
        "  POST /api/v1/reports   p50 {:.1} ms   p99 {:.1} ms",
        percentile_ms(&posts_took, 50.0),
        percentile_ms(&posts_took, 99.0)
    );
    let n = accepted.len().max(1) as f64;
    if let Some((procs, db_before)) = before {
        for (((name, _), a), b) in s.watch.iter().zip(&after_procs).zip(&procs) {
            if let (Some(a), Some(b)) = (a, b) {
                let used = a - b;
                println!(
                    "  cpu {name:<13} {:>7.0} ms  ({:.2} ms a report, {:.0} % of one CPU)",
                    used,
                    used / n,
                    used / 10.0 / timed_secs
                );
            }
        }
        if let (Some(b), Some(a)) = (db_before, after_db) {
            // A server process that started during the run counts in full.
            let used: f64 = a
                .cpu_ms
                .iter()
                .map(|(pid, ms)| ms - b.cpu_ms.get(pid).copied().unwrap_or(0.0))
                .sum();
            println!(
                "  cpu {:<13} {:>7.0} ms  ({:.2} ms a report, {:.0} % of one CPU; {} server processes of this database)",
                "postgres",
                used,
                used / n,
                used / 10.0 / timed_secs,
                a.cpu_ms.len()
            );
            println!(
                "  database per report: {:.1} commits, {:.2} rollbacks, {:.1} rows inserted, {:.1} updated, {:.1} deleted",
                (a.commits - b.commits) as f64 / n,
                (a.rollbacks - b.rollbacks) as f64 / n,
                (a.inserted - b.inserted) as f64 / n,
                (a.updated - b.updated) as f64 / n,
                (a.deleted - b.deleted) as f64 / n,
            );
        }
    }
    println!(
        "RESULT rate={:.0} sent={} accepted={} all_accepted={} arrived={} lost={lost} twice={duplicated} p50_ms={p50:.2} p90_ms={p90:.2} p99_ms={p99:.2} max_ms={max:.2}",
        s.rate,
        timed.len(),
        accepted.len(),
        sent.iter().filter(|r| r.number.is_some()).count(),
        latencies.len()
    );
    db.close().await;
    Ok(())
}
