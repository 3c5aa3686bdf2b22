//! Claiming due timers across tenants with a short lease.

use std::time::Duration;

use mashang_db::GlobalTx;
use mashang_domain::TenantId;
use uuid::Uuid;

/// The claim statement (`$1` batch size, `$2` lease in seconds). Public so the
/// benchmark and the tests can show its plan: it must read the partial index
/// `timers_due` and touch only due rows, however many are pending.
///
/// The inner `SELECT` walks `timers_due` from the oldest due time and stops at `now()`
/// or after `$1` rows; rows another replica holds locked are skipped, rows another
/// replica leased are filtered out until the lease runs out.
pub const CLAIM_SQL: &str = "\
UPDATE routing.timers SET lease_until = now() + make_interval(secs => $2) \
WHERE id IN ( \
    SELECT id FROM routing.timers \
    WHERE fired_at IS NULL AND due_at <= now() \
      AND (lease_until IS NULL OR lease_until < now()) \
    ORDER BY due_at \
    LIMIT $1 \
    FOR UPDATE SKIP LOCKED) \
RETURNING id, tenant_id, due_at";

/// A claimed timer: what the fire step needs to find it again in its tenant.
#[derive(Clone, Copy, Debug)]
pub(super) struct Claimed {
    pub id: Uuid,
    pub tenant: TenantId,
    pub due_at: chrono::DateTime<chrono::Utc>,
}

/// Leases up to `batch` due timers of every tenant, oldest first. `tx` must be a
/// [`mashang_db::SystemScope::TimerScheduler`] transaction.
pub(super) async fn claim(
    tx: &mut GlobalTx,
    batch: i64,
    lease: Duration,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let rows: Vec<(Uuid, Uuid, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(CLAIM_SQL)
        .bind(batch)
        .bind(lease.as_secs_f64())
        .fetch_all(&mut **tx)
        .await?;
    let mut claimed: Vec<Claimed> = rows
        .into_iter()
        .map(|(id, tenant, due_at)| Claimed {
            id,
            tenant: TenantId::from_uuid(tenant),
            due_at,
        })
        .collect();
    // RETURNING follows the update's order, not the subquery's: fire oldest first.
    claimed.sort_by_key(|c| c.due_at);
    Ok(claimed)
}

/// Seconds until the next pending timer that is not yet due (NULL: none), read from
/// the front of `timers_due` with one index probe. Public for the benchmark's plans.
pub const NEXT_DUE_SQL: &str = "\
SELECT extract(epoch FROM min(due_at) - clock_timestamp())::float8 \
FROM routing.timers WHERE fired_at IS NULL AND due_at > now()";

/// How long until the next pending timer that is not yet due; `None` when nothing is
/// pending.
pub(super) async fn next_due(tx: &mut GlobalTx) -> Result<Option<Duration>, sqlx::Error> {
    let (secs,): (Option<f64>,) = sqlx::query_as(NEXT_DUE_SQL).fetch_one(&mut **tx).await?;
    // Wake a hair after the due time, so the claim's now() has passed it. A due time
    // of 'infinity' (or one past Duration's range) means no wake-up before the poll.
    Ok(secs
        .and_then(|s| Duration::try_from_secs_f64(s.max(0.0)).ok())
        .map(|d| d + Duration::from_millis(2)))
}
