//! The command line. Every flag has a `MASHANG_…` environment variable; secrets are
//! best given through the environment or a file, never on a shared command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Mashang (码上反映): the county's citizen-report platform.
#[derive(Debug, Parser)]
#[command(name = "mashang", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Logging and tracing.
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run services: all four by default, or the ones named (intake routing notification analytics).
    Serve(Box<ServeArgs>),
    /// Apply database migrations as the owner role; optionally create the application role.
    Migrate(MigrateArgs),
    /// Run everything on this machine with nothing to configure (embedded PostgreSQL, in-process bus, local files).
    Demo(DemoArgs),
    /// Manage tenants (townships).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage people (county staff, password reset codes).
    #[command(subcommand)]
    User(UserCommand),
    /// Events that could not be handled: list the parked (dead-letter) events, replay them.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Analytics: recompute the case facts and daily roll-ups from the kept events.
    #[command(subcommand)]
    Analytics(AnalyticsCommand),
}

/// `mashang analytics …`.
#[derive(Debug, Subcommand)]
pub enum AnalyticsCommand {
    /// Recompute every township's (or one's) facts and roll-ups from the events analytics
    /// kept, so a corrected definition applies to the past. Each township is rebuilt in
    /// one transaction; its new events wait meanwhile.
    Rebuild(AnalyticsRebuildArgs),
}

/// `mashang analytics rebuild`.
#[derive(Debug, Args)]
pub struct AnalyticsRebuildArgs {
    /// PostgreSQL URL for the application role.
    #[arg(long, env = "MASHANG_DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// Only the township with this code.
    #[arg(long)]
    pub tenant: Option<String>,
}

/// Log format.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormatArg {
    /// One JSON object per line.
    Json,
    /// Human-readable.
    Pretty,
}

/// Logging and tracing flags.
#[derive(Debug, Args)]
pub struct TelemetryArgs {
    /// Log line format: `json` by default, `pretty` for `mashang demo`.
    #[arg(long, env = "MASHANG_LOG_FORMAT", value_enum, global = true)]
    pub log_format: Option<LogFormatArg>,
    /// Log filter directives, e.g. `info` or `info,mashang_bus=debug`: `info` by
    /// default, `warn` for `mashang demo` (whose banner says what a person needs).
    #[arg(long, env = "MASHANG_LOG", global = true)]
    pub log: Option<String>,
    /// OTLP/HTTP endpoint to export traces to, e.g. `http://otel-collector:4318`; none when unset.
    #[arg(long, env = "MASHANG_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<String>,
}

/// Which bus carries events between services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BusKind {
    /// NATS JetStream (separate processes, Kubernetes).
    Nats,
    /// In this process (all four services in one process only).
    InProcess,
}

/// Where photos and recordings are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StorageKind {
    /// A local folder.
    Local,
    /// An S3-compatible object store (AWS, MinIO, Garage).
    S3,
}

/// `mashang serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Services to run; all four when none is named.
    #[arg(value_enum)]
    pub services: Vec<ServiceArg>,
    /// PostgreSQL URL for the application role (not the owner, not a superuser).
    #[arg(long, env = "MASHANG_DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// Size of the database pool; each service's outbox relay holds one connection
    /// more, outside the pool, to listen for new events.
    #[arg(long, env = "MASHANG_DB_MAX_CONNECTIONS", default_value_t = 10)]
    pub db_max_connections: u32,
    /// Address of the public HTTP listener.
    #[arg(long, env = "MASHANG_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// Address of the Prometheus metrics listener (keep it off the public network).
    #[arg(long, env = "MASHANG_METRICS_LISTEN", default_value = "127.0.0.1:9090")]
    pub metrics_listen: SocketAddr,
    /// Public base URL citizens reach, used in QR codes and status links.
    #[arg(
        long,
        env = "MASHANG_PUBLIC_URL",
        default_value = "http://localhost:8080"
    )]
    pub public_url: String,
    /// The event bus.
    #[arg(long, env = "MASHANG_BUS", value_enum, default_value = "nats")]
    pub bus: BusKind,
    /// NATS server URL(s), comma-separated.
    #[arg(
        long,
        env = "MASHANG_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    pub nats_url: String,
    /// NATS subject prefix (events are `<prefix>.<tenant>.<type>`).
    #[arg(long, env = "MASHANG_NATS_PREFIX", default_value = "mashang")]
    pub nats_prefix: String,
    /// JetStream stream replicas (3 on a clustered server).
    #[arg(long, env = "MASHANG_NATS_REPLICAS", default_value_t = 1)]
    pub nats_replicas: usize,
    /// NATS credentials and TLS.
    #[command(flatten)]
    pub nats_auth: NatsAuthArgs,
    /// Blob storage.
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Key sealing citizens' phone numbers: 32 bytes, base64. Prefer the environment or --pii-key-file.
    #[arg(
        long,
        env = "MASHANG_PII_KEY",
        hide_env_values = true,
        required_unless_present = "pii_key_file"
    )]
    pub pii_key: Option<String>,
    /// File holding the phone-number sealing key.
    #[arg(long, env = "MASHANG_PII_KEY_FILE")]
    pub pii_key_file: Option<PathBuf>,
    /// Bearer token for operations automation on staff endpoints; operator access is off when unset.
    #[arg(long, env = "MASHANG_OPERATOR_TOKEN", hide_env_values = true)]
    pub operator_token: Option<String>,
    /// Proxies whose X-Forwarded-For / Forwarded headers name the client: a
    /// comma-separated list of CIDR ranges or addresses (e.g. the ingress controller's
    /// pod range `10.42.0.0/16`). The client is the right-most address not in the
    /// list; with none set, the TCP peer is the client and the headers are ignored.
    #[arg(long, env = "MASHANG_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// Networks the notification channels (robots, webhooks, SMS, mail) may reach
    /// besides the public internet: a comma-separated list of CIDR ranges (e.g. a
    /// county platform's `10.8.0.0/16`). Loopback, private and link-local addresses
    /// are refused unless listed.
    #[arg(long, env = "MASHANG_OUTBOUND_ALLOW", default_value = "")]
    pub outbound_allow: String,
    /// Longest a request may take, in seconds, before it is answered 503.
    #[arg(long, env = "MASHANG_REQUEST_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout: u64,
    /// Longest a multipart upload (photo, voice note) may take, in seconds.
    #[arg(long, env = "MASHANG_UPLOAD_TIMEOUT", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub upload_timeout: u64,
    /// PostgreSQL `statement_timeout` of the services' connections, in milliseconds.
    #[arg(long, env = "MASHANG_DB_STATEMENT_TIMEOUT_MS", default_value_t = 15_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub db_statement_timeout_ms: u64,
    /// PostgreSQL `lock_timeout` of the services' connections, in milliseconds.
    #[arg(long, env = "MASHANG_DB_LOCK_TIMEOUT_MS", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub db_lock_timeout_ms: u64,
    /// PostgreSQL `idle_in_transaction_session_timeout`, in seconds.
    #[arg(long, env = "MASHANG_DB_IDLE_IN_TRANSACTION_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub db_idle_in_transaction_timeout: u64,
    /// Seconds to finish requests and event handling after SIGTERM.
    #[arg(long, env = "MASHANG_SHUTDOWN_GRACE", default_value_t = 20)]
    pub shutdown_grace: u64,
    /// Posts (reports, uploads, ratings) one client address may make per minute, per replica.
    #[arg(
        long,
        env = "MASHANG_POSTS_PER_ADDRESS_PER_MINUTE",
        default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub posts_per_address_per_minute: u32,
    /// Reports one QR code may receive per minute, per replica (beyond 30 a day they are flagged, not refused).
    #[arg(
        long,
        env = "MASHANG_REPORTS_PER_CODE_PER_MINUTE",
        default_value_t = 20,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub reports_per_code_per_minute: u32,
    /// Photos and voice notes one QR code may receive per hour, across replicas.
    #[arg(
        long,
        env = "MASHANG_UPLOADS_PER_CODE_PER_HOUR",
        default_value_t = 100,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub uploads_per_code_per_hour: u32,
    /// Photos and voice notes one QR code may receive in 24 hours, across replicas.
    #[arg(
        long,
        env = "MASHANG_UPLOADS_PER_CODE_PER_DAY",
        default_value_t = 300,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub uploads_per_code_per_day: u32,
    /// Megabytes of photos and voice notes one QR code may receive in 24 hours, across replicas.
    #[arg(
        long,
        env = "MASHANG_UPLOAD_MB_PER_CODE_PER_DAY",
        default_value_t = 2048,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub upload_mb_per_code_per_day: u64,
}

/// NATS credentials (at most one kind) and TLS. Secrets only from the environment or files.
#[derive(Debug, Args)]
pub struct NatsAuthArgs {
    /// NATS user name (with MASHANG_NATS_PASSWORD).
    #[arg(
        long,
        env = "MASHANG_NATS_USER",
        requires = "nats_password",
        conflicts_with_all = ["nats_token", "nats_nkey_seed", "nats_nkey_seed_file", "nats_creds_file"]
    )]
    pub nats_user: Option<String>,
    /// NATS password. Prefer the environment.
    #[arg(
        long,
        env = "MASHANG_NATS_PASSWORD",
        hide_env_values = true,
        requires = "nats_user"
    )]
    pub nats_password: Option<String>,
    /// NATS authentication token. Prefer the environment.
    #[arg(
        long,
        env = "MASHANG_NATS_TOKEN",
        hide_env_values = true,
        conflicts_with_all = ["nats_nkey_seed", "nats_nkey_seed_file", "nats_creds_file"]
    )]
    pub nats_token: Option<String>,
    /// NATS NKey seed (`SU…`). Prefer the environment or --nats-nkey-seed-file.
    #[arg(
        long,
        env = "MASHANG_NATS_NKEY_SEED",
        hide_env_values = true,
        conflicts_with_all = ["nats_nkey_seed_file", "nats_creds_file"]
    )]
    pub nats_nkey_seed: Option<String>,
    /// File holding the NATS NKey seed.
    #[arg(
        long,
        env = "MASHANG_NATS_NKEY_SEED_FILE",
        conflicts_with = "nats_creds_file"
    )]
    pub nats_nkey_seed_file: Option<PathBuf>,
    /// NATS credentials file (`.creds`: user JWT and NKey seed).
    #[arg(long, env = "MASHANG_NATS_CREDS_FILE")]
    pub nats_creds_file: Option<PathBuf>,
    /// Require TLS to the NATS server (implied by the other TLS flags).
    #[arg(long, env = "MASHANG_NATS_TLS")]
    pub nats_tls: bool,
    /// PEM file of the certificate authorities to trust for the NATS server.
    #[arg(long, env = "MASHANG_NATS_TLS_CA_FILE")]
    pub nats_tls_ca_file: Option<PathBuf>,
    /// PEM client certificate, for a NATS server that verifies clients.
    #[arg(
        long,
        env = "MASHANG_NATS_TLS_CERT_FILE",
        requires = "nats_tls_key_file"
    )]
    pub nats_tls_cert_file: Option<PathBuf>,
    /// PEM key of the client certificate.
    #[arg(
        long,
        env = "MASHANG_NATS_TLS_KEY_FILE",
        requires = "nats_tls_cert_file"
    )]
    pub nats_tls_key_file: Option<PathBuf>,
}

/// Blob-storage flags.
#[derive(Debug, Args)]
pub struct StorageArgs {
    /// Where photos and recordings go.
    #[arg(
        long = "storage",
        env = "MASHANG_STORAGE",
        value_enum,
        default_value = "local"
    )]
    pub kind: StorageKind,
    /// Folder for `--storage local`.
    #[arg(long, env = "MASHANG_STORAGE_DIR", default_value = "mashang-blobs")]
    pub storage_dir: PathBuf,
    /// S3 endpoint URL for non-AWS stores (MinIO, Garage); AWS when unset.
    #[arg(long, env = "MASHANG_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// S3 region.
    #[arg(long, env = "MASHANG_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    /// S3 bucket.
    #[arg(long, env = "MASHANG_S3_BUCKET", default_value = "mashang")]
    pub s3_bucket: String,
    /// Use path-style addressing (most non-AWS stores need it).
    #[arg(long, env = "MASHANG_S3_PATH_STYLE")]
    pub s3_path_style: bool,
    /// S3 access key id; the default credential chain (environment, web identity, instance role) when unset.
    #[arg(long, env = "MASHANG_S3_ACCESS_KEY_ID", hide_env_values = true)]
    pub s3_access_key_id: Option<String>,
    /// S3 secret access key.
    #[arg(long, env = "MASHANG_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,
    /// Create the bucket at start if it is missing (development).
    #[arg(long, env = "MASHANG_S3_CREATE_BUCKET")]
    pub s3_create_bucket: bool,
}

/// A service name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ServiceArg {
    /// Citizen intake.
    Intake,
    /// Cases and the directory.
    Routing,
    /// Messages.
    Notification,
    /// Figures.
    Analytics,
}

/// `mashang migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// PostgreSQL URL of the owner role (the one that owns the schemas).
    #[arg(long, env = "MASHANG_MIGRATE_DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// Create (if missing) and grant the application role the services connect as.
    #[arg(long, env = "MASHANG_APP_ROLE")]
    pub app_role: Option<String>,
    /// Password to set for the application role. Prefer the environment.
    #[arg(
        long,
        env = "MASHANG_APP_PASSWORD",
        hide_env_values = true,
        requires = "app_role"
    )]
    pub app_password: Option<String>,
}

/// `mashang demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the demo's database, files and `demo.json`; reused by the next run.
    #[arg(long, env = "MASHANG_DATA_DIR", default_value = ".mashang")]
    pub data_dir: PathBuf,
    /// Address to serve on.
    #[arg(long, env = "MASHANG_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Address of the metrics listener.
    #[arg(long, env = "MASHANG_METRICS_LISTEN", default_value = "127.0.0.1:9090")]
    pub metrics_listen: SocketAddr,
    /// Public base URL; `http://<listen address>` when unset.
    #[arg(long, env = "MASHANG_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Use this PostgreSQL (owner URL) instead of a private cluster.
    #[arg(long, env = "MASHANG_DEMO_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Operator token; generated (and kept in the data folder) when unset.
    #[arg(long, env = "MASHANG_OPERATOR_TOKEN", hide_env_values = true)]
    pub operator_token: Option<String>,
}

/// `mashang tenant …`.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant with its township node and default categories.
    Create(TenantCreateArgs),
    /// Suspend a tenant: citizens see a notice, staff cannot sign in; nothing is deleted.
    Suspend(TenantCodeArgs),
    /// Put a suspended tenant back in service.
    Resume(TenantCodeArgs),
}

/// A tenant named by code.
#[derive(Debug, Args)]
pub struct TenantCodeArgs {
    /// PostgreSQL URL for the application role.
    #[arg(long, env = "MASHANG_DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// The tenant's code.
    #[arg(long)]
    pub code: String,
}

/// `mashang user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a county user (county_centre and/or county_admin); prints a one-time code to set the password.
    CreateCounty(CreateCountyArgs),
    /// Issue a one-time password reset code for anyone, by sign-in name (for operators).
    ResetCode(ResetCodeArgs),
}

/// The deployment's personal-data key, for commands that issue one-time codes (their
/// keyed hashes are derived from it).
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Key sealing citizens' phone numbers: 32 bytes, base64 (as for `serve`).
    #[arg(
        long,
        env = "MASHANG_PII_KEY",
        hide_env_values = true,
        required_unless_present = "pii_key_file"
    )]
    pub pii_key: Option<String>,
    /// File holding the key.
    #[arg(long, env = "MASHANG_PII_KEY_FILE")]
    pub pii_key_file: Option<PathBuf>,
}

/// `mashang user create-county`.
#[derive(Debug, Args)]
pub struct CreateCountyArgs {
    /// PostgreSQL URL for the application role.
    #[arg(long, env = "MASHANG_DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// The key one-time codes are hashed with.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Full name.
    #[arg(long)]
    pub name: String,
    /// Mobile number (the sign-in name).
    #[arg(long)]
    pub phone: String,
    /// Roles: county_centre, county_admin (repeat for both).
    #[arg(long = "role", required = true)]
    pub roles: Vec<String>,
}

/// `mashang user reset-code`.
#[derive(Debug, Args)]
pub struct ResetCodeArgs {
    /// PostgreSQL URL for the application role.
    #[arg(long, env = "MASHANG_DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// The key one-time codes are hashed with.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// The person's sign-in name (phone number or username).
    #[arg(long)]
    pub login: String,
}

/// `mashang events …`.
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List parked events: service, type, tenant, first error, how often parked.
    Dead(EventsDeadArgs),
    /// Put parked events back: each service's running consumer handles them again within seconds.
    Replay(EventsReplayArgs),
}

/// `mashang events dead`.
#[derive(Debug, Args)]
pub struct EventsDeadArgs {
    /// PostgreSQL URL for the application role.
    #[arg(long, env = "MASHANG_DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// Only this service's parked events.
    #[arg(long, value_enum)]
    pub service: Option<ServiceArg>,
}

/// `mashang events replay`.
#[derive(Debug, Args)]
pub struct EventsReplayArgs {
    /// PostgreSQL URL for the application role.
    #[arg(long, env = "MASHANG_DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// The event id to replay (as `events dead` lists it).
    #[arg(long, required_unless_present = "all", conflicts_with = "all")]
    pub id: Option<uuid::Uuid>,
    /// Replay every parked event (of --service, when given).
    #[arg(long)]
    pub all: bool,
    /// Only this service's parked events.
    #[arg(long, value_enum)]
    pub service: Option<ServiceArg>,
}

/// `mashang tenant create`.
#[derive(Debug, Args)]
pub struct TenantCreateArgs {
    /// PostgreSQL URL for the application role.
    #[arg(long, env = "MASHANG_DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// The key one-time codes are hashed with.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Short lowercase code, e.g. `caotan`; tracking numbers start with it in capitals.
    #[arg(long)]
    pub code: String,
    /// Name, e.g. 草滩镇.
    #[arg(long)]
    pub name: String,
    /// IANA time zone.
    #[arg(long, default_value = "Asia/Shanghai")]
    pub time_zone: String,
    /// The township's public contact number, shown to citizens on notices.
    #[arg(long)]
    pub contact_phone: Option<String>,
    /// Name of the township's first administrator.
    #[arg(long, requires = "admin_phone")]
    pub admin_name: Option<String>,
    /// Mobile number of the first administrator (their sign-in name).
    #[arg(long, requires = "admin_name")]
    pub admin_phone: Option<String>,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::Cli;

    #[test]
    fn the_command_line_is_consistent_and_documents_every_env_var() {
        Cli::command().debug_assert();
        let mut serve = Cli::command();
        // Global flags reach subcommands when the command is built, as at run time.
        serve.build();
        let help = serve
            .find_subcommand_mut("serve")
            .expect("serve exists")
            .render_long_help()
            .to_string();
        for var in [
            "MASHANG_DATABASE_URL",
            "MASHANG_LISTEN",
            "MASHANG_METRICS_LISTEN",
            "MASHANG_BUS",
            "MASHANG_NATS_URL",
            "MASHANG_STORAGE",
            "MASHANG_S3_ENDPOINT",
            "MASHANG_PII_KEY",
            "MASHANG_OPERATOR_TOKEN",
            "MASHANG_LOG_FORMAT",
            "MASHANG_OTLP_ENDPOINT",
            "MASHANG_POSTS_PER_ADDRESS_PER_MINUTE",
            "MASHANG_REPORTS_PER_CODE_PER_MINUTE",
            "MASHANG_TRUSTED_PROXIES",
            "MASHANG_REQUEST_TIMEOUT",
            "MASHANG_UPLOAD_TIMEOUT",
            "MASHANG_DB_STATEMENT_TIMEOUT_MS",
            "MASHANG_DB_LOCK_TIMEOUT_MS",
            "MASHANG_NATS_USER",
            "MASHANG_NATS_PASSWORD",
            "MASHANG_NATS_TOKEN",
            "MASHANG_NATS_NKEY_SEED",
            "MASHANG_NATS_NKEY_SEED_FILE",
            "MASHANG_NATS_CREDS_FILE",
            "MASHANG_NATS_TLS",
            "MASHANG_NATS_TLS_CA_FILE",
            "MASHANG_NATS_TLS_CERT_FILE",
            "MASHANG_NATS_TLS_KEY_FILE",
            "MASHANG_UPLOADS_PER_CODE_PER_HOUR",
            "MASHANG_UPLOADS_PER_CODE_PER_DAY",
            "MASHANG_UPLOAD_MB_PER_CODE_PER_DAY",
        ] {
            assert!(help.contains(var), "serve --help does not mention {var}");
        }
    }

    #[test]
    fn one_kind_of_nats_credentials_at_a_time() {
        let base = [
            "mashang",
            "serve",
            "--database-url",
            "postgres://x",
            "--pii-key",
            "k",
        ];
        let parse = |extra: &[&str]| Cli::try_parse_from(base.iter().chain(extra));
        assert!(parse(&["--nats-user", "u", "--nats-password", "p"]).is_ok());
        assert!(
            parse(&["--nats-user", "u"]).is_err(),
            "a user needs a password"
        );
        assert!(parse(&["--nats-token", "t", "--nats-creds-file", "c"]).is_err());
        assert!(
            parse(&["--nats-tls-cert-file", "c"]).is_err(),
            "a certificate needs its key"
        );
    }

    #[test]
    fn replay_needs_an_id_or_all() {
        let parse = |extra: &[&str]| {
            Cli::try_parse_from(
                [
                    "mashang",
                    "events",
                    "replay",
                    "--database-url",
                    "postgres://x",
                ]
                .iter()
                .chain(extra),
            )
        };
        assert!(parse(&[]).is_err());
        assert!(parse(&["--all"]).is_ok());
        assert!(parse(&["--id", "0190f5c2-0000-7000-8000-000000000001"]).is_ok());
        assert!(parse(&["--all", "--id", "0190f5c2-0000-7000-8000-000000000001"]).is_err());
        assert!(parse(&["--id", "not-a-uuid"]).is_err());
        let help = Cli::command()
            .find_subcommand_mut("events")
            .expect("events exists")
            .render_long_help()
            .to_string();
        assert!(help.contains("dead") && help.contains("replay"), "{help}");
    }
}
