//! Grid-tree nodes: create, rename, move a subtree, deactivate, read the tree.

use mashang_db::TenantTx;
use mashang_domain::GridNodeId;
use mashang_domain::grid::NodeKind;
use serde::Serialize;
use uuid::Uuid;

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

/// A node as the directory shows it.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Node {
    /// Id.
    pub id: Uuid,
    /// Parent (none for the township).
    pub parent_id: Option<Uuid>,
    /// Kind (`village`).
    pub kind: String,
    /// Code, unique in the township.
    pub code: String,
    /// Name.
    pub name: String,
    /// Whether it takes new reports and assignments.
    pub active: bool,
    /// Order among its siblings.
    pub position: i32,
}

fn check(code: &str, name: &str) -> Result<(), DirectoryError> {
    let code = code.trim();
    let name = name.trim();
    if code.is_empty() || code.chars().count() > 64 || code.chars().any(char::is_whitespace) {
        return Err(DirectoryError::Invalid(
            "a node code is 1 to 64 characters without spaces".into(),
        ));
    }
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DirectoryError::Invalid(
            "a node name is 1 to 100 characters".into(),
        ));
    }
    Ok(())
}

/// Inserts a node in the transaction's tenant. Only the township root has no parent,
/// and a township node is only ever the root; no node goes deeper than [`MAX_DEPTH`].
pub async fn insert_node(tx: &mut TenantTx, node: &NewNode) -> Result<GridNodeId, DirectoryError> {
    check(&node.code, &node.name)?;
    if (node.parent.is_none()) != (node.kind == NodeKind::Township) {
        return Err(DirectoryError::Invalid(
            "only the township node is the root, and it has no parent".into(),
        ));
    }
    if let Some(parent) = node.parent {
        lock_tree(tx).await?;
        // The parent's ancestry has its depth + 1 entries; the new node is one below.
        if ancestry(tx, parent).await?.len() as i32 > MAX_DEPTH {
            return Err(DirectoryError::Invalid(format!(
                "the tree would be deeper than {MAX_DEPTH} levels"
            )));
        }
    }
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

/// The whole tree of the transaction's tenant, parents before children.
pub async fn tree(tx: &mut TenantTx) -> Result<Vec<Node>, DirectoryError> {
    Ok(sqlx::query_as(
        "WITH RECURSIVE t AS ( \
             SELECT n.*, 0 AS depth FROM routing.grid_nodes n \
             WHERE n.tenant_id = $1 AND n.parent_id IS NULL \
             UNION ALL \
             SELECT c.*, t.depth + 1 FROM routing.grid_nodes c \
             JOIN t ON c.parent_id = t.id WHERE c.tenant_id = $1 AND t.depth < 32) \
         SELECT id, parent_id, kind, code, name, active, position FROM t ORDER BY depth, position, code",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_all(&mut **tx)
    .await?)
}

/// One node of the transaction's tenant.
pub async fn node(tx: &mut TenantTx, id: GridNodeId) -> Result<Option<Node>, DirectoryError> {
    Ok(sqlx::query_as(
        "SELECT id, parent_id, kind, code, name, active, position FROM routing.grid_nodes \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id.as_uuid())
    .fetch_optional(&mut **tx)
    .await?)
}

/// The node and its ancestors up to the township, nearest first; empty when the node
/// is not in the tenant.
pub async fn ancestry(
    tx: &mut TenantTx,
    id: GridNodeId,
) -> Result<Vec<GridNodeId>, DirectoryError> {
    let rows: Vec<(Uuid,)> = sqlx::query_as(
        "WITH RECURSIVE up(id, parent_id, depth) AS ( \
             SELECT id, parent_id, 0 FROM routing.grid_nodes WHERE tenant_id = $1 AND id = $2 \
             UNION ALL \
             SELECT n.id, n.parent_id, up.depth + 1 FROM routing.grid_nodes n JOIN up ON n.id = up.parent_id \
             WHERE n.tenant_id = $1 AND up.depth < 32) \
         SELECT id FROM up ORDER BY depth",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id.as_uuid())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id,)| GridNodeId::from_uuid(id))
        .collect())
}

/// Renames a node, changes its kind or order (`None` leaves a field as it is).
pub async fn update_node(
    tx: &mut TenantTx,
    id: GridNodeId,
    name: Option<&str>,
    kind: Option<NodeKind>,
    position: Option<i32>,
) -> Result<(), DirectoryError> {
    let current = node(tx, id)
        .await?
        .ok_or_else(|| DirectoryError::NotFound("node".into()))?;
    let name = name.unwrap_or(&current.name);
    check(&current.code, name)?;
    if let Some(kind) = kind
        && (kind == NodeKind::Township) != current.parent_id.is_none()
    {
        return Err(DirectoryError::Invalid(
            "only the root node is of kind township".into(),
        ));
    }
    sqlx::query(
        "UPDATE routing.grid_nodes SET name = $3, kind = coalesce($4, kind), position = coalesce($5, position), \
             updated_at = now() WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id.as_uuid())
    .bind(name.trim())
    .bind(kind.map(NodeKind::as_str))
    .bind(position)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The deepest a grid tree may be (the township is depth 0). Every walk up or down the
/// tree stops here, so even a damaged tree cannot make a query run away.
pub const MAX_DEPTH: i32 = 32;

/// Holds the tenant's tree lock until the transaction ends: tree moves take it, so two
/// moves (A under B and B under A) cannot both pass their cycle check.
async fn lock_tree(tx: &mut TenantTx) -> Result<(), DirectoryError> {
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended('mashang.grid_tree:' || $1::text, 0))",
    )
    .bind(tx.tenant().as_uuid())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves a node (and its subtree) under another parent; refuses a move under itself or
/// one of its own descendants, moving the root, and a move that would make the tree
/// deeper than [`MAX_DEPTH`]. The check and the move run under the tenant's tree lock.
pub async fn move_node(
    tx: &mut TenantTx,
    id: GridNodeId,
    parent: GridNodeId,
) -> Result<(), DirectoryError> {
    lock_tree(tx).await?;
    let current = node(tx, id)
        .await?
        .ok_or_else(|| DirectoryError::NotFound("node".into()))?;
    if current.parent_id.is_none() {
        return Err(DirectoryError::Invalid(
            "the township node cannot be moved".into(),
        ));
    }
    let target_line = ancestry(tx, parent).await?;
    if target_line.is_empty() {
        return Err(DirectoryError::NotFound("new parent".into()));
    }
    if target_line.contains(&id) {
        return Err(DirectoryError::Invalid(
            "a node cannot move under itself or one of its descendants".into(),
        ));
    }
    let (height,): (i32,) = sqlx::query_as(
        "WITH RECURSIVE down(id, depth) AS ( \
             SELECT id, 0 FROM routing.grid_nodes WHERE tenant_id = $1 AND id = $2 \
             UNION ALL \
             SELECT n.id, down.depth + 1 FROM routing.grid_nodes n JOIN down ON n.parent_id = down.id \
             WHERE n.tenant_id = $1 AND down.depth < $3) \
         SELECT coalesce(max(depth), 0) FROM down",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id.as_uuid())
    .bind(MAX_DEPTH)
    .fetch_one(&mut **tx)
    .await?;
    // The new parent's depth is its ancestry's length less one; the node goes below it.
    if target_line.len() as i32 + height > MAX_DEPTH {
        return Err(DirectoryError::Invalid(format!(
            "the tree would be deeper than {MAX_DEPTH} levels"
        )));
    }
    sqlx::query("UPDATE routing.grid_nodes SET parent_id = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2")
        .bind(tx.tenant().as_uuid())
        .bind(id.as_uuid())
        .bind(parent.as_uuid())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Activates or deactivates a node and its whole subtree. Open cases stay where they
/// are and stay reachable; a deactivated grid takes no new reports.
pub async fn set_active(
    tx: &mut TenantTx,
    id: GridNodeId,
    active: bool,
) -> Result<u64, DirectoryError> {
    let done = sqlx::query(
        "WITH RECURSIVE down(id, depth) AS ( \
             SELECT id, 0 FROM routing.grid_nodes WHERE tenant_id = $1 AND id = $2 \
             UNION ALL \
             SELECT n.id, down.depth + 1 FROM routing.grid_nodes n JOIN down ON n.parent_id = down.id \
             WHERE n.tenant_id = $1 AND down.depth < 32) \
         UPDATE routing.grid_nodes SET active = $3, updated_at = now() \
         WHERE tenant_id = $1 AND id IN (SELECT id FROM down)",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id.as_uuid())
    .bind(active)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(DirectoryError::NotFound("node".into()));
    }
    Ok(done.rows_affected())
}

/// The ids of a node and everything below it.
pub async fn subtree(tx: &mut TenantTx, id: GridNodeId) -> Result<Vec<GridNodeId>, DirectoryError> {
    let rows: Vec<(Uuid,)> = sqlx::query_as(
        "WITH RECURSIVE down(id, depth) AS ( \
             SELECT id, 0 FROM routing.grid_nodes WHERE tenant_id = $1 AND id = $2 \
             UNION ALL \
             SELECT n.id, down.depth + 1 FROM routing.grid_nodes n JOIN down ON n.parent_id = down.id \
             WHERE n.tenant_id = $1 AND down.depth < 32) \
         SELECT id FROM down",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id.as_uuid())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id,)| GridNodeId::from_uuid(id))
        .collect())
}
