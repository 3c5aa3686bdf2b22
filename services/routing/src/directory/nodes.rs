//! Grid-tree nodes.

use mashang_db::TenantTx;
use mashang_domain::GridNodeId;
use mashang_domain::grid::NodeKind;

use super::DirectoryError;

/// A node to create.
#[derive(Clone, Debug)]
pub struct NewNode {
    /// Its parent; `None` only for the township root.
    pub parent: Option<GridNodeId>,
    /// Its kind.
    pub kind: NodeKind,
    /// Its code, unique in the tenant.
    pub code: String,
    /// Its name.
    pub name: String,
}

/// Inserts a node in the transaction's tenant.
pub async fn insert_node(tx: &mut TenantTx, node: &NewNode) -> Result<GridNodeId, DirectoryError> {
    let id = GridNodeId::new();
    sqlx::query(
        "INSERT INTO routing.grid_nodes (id, tenant_id, parent_id, kind, code, name) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.as_uuid())
    .bind(tx.tenant().as_uuid())
    .bind(node.parent.map(|p| p.as_uuid()))
    .bind(node.kind.as_str())
    .bind(node.code.trim())
    .bind(node.name.trim())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}
