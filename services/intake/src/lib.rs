//! The intake service: what citizens touch. The QR landing page, report submission
//! with photos, the status page behind the tracking number, the citizen-visible
//! status kept in step with routing's case events, and Open311 GeoReport v2 for
//! outside systems.

mod assets;
mod assisted;
mod attachments;
mod consumer;
mod form;
pub mod housekeeping;
mod http;
mod limits;
mod media;
mod open311;
mod pages;
mod qr;
mod rating;
mod status;
mod submit;
pub mod thumbnails;
mod tracking;
mod upload;

use std::path::PathBuf;
use std::sync::Arc;

use mashang_bus::relay::{self, RelayConfig};
use mashang_bus::{Bus, ConsumerSpec, Service};
use mashang_db::Db;
use mashang_domain::events::EventType;
use mashang_storage::BlobStore;
use tokio_util::sync::CancellationToken;

pub use http::{openapi, router, routes};
pub use limits::LimitConfig;
pub use mashang_auth::PiiKey;
pub use submit::{BURST_COUNT, BURST_PER_DAY};

/// The intake consumer: case events that change what the citizen sees.
pub const CONSUMER: ConsumerSpec = ConsumerSpec {
    name: "intake",
    types: &[
        EventType::CaseAssigned,
        EventType::CaseAcknowledged,
        EventType::CaseResolved,
        EventType::CaseReopened,
        EventType::CaseFollowedUp,
        EventType::CaseClosed,
        EventType::CaseInvalidated,
    ],
};

/// Intake's settings.
#[derive(Clone, Debug)]
pub struct IntakeConfig {
    /// The public base URL citizens reach (`https://mashang.example.cn`); status links
    /// are built from it.
    pub public_url: String,
    /// The key that seals citizens' phone numbers at rest.
    pub pii_key: PiiKey,
    /// The largest accepted photo, in bytes.
    pub max_photo_bytes: u64,
    /// The largest accepted voice note, in bytes.
    pub max_voice_bytes: u64,
    /// Where uploads wait while they are checked; `None` for the system temp folder.
    pub spool_dir: Option<PathBuf>,
    /// Abuse limits.
    pub limits: limits::LimitConfig,
}

impl IntakeConfig {
    /// Settings with the default limits.
    pub fn new(public_url: impl Into<String>, pii_key: PiiKey) -> Self {
        Self {
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            pii_key,
            max_photo_bytes: DEFAULT_MAX_MEDIA_BYTES,
            max_voice_bytes: DEFAULT_MAX_MEDIA_BYTES,
            spool_dir: None,
            limits: limits::LimitConfig::default(),
        }
    }
}

/// The largest photo and the largest voice note accepted unless configured otherwise.
pub const DEFAULT_MAX_MEDIA_BYTES: u64 = 10 * 1024 * 1024;

/// Photos per report.
pub const MAX_PHOTOS: usize = 9;
/// Voice notes per report.
pub const MAX_VOICE: usize = 1;

/// What intake's handlers and workers share.
#[derive(Clone, Debug)]
pub struct IntakeState {
    /// The database.
    pub db: Db,
    /// Where photos go.
    pub blobs: Arc<dyn BlobStore>,
    /// Settings.
    pub config: Arc<IntakeConfig>,
    /// Abuse limits.
    pub limits: Arc<limits::Limiters>,
}

impl IntakeState {
    /// Intake's state.
    pub fn new(db: Db, blobs: Arc<dyn BlobStore>, config: IntakeConfig) -> Self {
        Self {
            limits: limits::Limiters::new(config.limits),
            db,
            blobs,
            config: Arc::new(config),
        }
    }
}

/// Runs intake's background work until `shutdown`: its outbox relay and its consumer.
pub async fn workers(state: IntakeState, bus: Arc<dyn Bus>, shutdown: CancellationToken) {
    let relay = relay::run(
        state.db.clone(),
        bus.clone(),
        Service::Intake,
        RelayConfig::default(),
        shutdown.clone(),
    );
    let handler = Arc::new(consumer::CaseHandler::new(state.db.clone()));
    let consumer = async {
        if let Err(err) = bus.run_consumer(CONSUMER, handler, shutdown.clone()).await {
            tracing::error!(error = %mashang_telemetry::error_chain(&err), "intake consumer stopped");
        }
    };
    let housekeeper = housekeeping::run(
        state.db.clone(),
        state.blobs.clone(),
        std::time::Duration::from_secs(60),
        shutdown.clone(),
    );
    let limits = state.limits.clone();
    let tidy = async {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => limits.tidy(),
            }
        }
    };
    tokio::join!(relay, consumer, housekeeper, tidy);
}
