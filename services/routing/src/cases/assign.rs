//! Choosing who handles a new case.
//!
//! The grid workers of the case's own grid come first (fewest open cases, then the
//! longest-standing); when the grid has none, the nearest ancestor with anyone on the
//! escalation ladder takes it, and the case is marked as a vacancy.

use mashang_db::TenantTx;
use mashang_domain::{GridNodeId, UserId};
use uuid::Uuid;

/// The person chosen and where they hold the role that made them eligible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assignee {
    /// Who.
    pub user: UserId,
    /// The node at which they hold the role.
    pub node: GridNodeId,
    /// True when nobody at the case's own grid was eligible.
    pub vacancy: bool,
}

/// Picks the handler for a case at `node`, or `None` when nobody in the tree above it
/// holds a role on the ladder.
pub async fn choose(tx: &mut TenantTx, node: GridNodeId) -> Result<Option<Assignee>, sqlx::Error> {
    // depth 0 is the node itself; the ladder role rank breaks ties at one node.
    let row: Option<(Uuid, Uuid, i32)> = sqlx::query_as(
        "WITH RECURSIVE up(id, parent_id, depth) AS ( \
             SELECT id, parent_id, 0 FROM routing.grid_nodes WHERE tenant_id = $1 AND id = $2 \
             UNION ALL \
             SELECT n.id, n.parent_id, up.depth + 1 FROM routing.grid_nodes n \
             JOIN up ON n.id = up.parent_id WHERE n.tenant_id = $1 AND up.depth < 32 \
         ) \
         SELECT r.user_id, r.node_id, up.depth \
         FROM up \
         JOIN routing.staff_roles r ON r.tenant_id = $1 AND r.node_id = up.id \
         JOIN routing.staff_users u ON u.tenant_id = $1 AND u.id = r.user_id AND u.active \
         WHERE (up.depth = 0 AND r.role = 'grid_worker') \
            OR (up.depth > 0 AND r.role IN ('grid_worker', 'grid_leader', 'village_head', 'township_centre')) \
         ORDER BY up.depth, \
             array_position(ARRAY['grid_worker', 'grid_leader', 'village_head', 'township_centre'], r.role), \
             (SELECT count(*) FROM routing.cases c WHERE c.tenant_id = $1 AND c.assignee_id = r.user_id \
                AND c.state NOT IN ('closed', 'invalid')), \
             u.created_at, u.id \
         LIMIT 1",
    )
    .bind(tx.tenant().as_uuid())
    .bind(node.as_uuid())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(user, node, depth)| Assignee {
        user: UserId::from_uuid(user),
        node: GridNodeId::from_uuid(node),
        vacancy: depth > 0,
    }))
}
