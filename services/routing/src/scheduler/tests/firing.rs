//! Firing: exactly once under racing replicas, only when due, in the timer's tenant,
//! and again at a new time when the firer puts a timer back.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::Utc;
use mashang_db::testing::TestDatabase;
use mashang_db::{Db, DbConfig};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::super::{run, tick};
use super::{
    Counting, config, dyn_firer, eventually, owner_count, tenant_with_cases, timeline_counts,
    timers,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_due_together_fire_once_with_two_schedulers_racing() {
    let test = TestDatabase::create().await;
    let mut all = Vec::new();
    for _ in 0..20 {
        let (tenant, cases) = tenant_with_cases(&test.db, 50).await;
        all.extend(timers(&test.db, tenant, &cases, 500, -1000, "race").await);
    }
    assert_eq!(all.len(), 10_000);

    // A second replica: its own pool, like another process.
    let mut other = DbConfig::new(test.app_url.clone());
    other.max_connections = 8;
    let other = Db::connect(&other).await.expect("a second pool");
    let firer = Arc::new(Counting::default());
    let shutdown = CancellationToken::new();
    let a = tokio::spawn(run(
        test.db.clone(),
        dyn_firer(&firer),
        config(),
        shutdown.clone(),
    ));
    let b = tokio::spawn(run(other, dyn_firer(&firer), config(), shutdown.clone()));
    let t = &test;
    eventually("all 10 000 timers are fired", || async move {
        owner_count(
            t,
            "SELECT count(*) FROM routing.timers WHERE fired_at IS NOT NULL",
        )
        .await
            == 10_000
    })
    .await;
    shutdown.cancel();
    a.await.expect("scheduler a stops");
    b.await.expect("scheduler b stops");

    let doubled: Vec<_> = all.iter().filter(|id| firer.count(id) != 1).collect();
    assert!(
        doubled.is_empty(),
        "{} timers not fired exactly once",
        doubled.len()
    );
    let timeline = timeline_counts(&test).await;
    assert_eq!(timeline.len(), 10_000, "one timeline row per timer");
    assert!(timeline.values().all(|n| *n == 1), "no timer wrote twice");
    assert_eq!(
        owner_count(&test, "SELECT count(*) FROM routing.case_timeline").await,
        10_000
    );
    assert_eq!(firer.wrong_tenant.load(Ordering::SeqCst), 0);
}

/// With no lease at all, both schedulers claim the same timers again and again: only
/// the mark's `fired_at IS NULL`, re-checked under the row lock, keeps them apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_does_not_rest_on_the_lease() {
    let test = TestDatabase::create().await;
    let mut all = Vec::new();
    for _ in 0..4 {
        let (tenant, cases) = tenant_with_cases(&test.db, 20).await;
        all.extend(timers(&test.db, tenant, &cases, 500, -1000, "no_lease").await);
    }
    let mut no_lease = config();
    no_lease.lease = std::time::Duration::ZERO;
    no_lease.chunk = 50;
    let other = Db::connect(&DbConfig::new(test.app_url.clone()))
        .await
        .expect("a second pool");
    let firer = Arc::new(Counting::default());
    let (db_a, firer_a) = (test.db.clone(), dyn_firer(&firer));
    let (db_b, firer_b) = (other, dyn_firer(&firer));
    // Both drain until a pass finds nothing, taking the same batches at the same time.
    let a = tokio::spawn(async move {
        while tick(&db_a, &firer_a, &no_lease).await.expect("a pass") > 0 {}
    });
    let b = tokio::spawn(async move {
        while tick(&db_b, &firer_b, &no_lease).await.expect("a pass") > 0 {}
    });
    a.await.expect("scheduler a");
    b.await.expect("scheduler b");
    // A pass that found only timers the other had marked fired nothing and stopped
    // its loop; finish what may be left.
    while tick(&test.db, &dyn_firer(&firer), &no_lease)
        .await
        .expect("a pass")
        > 0
    {}

    assert!(
        all.iter().all(|id| firer.count(id) == 1),
        "every timer fired exactly once"
    );
    let timeline = timeline_counts(&test).await;
    assert_eq!(timeline.len(), all.len());
    assert!(timeline.values().all(|n| *n == 1));
}

#[tokio::test]
async fn only_due_timers_are_taken_and_only_once() {
    let test = TestDatabase::create().await;
    let (tenant, cases) = tenant_with_cases(&test.db, 3).await;
    let due = timers(&test.db, tenant, &cases, 5, -500, "due").await;
    let later = timers(&test.db, tenant, &cases, 5, 3_600_000, "later").await;
    let firer = Arc::new(Counting::default());
    let dyn_firer = dyn_firer(&firer);

    assert_eq!(
        tick(&test.db, &dyn_firer, &config()).await.expect("a pass"),
        5
    );
    assert!(due.iter().all(|id| firer.count(id) == 1));
    assert!(later.iter().all(|id| firer.count(id) == 0));
    assert_eq!(
        owner_count(
            &test,
            "SELECT count(*) FROM routing.timers WHERE kind = 'later' \
             AND fired_at IS NULL AND lease_until IS NULL"
        )
        .await,
        5,
        "timers not yet due are neither fired nor leased"
    );

    // Fired timers are not taken again.
    assert_eq!(
        tick(&test.db, &dyn_firer, &config()).await.expect("a pass"),
        0
    );
    assert_eq!(firer.fired(), 5);
    assert!(due.iter().all(|id| firer.count(id) == 1));
}

#[tokio::test]
async fn a_timer_put_back_fires_again_at_its_new_time() {
    let test = TestDatabase::create().await;
    let (tenant, cases) = tenant_with_cases(&test.db, 2).await;
    let ids = timers(&test.db, tenant, &cases, 4, -500, "reminder").await;
    let moved = ids[0];
    let new_due = Utc::now() + chrono::Duration::milliseconds(2000);
    let firer = Arc::new(Counting::default());
    firer
        .put_back
        .lock()
        .expect("put-back lock")
        .insert(moved, new_due);
    let dyn_firer = dyn_firer(&firer);

    // All four fire; one is put back, so three count as fired.
    assert_eq!(
        tick(&test.db, &dyn_firer, &config()).await.expect("a pass"),
        3
    );
    let mut conn = test.owner().await;
    let (fired_at, due_at, lease): (
        Option<chrono::DateTime<Utc>>,
        chrono::DateTime<Utc>,
        Option<chrono::DateTime<Utc>>,
    ) = sqlx::query_as("SELECT fired_at, due_at, lease_until FROM routing.timers WHERE id = $1")
        .bind(moved)
        .fetch_one(&mut conn)
        .await
        .expect("reading the moved timer");
    assert_eq!(fired_at, None, "put back unfired");
    assert_eq!(due_at.timestamp_micros(), new_due.timestamp_micros());
    assert_eq!(lease, None, "free for any pass");

    // Not before its new time…
    assert_eq!(
        tick(&test.db, &dyn_firer, &config()).await.expect("a pass"),
        0
    );
    assert_eq!(firer.count(&moved), 1);
    // …and then once.
    let (db, f) = (&test.db, &dyn_firer);
    eventually("the moved timer fires again", || async move {
        tick(db, f, &config()).await.expect("a pass") == 1
    })
    .await;
    let (fired_at,): (chrono::DateTime<Utc>,) =
        sqlx::query_as("SELECT fired_at FROM routing.timers WHERE id = $1")
            .bind(moved)
            .fetch_one(&mut conn)
            .await
            .expect("reading the moved timer");
    assert!(fired_at >= new_due, "fired at {fired_at}, due {new_due}");
    assert_eq!(firer.count(&moved), 2);
    assert!(ids[1..].iter().all(|id| firer.count(id) == 1));
    assert_eq!(
        tick(&test.db, &dyn_firer, &config()).await.expect("a pass"),
        0
    );
}

#[tokio::test]
async fn each_tenant_fires_in_its_own_transaction() {
    let test = TestDatabase::create().await;
    let mut expected: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
    for n in 1..=4 {
        let (tenant, cases) = tenant_with_cases(&test.db, 2).await;
        let ids = timers(&test.db, tenant, &cases, 30 * n, -100, "mixed").await;
        expected.insert(tenant.as_uuid(), ids.into_iter().collect());
    }
    let firer = Arc::new(Counting::default());
    let mut small = config();
    small.chunk = 25;
    assert_eq!(
        tick(&test.db, &dyn_firer(&firer), &small)
            .await
            .expect("a pass"),
        300
    );
    assert_eq!(
        firer.wrong_tenant.load(Ordering::SeqCst),
        0,
        "every call saw only its own tenant's timers"
    );

    // Each timeline row was written in the timer's own tenant (row-level security's
    // WITH CHECK would have refused anything else) and for a timer of that tenant.
    let mut conn = test.owner().await;
    let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT l.tenant_id, t.tenant_id FROM routing.case_timeline l \
         JOIN routing.timers t ON t.id = (l.details->>'timer')::uuid",
    )
    .fetch_all(&mut conn)
    .await
    .expect("reading the timeline");
    assert_eq!(rows.len(), 300);
    assert!(rows.iter().all(|(row, timer)| row == timer));
    for (tenant, ids) in &expected {
        let mut tx = test
            .db
            .tenant((*tenant).into())
            .await
            .expect("a tenant transaction");
        let (n,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM routing.timers WHERE tenant_id = $1 AND fired_at IS NOT NULL",
        )
        .bind(tenant)
        .fetch_one(&mut *tx)
        .await
        .expect("counting");
        assert_eq!(n as usize, ids.len());
    }
}
