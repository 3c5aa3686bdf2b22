//! The bus error type.

/// A bus failure.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The broker cannot be reached or refused the operation; try again later.
    #[error("the bus is unavailable: {0}")]
    Unavailable(String),
    /// The broker is of a version or configuration the bus cannot work with.
    #[error("the bus is misconfigured: {0}")]
    Misconfigured(String),
    /// An envelope could not be encoded or decoded.
    #[error("event encoding failed")]
    Encoding(#[from] serde_json::Error),
    /// The database (outbox or inbox) failed.
    #[error("outbox or inbox failed")]
    Db(#[from] mashang_db::DbError),
    /// The event names a township that does not exist: it can never be handled.
    #[error("the event's tenant {0} does not exist")]
    UnknownTenant(uuid::Uuid),
}

impl From<sqlx::Error> for BusError {
    fn from(err: sqlx::Error) -> Self {
        Self::Db(err.into())
    }
}
