//! 操作记录: the change log as pages, `/admin/audit` for a township's administrators
//! (their township's) and `/county/audit` for the county (every township's, or one).
//! Read-only; the filters are a plain GET form.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono_tz::Tz;
use mashang_http::ApiError;
use serde_json::Value;
use uuid::Uuid;

use super::layout::{Chrome, PageError, Person, render};
use crate::RoutingState;
use crate::directory::tenants;
use crate::http::change_log::{
    ENTITIES, Entry, LogQuery, county_entries, encode_cursor, entries, may_read_county,
    may_read_township,
};
use mashang_http::openapi::{Html, PageErrors};

/// One entry as shown.
#[derive(Debug)]
pub(super) struct Line {
    pub when: String,
    pub township: String,
    pub who: String,
    pub what: &'static str,
    pub key: String,
    pub operation: &'static str,
    /// (field, before, after).
    pub changes: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    chrome: Chrome,
    county: bool,
    action: &'static str,
    q: LogQuery,
    entities: &'static [(&'static str, &'static str, &'static str)],
    townships: Vec<(String, String)>,
    errors: Vec<String>,
    lines: Vec<Line>,
    more: Option<String>,
}

/// `GET /admin/audit`.
#[utoipa::path(get, path = "/admin/audit", tag = "pages", operation_id = "get_admin_audit",
    summary = "变更记录 (The change log page)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn township(
    State(state): State<RoutingState>,
    person: Person,
    Query(q): Query<LogQuery>,
) -> Result<Response, PageError> {
    may_read_township(&person.principal)?;
    let tenant = person
        .principal
        .tenant()
        .ok_or_else(|| PageError::from(ApiError::Forbidden(String::new())))?;
    let q = LogQuery {
        township: None,
        ..q
    };
    let all = tenants::list_tenants(&state.db).await?;
    let mine = all.iter().find(|t| t.id == tenant.as_uuid());
    let (code, zone) = mine
        .map(|t| (t.code.clone(), zone_of(&t.time_zone)))
        .unwrap_or_default();
    let zones = HashMap::from([(code.clone(), zone)]);
    let found = match q.check() {
        Ok(filter) => Ok(entries(&state.db, tenant, &code, &filter).await?),
        Err(err) => Err(err),
    };
    page(person.chrome, false, q, Vec::new(), &zones, found)
}

/// `GET /county/audit`.
#[utoipa::path(get, path = "/county/audit", tag = "pages", operation_id = "get_county_audit",
    summary = "县级变更记录 (The county change log page)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn county(
    State(state): State<RoutingState>,
    person: Person,
    Query(q): Query<LogQuery>,
) -> Result<Response, PageError> {
    may_read_county(&person.principal)?;
    let all = tenants::list_tenants(&state.db).await?;
    let zones: HashMap<String, Tz> = all
        .iter()
        .map(|t| (t.code.clone(), zone_of(&t.time_zone)))
        .collect();
    let townships = all
        .iter()
        .map(|t| (t.code.clone(), t.name.clone()))
        .collect();
    let found = match q.check() {
        Ok(filter) => Ok(county_entries(&state.db, &filter).await?),
        Err(err) => Err(err),
    };
    page(person.chrome, true, q, townships, &zones, found)
}

fn zone_of(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::Asia::Shanghai)
}

fn page(
    chrome: Chrome,
    county: bool,
    q: LogQuery,
    townships: Vec<(String, String)>,
    zones: &HashMap<String, Tz>,
    found: Result<(Vec<Entry>, bool), ApiError>,
) -> Result<Response, PageError> {
    let (status, errors, entries, more) = match found {
        Ok((entries, more)) => (StatusCode::OK, Vec::new(), entries, more),
        Err(ApiError::Validation(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            errors.into_iter().map(|e| e.message).collect(),
            Vec::new(),
            false,
        ),
        Err(other) => return Err(other.into()),
    };
    let action = if county {
        "/county/audit"
    } else {
        "/admin/audit"
    };
    let more = more
        .then(|| entries.last().map(|e| encode_cursor(e.at, e.id)))
        .flatten()
        .map(|cursor| {
            let mut link = format!("{action}?cursor={cursor}");
            for (key, value) in [
                ("entity", &q.entity),
                ("from", &q.from),
                ("to", &q.to),
                ("township", &q.township),
            ] {
                if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                    link.push_str(&format!("&{key}={}", encode(v)));
                }
            }
            link
        });
    let lines = entries
        .into_iter()
        .map(|e| line(e, zones, &townships))
        .collect();
    Ok(render(
        status,
        &AuditPage {
            chrome,
            county,
            action,
            q,
            entities: &ENTITIES,
            townships,
            errors,
            lines,
            more,
        },
    ))
}

/// Percent-encodes a filter value for the next page's link.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn line(e: Entry, zones: &HashMap<String, Tz>, townships: &[(String, String)]) -> Line {
    let zone = zones
        .get(&e.township)
        .copied()
        .unwrap_or(chrono_tz::Asia::Shanghai);
    let who = match (e.actor_kind.as_str(), e.actor_name) {
        ("system", _) => "系统 (system)".to_owned(),
        ("county", Some(name)) => format!("{name}（县综治中心）"),
        ("token", Some(name)) => format!("接口令牌 {name} (API token)"),
        (_, Some(name)) => name,
        (_, None) => "（已删除）(removed)".to_owned(),
    };
    let what = ENTITIES
        .iter()
        .find(|(k, ..)| *k == e.entity)
        .map(|(_, zh, _)| *zh)
        .unwrap_or("其他");
    let operation = match e.operation.as_str() {
        "insert" => "新增 (added)",
        "delete" => "删除 (removed)",
        _ => "修改 (changed)",
    };
    let fields: Vec<String> = match e.operation.as_str() {
        "update" => e.changed.clone(),
        _ => {
            let row = e.after.as_ref().or(e.before.as_ref());
            row.and_then(Value::as_object)
                .map(|o| {
                    o.keys()
                        .filter(|k| !HIDDEN.contains(&k.as_str()))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default()
        }
    };
    let named = |text: String| match Uuid::try_parse(&text).ok().and_then(|id| e.names.get(&id)) {
        Some(name) => name.clone(),
        None => text,
    };
    let changes = fields
        .into_iter()
        .map(|f| {
            let get = |row: &Option<Value>| {
                row.as_ref()
                    .and_then(|r| r.get(&f))
                    .map(show)
                    .map(named)
                    .map(|v| role_label(&v).map(str::to_owned).unwrap_or(v))
                    .unwrap_or_else(|| "—".to_owned())
            };
            (label(&f), get(&e.before), get(&e.after))
        })
        .collect();
    let township = townships
        .iter()
        .find(|(code, _)| *code == e.township)
        .map(|(_, name)| name.clone())
        .unwrap_or(e.township);
    Line {
        when: e
            .at
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        township,
        who,
        what,
        key: e
            .entity_key
            .split('/')
            .map(|k| named(k.to_owned()))
            .map(|k| role_label(&k).map(str::to_owned).unwrap_or(k))
            .collect::<Vec<_>>()
            .join(" · "),
        operation,
        changes,
    }
}

/// Columns an added or removed row does not list (ids and bookkeeping).
const HIDDEN: [&str; 4] = ["tenant_id", "id", "created_at", "user_id"];

/// A value in words: text as it is, yes/no, nothing as a dash, the rest as compact
/// JSON; long values cut.
fn show(value: &Value) -> String {
    let text = match value {
        Value::Null => "—".to_owned(),
        Value::Bool(true) => "是 (yes)".to_owned(),
        Value::Bool(false) => "否 (no)".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 200 {
        format!("{}…", text.chars().take(200).collect::<String>())
    } else {
        text
    }
}

/// A role's name as people read it (role keys name them by code).
fn role_label(code: &str) -> Option<&'static str> {
    mashang_domain::role::Role::parse(code).map(|r| r.name_zh())
}

/// A column's name as people read it.
fn label(column: &str) -> String {
    let zh = match column {
        "name" => "名称",
        "name_zh" => "中文名称",
        "name_en" => "英文名称",
        "phone" | "contact_phone" => "电话",
        "email" => "电子邮件",
        "username" => "登录名",
        "password_hash" => "密码",
        "active" => "启用",
        "on_duty" => "在岗",
        "leave_from" => "请假开始",
        "leave_until" => "请假结束",
        "substitute_id" => "代班人",
        "role" | "target_role" => "角色",
        "node_id" | "within_node" => "节点",
        "target_node" => "派往节点",
        "parent_id" => "上级节点",
        "code" => "编码",
        "kind" => "类型",
        "position" => "顺序",
        "status" => "状态",
        "time_zone" => "时区",
        "suspended_at" => "暂停时间",
        "revoked_at" => "作废时间",
        "triage_mode" | "triage" => "受理审核",
        "reassign_on_breach" => "超时改派",
        "default_priority" => "默认优先级",
        "category" => "类别",
        "priority" => "优先级",
        "policy" => "时限",
        "weekly" => "每周工作时间",
        "published_years" => "年度日历",
        "day" => "日期",
        "hours" => "工作时间",
        "text" => "内容",
        "icon" => "图标",
        "token" => "二维码令牌",
        "code_hash" => "重置码",
        "expires_at" => "有效期至",
        "issued_by" => "签发人",
        "created_by" => "创建人",
        _ => return column.to_owned(),
    };
    format!("{zh} ({column})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_and_columns_read_as_words() {
        assert_eq!(show(&json!(null)), "—");
        assert_eq!(show(&json!(true)), "是 (yes)");
        assert_eq!(show(&json!("道路")), "道路");
        assert_eq!(show(&json!({"a": 1})), r#"{"a":1}"#);
        assert!(show(&json!("长".repeat(300))).ends_with('…'));
        assert_eq!(label("on_duty"), "在岗 (on_duty)");
        assert_eq!(label("mystery"), "mystery");
        assert_eq!(encode("a b&c"), "a%20b%26c");
    }
}
