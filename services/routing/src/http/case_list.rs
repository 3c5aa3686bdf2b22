//! `GET /api/v1/cases`: the cases a person's roles reach, soonest deadline first, with
//! the filters the township centre works with, a page at a time by keyset: the next
//! page starts after the last line's (deadline, id), so page 1 000 costs what page 1
//! does.

use axum::extract::State;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use mashang_auth::permissions::{Action as Permission, Target, visibility};
use mashang_auth::{Auth, Principal};
use mashang_domain::GridNodeId;
use mashang_domain::case::CaseState;
use mashang_http::{ApiError, ApiJson, ApiQuery, FieldError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{allow, tenant_tx};
use crate::RoutingState;
use crate::directory::nodes;
use mashang_http::openapi::{
    BadRequestError, NotFoundError, QueryErrors, StaffErrors, Unavailable,
};

/// Lines per page unless asked otherwise, and at most.
const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;
/// The longest text searched for in descriptions.
const MAX_SEARCH_CHARS: usize = 50;
/// The furthest ahead "due within" may look: a week.
const MAX_DUE_WITHIN_MINUTES: i64 = 7 * 24 * 60;

/// The query string; every field optional.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only the person's own cases.
    #[serde(default)]
    pub mine: bool,
    /// One state or several, comma-separated (`assigned,acknowledged`).
    pub state: Option<String>,
    /// The grid subtree under this node.
    pub node_id: Option<String>,
    /// Assigned to this person.
    pub assignee_id: Option<String>,
    /// Of this category code.
    pub category: Option<String>,
    /// Past their next deadline.
    #[serde(default)]
    pub overdue: bool,
    /// Next deadline within this many minutes from now (not yet past).
    pub due_within_minutes: Option<i64>,
    /// Held for the township centre's triage.
    #[serde(default)]
    pub triage: bool,
    /// Submitted on or after this day (`2026-12-01`, the township's calendar).
    pub from: Option<String>,
    /// Submitted on or before this day.
    pub to: Option<String>,
    /// A tracking number (exact), or text in the description.
    pub q: Option<String>,
    /// Lines per page (1–200).
    pub limit: Option<i64>,
    /// Where the next page starts: `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One line of the list.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub(crate) struct CaseLine {
    pub id: Uuid,
    pub tracking_number: String,
    pub category: String,
    pub state: String,
    pub priority: String,
    pub grid_node_id: Uuid,
    pub assignee_id: Option<Uuid>,
    pub in_triage: bool,
    pub vacancy: bool,
    pub submitted_at: DateTime<Utc>,
    pub first_response_due: Option<DateTime<Utc>>,
    pub resolution_due: Option<DateTime<Utc>>,
    pub follow_up_due: Option<DateTime<Utc>>,
    pub deadlines_provisional: bool,
    pub next_deadline: Option<DateTime<Utc>>,
    #[sqlx(skip)]
    pub time_left_seconds: Option<i64>,
    #[sqlx(skip)]
    pub overdue: bool,
}

/// The validated filters, ready to bind.
#[derive(Debug, Default)]
struct Filters {
    states: Option<Vec<String>>,
    node: Option<GridNodeId>,
    assignee: Option<Uuid>,
    category: Option<String>,
    due_within: Option<i64>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    tracking_number: Option<String>,
    text: Option<String>,
    limit: i64,
    after: Option<(String, Uuid)>,
}

fn day(field: &str, raw: &Option<String>) -> Result<Option<NaiveDate>, FieldError> {
    raw.as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                FieldError::new(field, "日期格式应为 2026-12-01 (a date like 2026-12-01)")
            })
        })
        .transpose()
}

fn uuid_field(field: &str, raw: &Option<String>) -> Result<Option<Uuid>, FieldError> {
    raw.as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| FieldError::new(field, "不是有效的编号 (not an id)"))
        })
        .transpose()
}

/// Whether `text` is written like a tracking number (`CAOTAN-20261126-0042`).
fn looks_like_tracking_number(text: &str) -> bool {
    let mut parts = text.split('-');
    let (Some(code), Some(date), Some(seq), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    !code.is_empty()
        && code.chars().all(|c| c.is_ascii_alphanumeric())
        && date.len() == 8
        && date.chars().all(|c| c.is_ascii_digit())
        && !seq.is_empty()
        && seq.chars().all(|c| c.is_ascii_digit())
}

/// A `LIKE` pattern matching `text` anywhere, with its wildcards taken literally.
fn contains_pattern(text: &str) -> String {
    let escaped: String = text
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

fn encode_cursor(deadline: &str, id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{deadline}|{id}"))
}

fn decode_cursor(raw: &str) -> Option<(String, Uuid)> {
    if raw.len() > 200 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (deadline, id) = text.split_once('|')?;
    let ok = deadline == "infinity" || DateTime::parse_from_rfc3339(deadline).is_ok();
    ok.then(|| id.parse().ok().map(|id| (deadline.to_owned(), id)))?
}

impl ListQuery {
    /// Checks every field before any query runs; all errors at once.
    fn validate(&self) -> Result<Filters, ApiError> {
        let mut errors = Vec::new();
        let mut f = Filters {
            limit: self.limit.unwrap_or(DEFAULT_LIMIT),
            ..Filters::default()
        };
        if !(1..=MAX_LIMIT).contains(&f.limit) {
            errors.push(FieldError::new(
                "limit",
                format!("每页 1 到 {MAX_LIMIT} 条 (1 to {MAX_LIMIT})"),
            ));
        }
        if let Some(raw) = self.state.as_deref().filter(|s| !s.is_empty()) {
            let states: Vec<&str> = raw.split(',').map(str::trim).collect();
            if states.len() > 12 || states.iter().any(|s| CaseState::parse(s).is_none()) {
                errors.push(FieldError::new("state", "未知状态 (unknown state)"));
            } else {
                f.states = Some(states.into_iter().map(str::to_owned).collect());
            }
        }
        match uuid_field("node_id", &self.node_id) {
            Ok(node) => f.node = node.map(GridNodeId::from_uuid),
            Err(e) => errors.push(e),
        }
        match uuid_field("assignee_id", &self.assignee_id) {
            Ok(a) => f.assignee = a,
            Err(e) => errors.push(e),
        }
        if let Some(c) = self.category.as_deref().filter(|c| !c.is_empty()) {
            if c.len() > 40 {
                errors.push(FieldError::new(
                    "category",
                    "分类代码过长 (category code too long)",
                ));
            } else {
                f.category = Some(c.to_owned());
            }
        }
        if let Some(m) = self.due_within_minutes {
            if !(1..=MAX_DUE_WITHIN_MINUTES).contains(&m) {
                errors.push(FieldError::new(
                    "due_within_minutes",
                    format!(
                        "1 到 {MAX_DUE_WITHIN_MINUTES} 分钟 (1 to {MAX_DUE_WITHIN_MINUTES} minutes)"
                    ),
                ));
            } else {
                f.due_within = Some(m);
            }
        }
        match (day("from", &self.from), day("to", &self.to)) {
            (Ok(from), Ok(to)) => {
                if let (Some(a), Some(b)) = (from, to)
                    && a > b
                {
                    errors.push(FieldError::new(
                        "to",
                        "结束日期早于开始日期 (ends before it starts)",
                    ));
                }
                (f.from, f.to) = (from, to);
            }
            (a, b) => errors.extend([a.err(), b.err()].into_iter().flatten()),
        }
        if let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            if q.chars().count() > MAX_SEARCH_CHARS {
                errors.push(FieldError::new(
                    "q",
                    format!("最多 {MAX_SEARCH_CHARS} 个字 (at most {MAX_SEARCH_CHARS} characters)"),
                ));
            } else if looks_like_tracking_number(q) {
                f.tracking_number = Some(q.to_uppercase());
            } else {
                f.text = Some(contains_pattern(q));
            }
        }
        if let Some(raw) = self.cursor.as_deref().filter(|c| !c.is_empty()) {
            match decode_cursor(raw) {
                Some(after) => f.after = Some(after),
                None => errors.push(FieldError::new("cursor", "翻页标记无效 (invalid cursor)")),
            }
        }
        if errors.is_empty() {
            Ok(f)
        } else {
            Err(ApiError::Validation(errors))
        }
    }
}

/// The grid nodes whose cases the person's roles reach (`None`: every node), and
/// whether their own cases are reached wherever they are.
async fn reach(
    tx: &mut mashang_db::TenantTx,
    principal: &Principal,
) -> Result<(Option<Vec<Uuid>>, bool), ApiError> {
    Ok(match visibility(principal, Permission::ViewCase) {
        None => (None, true),
        Some(visible) => {
            let mut all = Vec::new();
            for root in visible.subtrees {
                all.extend(
                    nodes::subtree(tx, root)
                        .await?
                        .into_iter()
                        .map(|n| n.as_uuid()),
                );
            }
            (Some(all), visible.own_cases)
        }
    })
}

const LIST_SQL: &str = "\
SELECT id, tracking_number, category, state, priority, grid_node_id, assignee_id, in_triage, vacancy, \
       submitted_at, first_response_due, resolution_due, follow_up_due, deadlines_provisional, \
       NULLIF(list_deadline, 'infinity') AS next_deadline \
FROM routing.cases \
WHERE tenant_id = $1 \
  AND (NOT $2 OR assignee_id = $3) \
  AND ($4::uuid[] IS NULL OR grid_node_id = ANY($4) OR ($5 AND assignee_id = $3)) \
  AND ($6::uuid[] IS NULL OR grid_node_id = ANY($6)) \
  AND ($7::text[] IS NULL OR state = ANY($7)) \
  AND (NOT $8 OR in_triage) \
  AND ($9::uuid IS NULL OR assignee_id = $9) \
  AND ($10::text IS NULL OR category = $10) \
  AND (NOT $11 OR list_deadline < now()) \
  AND ($12::bigint IS NULL OR (list_deadline >= now() AND list_deadline < now() + make_interval(mins => $12::int))) \
  AND ($13::date IS NULL OR submitted_at >= $13::date::timestamp AT TIME ZONE (SELECT time_zone FROM routing.tenants WHERE id = $1)) \
  AND ($14::date IS NULL OR submitted_at < ($14::date + 1)::timestamp AT TIME ZONE (SELECT time_zone FROM routing.tenants WHERE id = $1)) \
  AND ($15::text IS NULL OR tracking_number = $15) \
  AND ($16::text IS NULL OR description ILIKE $16) \
  AND ($17::text IS NULL OR (list_deadline, id) > ($17::timestamptz, $18::uuid)) \
ORDER BY list_deadline, id \
LIMIT $19";

/// `GET /api/v1/cases`.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", operation_id = "get_api_v1_cases",
    summary = "事件列表 (The cases the person reaches, filtered, a page at a time)",
    params(ListQuery),
    responses(
        (status = 200, description = "事件 (A page of cases)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
        BadRequestError,
        QueryErrors,
    ))]
pub(super) async fn list(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<ApiJson<serde_json::Value>, ApiError> {
    let (lines, next_cursor) = query(&state, &principal, &q).await?;
    Ok(ApiJson(
        serde_json::json!({ "cases": lines, "next_cursor": next_cursor }),
    ))
}

/// One page of the cases the person's roles reach that match `q`, soonest deadline
/// first, and the cursor of the next page when there is one (the console's lists
/// call this too).
pub(crate) async fn query(
    state: &RoutingState,
    principal: &Principal,
    q: &ListQuery,
) -> Result<(Vec<CaseLine>, Option<String>), ApiError> {
    allow(principal, Permission::ViewCase, Target::List)?;
    let filters = q.validate()?;
    let me = principal.user().map(|u| u.as_uuid());
    let mut tx = tenant_tx(state, principal).await?;
    let (nodes_in, own_cases) = reach(&mut tx, principal).await?;
    let under: Option<Vec<Uuid>> = match filters.node {
        Some(node) => Some(
            nodes::subtree(&mut tx, node)
                .await?
                .into_iter()
                .map(|n| n.as_uuid())
                .collect(),
        ),
        None => None,
    };
    let (after_deadline, after_id) = filters.after.clone().unzip();
    let mut lines: Vec<CaseLine> = sqlx::query_as(LIST_SQL)
        .bind(tx.tenant().as_uuid())
        .bind(q.mine)
        .bind(me)
        .bind(nodes_in)
        .bind(own_cases)
        .bind(under)
        .bind(&filters.states)
        .bind(q.triage)
        .bind(filters.assignee)
        .bind(&filters.category)
        .bind(q.overdue)
        .bind(filters.due_within)
        .bind(filters.from)
        .bind(filters.to)
        .bind(&filters.tracking_number)
        .bind(&filters.text)
        .bind(after_deadline)
        .bind(after_id)
        .bind(filters.limit + 1)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    let more = lines.len() as i64 > filters.limit;
    lines.truncate(filters.limit as usize);
    let next_cursor = more
        .then(|| {
            lines
                .last()
                .map(|l| encode_cursor(&cursor_deadline(l), l.id))
        })
        .flatten();
    let now = Utc::now();
    for line in &mut lines {
        line.time_left_seconds = line.next_deadline.map(|d| (d - now).num_seconds());
        line.overdue = line.next_deadline.is_some_and(|d| d < now);
    }
    Ok((lines, next_cursor))
}

/// A line's deadline as the cursor keeps it: RFC 3339, or `infinity`.
fn cursor_deadline(line: &CaseLine) -> String {
    line.next_deadline
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_else(|| "infinity".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_numbers_are_told_from_text() {
        assert!(looks_like_tracking_number("CAOTAN-20261126-0042"));
        assert!(looks_like_tracking_number("caotan-20261126-7"));
        assert!(!looks_like_tracking_number("路灯坏了"));
        assert!(!looks_like_tracking_number("CAOTAN-2026-0042"));
        assert!(!looks_like_tracking_number("A-20261126-1-2"));
    }

    #[test]
    fn search_text_wildcards_are_literal() {
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let id = Uuid::new_v4();
        let c = encode_cursor("2026-12-03T10:00:00.000000Z", id);
        assert_eq!(
            decode_cursor(&c),
            Some(("2026-12-03T10:00:00.000000Z".to_owned(), id))
        );
        assert_eq!(
            decode_cursor(&encode_cursor("infinity", id)).map(|c| c.1),
            Some(id)
        );
        assert_eq!(decode_cursor("not base64 at all!"), None);
        assert_eq!(decode_cursor(&encode_cursor("yesterday", id)), None);
        assert_eq!(decode_cursor(&"A".repeat(500)), None);
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let q = ListQuery {
            state: Some("assigned,flying".into()),
            limit: Some(0),
            due_within_minutes: Some(-5),
            from: Some("2026-13-01".into()),
            q: Some("字".repeat(51)),
            cursor: Some("%%%".into()),
            ..ListQuery::default()
        };
        let Err(ApiError::Validation(errors)) = q.validate() else {
            panic!("refused");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "limit",
                "state",
                "due_within_minutes",
                "from",
                "q",
                "cursor"
            ]
        );
    }
}
