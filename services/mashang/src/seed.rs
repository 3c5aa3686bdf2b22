//! The demo county: three townships, each with villages, grids, staff and a QR code
//! per grid. Seeding is idempotent: a township that exists is left as it is.

use anyhow::Context as _;
use mashang_db::Db;
use mashang_domain::grid::NodeKind;
use mashang_domain::role::Role;
use mashang_domain::{GridNodeId, PhoneNumber, TenantCode, TenantId};
use mashang_routing::directory::nodes::{NewNode, insert_node};
use mashang_routing::directory::{county, qr, staff, tenants};
use serde::Serialize;
use uuid::Uuid;

struct Township {
    code: &'static str,
    name: &'static str,
    villages: [(&'static str, [&'static str; 2]); 2],
}

const TOWNSHIPS: [Township; 3] = [
    Township {
        code: "caotan",
        name: "草滩镇",
        villages: [
            ("新庄村", ["第一网格", "第二网格"]),
            ("河东村", ["第一网格", "第二网格"]),
        ],
    },
    Township {
        code: "xinji",
        name: "新集镇",
        villages: [
            ("杨家村", ["东片网格", "西片网格"]),
            ("幸福社区", ["一号楼网格", "二号楼网格"]),
        ],
    },
    Township {
        code: "hewan",
        name: "河湾乡",
        villages: [
            ("柳树村", ["第一网格", "第二网格"]),
            ("王庄村", ["第一网格", "第二网格"]),
        ],
    },
];

const SURNAMES: [&str; 8] = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄"];
const GIVEN: [&str; 8] = [
    "建国", "秀英", "志强", "桂兰", "海涛", "丽娟", "德明", "春梅",
];

fn person(n: usize) -> String {
    format!(
        "{}{}",
        SURNAMES[n % SURNAMES.len()],
        GIVEN[(n / SURNAMES.len() + n) % GIVEN.len()]
    )
}

fn phone(township: usize, n: usize) -> anyhow::Result<PhoneNumber> {
    PhoneNumber::parse(&format!("13{}{:08}", 7 + township, n + 1)).context("demo phone number")
}

/// Creates the demo townships that do not exist yet, and the county centre's sign-in.
/// In the first two townships, the township centre, the administrator and the first
/// grid worker can sign in with `password`.
pub async fn seed(db: &Db, password: &mashang_auth::Password) -> anyhow::Result<()> {
    for (t, township) in TOWNSHIPS.iter().enumerate() {
        let code = TenantCode::parse(township.code).context("demo tenant code")?;
        if tenants::tenant_by_code(db, &code)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .is_some()
        {
            continue;
        }
        let created = tenants::create_tenant(db, &code, township.name, "Asia/Shanghai")
            .await
            .map_err(|e| anyhow::anyhow!("creating {}: {e}", township.code))?;
        let mut tx = db.tenant(created.tenant.id).await?;
        let mut people = 0_usize;
        let mut next = || {
            people += 1;
            people - 1
        };
        let n = next();
        let centre = staff::insert_user(
            &mut tx,
            &format!("{}综治中心", township.name),
            &phone(t, n)?,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        staff::grant_role(&mut tx, centre, Role::TownshipCentre, created.root)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let can_sign_in = t < 2;
        if can_sign_in {
            mashang_auth::set_staff_password(&mut tx, centre, password).await?;
        }
        let n = next();
        let admin = staff::insert_user(&mut tx, &format!("{}管理员", township.name), &phone(t, n)?)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        staff::grant_role(&mut tx, admin, Role::TownshipAdmin, created.root)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if can_sign_in {
            mashang_auth::set_staff_password(&mut tx, admin, password).await?;
        }
        for (v, (village, grids)) in township.villages.iter().enumerate() {
            let kind = if village.ends_with("社区") {
                NodeKind::Community
            } else {
                NodeKind::Village
            };
            let village_node = node(
                &mut tx,
                created.root,
                kind,
                &format!("{}-v{}", township.code, v + 1),
                village,
            )
            .await?;
            for role in [Role::VillageHead, Role::GridLeader] {
                let n = next();
                let user = staff::insert_user(&mut tx, &person(n + t * 7), &phone(t, n)?)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                staff::grant_role(&mut tx, user, role, village_node)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            for (g, grid) in grids.iter().enumerate() {
                let code = format!("{}-v{}-g{}", township.code, v + 1, g + 1);
                let grid_node = node(&mut tx, village_node, NodeKind::Grid, &code, grid).await?;
                let n = next();
                let worker = staff::insert_user(&mut tx, &person(n + t * 7), &phone(t, n)?)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                staff::grant_role(&mut tx, worker, Role::GridWorker, grid_node)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                if can_sign_in && v == 0 && g == 0 {
                    mashang_auth::set_staff_password(&mut tx, worker, password).await?;
                }
                qr::issue(&mut tx, grid_node)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
        }
        tx.commit().await?;
    }
    seed_county(db, password).await
}

/// The county centre's people, who sign in with the same password: the person on duty
/// (supervision and the case search) and the administrator of townships.
const COUNTY_PEOPLE: [(&str, &str, Role); 2] = [
    ("县综治中心值班员", "13600000001", Role::CountyCentre),
    ("县综治中心管理员", "13600000002", Role::CountyAdmin),
];

/// Creates the county centre's sign-ins that do not exist yet.
async fn seed_county(db: &Db, password: &mashang_auth::Password) -> anyhow::Result<()> {
    for (name, raw_phone, role) in COUNTY_PEOPLE {
        let mut tx = db.global().await?;
        let exists: Option<(Uuid,)> =
            sqlx::query_as("SELECT user_id FROM routing.logins WHERE login = $1")
                .bind(raw_phone)
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        if exists.is_some() {
            continue;
        }
        let phone = PhoneNumber::parse(raw_phone).context("demo county phone")?;
        let user = county::create_county_user(db, name, &phone, &[role])
            .await
            .map_err(|e| anyhow::anyhow!("creating the county's sign-in {raw_phone}: {e}"))?;
        mashang_auth::set_county_password(db, user, password).await?;
    }
    Ok(())
}

/// The county's sign-ins, in the shape of a township's `logins` (no node: the county
/// is above every township).
pub async fn county_logins(db: &Db, password: &str) -> anyhow::Result<Vec<DemoLogin>> {
    let mut tx = db.global().await?;
    let rows: Vec<(Vec<String>, String)> = sqlx::query_as(
        "SELECT roles, phone FROM routing.county_users \
         WHERE active AND password_hash IS NOT NULL ORDER BY created_at",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .filter_map(|(roles, login)| {
            Some(DemoLogin {
                role: roles.into_iter().next()?,
                login,
                password: password.to_owned(),
                node_code: String::new(),
            })
        })
        .collect())
}

async fn node(
    tx: &mut mashang_db::TenantTx,
    parent: GridNodeId,
    kind: NodeKind,
    code: &str,
    name: &str,
) -> anyhow::Result<GridNodeId> {
    insert_node(
        tx,
        &NewNode {
            parent: Some(parent),
            kind,
            code: code.to_owned(),
            name: name.to_owned(),
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("creating node {code}: {e}"))
}

/// A township of the demo, as `demo.json` lists it.
#[derive(Debug, Serialize)]
pub struct DemoTownship {
    /// Tenant id (for the operator endpoints).
    pub id: TenantId,
    /// Tenant code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Its QR codes, the first one leading to the grid of the first worker listed.
    pub qr: Vec<DemoQr>,
    /// Its grid workers.
    pub workers: Vec<DemoWorker>,
    /// People of this township who can sign in.
    pub logins: Vec<DemoLogin>,
}

/// A demo sign-in.
#[derive(Debug, Serialize)]
pub struct DemoLogin {
    /// `township_admin`, `township_centre` or `grid_worker` (the county's:
    /// `county_centre`).
    pub role: String,
    /// Sign-in name (the phone number).
    pub login: String,
    /// Password.
    pub password: String,
    /// Where the role is held (empty for the county's).
    pub node_code: String,
}

/// A QR code of the demo.
#[derive(Debug, Serialize)]
pub struct DemoQr {
    /// The token.
    pub token: String,
    /// The landing page.
    pub url: String,
    /// The grid it is posted in.
    pub node_code: String,
}

/// A grid worker of the demo.
#[derive(Debug, Serialize)]
pub struct DemoWorker {
    /// User id (for the operator's inbox endpoint).
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// The grid they work.
    pub node_code: String,
}

/// Lists the demo townships with their QR codes, workers and sign-ins.
pub async fn describe(
    db: &Db,
    base_url: &str,
    password: &str,
) -> anyhow::Result<Vec<DemoTownship>> {
    let mut out = Vec::new();
    for township in &TOWNSHIPS {
        let code = TenantCode::parse(township.code).context("demo tenant code")?;
        let Some(tenant) = tenants::tenant_by_code(db, &code)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
        else {
            continue;
        };
        let mut tx = db.tenant(tenant.id).await?;
        let qr: Vec<(String, String)> = sqlx::query_as(
            "SELECT q.token, n.code FROM routing.qr_codes q JOIN routing.grid_nodes n \
               ON n.tenant_id = q.tenant_id AND n.id = q.node_id \
             WHERE q.tenant_id = $1 AND q.revoked_at IS NULL ORDER BY n.code, q.created_at",
        )
        .bind(tenant.id.as_uuid())
        .fetch_all(&mut *tx)
        .await?;
        let workers: Vec<(Uuid, String, String)> = sqlx::query_as(
            "SELECT u.id, u.name, n.code FROM routing.staff_roles r \
             JOIN routing.staff_users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id \
             JOIN routing.grid_nodes n ON n.tenant_id = r.tenant_id AND n.id = r.node_id \
             WHERE r.tenant_id = $1 AND r.role = 'grid_worker' ORDER BY n.code, u.created_at",
        )
        .bind(tenant.id.as_uuid())
        .fetch_all(&mut *tx)
        .await?;
        let logins: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT r.role, u.phone, n.code FROM routing.staff_roles r \
             JOIN routing.staff_users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id \
             JOIN routing.grid_nodes n ON n.tenant_id = r.tenant_id AND n.id = r.node_id \
             WHERE r.tenant_id = $1 AND u.password_hash IS NOT NULL \
               AND r.role IN ('township_admin', 'township_centre', 'grid_worker') \
             ORDER BY r.role DESC, n.code",
        )
        .bind(tenant.id.as_uuid())
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        out.push(DemoTownship {
            logins: logins
                .into_iter()
                .map(|(role, login, node_code)| DemoLogin {
                    role,
                    login,
                    password: password.to_owned(),
                    node_code,
                })
                .collect(),
            id: tenant.id,
            code: tenant.code.to_string(),
            name: tenant.name,
            qr: qr
                .into_iter()
                .map(|(token, node_code)| DemoQr {
                    url: format!("{base_url}/q/{token}"),
                    token,
                    node_code,
                })
                .collect(),
            workers: workers
                .into_iter()
                .map(|(id, name, node_code)| DemoWorker {
                    id,
                    name,
                    node_code,
                })
                .collect(),
        });
    }
    Ok(out)
}
