//! The report's input read from the figures (`crate::figures`, the one implementation
//! of docs/metrics.md), so that the document says what the stats API says, plus the
//! few counts only the report needs: codes posted, and cases resolved only after an
//! escalation.

use std::collections::HashMap;

use chrono::NaiveDate;
use mashang_db::{GlobalTx, TenantTx};
use uuid::Uuid;

use super::data::{
    Basics, CountyReport, Figure, FigureLine, LeagueLine, NodeLine, Period, PosterLine,
    TownshipReport, Unit,
};
use crate::figures::{self, Breakdown, Figures, Filters, LEAGUE_WEIGHTS};

/// The figures of 工作成效, in the order the report lists them, with their names
/// (docs/metrics.md) and how they are written.
pub const RESULTS: [(&str, &str, Unit); 17] = [
    ("timely_response_rate", "及时响应率", Unit::Percent),
    ("on_time_resolution_rate", "按时办结率", Unit::Percent),
    ("resolution_rate", "办结率", Unit::Percent),
    ("solved_rate", "解决率", Unit::Percent),
    ("satisfaction_rate", "满意率", Unit::Percent),
    ("follow_up_rate", "回访率", Unit::Percent),
    ("return_rate", "退单率", Unit::Percent),
    ("reopen_rate", "重办率", Unit::Percent),
    ("overdue_rate", "超时率", Unit::Percent),
    ("escalation_rate", "升级率", Unit::Percent),
    ("invalid_rate", "无效率", Unit::Percent),
    ("village_rate", "小事不出村率", Unit::Percent),
    ("first_response_median", "首次响应时长中位数", Unit::Minutes),
    ("first_response_p90", "首次响应时长P90", Unit::Minutes),
    ("resolution_median", "办结时长中位数", Unit::Minutes),
    ("resolution_p90", "办结时长P90", Unit::Minutes),
    ("cases_per_worker", "人均案件数", Unit::Number),
];

/// The figures of 基本情况.
pub const BASICS: [(&str, &str, Unit); 4] = [
    ("reports", "受理量", Unit::Count),
    ("qr_scans", "扫码次数", Unit::Count),
    ("qr_reports", "扫码报件数", Unit::Count),
    ("qr_conversion", "扫码转化率", Unit::Percent),
];

/// The name and unit the report gives the figure `key` (for the league's components).
pub fn label(key: &str) -> (&'static str, Unit) {
    RESULTS
        .iter()
        .chain(BASICS.iter())
        .find(|(k, ..)| *k == key)
        .map_or(("", Unit::Number), |(_, label, unit)| (*label, *unit))
}

fn figure(figures: &Figures, key: &str) -> Figure {
    figures.get(key).map_or_else(Figure::default, |f| Figure {
        value: f.value,
        numerator: Some(f.numerator),
        denominator: Some(f.denominator),
    })
}

/// The lines for `keys` from `figures`; counts are written without numerator and
/// denominator (the API gives the count as both).
fn lines(figures: &Figures, keys: &[(&str, &str, Unit)]) -> Vec<FigureLine> {
    keys.iter()
        .map(|(key, label, unit)| {
            let mut f = figure(figures, key);
            if *unit == Unit::Count {
                f.numerator = None;
                f.denominator = None;
            }
            FigureLine {
                key: (*key).to_owned(),
                label: (*label).to_owned(),
                unit: *unit,
                figure: f,
            }
        })
        .collect()
}

fn count(figures: &Figures, key: &str) -> i64 {
    figures.get(key).map_or(0, |f| f.numerator)
}

fn nodes(breakdowns: &[Breakdown], unnamed: &str) -> Vec<NodeLine> {
    breakdowns
        .iter()
        .map(|b| NodeLine {
            name: b.name.clone().unwrap_or_else(|| unnamed.to_owned()),
            cases: count(&b.figures, "reports"),
            overdue: figure(&b.figures, "overdue_rate"),
        })
        .collect()
}

/// The township's name, code and today's local date.
async fn township_of(tx: &mut TenantTx) -> Result<(String, String, NaiveDate), sqlx::Error> {
    sqlx::query_as(
        "SELECT name, code, (now() AT TIME ZONE time_zone)::date FROM routing.tenants WHERE id = $1",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_one(&mut **tx)
    .await
}

/// Codes posted (issued by the end of the period and not revoked by then, in the
/// township's time) and, of those, codes scanned in the period.
async fn codes(tx: &mut TenantTx, period: &Period) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE EXISTS ( \
             SELECT 1 FROM analytics.qr_daily d WHERE d.tenant_id = q.tenant_id \
               AND d.qr_code_id = q.id AND d.day BETWEEN $2 AND $3 AND d.scans > 0)) \
         FROM routing.qr_codes q JOIN routing.tenants t ON t.id = q.tenant_id \
         WHERE q.tenant_id = $1 \
           AND q.created_at < (($3::date + 1)::timestamp AT TIME ZONE t.time_zone) \
           AND (q.revoked_at IS NULL \
                OR q.revoked_at >= (($3::date + 1)::timestamp AT TIME ZONE t.time_zone))",
    )
    .bind(tx.tenant().as_uuid())
    .bind(period.from)
    .bind(period.to)
    .fetch_one(&mut **tx)
    .await
}

/// Of the period's resolved cases (docs/metrics.md's 办结: valid, and resolved,
/// followed up or closed now), those escalated at least once before.
async fn resolved_escalated(tx: &mut TenantTx, period: &Period) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM analytics.case_facts \
         WHERE tenant_id = $1 AND submitted_day BETWEEN $2 AND $3 \
           AND status IN ('resolved', 'followed_up', 'closed') AND invalid_status <> 'approved' \
           AND escalations > 0",
    )
    .bind(tx.tenant().as_uuid())
    .bind(period.from)
    .bind(period.to)
    .fetch_one(&mut **tx)
    .await
}

fn basics(f: &Figures, posted: i64, scanned: i64) -> Basics {
    let reports = count(f, "reports");
    let qr_reports = count(f, "qr_reports");
    Basics {
        codes_posted: posted,
        codes_scanned: scanned,
        scans: count(f, "qr_scans"),
        reports,
        by_channel: vec![
            ("扫码".to_owned(), qr_reports),
            (
                "代为登记等其他渠道".to_owned(),
                (reports - qr_reports).max(0),
            ),
        ],
        figures: lines(f, &BASICS),
    }
}

/// Everything the township's report says, for `period`, in its tenant transaction.
pub async fn township(
    tx: &mut TenantTx,
    period: figures::Period,
) -> Result<TownshipReport, sqlx::Error> {
    let (name, _code, today) = township_of(tx).await?;
    let p = Period {
        from: period.from(),
        to: period.to(),
    };
    let out = figures::township_figures(tx, period, &Filters::default()).await?;
    let (posted, scanned) = codes(tx, &p).await?;
    let escalated = resolved_escalated(tx, &p).await?;

    // A grid with several codes: number them so that each poster is told apart.
    let mut seen: HashMap<Uuid, usize> = HashMap::new();
    let posters = out
        .qr
        .iter()
        .map(|q| {
            let n = seen.entry(q.grid_node_id).or_default();
            *n += 1;
            let grid = q
                .grid_name
                .clone()
                .unwrap_or_else(|| "未命名网格".to_owned());
            PosterLine {
                name: if *n == 1 {
                    grid
                } else {
                    format!("{grid}（{n}）")
                },
                scans: q.scans,
                reports: q.reports,
            }
        })
        .collect();
    let resolved = count(&out.figures, "resolution_rate");
    Ok(TownshipReport {
        township: name,
        period: p,
        generated_on: today,
        basics: basics(&out.figures, posted, scanned),
        results: lines(&out.figures, &RESULTS),
        resolved_after_escalation: Figure::rate(escalated, resolved),
        villages: nodes(&out.by_village, "未归属村（社区）"),
        grids: nodes(&out.by_grid, "未归属网格"),
        posters,
    })
}

/// The league's components as report lines, in `LEAGUE_WEIGHTS`' order.
fn components(f: &Figures) -> Vec<FigureLine> {
    LEAGUE_WEIGHTS
        .iter()
        .map(|(key, _)| {
            let (label, unit) = label(key);
            FigureLine {
                key: (*key).to_owned(),
                label: label.to_owned(),
                unit,
                figure: figure(f, key),
            }
        })
        .collect()
}

/// Everything the county's report says: the league from the county-read transaction
/// `tx`, and each township's posted codes read in its own transaction by `codes_of`.
pub async fn county<F, Fut, E>(
    tx: &mut GlobalTx,
    period: figures::Period,
    mut codes_of: F,
) -> Result<CountyReport, E>
where
    F: FnMut(Uuid) -> Fut,
    Fut: std::future::Future<Output = Result<(i64, i64), E>>,
    E: From<sqlx::Error>,
{
    let today: NaiveDate = sqlx::query_scalar("SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date")
        .fetch_one(&mut **tx)
        .await?;
    let rows = figures::county_figures(tx, period).await?;
    let by_id: HashMap<Uuid, &figures::TownshipRow> =
        rows.iter().map(|r| (r.tenant_id, r)).collect();
    let mut league = Vec::new();
    for l in figures::league(&rows) {
        let f = by_id
            .get(&l.tenant_id)
            .map(|r| r.figures.clone())
            .unwrap_or_default();
        let (posted, scanned) = codes_of(l.tenant_id).await?;
        league.push(LeagueLine {
            rank: u32::try_from(l.rank).unwrap_or(u32::MAX),
            township: l.name.clone(),
            score: l.score,
            basics: basics(&f, posted, scanned),
            components: components(&f),
        });
    }
    Ok(CountyReport {
        county: "全县".to_owned(),
        period: Period {
            from: period.from(),
            to: period.to(),
        },
        generated_on: today,
        league,
    })
}

/// A township's codes posted and scanned in `period`, for the county's report.
pub async fn township_codes(
    tx: &mut TenantTx,
    period: figures::Period,
) -> Result<(i64, i64), sqlx::Error> {
    let p = Period {
        from: period.from(),
        to: period.to(),
    };
    codes(tx, &p).await
}

/// The township's code (for the ASCII file name).
pub async fn township_code(tx: &mut TenantTx) -> Result<String, sqlx::Error> {
    let (_, code, _) = township_of(tx).await?;
    Ok(code)
}
