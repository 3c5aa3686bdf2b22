//! The database error type.

/// A database failure, with its cause kept for the log.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A query or connection failed.
    #[error("database error")]
    Sqlx(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A configuration value is unusable.
    #[error("invalid database configuration: {0}")]
    Config(String),
}

/// The name of the constraint a database error violated, if it is such an error.
/// Lets callers map a named constraint to a 409 or 422 in one place.
pub fn constraint_name(err: &sqlx::Error) -> Option<&str> {
    match err {
        sqlx::Error::Database(db) => db.constraint(),
        _ => None,
    }
}

impl DbError {
    /// Whether the failure is the database being out of reach or too slow (down,
    /// restarting, pool exhausted, a statement or lock wait over its time limit)
    /// rather than a defect: worth a 503 and a retry, not a 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Sqlx(err) => is_unavailable(err),
            _ => false,
        }
    }
}

/// Whether `err` means the database is out of reach or too slow right now; see
/// [`DbError::is_unavailable`].
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 57P01–57P03: admin shutdown, crash shutdown,
            // cannot connect now (starting up); 57014: statement cancelled (its time
            // limit); 55P03: lock not available (lock_timeout); 53300: too many
            // connections; 40001/40P01: serialization failure, deadlock (retry).
            code.starts_with("08")
                || matches!(
                    code.as_ref(),
                    "57P01" | "57P02" | "57P03" | "57014" | "55P03" | "53300" | "40001" | "40P01"
                )
        }),
        _ => false,
    }
}
