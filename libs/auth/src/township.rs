//! The name of a person's township, for the staff header of every service's pages.
//! Read from the directory (routing's tenants), which every service may read.

use mashang_db::Db;
use mashang_domain::TenantId;

use crate::error::AuthError;

/// The name of `tenant` (草滩镇).
pub async fn township_name(db: &Db, tenant: TenantId) -> Result<String, AuthError> {
    let mut tx = db.tenant(tenant).await?;
    let (name,): (String,) = sqlx::query_as("SELECT name FROM routing.tenants WHERE id = $1")
        .bind(tenant.as_uuid())
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(name)
}
