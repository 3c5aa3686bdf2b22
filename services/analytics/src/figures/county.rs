//! Every township's figures side by side, for the county centre, and the league table
//! ranked by the composite score of docs/metrics.md. Reads the per-township totals
//! only, in a county-read transaction.

use std::collections::BTreeMap;

use chrono::Utc;
use mashang_db::GlobalTx;
use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use super::Period;
use super::compute::{Counters, Figure, Figures, Histogram, Inputs, figures};
use crate::projection::contribution::COUNTERS;

/// One township's figures.
#[derive(Clone, Debug, Serialize)]
pub struct TownshipRow {
    /// The township.
    pub tenant_id: Uuid,
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its figures by key.
    pub figures: Figures,
}

/// The composite score's components and weights (docs/metrics.md).
pub const LEAGUE_WEIGHTS: [(&str, f64); 6] = [
    ("timely_response_rate", 25.0),
    ("on_time_resolution_rate", 25.0),
    ("satisfaction_rate", 20.0),
    ("solved_rate", 10.0),
    ("follow_up_rate", 10.0),
    ("village_rate", 10.0),
];

/// One component of a township's score.
#[derive(Clone, Debug, Serialize)]
pub struct Component {
    /// The figure's key.
    pub key: &'static str,
    /// Its weight.
    pub weight: f64,
    /// The figure.
    pub figure: Figure,
    /// weight × value (none without a value).
    pub points: Option<f64>,
}

/// A township's place in the league.
#[derive(Clone, Debug, Serialize)]
pub struct LeagueRow {
    /// 1 for the best; ties share a rank; townships without a score come last.
    pub rank: usize,
    /// The township.
    pub tenant_id: Uuid,
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// 0–100, none when no component has a value.
    pub score: Option<f64>,
    /// Reports in the period.
    pub reports: i64,
    /// Each component.
    pub components: Vec<Component>,
}

/// Whose time-to-first-response and time-to-resolution histograms a county read
/// reads (the largest part of a county read: a bucket per township, day and span).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durations<'a> {
    /// Nobody's: the medians and p90 have no value.
    None,
    /// Every township's.
    All,
    /// The township of this code only.
    Of(&'a str),
}

/// Every township's figures for `period` (local days), in a county-read transaction.
pub async fn county_figures(
    tx: &mut GlobalTx,
    period: Period,
) -> Result<Vec<TownshipRow>, sqlx::Error> {
    county_rows(tx, period, Durations::All).await
}

/// The league table for `period` (see [`league`]), in a county-read transaction. Its
/// components need no durations, so it reads no histogram.
pub async fn county_league(
    tx: &mut GlobalTx,
    period: Period,
) -> Result<Vec<LeagueRow>, sqlx::Error> {
    Ok(league(&county_rows(tx, period, Durations::None).await?))
}

/// Every township's figures for `period`, with the durations of whom `durations`
/// names, in a county-read transaction.
pub async fn county_rows(
    tx: &mut GlobalTx,
    period: Period,
    durations: Durations<'_>,
) -> Result<Vec<TownshipRow>, sqlx::Error> {
    let tenants: Vec<(Uuid, String, String)> =
        sqlx::query_as("SELECT id, code, name FROM routing.tenants ORDER BY code")
            .fetch_all(&mut **tx)
            .await?;
    let sums = COUNTERS
        .iter()
        .map(|c| format!("sum({c})::bigint"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT tenant_id, {sums} FROM analytics.daily_totals WHERE day BETWEEN $1 AND $2 GROUP BY 1"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(period.from())
        .bind(period.to())
        .fetch_all(&mut **tx)
        .await?;
    let mut inputs: BTreeMap<Uuid, Inputs> = BTreeMap::new();
    for row in rows {
        let tenant: Uuid = row.try_get(0)?;
        let mut c = Counters::default();
        for (i, slot) in c.sums.iter_mut().enumerate() {
            *slot = row.try_get::<Option<i64>, _>(i + 1)?.unwrap_or(0);
        }
        inputs.entry(tenant).or_default().counters = c;
    }
    let open: Vec<(Uuid, i64, i64)> = sqlx::query_as(
        "SELECT tenant_id, \
                count(*) FILTER (WHERE first_responded_at IS NULL AND first_response_due < $3), \
                count(*) FILTER (WHERE resolve_due < $3) \
         FROM analytics.case_facts \
         WHERE submitted_day BETWEEN $1 AND $2 \
           AND status NOT IN ('resolved', 'followed_up', 'closed', 'invalid') \
         GROUP BY 1",
    )
    .bind(period.from())
    .bind(period.to())
    .bind(Utc::now())
    .fetch_all(&mut **tx)
    .await?;
    for (tenant, response, resolution) in open {
        let c = &mut inputs.entry(tenant).or_default().counters;
        c.response_missed_open += response;
        c.resolution_missed_open += resolution;
    }
    let histograms: Vec<(Uuid, i16, i16, i64)> = match durations {
        Durations::None => Vec::new(),
        Durations::All => {
            sqlx::query_as(
                "SELECT tenant_id, measure, bucket, sum(cases)::bigint FROM analytics.daily_total_durations \
                 WHERE day BETWEEN $1 AND $2 GROUP BY 1, 2, 3",
            )
            .bind(period.from())
            .bind(period.to())
            .fetch_all(&mut **tx)
            .await?
        }
        Durations::Of(code) => match tenants.iter().find(|t| t.1 == code) {
            None => Vec::new(),
            Some((tenant, _, _)) => {
                sqlx::query_as(
                    "SELECT tenant_id, measure, bucket, sum(cases)::bigint \
                     FROM analytics.daily_total_durations \
                     WHERE tenant_id = $3 AND day BETWEEN $1 AND $2 GROUP BY 1, 2, 3",
                )
                .bind(period.from())
                .bind(period.to())
                .bind(tenant)
                .fetch_all(&mut **tx)
                .await?
            }
        },
    };
    for (tenant, measure, bucket, cases) in histograms {
        let i = inputs.entry(tenant).or_default();
        let hist: &mut Histogram = if measure == 1 {
            &mut i.first_response
        } else {
            &mut i.resolution
        };
        *hist.entry(bucket).or_default() += cases;
    }
    let qr: Vec<(Uuid, i64, i64)> = sqlx::query_as(
        "SELECT tenant_id, sum(scans)::bigint, sum(reports)::bigint FROM analytics.qr_daily \
         WHERE day BETWEEN $1 AND $2 GROUP BY 1",
    )
    .bind(period.from())
    .bind(period.to())
    .fetch_all(&mut **tx)
    .await?;
    for (tenant, scans, reports) in qr {
        inputs.entry(tenant).or_default().qr = Some((scans, reports));
    }
    Ok(tenants
        .into_iter()
        .map(|(tenant_id, code, name)| {
            let mut i = inputs.remove(&tenant_id).unwrap_or_default();
            i.qr.get_or_insert((0, 0));
            TownshipRow {
                tenant_id,
                code,
                name,
                figures: figures(&i),
            }
        })
        .collect())
}

/// The score of one township's figures and its components.
fn score(figures: &Figures) -> (Option<f64>, Vec<Component>) {
    let mut points = 0.0;
    let mut weights = 0.0;
    let components = LEAGUE_WEIGHTS
        .iter()
        .map(|(key, weight)| {
            let figure = figures.get(*key).copied().unwrap_or(Figure::rate(0, 0));
            let p = figure.value.map(|v| v * weight);
            if let Some(p) = p {
                points += p;
                weights += weight;
            }
            Component {
                key,
                weight: *weight,
                figure,
                points: p,
            }
        })
        .collect();
    let score = (weights > 0.0).then(|| points / weights * 100.0);
    (score, components)
}

/// Ranks the townships by their composite score (docs/metrics.md): highest first,
/// ties sharing a rank and listed by code, townships without a score last.
pub fn league(rows: &[TownshipRow]) -> Vec<LeagueRow> {
    let mut out: Vec<LeagueRow> = rows
        .iter()
        .map(|row| {
            let (score, components) = score(&row.figures);
            LeagueRow {
                rank: 0,
                tenant_id: row.tenant_id,
                code: row.code.clone(),
                name: row.name.clone(),
                score,
                reports: row.figures.get("reports").map_or(0, |f| f.numerator),
                components,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        let key = |r: &LeagueRow| r.score.map(|s| -(s * 1e9).round() as i64);
        match (key(a), key(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then_with(|| a.code.cmp(&b.code))
    });
    let mut rank = 0;
    let mut previous: Option<Option<i64>> = None;
    for (i, row) in out.iter_mut().enumerate() {
        let key = row.score.map(|s| (s * 1e9).round() as i64);
        if previous != Some(key) {
            rank = i + 1;
            previous = Some(key);
        }
        row.rank = rank;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(code: &str, timely: (i64, i64), satisfied: (i64, i64)) -> TownshipRow {
        let mut figures = Figures::new();
        figures.insert(
            "timely_response_rate".into(),
            Figure::rate(timely.0, timely.1),
        );
        figures.insert(
            "satisfaction_rate".into(),
            Figure::rate(satisfied.0, satisfied.1),
        );
        TownshipRow {
            tenant_id: Uuid::nil(),
            code: code.into(),
            name: code.into(),
            figures,
        }
    }

    #[test]
    fn the_score_weighs_the_known_components_and_ties_share_a_rank() {
        let rows = [
            row("b", (1, 2), (1, 1)),
            row("a", (1, 1), (1, 2)),
            row("c", (1, 1), (1, 1)),
            row("d", (0, 0), (0, 0)),
        ];
        let l = league(&rows);
        // c: (25 + 20) / 45 = 100; a: (25 + 10) / 45; b: (12.5 + 20) / 45.
        assert_eq!(l[0].code, "c");
        assert_eq!(l[0].score, Some(100.0));
        assert_eq!((l[1].code.as_str(), l[1].rank), ("a", 2));
        let a = 35.0 / 45.0 * 100.0;
        assert!((l[1].score.expect("a score") - a).abs() < 1e-9);
        assert_eq!(l[2].code, "b");
        assert_eq!(l[3].code, "d");
        assert_eq!(l[3].score, None);
        let tie = league(&[row("y", (1, 1), (1, 1)), row("x", (2, 2), (3, 3))]);
        assert_eq!((tie[0].code.as_str(), tie[0].rank), ("x", 1));
        assert_eq!((tie[1].code.as_str(), tie[1].rank), ("y", 1));
    }
}
