//! Staff users and their roles.

use mashang_db::TenantTx;
use mashang_domain::role::Role;
use mashang_domain::{GridNodeId, PhoneNumber, UserId};

use super::DirectoryError;

/// Inserts a staff user in the transaction's tenant.
pub async fn insert_user(
    tx: &mut TenantTx,
    name: &str,
    phone: &PhoneNumber,
) -> Result<UserId, DirectoryError> {
    let id = UserId::new();
    sqlx::query(
        "INSERT INTO routing.staff_users (id, tenant_id, name, phone) VALUES ($1, $2, $3, $4)",
    )
    .bind(id.as_uuid())
    .bind(tx.tenant().as_uuid())
    .bind(name.trim())
    .bind(phone.expose())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Gives a user a tenant role at a node.
pub async fn grant_role(
    tx: &mut TenantTx,
    user: UserId,
    role: Role,
    node: GridNodeId,
) -> Result<(), DirectoryError> {
    if role.is_county() {
        return Err(DirectoryError::Invalid(format!(
            "{} is a county role, not held at a township node",
            role.as_str()
        )));
    }
    sqlx::query(
        "INSERT INTO routing.staff_roles (tenant_id, user_id, role, node_id) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(tx.tenant().as_uuid())
    .bind(user.as_uuid())
    .bind(role.as_str())
    .bind(node.as_uuid())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
