//! The cases behind a figure: for each key and part (numerator or denominator), the
//! condition on `analytics.case_facts` that docs/metrics.md defines, and a keyset-paged
//! listing of the cases that meet it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::postgres::PgArguments;
use sqlx::{Arguments, PgConnection};
use uuid::Uuid;

use super::Period;

/// Numerator or denominator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The cases counted.
    Numerator,
    /// The cases they were counted among.
    Denominator,
}

impl Part {
    /// Parses `numerator` or `denominator`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "numerator" => Some(Self::Numerator),
            "denominator" => Some(Self::Denominator),
            _ => None,
        }
    }
}

const VALID: &str = "invalid_status <> 'approved'";
const OPEN: &str = "status NOT IN ('resolved', 'followed_up', 'closed', 'invalid')";
const RESOLVED: &str = "(invalid_status <> 'approved' AND status IN ('resolved', 'followed_up', 'closed') AND resolved_at IS NOT NULL)";
const RESPONDED: &str = "(invalid_status <> 'approved' AND first_responded_at IS NOT NULL)";
const ANSWERED: &str = "(invalid_status <> 'approved' AND answered_at IS NOT NULL)";
const EVER: &str = "(invalid_status <> 'approved' AND first_resolved_at IS NOT NULL)";

/// Whether a figure's value bounds its numerator's cases (durations: "took no longer").
pub enum Condition {
    /// A fixed condition.
    Fixed(String),
    /// Measured cases whose duration (`expr`, seconds) is within the figure's value.
    Within {
        /// The measured cases.
        measured: String,
        /// The duration in seconds.
        seconds: &'static str,
    },
}

/// The condition for `part` of figure `key`; `None` for figures not made of cases
/// (QR scans) and unknown keys.
pub fn condition(key: &str, part: Part) -> Option<Condition> {
    use Part::{Denominator as D, Numerator as N};
    let resp_missed =
        format!("({OPEN} AND first_responded_at IS NULL AND first_response_due < now())");
    let res_missed = format!("({OPEN} AND resolve_due < now())");
    let fixed = |s: String| Some(Condition::Fixed(s));
    match (key, part) {
        ("reports", _) => fixed("true".into()),
        ("timely_response_rate", N) => fixed(format!(
            "({RESPONDED} AND (first_response_due IS NULL OR first_responded_at <= first_response_due))"
        )),
        ("timely_response_rate", D) => fixed(format!("({RESPONDED} OR {resp_missed})")),
        ("on_time_resolution_rate", N) => fixed(format!(
            "({RESOLVED} AND (resolve_due IS NULL OR resolved_at <= resolve_due))"
        )),
        ("on_time_resolution_rate", D) => fixed(format!("({RESOLVED} OR {res_missed})")),
        ("resolution_rate", N) => fixed(RESOLVED.into()),
        ("resolution_rate" | "overdue_rate" | "escalation_rate", D) => fixed(VALID.into()),
        ("solved_rate", N) => fixed(format!("({ANSWERED} AND answer_resolved)")),
        ("satisfaction_rate", N) => fixed(format!(
            "({ANSWERED} AND answer_satisfaction IN ('satisfied', 'basically_satisfied'))"
        )),
        ("solved_rate" | "satisfaction_rate", D) | ("follow_up_rate", N) => fixed(ANSWERED.into()),
        ("follow_up_rate" | "reopen_rate", D) => fixed(EVER.into()),
        ("return_rate", N) => fixed("returns > 0".into()),
        ("return_rate" | "invalid_rate", D) => fixed("true".into()),
        ("reopen_rate", N) => fixed(format!("({VALID} AND reopenings > 0)")),
        ("overdue_rate", N) => fixed(format!(
            "(({RESOLVED} AND resolve_due IS NOT NULL AND resolved_at > resolve_due) OR {res_missed})"
        )),
        ("escalation_rate", N) => fixed(format!("({VALID} AND escalations > 0)")),
        ("invalid_rate", N) => fixed("invalid_status = 'approved'".into()),
        ("village_rate", N) => fixed(format!(
            "({RESOLVED} AND resolved_level IN ('grid', 'village'))"
        )),
        ("village_rate", D) => fixed(RESOLVED.into()),
        ("first_response_median" | "first_response_p90", D) => fixed(RESPONDED.into()),
        ("first_response_median" | "first_response_p90", N) => Some(Condition::Within {
            measured: RESPONDED.into(),
            seconds: "extract(epoch FROM first_responded_at - submitted_at)",
        }),
        ("resolution_median" | "resolution_p90", D) => fixed(RESOLVED.into()),
        ("resolution_median" | "resolution_p90", N) => Some(Condition::Within {
            measured: RESOLVED.into(),
            seconds: "extract(epoch FROM resolved_at - submitted_at)",
        }),
        ("cases_per_worker", _) => fixed(format!("({VALID} AND handler_id IS NOT NULL)")),
        ("qr_reports", _) | ("qr_conversion", N) => fixed("qr_code_id IS NOT NULL".into()),
        _ => None,
    }
}

/// One case behind a figure.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct CaseRow {
    /// The township.
    pub tenant_id: Uuid,
    /// The report.
    pub report_id: Uuid,
    /// The case.
    pub case_id: Option<Uuid>,
    /// What the citizen quotes.
    pub tracking_number: String,
    /// The grid.
    pub grid_node_id: Option<Uuid>,
    /// The village.
    pub village_node_id: Option<Uuid>,
    /// Category code.
    pub category: String,
    /// `qr`, `assisted`, …
    pub channel: String,
    /// The case's state.
    pub status: String,
    /// Local day of submission.
    pub submitted_day: NaiveDate,
    /// Submission time.
    pub submitted_at: DateTime<Utc>,
    /// First-response deadline.
    pub first_response_due: Option<DateTime<Utc>>,
    /// First response.
    pub first_responded_at: Option<DateTime<Utc>>,
    /// Resolution deadline.
    pub resolve_due: Option<DateTime<Utc>>,
    /// Latest resolution.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Closing.
    pub closed_at: Option<DateTime<Utc>>,
    /// Handler.
    pub handler_id: Option<Uuid>,
    /// Level of the latest resolution.
    pub resolved_level: Option<String>,
    /// 退单 count.
    pub returns: i32,
    /// 重办 count.
    pub reopenings: i32,
    /// 上报 / 督办 count.
    pub escalations: i32,
    /// `none`, `requested`, `approved`, `rejected`.
    pub invalid_status: String,
    /// The latest answer: resolved?
    pub answer_resolved: Option<bool>,
    /// The latest answer: satisfaction.
    pub answer_satisfaction: Option<String>,
}

/// Where a listing resumes: after this (day, township, report).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// Local day.
    pub day: NaiveDate,
    /// Township.
    pub tenant_id: Uuid,
    /// Report.
    pub report_id: Uuid,
}

impl Cursor {
    /// `2026-12-01~<tenant>~<report>`.
    pub fn encode(&self) -> String {
        format!("{}~{}~{}", self.day, self.tenant_id, self.report_id)
    }

    /// Parses [`Cursor::encode`]'s form.
    pub fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.splitn(3, '~');
        Some(Self {
            day: parts.next()?.parse().ok()?,
            tenant_id: parts.next()?.parse().ok()?,
            report_id: parts.next()?.parse().ok()?,
        })
    }
}

/// What to list.
#[derive(Clone, Debug)]
pub struct Listing {
    /// The period.
    pub period: Period,
    /// The condition.
    pub condition: Condition,
    /// For a duration's numerator: its value in minutes.
    pub within_minutes: Option<f64>,
    /// Only these townships (`None`: every township the transaction sees).
    pub tenant: Option<Uuid>,
    /// Only cases at these nodes.
    pub nodes: Option<Vec<Uuid>>,
    /// Only this category.
    pub category: Option<String>,
    /// Only this handler.
    pub handler: Option<Uuid>,
    /// Resume after.
    pub after: Option<Cursor>,
    /// At most this many (1–200).
    pub limit: i64,
}

impl Clone for Condition {
    fn clone(&self) -> Self {
        match self {
            Self::Fixed(s) => Self::Fixed(s.clone()),
            Self::Within { measured, seconds } => Self::Within {
                measured: measured.clone(),
                seconds,
            },
        }
    }
}

impl std::fmt::Debug for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed(s) => write!(f, "Fixed({s})"),
            Self::Within { measured, seconds } => write!(f, "Within({measured}, {seconds})"),
        }
    }
}

/// The cases of `listing` in (day, township, report) order, and where the next page
/// starts when there is one. The SQL is built from the fixed conditions of
/// [`condition`]; every value is a bind.
pub async fn list(
    conn: &mut PgConnection,
    listing: &Listing,
) -> Result<(Vec<CaseRow>, Option<Cursor>), sqlx::Error> {
    let mut args = PgArguments::default();
    let mut n = 0;
    let mut bind = || -> usize {
        n += 1;
        n
    };
    let mut sql = String::from(
        "SELECT tenant_id, report_id, case_id, tracking_number, grid_node_id, village_node_id, category, \
         channel, status, submitted_day, submitted_at, first_response_due, first_responded_at, resolve_due, \
         resolved_at, closed_at, handler_id, resolved_level, returns, reopenings, escalations, invalid_status, \
         answer_resolved, answer_satisfaction FROM analytics.case_facts WHERE ",
    );
    let i = bind();
    let j = bind();
    args.add(listing.period.from())
        .map_err(sqlx::Error::Encode)?;
    args.add(listing.period.to()).map_err(sqlx::Error::Encode)?;
    sql.push_str(&format!("submitted_day BETWEEN ${i} AND ${j}"));
    if let Some(tenant) = listing.tenant {
        let i = bind();
        args.add(tenant).map_err(sqlx::Error::Encode)?;
        sql.push_str(&format!(" AND tenant_id = ${i}"));
    }
    match &listing.condition {
        Condition::Fixed(c) => sql.push_str(&format!(" AND {c}")),
        Condition::Within { measured, seconds } => {
            let i = bind();
            args.add(listing.within_minutes.unwrap_or(0.0) * 60.0)
                .map_err(sqlx::Error::Encode)?;
            sql.push_str(&format!(" AND {measured} AND {seconds} <= ${i}"));
        }
    }
    if let Some(nodes) = &listing.nodes {
        let i = bind();
        args.add(nodes.clone()).map_err(sqlx::Error::Encode)?;
        sql.push_str(&format!(" AND grid_node_id = ANY(${i})"));
    }
    if let Some(category) = &listing.category {
        let i = bind();
        args.add(category.clone()).map_err(sqlx::Error::Encode)?;
        sql.push_str(&format!(" AND category = ${i}"));
    }
    if let Some(handler) = listing.handler {
        let i = bind();
        args.add(handler).map_err(sqlx::Error::Encode)?;
        sql.push_str(&format!(" AND handler_id = ${i}"));
    }
    if let Some(after) = listing.after {
        let (a, b, c) = (bind(), bind(), bind());
        args.add(after.day).map_err(sqlx::Error::Encode)?;
        args.add(after.tenant_id).map_err(sqlx::Error::Encode)?;
        args.add(after.report_id).map_err(sqlx::Error::Encode)?;
        sql.push_str(&format!(
            " AND (submitted_day, tenant_id, report_id) > (${a}, ${b}, ${c})"
        ));
    }
    let i = bind();
    args.add(listing.limit + 1).map_err(sqlx::Error::Encode)?;
    sql.push_str(&format!(
        " ORDER BY submitted_day, tenant_id, report_id LIMIT ${i}"
    ));
    let mut rows: Vec<CaseRow> = sqlx::query_as_with(sqlx::AssertSqlSafe(sql), args)
        .fetch_all(conn)
        .await?;
    let limit = usize::try_from(listing.limit).unwrap_or(0);
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|r| Cursor {
            day: r.submitted_day,
            tenant_id: r.tenant_id,
            report_id: r.report_id,
        })
    } else {
        None
    };
    Ok((rows, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_figure_has_both_parts_and_scans_have_none() {
        for key in super::super::KEYS {
            let n = condition(key, Part::Numerator);
            let d = condition(key, Part::Denominator);
            match key {
                "qr_scans" => assert!(n.is_none() && d.is_none()),
                "qr_conversion" => assert!(n.is_some() && d.is_none()),
                _ => assert!(n.is_some() && d.is_some(), "{key}"),
            }
        }
        assert!(condition("nonsense", Part::Numerator).is_none());
    }

    #[test]
    fn cursors_round_trip() {
        let c = Cursor {
            day: "2026-12-01".parse().expect("a day"),
            tenant_id: Uuid::now_v7(),
            report_id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::parse(&c.encode()), Some(c));
        assert_eq!(Cursor::parse("2026-12-01~x"), None);
    }
}
