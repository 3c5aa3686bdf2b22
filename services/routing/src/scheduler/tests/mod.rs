//! The scheduler against real PostgreSQL, as the application role: fixtures and a
//! counting firer shared by the test files.

mod cost;
mod failures;
mod firing;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mashang_db::testing::TestDatabase;
use mashang_db::{Db, TenantTx};
use mashang_domain::TenantId;
use uuid::Uuid;

use super::{DueTimer, Firer, SchedulerConfig};

/// A tenant with `cases` minimal cases, written as the application role.
async fn tenant_with_cases(db: &Db, cases: i64) -> (TenantId, Vec<Uuid>) {
    let tenant = TenantId::new();
    let mut tx = db.tenant(tenant).await.expect("a tenant transaction");
    let code = format!("t{}", &tenant.as_uuid().simple().to_string()[20..]);
    sqlx::query("INSERT INTO routing.tenants (id, code, name) VALUES ($1, $2, '测试镇')")
        .bind(tenant.as_uuid())
        .bind(code)
        .execute(&mut *tx)
        .await
        .expect("inserting the tenant");
    let ids: Vec<(Uuid,)> = sqlx::query_as(
        "INSERT INTO routing.cases (id, tenant_id, report_id, tracking_number, grid_node_id, \
             category, description, state, submitted_at) \
         SELECT gen_random_uuid(), $1, gen_random_uuid(), 'MS' || i, gen_random_uuid(), \
             'other', '测试', 'assigned', now() \
         FROM generate_series(1, $2) AS i RETURNING id",
    )
    .bind(tenant.as_uuid())
    .bind(cases)
    .fetch_all(&mut *tx)
    .await
    .expect("inserting cases");
    tx.commit().await.expect("committing the fixtures");
    (tenant, ids.into_iter().map(|(id,)| id).collect())
}

/// Inserts `count` timers of `kind` spread over `cases`, due `due_in_ms` from now
/// (negative: already due); returns their ids.
async fn timers(
    db: &Db,
    tenant: TenantId,
    cases: &[Uuid],
    count: i64,
    due_in_ms: i64,
    kind: &str,
) -> Vec<Uuid> {
    let mut tx = db.tenant(tenant).await.expect("a tenant transaction");
    let ids: Vec<(Uuid,)> = sqlx::query_as(
        "INSERT INTO routing.timers (id, tenant_id, case_id, kind, due_at) \
         SELECT gen_random_uuid(), $1, ($2::uuid[])[1 + i % cardinality($2::uuid[])], $3, \
             now() + make_interval(secs => $4::float8 / 1000) \
         FROM generate_series(0, $5 - 1) AS i RETURNING id",
    )
    .bind(tenant.as_uuid())
    .bind(cases)
    .bind(kind)
    .bind(due_in_ms as f64)
    .bind(count)
    .fetch_all(&mut *tx)
    .await
    .expect("inserting timers");
    tx.commit().await.expect("committing the timers");
    ids.into_iter().map(|(id,)| id).collect()
}

/// A scalar read as the owner (past row-level security), for checking what was stored.
async fn owner_count(test: &TestDatabase, sql: &'static str) -> i64 {
    let mut conn = test.owner().await;
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(&mut conn)
        .await
        .expect("counting");
    n
}

/// Lets every lease run out at once, as if the lease time had passed.
async fn expire_leases(test: &TestDatabase) {
    let mut conn = test.owner().await;
    sqlx::query("UPDATE routing.timers SET lease_until = now() - interval '1 second' WHERE lease_until IS NOT NULL")
        .execute(&mut conn)
        .await
        .expect("expiring leases");
}

/// A configuration for tests: small chunks, a long lease (tests expire it by hand).
fn config() -> SchedulerConfig {
    SchedulerConfig {
        poll_interval: Duration::from_millis(50),
        batch: 500,
        lease: Duration::from_secs(60),
        concurrency: 4,
        chunk: 100,
    }
}

/// Polls `done` until it holds, failing after a generous deadline.
async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What a [`Counting`] firer should do on a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Act {
    /// Fire: count and write a timeline row per timer.
    Fire,
    /// Fail the call (the chunk rolls back).
    Fail,
    /// Never return, as in a process that dies mid-firing.
    Stall,
}

/// A firer that counts each timer it fires, writes one `timer_fired` timeline row per
/// timer in the transaction (undone by a rollback), and checks the tenant.
#[derive(Debug, Default)]
struct Counting {
    /// Fired per timer id (counted only by calls that succeeded).
    counts: Mutex<HashMap<Uuid, usize>>,
    /// Calls made, failed or not.
    calls: AtomicUsize,
    /// Calls that may succeed before every further one fails; `None`: no limit.
    budget: Option<usize>,
    /// Calls that may succeed before every further one stalls; `None`: no limit.
    stall_after: Option<usize>,
    /// Notified when a call stalls.
    stalled: tokio::sync::Notify,
    /// Timers that fail every call they are in.
    poison: Vec<Uuid>,
    /// Timers put back to this due time the first time they fire.
    put_back: Mutex<HashMap<Uuid, DateTime<Utc>>>,
    /// Calls whose timers were not all of the transaction's tenant.
    wrong_tenant: AtomicUsize,
}

impl Counting {
    fn with_budget(budget: usize) -> Self {
        Self {
            budget: Some(budget),
            ..Self::default()
        }
    }

    fn count(&self, id: &Uuid) -> usize {
        self.counts
            .lock()
            .expect("counts lock")
            .get(id)
            .copied()
            .unwrap_or(0)
    }

    fn fired(&self) -> usize {
        self.counts.lock().expect("counts lock").len()
    }

    fn act(&self, timers: &[DueTimer]) -> Act {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if self.stall_after.is_some_and(|b| call >= b) {
            return Act::Stall;
        }
        let over = self.budget.is_some_and(|b| call >= b);
        if over || timers.iter().any(|t| self.poison.contains(&t.id)) {
            Act::Fail
        } else {
            Act::Fire
        }
    }
}

#[async_trait]
impl Firer for Counting {
    async fn fire(
        &self,
        tx: &mut TenantTx,
        timers: &[DueTimer],
    ) -> anyhow::Result<Vec<(Uuid, DateTime<Utc>)>> {
        if timers.iter().any(|t| t.tenant != tx.tenant()) {
            self.wrong_tenant.fetch_add(1, Ordering::SeqCst);
        }
        match self.act(timers) {
            Act::Fire => {}
            Act::Fail => anyhow::bail!("the test firer fails this call"),
            Act::Stall => {
                self.stalled.notify_one();
                std::future::pending::<()>().await;
            }
        }
        let ids: Vec<Uuid> = timers.iter().map(|t| t.id).collect();
        let cases: Vec<Uuid> = timers.iter().map(|t| t.case.as_uuid()).collect();
        sqlx::query(
            "INSERT INTO routing.case_timeline (id, tenant_id, case_id, action, details, occurred_at) \
             SELECT gen_random_uuid(), $1, c, 'timer_fired', jsonb_build_object('timer', t), now() \
             FROM unnest($2::uuid[], $3::uuid[]) AS x(t, c)",
        )
        .bind(tx.tenant().as_uuid())
        .bind(&ids)
        .bind(&cases)
        .execute(&mut **tx)
        .await?;
        let later: Vec<(Uuid, DateTime<Utc>)> = {
            let mut put_back = self.put_back.lock().expect("put-back lock");
            ids.iter()
                .filter_map(|id| put_back.remove(id).map(|due| (*id, due)))
                .collect()
        };
        let mut counts = self.counts.lock().expect("counts lock");
        for id in ids {
            *counts.entry(id).or_default() += 1;
        }
        Ok(later)
    }
}

/// The timeline rows per fired timer, read as the owner.
async fn timeline_counts(test: &TestDatabase) -> HashMap<Uuid, i64> {
    let mut conn = test.owner().await;
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT (details->>'timer')::uuid, count(*) FROM routing.case_timeline \
         WHERE action = 'timer_fired' GROUP BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .expect("reading the timeline");
    rows.into_iter().collect()
}

/// The shared firer as the scheduler takes it.
fn dyn_firer(firer: &Arc<Counting>) -> Arc<dyn Firer> {
    Arc::clone(firer) as Arc<dyn Firer>
}
