//! Choosing who handles a case.
//!
//! The tenant's rules, in order, may send a category or a part of the tree to another
//! node and role (矛盾纠纷 → the village's mediation committee); by default it is the
//! grid workers of the report's own grid. Among the eligible: people on duty and not
//! on leave (a person on leave or off duty is replaced by their substitute, when the
//! substitute is themselves on duty and not on leave), then the fewest open cases,
//! then the longest since their last case (round robin). When nobody is eligible, the
//! nearest level up the ladder takes it, and the case is a vacancy.

use chrono::{DateTime, Utc};
use mashang_db::TenantTx;
use mashang_domain::role::Role;
use mashang_domain::{GridNodeId, UserId};
use uuid::Uuid;

/// The person chosen and where they hold the role that made them eligible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assignee {
    /// Who.
    pub user: UserId,
    /// The node at which they hold the role.
    pub node: GridNodeId,
    /// The role.
    pub role: Role,
    /// True when nobody was eligible where the rules pointed.
    pub vacancy: bool,
    /// Where the rules pointed, and which role.
    pub intended: (GridNodeId, Role),
}

const LADDER: [Role; 4] = [
    Role::GridWorker,
    Role::GridLeader,
    Role::VillageHead,
    Role::TownshipCentre,
];

/// One active assignment rule, in the tenant's order.
#[derive(sqlx::FromRow)]
struct RuleRow {
    category: Option<String>,
    within_node: Option<Uuid>,
    target_node: Option<Uuid>,
    target_role: String,
}

/// The node and role the tenant's rules give a case of `category` at `node`.
pub(crate) async fn target(
    tx: &mut TenantTx,
    node: GridNodeId,
    category: &str,
) -> anyhow::Result<(GridNodeId, Role)> {
    let line = crate::directory::nodes::ancestry(tx, node).await?;
    let rules: Vec<RuleRow> = sqlx::query_as(
        "SELECT category, within_node, target_node, target_role FROM routing.assignment_rules \
         WHERE tenant_id = $1 AND active ORDER BY position, id",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_all(&mut **tx)
    .await?;
    for rule in rules {
        let category_matches = rule.category.as_deref().is_none_or(|c| c == category);
        let place_matches = rule
            .within_node
            .is_none_or(|w| line.contains(&GridNodeId::from_uuid(w)));
        if category_matches
            && place_matches
            && let Some(role) = Role::parse(&rule.target_role)
        {
            return Ok((
                rule.target_node.map(GridNodeId::from_uuid).unwrap_or(node),
                role,
            ));
        }
    }
    Ok((node, Role::GridWorker))
}

/// The best eligible holder of `role` at `node`, if any.
pub async fn eligible(
    tx: &mut TenantTx,
    node: GridNodeId,
    role: Role,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<UserId>> {
    // A person away (on leave or off duty) with a substitute counts as the substitute.
    let row: Option<(Uuid,)> = sqlx::query_as(
        "WITH holders AS ( \
             SELECT u.id, u.on_duty, u.substitute_id, \
                 (u.leave_from IS NOT NULL AND u.leave_from <= $4 AND (u.leave_until IS NULL OR u.leave_until > $4)) AS on_leave \
             FROM routing.staff_roles r JOIN routing.staff_users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id \
             WHERE r.tenant_id = $1 AND r.node_id = $2 AND r.role = $3 AND u.active), \
         candidates AS ( \
             SELECT id FROM holders WHERE on_duty AND NOT on_leave \
             UNION \
             SELECT s.id FROM holders h JOIN routing.staff_users s ON s.tenant_id = $1 AND s.id = h.substitute_id \
             WHERE (h.on_leave OR NOT h.on_duty) AND s.active AND s.on_duty \
               AND NOT (s.leave_from IS NOT NULL AND s.leave_from <= $4 AND (s.leave_until IS NULL OR s.leave_until > $4))) \
         SELECT c.id FROM candidates c JOIN routing.staff_users u ON u.tenant_id = $1 AND u.id = c.id \
         ORDER BY (SELECT count(*) FROM routing.cases k WHERE k.tenant_id = $1 AND k.assignee_id = c.id \
                     AND k.state NOT IN ('closed', 'invalid', 'followed_up')), \
             u.last_assigned_at NULLS FIRST, u.id \
         LIMIT 1",
    )
    .bind(tx.tenant().as_uuid())
    .bind(node.as_uuid())
    .bind(role.as_str())
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(u,)| UserId::from_uuid(u)))
}

/// Picks the handler of a new case, or `None` when nobody in the tree above it can
/// take it. Records the choice for the round robin.
pub async fn choose(
    tx: &mut TenantTx,
    node: GridNodeId,
    category: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Assignee>> {
    let Some(chosen) = pick(tx, node, category, now).await? else {
        return Ok(None);
    };
    sqlx::query(
        "UPDATE routing.staff_users SET last_assigned_at = $3 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(chosen.user.as_uuid())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(Some(chosen))
}

/// Who would get a new case of `category` at `node` now, without recording it (the
/// administrator's preview of the rules).
pub async fn pick(
    tx: &mut TenantTx,
    node: GridNodeId,
    category: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Assignee>> {
    let (target_node, target_role) = target(tx, node, category).await?;
    let mut found = None;
    if let Some(user) = eligible(tx, target_node, target_role, now).await? {
        found = Some((user, target_node, target_role, false));
    } else {
        // Up the tree, and up the ladder from the intended role.
        let line = crate::directory::nodes::ancestry(tx, target_node).await?;
        let start = LADDER.iter().position(|r| *r == target_role).unwrap_or(0);
        'search: for step in &line {
            for role in &LADDER[start..] {
                if *step == target_node && *role == target_role {
                    continue;
                }
                if let Some(user) = eligible(tx, *step, *role, now).await? {
                    found = Some((user, *step, *role, true));
                    break 'search;
                }
            }
        }
    }
    Ok(found.map(|(user, at, role, vacancy)| Assignee {
        user,
        node: at,
        role,
        vacancy,
        intended: (target_node, target_role),
    }))
}

/// The nearest holder of `role` at or above `node`, for escalation and dispatch.
pub async fn nearest(
    tx: &mut TenantTx,
    node: GridNodeId,
    role: Role,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<(UserId, GridNodeId)>> {
    for step in crate::directory::nodes::ancestry(tx, node).await? {
        if let Some(user) = eligible(tx, step, role, now).await? {
            return Ok(Some((user, step)));
        }
    }
    Ok(None)
}

/// Records that a case's grid had nobody eligible, so the dashboard can show it.
pub async fn record_vacancy(
    tx: &mut TenantTx,
    case: mashang_domain::CaseId,
    chosen: &Assignee,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO routing.vacancies (id, tenant_id, case_id, node_id, role, taken_by_node) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(tx.tenant().as_uuid())
    .bind(case.as_uuid())
    .bind(chosen.intended.0.as_uuid())
    .bind(chosen.intended.1.as_str())
    .bind(chosen.node.as_uuid())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
