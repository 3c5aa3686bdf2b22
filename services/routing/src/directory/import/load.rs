//! The township's current directory, loaded in a few queries so that every check and
//! every comparison runs in memory.

use std::collections::HashMap;

use mashang_db::TenantTx;
use uuid::Uuid;

/// A node as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub(crate) struct StoredNode {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub kind: String,
    pub code: String,
    pub name: String,
    pub active: bool,
    pub position: i32,
}

/// A person as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub(crate) struct StoredPerson {
    pub id: Uuid,
    pub name: String,
    pub phone: String,
    pub username: Option<String>,
    pub active: bool,
}

/// A role as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub(crate) struct StoredRole {
    pub user_id: Uuid,
    pub role: String,
    pub node_id: Uuid,
}

/// Who holds a sign-in name: a user of some tenant, or of the county (`None`).
#[derive(Clone, Debug)]
pub(crate) struct LoginHolder {
    pub user_id: Uuid,
    pub tenant_id: Option<Uuid>,
}

/// The township's directory as it is now.
#[derive(Debug, Default)]
pub(crate) struct Stored {
    pub nodes: Vec<StoredNode>,
    pub people: Vec<StoredPerson>,
    pub roles: Vec<StoredRole>,
}

/// Loads the transaction's tenant's nodes, people and roles. Row-level security and
/// the tenant filter both keep other townships out.
pub(crate) async fn directory(tx: &mut TenantTx) -> Result<Stored, sqlx::Error> {
    let tenant = tx.tenant().as_uuid();
    let nodes = sqlx::query_as(
        "SELECT id, parent_id, kind, code, name, active, position FROM routing.grid_nodes \
         WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_all(&mut **tx)
    .await?;
    let people = sqlx::query_as(
        "SELECT id, name, phone, username, active FROM routing.staff_users WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_all(&mut **tx)
    .await?;
    let roles = sqlx::query_as(
        "SELECT user_id, role, node_id FROM routing.staff_roles WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_all(&mut **tx)
    .await?;
    Ok(Stored {
        nodes,
        people,
        roles,
    })
}

/// Who holds each of `logins` across the whole deployment (`routing.logins` is global
/// and has no row-level security: sign-in names are unique everywhere).
pub(crate) async fn login_holders(
    tx: &mut TenantTx,
    logins: &[String],
) -> Result<HashMap<String, LoginHolder>, sqlx::Error> {
    if logins.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, Uuid, Option<Uuid>)> = sqlx::query_as(
        "SELECT login, user_id, tenant_id FROM routing.logins WHERE login = ANY($1)",
    )
    .bind(logins)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(login, user_id, tenant_id)| (login, LoginHolder { user_id, tenant_id }))
        .collect())
}

/// Serialises imports of one township: a second import waits for the first to
/// commit or roll back, so it checks against what the first wrote.
pub(crate) async fn lock(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('mashang.directory.import.' || $1::text, 0))")
        .bind(tx.tenant().as_uuid())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
