//! The change log (操作记录): who changed which rule, person, QR code, setting or
//! township, when, and the row before and after. The database writes it (a trigger on
//! each configuration table, migration `20261204000020_change_log.sql`); this module
//! reads it, for a township's administrator (`GET /api/v1/admin/audit`, and the page
//! `/admin/audit`) and for the county, every township's (`GET /api/v1/county/audit`,
//! `/county/audit`).

use std::collections::HashMap;

use axum::extract::{Query, State};
use chrono::{DateTime, NaiveDate, Utc};
use mashang_auth::permissions::{Action, Target};
use mashang_auth::{Auth, Principal};
use mashang_db::Db;
use mashang_domain::{TenantCode, TenantId};
use mashang_http::{ApiError, ApiJson, ApiQuery};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::allow;
use crate::RoutingState;
use crate::directory::tenants;
use mashang_http::openapi::{
    BadRequestError, NotFoundError, QueryErrors, StaffErrors, Unavailable,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(township_log))
        .routes(routes!(county_log))
}

/// The most entries one page holds.
pub(crate) const MAX_LIMIT: i64 = 100;

/// The tables the log covers, with their names as people read them.
pub(crate) const ENTITIES: [(&str, &str, &str); 16] = [
    ("tenants", "乡镇", "Township"),
    ("tenant_settings", "乡镇设置", "Township settings"),
    ("grid_nodes", "网格", "Grid"),
    ("staff_users", "人员", "Person"),
    ("staff_roles", "角色", "Role"),
    ("reset_codes", "重置码", "Reset code"),
    ("categories", "类别", "Category"),
    ("qr_codes", "二维码", "QR code"),
    ("sla_policies", "办理时限", "SLA policy"),
    ("calendars", "工作日历", "Working calendar"),
    ("calendar_overrides", "节假日调整", "Calendar override"),
    ("assignment_rules", "分派规则", "Assignment rule"),
    ("reply_templates", "常用语", "Reply template"),
    ("api_tokens", "接口令牌", "API token"),
    ("open311_keys", "接口密钥", "Open311 key"),
    ("channels", "通知渠道", "Notification channel"),
];

/// What to list.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LogQuery {
    /// One table of [`ENTITIES`].
    pub entity: Option<String>,
    /// The first and last local day (the township's zone), inclusive.
    pub from: Option<String>,
    pub to: Option<String>,
    /// One township (county only), by code.
    pub township: Option<String>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// One entry.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Entry {
    pub id: Uuid,
    pub township: String,
    pub at: DateTime<Utc>,
    /// `staff`, `county`, `token` or `system`.
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    /// The person's (or token's) name as it is now.
    pub actor_name: Option<String>,
    pub entity: String,
    pub entity_key: String,
    /// `insert`, `update` or `delete`.
    pub operation: String,
    /// The columns an update changed.
    pub changed: Vec<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// The names of the people and grid nodes whose ids the entry holds, as they are
    /// now (for the page; clients look ids up themselves).
    #[serde(skip)]
    pub names: HashMap<Uuid, String>,
}

/// A checked [`LogQuery`].
#[derive(Clone, Debug)]
pub(crate) struct Filter {
    pub entity: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub township: Option<TenantCode>,
    pub cursor: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

impl LogQuery {
    /// Checks every field; the errors name the fields.
    pub(crate) fn check(&self) -> Result<Filter, ApiError> {
        let mut errors = Vec::new();
        let entity = self.entity.as_deref().filter(|e| !e.is_empty());
        if entity.is_some_and(|e| !ENTITIES.iter().any(|(k, ..)| *k == e)) {
            errors.push(("entity", "没有这一类记录 (unknown kind)"));
        }
        let day = |raw: &Option<String>, field: &'static str, errors: &mut Vec<_>| {
            let raw = raw.as_deref().filter(|d| !d.is_empty())?;
            let parsed = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok();
            if parsed.is_none() {
                errors.push((field, "日期格式为 2026-12-01 (a date like 2026-12-01)"));
            }
            parsed
        };
        let from = day(&self.from, "from", &mut errors);
        let to = day(&self.to, "to", &mut errors);
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            errors.push(("to", "结束日期早于开始日期 (ends before it starts)"));
        }
        let township = match self.township.as_deref().filter(|t| !t.is_empty()) {
            Some(t) => match TenantCode::parse(t) {
                Ok(code) => Some(code),
                Err(_) => {
                    errors.push(("township", "没有这个乡镇 (unknown township)"));
                    None
                }
            },
            None => None,
        };
        let cursor = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => match decode_cursor(c) {
                Some(at) => Some(at),
                None => {
                    errors.push(("cursor", "翻页参数无效 (invalid cursor)"));
                    None
                }
            },
            None => None,
        };
        let limit = self.limit.unwrap_or(50);
        if !(1..=MAX_LIMIT).contains(&limit) {
            errors.push(("limit", "每页1到100条 (1 to 100 a page)"));
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(
                errors
                    .into_iter()
                    .map(|(f, m)| mashang_http::FieldError::new(f, m))
                    .collect(),
            ));
        }
        Ok(Filter {
            entity: entity.map(str::to_owned),
            from,
            to,
            township,
            cursor,
            limit,
        })
    }
}

/// `<micros since the epoch>_<id>`.
pub(crate) fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}_{}", at.timestamp_micros(), id.simple())
}

fn decode_cursor(raw: &str) -> Option<(DateTime<Utc>, Uuid)> {
    if raw.len() > 64 {
        return None;
    }
    let (micros, id) = raw.split_once('_')?;
    Some((
        DateTime::from_timestamp_micros(micros.parse().ok()?)?,
        Uuid::try_parse(id).ok()?,
    ))
}

type Row = (
    Uuid,
    DateTime<Utc>,
    String,
    Option<Uuid>,
    Option<String>,
    String,
    String,
    String,
    Vec<String>,
    Option<Value>,
    Option<Value>,
);

/// One township's entries, newest first: at most `filter.limit`, and whether more
/// follow.
pub(crate) async fn entries(
    db: &Db,
    tenant: TenantId,
    township: &str,
    filter: &Filter,
) -> Result<(Vec<Entry>, bool), ApiError> {
    let mut tx = db.tenant(tenant).await?;
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT l.id, l.at, l.actor_kind, l.actor_id, coalesce(s.name, cu.name, k.name), \
                l.entity, l.entity_key, l.operation, l.changed, l.before, l.after \
         FROM routing.change_log l \
         LEFT JOIN routing.staff_users s ON l.actor_kind = 'staff' AND s.tenant_id = l.tenant_id AND s.id = l.actor_id \
         LEFT JOIN routing.county_users cu ON l.actor_kind = 'county' AND cu.id = l.actor_id \
         LEFT JOIN routing.api_tokens k ON l.actor_kind = 'token' AND k.tenant_id = l.tenant_id AND k.id = l.actor_id \
         WHERE l.tenant_id = $1 \
           AND ($2::text IS NULL OR l.entity = $2) \
           AND ($3::date IS NULL OR l.at >= $3::date::timestamp AT TIME ZONE (SELECT time_zone FROM routing.tenants WHERE id = $1)) \
           AND ($4::date IS NULL OR l.at < ($4::date + 1)::timestamp AT TIME ZONE (SELECT time_zone FROM routing.tenants WHERE id = $1)) \
           AND ($5::timestamptz IS NULL OR (l.at, l.id) < ($5, $6)) \
         ORDER BY l.at DESC, l.id DESC LIMIT $7",
    )
    .bind(tenant.as_uuid())
    .bind(filter.entity.as_deref())
    .bind(filter.from)
    .bind(filter.to)
    .bind(filter.cursor.map(|c| c.0))
    .bind(filter.cursor.map(|c| c.1))
    .bind(filter.limit + 1)
    .fetch_all(&mut *tx)
    .await?;
    // The people and nodes the entries name by id.
    let mut ids: Vec<Uuid> = Vec::new();
    for row in &rows {
        ids.extend(row.6.split('/').filter_map(|k| Uuid::try_parse(k).ok()));
        for side in [&row.9, &row.10].into_iter().flatten() {
            if let Some(o) = side.as_object() {
                ids.extend(
                    o.values()
                        .filter_map(|v| v.as_str().and_then(|t| Uuid::try_parse(t).ok())),
                );
            }
        }
    }
    ids.sort_unstable();
    ids.dedup();
    let names: HashMap<Uuid, String> = sqlx::query_as::<_, (Uuid, String)>(
        "SELECT id, name FROM routing.staff_users WHERE tenant_id = $1 AND id = ANY($2) \
         UNION ALL SELECT id, name FROM routing.grid_nodes WHERE tenant_id = $1 AND id = ANY($2)",
    )
    .bind(tenant.as_uuid())
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    tx.commit().await?;
    let more = rows.len() as i64 > filter.limit;
    Ok((
        rows.into_iter()
            .take(filter.limit as usize)
            .map(
                |(
                    id,
                    at,
                    actor_kind,
                    actor_id,
                    actor_name,
                    entity,
                    key,
                    op,
                    changed,
                    before,
                    after,
                )| {
                    Entry {
                        id,
                        township: township.to_owned(),
                        at,
                        actor_kind,
                        actor_id,
                        actor_name,
                        entity,
                        entity_key: key,
                        operation: op,
                        changed,
                        before,
                        after,
                        names: names.clone(),
                    }
                },
            )
            .collect(),
        more,
    ))
}

/// The county's view: one township's entries, or every township's merged newest first.
pub(crate) async fn county_entries(
    db: &Db,
    filter: &Filter,
) -> Result<(Vec<Entry>, bool), ApiError> {
    let all = tenants::list_tenants(db).await?;
    let mut out = Vec::new();
    let mut more = false;
    for t in all {
        if filter
            .township
            .as_ref()
            .is_some_and(|c| c.as_str() != t.code)
        {
            continue;
        }
        let (mut found, rest) = entries(db, TenantId::from_uuid(t.id), &t.code, filter).await?;
        more |= rest;
        out.append(&mut found);
    }
    out.sort_by_key(|e| std::cmp::Reverse((e.at, e.id)));
    if out.len() as i64 > filter.limit {
        out.truncate(filter.limit as usize);
        more = true;
    }
    Ok((out, more))
}

/// Whether `principal` reads the township's log: its administrators.
pub(crate) fn may_read_township(principal: &Principal) -> Result<(), ApiError> {
    allow(principal, Action::ConfigureRouting, Target::Township)
}

/// Whether `principal` reads every township's log: the county's staff.
pub(crate) fn may_read_county(principal: &Principal) -> Result<(), ApiError> {
    allow(principal, Action::ViewCounty, Target::County)
}

fn answer(entries: Vec<Entry>, more: bool) -> Value {
    let next = more
        .then(|| entries.last().map(|e| encode_cursor(e.at, e.id)))
        .flatten();
    json!({"entries": entries, "next_cursor": next})
}

/// `GET /api/v1/admin/audit?entity=&from=&to=&cursor=&limit=`.
#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", operation_id = "get_api_v1_admin_audit",
    summary = "变更记录 (The township change log: who changed what, when)",
    params(LogQuery),
    responses(
        (status = 200, description = "记录 (The entries)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
        BadRequestError,
        QueryErrors,
    ))]
async fn township_log(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<ApiJson<Value>, ApiError> {
    may_read_township(&principal)?;
    let filter = LogQuery {
        township: None,
        ..q
    }
    .check()?;
    let tenant = principal.require_tenant()?;
    let code = tenants::list_tenants(&state.db)
        .await?
        .into_iter()
        .find(|t| t.id == tenant.as_uuid())
        .map(|t| t.code)
        .unwrap_or_default();
    let (found, more) = entries(&state.db, tenant, &code, &filter).await?;
    Ok(ApiJson(answer(found, more)))
}

/// `GET /api/v1/county/audit?township=&entity=&from=&to=&cursor=&limit=`.
#[utoipa::path(get, path = "/api/v1/county/audit", tag = "county", operation_id = "get_api_v1_county_audit",
    summary = "县级变更记录 (The county change log)",
    params(LogQuery),
    responses(
        (status = 200, description = "记录 (The entries)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
        BadRequestError,
        QueryErrors,
    ))]
async fn county_log(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<ApiJson<Value>, ApiError> {
    may_read_county(&principal)?;
    let filter = q.check()?;
    let (found, more) = county_entries(&state.db, &filter).await?;
    Ok(ApiJson(answer(found, more)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_nonsense_is_refused() {
        let at = DateTime::from_timestamp_micros(1_764_000_000_123_456).expect("a time");
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(at, id)), Some((at, id)));
        for bad in ["", "x_y", "1_", &"9".repeat(80)] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_query_names_each_bad_field() {
        let q = LogQuery {
            entity: Some("cases".into()),
            from: Some("2026-13-01".into()),
            limit: Some(1000),
            ..LogQuery::default()
        };
        let Err(ApiError::Validation(errors)) = q.check() else {
            panic!("refused");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["entity", "from", "limit"]);
        assert!(LogQuery::default().check().is_ok());
    }
}
