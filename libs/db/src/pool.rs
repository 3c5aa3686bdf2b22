//! The connection pool.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use mashang_domain::TenantId;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{Connection, PgPool, Postgres, Transaction};

use crate::error::DbError;
use crate::tx::{GlobalTx, SystemScope, TenantTx};

/// How to connect. `Debug` never prints the URL, which may carry a password.
#[derive(Clone)]
pub struct DbConfig {
    /// `postgres://user:password@host:port/database`.
    pub url: String,
    /// Upper bound on open connections from this process.
    pub max_connections: u32,
    /// How long a request waits for a free connection before failing.
    pub acquire_timeout: Duration,
    /// Time limits set on every pooled connection.
    pub limits: StatementLimits,
}

/// Time limits the server enforces on each pooled connection, so a slow or stuck
/// database produces an error (a 503 to the client) instead of a hung worker.
/// Migrations do not use them: an index build may rightly take minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatementLimits {
    /// `statement_timeout`: longest run of one statement.
    pub statement: Duration,
    /// `lock_timeout`: longest wait for one lock.
    pub lock: Duration,
    /// `idle_in_transaction_session_timeout`: a transaction left idle this long is
    /// ended by the server, so a stalled client cannot hold row locks.
    pub idle_in_transaction: Duration,
}

impl Default for StatementLimits {
    fn default() -> Self {
        Self {
            statement: Duration::from_secs(15),
            lock: Duration::from_secs(5),
            idle_in_transaction: Duration::from_secs(60),
        }
    }
}

impl StatementLimits {
    fn settings(&self) -> [(&'static str, String); 3] {
        let ms = |d: Duration| d.as_millis().max(1).to_string();
        [
            ("statement_timeout", ms(self.statement)),
            ("lock_timeout", ms(self.lock)),
            (
                "idle_in_transaction_session_timeout",
                ms(self.idle_in_transaction),
            ),
        ]
    }
}

impl fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbConfig")
            .field("url", &"[redacted]")
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("limits", &self.limits)
            .finish()
    }
}

impl DbConfig {
    /// A configuration with the defaults for a service process.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            limits: StatementLimits::default(),
        }
    }

    pub(crate) fn connect_options(&self) -> Result<PgConnectOptions, DbError> {
        PgConnectOptions::from_str(&self.url)
            .map(|o| o.application_name("mashang"))
            .map_err(|e| DbError::Config(format!("database URL: {e}")))
    }
}

/// How long a pooled connection may sit idle before it is checked on acquire.
const IDLE_CHECK_AFTER: Duration = Duration::from_secs(10);

/// The database handle shared by a process's services. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: PgPool,
    /// For listeners, which hold a connection of their own (the options carry the
    /// password: never printed).
    options: PgConnectOptions,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl Db {
    /// Connects lazily: the process starts even when the database is down, and
    /// readiness reports it until it is back.
    pub fn connect_lazy(config: &DbConfig) -> Result<Self, DbError> {
        let options = config.connect_options()?.options(config.limits.settings());
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(config.acquire_timeout)
            // A connection in steady use is known to work; one that sat idle (the
            // database may have restarted meanwhile) is checked before it is handed
            // out. Checking every one would cost a round trip per transaction.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= IDLE_CHECK_AFTER {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_lazy_with(options.clone());
        Ok(Self { pool, options })
    }

    /// Connects and checks the connection at once.
    pub async fn connect(config: &DbConfig) -> Result<Self, DbError> {
        let db = Self::connect_lazy(config)?;
        db.ping().await?;
        Ok(db)
    }

    /// Opens a transaction scoped to one tenant: `app.tenant_id` is set for this
    /// transaction only, so a pooled connection never carries it to the next user.
    pub async fn tenant(&self, tenant: TenantId) -> Result<TenantTx, DbError> {
        // One round trip: BEGIN and the setting as one simple query. The id is a UUID
        // in its hyphenated form (hex digits and dashes only), never text from a client.
        // The request's actor, if any, for the change log (also a fixed word and a UUID).
        let begin = format!(
            "BEGIN; SELECT set_config('app.tenant_id', '{}', true){}",
            tenant.as_uuid().hyphenated(),
            crate::actor::set_statement()
        );
        let tx = self.pool.begin_with(sqlx::AssertSqlSafe(begin)).await?;
        Ok(TenantTx::new(tx, tenant))
    }

    /// Runs one statement in a transaction of `tenant`'s own, sent together with the
    /// tenant setting as a single message, so the server runs and commits it without
    /// waiting for the client in between: for a short update of a hot row (a counter),
    /// whose lock is then held for no round trip at all. Returns the statement's rows.
    ///
    /// The statement has no parameters: any value in it must come from a typed value
    /// whose text cannot hold SQL (a UUID, a date, a number), never from a client.
    pub async fn tenant_one_trip(
        &self,
        tenant: TenantId,
        statement: &str,
    ) -> Result<Vec<sqlx::postgres::PgRow>, DbError> {
        // Several statements in one simple query run as one implicit transaction: the
        // setting lasts exactly as long as the statement, and an error rolls it back.
        let sql = format!(
            "SELECT set_config('app.tenant_id', '{}', true); {statement}",
            tenant.as_uuid().hyphenated()
        );
        let mut rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        // The first row is the setting's own.
        if !rows.is_empty() {
            rows.remove(0);
        }
        Ok(rows)
    }

    /// Runs one query as a transaction of its own with no tenant set, in one round
    /// trip, and returns its row if any: for a look-up before the tenant is known that
    /// needs nothing around it, such as a function that finds the tenant itself and
    /// scopes the rest of its statement to it (its setting ends with the statement).
    pub async fn global_one_trip<'q, T>(
        &self,
        query: sqlx::query::QueryAs<'q, Postgres, T, sqlx::postgres::PgArguments>,
    ) -> Result<Option<T>, DbError>
    where
        T: Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        Ok(query.fetch_optional(&self.pool).await?)
    }

    /// Opens a transaction with no tenant: for the global tables (tenants, QR token
    /// and tracking-number lookups). Tenant tables show no rows in it.
    pub async fn global(&self) -> Result<GlobalTx, DbError> {
        let actor = crate::actor::set_statement();
        let tx = if actor.is_empty() {
            self.pool.begin().await?
        } else {
            let begin = format!("BEGIN{actor}");
            self.pool.begin_with(sqlx::AssertSqlSafe(begin)).await?
        };
        Ok(GlobalTx::new(tx))
    }

    /// Opens a cross-tenant transaction for one named system worker.
    pub async fn system(&self, scope: SystemScope) -> Result<GlobalTx, DbError> {
        let mut tx: Transaction<'static, Postgres> = self.pool.begin().await?;
        sqlx::query("SELECT set_config($1, 'on', true)")
            .bind(scope.setting())
            .execute(&mut *tx)
            .await?;
        Ok(GlobalTx::new(tx))
    }

    /// What the connected role may do that would defeat row-level security.
    pub async fn check_role(&self) -> Result<RoleCheck, DbError> {
        let (name, superuser, bypass_rls, owned_tables): (String, bool, bool, i64) =
            sqlx::query_as(
                "SELECT r.rolname::text, r.rolsuper, r.rolbypassrls, \
               (SELECT count(*) FROM pg_catalog.pg_tables t \
                 WHERE t.schemaname IN ('intake', 'routing', 'notification', 'analytics') \
                   AND pg_catalog.pg_has_role(current_user, t.tableowner, 'MEMBER')) \
             FROM pg_catalog.pg_roles r WHERE r.rolname = current_user",
            )
            .fetch_one(&self.pool)
            .await?;
        Ok(RoleCheck {
            name,
            superuser,
            bypass_rls,
            owned_tables,
        })
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// A listener for `LISTEN/NOTIFY` wake-ups on one channel, on a connection of its
    /// own outside the pool: a listener holds its connection for as long as it runs,
    /// and one taken from the pool would leave that many fewer for transactions (in one
    /// process, the four outbox relays' listeners took four).
    pub async fn listen(&self, channel: &str) -> Result<PgListener, DbError> {
        let own = PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_lazy_with(self.options.clone());
        let mut listener = PgListener::connect_with(&own).await?;
        listener.listen(channel).await?;
        Ok(listener)
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The connected role's powers that matter to tenant isolation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleCheck {
    /// The role's name.
    pub name: String,
    /// A superuser bypasses row-level security.
    pub superuser: bool,
    /// So does a role with `BYPASSRLS`.
    pub bypass_rls: bool,
    /// Tables of the services' schemas the role owns (or belongs to the owner of): an
    /// owner can switch row-level security off.
    pub owned_tables: i64,
}

impl RoleCheck {
    /// Why the services must not run as this role, if they must not.
    pub fn refusal(&self) -> Option<String> {
        let mut why = Vec::new();
        if self.superuser {
            why.push("is a superuser".to_owned());
        }
        if self.bypass_rls {
            why.push("has BYPASSRLS".to_owned());
        }
        if self.owned_tables > 0 {
            why.push(format!(
                "owns {} of the services' tables",
                self.owned_tables
            ));
        }
        (!why.is_empty()).then(|| {
            format!(
                "the database role `{}` {}, so row-level security would not keep townships apart; \
                 set MASHANG_DATABASE_URL (--database-url) to the application role that \
                 `mashang migrate --app-role NAME` creates",
                self.name,
                why.join(" and ")
            )
        })
    }
}
