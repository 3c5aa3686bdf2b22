//! The analytics service: facts and figures from every event. Every event is kept and
//! projected into one row of facts per case and daily roll-ups (`projection`), from
//! which the figures of docs/metrics.md are computed.

pub mod charts;
mod counters;
mod dashboard;
pub mod exports;
pub mod figures;
mod http;
mod pages;
pub mod projection;
pub mod report;
mod stats_api;

use std::sync::Arc;

use mashang_bus::relay::{self, RelayConfig};
use mashang_bus::{Bus, ConsumerSpec, Service};
use mashang_db::Db;
use mashang_domain::events::EventType;
use mashang_http::ApiError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

pub use http::{openapi, router, routes};

/// The analytics consumer: every event in the catalogue.
pub const CONSUMER: ConsumerSpec = ConsumerSpec {
    name: "analytics",
    types: &EventType::ALL,
};

/// Case exports running at once in one process; more are refused (429) rather
/// than queued, since each holds a database connection for its whole length.
pub const EXPORTS_AT_ONCE: usize = 4;

/// What analytics' handlers and workers share.
#[derive(Clone, Debug)]
pub struct AnalyticsState {
    /// The database.
    pub db: Db,
    /// Bounds the exports running at once.
    exports: Arc<Semaphore>,
}

impl AnalyticsState {
    /// State over `db`.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            exports: Arc::new(Semaphore::new(EXPORTS_AT_ONCE)),
        }
    }

    /// A place for one more export, or a 429 when all are taken.
    pub(crate) fn take_export_permit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.exports
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::TooManyRequests {
                retry_after: Some(30),
            })
    }
}

/// Runs analytics' background work until `shutdown`.
pub async fn workers(state: AnalyticsState, bus: Arc<dyn Bus>, shutdown: CancellationToken) {
    let relay = relay::run(
        state.db.clone(),
        bus.clone(),
        Service::Analytics,
        RelayConfig::default(),
        shutdown.clone(),
    );
    let handler = Arc::new(projection::ProjectionHandler::new(state.db.clone()));
    let consumer = async {
        if let Err(err) = bus.run_consumer(CONSUMER, handler, shutdown.clone()).await {
            tracing::error!(error = %mashang_telemetry::error_chain(&err), "analytics consumer stopped");
        }
    };
    tokio::join!(relay, consumer);
}
