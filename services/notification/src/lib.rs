//! The notification service: turns events into messages for the people who must know.
//! Today: an in-app notice for the assignee of a case.

mod channel_pages;
mod channels;
mod county_mail_page;
pub mod delivery;
pub mod digest;
mod http;
mod message_templates;
pub mod notices;
mod pages;
mod receipts;
pub mod settings;
mod settings_page;
pub mod stream;
pub mod updates;

use std::sync::Arc;

use mashang_bus::relay::{self, RelayConfig};
use mashang_bus::{Bus, ConsumerSpec, Service};
use mashang_db::Db;
use mashang_domain::events::EventType;
use tokio_util::sync::CancellationToken;

pub use http::{openapi, router, routes};

/// The notification consumer.
pub const CONSUMER: ConsumerSpec = ConsumerSpec {
    name: "notification",
    types: &[
        EventType::ReportSubmitted,
        EventType::CaseAssigned,
        EventType::CaseAcknowledged,
        EventType::CaseResolved,
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
    /// Outside channels: the HTTP client, the key sealing their secrets, and the
    /// site's public URL for the links in messages. `None`: in-app notices only.
    pub delivery: Option<Delivery>,
    /// New notices, fanned out to the open streams.
    pub hub: stream::Hub,
}

/// What sending on outside channels needs.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub outbound: delivery::outbound::Outbound,
    pub key: mashang_auth::PiiKey,
    pub public_url: String,
}

impl NotificationState {
    /// State over `db`, in-app notices only.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            delivery: None,
            hub: stream::Hub::default(),
        }
    }

    /// The same with outside channels.
    pub fn with_delivery(
        self,
        outbound: delivery::outbound::Outbound,
        key: mashang_auth::PiiKey,
        public_url: String,
    ) -> Self {
        Self {
            delivery: Some(Delivery {
                outbound,
                key,
                public_url: public_url.trim_end_matches('/').to_owned(),
            }),
            ..self
        }
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
    let sender = async {
        if let Some(d) = &state.delivery {
            delivery::engine::Sender::new(state.db.clone(), d.outbound.clone(), d.key.clone())
                .run(shutdown.clone())
                .await;
        }
    };
    let handler = Arc::new(Consumer {
        assigned: notices::AssignedHandler::new(state.db.clone()),
        updates: updates::UpdateHandler::new(state.db.clone()),
        planner: state
            .delivery
            .clone()
            .map(|d| delivery::plan::Planner::new(state.db.clone(), d)),
    });
    let consumer = async {
        if let Err(err) = bus.run_consumer(CONSUMER, handler, shutdown.clone()).await {
            tracing::error!(error = %mashang_telemetry::error_chain(&err), "notification consumer stopped");
        }
    };
    let hub = state.hub.clone().listen(state.db.clone(), shutdown.clone());
    let digests = digest::run(state.clone(), shutdown.clone());
    tokio::join!(relay, consumer, sender, hub, digests);
}

/// Routes notification's events to their handlers.
#[derive(Debug)]
struct Consumer {
    assigned: notices::AssignedHandler,
    updates: updates::UpdateHandler,
    planner: Option<delivery::plan::Planner>,
}

#[async_trait::async_trait]
impl mashang_bus::Handler for Consumer {
    async fn handle(
        &self,
        envelope: mashang_domain::events::Envelope,
    ) -> Result<(), mashang_bus::HandlerError> {
        // The outside channels first: their deliveries are keyed by the event, so a
        // redelivery after the in-app notice failed adds none twice.
        if let Some(planner) = &self.planner {
            planner.plan(&envelope).await?;
            planner.plan_citizen(&envelope).await?;
        }
        match envelope.event_type {
            EventType::CaseAssigned => self.assigned.handle(envelope).await,
            // Only the citizen's SMS comes of a report.
            EventType::ReportSubmitted => Ok(()),
            _ => self.updates.handle(envelope).await,
        }
    }
}
