//! `mashang demo`: the embedded default. Everything on one machine with nothing to
//! configure: a private PostgreSQL (unless a URL is given), all four services in one
//! process on the in-process bus, photos in a local folder, and a seeded demo county.
//! A second run reuses the folder and its data.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine;
use mashang_db::{AppRole, DbConfig};
use mashang_intake::PiiKey;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::app::{self, AppConfig, BusConfig, Components, StorageConfig};
use crate::cli::DemoArgs;
use crate::embedded_pg::EmbeddedPg;
use crate::seed::{DemoTownship, describe, seed};

/// The demo's secrets, generated on the first run and kept in the data folder.
#[derive(Debug, Serialize, Deserialize)]
struct DemoSecrets {
    pii_key: String,
    operator_token: String,
    app_password: String,
    /// The password of the demo's staff sign-ins.
    #[serde(default)]
    staff_password: Option<String>,
}

/// What `demo.json` holds, for scripts and tests.
#[derive(Debug, Serialize)]
struct DemoInfo<'a> {
    base_url: &'a str,
    operator_token: &'a str,
    townships: Vec<DemoTownship>,
    /// The county centre's sign-ins, shaped as each township's `logins`.
    county_logins: Vec<crate::seed::DemoLogin>,
}

fn random_token(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

fn load_secrets(dir: &Path) -> anyhow::Result<DemoSecrets> {
    let path = dir.join("secrets.json");
    if path.is_file() {
        let text = std::fs::read_to_string(&path)?;
        return serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()));
    }
    let secrets = DemoSecrets {
        pii_key: PiiKey::generate_base64()?,
        operator_token: random_token(24)?,
        app_password: random_token(18)?,
        staff_password: Some(random_token(9)?),
    };
    write_private(&path, &serde_json::to_string_pretty(&secrets)?)?;
    Ok(secrets)
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

async fn ensure_database(owner_admin_url: &str, name: &str) -> anyhow::Result<()> {
    let opts: PgConnectOptions = owner_admin_url.parse()?;
    let mut conn = sqlx::PgConnection::connect_with(&opts).await?;
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut conn)
        .await?;
    if exists.is_none() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await?;
    }
    conn.close().await?;
    Ok(())
}

/// Runs the demo until interrupted.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let dir: PathBuf = args.data_dir.clone();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let secrets = load_secrets(&dir)?;
    mashang_http::check_operator_token(args.operator_token.as_deref())
        .map_err(anyhow::Error::msg)?;
    let operator_token = args
        .operator_token
        .clone()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| secrets.operator_token.clone());

    let (pg, owner_url) = match &args.database_url {
        Some(url) => (None, url.clone()),
        None => {
            println!(
                "starting a private PostgreSQL in {} …",
                dir.join("pg").display()
            );
            let pg = EmbeddedPg::start(&dir.join("pg"))?;
            ensure_database(&pg.url("postgres"), "mashang").await?;
            let url = pg.url("mashang");
            (Some(pg), url)
        }
    };
    let outcome = serve(&args, &dir, &secrets, &owner_url, &operator_token).await;
    if let Some(pg) = pg
        && let Err(err) = pg.stop()
    {
        eprintln!("stopping the private PostgreSQL failed: {err:#}");
    }
    outcome
}

async fn serve(
    args: &DemoArgs,
    dir: &Path,
    secrets: &DemoSecrets,
    owner_url: &str,
    operator_token: &str,
) -> anyhow::Result<()> {
    let role = AppRole {
        name: "mashang_app".to_owned(),
        password: Some(secrets.app_password.clone()),
    };
    mashang_db::migrate(&DbConfig::new(owner_url), Some(&role))
        .await
        .context("migrating the demo database")?;
    let owner: PgConnectOptions = owner_url.parse()?;
    let app_url = owner
        .username(&role.name)
        .password(&secrets.app_password)
        .to_url_lossy()
        .to_string();
    let db_config = DbConfig::new(app_url);
    let db = mashang_db::Db::connect(&db_config).await?;
    let staff_password = secrets
        .staff_password
        .clone()
        .unwrap_or_else(|| secrets.app_password.chars().take(12).collect());
    let password = mashang_auth::Password::new(&staff_password)?;
    seed(&db, &password)
        .await
        .context("seeding the demo county")?;

    // The public URL goes into status links before the listener is bound, so a port
    // of 0 ("any free port") is chosen here.
    let mut listen = args.listen;
    if listen.port() == 0 {
        listen = std::net::TcpListener::bind(listen)
            .and_then(|l| l.local_addr())
            .context("finding a free port")?;
    }
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{listen}"))
        .trim_end_matches('/')
        .to_owned();
    let running = app::start(AppConfig {
        components: Components::ALL,
        db: db_config,
        listen,
        metrics_listen: Some(args.metrics_listen),
        public_url: public_url.clone(),
        bus: BusConfig::InProcess,
        storage: StorageConfig::Local(dir.join("blobs")),
        pii_key: PiiKey::from_base64(&secrets.pii_key)?,
        operator_token: Some(operator_token.to_owned()),
        shutdown_grace: Duration::from_secs(10),
        edge: mashang_http::EdgeConfig::default(),
        intake_limits: mashang_intake::LimitConfig::default(),
        outbound: mashang_notification::delivery::outbound::OutboundPolicy::public_only(),
    })
    .await?;
    let base_url = if args.public_url.is_some() {
        public_url
    } else {
        running.base_url()
    };
    let townships = describe(&db, &base_url, &staff_password).await?;
    let county_logins = crate::seed::county_logins(&db, &staff_password).await?;
    db.close().await;
    crate::demo_cases::seed_cases(&running.base_url(), owner_url, &townships)
        .await
        .context("seeding the demo's cases")?;
    let info = DemoInfo {
        base_url: &base_url,
        operator_token,
        townships,
        county_logins,
    };
    write_private(
        &dir.join("demo.json"),
        &serde_json::to_string_pretty(&info)?,
    )?;

    println!();
    println!("Mashang demo is running: {base_url}");
    if let Some(first) = info
        .townships
        .first()
        .and_then(|t| t.qr.first().map(|q| (t, q)))
    {
        println!(
            "  QR landing page ({} {}): {}",
            first.0.name, first.1.node_code, first.1.url
        );
    }
    for township in info.townships.iter().filter(|t| !t.logins.is_empty()) {
        for login in &township.logins {
            println!(
                "  sign in ({} {}): {} / {}",
                township.name, login.role, login.login, login.password
            );
        }
    }
    for login in &info.county_logins {
        println!(
            "  sign in (县综治中心 {}): {} / {}",
            login.role, login.login, login.password
        );
    }
    println!("  staff sign-in (every role lands on its own home): {base_url}/login");
    println!("  operator token (operations automation): {operator_token}");
    println!("  details for scripts: {}", dir.join("demo.json").display());
    println!("Press Ctrl-C to stop.");
    tokio::spawn(mashang_http::shutdown_on_signal(running.shutdown.clone()));
    running.wait().await
}
