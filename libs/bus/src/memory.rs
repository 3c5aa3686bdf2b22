//! The in-process bus for the monolithic mode.
//!
//! `publish` returns only when every consumer that wants the event has dealt with it
//! (handled, or parked in its service's dead-letter table because it is poison), so
//! the outbox marks an event sent only once it has had its effect everywhere. A
//! transient failure is retried for as long as it lasts; if the process stops or dies
//! first, `publish` fails, the outbox keeps the event, the relay publishes it again on
//! the next start and the inboxes drop the duplicates. The guarantees are those of the
//! NATS bus; only the transport differs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use mashang_domain::events::Envelope;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::bus::{Bus, ConsumerSpec, Handler};
use crate::dead_letter::{DeadLetters, Parking};
use crate::error::BusError;
use crate::handling::{Settled, settle};
use crate::retry::RetryPolicy;

/// How long `publish` waits for a declared consumer to start.
const REGISTRATION_WAIT: Duration = Duration::from_secs(10);

struct Delivery {
    envelope: Envelope,
    done: oneshot::Sender<()>,
}

#[derive(Default)]
struct Registry {
    senders: HashMap<&'static str, mpsc::Sender<Delivery>>,
}

/// The in-process bus. It is told up front which consumers run in the process, so an
/// event is never marked delivered before a consumer that wants it has started.
#[derive(Clone)]
pub struct InProcessBus {
    consumers: Arc<Vec<ConsumerSpec>>,
    registry: Arc<Mutex<Registry>>,
    registered: Arc<Notify>,
    policy: RetryPolicy,
    dead_letters: Option<DeadLetters>,
}

impl std::fmt::Debug for InProcessBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessBus")
            .field("consumers", &self.consumers)
            .finish_non_exhaustive()
    }
}

impl InProcessBus {
    /// A bus for exactly these consumers.
    pub fn new(consumers: Vec<ConsumerSpec>, policy: RetryPolicy) -> Self {
        Self {
            consumers: Arc::new(consumers),
            registry: Arc::new(Mutex::new(Registry::default())),
            registered: Arc::new(Notify::new()),
            policy,
            dead_letters: None,
        }
    }

    /// The same bus, parking poison events in the services' dead-letter tables and
    /// replaying the ones an operator marks. Without it they are only logged.
    pub fn with_dead_letters(mut self, store: DeadLetters) -> Self {
        self.dead_letters = Some(store);
        self
    }

    fn sender(&self, name: &str) -> Option<mpsc::Sender<Delivery>> {
        self.registry
            .lock()
            .expect("the registry lock is never held across a panic")
            .senders
            .get(name)
            .cloned()
    }

    async fn wait_for(&self, name: &'static str) -> Result<mpsc::Sender<Delivery>, BusError> {
        let deadline = tokio::time::Instant::now() + REGISTRATION_WAIT;
        loop {
            let notified = self.registered.notified();
            if let Some(sender) = self.sender(name) {
                return Ok(sender);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(BusError::Unavailable(format!(
                    "consumer {name} is not running"
                )));
            }
        }
    }
}

#[async_trait]
impl Bus for InProcessBus {
    async fn publish(&self, envelope: &Envelope) -> Result<(), BusError> {
        let mut pending = Vec::new();
        for spec in self
            .consumers
            .iter()
            .filter(|s| s.wants(envelope.event_type))
        {
            let sender = self.wait_for(spec.name).await?;
            let (done, handled) = oneshot::channel();
            sender
                .send(Delivery {
                    envelope: envelope.clone(),
                    done,
                })
                .await
                .map_err(|_| BusError::Unavailable(format!("consumer {} stopped", spec.name)))?;
            pending.push((spec.name, handled));
        }
        for (name, handled) in pending {
            handled.await.map_err(|_| {
                BusError::Unavailable(format!("consumer {name} stopped before handling"))
            })?;
        }
        Ok(())
    }

    async fn run_consumer(
        &self,
        spec: ConsumerSpec,
        handler: Arc<dyn Handler>,
        shutdown: CancellationToken,
    ) -> Result<(), BusError> {
        let (sender, mut receiver) = mpsc::channel::<Delivery>(64);
        self.registry
            .lock()
            .expect("the registry lock is never held across a panic")
            .senders
            .insert(spec.name, sender);
        self.registered.notify_waiters();
        let tracker = TaskTracker::new();
        let parking = Parking::for_consumer(self.dead_letters.as_ref(), spec);
        if let Some((store, service)) = parking.target() {
            tracker.spawn(store.clone().run_replays(
                *service,
                spec,
                handler.clone(),
                self.policy,
                shutdown.clone(),
            ));
        }
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                delivery = receiver.recv() => match delivery {
                    Some(delivery) => {
                        let handler = handler.clone();
                        let shutdown = shutdown.clone();
                        let policy = self.policy;
                        let parking = parking.clone();
                        tracker.spawn(deliver(spec, handler, delivery, policy, parking, shutdown));
                    }
                    None => break,
                },
            }
        }
        self.registry
            .lock()
            .expect("the registry lock is never held across a panic")
            .senders
            .remove(spec.name);
        // Deliveries still queued are dropped unanswered: their publishers see an
        // error and the outbox keeps them for the next start.
        drop(receiver);
        tracker.close();
        tracker.wait().await;
        Ok(())
    }

    async fn check(&self) -> Result<(), BusError> {
        Ok(())
    }
}

/// Handles one delivery and answers it only once the event is done: handled, or
/// parked as poison. Interrupted by shutdown, it leaves the delivery unanswered, so the
/// publisher fails and the outbox keeps the event for the next start.
async fn deliver(
    spec: ConsumerSpec,
    handler: Arc<dyn Handler>,
    delivery: Delivery,
    policy: RetryPolicy,
    parking: Parking,
    shutdown: CancellationToken,
) {
    let Delivery { envelope, done } = delivery;
    match settle(spec.name, handler.as_ref(), &envelope, policy, &shutdown).await {
        Settled::Handled => {}
        Settled::Stopped => return,
        Settled::Poison(err) => {
            let raw = match serde_json::to_vec(&envelope) {
                Ok(raw) => raw,
                Err(err) => {
                    tracing::error!(consumer = spec.name, event_id = %envelope.id, error = %err, "could not encode a dead letter");
                    return;
                }
            };
            let parked = parking
                .park(
                    spec.name,
                    &raw,
                    Some(&envelope),
                    &format!("{err:#}"),
                    policy,
                    &shutdown,
                )
                .await;
            if !parked {
                return;
            }
        }
    }
    let _ = done.send(());
}
