//! Intake's housekeeper: makes photo thumbnails, deletes uploads no report claimed
//! within a day (file and row), and idempotency records past their use. Runs every few minutes, in bounded batches.

use std::sync::Arc;
use std::time::Duration;

use mashang_db::{Db, SystemScope};
use mashang_storage::{BlobKey, BlobStore};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long an upload may wait for its report.
pub const ORPHAN_AFTER: Duration = Duration::from_secs(24 * 3600);
/// Rows handled per pass.
const BATCH: i64 = 200;

/// One pass: removes up to a batch of orphan uploads older than `age`; returns how many.
pub async fn sweep_orphans(db: &Db, blobs: &dyn BlobStore, age: Duration) -> anyhow::Result<usize> {
    let mut tx = db.system(SystemScope::IntakeHousekeeping).await?;
    let rows: Vec<(Uuid, String, Option<String>)> = sqlx::query_as(
        "SELECT id, blob_key, thumbnail_key FROM intake.attachments \
         WHERE report_id IS NULL AND created_at < now() - make_interval(secs => $1) \
         ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind(age.as_secs_f64())
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    let mut removed = Vec::with_capacity(rows.len());
    'rows: for (id, key, thumbnail) in rows {
        // The files first: a row without a file is harmless, a file without a row is
        // lost. The thumbnail too: the housekeeper makes them for unclaimed photos.
        for key in std::iter::once(key).chain(thumbnail.filter(|t| !t.is_empty())) {
            let Ok(key) = BlobKey::parse(&key) else {
                continue;
            };
            if let Err(err) = blobs.delete(&key).await {
                tracing::warn!(key = %key, error = %mashang_telemetry::error_chain(&err), "could not delete an orphan upload; will retry");
                continue 'rows;
            }
        }
        removed.push(id);
    }
    sqlx::query("DELETE FROM intake.attachments WHERE id = ANY($1) AND report_id IS NULL")
        .bind(&removed)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM intake.idempotency_keys WHERE created_at < now() - interval '1 day'")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if !removed.is_empty() {
        tracing::info!(count = removed.len(), "orphan uploads deleted");
        metrics::counter!("mashang_orphan_uploads_deleted_total").increment(removed.len() as u64);
    }
    Ok(removed.len())
}

/// Runs the housekeeper until `shutdown`.
pub async fn run(db: Db, blobs: Arc<dyn BlobStore>, every: Duration, shutdown: CancellationToken) {
    loop {
        let thumbnails = crate::thumbnails::make_thumbnails(&db, blobs.as_ref(), 20).await;
        let orphans = sweep_orphans(&db, blobs.as_ref(), ORPHAN_AFTER).await;
        match (thumbnails, orphans) {
            (Ok(20), _) | (_, Ok(200)) => continue,
            (Err(err), _) | (_, Err(err)) => {
                tracing::warn!(error = %format!("{err:#}"), "intake housekeeping failed")
            }
            _ => {}
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
