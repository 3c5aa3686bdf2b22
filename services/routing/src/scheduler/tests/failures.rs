//! Failures: a firer that fails or a scheduler that dies part-way loses nothing and
//! doubles nothing; one timer that cannot fire holds back no other.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mashang_db::TenantTx;
use mashang_db::testing::TestDatabase;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::super::{DueTimer, Firer, run, tick};
use super::{
    Counting, config, dyn_firer, eventually, expire_leases, owner_count, tenant_with_cases,
    timeline_counts, timers,
};

const FIRED: &str = "SELECT count(*) FROM routing.timers WHERE fired_at IS NOT NULL";

/// Ticks with a fresh firer until a pass fires nothing; returns the firer.
async fn drain_with_fresh_scheduler(test: &TestDatabase) -> Arc<Counting> {
    let firer = Arc::new(Counting::default());
    let dyn_firer = dyn_firer(&firer);
    while tick(&test.db, &dyn_firer, &config()).await.expect("a pass") > 0 {}
    firer
}

/// Every timer in `all` fired exactly once over the two firers, with one timeline row.
async fn assert_once_overall(
    test: &TestDatabase,
    all: &[Uuid],
    first: &Counting,
    second: &Counting,
) {
    for id in all {
        assert_eq!(
            first.count(id) + second.count(id),
            1,
            "timer {id} fired once overall"
        );
    }
    let timeline = timeline_counts(test).await;
    assert_eq!(timeline.len(), all.len());
    assert!(timeline.values().all(|n| *n == 1));
    assert_eq!(owner_count(test, FIRED).await as usize, all.len());
}

#[tokio::test]
async fn a_failing_firer_leaves_the_rest_to_a_fresh_scheduler_after_the_lease() {
    let test = TestDatabase::create().await;
    let mut all = Vec::new();
    for _ in 0..2 {
        let (tenant, cases) = tenant_with_cases(&test.db, 10).await;
        all.extend(timers(&test.db, tenant, &cases, 500, -1000, "fail").await);
    }
    // Three chunks of 100 succeed, then every call fails.
    let first = Arc::new(Counting::with_budget(3));
    let dyn_first = dyn_firer(&first);
    assert_eq!(
        tick(&test.db, &dyn_first, &config()).await.expect("a pass"),
        300
    );
    assert_eq!(
        tick(&test.db, &dyn_first, &config()).await.expect("a pass"),
        0
    );
    assert_eq!(first.fired(), 300);
    assert_eq!(
        owner_count(&test, FIRED).await,
        300,
        "the failed chunks rolled back"
    );
    assert_eq!(timeline_counts(&test).await.len(), 300);

    // The rest is leased: a fresh scheduler leaves it alone until the lease runs out…
    let second = drain_with_fresh_scheduler(&test).await;
    assert_eq!(second.fired(), 0);
    // …and then fires all of it.
    expire_leases(&test).await;
    let second = drain_with_fresh_scheduler(&test).await;
    assert_eq!(second.fired(), 700);
    assert_once_overall(&test, &all, &first, &second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduler_killed_mid_firing_loses_and_doubles_nothing() {
    let test = TestDatabase::create().await;
    let (tenant, cases) = tenant_with_cases(&test.db, 10).await;
    let all = timers(&test.db, tenant, &cases, 1000, -1000, "killed").await;
    // Two chunks fire; the next calls hang with their transactions open.
    let first = Arc::new(Counting {
        stall_after: Some(2),
        ..Counting::default()
    });
    let task = tokio::spawn(run(
        test.db.clone(),
        dyn_firer(&first),
        config(),
        CancellationToken::new(),
    ));
    first.stalled.notified().await;
    // The firer counts before its transaction commits: let the two chunks that
    // succeeded commit, so its counts and the database agree when the kill comes.
    let t = &test;
    eventually("the first two chunks commit", || async move {
        owner_count(t, FIRED).await == 200
    })
    .await;
    task.abort();
    assert!(task.await.expect_err("aborted").is_cancelled());

    let fired = owner_count(&test, FIRED).await;
    assert_eq!(fired, 200, "the stalled chunks rolled back");
    assert_eq!(first.fired(), 200);

    expire_leases(&test).await;
    let second = drain_with_fresh_scheduler(&test).await;
    assert_eq!(second.fired() + first.fired(), 1000);
    assert_once_overall(&test, &all, &first, &second).await;
}

#[tokio::test]
async fn a_timer_that_cannot_fire_holds_back_no_other() {
    let test = TestDatabase::create().await;
    let (tenant, cases) = tenant_with_cases(&test.db, 5).await;
    let all = timers(&test.db, tenant, &cases, 50, -1000, "poison").await;
    let bad = all[17];
    let firer = Arc::new(Counting {
        poison: vec![bad],
        ..Counting::default()
    });
    assert_eq!(
        tick(&test.db, &dyn_firer(&firer), &config())
            .await
            .expect("a pass"),
        49
    );
    assert!(
        all.iter()
            .filter(|id| **id != bad)
            .all(|id| firer.count(id) == 1)
    );
    assert_eq!(firer.count(&bad), 0);
    assert_eq!(
        owner_count(
            &test,
            "SELECT count(*) FROM routing.timers WHERE fired_at IS NULL AND lease_until > now()"
        )
        .await,
        1,
        "the bad timer waits for its lease"
    );
}

/// Panics on its first call, fires normally after.
#[derive(Debug, Default)]
struct PanicsOnce {
    calls: std::sync::atomic::AtomicUsize,
    fired: std::sync::Mutex<HashSet<Uuid>>,
}

#[async_trait]
impl Firer for PanicsOnce {
    async fn fire(
        &self,
        _tx: &mut TenantTx,
        timers: &[DueTimer],
    ) -> anyhow::Result<Vec<(Uuid, DateTime<Utc>)>> {
        let call = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        assert!(call > 0, "the test firer panics on its first call");
        self.fired
            .lock()
            .expect("fired lock")
            .extend(timers.iter().map(|t| t.id));
        Ok(Vec::new())
    }
}

#[tokio::test]
async fn a_panicking_firer_costs_only_its_chunk() {
    let test = TestDatabase::create().await;
    let (tenant, cases) = tenant_with_cases(&test.db, 5).await;
    timers(&test.db, tenant, &cases, 300, -1000, "panic").await;
    let firer = Arc::new(PanicsOnce::default());
    let dyn_firer: Arc<dyn Firer> = firer.clone();
    let mut one_at_a_time = config();
    one_at_a_time.concurrency = 1;
    assert_eq!(
        tick(&test.db, &dyn_firer, &one_at_a_time)
            .await
            .expect("a pass"),
        200
    );
    assert_eq!(owner_count(&test, FIRED).await, 200);
    expire_leases(&test).await;
    assert_eq!(
        tick(&test.db, &dyn_firer, &one_at_a_time)
            .await
            .expect("a pass"),
        100
    );
    assert_eq!(firer.fired.lock().expect("fired lock").len(), 300);
}
