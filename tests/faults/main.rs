//! Fault tests: the four services as separate `mashang serve` processes over real
//! PostgreSQL, NATS JetStream and S3, a stream of citizen submissions, a fault in the
//! middle of it, and a reconciliation at the end: every accepted report has exactly
//! one case, one assignment notice and one analytics count.
//!
//! `MASHANG_FAULT_REPORTS` sets the submissions per scenario; `tests/chaos/run` runs
//! these with thousands and prints the reconciliation table.

mod harness;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use harness::{
    Deployment, Endpoints, one_at_a_time, reports_per_scenario, settle, submit_stream,
    when_accepted,
};
use mashang_tests::proxy::Proxy;
use mashang_tests::{TestEnv, eventually, seed_tenant};

const CONCURRENCY: usize = 4;

fn endpoints(env: &TestEnv) -> Endpoints {
    Endpoints {
        database_url: env.database.app_url.clone(),
        nats_url: mashang_tests::infra::nats_url(),
        s3_endpoint: mashang_tests::infra::s3_endpoint(),
    }
}

/// Starts the stream of submissions to `intake_base` in the background: its size,
/// its count of accepted submissions, and the task that ends with what it met.
fn start_stream(
    intake_base: String,
    qr_token: &str,
) -> (
    usize,
    Arc<AtomicUsize>,
    tokio::task::JoinHandle<harness::Submissions>,
) {
    let total = reports_per_scenario();
    let progress = Arc::new(AtomicUsize::new(0));
    let stream = tokio::spawn(submit_stream(
        intake_base,
        qr_token.to_owned(),
        total,
        CONCURRENCY,
        progress.clone(),
    ));
    (total, progress, stream)
}

fn host_port(url: &str) -> String {
    url.split("://")
        .nth(1)
        .unwrap_or(url)
        .trim_end_matches('/')
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r1_services_killed_with_sigkill_mid_stream_lose_nothing_and_do_nothing_twice() {
    let _serial = one_at_a_time().await;
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "rkill").await;
    let mut deployment = Deployment::start(&endpoints(&env)).await;
    let (total, progress, stream) =
        start_stream(deployment.service("intake").client().base, &fx.qr_token);

    // Each service dies at its point of the stream and comes back a moment later;
    // intake twice.
    for (share, name) in [
        (5, "intake"),
        (25, "routing"),
        (45, "notification"),
        (60, "analytics"),
        (75, "intake"),
    ] {
        when_accepted(&progress, total * share / 100).await;
        let service = deployment.service(name);
        service.kill().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        service.restart().await;
        service.wait_alive().await;
    }
    let submissions = stream.await.expect("the stream finished");

    let mut owner = env.database.owner().await;
    let r = settle(
        &mut owner,
        &fx,
        "R1 SIGKILL intake×2, each other×1",
        &submissions,
    )
    .await;
    assert!(r.complete(), "{r:?}");
    assert!(
        submissions.unanswered > 0 || submissions.refusals.values().sum::<usize>() > 0,
        "the kills were meant to be felt by some submissions"
    );
    deployment.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r2_with_nats_away_every_submission_is_accepted_and_the_backlog_drains() {
    let _serial = one_at_a_time().await;
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "rnats").await;
    let proxy = Proxy::start(host_port(&mashang_tests::infra::nats_url())).await;
    let mut ends = endpoints(&env);
    ends.nats_url = format!("nats://{}", proxy.addr());
    let mut deployment = Deployment::start(&ends).await;
    let intake = deployment.service("intake").client();
    let (total, progress, stream) = start_stream(intake.base.clone(), &fx.qr_token);

    when_accepted(&progress, total / 4).await;
    proxy.cut();
    eventually(
        "intake to see the bus down",
        Duration::from_secs(30),
        || async {
            let ready = intake.get("/readyz").await;
            (ready.status == 503).then_some(())
        },
    )
    .await;
    when_accepted(&progress, total * 3 / 4).await;
    proxy.restore();
    let submissions = stream.await.expect("the stream finished");

    let mut owner = env.database.owner().await;
    let r = settle(
        &mut owner,
        &fx,
        "R2 NATS away for half the stream",
        &submissions,
    )
    .await;
    assert!(r.complete(), "{r:?}");
    assert!(
        submissions.refusals.is_empty() && submissions.unanswered == 0,
        "every submission is accepted at once while NATS is away: {submissions:?}"
    );
    deployment.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r3_a_database_restart_mid_stream_gives_503s_and_loses_nothing_acknowledged() {
    let _serial = one_at_a_time().await;
    // A private cluster, since the shared one serves other tests.
    let dir = tempfile::tempdir_in(std::env::temp_dir()).expect("a folder");
    make_reachable(dir.path());
    let pg = mashang::embedded_pg::EmbeddedPg::start(dir.path()).expect("a private cluster");
    let database = mashang_db::testing::TestDatabase::create_in(&pg.url("postgres")).await;
    let fx = seed_tenant(&database.db, "rpg").await;
    let mut deployment = Deployment::start(&Endpoints {
        database_url: database.app_url.clone(),
        nats_url: mashang_tests::infra::nats_url(),
        s3_endpoint: mashang_tests::infra::s3_endpoint(),
    })
    .await;
    let (total, progress, stream) =
        start_stream(deployment.service("intake").client().base, &fx.qr_token);

    when_accepted(&progress, total / 3).await;
    pg.stop().expect("stopping PostgreSQL");
    tokio::time::sleep(Duration::from_secs(2)).await;
    pg.launch().expect("starting PostgreSQL again");
    let submissions = stream.await.expect("the stream finished");

    let mut owner = database.owner().await;
    let r = settle(&mut owner, &fx, "R3 PostgreSQL restarted", &submissions).await;
    assert!(r.complete(), "{r:?}");
    assert_eq!(submissions.unanswered, 0, "intake kept answering");
    for kind in submissions.refusals.keys() {
        assert_eq!(
            kind, "503 application/problem+json",
            "during the gap only 503 problem+json: {submissions:?}"
        );
    }
    for service in &deployment.services {
        assert_eq!(
            service.starts, 1,
            "{} recovered without a restart",
            service.name
        );
    }
    deployment.stop().await;
    drop(owner);
    database.db.close().await;
    pg.stop().expect("stopping PostgreSQL");
}

/// PostgreSQL runs as `postgres` when the tests run as root: it must reach the folder.
fn make_reachable(dir: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r4_with_s3_away_text_reports_are_accepted_and_uploads_get_a_clear_503() {
    let _serial = one_at_a_time().await;
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "rs3").await;
    let proxy = Proxy::start(host_port(&mashang_tests::infra::s3_endpoint())).await;
    let mut ends = endpoints(&env);
    ends.s3_endpoint = format!("http://{}", proxy.addr());
    let mut deployment = Deployment::start(&ends).await;
    let intake = deployment.service("intake").client();
    mashang_tests::intake::upload_ok(
        &intake,
        &fx.qr_token,
        mashang_tests::photo::jpeg(20_000, 1),
        "a.jpg",
        "image/jpeg",
    )
    .await;

    proxy.cut();
    let (_, _, stream) = start_stream(intake.base.clone(), &fx.qr_token);
    for seed in 0..3 {
        let refused = mashang_tests::intake::upload(
            &intake,
            &fx.qr_token,
            mashang_tests::photo::jpeg(20_000, 10 + seed),
            "b.jpg",
            "image/jpeg",
        )
        .await;
        assert_eq!(refused.status, 503, "{}", refused.body);
        assert_eq!(refused.content_type, "application/problem+json");
    }
    let submissions = stream.await.expect("the stream finished");
    let mut owner = env.database.owner().await;
    let attachments: i64 =
        sqlx::query_scalar("SELECT count(*) FROM intake.attachments WHERE tenant_id = $1")
            .bind(fx.tenant.as_uuid())
            .fetch_one(&mut owner)
            .await
            .expect("counting attachments");
    assert_eq!(attachments, 1, "a refused upload leaves no row");

    proxy.restore();
    mashang_tests::intake::upload_ok(
        &intake,
        &fx.qr_token,
        mashang_tests::photo::jpeg(20_000, 2),
        "c.jpg",
        "image/jpeg",
    )
    .await;
    let r = settle(
        &mut owner,
        &fx,
        "R4 S3 away during the stream",
        &submissions,
    )
    .await;
    assert!(r.complete(), "{r:?}");
    assert!(
        submissions.refusals.is_empty() && submissions.unanswered == 0,
        "text reports do not need S3: {submissions:?}"
    );
    deployment.stop().await;
}
