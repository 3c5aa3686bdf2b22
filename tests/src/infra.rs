//! Test infrastructure: the servers the test script provides, and the services
//! started on them.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mashang::{AppConfig, BusConfig, Components, Running, StorageConfig};
use mashang_bus::NatsConfig;
use mashang_db::testing::TestDatabase;
use mashang_db::{Db, DbConfig};
use mashang_intake::{LimitConfig, PiiKey};
use mashang_storage::{BlobStore, LocalStore, S3Config, S3Store};

use crate::client::Client;

/// The operator token every test app accepts.
pub const OPERATOR_TOKEN: &str = "operator-token-for-tests";

/// NATS with JetStream, 2.10 or later (`MASHANG_TEST_NATS_URL`).
pub fn nats_url() -> String {
    std::env::var("MASHANG_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4223".to_owned())
}

/// The S3-compatible test server (`MASHANG_TEST_S3_ENDPOINT`).
pub fn s3_endpoint() -> String {
    std::env::var("MASHANG_TEST_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:9000".to_owned())
}

/// A subject prefix no other test uses, so tests share one NATS server safely.
pub fn unique_prefix() -> String {
    format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// NATS settings for one test.
pub fn nats_config() -> NatsConfig {
    let mut config = NatsConfig::new(nats_url());
    config.prefix = unique_prefix();
    config.duplicate_window = Duration::from_secs(120);
    config.retry.first_delay = Duration::from_millis(100);
    config
}

/// S3 settings with a fresh bucket for one test.
pub fn s3_config() -> S3Config {
    S3Config {
        endpoint: Some(s3_endpoint()),
        region: "us-east-1".to_owned(),
        bucket: format!(
            "mashang-t-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..16]
        ),
        path_style: true,
        access_key_id: Some("test".to_owned()),
        secret_access_key: Some("test".to_owned()),
    }
}

/// The key sealing phone numbers in tests.
pub fn pii_key() -> PiiKey {
    PiiKey::from_base64(&pii_key_base64()).expect("a generated key is valid")
}

/// The same key as `MASHANG_PII_KEY` would give it, for processes the tests start.
pub fn pii_key_base64() -> String {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| PiiKey::generate_base64().expect("randomness"))
        .clone()
}

/// Installs the process's tracing once, so spans carry trace context as in production.
pub fn init_telemetry() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let filter = std::env::var("MASHANG_TEST_LOG").unwrap_or_else(|_| "warn".to_owned());
        // Another test binary may have installed one; either way spans get contexts.
        let _ = mashang_telemetry::init(&mashang_telemetry::TelemetryConfig {
            service_name: "mashang-tests".to_owned(),
            log_format: mashang_telemetry::LogFormat::Pretty,
            log_filter: filter,
            otlp_endpoint: None,
        });
    });
}

/// A fresh database and a scratch folder for one test.
#[derive(Debug)]
pub struct TestEnv {
    /// The database (migrated; `db` connects as the application role).
    pub database: TestDatabase,
    /// Scratch space (local blob store, spool).
    pub dir: tempfile::TempDir,
}

impl TestEnv {
    /// Creates the environment.
    pub async fn new() -> Self {
        init_telemetry();
        mashang_notification::delivery::outbound::install_tls();
        Self {
            database: TestDatabase::create().await,
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    /// The application-role pool.
    pub fn db(&self) -> &Db {
        &self.database.db
    }

    /// The configuration of a process running `components`.
    pub fn app_config(
        &self,
        components: Components,
        bus: BusConfig,
        storage: StorageConfig,
    ) -> AppConfig {
        let mut db = DbConfig::new(self.database.app_url.clone());
        db.max_connections = 6;
        AppConfig {
            components,
            db,
            listen: "127.0.0.1:0".parse().expect("a socket address"),
            metrics_listen: None,
            public_url: "http://public.test".to_owned(),
            bus,
            storage,
            pii_key: pii_key(),
            operator_token: Some(OPERATOR_TOKEN.to_owned()),
            shutdown_grace: Duration::from_secs(5),
            edge: mashang_http::EdgeConfig::default(),
            intake_limits: LimitConfig::default(),
            // The channels' fake providers listen on loopback.
            outbound: mashang_notification::delivery::outbound::OutboundPolicy::parse(
                "127.0.0.0/8",
            )
            .expect("a CIDR"),
        }
    }
}

/// Running services and clients for each.
#[derive(Debug)]
pub struct TestApp {
    processes: Vec<Running>,
    /// Client of the process serving intake.
    pub intake: Client,
    /// Client of the process serving routing.
    pub routing: Client,
    /// Client of the process serving notification.
    pub notification: Client,
    /// Client of the process serving analytics.
    pub analytics: Client,
    /// The blob store intake writes to, for inspection.
    pub blobs: Arc<dyn BlobStore>,
}

impl TestApp {
    /// What the test processes' notification sends with (the same key, URL and
    /// outbound policy), for driving its planner directly.
    pub fn notification_delivery(&self) -> mashang_notification::Delivery {
        use mashang_notification::delivery::outbound::{Outbound, OutboundPolicy};
        mashang_notification::Delivery {
            outbound: Outbound::new(
                OutboundPolicy::parse("127.0.0.0/8").expect("a CIDR"),
                Duration::from_secs(10),
            )
            .expect("a client"),
            key: pii_key(),
            public_url: "http://public.test".to_owned(),
        }
    }

    /// All four services in one process: in-process bus, local-folder blob store.
    pub async fn monolith(env: &TestEnv) -> Self {
        Self::monolith_with_limits(env, LimitConfig::default()).await
    }

    /// As [`TestApp::monolith`], with other intake abuse limits (to send more reports
    /// than a minute's quota, or to see a limit hit sooner).
    pub async fn monolith_with_limits(env: &TestEnv, limits: LimitConfig) -> Self {
        // As `mashang serve` by default.
        Self::monolith_with(env, limits, 10).await
    }

    /// As [`TestApp::monolith`], with a pool of `max_connections`.
    pub async fn monolith_with_pool(env: &TestEnv, max_connections: u32) -> Self {
        Self::monolith_with(env, LimitConfig::default(), max_connections).await
    }

    async fn monolith_with(env: &TestEnv, limits: LimitConfig, max_connections: u32) -> Self {
        let root = env.dir.path().join("blobs");
        let mut config = env.app_config(
            Components::ALL,
            BusConfig::InProcess,
            StorageConfig::Local(root.clone()),
        );
        config.intake_limits = limits;
        config.db.max_connections = max_connections;
        let running = mashang::start(config).await.expect("starting the monolith");
        let client = Client::new(running.base_url());
        client.wait_ready().await;
        Self {
            intake: client.clone(),
            routing: client.clone(),
            notification: client.clone(),
            analytics: client,
            processes: vec![running],
            blobs: Arc::new(LocalStore::new(root)),
        }
    }

    /// Each service separately (as separate deployments would run), over NATS and S3.
    pub async fn split(env: &TestEnv, nats: NatsConfig) -> Self {
        let s3 = s3_config();
        let storage = StorageConfig::S3 {
            config: s3.clone(),
            create_bucket: true,
        };
        let mut processes = Vec::new();
        let mut clients = Vec::new();
        for name in ["intake", "routing", "notification", "analytics"] {
            let components = Components::only(name).expect("a service name");
            let config = env.app_config(components, BusConfig::Nats(nats.clone()), storage.clone());
            let running = mashang::start(config).await.expect("starting a service");
            let client = Client::new(running.base_url());
            client.wait_ready().await;
            clients.push(client);
            processes.push(running);
        }
        let blobs = S3Store::connect(s3)
            .await
            .expect("connecting to the S3 test server");
        let mut clients = clients.into_iter();
        let mut next = || clients.next().expect("four clients");
        Self {
            intake: next(),
            routing: next(),
            notification: next(),
            analytics: next(),
            processes,
            blobs: Arc::new(blobs),
        }
    }

    /// Stops every process gracefully.
    pub async fn stop(self) {
        for p in self.processes {
            p.stop().await.expect("a clean shutdown");
        }
    }
}

/// Serves one router on port 0 with nothing else running (no workers), as a process
/// that accepts requests but dies before its background work would run.
pub async fn serve_router(router: axum::Router) -> (Client, tokio_util::sync::CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding");
    let addr = listener.local_addr().expect("an address");
    let stop = tokio_util::sync::CancellationToken::new();
    let app = mashang_http::with_common_layers(router, &mashang_http::EdgeConfig::default());
    tokio::spawn(mashang_http::serve(listener, app, stop.clone()));
    (Client::new(format!("http://{addr}")), stop)
}
