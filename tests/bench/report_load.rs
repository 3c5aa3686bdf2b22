//! The load generator of `tests/bench/report-throughput`: seeds a township with a QR
//! code in the database a running `mashang serve` uses, then posts JSON reports (no
//! photos) to it at a fixed concurrency for a fixed time, and prints the throughput
//! and latency percentiles. It asserts nothing: timings are for people to read.
//!
//! ```text
//! report-load --base-url http://127.0.0.1:18080 --database-url postgres://app@…/db \
//!     [--concurrency 16] [--seconds 20] [--warmup 3] [--codes 1] [--code bench]
//! ```
//!
//! With `--codes N` the reports are spread over N QR codes of the township (each
//! submission counts its code's reports of the day, for the `burst` flag, so one code
//! taking every report makes that count grow through the run).
//!
//! Besides the figures it prints a `SEEDED` line (tenant, grid and QR code ids) and a
//! `RESULT` line, both `key=value`, for the script.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use mashang_db::{Db, DbConfig};
use mashang_tests::seed_tenant;

/// Command-line settings.
struct Settings {
    base_url: String,
    database_url: String,
    concurrency: usize,
    seconds: u64,
    warmup: u64,
    codes: usize,
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
    Ok(Settings {
        base_url: take("base-url").context("--base-url is required")?,
        database_url: take("database-url").context("--database-url is required")?,
        concurrency: usize::try_from(number(take("concurrency"), 16)?)?.max(1),
        seconds: number(take("seconds"), 20)?,
        warmup: number(take("warmup"), 3)?,
        codes: usize::try_from(number(take("codes"), 1)?)?.max(1),
        code: take("code").unwrap_or_else(|| "bench".to_owned()),
    })
}

/// What one timed run measured.
struct Run {
    latencies_us: Vec<u64>,
    errors: u64,
    elapsed: Duration,
}

/// Posts reports from `concurrency` clients until `duration` has passed.
async fn run_for(
    client: &reqwest::Client,
    url: &Arc<str>,
    tokens: &Arc<Vec<String>>,
    concurrency: usize,
    duration: Duration,
) -> Run {
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let (client, url, tokens) = (client.clone(), url.clone(), tokens.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let token = &tokens[(worker + n as usize) % tokens.len()];
                let body = serde_json::json!({
                    "qr_token": token,
                    "category": "roads",
                    "description": format!("基准测试：村口路灯坏了，晚上很黑（{worker}-{n}）"),
                });
                let sent = Instant::now();
                let ok = match client.post(&*url).json(&body).send().await {
                    Ok(r) => r.status() == reqwest::StatusCode::CREATED && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                let took = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                if ok {
                    latencies.push(took);
                } else {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut run = Run {
        latencies_us: Vec::new(),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    for worker in workers {
        if let Ok((latencies, errors)) = worker.await {
            run.latencies_us.extend(latencies);
            run.errors += errors;
        }
    }
    run.elapsed = started.elapsed();
    run.latencies_us.sort_unstable();
    run
}

fn percentile_ms(sorted_us: &[u64], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted_us.len() as f64).ceil() as usize;
    sorted_us[rank.clamp(1, sorted_us.len()) - 1] as f64 / 1000.0
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
    let fx = seed_tenant(&db, &s.code).await;
    let mut tokens = vec![fx.qr_token.clone()];
    let mut ids = vec![fx.qr_code.to_string()];
    let mut tx = db.tenant(fx.tenant).await?;
    while tokens.len() < s.codes {
        let (id, token) = mashang_routing::directory::qr::issue(&mut tx, fx.grid).await?;
        tokens.push(token);
        ids.push(id.to_string());
    }
    tx.commit().await?;
    db.close().await;
    println!(
        "SEEDED tenant={} grid={} prefix={} codes={} qr={}",
        fx.tenant,
        fx.grid,
        fx.code.to_ascii_uppercase(),
        tokens.len(),
        ids.join(",")
    );

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(s.concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;
    let url: Arc<str> = format!("{}/api/v1/reports", s.base_url.trim_end_matches('/')).into();
    let tokens = Arc::new(tokens);
    if s.warmup > 0 {
        let warm = run_for(
            &client,
            &url,
            &tokens,
            s.concurrency,
            Duration::from_secs(s.warmup),
        )
        .await;
        anyhow::ensure!(
            !warm.latencies_us.is_empty(),
            "no report was accepted during the warm-up ({} errors): is the server up, are the limits raised?",
            warm.errors
        );
    }
    let run = run_for(
        &client,
        &url,
        &tokens,
        s.concurrency,
        Duration::from_secs(s.seconds),
    )
    .await;
    let done = run.latencies_us.len();
    let throughput = done as f64 / run.elapsed.as_secs_f64();
    let (p50, p90, p99) = (
        percentile_ms(&run.latencies_us, 50.0),
        percentile_ms(&run.latencies_us, 90.0),
        percentile_ms(&run.latencies_us, 99.0),
    );
    let max = run.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0;
    println!(
        "POST /api/v1/reports, {} clients, {:.1} s: {done} accepted, {} errors",
        s.concurrency,
        run.elapsed.as_secs_f64(),
        run.errors
    );
    println!("  throughput {throughput:.1} reports/s");
    println!("  latency    p50 {p50:.1} ms   p90 {p90:.1} ms   p99 {p99:.1} ms   max {max:.1} ms");
    println!(
        "RESULT throughput={throughput:.1} p50_ms={p50:.2} p99_ms={p99:.2} errors={}",
        run.errors
    );
    Ok(())
}
