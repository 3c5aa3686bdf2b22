//! The bus against real NATS JetStream and PostgreSQL: delivery, filtering,
//! de-duplication, redelivery with back-off, dead letters, and the outbox relay.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream;
use async_trait::async_trait;
use chrono::Utc;
use futures::StreamExt;
use mashang_bus::relay::{self, RelayConfig};
use mashang_bus::{
    Bus, ConsumerSpec, Handler, HandlerError, InProcessBus, NatsBus, NatsConfig, RetryPolicy,
    Service, outbox,
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
    /// Always poison.
    Poison,
}

#[derive(Debug)]
struct Recorder {
    behaviour: Behaviour,
    seen: Mutex<Vec<Envelope>>,
}

impl Recorder {
    fn new(behaviour: Behaviour) -> Arc<Self> {
        Arc::new(Self {
            behaviour,
            seen: Mutex::new(Vec::new()),
        })
    }
    fn seen(&self) -> Vec<Envelope> {
        self.seen.lock().expect("not poisoned").clone()
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
        match self.behaviour {
            Behaviour::Succeed => Ok(()),
            Behaviour::FailFirst(n) if attempts <= n => Err(HandlerError::Retry(anyhow::anyhow!(
                "passing failure {attempts}"
            ))),
            Behaviour::FailFirst(_) => Ok(()),
            Behaviour::Poison => Err(HandlerError::Poison(anyhow::anyhow!(
                "cannot ever handle this"
            ))),
        }
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
    };
    Envelope::new(tenant, Utc::now(), &payload).expect("an envelope")
}

fn nats_config() -> NatsConfig {
    let url = std::env::var("MASHANG_TEST_NATS_URL")
        .unwrap_or_else(|_| "nats://127.0.0.1:4223".to_owned());
    let mut config = NatsConfig::new(url);
    config.prefix = format!("b{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    config.retry = RetryPolicy {
        max_attempts: 3,
        first_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
    };
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

#[tokio::test]
async fn nats_redelivers_after_a_passing_failure_and_parks_poison() {
    let config = nats_config();
    let bus = Arc::new(NatsBus::connect(config.clone()).await.expect("connecting"));
    let flaky = Recorder::new(Behaviour::FailFirst(2));
    let (stop, task) = spawn_consumer(bus.clone(), ASSIGNED_ONLY, flaky.clone());
    let event = assigned(TenantId::new());
    bus.publish(&event).await.expect("publishing");
    wait_for("three attempts", || flaky.seen().len() >= 3).await;
    stop.cancel();
    task.await.expect("the consumer stops");
    assert!(flaky.seen().iter().all(|e| e.id == event.id));

    let poison = Recorder::new(Behaviour::Poison);
    let spec = ConsumerSpec {
        name: "poisoned",
        types: &[EventType::CaseCreated],
    };
    let (stop, task) = spawn_consumer(bus.clone(), spec, poison.clone());
    let bad = created(TenantId::new());
    bus.publish(&bad).await.expect("publishing");
    // The dead-letter stream receives it, with the reason.
    let client = async_nats::connect(config.url.as_str())
        .await
        .expect("connecting");
    let js = jetstream::new(client);
    let dlq_name = format!("{}_DLQ", config.prefix.to_uppercase());
    let mut parked = None;
    for _ in 0..200 {
        if let Ok(mut stream) = js.get_stream(&dlq_name).await
            && stream.info().await.map(|i| i.state.messages).unwrap_or(0) > 0
        {
            parked = Some(stream);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stream = parked.expect("a dead letter");
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::Config::default())
        .await
        .expect("a reader");
    let mut messages = consumer
        .fetch()
        .max_messages(1)
        .messages()
        .await
        .expect("fetching");
    let message = messages
        .next()
        .await
        .expect("one message")
        .expect("a message");
    assert_eq!(
        message.subject.as_str(),
        format!(
            "{}-dlq.poisoned.{}.case.created",
            config.prefix, bad.tenant_id
        )
    );
    let reason = message
        .headers
        .as_ref()
        .and_then(|h| h.get("Mashang-Dead-Reason"))
        .map(|v| v.as_str().to_owned());
    assert!(reason.is_some_and(|r| r.contains("cannot ever handle this")));
    let parked: Envelope =
        serde_json::from_slice(&message.payload).expect("the envelope is kept whole");
    assert_eq!(parked.id, bad.id);
    assert_eq!(poison.seen().len(), 1, "poison is not retried");
    stop.cancel();
    task.await.expect("the consumer stops");
}

#[tokio::test]
async fn the_in_process_bus_returns_once_every_consumer_has_handled_the_event() {
    let specs = vec![
        ASSIGNED_ONLY,
        ConsumerSpec {
            name: "flaky",
            types: &[EventType::CaseAssigned],
        },
        ConsumerSpec {
            name: "poisoned",
            types: &[EventType::CaseAssigned],
        },
    ];
    let policy = RetryPolicy {
        max_attempts: 5,
        first_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    };
    let bus = Arc::new(InProcessBus::new(specs.clone(), policy));
    let plain = Recorder::new(Behaviour::Succeed);
    let flaky = Recorder::new(Behaviour::FailFirst(2));
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
    assert_eq!(plain.seen().len(), 1);
    assert_eq!(flaky.seen().len(), 3, "retried until it succeeded");
    assert_eq!(poison.seen().len(), 1, "poison is parked, not retried");
    // A type nobody wants is delivered to nobody, at once.
    bus.publish(&created(TenantId::new()))
        .await
        .expect("nothing to do");
    for (stop, task) in running {
        stop.cancel();
        task.await.expect("the consumer stops");
    }
    // With the consumers gone, publishing fails, so the outbox keeps the event.
    let gone = InProcessBus::new(vec![ASSIGNED_ONLY], policy);
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
