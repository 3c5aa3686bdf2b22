//! Intake's housekeeper: makes photo thumbnails, deletes uploads no report claimed
//! within a day (row, then file), deletes stored files no row records (a crash between
//! storing and recording), and forgets throttle counts and idempotency records past
//! their use. Runs every few minutes, in bounded batches; one step failing does not
//! stop the others.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mashang_db::{Db, SystemScope};
use mashang_domain::TenantId;
use mashang_storage::{BlobKey, BlobStore};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long an upload may wait for its report.
pub const ORPHAN_AFTER: Duration = Duration::from_secs(24 * 3600);
/// How old a stored file must be before it is deleted for having no row: well past
/// the seconds between storing a file and recording it.
pub const UNRECORDED_AFTER: Duration = Duration::from_secs(3600);
/// Rows handled per pass.
const BATCH: i64 = 200;
/// Photos thumbnailed per pass.
const THUMBNAIL_BATCH: i64 = 20;
/// Stored objects looked at per pass of the store sweep, over all tenants.
const STORE_BUDGET: usize = 1000;
/// What one listing call costs of that budget, however few objects it returns, so
/// many empty tenants do not mean many calls a pass.
const LIST_CALL_COST: usize = 20;
/// The areas of a tenant's store intake writes to.
const AREAS: [&str; 2] = ["attachments", "thumbnails"];

/// One pass: removes up to a batch of orphan uploads older than `age`; returns how many.
/// The rows go first, in a short transaction (no lock is held while the store is
/// called); a file whose deletion then fails has no row left, and the store sweep
/// ([`StoreSweep`]) removes it later.
pub async fn sweep_orphans(db: &Db, blobs: &dyn BlobStore, age: Duration) -> anyhow::Result<usize> {
    let mut tx = db.system(SystemScope::IntakeHousekeeping).await?;
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "DELETE FROM intake.attachments WHERE id IN ( \
             SELECT id FROM intake.attachments \
             WHERE report_id IS NULL AND created_at < now() - make_interval(secs => $1) \
             ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
         AND report_id IS NULL RETURNING blob_key, thumbnail_key",
    )
    .bind(age.as_secs_f64())
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let count = rows.len();
    // The thumbnail too: the housekeeper makes them for unclaimed photos.
    for key in rows
        .into_iter()
        .flat_map(|(key, thumb)| std::iter::once(key).chain(thumb))
    {
        let Ok(key) = BlobKey::parse(&key) else {
            continue;
        };
        if let Err(err) = blobs.delete(&key).await {
            tracing::warn!(key = %key, error = %mashang_telemetry::error_chain(&err), "could not delete an orphan upload; the store sweep will");
        }
    }
    if count > 0 {
        tracing::info!(count, "orphan uploads deleted");
        metrics::counter!("mashang_orphan_uploads_deleted_total").increment(count as u64);
    }
    Ok(count)
}

/// Deletes stored files that no attachment row records, a bounded page at a time: it
/// remembers where it stopped in each tenant's areas and goes on from there next pass.
#[derive(Debug, Default)]
pub struct StoreSweep {
    cursors: HashMap<(TenantId, &'static str), BlobKey>,
    next_tenant: usize,
}

impl StoreSweep {
    /// One pass: looks at up to a budget of stored objects and deletes those older than
    /// `grace` that no row records; returns how many it deleted.
    pub async fn pass(
        &mut self,
        db: &Db,
        blobs: &dyn BlobStore,
        grace: Duration,
    ) -> anyhow::Result<usize> {
        let tenants = tenants(db).await?;
        let mut budget = STORE_BUDGET;
        let mut deleted = 0;
        let start = self.next_tenant;
        for i in 0..tenants.len() {
            if budget == 0 {
                break;
            }
            let tenant = tenants[(start + i) % tenants.len()];
            // The next pass starts after the last tenant this one reached.
            self.next_tenant = (start + i + 1) % tenants.len();
            for area in AREAS {
                if budget == 0 {
                    // This tenant's other area comes first next pass.
                    self.next_tenant = (start + i) % tenants.len();
                    break;
                }
                let cursor = self.cursors.remove(&(tenant, area));
                let page = blobs.list(tenant, area, cursor.as_ref(), budget).await?;
                budget = budget.saturating_sub(page.objects.len().max(LIST_CALL_COST));
                if let Some(next) = page.next {
                    self.cursors.insert((tenant, area), next);
                }
                let cutoff = SystemTime::now() - grace;
                let old: Vec<String> = page
                    .objects
                    .into_iter()
                    .filter(|o| o.modified.is_some_and(|m| m <= cutoff))
                    .map(|o| o.key.as_str().to_owned())
                    .collect();
                deleted += delete_unrecorded(db, blobs, tenant, old).await?;
            }
        }
        if deleted > 0 {
            tracing::info!(count = deleted, "stored files without a row deleted");
            metrics::counter!("mashang_unrecorded_uploads_deleted_total").increment(deleted as u64);
        }
        Ok(deleted)
    }
}

/// Every tenant, in a stable order.
async fn tenants(db: &Db) -> anyhow::Result<Vec<TenantId>> {
    let mut tx = db.global().await?;
    let ids: Vec<(Uuid,)> = sqlx::query_as("SELECT id FROM routing.tenants ORDER BY id")
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ids
        .into_iter()
        .map(|(id,)| TenantId::from_uuid(id))
        .collect())
}

/// Deletes those of `keys` that no row of `tenant` records as a file or thumbnail.
async fn delete_unrecorded(
    db: &Db,
    blobs: &dyn BlobStore,
    tenant: TenantId,
    keys: Vec<String>,
) -> anyhow::Result<usize> {
    if keys.is_empty() {
        return Ok(0);
    }
    let mut tx = db.tenant(tenant).await?;
    let unrecorded: Vec<(String,)> = sqlx::query_as(
        "SELECT k FROM unnest($2::text[]) AS k WHERE NOT EXISTS ( \
             SELECT 1 FROM intake.attachments a WHERE a.tenant_id = $1 AND a.blob_key = k) \
         AND NOT EXISTS ( \
             SELECT 1 FROM intake.attachments a WHERE a.tenant_id = $1 AND a.thumbnail_key = k)",
    )
    .bind(tenant.as_uuid())
    .bind(&keys)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut deleted = 0;
    for (key,) in unrecorded {
        let Ok(key) = BlobKey::parse(&key) else {
            continue;
        };
        match blobs.delete(&key).await {
            Ok(()) => deleted += 1,
            Err(err) => {
                tracing::warn!(key = %key, error = %mashang_telemetry::error_chain(&err), "could not delete a stored file without a row; will retry");
            }
        }
    }
    Ok(deleted)
}

/// Forgets idempotency records and throttle counts past their use.
pub async fn forget_old_records(db: &Db) -> anyhow::Result<()> {
    let mut tx = db.system(SystemScope::IntakeHousekeeping).await?;
    sqlx::query("DELETE FROM intake.idempotency_keys WHERE created_at < now() - interval '1 day'")
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM intake.upload_counts WHERE hour < now() - interval '2 days'")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let mut global = db.global().await?;
    sqlx::query("DELETE FROM intake.lookup_guesses WHERE hour < now() - interval '2 days'")
        .execute(&mut *global)
        .await?;
    global.commit().await?;
    Ok(())
}

/// Logs a failed step; the pass goes on with the next.
fn report<T>(step: &'static str, outcome: anyhow::Result<T>) -> Option<T> {
    match outcome {
        Ok(value) => Some(value),
        Err(err) => {
            tracing::warn!(step, error = %format!("{err:#}"), "intake housekeeping step failed");
            metrics::counter!("mashang_housekeeping_failures_total", "step" => step).increment(1);
            None
        }
    }
}

/// What one housekeeping pass did; `None` for a step that failed (and was logged).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PassReport {
    /// Photos dealt with by the thumbnailer.
    pub thumbnails: Option<usize>,
    /// Orphan uploads removed.
    pub orphans: Option<usize>,
    /// Stored files without a row removed.
    pub unrecorded: Option<usize>,
    /// Whether old records were forgotten.
    pub forgotten: bool,
}

impl PassReport {
    /// Whether a step had a full batch, so another pass should follow at once.
    fn more(&self) -> bool {
        self.thumbnails == Some(THUMBNAIL_BATCH as usize) || self.orphans == Some(BATCH as usize)
    }
}

/// One housekeeping pass: every step runs, whichever of the others failed.
pub async fn pass(db: &Db, blobs: &dyn BlobStore, store: &mut StoreSweep) -> PassReport {
    let thumbnails = report(
        "thumbnails",
        crate::thumbnails::make_thumbnails(db, blobs, THUMBNAIL_BATCH).await,
    );
    let orphans = report("orphans", sweep_orphans(db, blobs, ORPHAN_AFTER).await);
    let unrecorded = report(
        "unrecorded files",
        store.pass(db, blobs, UNRECORDED_AFTER).await,
    );
    let forgotten = report("old records", forget_old_records(db).await).is_some();
    PassReport {
        thumbnails,
        orphans,
        unrecorded,
        forgotten,
    }
}

/// Runs the housekeeper until `shutdown`.
pub async fn run(db: Db, blobs: Arc<dyn BlobStore>, every: Duration, shutdown: CancellationToken) {
    let mut store = StoreSweep::default();
    loop {
        let done = pass(&db, blobs.as_ref(), &mut store).await;
        if done.more() && !shutdown.is_cancelled() {
            continue;
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
