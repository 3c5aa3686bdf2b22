//! The timer scheduler: fires the due timers of every tenant, once each, on time.
//!
//! Every routing replica runs it. A pass has two steps:
//!
//! 1. **Claim.** One statement in a [`SystemScope::TimerScheduler`] transaction,
//!    committed at once, puts a short lease on up to `batch` due, unfired, unleased
//!    timers (oldest first, `FOR UPDATE SKIP LOCKED`), so that replicas polling
//!    together take different timers. It reads through the partial index `timers_due`,
//!    so its cost follows the number of timers due, not the number pending.
//! 2. **Fire.** Grouped by tenant and cut into chunks, each chunk runs in one
//!    [`Db::tenant`] transaction: mark the timers fired (`fired_at IS NULL` in the
//!    `WHERE`), hand only the rows really marked to the [`Firer`], put back the ones it
//!    wants later, commit. Chunks run `concurrency` at a time.
//!
//! # What "exactly once" rests on
//!
//! - The mark and the firer's effects are written in the **same transaction**: either
//!   both commit or neither does. A crash, an error or a panic before the commit leaves
//!   the timer unfired, and once its lease runs out another pass takes it again.
//! - The mark is `UPDATE … SET fired_at = now() WHERE … AND fired_at IS NULL`. Two
//!   transactions marking the same timer serialise on its row lock; under READ
//!   COMMITTED the second re-checks the row after the first commits, finds `fired_at`
//!   set and marks nothing, so its firer never sees that timer.
//! - The lease is only there to spare duplicate work; correctness does not depend on
//!   it. If a lease runs out while its pass is still firing (a very slow firer), a
//!   second replica may claim the timer, but its mark waits on the first and then skips.
//! - A timer deleted or replaced meanwhile (a case action rewrote its timers) is simply
//!   not marked; the mark also requires `due_at <= now()`, so a timer moved later
//!   between claim and mark is not fired early.
//!
//! "Once" covers what the firer writes through the transaction it is given (including
//! outbox events). Anything it does outside that transaction — a direct HTTP call, an
//! SMS — may happen again after a rollback, and must be idempotent or go through the
//! outbox. (Under REPEATABLE READ or SERIALIZABLE the losing mark would fail with a
//! serialisation error instead of marking nothing: still once, but logged as a failure.)
//!
//! # Timing and failures
//!
//! After a pass that did not fill its batch the scheduler sleeps until the next pending
//! timer falls due (read from the front of `timers_due`), or `poll_interval`, whichever
//! is sooner; a full batch is followed by another pass at once. A chunk that fails is
//! rolled back and logged, then its timers are tried one per transaction, so one timer
//! that cannot fire holds back no other; what still fails waits for its lease.
//!
//! # Metrics
//!
//! `mashang_timers_fired_total`, `mashang_timers_rescheduled_total` (put back by the
//! firer), `mashang_timer_fire_failures_total` (chunks or single timers that failed,
//! panics included) and the histogram `mashang_timer_lateness_seconds`: the marking
//! transaction's start minus the due time, both by the database's clock.

mod claim;
mod fire;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mashang_db::{Db, SystemScope, TenantTx};
use mashang_domain::{CaseId, TenantId};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use claim::{CLAIM_SQL, NEXT_DUE_SQL};

/// A due timer, as the firer receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueTimer {
    /// The timer's row id.
    pub id: Uuid,
    /// Its tenant (the transaction's).
    pub tenant: TenantId,
    /// The case it times.
    pub case: CaseId,
    /// The SLA target it belongs to (`first_response`, `resolution`, …), if any.
    pub target: Option<String>,
    /// The point on that target (a reminder percentage, the breach), if any.
    pub point: Option<String>,
    /// What it is, e.g. `resolution:breach`.
    pub kind: String,
    /// When it was due.
    pub due_at: DateTime<Utc>,
    /// The case's version when the timer was written, to notice a stale timer.
    pub case_version: i64,
}

/// What a timer does when it fires.
#[async_trait]
pub trait Firer: Send + Sync + 'static {
    /// Fires `timers` (all of the transaction's tenant, already marked fired in `tx`).
    /// Returns the timers to put back unfired with a new due time. An error rolls the
    /// whole chunk back; its timers are taken again once their lease runs out.
    async fn fire(
        &self,
        tx: &mut TenantTx,
        timers: &[DueTimer],
    ) -> anyhow::Result<Vec<(Uuid, DateTime<Utc>)>>;
}

/// Scheduler settings.
#[derive(Clone, Copy, Debug)]
pub struct SchedulerConfig {
    /// Longest wait between polls. The scheduler also wakes when the next pending timer
    /// falls due, so this only bounds how late a newly written, sooner timer is seen.
    pub poll_interval: Duration,
    /// Timers claimed per poll; a full batch is followed by another poll at once.
    pub batch: i64,
    /// How long a claim holds its timers before another pass may take them: the retry
    /// delay after a failure or a crash.
    pub lease: Duration,
    /// Tenant transactions firing at once. Each holds a pooled connection.
    pub concurrency: usize,
    /// Most timers fired in one tenant transaction.
    pub chunk: usize,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            batch: 2000,
            lease: Duration::from_secs(30),
            concurrency: 4,
            chunk: 200,
        }
    }
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default)]
struct Pass {
    /// Timers claimed.
    claimed: usize,
    /// Timers fired and committed (not counting those put back).
    fired: usize,
    /// Whether the claim filled the batch, so more may be due.
    full: bool,
    /// How long until the next pending timer falls due, if there is one.
    next_due: Option<Duration>,
}

/// Shortest wait between two polls that found nothing more, so a dense stream of
/// timers is taken a few at a time rather than one poll per timer.
const MIN_WAIT: Duration = Duration::from_millis(10);

/// One pass: claims a batch of due timers and fires it. Returns how many fired (timers
/// the firer put back are not counted). Fails only if the claim fails; a chunk whose
/// firing fails is logged and left to its lease.
pub async fn tick(
    db: &Db,
    firer: &Arc<dyn Firer>,
    config: &SchedulerConfig,
) -> anyhow::Result<usize> {
    Ok(pass(db, firer, config).await?.fired)
}

async fn pass(db: &Db, firer: &Arc<dyn Firer>, config: &SchedulerConfig) -> anyhow::Result<Pass> {
    let batch = config.batch.max(1);
    let mut tx = db.system(SystemScope::TimerScheduler).await?;
    let claimed = claim::claim(&mut tx, batch, config.lease).await?;
    let next_due = claim::next_due(&mut tx).await?;
    tx.commit().await?;
    let full = claimed.len() as i64 >= batch;
    let count = claimed.len();
    let fired = fire::fire_all(db, firer, config, claimed).await;
    Ok(Pass {
        claimed: count,
        fired,
        full,
        next_due,
    })
}

/// Runs the scheduler until `shutdown`, which it honours between passes: a batch in
/// hand is fired before it stops.
pub async fn run(
    db: Db,
    firer: Arc<dyn Firer>,
    config: SchedulerConfig,
    shutdown: CancellationToken,
) {
    while !shutdown.is_cancelled() {
        let wait = match pass(&db, &firer, &config).await {
            Ok(Pass { full: true, .. }) => continue,
            Ok(done) => {
                tracing::trace!(claimed = done.claimed, fired = done.fired, "timer pass");
                done.next_due
                    .map_or(config.poll_interval, |d| d.min(config.poll_interval))
                    .max(MIN_WAIT)
            }
            Err(err) => {
                let err: &(dyn std::error::Error + 'static) = err.as_ref();
                tracing::warn!(error = %mashang_telemetry::error_chain(err), "timer scheduler could not claim timers; will retry");
                config.poll_interval
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
        }
    }
    tracing::debug!("timer scheduler stopped");
}
