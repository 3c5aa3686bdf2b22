//! The load generator of `tests/bench/exports`: bulk-loads a township's case facts
//! (a million by default, spread over the last 360 days) and the `report.submitted`
//! events that carry the citizens' words, in the database a running `mashang serve`
//! uses, then downloads the year's export as CSV (UTF-8 and GB18030) and as XLSX as
//! the township centre, while a thread samples the server's resident memory every
//! 10 ms. Prints rows, bytes, seconds, rows per second, the server's memory before
//! and at its peak during each download, and its high-water mark (`VmHWM`). It
//! asserts nothing but that every row arrived.
//!
//! ```text
//! export-load --base-url http://127.0.0.1:18083 --database-url postgres://app@…/db \
//!     --owner-url postgres://owner@…/db --pid 1234 [--rows 1000000] [--code benchexp]
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use mashang_db::{Db, DbConfig};
use mashang_tests::{PASSWORD, seed_tenant};
use sqlx::Connection as _;

struct Settings {
    base_url: String,
    database_url: String,
    owner_url: String,
    pid: u32,
    rows: u64,
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
    Ok(Settings {
        base_url: take("base-url")
            .context("--base-url is required")?
            .trim_end_matches('/')
            .to_owned(),
        database_url: take("database-url").context("--database-url is required")?,
        owner_url: take("owner-url").context("--owner-url is required")?,
        pid: take("pid").context("--pid is required")?.parse()?,
        rows: take("rows").map_or(Ok(1_000_000), |v| v.parse())?.max(1),
        code: take("code").unwrap_or_else(|| "benchexp".to_owned()),
    })
}

/// `VmRSS` and `VmHWM` of `pid`, in KiB.
fn memory_kib(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .with_context(|| format!("no {name} line"))?
            .parse()
            .context("a number")
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// Facts of `rows` cases over the last 360 days (Asia/Shanghai), with a
/// `report.submitted` event each. Written as the owner in one statement per table.
const SEED_FACTS: &str = "\
INSERT INTO analytics.case_facts (
    tenant_id, report_id, case_id, tracking_number, qr_code_id, grid_node_id, village_node_id,
    category, channel, priority, status, submitted_at, submitted_day,
    first_response_due, first_responded_at, resolve_due, first_resolved_at, resolved_at, closed_at,
    handler_id, handler_level, resolved_level, returns, transfers, reopenings, escalations,
    invalid_status, answered_at, answer_resolved, answer_satisfaction, answer_source, case_version)
SELECT $1, r.id, gen_random_uuid(), upper($6) || '-' || to_char(r.at AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || '-' || lpad(i::text, 7, '0'),
       $7, $3, $2,
       (ARRAY['roads', 'dispute', 'health'])[1 + i % 3], CASE WHEN i % 10 = 0 THEN 'assisted' ELSE 'qr' END,
       CASE WHEN i % 50 = 0 THEN 'urgent' ELSE 'normal' END,
       CASE WHEN i % 20 = 0 THEN 'in_progress' WHEN i % 97 = 0 THEN 'invalid' ELSE 'closed' END,
       r.at, (r.at AT TIME ZONE 'Asia/Shanghai')::date,
       r.at + interval '30 minutes', r.at + interval '12 minutes', r.at + interval '3 days',
       r.at + interval '1 day', r.at + interval '1 day',
       CASE WHEN i % 20 = 0 THEN NULL ELSE r.at + interval '3 days' END,
       $4, 'grid', CASE WHEN i % 20 = 0 THEN NULL WHEN i % 7 = 0 THEN 'village' ELSE 'grid' END,
       (i % 13 = 0)::int, (i % 17 = 0)::int, (i % 19 = 0)::int, (i % 23 = 0)::int,
       CASE WHEN i % 97 = 0 THEN 'approved' ELSE 'none' END,
       r.at + interval '3 days', i % 9 <> 0,
       (ARRAY['satisfied', 'basically_satisfied', 'unsatisfied'])[1 + i % 3], 'follow_up', 5
FROM generate_series(1, $5) AS i,
     LATERAL (SELECT gen_random_uuid() AS id,
                     now() - (i * (interval '360 days' / $5)) AS at) AS r";

const SEED_EVENTS: &str = "\
INSERT INTO analytics.events (id, tenant_id, event_type, report_id, occurred_at, envelope)
SELECT gen_random_uuid(), f.tenant_id, 'report.submitted', f.report_id, f.submitted_at,
       jsonb_build_object('type', 'report.submitted', 'payload', jsonb_build_object(
           'description', CASE WHEN f.tracking_number LIKE '%0' THEN '=1+1 公式' ELSE '' END
               || '村口路灯坏了好几天，晚上出行很不方便，请尽快派人维修。第' || f.tracking_number || '号'))
FROM analytics.case_facts f WHERE f.tenant_id = $1";

async fn seed(s: &Settings) -> anyhow::Result<String> {
    let mut config = DbConfig::new(s.database_url.clone());
    config.max_connections = 2;
    let db = Db::connect(&config)
        .await
        .context("connecting as the application role")?;
    let fx = seed_tenant(&db, &s.code).await;
    let mut owner = sqlx::PgConnection::connect(&s.owner_url)
        .await
        .context("connecting as the owner")?;
    let started = Instant::now();
    sqlx::query(SEED_FACTS)
        .bind(fx.tenant.as_uuid())
        .bind(fx.village.as_uuid())
        .bind(fx.grid.as_uuid())
        .bind(fx.worker.as_uuid())
        .bind(i64::try_from(s.rows)?)
        .bind(&s.code)
        .bind(fx.qr_code.as_uuid())
        .execute(&mut owner)
        .await
        .context("seeding the facts")?;
    sqlx::query(SEED_EVENTS)
        .bind(fx.tenant.as_uuid())
        .execute(&mut owner)
        .await
        .context("seeding the events")?;
    sqlx::query("ANALYZE analytics.case_facts")
        .execute(&mut owner)
        .await?;
    sqlx::query("ANALYZE analytics.events")
        .execute(&mut owner)
        .await?;
    owner.close().await?;
    println!(
        "seeded {} case facts and their events in {:.1} s",
        s.rows,
        started.elapsed().as_secs_f64()
    );
    Ok(fx.logins.centre)
}

/// Downloads `path`, sampling the server's memory; prints one line.
async fn measure(
    s: &Settings,
    http: &reqwest::Client,
    token: &str,
    label: &str,
    path: &str,
) -> anyhow::Result<()> {
    let (idle, _) = memory_kib(s.pid)?;
    let running = Arc::new(AtomicBool::new(true));
    let sampler = {
        let running = running.clone();
        let pid = s.pid;
        std::thread::spawn(move || {
            let mut peak = 0;
            while running.load(Ordering::Relaxed) {
                if let Ok((rss, _)) = memory_kib(pid) {
                    peak = peak.max(rss);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            peak
        })
    };
    let started = Instant::now();
    let mut response = http
        .get(format!("{}{path}", s.base_url))
        .bearer_auth(token)
        .send()
        .await?;
    anyhow::ensure!(response.status() == 200, "{label}: {}", response.status());
    let first = started.elapsed();
    let (mut bytes, mut lines) = (0u64, 0u64);
    while let Some(chunk) = response.chunk().await? {
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    running.store(false, Ordering::Relaxed);
    let peak = sampler
        .join()
        .map_err(|_| anyhow::anyhow!("the sampler panicked"))?;
    let (_, hwm) = memory_kib(s.pid)?;
    if label.starts_with("csv") {
        anyhow::ensure!(
            lines == s.rows + 1,
            "{label}: {lines} lines for {} rows",
            s.rows
        );
    }
    println!(
        "| {label} | {} | {:.1} | {:.2} | {:.1} | {:.0} | {:.1} | {:.1} | {:.1} |",
        s.rows,
        bytes as f64 / 1e6,
        first.as_secs_f64(),
        seconds,
        s.rows as f64 / seconds,
        idle as f64 / 1024.0,
        peak as f64 / 1024.0,
        hwm as f64 / 1024.0,
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let s = settings()?;
    mashang_notification::delivery::outbound::install_tls();
    let login = seed(&s).await?;
    let http = reqwest::Client::builder().build()?;
    let signed_in: serde_json::Value = http
        .post(format!("{}/api/v1/auth/login", s.base_url))
        .json(&serde_json::json!({ "login": login, "password": PASSWORD }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = signed_in["token"]
        .as_str()
        .context("a session token")?
        .to_owned();
    let to = chrono::Utc::now().date_naive() + chrono::Days::new(1);
    let from = to - chrono::Days::new(365);
    let period = format!("from={from}&to={to}");
    println!(
        "| export | rows | MB | first byte s | total s | rows/s | RSS before MB | RSS peak MB | VmHWM MB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (label, path) in [
        ("csv utf-8", format!("/api/v1/exports/cases.csv?{period}")),
        (
            "csv gb18030",
            format!("/api/v1/exports/cases.csv?{period}&encoding=gb18030"),
        ),
        ("xlsx", format!("/api/v1/exports/cases.xlsx?{period}")),
    ] {
        measure(&s, &http, &token, label, &path).await?;
    }
    Ok(())
}
