//! Firing claimed timers: one tenant transaction per chunk, a few chunks at a time.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use mashang_db::{Db, DbError, TenantTx};
use mashang_domain::{CaseId, TenantId};
use tokio::task::JoinSet;
use tracing::Instrument;
use uuid::Uuid;

use super::claim::Claimed;
use super::{DueTimer, Firer, SchedulerConfig};

/// Fires `claimed`, grouped by tenant and chunked, `concurrency` chunks at a time.
/// Returns how many fired; failures are logged and left to the lease.
pub(super) async fn fire_all(
    db: &Db,
    firer: &Arc<dyn Firer>,
    config: &SchedulerConfig,
    claimed: Vec<Claimed>,
) -> usize {
    let limit = config.concurrency.max(1);
    // Each chunk runs in its own task, so a panicking firer costs its chunk (rolled
    // back, left to the lease) and not the scheduler. Dropping the set aborts them.
    let mut set = JoinSet::new();
    let mut fired = 0;
    for (tenant, ids) in chunks(claimed, config.chunk.max(1)) {
        while set.len() >= limit {
            fired += joined(set.join_next().await);
        }
        let (db, firer) = (db.clone(), Arc::clone(firer));
        set.spawn(
            async move { fire_isolating(&db, firer.as_ref(), tenant, ids).await }.in_current_span(),
        );
    }
    while let Some(result) = set.join_next().await {
        fired += joined(Some(result));
    }
    fired
}

fn joined(result: Option<Result<usize, tokio::task::JoinError>>) -> usize {
    match result {
        Some(Ok(fired)) => fired,
        Some(Err(err)) => {
            metrics::counter!("mashang_timer_fire_failures_total").increment(1);
            tracing::error!(error = %mashang_telemetry::error_chain(&err), "timer firer panicked; its chunk is retried when the lease runs out");
            0
        }
        None => 0,
    }
}

/// Groups by tenant and cuts into chunks of at most `size`, ordered by each chunk's
/// oldest timer, so tenants take turns and the longest-due go first.
fn chunks(claimed: Vec<Claimed>, size: usize) -> Vec<(TenantId, Vec<Uuid>)> {
    let mut open: HashMap<TenantId, usize> = HashMap::new();
    let mut out: Vec<(TenantId, Vec<Uuid>)> = Vec::new();
    for timer in claimed {
        let slot = match open.get(&timer.tenant) {
            Some(&i) if out[i].1.len() < size => i,
            _ => {
                out.push((timer.tenant, Vec::with_capacity(size)));
                open.insert(timer.tenant, out.len() - 1);
                out.len() - 1
            }
        };
        out[slot].1.push(timer.id);
    }
    out
}

/// Why a chunk did not fire.
#[derive(Debug)]
enum ChunkError {
    /// No transaction could be opened: the database is unreachable or the pool is
    /// exhausted. Trying the timers one by one would not help.
    Begin(DbError),
    /// The firer, or a statement of the chunk's transaction, failed.
    Fire(anyhow::Error),
}

impl From<sqlx::Error> for ChunkError {
    fn from(err: sqlx::Error) -> Self {
        Self::Fire(err.into())
    }
}

impl ChunkError {
    /// Logs the failure with its cause chain; `then` says what happens to the timers.
    fn log(&self, tenant: TenantId, timers: usize, then: &str) {
        metrics::counter!("mashang_timer_fire_failures_total").increment(1);
        let chain = match self {
            Self::Begin(err) => mashang_telemetry::error_chain(err),
            Self::Fire(err) => {
                let err: &(dyn std::error::Error + 'static) = err.as_ref();
                mashang_telemetry::error_chain(err)
            }
        };
        tracing::warn!(tenant_id = %tenant, timers, error = %chain, then, "firing timers failed");
    }
}

const RETRY: &str = "retried when the lease runs out";

/// Fires a chunk; if it fails, fires its timers one per transaction, so one timer that
/// cannot fire does not hold back the others of its chunk for good.
async fn fire_isolating(db: &Db, firer: &dyn Firer, tenant: TenantId, ids: Vec<Uuid>) -> usize {
    let err = match fire_chunk(db, firer, tenant, &ids).await {
        Ok(fired) => return fired,
        Err(err) => err,
    };
    if ids.len() == 1 || matches!(err, ChunkError::Begin(_)) {
        err.log(tenant, ids.len(), RETRY);
        return 0;
    }
    err.log(tenant, ids.len(), "trying them one per transaction");
    let mut fired = 0;
    for id in ids {
        match fire_chunk(db, firer, tenant, &[id]).await {
            Ok(n) => fired += n,
            Err(err) => {
                err.log(tenant, 1, RETRY);
                if matches!(err, ChunkError::Begin(_)) {
                    break;
                }
            }
        }
    }
    fired
}

/// One tenant transaction: mark, fire, put back, commit. Returns how many fired.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant, timers = ids.len()))]
async fn fire_chunk(
    db: &Db,
    firer: &dyn Firer,
    tenant: TenantId,
    ids: &[Uuid],
) -> Result<usize, ChunkError> {
    let mut tx = db.tenant(tenant).await.map_err(ChunkError::Begin)?;
    let (timers, lateness) = mark(&mut tx, ids).await?;
    if timers.is_empty() {
        // Fired by another pass, deleted or moved later since the claim.
        return Ok(0);
    }
    let later = firer
        .fire(&mut tx, &timers)
        .await
        .map_err(ChunkError::Fire)?;
    let marked: HashSet<Uuid> = timers.iter().map(|t| t.id).collect();
    let (later, stray): (Vec<_>, Vec<_>) =
        later.into_iter().partition(|(id, _)| marked.contains(id));
    if !stray.is_empty() {
        tracing::warn!(tenant_id = %tenant, count = stray.len(), "firer asked to put back timers it was not given; ignored");
    }
    let rescheduled = put_back(&mut tx, &later).await?;
    tx.commit().await.map_err(|e| ChunkError::Fire(e.into()))?;

    let back: HashSet<Uuid> = later.iter().map(|(id, _)| *id).collect();
    let mut fired = 0;
    for (timer, late) in timers.iter().zip(lateness) {
        if !back.contains(&timer.id) {
            fired += 1;
            metrics::histogram!("mashang_timer_lateness_seconds").record(late);
        }
    }
    metrics::counter!("mashang_timers_fired_total").increment(fired as u64);
    metrics::counter!("mashang_timers_rescheduled_total").increment(rescheduled);
    Ok(fired)
}

/// A row of the mark's `RETURNING`.
#[derive(sqlx::FromRow)]
struct Marked {
    id: Uuid,
    case_id: Uuid,
    target: Option<String>,
    point: Option<String>,
    kind: String,
    due_at: DateTime<Utc>,
    case_version: i64,
    lateness: f64,
}

/// Marks the still unfired, due timers among `ids` fired in `tx`, oldest first, with
/// each one's lateness in seconds. Only what this returns may be fired.
async fn mark(tx: &mut TenantTx, ids: &[Uuid]) -> Result<(Vec<DueTimer>, Vec<f64>), sqlx::Error> {
    let tenant = tx.tenant();
    let mut rows: Vec<Marked> = sqlx::query_as(
        "UPDATE routing.timers SET fired_at = now() \
         WHERE tenant_id = $1 AND id = ANY($2) AND fired_at IS NULL AND due_at <= now() \
         RETURNING id, case_id, target, point, kind, due_at, case_version, \
                   extract(epoch FROM now() - due_at)::float8 AS lateness",
    )
    .bind(tenant.as_uuid())
    .bind(ids)
    .fetch_all(&mut **tx)
    .await?;
    rows.sort_by_key(|r| (r.due_at, r.id));
    Ok(rows
        .into_iter()
        .map(|r| {
            let timer = DueTimer {
                id: r.id,
                tenant,
                case: CaseId::from_uuid(r.case_id),
                target: r.target,
                point: r.point,
                kind: r.kind,
                due_at: r.due_at,
                case_version: r.case_version,
            };
            (timer, r.lateness)
        })
        .unzip())
}

/// Puts timers back unfired at their new due time, free for any pass to take then.
async fn put_back(tx: &mut TenantTx, later: &[(Uuid, DateTime<Utc>)]) -> Result<u64, sqlx::Error> {
    if later.is_empty() {
        return Ok(0);
    }
    let (ids, due): (Vec<Uuid>, Vec<DateTime<Utc>>) = later.iter().copied().unzip();
    let done = sqlx::query(
        "UPDATE routing.timers t SET fired_at = NULL, due_at = r.due_at, lease_until = NULL \
         FROM unnest($2::uuid[], $3::timestamptz[]) AS r(id, due_at) \
         WHERE t.tenant_id = $1 AND t.id = r.id",
    )
    .bind(tx.tenant().as_uuid())
    .bind(&ids)
    .bind(&due)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}
