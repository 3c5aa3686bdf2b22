//! PostgreSQL access for every service.
//!
//! The services reach tenant data only through [`Db::tenant`], which opens a
//! transaction with `app.tenant_id` set for that transaction alone; row-level security
//! does the rest. Lookups that happen before the tenant is known use [`Db::global`],
//! which sets no tenant and so sees no tenant rows. The few cross-tenant system
//! workers (outbox relay, timer scheduler, county figures) use [`Db::system`] with a
//! named [`SystemScope`].

pub mod actor;
mod error;
mod migrate;
mod pool;
#[cfg(feature = "testing")]
pub mod testing;
mod tx;

pub use error::{DbError, constraint_name, is_unavailable};
pub use migrate::{AppRole, migrate, migrator, prepare_app_role};
pub use pool::{Db, DbConfig};
pub use pool::{RoleCheck, StatementLimits};
pub use tx::{GlobalTx, SystemScope, TenantTx};

/// The PostgreSQL connection type, re-exported so services name one thing.
pub type PgConnection = sqlx::PgConnection;
