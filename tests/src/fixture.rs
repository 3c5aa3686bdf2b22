//! A tenant to test with: a township, a village, a grid with one worker and a QR code,
//! a grid leader at the village, and a township centre.

use mashang_db::Db;
use mashang_domain::grid::NodeKind;
use mashang_domain::role::Role;
use mashang_domain::{GridNodeId, PhoneNumber, QrCodeId, TenantCode, TenantId, UserId};
use mashang_routing::directory::nodes::{NewNode, insert_node};
use mashang_routing::directory::{qr, staff, tenants};

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
    /// The grid's QR code.
    pub qr_code: QrCodeId,
    /// Its token.
    pub qr_token: String,
}

/// A phone number unique enough for one test database.
fn phone(n: u32) -> PhoneNumber {
    PhoneNumber::parse(&format!("139{:08}", n)).expect("a valid test number")
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
    let worker = staff::insert_user(&mut tx, "王网格", &phone(1))
        .await
        .expect("a worker");
    staff::grant_role(&mut tx, worker, Role::GridWorker, grid)
        .await
        .expect("a role");
    let leader = staff::insert_user(&mut tx, "李网格长", &phone(2))
        .await
        .expect("a leader");
    staff::grant_role(&mut tx, leader, Role::GridLeader, village)
        .await
        .expect("a role");
    let centre = staff::insert_user(&mut tx, "综治中心", &phone(3))
        .await
        .expect("a centre");
    staff::grant_role(&mut tx, centre, Role::TownshipCentre, created.root)
        .await
        .expect("a role");
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
        qr_code,
        qr_token,
    }
}
