//! Tenants (townships).

use mashang_db::{Db, TenantTx};
use mashang_domain::tenant::TenantStatus;
use mashang_domain::{GridNodeId, TenantCode, TenantId};

use super::DirectoryError;
use super::categories::insert_defaults;
use super::nodes::{NewNode, insert_node};
use mashang_domain::grid::NodeKind;

/// A tenant as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Its short code.
    pub code: TenantCode,
    /// Its name (草滩镇).
    pub name: String,
    /// IANA time zone for calendars and reports.
    pub time_zone: String,
    /// In service or suspended.
    pub status: TenantStatus,
}

/// A tenant and the root node of its grid tree.
#[derive(Clone, Debug)]
pub struct CreatedTenant {
    /// The tenant.
    pub tenant: Tenant,
    /// Its township node.
    pub root: GridNodeId,
}

/// Creates a tenant with its township root node and default categories, in one
/// transaction.
pub async fn create_tenant(
    db: &Db,
    code: &TenantCode,
    name: &str,
    time_zone: &str,
) -> Result<CreatedTenant, DirectoryError> {
    let mut tx = db.tenant(TenantId::new()).await?;
    let created = create_tenant_in(&mut tx, code, name, time_zone).await?;
    tx.commit().await?;
    Ok(created)
}

/// Creates the transaction's tenant (a new id) with its township root node and default
/// categories; the caller may add more (its first administrator) before committing.
pub async fn create_tenant_in(
    tx: &mut TenantTx,
    code: &TenantCode,
    name: &str,
    time_zone: &str,
) -> Result<CreatedTenant, DirectoryError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DirectoryError::Invalid(
            "a tenant name is 1 to 100 characters".into(),
        ));
    }
    if time_zone.parse::<chrono_tz::Tz>().is_err() {
        return Err(DirectoryError::Invalid(format!(
            "{time_zone} is not an IANA time zone"
        )));
    }
    let id = tx.tenant();
    sqlx::query("INSERT INTO routing.tenants (id, code, name, time_zone) VALUES ($1, $2, $3, $4)")
        .bind(id.as_uuid())
        .bind(code.as_str())
        .bind(name)
        .bind(time_zone)
        .execute(&mut **tx)
        .await?;
    let root = insert_node(
        tx,
        &NewNode {
            parent: None,
            kind: NodeKind::Township,
            code: code.as_str().to_owned(),
            name: name.to_owned(),
        },
    )
    .await?;
    insert_defaults(tx).await?;
    sqlx::query("SELECT routing.add_default_reply_templates()")
        .execute(&mut **tx)
        .await?;
    Ok(CreatedTenant {
        tenant: Tenant {
            id,
            code: code.clone(),
            name: name.to_owned(),
            time_zone: time_zone.to_owned(),
            status: TenantStatus::Active,
        },
        root,
    })
}

/// Finds a tenant by code (global lookup).
pub async fn tenant_by_code(db: &Db, code: &TenantCode) -> Result<Option<Tenant>, DirectoryError> {
    let mut tx = db.global().await?;
    let row: Option<(uuid::Uuid, String, String, String, String)> = sqlx::query_as(
        "SELECT id, code, name, time_zone, status FROM routing.tenants WHERE code = $1",
    )
    .bind(code.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    row.map(|(id, code, name, time_zone, status)| {
        Ok(Tenant {
            id: TenantId::from_uuid(id),
            code: TenantCode::parse(&code)
                .map_err(|e| DirectoryError::Invalid(format!("stored tenant code: {e}")))?,
            name,
            time_zone,
            status: TenantStatus::parse(&status)
                .ok_or_else(|| DirectoryError::Invalid(format!("stored tenant status {status}")))?,
        })
    })
    .transpose()
}

/// A tenant as the county lists it.
#[derive(Clone, Debug, serde::Serialize, sqlx::FromRow)]
pub struct TenantRow {
    /// Id.
    pub id: uuid::Uuid,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Time zone.
    pub time_zone: String,
    /// `active` or `suspended`.
    pub status: String,
    /// The township's public contact number.
    pub contact_phone: Option<String>,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Every tenant, by code (global table).
pub async fn list_tenants(db: &Db) -> Result<Vec<TenantRow>, DirectoryError> {
    let mut tx = db.global().await?;
    let rows = sqlx::query_as(
        "SELECT id, code, name, time_zone, status, contact_phone, created_at FROM routing.tenants ORDER BY code",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}

/// Suspends or resumes a tenant. Nothing is deleted; while suspended its citizens see
/// a notice and its staff cannot sign in. Returns the updated row, `None` if unknown.
pub async fn set_status(
    db: &Db,
    code: &TenantCode,
    status: TenantStatus,
) -> Result<Option<TenantRow>, DirectoryError> {
    let mut tx = db.global().await?;
    let row = sqlx::query_as(
        "UPDATE routing.tenants SET status = $2, \
             suspended_at = CASE WHEN $2 = 'suspended' THEN coalesce(suspended_at, now()) ELSE NULL END \
         WHERE code = $1 \
         RETURNING id, code, name, time_zone, status, contact_phone, created_at",
    )
    .bind(code.as_str())
    .bind(status.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// A public contact number as stored: trimmed, 1 to 30 characters.
pub fn check_contact(contact: Option<&str>) -> Result<Option<&str>, DirectoryError> {
    match contact.map(str::trim) {
        Some(c) if c.is_empty() || c.chars().count() > 30 => Err(DirectoryError::Invalid(
            "a contact number is 1 to 30 characters".into(),
        )),
        other => Ok(other),
    }
}

/// Sets the transaction's tenant's public contact number.
pub async fn set_contact_in(
    tx: &mut TenantTx,
    contact: Option<&str>,
) -> Result<(), DirectoryError> {
    let contact = check_contact(contact)?;
    sqlx::query("UPDATE routing.tenants SET contact_phone = $2 WHERE id = $1")
        .bind(tx.tenant().as_uuid())
        .bind(contact)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Sets a tenant's public contact number (shown to citizens on notices).
pub async fn set_contact(
    db: &Db,
    tenant: TenantId,
    contact: Option<&str>,
) -> Result<(), DirectoryError> {
    let contact = check_contact(contact)?;
    let mut tx = db.global().await?;
    sqlx::query("UPDATE routing.tenants SET contact_phone = $2 WHERE id = $1")
        .bind(tenant.as_uuid())
        .bind(contact)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
