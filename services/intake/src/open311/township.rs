//! Whose request it is: the township (`jurisdiction_id`, its code; a deployment with
//! one township may leave it out) and the integration (`api_key`, a live key of that
//! township).

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use mashang_db::Db;
use mashang_domain::TenantId;
use uuid::Uuid;

use super::answer::Refusal;

/// Longest `jurisdiction_id` worth looking up (township codes have at most 16).
const MAX_JURISDICTION: usize = 16;

/// The township a request is for.
#[derive(Clone, Debug)]
pub(crate) struct Township {
    /// Its tenant.
    pub id: TenantId,
    /// Its code: the `jurisdiction_id`.
    pub code: String,
    /// Its name (草滩镇): the agency responsible.
    pub name: String,
    /// Its zone, in which times are written.
    pub zone: Tz,
}

impl Township {
    /// `at` as a W3C date-time in the township's zone (`2026-12-04T09:30:00+08:00`).
    pub(crate) fn w3c(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.zone)
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

type TenantRow = (Uuid, String, String, String, String);

/// The township named by `jurisdiction`, or the deployment's only one when it is
/// absent. Unknown: 404; absent with several townships: 400; suspended: 403.
pub(crate) async fn find(db: &Db, jurisdiction: Option<&str>) -> Result<Township, Refusal> {
    let jurisdiction = jurisdiction.map(str::trim).filter(|j| !j.is_empty());
    let mut tx = db.global().await?;
    let rows: Vec<TenantRow> = match jurisdiction {
        Some(code) if code.len() > MAX_JURISDICTION => Vec::new(),
        Some(code) => {
            sqlx::query_as(
                "SELECT id, code, name, time_zone, status FROM routing.tenants WHERE code = $1",
            )
            .bind(code)
            .fetch_all(&mut *tx)
            .await?
        }
        None => {
            sqlx::query_as(
                "SELECT id, code, name, time_zone, status FROM routing.tenants \
                 WHERE status = 'active' ORDER BY code LIMIT 2",
            )
            .fetch_all(&mut *tx)
            .await?
        }
    };
    tx.commit().await?;
    let row = match (jurisdiction, <[TenantRow; 1]>::try_from(rows)) {
        (_, Ok([row])) => row,
        (Some(_), Err(_)) => {
            return Err(Refusal::not_found("没有这个乡镇 (unknown jurisdiction_id)"));
        }
        (None, Err(_)) => {
            return Err(Refusal::bad(
                "请用 jurisdiction_id 指明乡镇 (jurisdiction_id is required: this service serves several townships)",
            ));
        }
    };
    let (id, code, name, time_zone, status) = row;
    if status != "active" {
        return Err(Refusal::forbidden(
            "本乡镇的码上反映服务已暂停 (this township's service is suspended)",
        ));
    }
    Ok(Township {
        id: TenantId::from_uuid(id),
        code,
        name,
        zone: time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai),
    })
}

/// The id of the integration whose live key `api_key` is, in `township`; 403 when
/// there is no key or it is not one.
pub(crate) async fn integration(
    db: &Db,
    township: &Township,
    api_key: Option<&str>,
) -> Result<Uuid, Refusal> {
    let Some(key) = api_key.map(str::trim).filter(|k| !k.is_empty()) else {
        return Err(Refusal::forbidden(
            "缺少 api_key，请向乡镇管理员申请 (api_key is required: ask the township's administrator for one)",
        ));
    };
    let mut tx = db.tenant(township.id).await?;
    let found = mashang_auth::open311_key_in_use(&mut tx, key).await?;
    tx.commit().await?;
    found.ok_or_else(|| Refusal::forbidden("api_key 无效或已停用 (invalid or revoked api_key)"))
}
