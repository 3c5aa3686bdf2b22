//! A township's figures, with its breakdowns per grid, village, worker and QR poster,
//! read from the daily roll-ups (and the open cases for the clock's part).

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use mashang_db::TenantTx;
use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use super::compute::{Counters, Figure, Figures, Histogram, Inputs, figures};
use super::{Filters, Period};
use crate::projection::contribution::COUNTERS;

/// The figures of one grid, village or worker.
#[derive(Clone, Debug, Serialize)]
pub struct Breakdown {
    /// The node or handler (`null`: none — a case without a village or handler).
    pub id: Option<Uuid>,
    /// Its name in the directory, when it has one.
    pub name: Option<String>,
    /// Its figures (durations are given for the whole selection only).
    pub figures: Figures,
}

/// One QR code (poster): its scans, the reports made through it, and the conversion.
#[derive(Clone, Debug, Serialize)]
pub struct Poster {
    /// The code.
    pub qr_code_id: Uuid,
    /// The grid node it is posted for.
    pub grid_node_id: Uuid,
    /// That node's name.
    pub grid_name: Option<String>,
    /// Landing pages opened.
    pub scans: i64,
    /// Reports made through it.
    pub reports: i64,
    /// reports ÷ scans.
    pub conversion: Figure,
}

/// What [`township_figures`](super::township_figures) returns.
#[derive(Clone, Debug, Serialize)]
pub struct TownshipFigures {
    /// The township's figures for the selection, by key.
    pub figures: Figures,
    /// Per grid, most reports first.
    pub by_grid: Vec<Breakdown>,
    /// Per village, most reports first.
    pub by_village: Vec<Breakdown>,
    /// Per worker (handler), most reports first.
    pub by_worker: Vec<Breakdown>,
    /// Per QR poster, most scans first.
    pub qr: Vec<Poster>,
}

/// One row of the fine roll-ups summed over the period: (grid, village, handler).
type Cell = (Uuid, Uuid, Uuid);

fn sums_sql() -> String {
    COUNTERS
        .iter()
        .map(|c| format!("sum({c})::bigint"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn counters_from(row: &sqlx::postgres::PgRow, first: usize) -> Result<Counters, sqlx::Error> {
    let mut c = Counters::default();
    for (i, slot) in c.sums.iter_mut().enumerate() {
        *slot = row.try_get::<Option<i64>, _>(first + i)?.unwrap_or(0);
    }
    Ok(c)
}

/// The node and every node below it (at most 10 000), for a `node_id` filter.
pub(crate) async fn subtree(tx: &mut TenantTx, node: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "WITH RECURSIVE down (id, depth) AS ( \
             SELECT id, 0 FROM routing.grid_nodes WHERE tenant_id = $1 AND id = $2 \
             UNION ALL \
             SELECT g.id, down.depth + 1 FROM routing.grid_nodes g \
             JOIN down ON g.tenant_id = $1 AND g.parent_id = down.id WHERE down.depth < 32) \
         SELECT id FROM down LIMIT 10000",
    )
    .bind(tx.tenant().as_uuid())
    .bind(node)
    .fetch_all(&mut **tx)
    .await
}

async fn cells(
    tx: &mut TenantTx,
    period: Period,
    category: Option<&str>,
    nodes: Option<&[Uuid]>,
) -> Result<HashMap<Cell, Counters>, sqlx::Error> {
    let sql = format!(
        "SELECT grid_node_id, village_node_id, handler_id, {} FROM analytics.daily_rollups \
         WHERE tenant_id = $1 AND day BETWEEN $2 AND $3 AND ($4::text IS NULL OR category = $4) \
           AND ($5::uuid[] IS NULL OR grid_node_id = ANY($5)) \
         GROUP BY 1, 2, 3",
        sums_sql()
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant().as_uuid())
        .bind(period.from())
        .bind(period.to())
        .bind(category)
        .bind(nodes)
        .fetch_all(&mut **tx)
        .await?;
    let mut out = HashMap::new();
    for row in rows {
        let cell: Cell = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        out.insert(cell, counters_from(&row, 3)?);
    }
    // The clock's part: open cases whose deadlines passed (a partial index keeps this
    // to the open cases of the period).
    let open: Vec<(Uuid, Uuid, Uuid, i64, i64)> = sqlx::query_as(
        "SELECT coalesce(grid_node_id, '00000000-0000-0000-0000-000000000000'), \
                coalesce(village_node_id, '00000000-0000-0000-0000-000000000000'), \
                coalesce(handler_id, '00000000-0000-0000-0000-000000000000'), \
                count(*) FILTER (WHERE first_responded_at IS NULL AND first_response_due < $6), \
                count(*) FILTER (WHERE resolve_due < $6) \
         FROM analytics.case_facts \
         WHERE tenant_id = $1 AND submitted_day BETWEEN $2 AND $3 \
           AND status NOT IN ('resolved', 'followed_up', 'closed', 'invalid') \
           AND ($4::text IS NULL OR category = $4) AND ($5::uuid[] IS NULL OR grid_node_id = ANY($5)) \
         GROUP BY 1, 2, 3",
    )
    .bind(tx.tenant().as_uuid())
    .bind(period.from())
    .bind(period.to())
    .bind(category)
    .bind(nodes)
    .bind(Utc::now())
    .fetch_all(&mut **tx)
    .await?;
    for (grid, village, handler, response, resolution) in open {
        let c = out.entry((grid, village, handler)).or_default();
        c.response_missed_open += response;
        c.resolution_missed_open += resolution;
    }
    Ok(out)
}

async fn histograms(
    tx: &mut TenantTx,
    period: Period,
    category: Option<&str>,
    nodes: Option<&[Uuid]>,
) -> Result<(Histogram, Histogram), sqlx::Error> {
    let rows: Vec<(i16, i16, i64)> = match nodes {
        None => {
            sqlx::query_as(
                "SELECT measure, bucket, sum(cases)::bigint FROM analytics.daily_total_durations \
                 WHERE tenant_id = $1 AND day BETWEEN $2 AND $3 AND ($4::text IS NULL OR category = $4) \
                 GROUP BY 1, 2",
            )
            .bind(tx.tenant().as_uuid())
            .bind(period.from())
            .bind(period.to())
            .bind(category)
            .fetch_all(&mut **tx)
            .await?
        }
        Some(nodes) => {
            sqlx::query_as(
                "SELECT measure, bucket, sum(cases)::bigint FROM analytics.daily_durations \
                 WHERE tenant_id = $1 AND day BETWEEN $2 AND $3 AND ($4::text IS NULL OR category = $4) \
                   AND grid_node_id = ANY($5) \
                 GROUP BY 1, 2",
            )
            .bind(tx.tenant().as_uuid())
            .bind(period.from())
            .bind(period.to())
            .bind(category)
            .bind(nodes)
            .fetch_all(&mut **tx)
            .await?
        }
    };
    let mut response = Histogram::new();
    let mut resolution = Histogram::new();
    for (measure, bucket, cases) in rows {
        let hist = if measure == 1 {
            &mut response
        } else {
            &mut resolution
        };
        *hist.entry(bucket).or_default() += cases;
    }
    Ok((response, resolution))
}

async fn posters(
    tx: &mut TenantTx,
    period: Period,
    nodes: Option<&[Uuid]>,
) -> Result<Vec<(Uuid, Uuid, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT qr_code_id, grid_node_id, sum(scans)::bigint, sum(reports)::bigint FROM analytics.qr_daily \
         WHERE tenant_id = $1 AND day BETWEEN $2 AND $3 AND ($4::uuid[] IS NULL OR grid_node_id = ANY($4)) \
         GROUP BY 1, 2 ORDER BY 3 DESC, 1",
    )
    .bind(tx.tenant().as_uuid())
    .bind(period.from())
    .bind(period.to())
    .bind(nodes)
    .fetch_all(&mut **tx)
    .await
}

async fn names(
    tx: &mut TenantTx,
    table: &'static str,
    ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, String>, sqlx::Error> {
    let sql = match table {
        "nodes" => "SELECT id, name FROM routing.grid_nodes WHERE tenant_id = $1 AND id = ANY($2)",
        _ => "SELECT id, name FROM routing.staff_users WHERE tenant_id = $1 AND id = ANY($2)",
    };
    let rows: Vec<(Uuid, String)> = sqlx::query_as(sql)
        .bind(tx.tenant().as_uuid())
        .bind(ids)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows.into_iter().collect())
}

/// (valid cases with a handler, handlers with a valid case) over some cells.
fn workers<'a>(cells: impl Iterator<Item = (&'a Cell, &'a Counters)>) -> (i64, i64) {
    let mut per: HashMap<Uuid, i64> = HashMap::new();
    for ((_, _, handler), c) in cells {
        let valid = c.get("valid");
        if !handler.is_nil() && valid > 0 {
            *per.entry(*handler).or_default() += valid;
        }
    }
    (per.values().sum(), per.len() as i64)
}

fn breakdown(
    groups: BTreeMap<Uuid, (Counters, Vec<(Cell, Counters)>)>,
    names: &HashMap<Uuid, String>,
    qr: &HashMap<Uuid, (i64, i64)>,
) -> Vec<Breakdown> {
    let mut out: Vec<(i64, Breakdown)> = groups
        .into_iter()
        .map(|(id, (counters, cells))| {
            let inputs = Inputs {
                counters,
                workers: Some(workers(cells.iter().map(|(k, c)| (k, c)))),
                qr: qr.get(&id).copied(),
                ..Inputs::default()
            };
            let mut figures = figures(&inputs);
            figures.retain(|k, _| !k.ends_with("_median") && !k.ends_with("_p90"));
            let reports = counters.get("reports");
            (
                reports,
                Breakdown {
                    id: (!id.is_nil()).then_some(id),
                    name: names.get(&id).cloned(),
                    figures,
                },
            )
        })
        .collect();
    out.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.id.cmp(&b.1.id)));
    out.into_iter().map(|(_, b)| b).collect()
}

/// See [`super::township_figures`].
pub(crate) async fn compute(
    tx: &mut TenantTx,
    period: Period,
    filters: &Filters,
) -> Result<TownshipFigures, sqlx::Error> {
    let nodes = match filters.node_id {
        Some(node) => Some(subtree(tx, node.as_uuid()).await?),
        None => None,
    };
    let category = filters.category.as_deref();
    let cells = cells(tx, period, category, nodes.as_deref()).await?;
    let (first_response, resolution) = histograms(tx, period, category, nodes.as_deref()).await?;
    let posters_rows = posters(tx, period, nodes.as_deref()).await?;

    let mut total = Counters::default();
    let mut by_grid: BTreeMap<Uuid, (Counters, Vec<(Cell, Counters)>)> = BTreeMap::new();
    let mut by_village: BTreeMap<Uuid, (Counters, Vec<(Cell, Counters)>)> = BTreeMap::new();
    let mut by_worker: BTreeMap<Uuid, (Counters, Vec<(Cell, Counters)>)> = BTreeMap::new();
    for (cell, c) in &cells {
        total.absorb(c);
        for (map, key) in [
            (&mut by_grid, cell.0),
            (&mut by_village, cell.1),
            (&mut by_worker, cell.2),
        ] {
            let entry = map.entry(key).or_default();
            entry.0.absorb(c);
            entry.1.push((*cell, *c));
        }
    }
    let scans: i64 = posters_rows.iter().map(|p| p.2).sum();
    let qr_reports: i64 = posters_rows.iter().map(|p| p.3).sum();
    let mut qr_by_grid: HashMap<Uuid, (i64, i64)> = HashMap::new();
    for (_, grid, s, r) in &posters_rows {
        let e = qr_by_grid.entry(*grid).or_default();
        e.0 += s;
        e.1 += r;
    }
    let inputs = Inputs {
        counters: total,
        first_response,
        resolution,
        workers: Some(workers(cells.iter())),
        qr: Some((scans, qr_reports)),
    };

    let mut node_ids: Vec<Uuid> = by_grid.keys().chain(by_village.keys()).copied().collect();
    node_ids.extend(posters_rows.iter().map(|p| p.1));
    let node_names = names(tx, "nodes", node_ids).await?;
    let worker_names = names(tx, "people", by_worker.keys().copied().collect()).await?;

    Ok(TownshipFigures {
        figures: figures(&inputs),
        by_grid: breakdown(by_grid, &node_names, &qr_by_grid),
        by_village: breakdown(by_village, &node_names, &HashMap::new()),
        by_worker: breakdown(by_worker, &worker_names, &HashMap::new()),
        qr: posters_rows
            .into_iter()
            .map(|(code, grid, scans, reports)| Poster {
                qr_code_id: code,
                grid_node_id: grid,
                grid_name: node_names.get(&grid).cloned(),
                scans,
                reports,
                conversion: Figure::rate(reports, scans),
            })
            .collect(),
    })
}
