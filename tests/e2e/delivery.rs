//! Delivery guarantees: no event lost to a bus outage or a crash, and no event with a
//! second effect when it arrives twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use mashang_bus::{
    Bus, BusError, ConsumerSpec, Handler, InProcessBus, NatsBus, RetryPolicy, Service, relay,
};
use mashang_domain::events::Envelope;
use mashang_intake::{IntakeConfig, IntakeState};
use mashang_storage::LocalStore;
use mashang_tests::infra::{nats_config, pii_key, serve_router};
use mashang_tests::proxy::Proxy;
use mashang_tests::{Client, Fixture, TestApp, TestEnv, eventually, seed_tenant};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(45);

async fn submit(client: &Client, fx: &Fixture, n: usize) -> Vec<String> {
    let mut urls = Vec::new();
    for i in 0..n {
        let body = json!({"qr_token": fx.qr_token, "category": "sanitation", "description": format!("垃圾没人清理 #{i}")});
        let reply = client.post_json("/api/v1/reports", &body).await.expect(201);
        urls.push(
            reply.body["status_url"]
                .as_str()
                .expect("a status URL")
                .to_owned(),
        );
    }
    urls
}

async fn wait_assigned(client: &Client, urls: &[String]) {
    for url in urls {
        let url = url.replace("http://public.test", &client.base);
        eventually("every report to be assigned", WAIT, || async {
            let reply = client.get_json_url(&url).await.expect(200);
            (reply.body["status"] == "assigned").then_some(())
        })
        .await;
    }
}

async fn count(env: &TestEnv, sql: &'static str, fx: &Fixture) -> i64 {
    let mut owner = env.database.owner().await;
    let (n,): (i64,) = sqlx::query_as(sql)
        .bind(fx.tenant.as_uuid())
        .fetch_one(&mut owner)
        .await
        .expect("counting");
    n
}

async fn assert_one_effect_each(env: &TestEnv, fx: &Fixture, reports: i64) {
    assert_eq!(
        count(
            env,
            "SELECT count(*) FROM routing.cases WHERE tenant_id = $1",
            fx
        )
        .await,
        reports
    );
    assert_eq!(
        count(
            env,
            "SELECT count(*) FROM notification.notices WHERE tenant_id = $1",
            fx
        )
        .await,
        reports
    );
    assert_eq!(
        count(env, "SELECT coalesce(sum(value), 0)::bigint FROM analytics.tenant_counters WHERE tenant_id = $1 AND metric = 'report.submitted'", fx).await,
        reports
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_succeed_while_nats_is_down_and_are_delivered_when_it_returns() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "outage").await;
    let upstream = mashang_tests::infra::nats_url()
        .trim_start_matches("nats://")
        .to_owned();
    let proxy = Proxy::start(upstream).await;
    let mut nats = nats_config();
    nats.url = format!("nats://{}", proxy.addr());
    let app = TestApp::split(&env, nats).await;
    let first = submit(&app.intake, &fx, 1).await;
    wait_assigned(&app.intake, &first).await;

    proxy.cut();
    eventually("intake to report the bus down", WAIT, || async {
        let reply = app.intake.get("/readyz").await;
        (reply.status == 503
            && reply.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("bus")))
        .then_some(())
    })
    .await;
    let during = submit(&app.intake, &fx, 5).await;
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM intake.outbox WHERE tenant_id = $1 AND published_at IS NULL",
            &fx
        )
        .await,
        5,
        "the events wait in the outbox"
    );

    proxy.restore();
    wait_assigned(&app.intake, &during).await;
    eventually("every event to reach analytics", WAIT, || async {
        let n = count(&env, "SELECT coalesce(sum(value), 0)::bigint FROM analytics.tenant_counters WHERE tenant_id = $1 AND metric = 'report.submitted'", &fx).await;
        (n == 6).then_some(())
    })
    .await;
    assert_one_effect_each(&env, &fx, 6).await;
    app.stop().await;
}

/// Publishes for real, then "dies" (panics) after `survive` publishes, before the
/// relay can mark anything sent.
#[derive(Debug)]
struct DiesAfterPublishing {
    inner: NatsBus,
    published: AtomicUsize,
    survive: usize,
}

#[async_trait]
impl Bus for DiesAfterPublishing {
    async fn publish(&self, envelope: &Envelope) -> Result<(), BusError> {
        self.inner.publish(envelope).await?;
        if self.published.fetch_add(1, Ordering::SeqCst) + 1 >= self.survive {
            panic!("simulated crash after publishing, before marking the outbox");
        }
        Ok(())
    }
    async fn run_consumer(
        &self,
        spec: ConsumerSpec,
        handler: Arc<dyn Handler>,
        shutdown: CancellationToken,
    ) -> Result<(), BusError> {
        self.inner.run_consumer(spec, handler, shutdown).await
    }
    async fn check(&self) -> Result<(), BusError> {
        self.inner.check().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_committed_before_a_crash_are_delivered_once_after_restart() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "crash").await;
    let nats = nats_config();

    // Intake accepts reports but its relay never runs: killed right after each commit.
    let blobs = Arc::new(LocalStore::new(env.dir.path().join("blobs")));
    let state = IntakeState::new(
        env.db().clone(),
        blobs,
        IntakeConfig::new("http://public.test", pii_key()),
    );
    let (intake, stop_intake) = serve_router(mashang_intake::router(state.clone())).await;
    let urls = submit(&intake, &fx, 3).await;

    // A relay publishes two of them, then dies before marking anything sent.
    let crashing = Arc::new(DiesAfterPublishing {
        inner: NatsBus::connect(nats.clone()).await.expect("connecting"),
        published: AtomicUsize::new(0),
        survive: 2,
    });
    let db = env.db().clone();
    let died = tokio::spawn(async move {
        relay::drain_once(&db, crashing.as_ref(), Service::Intake, 100).await
    })
    .await;
    assert!(died.is_err(), "the relay was meant to die");
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM intake.outbox WHERE tenant_id = $1 AND published_at IS NULL",
            &fx
        )
        .await,
        3,
        "nothing was marked sent"
    );

    // After the restart: the other services, and intake with its workers.
    stop_intake.cancel();
    let app = TestApp::split(&env, nats).await;
    wait_assigned(&app.intake, &urls).await;
    eventually("every event to reach analytics", WAIT, || async {
        let n = count(&env, "SELECT coalesce(sum(value), 0)::bigint FROM analytics.tenant_counters WHERE tenant_id = $1 AND metric = 'case.assigned'", &fx).await;
        (n == 3).then_some(())
    })
    .await;
    assert_one_effect_each(&env, &fx, 3).await;
    eventually("the relay to mark every event sent", WAIT, || async {
        let n = count(
            &env,
            "SELECT count(*) FROM intake.outbox WHERE tenant_id = $1 AND published_at IS NULL",
            &fx,
        )
        .await;
        (n == 0).then_some(())
    })
    .await;
    app.stop().await;
}

async fn outbox_envelope(
    env: &TestEnv,
    schema_table: &'static str,
    event_type: &str,
    fx: &Fixture,
) -> Envelope {
    let sql = match schema_table {
        "intake" => "SELECT envelope FROM intake.outbox WHERE tenant_id = $1 AND event_type = $2",
        _ => "SELECT envelope FROM routing.outbox WHERE tenant_id = $1 AND event_type = $2",
    };
    let mut owner = env.database.owner().await;
    let (raw,): (Value,) = sqlx::query_as(sql)
        .bind(fx.tenant.as_uuid())
        .bind(event_type)
        .fetch_one(&mut owner)
        .await
        .expect("the event in the outbox");
    serde_json::from_value(raw).expect("an envelope")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_event_delivered_twice_makes_one_case_and_one_notice() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "twice").await;
    let blobs = Arc::new(LocalStore::new(env.dir.path().join("blobs")));
    let state = IntakeState::new(
        env.db().clone(),
        blobs,
        IntakeConfig::new("http://public.test", pii_key()),
    );
    let (intake, stop) = serve_router(mashang_intake::router(state)).await;
    submit(&intake, &fx, 1).await;
    stop.cancel();
    let submitted = outbox_envelope(&env, "intake", "report.submitted", &fx).await;

    // Routing: twice in a row, then twice at once.
    let routing = mashang_routing::cases::intake::ReportHandler::new(env.db().clone());
    routing
        .handle(submitted.clone())
        .await
        .expect("first delivery");
    let timers_once = count(
        &env,
        "SELECT count(*) FROM routing.timers WHERE tenant_id = $1",
        &fx,
    )
    .await;
    assert!(
        timers_once >= 2,
        "the first delivery schedules the case's timers"
    );
    routing
        .handle(submitted.clone())
        .await
        .expect("second delivery");
    let (a, b) = tokio::join!(
        routing.handle(submitted.clone()),
        routing.handle(submitted.clone())
    );
    a.expect("concurrent delivery");
    b.expect("concurrent delivery");
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM routing.cases WHERE tenant_id = $1",
            &fx
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM routing.timers WHERE tenant_id = $1",
            &fx
        )
        .await,
        timers_once
    );
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM routing.outbox WHERE tenant_id = $1",
            &fx
        )
        .await,
        2
    );

    // Notification, through the in-process bus this time.
    let assigned = outbox_envelope(&env, "routing", "case.assigned", &fx).await;
    let bus = InProcessBus::new(vec![mashang_notification::CONSUMER], RetryPolicy::default());
    let shutdown = CancellationToken::new();
    let handler = Arc::new(mashang_notification::notices::AssignedHandler::new(
        env.db().clone(),
    ));
    let consumer = {
        let bus = bus.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            bus.run_consumer(mashang_notification::CONSUMER, handler, shutdown)
                .await
        })
    };
    bus.publish(&assigned).await.expect("first delivery");
    bus.publish(&assigned).await.expect("second delivery");
    shutdown.cancel();
    consumer
        .await
        .expect("the consumer task")
        .expect("the consumer");
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM notification.notices WHERE tenant_id = $1",
            &fx
        )
        .await,
        1
    );
}
