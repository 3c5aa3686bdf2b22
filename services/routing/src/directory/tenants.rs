//! Tenants (townships).

use mashang_db::Db;
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
    let id = TenantId::new();
    let mut tx = db.tenant(id).await?;
    sqlx::query("INSERT INTO routing.tenants (id, code, name, time_zone) VALUES ($1, $2, $3, $4)")
        .bind(id.as_uuid())
        .bind(code.as_str())
        .bind(name)
        .bind(time_zone)
        .execute(&mut *tx)
        .await?;
    let root = insert_node(
        &mut tx,
        &NewNode {
            parent: None,
            kind: NodeKind::Township,
            code: code.as_str().to_owned(),
            name: name.to_owned(),
        },
    )
    .await?;
    insert_defaults(&mut tx).await?;
    tx.commit().await?;
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
