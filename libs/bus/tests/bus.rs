//! The bus against real NATS JetStream and PostgreSQL: delivery, filtering,
//! de-duplication, redelivery with back-off for as long as a failure lasts, dead
//! letters parked, listed and replayed, and the outbox relay.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use mashang_bus::dead_letter::{self, Replay};
use mashang_bus::relay::{self, RelayConfig};
use mashang_bus::{
    Bus, ConsumerSpec, DeadLetters, Handler, HandlerError, InProcessBus, NatsBus, NatsConfig,
    RetryPolicy, Service, outbox,
};
use mashang_db::testing::TestDatabase;
use mashang_domain::events::{CaseAssigned, CaseCreated, Envelope, EventType};
use mashang_domain::{CaseId, GridNodeId, ReportId, TenantId, UserId};
use tokio_util::sync::CancellationToken;

/// What the recording handler does with an event.
#[derive(Clone, Copy, Debug)]
enum Behaviour {
    Succeed,
    /// Fails retryably this many times, then succeeds.
    FailFirst(usize),
    /// Fails retryably every time.
    FailAlways,
    /// Always poison.
    Poison,
    /// Succeeds, but only after this long.
    Slow(Duration),
}

#[derive(Debug)]
struct Recorder {
    behaviour: Mutex<Behaviour>,
    seen: Mutex<Vec<Envelope>>,
    /// The events whose effect was applied (the handler returned `Ok`).
    effects: Mutex<Vec<Envelope>>,
}

impl Recorder {
    fn new(behaviour: Behaviour) -> Arc<Self> {
        Arc::new(Self {
            behaviour: Mutex::new(behaviour),
            seen: Mutex::new(Vec::new()),
            effects: Mutex::new(Vec::new()),
        })
    }
    fn seen(&self) -> Vec<Envelope> {
        self.seen.lock().expect("not poisoned").clone()
    }
    fn effects(&self) -> Vec<Envelope> {
        self.effects.lock().expect("not poisoned").clone()
    }
    /// The handler is "fixed" (or broken) from now on.
    fn become_(&self, behaviour: Behaviour) {
        *self.behaviour.lock().expect("not poisoned") = behaviour;
    }
}

#[async_trait]
impl Handler for Recorder {
    async fn handle(&self, envelope: Envelope) -> Result<(), HandlerError> {
        let attempts = {
            let mut seen = self.seen.lock().expect("not poisoned");
            seen.push(envelope.clone());
            seen.iter().filter(|e| e.id == envelope.id).count()
        };
        let behaviour = *self.behaviour.lock().expect("not poisoned");
        match behaviour {
            Behaviour::FailFirst(n) if attempts <= n => {
                return Err(HandlerError::Retry(anyhow::anyhow!(
                    "passing failure {attempts}"
                )));
            }
            Behaviour::FailAlways => {
                return Err(HandlerError::Retry(anyhow::anyhow!("the database is away")));
            }
            Behaviour::Poison => {
                return Err(HandlerError::Poison(anyhow::anyhow!(
                    "cannot ever handle this"
                )));
            }
            Behaviour::Slow(pause) => tokio::time::sleep(pause).await,
            Behaviour::Succeed | Behaviour::FailFirst(_) => {}
        }
        self.effects.lock().expect("not poisoned").push(envelope);
        Ok(())
    }
}

/// A back-off far shorter than production's, so that tests fail many times quickly.
const FAST: RetryPolicy = RetryPolicy {
    first_delay: Duration::from_millis(2),
    max_delay: Duration::from_millis(20),
};

/// More failures in a row than the old retry budget (8 deliveries) allowed.
const LONG_OUTAGE: usize = 30;

/// The dead letters of `db`, as `mashang events dead` lists them.
fn dead_letters(db: &mashang_db::Db) -> DeadLetters {
    DeadLetters::new(db.clone()).with_poll_interval(Duration::from_millis(50))
}

async fn parked(db: &mashang_db::Db, service: Service) -> Vec<dead_letter::DeadLetter> {
    dead_letter::list(db, Some(service)).await.expect("listing")
}

/// The `mashang_bus_dead_letters` gauge of `service`, as Prometheus would scrape it.
fn gauge(service: Service) -> Option<f64> {
    let page = mashang_telemetry::prometheus().render();
    let prefix = format!("mashang_bus_dead_letters{{service=\"{service}\"}} ");
    page.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().parse().ok())
}

async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn assigned(tenant: TenantId) -> Envelope {
    let payload = CaseAssigned {
        case_id: CaseId::new(),
        case_version: 2,
        report_id: ReportId::new(),
        tracking_number: "T-20261126-0001".into(),
        assignee_id: UserId::new(),
        assigned_node_id: GridNodeId::new(),
        vacancy: false,
        first_response_due: Utc::now(),
        handler_level: None,
        resolution_due: None,
    };
    Envelope::new(tenant, Utc::now(), &payload).expect("an envelope")
}

fn created(tenant: TenantId) -> Envelope {
    let payload = CaseCreated {
        case_id: CaseId::new(),
        case_version: 1,
        report_id: ReportId::new(),
        tracking_number: "T-20261126-0001".into(),
        grid_node_id: GridNodeId::new(),
        category: "roads".into(),
        first_response_due: Utc::now(),
        priority: None,
        resolution_due: None,
    };
    Envelope::new(tenant, Utc::now(), &payload).expect("an envelope")
}

fn nats_config() -> NatsConfig {
    let url = std::env::var("MASHANG_TEST_NATS_URL")
        .unwrap_or_else(|_| "nats://127.0.0.1:4223".to_owned());
    let mut config = NatsConfig::new(url);
    config.prefix = format!("b{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    config.retry = FAST;
    config
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

const ASSIGNED_ONLY: ConsumerSpec = ConsumerSpec {
    name: "assigned-only",
    types: &[EventType::CaseAssigned],
};

fn spawn_consumer(
    bus: Arc<dyn Bus>,
    spec: ConsumerSpec,
    handler: Arc<Recorder>,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let stop = CancellationToken::new();
    let token = stop.clone();
    let task = tokio::spawn(async move {
        bus.run_consumer(spec, handler, token)
            .await
            .expect("the consumer runs");
    });
    (stop, task)
}

#[tokio::test]
async fn nats_delivers_only_the_wanted_types_once_per_event_id() {
    let bus: Arc<dyn Bus> = Arc::new(NatsBus::connect(nats_config()).await.expect("connecting"));
    let recorder = Recorder::new(Behaviour::Succeed);
    let (stop, task) = spawn_consumer(bus.clone(), ASSIGNED_ONLY, recorder.clone());
    let tenant = TenantId::new();
    let wanted = assigned(tenant);
    bus.publish(&created(tenant)).await.expect("publishing");
    bus.publish(&wanted).await.expect("publishing");
    // Published again (as after a relay crash): JetStream drops the duplicate id.
    bus.publish(&wanted).await.expect("publishing again");
    // A later event: once it has arrived, a duplicate of the first would have too.
    let marker = assigned(tenant);
    bus.publish(&marker).await.expect("publishing");
    wait_for("the marker event", || {
        recorder.seen().iter().any(|e| e.id == marker.id)
    })
    .await;
    let times = |id| recorder.seen().iter().filter(|e| e.id == id).count();
    assert_eq!(times(wanted.id), 1, "the duplicate publish was delivered");
    assert_eq!(recorder.seen().len(), 2);
    assert!(
        recorder
            .seen()
            .iter()
            .all(|e| e.event_type == EventType::CaseAssigned)
    );
    stop.cancel();
    task.await.expect("the consumer stops");
}

const ROUTING: ConsumerSpec = ConsumerSpec {
    name: "routing",
    types: &[EventType::CaseAssigned],
};

#[tokio::test]
async fn nats_keeps_redelivering_through_a_long_transient_failure_and_applies_it_once() {
    let database = TestDatabase::create().await;
    let bus = NatsBus::connect(nats_config())
        .await
        .expect("connecting")
        .with_dead_letters(dead_letters(&database.db));
    let bus: Arc<dyn Bus> = Arc::new(bus);
    let flaky = Recorder::new(Behaviour::FailFirst(LONG_OUTAGE));
    let (stop, task) = spawn_consumer(bus.clone(), ROUTING, flaky.clone());
    let event = assigned(TenantId::new());
    bus.publish(&event).await.expect("publishing");
    eventually("the effect after the outage", async || {
        (!flaky.effects().is_empty()).then_some(())
    })
    .await;
    // One more event through the same consumer: once it is handled, a second
    // delivery of the first would have been too.
    let marker = assigned(event.tenant_id);
    bus.publish(&marker).await.expect("publishing");
    eventually("the marker", async || {
        flaky
            .effects()
            .iter()
            .any(|e| e.id == marker.id)
            .then_some(())
    })
    .await;
    stop.cancel();
    task.await.expect("the consumer stops");
    let applied = flaky.effects().iter().filter(|e| e.id == event.id).count();
    assert_eq!(applied, 1, "applied exactly once");
    let tries = flaky.seen().iter().filter(|e| e.id == event.id).count();
    assert_eq!(
        tries,
        LONG_OUTAGE + 1,
        "every failure was followed by a redelivery"
    );
    assert!(
        parked(&database.db, Service::Routing).await.is_empty(),
        "nothing parked"
    );
}

#[tokio::test]
async fn nats_does_not_redeliver_an_event_whose_slow_handler_is_still_working() {
    let mut config = nats_config();
    config.ack_wait = Duration::from_secs(1);
    let bus: Arc<dyn Bus> = Arc::new(NatsBus::connect(config).await.expect("connecting"));
    // Three times the server's patience: without progress reports it would deliver
    // the event again twice while the first delivery is still being handled.
    let slow = Recorder::new(Behaviour::Slow(Duration::from_secs(3)));
    let (stop, task) = spawn_consumer(bus.clone(), ASSIGNED_ONLY, slow.clone());
    let event = assigned(TenantId::new());
    bus.publish(&event).await.expect("publishing");
    eventually("the slow effect", async || {
        (!slow.effects().is_empty()).then_some(())
    })
    .await;
    slow.become_(Behaviour::Succeed);
    let marker = assigned(event.tenant_id);
    bus.publish(&marker).await.expect("publishing");
    eventually("the marker", async || {
        slow.effects()
            .iter()
            .any(|e| e.id == marker.id)
            .then_some(())
    })
    .await;
    stop.cancel();
    task.await.expect("the consumer stops");
    let deliveries = slow.seen().iter().filter(|e| e.id == event.id).count();
    assert_eq!(deliveries, 1, "redelivered while its handler was working");
}

#[tokio::test]
async fn nats_parks_poison_in_the_table_and_replays_it_once_asked() {
    let database = TestDatabase::create().await;
    let db = &database.db;
    let bus = NatsBus::connect(nats_config())
        .await
        .expect("connecting")
        .with_dead_letters(dead_letters(db));
    let bus: Arc<dyn Bus> = Arc::new(bus);
    let spec = ConsumerSpec {
        name: "notification",
        types: &[EventType::CaseCreated],
    };
    let handler = Recorder::new(Behaviour::Poison);
    let (stop, task) = spawn_consumer(bus.clone(), spec, handler.clone());
    let bad = created(TenantId::new());
    bus.publish(&bad).await.expect("publishing");

    let rows = eventually("the dead letter", async || {
        let rows = parked(db, Service::Notification).await;
        (!rows.is_empty()).then_some(rows)
    })
    .await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.event_id, Some(bad.id.as_uuid()));
    assert_eq!(row.event_type.as_deref(), Some("case.created"));
    assert_eq!(row.tenant_id, Some(bad.tenant_id.as_uuid()));
    assert!(
        row.first_error.contains("cannot ever handle this"),
        "{}",
        row.first_error
    );
    assert_eq!(row.count, 1);
    assert_eq!(handler.seen().len(), 1, "poison is not retried");
    eventually("the gauge at one", async || {
        (gauge(Service::Notification) == Some(1.0)).then_some(())
    })
    .await;

    // The handler is fixed; the operator replays the event.
    handler.become_(Behaviour::Succeed);
    let marked = dead_letter::request_replay(db, Replay::Id(bad.id.as_uuid()), None)
        .await
        .expect("asking for a replay");
    assert_eq!(marked, 1);
    eventually("the replayed event's effect and its row gone", async || {
        (handler.effects().len() == 1 && parked(db, Service::Notification).await.is_empty())
            .then_some(())
    })
    .await;
    eventually("the gauge at zero", async || {
        (gauge(Service::Notification) == Some(0.0)).then_some(())
    })
    .await;
    assert_eq!(handler.effects()[0].id, bad.id);
    stop.cancel();
    task.await.expect("the consumer stops");
    assert_eq!(handler.effects().len(), 1, "handled once");
}

#[tokio::test]
async fn the_in_process_bus_returns_once_every_consumer_has_handled_the_event() {
    let database = TestDatabase::create().await;
    let specs = vec![
        ASSIGNED_ONLY,
        ROUTING,
        ConsumerSpec {
            name: "intake",
            types: &[EventType::CaseAssigned],
        },
    ];
    let bus = Arc::new(
        InProcessBus::new(specs.clone(), FAST).with_dead_letters(dead_letters(&database.db)),
    );
    let plain = Recorder::new(Behaviour::Succeed);
    let flaky = Recorder::new(Behaviour::FailFirst(LONG_OUTAGE));
    let poison = Recorder::new(Behaviour::Poison);
    let mut running = Vec::new();
    for (spec, recorder) in specs
        .into_iter()
        .zip([plain.clone(), flaky.clone(), poison.clone()])
    {
        running.push(spawn_consumer(bus.clone(), spec, recorder));
    }
    let event = assigned(TenantId::new());
    bus.publish(&event).await.expect("delivered to all");
    assert_eq!(plain.effects().len(), 1);
    assert_eq!(
        flaky.seen().len(),
        LONG_OUTAGE + 1,
        "retried until it succeeded"
    );
    assert_eq!(flaky.effects().len(), 1, "applied once");
    assert_eq!(poison.seen().len(), 1, "poison is parked, not retried");
    let intake = parked(&database.db, Service::Intake).await;
    assert_eq!(intake.len(), 1, "parked before publish returned");
    assert_eq!(intake[0].event_id, Some(event.id.as_uuid()));
    assert!(parked(&database.db, Service::Routing).await.is_empty());
    // A type nobody wants is delivered to nobody, at once.
    bus.publish(&created(TenantId::new()))
        .await
        .expect("nothing to do");
    for (stop, task) in running {
        stop.cancel();
        task.await.expect("the consumer stops");
    }
    // With the consumers gone, publishing fails, so the outbox keeps the event.
    let gone = InProcessBus::new(vec![ASSIGNED_ONLY], FAST);
    let (stop, task) = spawn_consumer(
        Arc::new(gone.clone()),
        ASSIGNED_ONLY,
        Recorder::new(Behaviour::Succeed),
    );
    stop.cancel();
    task.await.expect("the consumer stops");
    assert!(
        tokio::time::timeout(Duration::from_secs(15), gone.publish(&event))
            .await
            .expect("answers")
            .is_err()
    );
}

#[tokio::test]
async fn the_in_process_bus_parks_poison_and_replays_it_once_asked() {
    let database = TestDatabase::create().await;
    let db = &database.db;
    let spec = ConsumerSpec {
        name: "analytics",
        types: &[EventType::CaseAssigned],
    };
    let bus = Arc::new(InProcessBus::new(vec![spec], FAST).with_dead_letters(dead_letters(db)));
    let handler = Recorder::new(Behaviour::Poison);
    let (stop, task) = spawn_consumer(bus.clone(), spec, handler.clone());
    let bad = assigned(TenantId::new());
    bus.publish(&bad)
        .await
        .expect("parked counts as dealt with");
    let rows = parked(db, Service::Analytics).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].event_id, Some(bad.id.as_uuid()));
    assert!(rows[0].first_error.contains("cannot ever handle this"));
    eventually("the gauge at one", async || {
        (gauge(Service::Analytics) == Some(1.0)).then_some(())
    })
    .await;
    // Replayed while still broken: it stays parked, counted twice.
    dead_letter::request_replay(db, Replay::All, Some(Service::Analytics))
        .await
        .expect("asking for a replay");
    eventually("the second failure", async || {
        let rows = parked(db, Service::Analytics).await;
        (rows.len() == 1 && rows[0].count == 2 && rows[0].replay_requested_at.is_none())
            .then_some(())
    })
    .await;
    assert!(handler.effects().is_empty());

    handler.become_(Behaviour::Succeed);
    dead_letter::request_replay(db, Replay::All, None)
        .await
        .expect("asking for a replay");
    eventually("the replayed event's effect and its row gone", async || {
        (handler.effects().len() == 1 && parked(db, Service::Analytics).await.is_empty())
            .then_some(())
    })
    .await;
    eventually("the gauge at zero", async || {
        (gauge(Service::Analytics) == Some(0.0)).then_some(())
    })
    .await;
    stop.cancel();
    task.await.expect("the consumer stops");
    assert_eq!(handler.effects().len(), 1, "handled once");
}

/// Whether the outbox row of event `id` is marked sent.
async fn published(database: &TestDatabase, id: mashang_domain::EventId) -> bool {
    let mut owner = database.owner().await;
    let (at,): (Option<chrono::DateTime<Utc>>,) =
        sqlx::query_as("SELECT published_at FROM routing.outbox WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_one(&mut owner)
            .await
            .expect("the outbox row");
    at.is_some()
}

/// One monolithic process's bus, relay and consumer over `db`.
fn start_in_process(
    db: &mashang_db::Db,
    recorder: Arc<Recorder>,
) -> (CancellationToken, Vec<tokio::task::JoinHandle<()>>) {
    let bus = Arc::new(InProcessBus::new(vec![ROUTING], FAST).with_dead_letters(dead_letters(db)));
    let (stop, consumer) = spawn_consumer(bus.clone(), ROUTING, recorder);
    let relay = tokio::spawn(relay::run(
        db.clone(),
        bus,
        Service::Routing,
        RelayConfig {
            poll_interval: Duration::from_millis(100),
            ..RelayConfig::default()
        },
        stop.clone(),
    ));
    (stop, vec![consumer, relay])
}

#[tokio::test]
async fn an_event_still_failing_at_shutdown_stays_in_the_outbox_and_is_handled_after_restart() {
    let database = TestDatabase::create().await;
    let db = &database.db;
    let broken = Recorder::new(Behaviour::FailAlways);
    let (stop, tasks) = start_in_process(db, broken.clone());
    let tenant = TenantId::new();
    let mut tx = db.tenant(tenant).await.expect("a transaction");
    let payload: CaseAssigned = assigned(tenant).decode().expect("decodes");
    let id = outbox::record(&mut tx, Service::Routing, Utc::now(), &payload)
        .await
        .expect("recorded");
    tx.commit().await.expect("committed");
    // Failing for longer than the old retry budget, then the process stops.
    eventually("a long run of failures", async || {
        (broken.seen().len() > LONG_OUTAGE).then_some(())
    })
    .await;
    stop.cancel();
    for task in tasks {
        task.await.expect("stops");
    }
    assert!(
        !published(&database, id).await,
        "an unfinished event was marked sent"
    );
    assert!(broken.effects().is_empty());
    assert!(
        parked(db, Service::Routing).await.is_empty(),
        "a transient failure was parked"
    );

    // After the restart, with the dependency back, it is delivered and applied once.
    let fixed = Recorder::new(Behaviour::Succeed);
    let (stop, tasks) = start_in_process(db, fixed.clone());
    eventually("the event after the restart", async || {
        (!fixed.effects().is_empty()).then_some(())
    })
    .await;
    eventually("the outbox row marked sent", async || {
        published(&database, id).await.then_some(())
    })
    .await;
    stop.cancel();
    for task in tasks {
        task.await.expect("stops");
    }
    assert_eq!(fixed.effects().len(), 1);
    assert_eq!(fixed.effects()[0].id, id);
}

#[tokio::test]
async fn the_relay_publishes_committed_events_in_order_woken_by_notify() {
    let database = TestDatabase::create().await;
    let db = database.db.clone();
    let bus = Arc::new(InProcessBus::new(
        vec![ASSIGNED_ONLY],
        RetryPolicy::default(),
    ));
    let recorder = Recorder::new(Behaviour::Succeed);
    let (stop_consumer, consumer) = spawn_consumer(bus.clone(), ASSIGNED_ONLY, recorder.clone());
    // A poll interval far longer than the test: only a notification can wake the relay.
    let config = RelayConfig {
        poll_interval: Duration::from_secs(3600),
        ..RelayConfig::default()
    };
    let stop_relay = CancellationToken::new();
    let relay_task = tokio::spawn(relay::run(
        db.clone(),
        bus.clone(),
        Service::Routing,
        config,
        stop_relay.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await; // let the relay reach its wait

    let tenant = TenantId::new();
    let mut tx = db.tenant(tenant).await.expect("a transaction");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let e = assigned(tenant);
        let payload: CaseAssigned = e.decode().expect("decodes");
        ids.push(
            outbox::record(&mut tx, Service::Routing, Utc::now(), &payload)
                .await
                .expect("recorded"),
        );
    }
    // A rolled-back transaction's events never leave.
    let mut rolled_back = db.tenant(tenant).await.expect("a transaction");
    let lost: CaseAssigned = assigned(tenant).decode().expect("decodes");
    outbox::record(&mut rolled_back, Service::Routing, Utc::now(), &lost)
        .await
        .expect("recorded");
    drop(rolled_back);
    tx.commit().await.expect("committed");

    wait_for("the three events", || recorder.seen().len() >= 3).await;
    let seen: Vec<_> = recorder.seen().iter().map(|e| e.id).collect();
    assert_eq!(
        seen, ids,
        "published in commit order, and only committed events"
    );
    let mut owner = database.owner().await;
    let (pending,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM routing.outbox WHERE published_at IS NULL")
            .fetch_one(&mut owner)
            .await
            .expect("counting");
    assert_eq!(pending, 0);
    stop_relay.cancel();
    relay_task.await.expect("the relay stops");
    stop_consumer.cancel();
    consumer.await.expect("the consumer stops");
}
