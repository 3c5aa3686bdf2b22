//! Applying a parsed file: load the township once, check everything in memory, and
//! only then write, in a handful of batched statements in the caller's transaction.

use mashang_db::TenantTx;
use serde::Serialize;

use super::super::DirectoryError;
use super::cells::Given;
use super::people::{self, PeoplePlan};
use super::rejection::ImportRejection;
use super::rows::ImportFile;
use super::tree::{self, NodePlan};
use super::{ImportError, load};

/// How many rows were created, updated and left unchanged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RowCounts {
    /// New.
    pub created: u32,
    /// Existing and changed.
    pub updated: u32,
    /// Existing and already as the file says.
    pub unchanged: u32,
}

/// What an import did, or (dry run) would do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Whether nothing was written (a check only).
    pub dry_run: bool,
    /// Grid nodes, one per code in the file.
    pub nodes: RowCounts,
    /// People, one per phone number in the file; a person whose roles changed counts
    /// as updated.
    pub people: RowCounts,
    /// Roles granted that the person did not hold.
    pub roles_added: u32,
    /// Roles the person held that the file no longer lists.
    pub roles_removed: u32,
}

impl ImportSummary {
    /// Whether the import changed (or would change) nothing at all.
    pub fn is_noop(&self) -> bool {
        self.nodes.created + self.nodes.updated + self.people.created + self.people.updated == 0
            && self.roles_added + self.roles_removed == 0
    }
}

/// Checks `file` against the transaction's township and, unless `dry_run`, writes it.
/// On any error nothing is written and every error is returned (cell errors found by
/// [`super::parse`] included). A dry run checks everything and returns the summary the
/// import would have, without writing. The caller commits; imports of one township
/// are serialised by a transaction-level lock.
#[tracing::instrument(skip_all, fields(tenant_id = %tx.tenant(), dry_run = dry_run))]
pub async fn apply(
    tx: &mut TenantTx,
    file: &ImportFile,
    dry_run: bool,
) -> Result<ImportSummary, ImportError> {
    load::lock(tx).await?;
    let stored = load::directory(tx).await?;
    let mut logins: Vec<String> = Vec::new();
    for row in &file.people {
        if let Some(phone) = &row.phone {
            logins.push(phone.expose().to_owned());
        }
        if let Given::Value(username) = &row.username {
            logins.push(username.as_str().to_owned());
        }
    }
    logins.sort_unstable();
    logins.dedup();
    let holders = load::login_holders(tx, &logins).await?;

    let mut errors = file.problems.clone();
    let nodes = tree::plan(file, &stored.nodes, &mut errors);
    let people = people::plan(
        file,
        &stored,
        tx.tenant().as_uuid(),
        &nodes.ids,
        &holders,
        &mut errors,
    );
    if !errors.is_empty() {
        // A CSV holds both tables in one sequence of rows; a workbook has a sheet each.
        let by_row = file.format == super::ImportFormat::Csv;
        return Err(ImportRejection::rows(errors, by_row).into());
    }
    let summary = ImportSummary {
        dry_run,
        nodes: nodes.counts,
        people: people.counts,
        roles_added: people.roles_added,
        roles_removed: people.roles_removed,
    };
    if !dry_run {
        write_nodes(tx, &nodes).await.map_err(write_error)?;
        write_people(tx, &people).await.map_err(write_error)?;
    }
    tracing::info!(?summary, "directory import");
    Ok(summary)
}

/// A write that fails after the checks passed lost a race with a concurrent change
/// (another township registering the same sign-in name), or the database failed.
fn write_error(err: sqlx::Error) -> ImportError {
    match mashang_db::constraint_name(&err) {
        Some("logins_pkey") => ImportError::Directory(DirectoryError::Duplicate(
            "a sign-in name in the file was taken by a concurrent change".into(),
        )),
        _ => err.into(),
    }
}

async fn write_nodes(tx: &mut TenantTx, plan: &NodePlan) -> Result<(), sqlx::Error> {
    let tenant = tx.tenant().as_uuid();
    // One statement: a new child may reference a new parent of the same batch, and
    // foreign keys are checked at the end of the statement.
    if !plan.inserts.is_empty() {
        let w = &plan.inserts;
        sqlx::query(
            "INSERT INTO routing.grid_nodes (id, tenant_id, parent_id, kind, code, name, active, position) \
             SELECT u.id, $1, u.parent_id, u.kind, u.code, u.name, u.active, u.position \
             FROM UNNEST($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::int4[]) \
                  AS u(id, parent_id, kind, code, name, active, position)",
        )
        .bind(tenant)
        .bind(w.iter().map(|w| w.id).collect::<Vec<_>>())
        .bind(w.iter().map(|w| w.parent_id).collect::<Vec<_>>())
        .bind(w.iter().map(|w| w.kind.as_str()).collect::<Vec<_>>())
        .bind(w.iter().map(|w| w.code.as_str()).collect::<Vec<_>>())
        .bind(w.iter().map(|w| w.name.as_str()).collect::<Vec<_>>())
        .bind(w.iter().map(|w| w.active).collect::<Vec<_>>())
        .bind(w.iter().map(|w| w.position).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await?;
    }
    if !plan.updates.is_empty() {
        let w = &plan.updates;
        sqlx::query(
            "UPDATE routing.grid_nodes n SET parent_id = u.parent_id, kind = u.kind, name = u.name, \
                 active = u.active, position = u.position, updated_at = now() \
             FROM UNNEST($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::bool[], $7::int4[]) \
                  AS u(id, parent_id, kind, name, active, position) \
             WHERE n.tenant_id = $1 AND n.id = u.id",
        )
        .bind(tenant)
        .bind(w.iter().map(|w| w.id).collect::<Vec<_>>())
        .bind(w.iter().map(|w| w.parent_id).collect::<Vec<_>>())
        .bind(w.iter().map(|w| w.kind.as_str()).collect::<Vec<_>>())
        .bind(w.iter().map(|w| w.name.as_str()).collect::<Vec<_>>())
        .bind(w.iter().map(|w| w.active).collect::<Vec<_>>())
        .bind(w.iter().map(|w| w.position).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Writes people as `staff::create_person` and `update_person` do (the row, then its
/// sign-in names in the global `routing.logins`), and roles as `staff::set_roles`,
/// but for all people at once. Every old username is released before any new one is
/// registered, so two people can swap usernames in one file.
async fn write_people(tx: &mut TenantTx, plan: &PeoplePlan) -> Result<(), sqlx::Error> {
    let tenant = tx.tenant().as_uuid();
    for (sql, writes) in [
        (
            "INSERT INTO routing.staff_users (id, tenant_id, name, phone, username, active) \
             SELECT u.id, $1, u.name, u.phone, u.username, u.active \
             FROM UNNEST($2::uuid[], $3::text[], $4::text[], $5::text[], $6::bool[]) \
                  AS u(id, name, phone, username, active)",
            &plan.inserts,
        ),
        (
            "UPDATE routing.staff_users s SET name = u.name, username = u.username, active = u.active, \
                 updated_at = now() \
             FROM UNNEST($2::uuid[], $3::text[], $4::text[], $5::text[], $6::bool[]) \
                  AS u(id, name, phone, username, active) \
             WHERE s.tenant_id = $1 AND s.id = u.id",
            &plan.updates,
        ),
    ] {
        if writes.is_empty() {
            continue;
        }
        sqlx::query(sql)
            .bind(tenant)
            .bind(writes.iter().map(|w| w.id).collect::<Vec<_>>())
            .bind(writes.iter().map(|w| w.name.as_str()).collect::<Vec<_>>())
            .bind(writes.iter().map(|w| w.phone.as_str()).collect::<Vec<_>>())
            .bind(
                writes
                    .iter()
                    .map(|w| w.username.as_deref())
                    .collect::<Vec<_>>(),
            )
            .bind(writes.iter().map(|w| w.active).collect::<Vec<_>>())
            .execute(&mut **tx)
            .await?;
    }
    if !plan.drop_usernames.is_empty() {
        sqlx::query(
            "DELETE FROM routing.logins WHERE tenant_id = $1 AND kind = 'username' AND user_id = ANY($2)",
        )
        .bind(tenant)
        .bind(&plan.drop_usernames)
        .execute(&mut **tx)
        .await?;
    }
    if !plan.logins.is_empty() {
        sqlx::query(
            "INSERT INTO routing.logins (login, user_id, tenant_id, kind) \
             SELECT u.login, u.user_id, $1, u.kind FROM UNNEST($2::text[], $3::uuid[], $4::text[]) \
                  AS u(login, user_id, kind)",
        )
        .bind(tenant)
        .bind(plan.logins.iter().map(|l| l.0.as_str()).collect::<Vec<_>>())
        .bind(plan.logins.iter().map(|l| l.1).collect::<Vec<_>>())
        .bind(plan.logins.iter().map(|l| l.2).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await?;
    }
    if !plan.role_users.is_empty() {
        sqlx::query("DELETE FROM routing.staff_roles WHERE tenant_id = $1 AND user_id = ANY($2)")
            .bind(tenant)
            .bind(&plan.role_users)
            .execute(&mut **tx)
            .await?;
    }
    if !plan.roles.is_empty() {
        sqlx::query(
            "INSERT INTO routing.staff_roles (tenant_id, user_id, role, node_id) \
             SELECT $1, u.user_id, u.role, u.node_id FROM UNNEST($2::uuid[], $3::text[], $4::uuid[]) \
                  AS u(user_id, role, node_id)",
        )
        .bind(tenant)
        .bind(plan.roles.iter().map(|r| r.0).collect::<Vec<_>>())
        .bind(plan.roles.iter().map(|r| r.1.as_str()).collect::<Vec<_>>())
        .bind(plan.roles.iter().map(|r| r.2).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
