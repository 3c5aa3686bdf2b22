//! The directory: tenants, grid nodes, staff and their roles, categories, QR codes.
//! Used by the operator's commands, the demo seed and (later) the admin API.

pub mod categories;
pub mod county;
pub mod import;
pub mod nodes;
pub mod qr;
pub mod staff;
pub mod tenants;

/// A directory operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// Input refused, with the reason.
    #[error("{0}")]
    Invalid(String),
    /// A unique value is taken (`tenants_code_key`, `grid_nodes_code_key`, …).
    #[error("already exists: {0}")]
    Duplicate(String),
    /// A referenced object does not exist in this tenant.
    #[error("not found: {0}")]
    NotFound(String),
    /// The database failed.
    #[error("database error")]
    Db(#[from] mashang_db::DbError),
}

impl From<sqlx::Error> for DirectoryError {
    fn from(err: sqlx::Error) -> Self {
        match mashang_db::constraint_name(&err) {
            Some(name) if name.ends_with("_key") => Self::Duplicate(name.to_owned()),
            Some(name) if name.ends_with("_fkey") => Self::NotFound(name.to_owned()),
            Some(name) => Self::Invalid(format!("violates {name}")),
            None => Self::Db(err.into()),
        }
    }
}
