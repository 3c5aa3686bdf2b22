//! Transactions: tenant-scoped, global, and the named cross-tenant system scopes.

use std::ops::{Deref, DerefMut};

use mashang_domain::TenantId;
use sqlx::{PgConnection, Postgres, Transaction};

use crate::error::DbError;

/// A transaction in which only one tenant's rows exist. Deref to the connection to
/// run queries; [`TenantTx::commit`] once at the end. Dropped without commit, it rolls back.
#[derive(Debug)]
pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    tenant: TenantId,
}

impl TenantTx {
    pub(crate) fn new(tx: Transaction<'static, Postgres>, tenant: TenantId) -> Self {
        Self { tx, tenant }
    }

    /// The tenant this transaction is scoped to; bind it in queries as well, so
    /// row-level security is the net under the filter, not the filter.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), DbError> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl Deref for TenantTx {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.tx
    }
}

impl DerefMut for TenantTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}

/// A transaction with no tenant set: global tables only, or a system scope.
#[derive(Debug)]
pub struct GlobalTx {
    tx: Transaction<'static, Postgres>,
}

impl GlobalTx {
    pub(crate) fn new(tx: Transaction<'static, Postgres>) -> Self {
        Self { tx }
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), DbError> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl Deref for GlobalTx {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.tx
    }
}

impl DerefMut for GlobalTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}

/// The cross-tenant workers, each allowed past tenant isolation on its own tables
/// only, by a policy in the migrations that checks its setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemScope {
    /// The outbox relay: reads and marks every tenant's unpublished events.
    OutboxRelay,
    /// The county centre's read of every township's figures (analytics tables only).
    CountyRead,
    /// Intake's housekeeping: orphan uploads and expired idempotency keys.
    IntakeHousekeeping,
    /// Routing's timer scheduler: takes due timers of every tenant.
    TimerScheduler,
    /// Parked events of every tenant: the consumers park and replay them, the
    /// operator lists them and asks for a replay.
    DeadLetters,
    /// Notification's sender: claims due deliveries of every tenant.
    DeliverySender,
}

impl SystemScope {
    pub(crate) fn setting(self) -> &'static str {
        match self {
            Self::OutboxRelay => "app.outbox_relay",
            Self::CountyRead => "app.county_read",
            Self::IntakeHousekeeping => "app.intake_housekeeping",
            Self::TimerScheduler => "app.timer_scheduler",
            Self::DeadLetters => "app.dead_letters",
            Self::DeliverySender => "app.delivery_sender",
        }
    }
}
