//! 案件查询 (`/county/search`): any township's cases, read-only, found by tracking
//! number, or by township (or all), state and a bounded date range, 50 a page newest
//! first (each township read in its own transaction, merged by a keyset cursor).
//! Opening one asks why first (`county_case`).

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use mashang_auth::permissions::Action;
use mashang_domain::case::CaseState;
use mashang_domain::{TenantCode, TenantId};
use uuid::Uuid;

use super::case_fmt::{self, state_label};
use super::centre_names::encode;
use super::county::{County, Errors, error_for, when, zone_of};
use super::layout::{Chrome, PageError, render};
use crate::RoutingState;
use crate::directory::tenants::{TenantRow, list_tenants};
use mashang_http::openapi::{Html, PageErrors};

/// Lines per page.
pub(super) const PAGE: usize = 50;
/// The longest date range searched, in days.
pub(super) const MAX_RANGE_DAYS: i64 = 92;
/// The date range when none is given: the last 30 days.
const DEFAULT_RANGE_DAYS: i64 = 30;

/// The search form as sent (every value kept as typed, cut to a sane length).
#[derive(Clone, Debug, Default)]
pub(super) struct Filters {
    pub q: String,
    pub township: String,
    pub state: String,
    pub from: String,
    pub to: String,
    pub cursor: String,
    /// Whether the form was sent (an empty page runs no search).
    pub sent: bool,
}

impl Filters {
    fn parse(raw: Option<&str>) -> Self {
        let mut f = Self::default();
        for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let v: String = v.trim().chars().take(100).collect();
            f.sent = true;
            match k.as_ref() {
                "q" => f.q = v,
                "township" => f.township = v,
                "state" => f.state = v,
                "from" => f.from = v,
                "to" => f.to = v,
                "cursor" => f.cursor = v,
                _ => {}
            }
        }
        f
    }

    /// The query string of these filters without the cursor.
    fn href(&self) -> String {
        [
            ("q", &self.q),
            ("township", &self.township),
            ("state", &self.state),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// The checked search.
#[derive(Debug)]
struct Search {
    /// A whole tracking number (upper case) and the township its prefix names.
    tracking: Option<(String, Option<TenantCode>)>,
    township: Option<String>,
    state: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    after: Option<(DateTime<Utc>, Uuid)>,
}

/// A tracking number's township code (`CAOTAN-20261126-0042` → `caotan`), if it looks
/// like one.
fn tracking_township(raw: &str) -> Option<String> {
    let mut parts = raw.split('-');
    let (prefix, day, seq) = (parts.next()?, parts.next()?, parts.next()?);
    let ok = parts.next().is_none()
        && !prefix.is_empty()
        && prefix.chars().all(|c| c.is_ascii_alphanumeric())
        && day.len() == 8
        && day.chars().all(|c| c.is_ascii_digit())
        && !seq.is_empty()
        && seq.len() <= 9
        && seq.chars().all(|c| c.is_ascii_digit());
    ok.then(|| prefix.to_ascii_lowercase())
}

fn day(field: &str, raw: &str, errors: &mut Errors) -> Option<NaiveDate> {
    if raw.is_empty() {
        return None;
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| {
            errors.push((
                field.to_owned(),
                "日期格式应为 2026-12-01 (a date like 2026-12-01)".to_owned(),
            ))
        })
        .ok()
}

fn cursor(raw: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let (micros, id) = raw.split_once('_')?;
    Some((
        DateTime::from_timestamp_micros(micros.parse().ok()?)?,
        id.parse().ok()?,
    ))
}

fn check(f: &Filters, townships: &[TenantRow], today: NaiveDate) -> Result<Search, Errors> {
    let mut errors = Errors::new();
    let after = if f.cursor.is_empty() {
        None
    } else {
        let c = cursor(&f.cursor);
        if c.is_none() {
            errors.push(("cursor".into(), "翻页参数有误 (a bad page link)".into()));
        }
        c
    };
    if !f.q.is_empty() {
        let Some(code) = tracking_township(&f.q) else {
            errors.push((
                "q".into(),
                "请输入完整的案件编号，如 CAOTAN-20261126-0042 (a whole tracking number)".into(),
            ));
            return Err(errors);
        };
        return if errors.is_empty() {
            Ok(Search {
                tracking: Some((f.q.to_ascii_uppercase(), TenantCode::parse(&code).ok())),
                township: None,
                state: None,
                from: None,
                to: None,
                after,
            })
        } else {
            Err(errors)
        };
    }
    let township = (!f.township.is_empty()).then(|| f.township.clone());
    if township
        .as_ref()
        .is_some_and(|t| !townships.iter().any(|x| &x.code == t))
    {
        errors.push(("township".into(), "没有这个乡镇 (no such township)".into()));
    }
    let state = (!f.state.is_empty()).then(|| f.state.clone());
    if state
        .as_deref()
        .is_some_and(|s| CaseState::parse(s).is_none())
    {
        errors.push(("state".into(), "没有这个状态 (no such state)".into()));
    }
    let from = day("from", &f.from, &mut errors);
    let to = day("to", &f.to, &mut errors);
    let to = to.or(Some(today));
    let from = from.or_else(|| to.map(|t| t - Duration::days(DEFAULT_RANGE_DAYS)));
    if let (Some(a), Some(b)) = (from, to) {
        if a > b {
            errors.push((
                "to".into(),
                "结束日期不能早于开始日期 (the end is before the start)".into(),
            ));
        } else if (b - a).num_days() > MAX_RANGE_DAYS {
            errors.push((
                "to".into(),
                format!("一次最多查 {MAX_RANGE_DAYS} 天 (at most {MAX_RANGE_DAYS} days at a time)"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(Search {
            tracking: None,
            township,
            state,
            from,
            to,
            after,
        })
    } else {
        Err(errors)
    }
}

/// A case found.
pub(super) struct Hit {
    pub code: String,
    pub township: String,
    pub id: Uuid,
    pub tracking_number: String,
    pub category: String,
    pub state_zh: String,
    pub state_en: String,
    pub submitted: String,
    submitted_at: DateTime<Utc>,
}

const SEARCH_SQL: &str = "\
SELECT id, tracking_number, category, state, submitted_at FROM routing.cases \
WHERE tenant_id = $1 \
  AND ($2::text IS NULL OR tracking_number = $2) \
  AND ($3::text IS NULL OR state = $3) \
  AND ($4::date IS NULL OR submitted_at >= $4::date::timestamp AT TIME ZONE $6) \
  AND ($5::date IS NULL OR submitted_at < ($5::date + 1)::timestamp AT TIME ZONE $6) \
  AND ($7::timestamptz IS NULL OR (submitted_at, id) < ($7::timestamptz, $8::uuid)) \
ORDER BY submitted_at DESC, id DESC \
LIMIT $9";

/// One township's page of hits (one more than a page, to know whether more follow).
async fn search_in(
    state: &RoutingState,
    tenant: &TenantRow,
    s: &Search,
) -> Result<Vec<Hit>, PageError> {
    let mut tx = state.db.tenant(TenantId::from_uuid(tenant.id)).await?;
    let rows: Vec<(Uuid, String, String, String, DateTime<Utc>)> = sqlx::query_as(SEARCH_SQL)
        .bind(tenant.id)
        .bind(s.tracking.as_ref().map(|(n, _)| n.clone()))
        .bind(&s.state)
        .bind(s.from)
        .bind(s.to)
        .bind(&tenant.time_zone)
        .bind(s.after.map(|(at, _)| at))
        .bind(s.after.map(|(_, id)| id))
        .bind(PAGE as i64 + 1)
        .fetch_all(&mut *tx)
        .await?;
    if rows.is_empty() {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let names = case_fmt::Names::load(&mut tx).await?;
    tx.commit().await?;
    let zone = zone_of(&tenant.time_zone);
    Ok(rows
        .into_iter()
        .map(|(id, tracking_number, category, state, submitted_at)| {
            let (state_zh, state_en) = state_label(&state);
            Hit {
                code: tenant.code.clone(),
                township: tenant.name.clone(),
                id,
                tracking_number,
                category: names.category(&category),
                state_zh,
                state_en,
                submitted: when(submitted_at, zone),
                submitted_at,
            }
        })
        .collect())
}

#[derive(Template)]
#[template(path = "county/search.html")]
struct SearchPage {
    chrome: Chrome,
    f: Filters,
    errors: Errors,
    hits: Option<Vec<Hit>>,
    next: Option<String>,
    first_page: Option<String>,
    townships: Vec<(String, String)>,
    states: Vec<(&'static str, &'static str, &'static str)>,
    /// The dates used when none were typed, shown as the fields' placeholders.
    default_from: String,
    default_to: String,
    page: usize,
    max_days: i64,
}

impl SearchPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

/// `GET /county/search`.
#[utoipa::path(get, path = "/county/search", tag = "pages", operation_id = "get_county_search",
    summary = "查询 (Searches the townships cases)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn page(
    State(state): State<RoutingState>,
    county: County,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    county.require(Action::ViewCase)?;
    let f = Filters::parse(raw.as_deref());
    let all = list_tenants(&state.db).await?;
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let (mut hits, mut next, mut errors) = (None, None, Errors::new());
    if f.sent {
        match check(&f, &all, today) {
            Err(e) => errors = e,
            Ok(s) => {
                let mut found = Vec::new();
                for tenant in &all {
                    let wanted = match (&s.tracking, &s.township) {
                        (Some((_, code)), _) => {
                            code.as_ref().is_some_and(|c| c.as_str() == tenant.code)
                        }
                        (None, Some(t)) => *t == tenant.code,
                        (None, None) => true,
                    };
                    if wanted {
                        found.extend(search_in(&state, tenant, &s).await?);
                    }
                }
                found.sort_by_key(|h| std::cmp::Reverse((h.submitted_at, h.id)));
                if found.len() > PAGE {
                    found.truncate(PAGE);
                    next = found.last().map(|h| {
                        format!(
                            "/county/search?{}&cursor={}_{}",
                            f.href(),
                            h.submitted_at.timestamp_micros(),
                            h.id
                        )
                    });
                }
                hits = Some(found);
            }
        }
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = SearchPage {
        chrome: county.chrome,
        first_page: (!f.cursor.is_empty()).then(|| format!("/county/search?{}", f.href())),
        errors,
        hits,
        next,
        townships: all.into_iter().map(|t| (t.code, t.name)).collect(),
        states: CaseState::ALL
            .iter()
            .map(|s| (s.as_str(), s.label_zh(), s.label_en()))
            .collect(),
        default_from: (today - Duration::days(DEFAULT_RANGE_DAYS)).to_string(),
        default_to: today.to_string(),
        page: PAGE,
        max_days: MAX_RANGE_DAYS,
        f,
    };
    Ok(render(status, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a date")
    }

    fn filters(pairs: &[(&str, &str)]) -> Filters {
        let raw = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        Filters::parse(Some(&raw))
    }

    #[test]
    fn a_tracking_number_names_its_township() {
        assert_eq!(
            tracking_township("CAOTAN-20261126-0042").as_deref(),
            Some("caotan")
        );
        assert_eq!(
            tracking_township("caotan-20261126-7").as_deref(),
            Some("caotan")
        );
        for bad in ["路灯", "CAOTAN-2026-0042", "A-20261126-1-2", "-20261126-1"] {
            assert_eq!(tracking_township(bad), None, "{bad}");
        }
    }

    #[test]
    fn date_ranges_are_bounded_and_default_to_the_last_thirty_days() {
        let today = date("2026-12-04");
        let s = check(&filters(&[("state", "")]), &[], today).expect("valid");
        assert_eq!((s.from, s.to), (Some(date("2026-11-04")), Some(today)));
        let e = check(
            &filters(&[("from", "2026-01-01"), ("to", "2026-12-01")]),
            &[],
            today,
        )
        .expect_err("too long");
        assert_eq!(e[0].0, "to");
        let e = check(
            &filters(&[("from", "2026-12-02"), ("to", "2026-12-01")]),
            &[],
            today,
        )
        .expect_err("backwards");
        assert_eq!(e[0].0, "to");
        let e = check(
            &filters(&[("state", "flying"), ("from", "12/01")]),
            &[],
            today,
        )
        .expect_err("bad");
        let fields: Vec<&str> = e.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["state", "from"]);
        let e = check(&filters(&[("q", "路灯坏了")]), &[], today).expect_err("not a number");
        assert_eq!(e[0].0, "q");
    }

    #[test]
    fn the_cursor_round_trips() {
        let at = DateTime::from_timestamp_micros(1_800_000_000_123_456).expect("a time");
        let id = Uuid::now_v7();
        let raw = format!("{}_{id}", at.timestamp_micros());
        assert_eq!(cursor(&raw), Some((at, id)));
        assert_eq!(cursor("x_y"), None);
    }
}
