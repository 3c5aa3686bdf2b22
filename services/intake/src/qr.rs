//! Resolving a scanned QR token: which tenant and grid it belongs to, and what the
//! citizen can choose there.

use mashang_bus::{Service, outbox};
use mashang_db::Db;
use mashang_domain::events::QrScanned;
use mashang_domain::tenant::TenantStatus;
use mashang_domain::{GridNodeId, QrCodeId, TenantCode, TenantId};
use mashang_http::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a valid token leads to.
#[derive(Clone, Debug, Serialize)]
pub struct QrContext {
    /// The QR code; `None` for a report that came through none (Open311).
    #[serde(skip)]
    pub qr_code_id: Option<QrCodeId>,
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

/// A row of `intake.qr_context`: the token's tenant, and its code's node (absent when
/// the code's row is missing).
#[derive(sqlx::FromRow)]
struct ContextRow {
    tenant_id: Uuid,
    qr_code_id: Uuid,
    tenant_code: String,
    tenant_name: String,
    time_zone: String,
    tenant_status: String,
    contact_phone: Option<String>,
    node_id: Option<Uuid>,
    node_code: Option<String>,
    node_name: Option<String>,
    node_kind: Option<String>,
    node_active: Option<bool>,
    revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    path: Option<Vec<String>>,
    categories: Option<sqlx::types::Json<Vec<CategoryInfo>>>,
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

/// Whether `token` could be one we issued (URL-safe base64, at most 64 characters);
/// anything else is not found without asking the database, which cannot even take
/// some text (a NUL from `/q/%00`).
pub fn token_well_formed(token: &str) -> bool {
    (1..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Looks a token up. Unknown tokens are "not found". One round trip: the function
/// `intake.qr_context` finds the token's tenant and reads the rest as that tenant.
pub async fn lookup(db: &Db, token: &str) -> Result<Lookup, ApiError> {
    if !token_well_formed(token) {
        return Err(ApiError::NotFound);
    }
    let found: Option<ContextRow> = db
        .global_one_trip(sqlx::query_as("SELECT * FROM intake.qr_context($1)").bind(token))
        .await?;
    let Some(row) = found else {
        return Err(ApiError::NotFound);
    };
    if TenantStatus::parse(&row.tenant_status) != Some(TenantStatus::Active) {
        return Ok(Lookup::Closed(Closed::Suspended {
            township: row.tenant_name,
            contact: row.contact_phone,
        }));
    }
    let (
        Some(node_id),
        Some(node_code),
        Some(node_name),
        Some(kind),
        Some(active),
        Some(path),
        Some(categories),
    ) = (
        row.node_id,
        row.node_code,
        row.node_name,
        row.node_kind,
        row.node_active,
        row.path,
        row.categories,
    )
    else {
        return Err(ApiError::NotFound);
    };
    if row.revoked_at.is_some() || !active {
        return Ok(Lookup::Closed(Closed::Replaced {
            township: row.tenant_name,
            contact: row.contact_phone,
        }));
    }
    Ok(Lookup::Open(QrContext {
        qr_code_id: Some(QrCodeId::from_uuid(row.qr_code_id)),
        tenant: TenantInfo {
            id: TenantId::from_uuid(row.tenant_id),
            code: row.tenant_code,
            name: row.tenant_name,
            time_zone: row.time_zone,
        },
        node: NodeInfo {
            id: GridNodeId::from_uuid(node_id),
            code: node_code,
            name: node_name,
            kind,
            path,
        },
        categories: categories.0,
    }))
}

/// Counts one opening of the landing page of `ctx`'s code, per local day, and tells
/// analytics (`qr.scanned`) in the same transaction.
pub async fn count_scan(db: &Db, ctx: &QrContext) -> Result<(), ApiError> {
    let Some(qr_code_id) = ctx.qr_code_id else {
        return Ok(());
    };
    let now = chrono::Utc::now();
    let day = now.with_timezone(&ctx.tenant.zone()).date_naive();
    let mut tx = db.tenant(ctx.tenant.id).await?;
    sqlx::query(
        "INSERT INTO intake.qr_scans (tenant_id, qr_code_id, day, scans) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (tenant_id, qr_code_id, day) DO UPDATE SET scans = intake.qr_scans.scans + 1",
    )
    .bind(ctx.tenant.id.as_uuid())
    .bind(qr_code_id.as_uuid())
    .bind(day)
    .execute(&mut *tx)
    .await?;
    let event = QrScanned {
        qr_code_id,
        grid_node_id: ctx.node.id,
        scanned_at: now,
    };
    outbox::record(&mut tx, Service::Intake, now, &event)
        .await
        .map_err(ApiError::internal)?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod fuzz_tests {
    //! A QR token arrives in a URL path and in form fields: whatever the text, it is
    //! a token to look up or "not found", never a database error.

    use base64::Engine;
    use mashang_db::testing::TestDatabase;
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn fuzz_issued_qr_tokens_are_well_formed(bytes in any::<[u8; 16]>()) {
            // As routing issues them: 16 random bytes, URL-safe base64.
            let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
            prop_assert!(token_well_formed(&token));
        }

        #[test]
        fn fuzz_qr_token_text_outside_the_alphabet_is_refused(text in "\\PC{0,80}|.{0,4}\\x00.{0,4}") {
            let plausible = !text.is_empty()
                && text.len() <= 64
                && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            prop_assert_eq!(token_well_formed(&text), plausible);
        }
    }

    #[tokio::test]
    async fn a_token_the_database_cannot_take_is_not_found() {
        let test = TestDatabase::create().await;
        for token in ["\0", "a\0b", "%00", "x".repeat(65).as_str(), "", "草滩"] {
            let outcome = lookup(&test.db, token).await;
            assert!(
                matches!(outcome, Err(ApiError::NotFound)),
                "{token:?}: {:?}",
                outcome.err()
            );
        }
    }
}
