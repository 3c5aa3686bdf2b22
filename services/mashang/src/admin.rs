//! The operator's directory commands: tenants and county users.

use anyhow::Context as _;
use mashang_db::{Db, DbConfig};
use mashang_domain::role::Role;
use mashang_domain::tenant::TenantStatus;
use mashang_domain::{PhoneNumber, TenantCode};
use mashang_routing::directory::staff::{PersonInput, create_person, grant_role};
use mashang_routing::directory::{county, tenants};

use crate::cli::{TenantCommand, UserCommand};

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// The keys one-time codes are hashed with.
fn keys(args: &crate::cli::KeyArgs) -> anyhow::Result<mashang_auth::Keys> {
    let root = crate::commands::load_pii_key(args.pii_key.as_ref(), args.pii_key_file.as_ref())?;
    Ok(mashang_auth::Keys::derive(&root))
}

/// `mashang tenant …`.
pub async fn tenant(command: TenantCommand) -> anyhow::Result<()> {
    match command {
        TenantCommand::Create(args) => {
            let keys = keys(&args.keys)?;
            let code = TenantCode::parse(&args.code).map_err(|e| anyhow::anyhow!("--code: {e}"))?;
            let admin = match (&args.admin_name, &args.admin_phone) {
                (Some(name), Some(phone)) => Some((
                    name.clone(),
                    PhoneNumber::parse(phone).map_err(|e| anyhow::anyhow!("--admin-phone: {e}"))?,
                )),
                _ => None,
            };
            let db = Db::connect(&DbConfig::new(args.database_url)).await?;
            let created = tenants::create_tenant(&db, &code, &args.name, &args.time_zone)
                .await
                .map_err(|e| anyhow::anyhow!("creating the tenant: {e}"))?;
            if let Some(contact) = &args.contact_phone {
                tenants::set_contact(&db, created.tenant.id, Some(contact))
                    .await
                    .map_err(err)?;
            }
            println!(
                "{}\t{}\t{}",
                created.tenant.id, created.tenant.code, created.tenant.name
            );
            if let Some((name, phone)) = admin {
                let mut tx = db.tenant(created.tenant.id).await?;
                let user = create_person(
                    &mut tx,
                    &PersonInput {
                        name,
                        phone: phone.clone(),
                        username: None,
                        active: true,
                    },
                )
                .await
                .map_err(err)?;
                grant_role(&mut tx, user, Role::TownshipAdmin, created.root)
                    .await
                    .map_err(err)?;
                let code = mashang_auth::issue_reset_code(&mut tx, &keys, user, None)
                    .await?
                    .context("the new administrator is missing")?;
                tx.commit().await?;
                println!(
                    "administrator {} — one-time code to set a password: {code}",
                    phone.expose()
                );
            }
            Ok(())
        }
        TenantCommand::Suspend(args) => set_status(args, TenantStatus::Suspended).await,
        TenantCommand::Resume(args) => set_status(args, TenantStatus::Active).await,
    }
}

async fn set_status(args: crate::cli::TenantCodeArgs, to: TenantStatus) -> anyhow::Result<()> {
    let code = TenantCode::parse(&args.code).map_err(|e| anyhow::anyhow!("--code: {e}"))?;
    let db = Db::connect(&DbConfig::new(args.database_url)).await?;
    let row = tenants::set_status(&db, &code, to)
        .await
        .map_err(err)?
        .with_context(|| format!("no tenant {code}"))?;
    println!("{}\t{}", row.code, row.status);
    Ok(())
}

/// `mashang user …`.
pub async fn user(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::CreateCounty(args) => {
            let keys = keys(&args.keys)?;
            let phone =
                PhoneNumber::parse(&args.phone).map_err(|e| anyhow::anyhow!("--phone: {e}"))?;
            let roles = args
                .roles
                .iter()
                .map(|r| {
                    Role::parse(r)
                        .filter(|r| r.is_county())
                        .with_context(|| format!("--role {r}: not a county role"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let db = Db::connect(&DbConfig::new(args.database_url)).await?;
            let user = county::create_county_user(&db, &args.name, &phone, &roles)
                .await
                .map_err(err)?;
            let code = mashang_auth::issue_county_reset_code(&db, &keys, user)
                .await?
                .context("the new county user is missing")?;
            println!(
                "{user}\t{}\tone-time code to set a password: {code}",
                phone.expose()
            );
            Ok(())
        }
        UserCommand::ResetCode(args) => {
            let keys = keys(&args.keys)?;
            let db = Db::connect(&DbConfig::new(args.database_url)).await?;
            let login = mashang_auth::normalise_login(&args.login);
            let mut tx = db.global().await?;
            let found: Option<(uuid::Uuid, Option<uuid::Uuid>)> =
                sqlx::query_as("SELECT user_id, tenant_id FROM routing.logins WHERE login = $1")
                    .bind(&login)
                    .fetch_optional(&mut *tx)
                    .await?;
            tx.commit().await?;
            let (user, tenant) = found.with_context(|| format!("no person signs in as {login}"))?;
            let user = mashang_domain::UserId::from_uuid(user);
            let code = match tenant {
                Some(tenant) => {
                    let mut tx = db
                        .tenant(mashang_domain::TenantId::from_uuid(tenant))
                        .await?;
                    let code = mashang_auth::issue_reset_code(&mut tx, &keys, user, None).await?;
                    tx.commit().await?;
                    code
                }
                None => mashang_auth::issue_county_reset_code(&db, &keys, user).await?,
            };
            println!("{}", code.context("the person is missing")?);
            Ok(())
        }
    }
}
