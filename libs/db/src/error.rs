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
