//! A tenant to test with: a township, a village, a grid with one worker and a QR code,
//! a grid leader at the village, and a township centre.

use mashang_db::Db;
use mashang_domain::grid::NodeKind;
use mashang_domain::role::Role;
use mashang_domain::{GridNodeId, PhoneNumber, QrCodeId, TenantCode, TenantId, UserId};
use mashang_routing::directory::nodes::{NewNode, insert_node};
use mashang_routing::directory::{qr, staff, tenants};

/// The fixture's sign-in names; every one has the password [`PASSWORD`].
#[derive(Clone, Debug)]
pub struct Logins {
    /// The grid worker.
    pub worker: String,
    /// The grid leader.
    pub leader: String,
    /// The township centre.
    pub centre: String,
    /// The township administrator.
    pub admin: String,
}

/// What [`seed_tenant`] created.
#[derive(Clone, Debug)]
pub struct Fixture {
    /// The tenant.
    pub tenant: TenantId,
    /// Its code.
    pub code: String,
    /// Township node.
    pub root: GridNodeId,
    /// The village.
    pub village: GridNodeId,
    /// The grid.
    pub grid: GridNodeId,
    /// The grid's only worker.
    pub worker: UserId,
    /// The village's grid leader.
    pub leader: UserId,
    /// The township centre.
    pub centre: UserId,
    /// The township administrator.
    pub admin: UserId,
    /// Sign-in names (phone numbers) by person: worker, leader, centre, admin.
    pub logins: Logins,
    /// The grid's QR code.
    pub qr_code: QrCodeId,
    /// Its token.
    pub qr_token: String,
}

/// The password of every fixture person who can sign in.
pub const PASSWORD: &str = "fixture-password-1";

/// A phone number no other fixture uses: sign-in names are unique across the
/// deployment, and tests share one database cluster.
fn phone() -> PhoneNumber {
    let n = uuid::Uuid::new_v4().as_u128() % 100_000_000;
    PhoneNumber::parse(&format!("139{n:08}")).expect("a valid test number")
}

/// Creates a tenant with `code` and its small tree.
pub async fn seed_tenant(db: &Db, code: &str) -> Fixture {
    let code = TenantCode::parse(code).expect("a valid tenant code");
    let created = tenants::create_tenant(db, &code, &format!("{code}镇"), "Asia/Shanghai")
        .await
        .expect("creating the tenant");
    let tenant = created.tenant.id;
    let mut tx = db.tenant(tenant).await.expect("a tenant transaction");
    let village = insert_node(
        &mut tx,
        &NewNode {
            parent: Some(created.root),
            kind: NodeKind::Village,
            code: format!("{code}-v1"),
            name: "新庄村".into(),
        },
    )
    .await
    .expect("a village");
    let grid = insert_node(
        &mut tx,
        &NewNode {
            parent: Some(village),
            kind: NodeKind::Grid,
            code: format!("{code}-v1-g1"),
            name: "第一网格".into(),
        },
    )
    .await
    .expect("a grid");
    let password = mashang_auth::Password::new(PASSWORD).expect("a valid password");
    let mut people = Vec::new();
    for (name, role, node) in [
        ("王网格", Role::GridWorker, grid),
        ("李网格长", Role::GridLeader, village),
        ("综治中心", Role::TownshipCentre, created.root),
        ("镇管理员", Role::TownshipAdmin, created.root),
    ] {
        let phone = phone();
        let id = staff::insert_user(&mut tx, name, &phone)
            .await
            .expect("a person");
        staff::grant_role(&mut tx, id, role, node)
            .await
            .expect("a role");
        mashang_auth::set_staff_password(&mut tx, id, &password)
            .await
            .expect("a password");
        people.push((id, phone.expose().to_owned()));
    }
    let [
        (worker, worker_login),
        (leader, leader_login),
        (centre, centre_login),
        (admin, admin_login),
    ] = <[_; 4]>::try_from(people).expect("four people");
    let (qr_code, qr_token) = qr::issue(&mut tx, grid).await.expect("a QR code");
    tx.commit().await.expect("committing the fixture");
    Fixture {
        tenant,
        code: code.to_string(),
        root: created.root,
        village,
        grid,
        worker,
        leader,
        centre,
        admin,
        logins: Logins {
            worker: worker_login,
            leader: leader_login,
            centre: centre_login,
            admin: admin_login,
        },
        qr_code,
        qr_token,
    }
}

/// Signs `client` in as a new county user named `name` with `phone` and `roles`.
pub async fn county_user(
    db: &Db,
    client: &crate::Client,
    name: &str,
    phone: &str,
    roles: &[Role],
) -> crate::Client {
    let phone = PhoneNumber::parse(phone).expect("a phone");
    let user = mashang_routing::directory::county::create_county_user(db, name, &phone, roles)
        .await
        .expect("a county user");
    let password = mashang_auth::Password::new(PASSWORD).expect("a password");
    mashang_auth::set_county_password(db, user, &password)
        .await
        .expect("set");
    client.signed_in(phone.expose(), PASSWORD).await
}
