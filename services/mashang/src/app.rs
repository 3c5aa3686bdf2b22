//! Wiring: infrastructure, the chosen services' routes and workers, listeners, and
//! graceful shutdown. `mashang serve`, `mashang demo` and the tests all start here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::{Extension, Router};
use mashang_auth::{AuthConfig, Authenticator, SigninThrottle};
use mashang_bus::{Bus, ConsumerSpec, DeadLetters, InProcessBus, NatsBus, NatsConfig, RetryPolicy};
use mashang_db::{Db, DbConfig};
use mashang_http::{OperatorToken, Probe, Readiness};
use mashang_intake::{IntakeConfig, IntakeState, LimitConfig, PiiKey};
use mashang_storage::{BlobStore, LocalStore, S3Config, S3Store};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::probes::{BusProbe, DbProbe, StorageProbe};

/// Which services run in this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Components {
    /// Citizen intake.
    pub intake: bool,
    /// Cases and the directory.
    pub routing: bool,
    /// Messages.
    pub notification: bool,
    /// Figures.
    pub analytics: bool,
}

impl Components {
    /// All four.
    pub const ALL: Self = Self {
        intake: true,
        routing: true,
        notification: true,
        analytics: true,
    };

    /// Only the named one.
    pub fn only(name: &str) -> Option<Self> {
        let none = Self {
            intake: false,
            routing: false,
            notification: false,
            analytics: false,
        };
        match name {
            "intake" => Some(Self {
                intake: true,
                ..none
            }),
            "routing" => Some(Self {
                routing: true,
                ..none
            }),
            "notification" => Some(Self {
                notification: true,
                ..none
            }),
            "analytics" => Some(Self {
                analytics: true,
                ..none
            }),
            _ => None,
        }
    }

    fn consumers(self) -> Vec<ConsumerSpec> {
        let mut specs = Vec::new();
        if self.intake {
            specs.push(mashang_intake::CONSUMER);
        }
        if self.routing {
            specs.push(mashang_routing::CONSUMER);
        }
        if self.notification {
            specs.push(mashang_notification::CONSUMER);
        }
        if self.analytics {
            specs.push(mashang_analytics::CONSUMER);
        }
        specs
    }

    fn names(self) -> String {
        [
            (self.intake, "intake"),
            (self.routing, "routing"),
            (self.notification, "notification"),
            (self.analytics, "analytics"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// The event bus to use.
#[derive(Clone, Debug)]
// Built once per process; boxing the NATS settings would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum BusConfig {
    /// In this process; needs all four services here.
    InProcess,
    /// NATS JetStream.
    Nats(NatsConfig),
}

/// The blob store to use.
#[derive(Clone, Debug)]
pub enum StorageConfig {
    /// A local folder.
    Local(PathBuf),
    /// An S3-compatible store; `create_bucket` creates a missing bucket at start.
    S3 {
        /// Connection settings.
        config: S3Config,
        /// Create the bucket when missing.
        create_bucket: bool,
    },
}

/// Everything a process needs to run.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// Which services.
    pub components: Components,
    /// Database (application role).
    pub db: DbConfig,
    /// Public listener (port 0 picks one).
    pub listen: SocketAddr,
    /// Metrics listener; none when `None`.
    pub metrics_listen: Option<SocketAddr>,
    /// Public base URL.
    pub public_url: String,
    /// Event bus.
    pub bus: BusConfig,
    /// Blob store.
    pub storage: StorageConfig,
    /// Phone-number sealing key.
    pub pii_key: PiiKey,
    /// Operator token for ops automation.
    pub operator_token: Option<String>,
    /// Time allowed to drain after shutdown begins.
    pub shutdown_grace: Duration,
    /// Request time limits and the trusted proxies that name the client address.
    pub edge: mashang_http::EdgeConfig,
    /// Intake's abuse limits (posts per address, reports per QR code).
    pub intake_limits: LimitConfig,
    /// The addresses outside channels (robots, webhooks, SMS) may reach besides the
    /// public internet (`MASHANG_OUTBOUND_ALLOW`).
    pub outbound: mashang_notification::delivery::outbound::OutboundPolicy,
}

/// A started process: its addresses, and the handle to stop it.
#[derive(Debug)]
pub struct Running {
    /// The public listener's address.
    pub addr: SocketAddr,
    /// The metrics listener's address.
    pub metrics_addr: Option<SocketAddr>,
    /// Cancel to begin a graceful shutdown.
    pub shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// The base URL of the public listener (`http://127.0.0.1:port`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until the process stops (after `shutdown` is cancelled).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("the server task panicked")?
    }

    /// Begins a graceful shutdown and waits for it to finish.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }
}

/// Opens the bus; poison events are parked in `db`'s dead-letter tables.
async fn open_bus(config: &AppConfig, db: &Db) -> anyhow::Result<Arc<dyn Bus>> {
    let dead_letters = DeadLetters::new(db.clone());
    Ok(match &config.bus {
        BusConfig::InProcess => {
            anyhow::ensure!(
                config.components == Components::ALL,
                "the in-process bus carries events only inside one process, so it needs all four \
                 services here (running: {}); use --bus nats to run services separately",
                config.components.names()
            );
            Arc::new(
                InProcessBus::new(config.components.consumers(), RetryPolicy::default())
                    .with_dead_letters(dead_letters),
            )
        }
        BusConfig::Nats(nats) => Arc::new(
            NatsBus::connect(nats.clone())
                .await?
                .with_dead_letters(dead_letters),
        ),
    })
}

async fn open_storage(config: &StorageConfig) -> anyhow::Result<Arc<dyn BlobStore>> {
    Ok(match config {
        StorageConfig::Local(root) => {
            let store = LocalStore::new(root.clone());
            store
                .ensure_root()
                .await
                .with_context(|| format!("creating the storage folder {}", root.display()))?;
            Arc::new(store)
        }
        StorageConfig::S3 {
            config,
            create_bucket,
        } => {
            let store = S3Store::connect(config.clone()).await?;
            if *create_bucket {
                store
                    .ensure_bucket()
                    .await
                    .context("creating the S3 bucket")?;
            }
            Arc::new(store)
        }
    })
}

/// Set when the database role turns out to be one the services must not run as.
type Refusal = Arc<std::sync::OnceLock<String>>;

/// Refuses to start as a database role that row-level security does not bind
/// (superuser, `BYPASSRLS`, owner of the tables). When the database cannot be
/// reached yet, the process starts (readiness reports the database) and the check
/// runs once it answers: the returned refusal is then set and the process stops.
async fn check_role(db: &Db) -> anyhow::Result<Option<Refusal>> {
    match db.check_role().await {
        Ok(role) => match role.refusal() {
            Some(why) => anyhow::bail!("{why}"),
            None => Ok(None),
        },
        Err(err) => {
            tracing::warn!(error = %mashang_telemetry::error_chain(&err), "database not reachable at start; its role is checked once it is");
            Ok(Some(Refusal::default()))
        }
    }
}

async fn check_role_later(db: Db, refused: Refusal, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
        let Ok(role) = db.check_role().await else {
            continue;
        };
        if let Some(why) = role.refusal() {
            tracing::error!(
                reason = why.as_str(),
                "refusing to serve as this database role; stopping"
            );
            let _ = refused.set(why);
            shutdown.cancel();
        }
        return;
    }
}

/// Starts the configured services: binds the listeners, starts the workers, and
/// returns once the process is serving. Dependencies that are down (database, bus,
/// object store) do not stop it from starting; readiness reports them.
pub async fn start(config: AppConfig) -> anyhow::Result<Running> {
    let c = config.components;
    anyhow::ensure!(
        c.intake || c.routing || c.notification || c.analytics,
        "no service to run"
    );
    let db = Db::connect_lazy(&config.db)?;
    let refused = check_role(&db).await?;
    let bus = open_bus(&config, &db).await?;
    let shutdown = CancellationToken::new();
    if let Some(refused) = refused.clone() {
        tokio::spawn(check_role_later(db.clone(), refused, shutdown.clone()));
    }
    let refused = refused.unwrap_or_default();
    let workers = TaskTracker::new();
    let mut router = Router::new();
    let mut api = vec![mashang_http::health_openapi()];
    let mut probes: Vec<Arc<dyn Probe>> = vec![
        Arc::new(DbProbe(db.clone())),
        Arc::new(BusProbe(bus.clone())),
    ];

    // Intake stores photos and voice notes; routing serves them to staff.
    let blobs = if c.intake || c.routing {
        Some(open_storage(&config.storage).await?)
    } else {
        None
    };
    if c.intake
        && let Some(blobs) = blobs.clone()
    {
        probes.push(Arc::new(StorageProbe(blobs.clone())));
        let mut intake = IntakeConfig::new(config.public_url.clone(), config.pii_key.clone());
        intake.limits = config.intake_limits;
        let state = IntakeState::new(db.clone(), blobs, intake);
        router = router.merge(mashang_intake::router(state.clone()));
        api.push(mashang_intake::openapi());
        workers.spawn(mashang_intake::workers(
            state,
            bus.clone(),
            shutdown.clone(),
        ));
    }
    if c.routing {
        let mut state = mashang_routing::RoutingState::new(
            db.clone(),
            &config.public_url,
            config.pii_key.clone(),
        );
        if let Some(blobs) = blobs.clone() {
            state = state.with_blobs(blobs);
        }
        router = router.merge(mashang_routing::router(state.clone()));
        api.push(mashang_routing::openapi());
        workers.spawn(mashang_routing::workers(
            state,
            bus.clone(),
            shutdown.clone(),
        ));
    }
    if c.notification {
        let state = mashang_notification::NotificationState::new(db.clone()).with_delivery(
            mashang_notification::delivery::outbound::Outbound::new(
                config.outbound.clone(),
                Duration::from_secs(10),
            )?,
            config.pii_key.clone(),
            config.public_url.clone(),
        );
        router = router.merge(mashang_notification::router(state.clone()));
        api.push(mashang_notification::openapi());
        workers.spawn(mashang_notification::workers(
            state,
            bus.clone(),
            shutdown.clone(),
        ));
    }
    if c.analytics {
        let state = mashang_analytics::AnalyticsState::new(db.clone());
        router = router.merge(mashang_analytics::router(state.clone()));
        api.push(mashang_analytics::openapi());
        workers.spawn(mashang_analytics::workers(
            state,
            bus.clone(),
            shutdown.clone(),
        ));
    }
    workers.close();
    let (api_docs, _) = mashang_web::api_docs::serve(api);
    let router = router.merge(api_docs);

    let authenticator = Authenticator {
        db: db.clone(),
        config: AuthConfig {
            secure_cookies: config.public_url.starts_with("https://"),
            throttle: SigninThrottle::default(),
        },
        keys: mashang_auth::Keys::derive(&config.pii_key),
    };
    let app = mashang_http::with_common_layers(router, &config.edge)
        .layer(axum::middleware::from_fn(mashang_auth::actor_scope))
        .layer(Extension(authenticator))
        .layer(Extension(OperatorToken::new(config.operator_token.clone())))
        .merge(mashang_http::health_router(Readiness::new(
            probes,
            shutdown.clone(),
        )));
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let (metrics_listener, metrics_addr) = match config.metrics_listen {
        Some(at) => {
            let l = TcpListener::bind(at)
                .await
                .with_context(|| format!("binding the metrics listener {at}"))?;
            let a = l.local_addr()?;
            (Some(l), Some(a))
        }
        None => (None, None),
    };
    tracing::info!(%addr, services = %c.names(), "serving");

    // Installed before anything is recorded, so the first scrape sees everything.
    let handle = mashang_telemetry::prometheus();
    let grace = config.shutdown_grace;
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        let http = mashang_http::serve(listener, app, stop.clone());
        let metrics = async {
            if let Some(l) = metrics_listener
                && let Err(err) =
                    mashang_http::serve(l, mashang_http::metrics_router(handle), stop.clone()).await
            {
                tracing::error!(error = %mashang_telemetry::error_chain(&err), "metrics listener failed");
            }
        };
        let drain = async {
            let (served, ()) = tokio::join!(http, metrics);
            workers.wait().await;
            served
        };
        let deadline = async {
            stop.cancelled().await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            served = drain => served.context("serving HTTP")?,
            () = deadline => tracing::warn!(
                grace_secs = grace.as_secs(),
                "requests or event handlers did not finish within the grace period; stopping anyway"
            ),
        }
        if tokio::time::timeout(Duration::from_secs(2), db.close())
            .await
            .is_err()
        {
            tracing::warn!("database connections still in use at exit");
        }
        tracing::info!("stopped");
        match refused.get() {
            Some(why) => Err(anyhow::anyhow!("{why}")),
            None => Ok(()),
        }
    });
    Ok(Running {
        addr,
        metrics_addr,
        shutdown,
        task,
    })
}
