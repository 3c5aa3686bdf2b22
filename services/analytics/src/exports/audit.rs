//! The record of the county's exports: each is a county read of analytics, written
//! where every county read is (`analytics.county_reads`: who, what, when) before the
//! first byte is sent.

use mashang_auth::Principal;
use mashang_db::Db;
use mashang_http::ApiError;
use uuid::Uuid;

use super::query::ExportParams;

/// Records that `principal` exported with `params` from `path`.
pub async fn record_county_export(
    db: &Db,
    principal: &Principal,
    path: &str,
    params: &ExportParams,
) -> Result<(), ApiError> {
    let viewer = principal
        .user()
        .ok_or_else(|| ApiError::Forbidden("县级账号 (a county account is needed)".to_owned()))?;
    let mut tx = db.global().await?;
    sqlx::query(
        "INSERT INTO analytics.county_reads (id, viewer_id, path, query) VALUES ($1, $2, $3, $4)",
    )
    .bind(Uuid::now_v7())
    .bind(viewer.as_uuid())
    .bind(path)
    .bind(query_of(params))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The parameters as a query string, bounded to what the record holds.
fn query_of(params: &ExportParams) -> String {
    let pairs = [
        ("from", &params.from),
        ("to", &params.to),
        ("township", &params.township),
        ("node_id", &params.node_id),
        ("category", &params.category),
        ("status", &params.status),
        ("channel", &params.channel),
        ("handler", &params.handler),
        ("encoding", &params.encoding),
    ];
    let mut query: String = pairs
        .iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join("&");
    if query.chars().count() > 1000 {
        query = query.chars().take(1000).collect();
    }
    query
}
