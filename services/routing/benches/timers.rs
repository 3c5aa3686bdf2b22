//! Timer scheduler benchmark: 10 k, 100 k and 1 M timers pending (spread over the year
//! ahead, 50 tenants) and, at each size, 10 000 timers due at the same second.
//!
//! At each size it prints the claim statement's plan (`EXPLAIN ANALYZE`) and timing
//! with 10 000 due and with none due, then runs the scheduler (default settings, a
//! trivial firer) and measures the time from "due" until all 10 000 are fired. Target:
//! within 2 s of due, and a poll whose cost does not grow with the number pending.
//!
//! Needs a PostgreSQL cluster like the tests (`MASHANG_TEST_DATABASE_URL`):
//!
//! ```text
//! infra/test-services up && source target/test-env/env
//! cargo bench -p mashang-routing --bench timers
//! ```
//!
//! Prints figures only; it asserts nothing about them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mashang_db::testing::TestDatabase;
use mashang_db::{Db, PgConnection, SystemScope, TenantTx};
use mashang_domain::TenantId;
use mashang_routing::scheduler::{CLAIM_SQL, DueTimer, Firer, SchedulerConfig, run, tick};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const TARGET: Duration = Duration::from_secs(2);
const BURST: i64 = 10_000;
const TENANTS: usize = 50;
const CASES_PER_TENANT: i64 = 20;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(bench());
}

/// Fires by doing nothing: what is measured is the scheduler.
#[derive(Debug)]
struct Trivial;

#[async_trait]
impl Firer for Trivial {
    async fn fire(
        &self,
        _tx: &mut TenantTx,
        _timers: &[DueTimer],
    ) -> anyhow::Result<Vec<(Uuid, DateTime<Utc>)>> {
        Ok(Vec::new())
    }
}

/// One size's figures.
#[derive(Debug, Default)]
struct Row {
    pending: i64,
    idle_pass: Duration,
    claim: Duration,
    claim_generic: Duration,
    claim_buffers: i64,
    scan: String,
    first_fired: Duration,
    all_fired: Duration,
    max_lateness: f64,
    idle_after: Duration,
}

async fn bench() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this unoptimised,
    // as a smoke test whose timings mean little, on the smallest size only.
    let full = std::env::args().any(|a| a == "--bench");
    if !full {
        println!(
            "(test mode: an unoptimised smoke run on 10 k pending; use `cargo bench` for figures)"
        );
    }
    let sizes: &[i64] = if full {
        &[10_000, 100_000, 1_000_000]
    } else {
        &[10_000]
    };
    let test = TestDatabase::create().await;
    let mut owner = test.owner().await;
    for _ in 0..TENANTS {
        tenant_with_cases(&test.db).await;
    }
    let config = SchedulerConfig::default();
    println!(
        "timer scheduler: {TENANTS} tenants, {BURST} timers due at the same second; \
         {config:?}; target: all fired within {TARGET:?} of due"
    );

    let mut rows = Vec::new();
    let mut pending = 0;
    for &size in sizes {
        let started = Instant::now();
        insert(
            &mut owner,
            "pending",
            size - pending,
            "now() + interval '1 hour' + random() * interval '365 days'",
        )
        .await;
        pending = size;
        vacuum(&mut owner).await;
        println!(
            "\n=== {size} pending (inserted and analysed in {:.1?}) ===",
            started.elapsed()
        );
        let mut row = Row {
            pending: size,
            ..Row::default()
        };
        row.idle_pass = idle_pass(&test.db, &config).await;

        // The claim with 10 000 due: its plan, then its time (rolled back each time).
        insert(&mut owner, "probe", BURST, "now() - interval '1 minute'").await;
        vacuum(&mut owner).await;
        let (plan, buffers, scan) = explain_claim(&test.db, config.batch).await;
        println!(
            "claim of {} with {BURST} due (EXPLAIN ANALYZE, rolled back):\n{plan}",
            config.batch
        );
        row.claim_buffers = buffers;
        row.scan = scan;
        row.claim = median_claim(&test.db, config.batch, false).await;
        row.claim_generic = median_claim(&test.db, config.batch, true).await;
        sqlx::query("DELETE FROM routing.timers WHERE kind = 'probe'")
            .execute(&mut owner)
            .await
            .expect("removing the probe timers");
        vacuum(&mut owner).await;

        burst(&test, &mut owner, &config, &mut row).await;
        row.idle_after = idle_pass(&test.db, &config).await;
        sqlx::query("DELETE FROM routing.timers WHERE kind = 'burst'")
            .execute(&mut owner)
            .await
            .expect("removing the burst timers");
        rows.push(row);
    }
    table(&rows, config.batch);
}

async fn tenant_with_cases(db: &Db) {
    let tenant = TenantId::new();
    let mut tx = db.tenant(tenant).await.expect("a tenant transaction");
    sqlx::query("INSERT INTO routing.tenants (id, code, name) VALUES ($1, $2, '基准镇')")
        .bind(tenant.as_uuid())
        .bind(format!("b{}", &tenant.as_uuid().simple().to_string()[20..]))
        .execute(&mut *tx)
        .await
        .expect("inserting a tenant");
    sqlx::query(
        "INSERT INTO routing.cases (id, tenant_id, report_id, tracking_number, grid_node_id, \
             category, description, state, submitted_at) \
         SELECT gen_random_uuid(), $1, gen_random_uuid(), 'MS' || i, gen_random_uuid(), \
             'other', '基准', 'assigned', now() \
         FROM generate_series(1, $2) AS i",
    )
    .bind(tenant.as_uuid())
    .bind(CASES_PER_TENANT)
    .execute(&mut *tx)
    .await
    .expect("inserting cases");
    tx.commit().await.expect("committing");
}

/// Inserts `count` timers of `kind` due at `due` (an SQL expression from this file),
/// spread round-robin over every case of every tenant, in one statement.
async fn insert(owner: &mut PgConnection, kind: &str, count: i64, due: &str) {
    let sql = format!(
        "WITH c AS (SELECT array_agg(id) AS ids, array_agg(tenant_id) AS tenants, count(*) AS n \
                    FROM routing.cases) \
         INSERT INTO routing.timers (id, tenant_id, case_id, kind, due_at, target, point) \
         SELECT gen_random_uuid(), c.tenants[1 + i % c.n], c.ids[1 + i % c.n], $1, {due}, \
             'resolution', gen_random_uuid()::text \
         FROM c, generate_series(0, $2 - 1) AS i"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(kind)
        .bind(count)
        .execute(&mut *owner)
        .await
        .expect("inserting timers");
}

async fn vacuum(owner: &mut PgConnection) {
    sqlx::raw_sql("VACUUM ANALYZE routing.timers")
        .execute(&mut *owner)
        .await
        .expect("vacuuming");
}

/// Median time of a whole pass (claim, look-ahead, commit) that finds nothing due.
async fn idle_pass(db: &Db, config: &SchedulerConfig) -> Duration {
    let firer: Arc<dyn Firer> = Arc::new(Trivial);
    let mut times = Vec::new();
    for _ in 0..21 {
        let started = Instant::now();
        let fired = tick(db, &firer, config).await.expect("a pass");
        times.push(started.elapsed());
        assert_eq!(fired, 0, "nothing is due");
    }
    median(times)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// The claim's plan as the scheduler runs it (application role, scheduler scope), with
/// the shared buffers it touched and the scan it used on `routing.timers`.
async fn explain_claim(db: &Db, batch: i64) -> (String, i64, String) {
    let mut tx = db
        .system(SystemScope::TimerScheduler)
        .await
        .expect("a transaction");
    let sql = format!(
        "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {}",
        literal_claim(batch)
    );
    let lines: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *tx)
        .await
        .expect("explaining");
    drop(tx);
    let plan: Vec<String> = lines.into_iter().map(|(l,)| format!("    {l}")).collect();
    // The first "Buffers:" line is the root's, which counts its children's too.
    let buffers = plan
        .iter()
        .find_map(|l| l.trim().strip_prefix("Buffers: shared "))
        .map(|rest| {
            rest.split_whitespace()
                .take_while(|t| t.contains('='))
                .filter_map(|t| t.trim_end_matches(',').split_once('='))
                .filter(|(k, _)| *k == "hit" || *k == "read")
                .filter_map(|(_, n)| n.parse::<i64>().ok())
                .sum()
        })
        .unwrap_or(0);
    // The nodes that find the due rows: the ones on the subquery's alias or the index.
    let scan = plan
        .iter()
        .filter(|l| l.contains("on timers timers_1") || l.contains("on timers_due"))
        .filter_map(|l| l.split("->  ").nth(1))
        .map(|l| l.split(" on timers").next().unwrap_or(l).trim().to_owned())
        .collect::<Vec<_>>()
        .join(" + ");
    (plan.join("\n"), buffers, scan)
}

/// The claim with its parameters written in, for EXPLAIN (the lease: 30 s).
fn literal_claim(batch: i64) -> String {
    CLAIM_SQL
        .replace("$1", &batch.to_string())
        .replace("$2", "30")
}

/// Median time of the claim statement with 10 000 due, each run rolled back. The
/// generic plan is what a replica may end up with once sqlx's prepared statement has
/// run a few times.
async fn median_claim(db: &Db, batch: i64, generic: bool) -> Duration {
    let mut times = Vec::new();
    for _ in 0..5 {
        let mut tx = db
            .system(SystemScope::TimerScheduler)
            .await
            .expect("a transaction");
        let mode = if generic {
            "force_generic_plan"
        } else {
            "force_custom_plan"
        };
        sqlx::query("SELECT set_config('plan_cache_mode', $1, true)")
            .bind(mode)
            .execute(&mut *tx)
            .await
            .expect("setting the plan mode");
        let started = Instant::now();
        let rows = sqlx::query(CLAIM_SQL)
            .bind(batch)
            .bind(30.0_f64)
            .fetch_all(&mut *tx)
            .await
            .expect("claiming");
        times.push(started.elapsed());
        assert_eq!(rows.len() as i64, batch);
        drop(tx);
    }
    median(times)
}

/// 10 000 timers due two seconds from now; the scheduler runs from before then until
/// all are fired.
async fn burst(
    test: &TestDatabase,
    owner: &mut PgConnection,
    config: &SchedulerConfig,
    row: &mut Row,
) {
    let (due,): (DateTime<Utc>,) =
        sqlx::query_as("SELECT date_trunc('second', now()) + interval '3 seconds'")
            .fetch_one(&mut *owner)
            .await
            .expect("reading the clock");
    let sql = "WITH c AS (SELECT array_agg(id) AS ids, array_agg(tenant_id) AS tenants, count(*) AS n \
                          FROM routing.cases) \
               INSERT INTO routing.timers (id, tenant_id, case_id, kind, due_at, target, point) \
               SELECT gen_random_uuid(), c.tenants[1 + i % c.n], c.ids[1 + i % c.n], 'burst', $1, \
                   'resolution', gen_random_uuid()::text \
               FROM c, generate_series(0, $2 - 1) AS i";
    sqlx::query(sql)
        .bind(due)
        .bind(BURST)
        .execute(&mut *owner)
        .await
        .expect("inserting the burst");
    let shutdown = CancellationToken::new();
    let scheduler = tokio::spawn(run(
        test.db.clone(),
        Arc::new(Trivial),
        *config,
        shutdown.clone(),
    ));
    let (secs,): (f64,) =
        sqlx::query_as("SELECT extract(epoch FROM $1 - clock_timestamp())::float8")
            .bind(due)
            .fetch_one(&mut *owner)
            .await
            .expect("reading the clock");
    let due_instant = Instant::now() + Duration::from_secs_f64(secs.max(0.0));
    let mut first = None;
    loop {
        let (left,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM routing.timers WHERE fired_at IS NULL AND due_at <= $1",
        )
        .bind(due)
        .fetch_one(&mut *owner)
        .await
        .expect("counting");
        let now = Instant::now();
        if left < BURST && first.is_none() {
            first = Some(now.saturating_duration_since(due_instant));
        }
        if left == 0 {
            row.all_fired = now.saturating_duration_since(due_instant);
            break;
        }
        assert!(
            now < due_instant + Duration::from_secs(60),
            "the burst did not finish in a minute"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    row.first_fired = first.unwrap_or_default();
    shutdown.cancel();
    scheduler.await.expect("the scheduler stops");
    let (lateness,): (f64,) = sqlx::query_as(
        "SELECT extract(epoch FROM max(fired_at) - $1)::float8 FROM routing.timers WHERE kind = 'burst'",
    )
    .bind(due)
    .fetch_one(&mut *owner)
    .await
    .expect("reading the lateness");
    row.max_lateness = lateness;
}

fn table(rows: &[Row], batch: i64) {
    let claim = format!("claim {batch}");
    println!("\n=== summary ===");
    println!(
        "{:>9} | {:>9} | {:>10} | {:>10} | {:>8} | {:<36} | {:>9} | {:>9} | {:>8} | {:>11} | verdict",
        "pending",
        "idle pass",
        claim,
        claim,
        "claim",
        "claim's scan of timers",
        "due→first",
        "due→all",
        "max late",
        "idle pass"
    );
    println!(
        "{:>9} | {:>9} | {:>10} | {:>10} | {:>8} | {:<36} | {:>9} | {:>9} | {:>8} | {:>11} |",
        "", "", "(custom)", "(generic)", "buffers", "", "fired", "fired", "(db)", "after burst"
    );
    for r in rows {
        println!(
            "{:>9} | {:>7.2}ms | {:>8.1}ms | {:>8.1}ms | {:>8} | {:<36} | {:>8.3}s | {:>8.3}s | {:>7.3}s | {:>9.2}ms | {}",
            r.pending,
            ms(r.idle_pass),
            ms(r.claim),
            ms(r.claim_generic),
            r.claim_buffers,
            r.scan,
            r.first_fired.as_secs_f64(),
            r.all_fired.as_secs_f64(),
            r.max_lateness,
            ms(r.idle_after),
            if r.all_fired <= TARGET {
                "within 2 s"
            } else {
                "OVER 2 s"
            }
        );
    }
    println!(
        "\nidle pass: median of a whole pass (claim + look-ahead + commit) with nothing due.\n\
         claim {batch}: median of the claim statement alone with {BURST} due, rolled back (custom and generic plan).\n\
         due→first/all fired: from the due second until the first/last of the {BURST} is committed (polled every 5 ms).\n\
         max late: the last mark's transaction time minus the due time, by the database clock.\n\
         idle pass after burst: before any vacuum, with the fired timers' dead entries still in timers_due."
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
