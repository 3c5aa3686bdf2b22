//! Staff users, their sign-in names and their roles.
//!
//! Every person signs in with their phone number, or a username if they have one. Both
//! are registered in the global `routing.logins` table, unique across the deployment,
//! in the same transaction as the person.

use mashang_db::TenantTx;
use mashang_domain::role::Role;
use mashang_domain::{GridNodeId, PhoneNumber, UserId, Username};
use uuid::Uuid;

use super::DirectoryError;

/// A person's editable details.
#[derive(Clone, Debug)]
pub struct PersonInput {
    /// Full name.
    pub name: String,
    /// Mobile phone; also a sign-in name.
    pub phone: PhoneNumber,
    /// Optional username, a second sign-in name.
    pub username: Option<Username>,
    /// Whether the person may sign in and receive cases.
    pub active: bool,
}

fn check_name(name: &str) -> Result<&str, DirectoryError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        return Err(DirectoryError::Invalid(
            "a name is 1 to 50 characters".into(),
        ));
    }
    Ok(name)
}

async fn register_logins(
    tx: &mut TenantTx,
    user: UserId,
    input: &PersonInput,
) -> Result<(), DirectoryError> {
    sqlx::query("DELETE FROM routing.logins WHERE user_id = $1 AND tenant_id = $2")
        .bind(user.as_uuid())
        .bind(tx.tenant().as_uuid())
        .execute(&mut **tx)
        .await?;
    let mut logins = vec![(input.phone.expose().to_owned(), "phone")];
    if let Some(username) = &input.username {
        logins.push((username.as_str().to_owned(), "username"));
    }
    for (login, kind) in logins {
        sqlx::query(
            "INSERT INTO routing.logins (login, user_id, tenant_id, kind) VALUES ($1, $2, $3, $4)",
        )
        .bind(&login)
        .bind(user.as_uuid())
        .bind(tx.tenant().as_uuid())
        .bind(kind)
        .execute(&mut **tx)
        .await
        .map_err(|err| match mashang_db::constraint_name(&err) {
            Some("logins_pkey") => DirectoryError::Duplicate(format!(
                "{login} is already a sign-in name of another person"
            )),
            _ => err.into(),
        })?;
    }
    Ok(())
}

/// Creates a person in the transaction's tenant, with their sign-in names.
pub async fn create_person(
    tx: &mut TenantTx,
    input: &PersonInput,
) -> Result<UserId, DirectoryError> {
    let name = check_name(&input.name)?;
    let id = UserId::new();
    sqlx::query(
        "INSERT INTO routing.staff_users (id, tenant_id, name, phone, username, active) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.as_uuid())
    .bind(tx.tenant().as_uuid())
    .bind(name)
    .bind(input.phone.expose())
    .bind(input.username.as_ref().map(Username::as_str))
    .bind(input.active)
    .execute(&mut **tx)
    .await?;
    register_logins(tx, id, input).await?;
    Ok(id)
}

/// Updates a person of the transaction's tenant; `NotFound` when there is none.
pub async fn update_person(
    tx: &mut TenantTx,
    id: UserId,
    input: &PersonInput,
) -> Result<(), DirectoryError> {
    let name = check_name(&input.name)?;
    let done = sqlx::query(
        "UPDATE routing.staff_users SET name = $3, phone = $4, username = $5, active = $6, updated_at = now() \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id.as_uuid())
    .bind(name)
    .bind(input.phone.expose())
    .bind(input.username.as_ref().map(Username::as_str))
    .bind(input.active)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(DirectoryError::NotFound("person".into()));
    }
    register_logins(tx, id, input).await
}

/// The person of the transaction's tenant with this phone number.
pub async fn person_by_phone(
    tx: &mut TenantTx,
    phone: &PhoneNumber,
) -> Result<Option<UserId>, DirectoryError> {
    let row: Option<(Uuid,)> =
        sqlx::query_as("SELECT id FROM routing.staff_users WHERE tenant_id = $1 AND phone = $2")
            .bind(tx.tenant().as_uuid())
            .bind(phone.expose())
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.map(|(id,)| UserId::from_uuid(id)))
}

/// Replaces a person's roles with exactly `roles`.
pub async fn set_roles(
    tx: &mut TenantTx,
    user: UserId,
    roles: &[(Role, GridNodeId)],
) -> Result<(), DirectoryError> {
    sqlx::query("DELETE FROM routing.staff_roles WHERE tenant_id = $1 AND user_id = $2")
        .bind(tx.tenant().as_uuid())
        .bind(user.as_uuid())
        .execute(&mut **tx)
        .await?;
    for (role, node) in roles {
        grant_role(tx, user, *role, *node).await?;
    }
    Ok(())
}

/// Inserts a staff user with a phone sign-in (shorthand for fixtures and seeding).
pub async fn insert_user(
    tx: &mut TenantTx,
    name: &str,
    phone: &PhoneNumber,
) -> Result<UserId, DirectoryError> {
    create_person(
        tx,
        &PersonInput {
            name: name.to_owned(),
            phone: phone.clone(),
            username: None,
            active: true,
        },
    )
    .await
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

/// Sets or clears a person's e-mail address (digests and alerts go there);
/// `NotFound` when there is no such person.
pub async fn set_email(
    tx: &mut TenantTx,
    id: UserId,
    email: Option<&mashang_domain::EmailAddress>,
) -> Result<(), DirectoryError> {
    let done = sqlx::query(
        "UPDATE routing.staff_users SET email = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id.as_uuid())
    .bind(email.map(mashang_domain::EmailAddress::as_str))
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(DirectoryError::NotFound("person".into()));
    }
    Ok(())
}
