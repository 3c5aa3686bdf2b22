//! County staff: people of the county centre, who belong to no township.

use mashang_db::Db;
use mashang_domain::role::Role;
use mashang_domain::{PhoneNumber, UserId};

use super::DirectoryError;

/// Creates a county user with their phone as sign-in name; returns the id.
pub async fn create_county_user(
    db: &Db,
    name: &str,
    phone: &PhoneNumber,
    roles: &[Role],
) -> Result<UserId, DirectoryError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        return Err(DirectoryError::Invalid(
            "a name is 1 to 50 characters".into(),
        ));
    }
    if roles.is_empty() || roles.iter().any(|r| !r.is_county()) {
        return Err(DirectoryError::Invalid(
            "county users hold county_centre and/or county_admin".into(),
        ));
    }
    let id = UserId::new();
    let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let mut tx = db.global().await?;
    sqlx::query(
        "INSERT INTO routing.county_users (id, name, phone, roles) VALUES ($1, $2, $3, $4)",
    )
    .bind(id.as_uuid())
    .bind(name)
    .bind(phone.expose())
    .bind(&roles)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO routing.logins (login, user_id, tenant_id, kind) VALUES ($1, $2, NULL, 'phone')")
        .bind(phone.expose())
        .bind(id.as_uuid())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// A county user as the county's administrators see them.
#[derive(Clone, Debug, serde::Serialize, sqlx::FromRow)]
pub struct CountyPerson {
    pub id: uuid::Uuid,
    pub name: String,
    pub phone: String,
    pub roles: Vec<String>,
    pub email: Option<String>,
    pub active: bool,
}

/// The county's people, by name.
pub async fn county_people(db: &Db) -> Result<Vec<CountyPerson>, DirectoryError> {
    let mut tx = db.global().await?;
    let people = sqlx::query_as(
        "SELECT id, name, phone, roles, email, active FROM routing.county_users ORDER BY name, phone",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(people)
}

/// Sets or clears a county user's e-mail address (the county's digest goes there);
/// `NotFound` when there is no such person.
pub async fn set_county_email(
    db: &Db,
    id: UserId,
    email: Option<&mashang_domain::EmailAddress>,
) -> Result<(), DirectoryError> {
    let mut tx = db.global().await?;
    let done = sqlx::query("UPDATE routing.county_users SET email = $2 WHERE id = $1")
        .bind(id.as_uuid())
        .bind(email.map(mashang_domain::EmailAddress::as_str))
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(DirectoryError::NotFound("county person".into()));
    }
    tx.commit().await?;
    Ok(())
}
