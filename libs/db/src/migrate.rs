//! Migrations (run as the owner role) and the application role the services use.

use sqlx::migrate::Migrator;
use sqlx::{Connection, PgConnection};

use crate::error::DbError;
use crate::pool::DbConfig;

static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// The embedded, ordered migration set.
pub fn migrator() -> &'static Migrator {
    &MIGRATOR
}

/// The role the services connect as: not superuser, not the owner of any table, no
/// `BYPASSRLS`. `Debug` hides the password.
#[derive(Clone)]
pub struct AppRole {
    /// Role name (`mashang_app`).
    pub name: String,
    /// Its password; `None` leaves an existing password as it is.
    pub password: Option<String>,
}

impl std::fmt::Debug for AppRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppRole")
            .field("name", &self.name)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// The schemas the application role works in.
const SCHEMAS: [&str; 4] = ["routing", "intake", "notification", "analytics"];

/// Applies pending migrations as the owner, then, if asked, creates or updates the
/// application role and grants it what the services need and nothing more.
pub async fn migrate(owner: &DbConfig, app_role: Option<&AppRole>) -> Result<(), DbError> {
    let mut conn = PgConnection::connect_with(&owner.connect_options()?).await?;
    MIGRATOR.run(&mut conn).await?;
    if let Some(role) = app_role {
        ensure_app_role(&mut conn, role).await?;
        grant_app_role(&mut conn, &role.name).await?;
    }
    conn.close().await?;
    Ok(())
}

/// Creates the application role if missing and sets its password if one is given,
/// without migrating or granting anything. Roles belong to the whole cluster.
pub async fn prepare_app_role(owner: &DbConfig, role: &AppRole) -> Result<(), DbError> {
    let mut conn = PgConnection::connect_with(&owner.connect_options()?).await?;
    ensure_app_role(&mut conn, role).await?;
    conn.close().await?;
    Ok(())
}

fn valid_role_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
}

async fn ensure_app_role(conn: &mut PgConnection, role: &AppRole) -> Result<(), DbError> {
    // Identifiers cannot be bound as parameters; the name is restricted to
    // [a-z][a-z0-9_]* above and the password goes through quote_literal in SQL.
    if !valid_role_name(&role.name) {
        return Err(DbError::Config(format!(
            "application role name {:?} must be lowercase letters, digits and _",
            role.name
        )));
    }
    let name = &role.name;
    // Roles are cluster-wide: several databases (or parallel test runs) may race to
    // create the same one, so both "exists" outcomes are fine.
    let create = format!(
        "DO $$ BEGIN \
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') THEN \
             CREATE ROLE {name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS; \
           END IF; \
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; \
         END $$"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(create))
        .execute(&mut *conn)
        .await?;
    // An existing role may have been given more than it should have.
    let attrs: (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1")
            .bind(name)
            .fetch_one(&mut *conn)
            .await?;
    if attrs.0 || attrs.1 {
        return Err(DbError::Config(format!(
            "role {name} is a superuser or has BYPASSRLS; the services must not use such a role"
        )));
    }
    if let Some(password) = &role.password {
        let quoted: (String,) = sqlx::query_as("SELECT quote_literal($1)")
            .bind(password)
            .fetch_one(&mut *conn)
            .await?;
        let alter = format!("ALTER ROLE {name} WITH LOGIN PASSWORD {}", quoted.0);
        sqlx::raw_sql(sqlx::AssertSqlSafe(alter))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Grants the application role what the services need in the current database.
async fn grant_app_role(conn: &mut PgConnection, name: &str) -> Result<(), DbError> {
    if !valid_role_name(name) {
        return Err(DbError::Config(format!(
            "invalid application role name {name:?}"
        )));
    }
    let db: (String,) = sqlx::query_as("SELECT quote_ident(current_database())")
        .fetch_one(&mut *conn)
        .await?;
    let mut grants = format!("GRANT CONNECT ON DATABASE {} TO {name};", db.0);
    for schema in SCHEMAS {
        grants.push_str(&format!(
            "GRANT USAGE ON SCHEMA {schema} TO {name};\
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {name};\
             GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {name};"
        ));
    }
    // The change log is written only by its trigger (as the owner); the services read it.
    grants.push_str(&format!(
        "REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {APPEND_ONLY} FROM {name};"
    ));
    sqlx::raw_sql(sqlx::AssertSqlSafe(grants))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The table the application role may only read.
const APPEND_ONLY: &str = "routing.change_log";

#[cfg(test)]
mod tests {
    use super::valid_role_name;

    #[test]
    fn role_names_are_plain_identifiers() {
        assert!(valid_role_name("mashang_app"));
        assert!(!valid_role_name("Mashang"));
        assert!(!valid_role_name("app; DROP TABLE x"));
        assert!(!valid_role_name("1app"));
        assert!(!valid_role_name(""));
    }
}
