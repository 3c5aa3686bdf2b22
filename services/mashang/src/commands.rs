//! The commands behind the command line.

use std::time::Duration;

use anyhow::Context as _;
use mashang_bus::{NatsAuth, NatsConfig, NatsTls, Secret};
use mashang_db::{AppRole, DbConfig};
use mashang_intake::PiiKey;
use mashang_storage::S3Config;
use mashang_telemetry::{LogFormat, TelemetryConfig};

use crate::app::{self, AppConfig, BusConfig, Components, StorageConfig};
use crate::cli::{
    BusKind, Cli, Command, LogFormatArg, NatsAuthArgs, ServeArgs, ServiceArg, StorageKind,
};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let service_name = match &cli.command {
        Command::Serve(args) if args.services.len() == 1 => {
            format!("mashang-{:?}", args.services[0]).to_lowercase()
        }
        _ => "mashang".to_owned(),
    };
    // The demo is run by a person at a terminal: readable lines, warnings and worse.
    let demo = matches!(cli.command, Command::Demo(_));
    let telemetry = mashang_telemetry::init(&TelemetryConfig {
        service_name,
        log_format: match (cli.telemetry.log_format, demo) {
            (Some(LogFormatArg::Json), _) | (None, false) => LogFormat::Json,
            (Some(LogFormatArg::Pretty), _) | (None, true) => LogFormat::Pretty,
        },
        log_filter: cli
            .telemetry
            .log
            .clone()
            .unwrap_or_else(|| if demo { "warn" } else { "info" }.to_owned()),
        otlp_endpoint: cli.telemetry.otlp_endpoint.clone(),
    })?;
    let outcome = match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Migrate(args) => {
            let role = args.app_role.map(|name| AppRole {
                name,
                password: args.app_password,
            });
            mashang_db::migrate(&DbConfig::new(args.database_url), role.as_ref())
                .await
                .context("migrating")?;
            println!("migrations applied");
            Ok(())
        }
        Command::Demo(args) => crate::demo::run(args).await,
        Command::Tenant(command) => crate::admin::tenant(command).await,
        Command::User(command) => crate::admin::user(command).await,
        Command::Events(command) => crate::events::run(command).await,
        Command::Analytics(command) => crate::analytics::run(command).await,
    };
    telemetry.shutdown();
    outcome
}

fn pii_key(args: &ServeArgs) -> anyhow::Result<PiiKey> {
    load_pii_key(args.pii_key.as_ref(), args.pii_key_file.as_ref())
}

/// The deployment's personal-data key, from the environment or a file; reset codes'
/// keyed hashes are derived from it too.
pub fn load_pii_key(
    key: Option<&String>,
    file: Option<&std::path::PathBuf>,
) -> anyhow::Result<PiiKey> {
    let encoded = match (key, file) {
        (_, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("reading the PII key file {}", path.display()))?,
        (Some(key), None) => key.clone(),
        (None, None) => anyhow::bail!("set MASHANG_PII_KEY or --pii-key-file"),
    };
    PiiKey::from_base64(&encoded).context("MASHANG_PII_KEY")
}

/// The NATS credentials and TLS settings the flags name (clap allows one kind).
fn nats_auth(args: &NatsAuthArgs) -> anyhow::Result<(NatsAuth, NatsTls)> {
    let auth = if let (Some(user), Some(password)) = (&args.nats_user, &args.nats_password) {
        NatsAuth::UserPassword {
            user: user.clone(),
            password: Secret::new(password.clone()),
        }
    } else if let Some(token) = &args.nats_token {
        NatsAuth::Token(Secret::new(token.clone()))
    } else if let Some(seed) = &args.nats_nkey_seed {
        NatsAuth::NKeySeed(Secret::new(seed.clone()))
    } else if let Some(path) = &args.nats_nkey_seed_file {
        let seed = std::fs::read_to_string(path)
            .with_context(|| format!("reading the NATS NKey seed file {}", path.display()))?;
        NatsAuth::NKeySeed(Secret::new(seed.trim()))
    } else if let Some(path) = &args.nats_creds_file {
        NatsAuth::CredsFile(path.clone())
    } else {
        NatsAuth::None
    };
    let tls = NatsTls {
        required: args.nats_tls,
        ca_file: args.nats_tls_ca_file.clone(),
        client_cert: args
            .nats_tls_cert_file
            .clone()
            .zip(args.nats_tls_key_file.clone()),
    };
    Ok((auth, tls))
}

fn components(services: &[ServiceArg]) -> Components {
    if services.is_empty() {
        return Components::ALL;
    }
    Components {
        intake: services.contains(&ServiceArg::Intake),
        routing: services.contains(&ServiceArg::Routing),
        notification: services.contains(&ServiceArg::Notification),
        analytics: services.contains(&ServiceArg::Analytics),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    mashang_http::check_operator_token(args.operator_token.as_deref())
        .map_err(anyhow::Error::msg)?;
    let mut db = DbConfig::new(args.database_url.clone());
    db.max_connections = args.db_max_connections;
    db.limits = mashang_db::StatementLimits {
        statement: Duration::from_millis(args.db_statement_timeout_ms),
        lock: Duration::from_millis(args.db_lock_timeout_ms),
        idle_in_transaction: Duration::from_secs(args.db_idle_in_transaction_timeout),
    };
    let storage = match args.storage.kind {
        StorageKind::Local => StorageConfig::Local(args.storage.storage_dir.clone()),
        StorageKind::S3 => StorageConfig::S3 {
            config: S3Config {
                endpoint: args.storage.s3_endpoint.clone(),
                region: args.storage.s3_region.clone(),
                bucket: args.storage.s3_bucket.clone(),
                path_style: args.storage.s3_path_style,
                access_key_id: args.storage.s3_access_key_id.clone(),
                secret_access_key: args.storage.s3_secret_access_key.clone(),
            },
            create_bucket: args.storage.s3_create_bucket,
        },
    };
    let bus = match args.bus {
        BusKind::InProcess => BusConfig::InProcess,
        BusKind::Nats => {
            let mut nats = NatsConfig::new(args.nats_url.clone());
            nats.prefix = args.nats_prefix.clone();
            nats.replicas = args.nats_replicas;
            (nats.auth, nats.tls) = nats_auth(&args.nats_auth)?;
            BusConfig::Nats(nats)
        }
    };
    let config = AppConfig {
        components: components(&args.services),
        db,
        listen: args.listen,
        metrics_listen: Some(args.metrics_listen),
        public_url: args.public_url.clone(),
        bus,
        storage,
        pii_key: pii_key(&args)?,
        operator_token: args.operator_token.clone(),
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
        edge: mashang_http::EdgeConfig {
            timeouts: mashang_http::RequestTimeouts {
                request: Duration::from_secs(args.request_timeout),
                upload: Duration::from_secs(args.upload_timeout),
            },
            trusted_proxies: mashang_http::TrustedProxies::parse(&args.trusted_proxies)
                .context("MASHANG_TRUSTED_PROXIES")?,
        },
        outbound: mashang_notification::delivery::outbound::OutboundPolicy::parse(
            &args.outbound_allow,
        )
        .map_err(anyhow::Error::msg)
        .context("MASHANG_OUTBOUND_ALLOW")?,
        intake_limits: mashang_intake::LimitConfig {
            posts_per_address_per_minute: args.posts_per_address_per_minute,
            reports_per_code_per_minute: args.reports_per_code_per_minute,
            uploads_per_code_per_hour: args.uploads_per_code_per_hour,
            uploads_per_code_per_day: args.uploads_per_code_per_day,
            upload_bytes_per_code_per_day: args
                .upload_mb_per_code_per_day
                .saturating_mul(1024 * 1024),
        },
    };
    let running = app::start(config).await?;
    tokio::spawn(mashang_http::shutdown_on_signal(running.shutdown.clone()));
    running.wait().await
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{PiiKey, serve};
    use crate::cli::{Cli, Command};

    #[tokio::test]
    async fn serve_refuses_a_short_operator_token_and_says_which_setting() {
        let key = PiiKey::generate_base64().expect("randomness");
        let cli = Cli::try_parse_from([
            "mashang",
            "serve",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
            "--pii-key",
            &key,
            "--operator-token",
            "operator-token-for-tests",
        ])
        .expect("the command line parses");
        let Command::Serve(args) = cli.command else {
            panic!("not serve");
        };
        let refused = serve(*args).await.expect_err("a short token is refused");
        let message = refused.to_string();
        assert!(
            message.contains("MASHANG_OPERATOR_TOKEN") && message.contains("32"),
            "{message}"
        );
    }
}
