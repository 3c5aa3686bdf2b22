//! Fresh databases for tests: created and migrated as the cluster's superuser (the
//! owner), used by the services as the application role, so row-level security is
//! really in force. Each test gets its own database.
//!
//! `MASHANG_TEST_DATABASE_URL` names a superuser connection to the cluster
//! (default `postgres://postgres@127.0.0.1:5432/postgres`).

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

use crate::migrate::{AppRole, migrate, prepare_app_role};
use crate::pool::{Db, DbConfig};

/// The application role every test database grants to.
pub const TEST_APP_ROLE: &str = "mashang_app";
/// Its password (tests only; the cluster may use password authentication).
pub const TEST_APP_PASSWORD: &str = "mashang_app_test";
/// Prefix of every test database's name, so stale ones can be found and dropped.
pub const TEST_DB_PREFIX: &str = "mashang_t_";

/// The superuser URL of the test cluster.
pub fn admin_url() -> String {
    std::env::var("MASHANG_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A freshly created and migrated database.
#[derive(Debug)]
pub struct TestDatabase {
    /// The database's name.
    pub name: String,
    /// Connection URL for the owner (superuser): fixtures and inspection only.
    pub owner_url: String,
    /// Connection URL for the application role: what the services use.
    pub app_url: String,
    /// A pool connected as the application role.
    pub db: Db,
}

impl TestDatabase {
    /// Creates, migrates and grants a new database. Panics with a clear message when
    /// the test cluster is unreachable: the test script provides one.
    pub async fn create() -> Self {
        Self::create_in(&admin_url()).await
    }

    /// As [`TestDatabase::create`], in the cluster that the superuser URL `admin_url`
    /// reaches (a private cluster a test may restart).
    pub async fn create_in(admin_url: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let admin: PgConnectOptions = admin_url
            .parse()
            .expect("MASHANG_TEST_DATABASE_URL must be a postgres:// URL");
        let name = format!(
            "{TEST_DB_PREFIX}{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            uuid::Uuid::new_v4()
                .simple()
                .to_string()
                .get(..8)
                .unwrap_or("x"),
        );
        let mut conn = PgConnection::connect_with(&admin)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot reach the test PostgreSQL at MASHANG_TEST_DATABASE_URL ({e}); \
                 run the suite with infra/test, which starts one"
                )
            });
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("creating a test database");
        conn.close().await.ok();

        let owner_url = admin.clone().database(&name).to_url_lossy().to_string();
        // The role belongs to the cluster: set it up once per process and cluster, so
        // parallel tests do not update its catalogue row concurrently.
        static ROLES: tokio::sync::Mutex<Vec<String>> = tokio::sync::Mutex::const_new(Vec::new());
        {
            let mut prepared = ROLES.lock().await;
            if !prepared.iter().any(|url| url == admin_url) {
                let role = AppRole {
                    name: TEST_APP_ROLE.to_owned(),
                    password: Some(TEST_APP_PASSWORD.to_owned()),
                };
                prepare_app_role(&DbConfig::new(admin_url), &role)
                    .await
                    .expect("preparing the application role");
                prepared.push(admin_url.to_owned());
            }
        }
        let role = AppRole {
            name: TEST_APP_ROLE.to_owned(),
            password: None,
        };
        migrate(&DbConfig::new(owner_url.clone()), Some(&role))
            .await
            .expect("migrating the test database");
        let app_url = admin
            .database(&name)
            .username(TEST_APP_ROLE)
            .password(TEST_APP_PASSWORD)
            .to_url_lossy()
            .to_string();
        let mut config = DbConfig::new(app_url.clone());
        config.max_connections = 8;
        let db = Db::connect(&config)
            .await
            .expect("connecting as the application role");
        Self {
            name,
            owner_url,
            app_url,
            db,
        }
    }

    /// A connection as the owner (superuser), which bypasses row-level security:
    /// for arranging fixtures and checking what was stored, never for the code under test.
    pub async fn owner(&self) -> PgConnection {
        let opts: PgConnectOptions = self.owner_url.parse().expect("owner URL parses");
        PgConnection::connect_with(&opts)
            .await
            .expect("connecting as the owner")
    }
}
