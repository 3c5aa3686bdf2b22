//! Resolving a scanned QR token: which tenant and grid it belongs to, and what the
//! citizen can choose there.

use mashang_db::Db;
use mashang_domain::tenant::TenantStatus;
use mashang_domain::{GridNodeId, QrCodeId, TenantCode, TenantId};
use mashang_http::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a valid token leads to.
#[derive(Clone, Debug, Serialize)]
pub struct QrContext {
    /// The QR code.
    #[serde(skip)]
    pub qr_code_id: QrCodeId,
    /// The township.
    pub tenant: TenantInfo,
    /// The grid (or other node) the code is posted in.
    pub node: NodeInfo,
    /// The tenant's active categories, in their order.
    pub categories: Vec<CategoryInfo>,
}

/// The township, as a citizen sees it.
#[derive(Clone, Debug, Serialize)]
pub struct TenantInfo {
    /// Tenant id.
    #[serde(skip)]
    pub id: TenantId,
    /// Short code.
    pub code: String,
    /// Name (草滩镇).
    pub name: String,
    /// IANA time zone.
    #[serde(skip)]
    pub time_zone: String,
}

impl TenantInfo {
    /// The prefix of this tenant's tracking numbers.
    pub fn tracking_prefix(&self) -> Result<String, ApiError> {
        TenantCode::parse(&self.code)
            .map(|c| c.tracking_prefix())
            .map_err(|e| ApiError::internal(anyhow::anyhow!("stored tenant code is invalid: {e}")))
    }

    /// The tenant's zone, falling back to Asia/Shanghai for an unreadable value.
    pub fn zone(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }
}

/// A grid-tree node, as a citizen sees it.
#[derive(Clone, Debug, Serialize)]
pub struct NodeInfo {
    /// Node id.
    #[serde(skip)]
    pub id: GridNodeId,
    /// Code.
    pub code: String,
    /// Name (第三网格).
    pub name: String,
    /// Kind (`grid`).
    pub kind: String,
    /// The names of its ancestors below the township, nearest last (`["新庄村"]`).
    pub path: Vec<String>,
}

/// A category to choose.
#[derive(Clone, Debug, Serialize, Deserialize, sqlx::FromRow)]
pub struct CategoryInfo {
    /// Code sent back with the report.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Icon name.
    pub icon: String,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    tenant_id: Uuid,
    qr_code_id: Uuid,
    code: String,
    name: String,
    time_zone: String,
    status: String,
    contact_phone: Option<String>,
}

#[derive(sqlx::FromRow)]
struct NodeRow {
    id: Uuid,
    code: String,
    name: String,
    kind: String,
    active: bool,
    revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    path: Vec<String>,
    categories: sqlx::types::Json<Vec<CategoryInfo>>,
}

/// Why a known token leads to no form.
#[derive(Clone, Debug)]
pub enum Closed {
    /// The code was revoked (replaced by a new one).
    Replaced {
        /// The township's name.
        township: String,
        /// Its public contact number.
        contact: Option<String>,
    },
    /// The township is suspended.
    Suspended {
        /// The township's name.
        township: String,
        /// Its public contact number.
        contact: Option<String>,
    },
}

impl Closed {
    /// The API error for a submission through such a code.
    pub fn error(&self) -> ApiError {
        match self {
            Self::Replaced { .. } => ApiError::Gone(
                "此二维码已更换，请扫描新的二维码 (this code has been replaced)".to_owned(),
            ),
            Self::Suspended { .. } => ApiError::Forbidden(
                "本乡镇的码上反映服务已暂停 (this township's service is suspended)".to_owned(),
            ),
        }
    }
}

/// What a scanned token leads to.
#[derive(Clone, Debug)]
pub enum Lookup {
    /// A working code.
    Open(QrContext),
    /// A code that no longer takes reports.
    Closed(Closed),
}

/// Resolves a token to a working code; unknown is 404, replaced 410, suspended 403.
pub async fn resolve(db: &Db, token: &str) -> Result<QrContext, ApiError> {
    match lookup(db, token).await? {
        Lookup::Open(ctx) => Ok(ctx),
        Lookup::Closed(closed) => Err(closed.error()),
    }
}

/// Looks a token up. Unknown tokens are "not found".
pub async fn lookup(db: &Db, token: &str) -> Result<Lookup, ApiError> {
    if token.is_empty() || token.len() > 64 {
        return Err(ApiError::NotFound);
    }
    let mut global = db.global().await?;
    let found: Option<TokenRow> = sqlx::query_as(
        "SELECT q.tenant_id, q.qr_code_id, t.code, t.name, t.time_zone, t.status, t.contact_phone \
         FROM routing.qr_tokens q JOIN routing.tenants t ON t.id = q.tenant_id WHERE q.token = $1",
    )
    .bind(token)
    .fetch_optional(&mut *global)
    .await?;
    global.commit().await?;
    let Some(TokenRow {
        tenant_id,
        qr_code_id,
        code,
        name,
        time_zone,
        status,
        contact_phone: contact,
    }) = found
    else {
        return Err(ApiError::NotFound);
    };
    if TenantStatus::parse(&status) != Some(TenantStatus::Active) {
        return Ok(Lookup::Closed(Closed::Suspended {
            township: name,
            contact,
        }));
    }
    let tenant = TenantInfo {
        id: TenantId::from_uuid(tenant_id),
        code,
        name,
        time_zone,
    };
    // The code's node, its path up to the township, and the categories: one query.
    let mut tx = db.tenant(tenant.id).await?;
    let node: Option<NodeRow> = sqlx::query_as(
        "SELECT n.id, n.code, n.name, n.kind, n.active, q.revoked_at, \
             ARRAY( \
                 WITH RECURSIVE up(id, parent_id, name, kind, depth) AS ( \
                     SELECT g.id, g.parent_id, g.name, g.kind, 0 FROM routing.grid_nodes g \
                     WHERE g.tenant_id = $1 AND g.id = n.id \
                     UNION ALL \
                     SELECT p.id, p.parent_id, p.name, p.kind, up.depth + 1 FROM routing.grid_nodes p \
                     JOIN up ON p.id = up.parent_id WHERE p.tenant_id = $1 AND up.depth < 32) \
                 SELECT name FROM up WHERE depth > 0 AND kind <> 'township' ORDER BY depth DESC \
             ) AS path, \
             (SELECT coalesce(jsonb_agg(jsonb_build_object('code', c.code, 'name_zh', c.name_zh, \
                         'name_en', c.name_en, 'icon', c.icon) ORDER BY c.position, c.code), '[]'::jsonb) \
              FROM routing.categories c WHERE c.tenant_id = $1 AND c.active) AS categories \
         FROM routing.qr_codes q JOIN routing.grid_nodes n ON n.tenant_id = q.tenant_id AND n.id = q.node_id \
         WHERE q.tenant_id = $1 AND q.id = $2",
    )
    .bind(tenant.id.as_uuid())
    .bind(qr_code_id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let Some(node) = node else {
        return Err(ApiError::NotFound);
    };
    if node.revoked_at.is_some() || !node.active {
        return Ok(Lookup::Closed(Closed::Replaced {
            township: tenant.name,
            contact,
        }));
    }
    let node_id = node.id;
    let (node_code, node_name, kind, path) = (node.code, node.name, node.kind, node.path);
    let categories = node.categories.0;
    Ok(Lookup::Open(QrContext {
        qr_code_id: QrCodeId::from_uuid(qr_code_id),
        tenant,
        node: NodeInfo {
            id: GridNodeId::from_uuid(node_id),
            code: node_code,
            name: node_name,
            kind,
            path,
        },
        categories,
    }))
}

/// Counts one opening of the landing page of `ctx`'s code, per local day.
pub async fn count_scan(db: &Db, ctx: &QrContext) -> Result<(), ApiError> {
    let day = chrono::Utc::now()
        .with_timezone(&ctx.tenant.zone())
        .date_naive();
    let mut tx = db.tenant(ctx.tenant.id).await?;
    sqlx::query(
        "INSERT INTO intake.qr_scans (tenant_id, qr_code_id, day, scans) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (tenant_id, qr_code_id, day) DO UPDATE SET scans = intake.qr_scans.scans + 1",
    )
    .bind(ctx.tenant.id.as_uuid())
    .bind(ctx.qr_code_id.as_uuid())
    .bind(day)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
