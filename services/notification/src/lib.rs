//! The notification service: turns events into messages for the people who must know.
//! Today: an in-app notice for the assignee of a case.

mod http;
pub mod notices;
mod pages;
pub mod updates;

use std::sync::Arc;

use mashang_bus::relay::{self, RelayConfig};
use mashang_bus::{Bus, ConsumerSpec, Service};
use mashang_db::Db;
use mashang_domain::events::EventType;
use tokio_util::sync::CancellationToken;

pub use http::router;

/// The notification consumer.
pub const CONSUMER: ConsumerSpec = ConsumerSpec {
    name: "notification",
    types: &[
        EventType::CaseAssigned,
        EventType::CaseReminded,
        EventType::CaseEscalated,
        EventType::CaseTransferred,
        EventType::CaseReturned,
        EventType::CaseReopened,
        EventType::CaseInvalidated,
        EventType::CaseClosed,
        EventType::TenantAlerted,
    ],
};

/// What notification's handlers and workers share.
#[derive(Clone, Debug)]
pub struct NotificationState {
    /// The database.
    pub db: Db,
}

impl NotificationState {
    /// State over `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// Runs notification's background work until `shutdown`.
pub async fn workers(state: NotificationState, bus: Arc<dyn Bus>, shutdown: CancellationToken) {
    let relay = relay::run(
        state.db.clone(),
        bus.clone(),
        Service::Notification,
        RelayConfig::default(),
        shutdown.clone(),
    );
    let handler = Arc::new(Consumer {
        assigned: notices::AssignedHandler::new(state.db.clone()),
        updates: updates::UpdateHandler::new(state.db.clone()),
    });
    let consumer = async {
        if let Err(err) = bus.run_consumer(CONSUMER, handler, shutdown.clone()).await {
            tracing::error!(error = %mashang_telemetry::error_chain(&err), "notification consumer stopped");
        }
    };
    tokio::join!(relay, consumer);
}

/// Routes notification's events to their handlers.
#[derive(Debug)]
struct Consumer {
    assigned: notices::AssignedHandler,
    updates: updates::UpdateHandler,
}

#[async_trait::async_trait]
impl mashang_bus::Handler for Consumer {
    async fn handle(
        &self,
        envelope: mashang_domain::events::Envelope,
    ) -> Result<(), mashang_bus::HandlerError> {
        match envelope.event_type {
            EventType::CaseAssigned => self.assigned.handle(envelope).await,
            _ => self.updates.handle(envelope).await,
        }
    }
}
