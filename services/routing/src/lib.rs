//! The routing service: the directory (tenants, grid trees, staff, categories, QR
//! codes) and cases — created from citizens' reports, assigned to the right person,
//! and timed.

pub mod cases;
pub mod directory;
mod http;
pub mod qr_render;
pub mod scheduler;
pub mod workflow;

use std::sync::Arc;

use mashang_bus::relay::{self, RelayConfig};
use mashang_bus::{Bus, ConsumerSpec, Service};
use mashang_db::Db;
use mashang_domain::events::EventType;
use tokio_util::sync::CancellationToken;

pub use http::{openapi, router, routes};

/// The routing consumer: the reports it turns into cases, and the citizens' ratings.
pub const CONSUMER: ConsumerSpec = ConsumerSpec {
    name: "routing",
    types: &[EventType::ReportSubmitted, EventType::ReportRated],
};

/// What routing's handlers and workers share.
#[derive(Clone, Debug)]
pub struct RoutingState {
    /// The database.
    pub db: Db,
    /// The public base URL citizens reach; QR codes encode `<public_url>/q/<token>`.
    pub public_url: Arc<str>,
    /// Opens citizens' phone numbers for their case's assignee.
    pub pii_key: mashang_auth::PiiKey,
    /// Keys derived from it: one-time reset codes are stored as their keyed hash.
    pub keys: mashang_auth::Keys,
    /// Where intake keeps photos and voice notes, for staff to open them.
    pub blobs: Option<Arc<dyn mashang_storage::BlobStore>>,
}

impl RoutingState {
    /// State over `db`, with QR codes pointing at `public_url`.
    pub fn new(db: Db, public_url: &str, pii_key: mashang_auth::PiiKey) -> Self {
        Self {
            db,
            public_url: Arc::from(public_url.trim_end_matches('/')),
            keys: mashang_auth::Keys::derive(&pii_key),
            pii_key,
            blobs: None,
        }
    }

    /// The same state, able to serve the case attachments kept in `blobs`.
    pub fn with_blobs(mut self, blobs: Arc<dyn mashang_storage::BlobStore>) -> Self {
        self.blobs = Some(blobs);
        self
    }

    /// The landing URL a QR token encodes.
    pub fn landing_url(&self, token: &str) -> String {
        format!("{}/q/{token}", self.public_url)
    }
}

/// Runs routing's background work until `shutdown`: its outbox relay and its consumer.
pub async fn workers(state: RoutingState, bus: Arc<dyn Bus>, shutdown: CancellationToken) {
    let relay = relay::run(
        state.db.clone(),
        bus.clone(),
        Service::Routing,
        RelayConfig::default(),
        shutdown.clone(),
    );
    let handler = Arc::new(Consumer {
        reports: cases::intake::ReportHandler::new(state.db.clone()),
        ratings: workflow::rated::RatedHandler::new(state.db.clone()),
    });
    let consumer = async {
        if let Err(err) = bus.run_consumer(CONSUMER, handler, shutdown.clone()).await {
            tracing::error!(error = %mashang_telemetry::error_chain(&err), "routing consumer stopped");
        }
    };
    let scheduler = scheduler::run(
        state.db.clone(),
        Arc::new(workflow::firing::CaseFirer),
        scheduler::SchedulerConfig::default(),
        shutdown.clone(),
    );
    let auditor = workflow::audit::run(
        state.db.clone(),
        std::time::Duration::from_secs(300),
        shutdown.clone(),
    );
    tokio::join!(relay, consumer, scheduler, auditor);
}

/// Routes routing's events to their handlers.
#[derive(Debug)]
struct Consumer {
    reports: cases::intake::ReportHandler,
    ratings: workflow::rated::RatedHandler,
}

#[async_trait::async_trait]
impl mashang_bus::Handler for Consumer {
    async fn handle(
        &self,
        envelope: mashang_domain::events::Envelope,
    ) -> Result<(), mashang_bus::HandlerError> {
        match envelope.event_type {
            EventType::ReportSubmitted => self.reports.handle(envelope).await,
            EventType::ReportRated => self.ratings.handle(envelope).await,
            other => Err(mashang_bus::HandlerError::Poison(anyhow::anyhow!(
                "routing does not consume {}",
                other.as_str()
            ))),
        }
    }
}
