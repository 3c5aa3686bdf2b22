//! The figures of consecutive weeks, for the dashboards' trend charts: one grouped
//! statement per source (counters, open cases, QR codes) for all the weeks at once,
//! instead of the whole set of figures once per week. Durations and cases per worker
//! are left out (no trend shows them); every other figure equals what
//! [`township_figures`](super::township_figures) gives for the same week.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, Utc};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::Period;
use super::compute::{Counters, Figures, Inputs, figures};
use crate::projection::contribution::COUNTERS;

/// Whose cases a trend covers.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    /// Every township's (a county-read transaction).
    County,
    /// One township's, optionally of one category and of some grid nodes only (a
    /// `node_id` filter's subtree).
    Township {
        /// The township.
        tenant: Uuid,
        /// Only this category.
        category: Option<&'a str>,
        /// Only cases at these nodes.
        nodes: Option<&'a [Uuid]>,
    },
}

/// The `count` 7-day periods ending with `end`, oldest first.
pub fn weeks(end: NaiveDate, count: u32) -> Vec<Period> {
    (0..i64::from(count))
        .rev()
        .map(|i| {
            let last = end - Duration::days(7 * i);
            Period::new(last - Duration::days(6), last).expect("a week is a valid period")
        })
        .collect()
}

/// The figures of each of the `count` weeks ending with `end` ([`weeks`], oldest
/// first), in the caller's transaction (a tenant transaction for a township, a county
/// read for the county).
pub async fn weekly(
    conn: &mut PgConnection,
    scope: Scope<'_>,
    end: NaiveDate,
    count: u32,
) -> Result<Vec<(Period, Figures)>, sqlx::Error> {
    let weeks = weeks(end, count);
    let Some(first) = weeks.first() else {
        return Ok(Vec::new());
    };
    let start = first.from();
    let mut inputs: BTreeMap<i32, Inputs> = BTreeMap::new();
    for (week, counters) in counters(conn, scope, start, end).await? {
        inputs.entry(week).or_default().counters = counters;
    }
    for (week, response, resolution) in open(conn, scope, start, end).await? {
        let c = &mut inputs.entry(week).or_default().counters;
        c.response_missed_open += response;
        c.resolution_missed_open += resolution;
    }
    for (week, scans, reports) in qr(conn, scope, start, end).await? {
        inputs.entry(week).or_default().qr = Some((scans, reports));
    }
    Ok(weeks
        .into_iter()
        .enumerate()
        .map(|(i, week)| {
            let mut i = inputs.remove(&(i as i32)).unwrap_or_default();
            i.qr.get_or_insert((0, 0));
            let mut f = figures(&i);
            f.retain(|k, _| !k.ends_with("_median") && !k.ends_with("_p90"));
            (week, f)
        })
        .collect())
}

async fn counters(
    conn: &mut PgConnection,
    scope: Scope<'_>,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Vec<(i32, Counters)>, sqlx::Error> {
    // Each stored count is a day's, far below 2^31: summed as integers, PostgreSQL
    // adds them in machine words rather than in numeric.
    let sums = COUNTERS
        .iter()
        .map(|c| format!("sum({c}::integer)::bigint"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = match scope {
        Scope::County => {
            let sql = format!(
                "SELECT (day - $1) / 7, {sums} FROM analytics.daily_totals \
                 WHERE day BETWEEN $1 AND $2 GROUP BY 1"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(start)
                .bind(end)
                .fetch_all(&mut *conn)
                .await?
        }
        Scope::Township {
            tenant,
            category,
            nodes: None,
        } => {
            let sql = format!(
                "SELECT (day - $2) / 7, {sums} FROM analytics.daily_totals \
                 WHERE tenant_id = $1 AND day BETWEEN $2 AND $3 \
                   AND ($4::text IS NULL OR category = $4) GROUP BY 1"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(tenant)
                .bind(start)
                .bind(end)
                .bind(category)
                .fetch_all(&mut *conn)
                .await?
        }
        Scope::Township {
            tenant,
            category,
            nodes: Some(nodes),
        } => {
            let sql = format!(
                "SELECT (day - $2) / 7, {sums} FROM analytics.daily_rollups \
                 WHERE tenant_id = $1 AND day BETWEEN $2 AND $3 \
                   AND ($4::text IS NULL OR category = $4) AND grid_node_id = ANY($5) GROUP BY 1"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(tenant)
                .bind(start)
                .bind(end)
                .bind(category)
                .bind(nodes)
                .fetch_all(&mut *conn)
                .await?
        }
    };
    rows.into_iter()
        .map(|row| {
            let mut c = Counters::default();
            for (i, slot) in c.sums.iter_mut().enumerate() {
                *slot = row.try_get::<Option<i64>, _>(i + 1)?.unwrap_or(0);
            }
            Ok((row.try_get(0)?, c))
        })
        .collect()
}

/// Open cases past a deadline, per week of submission.
async fn open(
    conn: &mut PgConnection,
    scope: Scope<'_>,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Vec<(i32, i64, i64)>, sqlx::Error> {
    const COUNTS: &str = "count(*) FILTER (WHERE first_responded_at IS NULL AND first_response_due < $3), \
                          count(*) FILTER (WHERE resolve_due < $3)";
    const OPEN: &str = "status NOT IN ('resolved', 'followed_up', 'closed', 'invalid')";
    match scope {
        Scope::County => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT (submitted_day - $1) / 7, {COUNTS} FROM analytics.case_facts \
                 WHERE submitted_day BETWEEN $1 AND $2 AND {OPEN} GROUP BY 1"
            )))
            .bind(start)
            .bind(end)
            .bind(Utc::now())
            .fetch_all(conn)
            .await
        }
        Scope::Township {
            tenant,
            category,
            nodes,
        } => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT (submitted_day - $1) / 7, {COUNTS} FROM analytics.case_facts \
                 WHERE tenant_id = $4 AND submitted_day BETWEEN $1 AND $2 AND {OPEN} \
                   AND ($5::text IS NULL OR category = $5) \
                   AND ($6::uuid[] IS NULL OR grid_node_id = ANY($6)) GROUP BY 1"
            )))
            .bind(start)
            .bind(end)
            .bind(Utc::now())
            .bind(tenant)
            .bind(category)
            .bind(nodes)
            .fetch_all(conn)
            .await
        }
    }
}

/// Scans and reports through QR codes per week (a category does not narrow them, as
/// in the township's figures: a scan has no category).
async fn qr(
    conn: &mut PgConnection,
    scope: Scope<'_>,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Vec<(i32, i64, i64)>, sqlx::Error> {
    match scope {
        Scope::County => {
            sqlx::query_as(
                "SELECT (day - $1) / 7, sum(scans::integer)::bigint, sum(reports::integer)::bigint \
                 FROM analytics.qr_daily WHERE day BETWEEN $1 AND $2 GROUP BY 1",
            )
            .bind(start)
            .bind(end)
            .fetch_all(conn)
            .await
        }
        Scope::Township { tenant, nodes, .. } => {
            sqlx::query_as(
                "SELECT (day - $1) / 7, sum(scans::integer)::bigint, sum(reports::integer)::bigint \
                 FROM analytics.qr_daily WHERE tenant_id = $3 AND day BETWEEN $1 AND $2 \
                   AND ($4::uuid[] IS NULL OR grid_node_id = ANY($4)) GROUP BY 1",
            )
            .bind(start)
            .bind(end)
            .bind(tenant)
            .bind(nodes)
            .fetch_all(conn)
            .await
        }
    }
}
