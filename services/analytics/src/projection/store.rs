//! Writing the projection: the kept events, a report's facts, and the roll-ups that
//! follow them, all in the caller's tenant transaction.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use mashang_db::TenantTx;
use mashang_domain::events::{Envelope, EventType, QrScanned};
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::contribution::{COUNTERS, Contribution, contribution};
use super::fold::{Answer, CaseFact, InvalidStatus, Level, fold};

/// The township's time zone (Asia/Shanghai when unknown).
pub async fn zone(tx: &mut TenantTx) -> Result<Tz, sqlx::Error> {
    let name: Option<String> =
        sqlx::query_scalar("SELECT time_zone FROM routing.tenants WHERE id = $1")
            .bind(tx.tenant().as_uuid())
            .fetch_optional(&mut **tx)
            .await?;
    Ok(name
        .and_then(|n| Tz::from_str(&n).ok())
        .unwrap_or(chrono_tz::Asia::Shanghai))
}

/// The report an event is about, if any.
pub fn report_of(envelope: &Envelope) -> Option<Uuid> {
    envelope
        .payload
        .get("report_id")
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
}

/// Keeps `envelope` in the history; false when it was kept before.
pub async fn keep(tx: &mut TenantTx, envelope: &Envelope) -> Result<bool, anyhow::Error> {
    let done = sqlx::query(
        "INSERT INTO analytics.events (id, tenant_id, event_type, report_id, occurred_at, envelope) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
    )
    .bind(envelope.id.as_uuid())
    .bind(tx.tenant().as_uuid())
    .bind(envelope.event_type.as_str())
    .bind(report_of(envelope))
    .bind(envelope.occurred_at)
    .bind(serde_json::to_value(envelope)?)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Adds one scan to its code's day.
pub async fn count_scan(
    tx: &mut TenantTx,
    envelope: &Envelope,
    zone: Tz,
) -> Result<(), anyhow::Error> {
    let Ok(scan) = envelope.decode::<QrScanned>() else {
        return Ok(());
    };
    let day = scan.scanned_at.with_timezone(&zone).date_naive();
    sqlx::query(
        "INSERT INTO analytics.qr_daily (tenant_id, qr_code_id, day, grid_node_id, scans) \
         VALUES ($1, $2, $3, $4, 1) ON CONFLICT (tenant_id, day, qr_code_id) \
         DO UPDATE SET scans = analytics.qr_daily.scans + 1",
    )
    .bind(tx.tenant().as_uuid())
    .bind(scan.qr_code_id.as_uuid())
    .bind(day)
    .bind(scan.grid_node_id.as_uuid())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The village (or community) above a grid node, from the directory.
async fn village_of(tx: &mut TenantTx, node: Option<Uuid>) -> Result<Option<Uuid>, sqlx::Error> {
    let Some(node) = node else {
        return Ok(None);
    };
    sqlx::query_scalar(
        "WITH RECURSIVE up (id, parent_id, kind, depth) AS ( \
             SELECT id, parent_id, kind, 0 FROM routing.grid_nodes WHERE tenant_id = $1 AND id = $2 \
             UNION ALL \
             SELECT g.id, g.parent_id, g.kind, up.depth + 1 FROM routing.grid_nodes g \
             JOIN up ON g.tenant_id = $1 AND g.id = up.parent_id WHERE up.depth < 32) \
         SELECT id FROM up WHERE kind IN ('village', 'community') ORDER BY depth LIMIT 1",
    )
    .bind(tx.tenant().as_uuid())
    .bind(node)
    .fetch_optional(&mut **tx)
    .await
}

/// Recomputes the facts of `report` from its kept events and moves its roll-up
/// contribution from the old facts to the new. Serialised per report, so two events
/// of one report handled at once cannot both take back the same old contribution.
pub async fn reproject(tx: &mut TenantTx, report: Uuid, zone: Tz) -> Result<(), anyhow::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 14))")
        .bind(report)
        .execute(&mut **tx)
        .await?;
    let rows: Vec<(serde_json::Value,)> = sqlx::query_as(
        "SELECT envelope FROM analytics.events WHERE tenant_id = $1 AND report_id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(report)
    .fetch_all(&mut **tx)
    .await?;
    let events: Vec<Envelope> = rows
        .into_iter()
        .filter_map(|(v,)| serde_json::from_value(v).ok())
        .collect();
    let mut new = fold(&events, zone);
    if let Some(fact) = new.as_mut() {
        fact.village_node_id = village_of(tx, fact.grid_node_id).await?;
    }
    let old = load(tx, report).await?;
    if old == new {
        return Ok(());
    }
    if let Some(old) = &old {
        add(tx, &contribution(old), -1).await?;
    }
    match &new {
        Some(fact) => {
            save(tx, fact).await?;
            add(tx, &contribution(fact), 1).await?;
        }
        None => {
            sqlx::query("DELETE FROM analytics.case_facts WHERE tenant_id = $1 AND report_id = $2")
                .bind(tx.tenant().as_uuid())
                .bind(report)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// A roll-up value of a dimension column.
#[derive(Clone, Copy)]
enum Dim<'a> {
    Day(NaiveDate),
    Id(Uuid),
    Text(&'a str),
}

/// Adds `counters` to the row of `table` at `dims` (the leading key columns after the
/// tenant), and drops the row when it falls to zero. Table and column names come from
/// fixed lists in this module; every value is a bind.
async fn add_counters(
    tx: &mut TenantTx,
    table: &str,
    dims: &[(&str, Dim<'_>)],
    counters: &[i64],
) -> Result<(), sqlx::Error> {
    let key: Vec<&str> = dims.iter().map(|(c, _)| *c).collect();
    let n = dims.len() + 1;
    let columns = COUNTERS.join(", ");
    let values = (0..n + COUNTERS.len())
        .map(|i| format!("${}", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let updates = COUNTERS
        .iter()
        .map(|c| format!("{c} = {table}.{c} + EXCLUDED.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let conflict = key.join(", ");
    let insert = format!(
        "INSERT INTO {table} (tenant_id, {conflict}, {columns}) VALUES ({values}) \
         ON CONFLICT (tenant_id, {conflict}) DO UPDATE SET {updates}"
    );
    let matches = key
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", i + 2))
        .collect::<Vec<_>>()
        .join(" AND ");
    let delete = format!("DELETE FROM {table} WHERE tenant_id = $1 AND {matches} AND reports = 0");
    let tenant = tx.tenant().as_uuid();
    let mut query = sqlx::query(sqlx::AssertSqlSafe(insert)).bind(tenant);
    for (_, d) in dims {
        query = bind_dim(query, *d);
    }
    for v in counters {
        query = query.bind(*v);
    }
    query.execute(&mut **tx).await?;
    let mut query = sqlx::query(sqlx::AssertSqlSafe(delete)).bind(tenant);
    for (_, d) in dims {
        query = bind_dim(query, *d);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// Adds `delta` cases to a duration bucket of `table` at `dims`, dropping an empty row.
async fn add_duration(
    tx: &mut TenantTx,
    table: &str,
    dims: &[(&str, Dim<'_>)],
    measure: i16,
    bucket: i16,
    delta: i64,
) -> Result<(), sqlx::Error> {
    let key: Vec<&str> = dims.iter().map(|(c, _)| *c).collect();
    let n = dims.len() + 1;
    let conflict = key.join(", ");
    let values = (0..n + 3)
        .map(|i| format!("${}", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let matches = key
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", i + 2))
        .collect::<Vec<_>>()
        .join(" AND ");
    let insert = format!(
        "INSERT INTO {table} (tenant_id, {conflict}, measure, bucket, cases) VALUES ({values}) \
         ON CONFLICT (tenant_id, {conflict}, measure, bucket) DO UPDATE SET cases = {table}.cases + EXCLUDED.cases"
    );
    let delete = format!(
        "DELETE FROM {table} WHERE tenant_id = $1 AND {matches} AND measure = ${m} AND bucket = ${b} AND cases = 0",
        m = n + 1,
        b = n + 2,
    );
    let tenant = tx.tenant().as_uuid();
    let mut query = sqlx::query(sqlx::AssertSqlSafe(insert)).bind(tenant);
    for (_, d) in dims {
        query = bind_dim(query, *d);
    }
    query
        .bind(measure)
        .bind(bucket)
        .bind(delta)
        .execute(&mut **tx)
        .await?;
    let mut query = sqlx::query(sqlx::AssertSqlSafe(delete)).bind(tenant);
    for (_, d) in dims {
        query = bind_dim(query, *d);
    }
    query.bind(measure).bind(bucket).execute(&mut **tx).await?;
    Ok(())
}

fn bind_dim<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    dim: Dim<'q>,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    match dim {
        Dim::Day(d) => query.bind(d),
        Dim::Id(id) => query.bind(id),
        Dim::Text(t) => query.bind(t),
    }
}

/// Adds `sign` × the contribution to the roll-ups (per grid and handler, and per
/// township total), dropping rows that fall to zero.
pub async fn add(tx: &mut TenantTx, c: &Contribution, sign: i64) -> Result<(), sqlx::Error> {
    let k = &c.key;
    let fine = [
        ("day", Dim::Day(k.day)),
        ("grid_node_id", Dim::Id(k.grid_node_id)),
        ("village_node_id", Dim::Id(k.village_node_id)),
        ("category", Dim::Text(&k.category)),
        ("handler_id", Dim::Id(k.handler_id)),
    ];
    let total = [
        ("day", Dim::Day(k.day)),
        ("category", Dim::Text(&k.category)),
    ];
    let counters: Vec<i64> = c.counters.iter().map(|v| v * sign).collect();
    add_counters(tx, "analytics.daily_rollups", &fine, &counters).await?;
    add_counters(tx, "analytics.daily_totals", &total, &counters).await?;
    for (measure, bucket) in &c.durations {
        add_duration(
            tx,
            "analytics.daily_durations",
            &fine,
            measure.code(),
            *bucket,
            sign,
        )
        .await?;
        add_duration(
            tx,
            "analytics.daily_total_durations",
            &total,
            measure.code(),
            *bucket,
            sign,
        )
        .await?;
    }
    if let Some((code, day, grid)) = c.qr {
        let tenant = tx.tenant().as_uuid();
        sqlx::query(
            "INSERT INTO analytics.qr_daily (tenant_id, qr_code_id, day, grid_node_id, reports) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, day, qr_code_id) \
             DO UPDATE SET reports = analytics.qr_daily.reports + EXCLUDED.reports",
        )
        .bind(tenant)
        .bind(code)
        .bind(day)
        .bind(grid)
        .bind(sign)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "DELETE FROM analytics.qr_daily WHERE tenant_id = $1 AND day = $2 AND qr_code_id = $3 \
               AND scans = 0 AND reports = 0",
        )
        .bind(tenant)
        .bind(day)
        .bind(code)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The stored facts of a report.
async fn load(tx: &mut TenantTx, report: Uuid) -> Result<Option<CaseFact>, sqlx::Error> {
    let row =
        sqlx::query("SELECT * FROM analytics.case_facts WHERE tenant_id = $1 AND report_id = $2")
            .bind(tx.tenant().as_uuid())
            .bind(report)
            .fetch_optional(&mut **tx)
            .await?;
    row.map(|r| from_row(&r)).transpose()
}

fn from_row(r: &PgRow) -> Result<CaseFact, sqlx::Error> {
    let level = |col: &str| -> Result<Option<Level>, sqlx::Error> {
        Ok(r.try_get::<Option<String>, _>(col)?
            .as_deref()
            .and_then(Level::parse))
    };
    let answer = match (
        r.try_get::<Option<DateTime<Utc>>, _>("answered_at")?,
        r.try_get::<Option<bool>, _>("answer_resolved")?,
        r.try_get::<Option<String>, _>("answer_satisfaction")?,
        r.try_get::<Option<String>, _>("answer_source")?,
    ) {
        (Some(at), Some(resolved), Some(satisfaction), Some(source)) => Some(Answer {
            at,
            resolved,
            satisfaction,
            source: if source == "citizen" {
                "citizen"
            } else {
                "follow_up"
            },
        }),
        _ => None,
    };
    Ok(CaseFact {
        report_id: r.try_get("report_id")?,
        case_id: r.try_get("case_id")?,
        tracking_number: r.try_get("tracking_number")?,
        qr_code_id: r.try_get("qr_code_id")?,
        grid_node_id: r.try_get("grid_node_id")?,
        village_node_id: r.try_get("village_node_id")?,
        category: r.try_get("category")?,
        channel: r.try_get("channel")?,
        priority: r.try_get("priority")?,
        status: r.try_get("status")?,
        submitted_at: r.try_get("submitted_at")?,
        submitted_day: r.try_get::<NaiveDate, _>("submitted_day")?,
        first_response_due: r.try_get("first_response_due")?,
        first_responded_at: r.try_get("first_responded_at")?,
        resolve_due: r.try_get("resolve_due")?,
        first_resolved_at: r.try_get("first_resolved_at")?,
        resolved_at: r.try_get("resolved_at")?,
        closed_at: r.try_get("closed_at")?,
        handler_id: r.try_get("handler_id")?,
        handler_level: level("handler_level")?,
        resolved_level: level("resolved_level")?,
        returns: r.try_get("returns")?,
        transfers: r.try_get("transfers")?,
        reopenings: r.try_get("reopenings")?,
        escalations: r.try_get("escalations")?,
        pauses: r.try_get("pauses")?,
        invalid_status: InvalidStatus::parse(&r.try_get::<String, _>("invalid_status")?)
            .unwrap_or_default(),
        answer,
        case_version: r.try_get("case_version")?,
    })
}

/// Writes the facts of a report (insert or replace).
async fn save(tx: &mut TenantTx, f: &CaseFact) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO analytics.case_facts (tenant_id, report_id, case_id, tracking_number, qr_code_id, \
             grid_node_id, village_node_id, category, channel, priority, status, submitted_at, submitted_day, \
             first_response_due, first_responded_at, resolve_due, first_resolved_at, resolved_at, closed_at, \
             handler_id, handler_level, resolved_level, returns, transfers, reopenings, escalations, pauses, \
             invalid_status, answered_at, answer_resolved, answer_satisfaction, answer_source, case_version, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
                 $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, clock_timestamp()) \
         ON CONFLICT (tenant_id, report_id) DO UPDATE SET case_id = EXCLUDED.case_id, \
             tracking_number = EXCLUDED.tracking_number, qr_code_id = EXCLUDED.qr_code_id, \
             grid_node_id = EXCLUDED.grid_node_id, village_node_id = EXCLUDED.village_node_id, \
             category = EXCLUDED.category, channel = EXCLUDED.channel, priority = EXCLUDED.priority, \
             status = EXCLUDED.status, submitted_at = EXCLUDED.submitted_at, submitted_day = EXCLUDED.submitted_day, \
             first_response_due = EXCLUDED.first_response_due, first_responded_at = EXCLUDED.first_responded_at, \
             resolve_due = EXCLUDED.resolve_due, first_resolved_at = EXCLUDED.first_resolved_at, \
             resolved_at = EXCLUDED.resolved_at, closed_at = EXCLUDED.closed_at, handler_id = EXCLUDED.handler_id, \
             handler_level = EXCLUDED.handler_level, resolved_level = EXCLUDED.resolved_level, \
             returns = EXCLUDED.returns, transfers = EXCLUDED.transfers, reopenings = EXCLUDED.reopenings, \
             escalations = EXCLUDED.escalations, pauses = EXCLUDED.pauses, invalid_status = EXCLUDED.invalid_status, \
             answered_at = EXCLUDED.answered_at, answer_resolved = EXCLUDED.answer_resolved, \
             answer_satisfaction = EXCLUDED.answer_satisfaction, answer_source = EXCLUDED.answer_source, \
             case_version = EXCLUDED.case_version, updated_at = EXCLUDED.updated_at",
    )
    .bind(tx.tenant().as_uuid())
    .bind(f.report_id)
    .bind(f.case_id)
    .bind(&f.tracking_number)
    .bind(f.qr_code_id)
    .bind(f.grid_node_id)
    .bind(f.village_node_id)
    .bind(&f.category)
    .bind(&f.channel)
    .bind(&f.priority)
    .bind(&f.status)
    .bind(f.submitted_at)
    .bind(f.submitted_day)
    .bind(f.first_response_due)
    .bind(f.first_responded_at)
    .bind(f.resolve_due)
    .bind(f.first_resolved_at)
    .bind(f.resolved_at)
    .bind(f.closed_at)
    .bind(f.handler_id)
    .bind(f.handler_level.map(Level::as_str))
    .bind(f.resolved_level.map(Level::as_str))
    .bind(f.returns)
    .bind(f.transfers)
    .bind(f.reopenings)
    .bind(f.escalations)
    .bind(f.pauses)
    .bind(f.invalid_status.as_str())
    .bind(f.answer.as_ref().map(|a| a.at))
    .bind(f.answer.as_ref().map(|a| a.resolved))
    .bind(f.answer.as_ref().map(|a| a.satisfaction.clone()))
    .bind(f.answer.as_ref().map(|a| a.source))
    .bind(f.case_version)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether an event type feeds a report's facts.
pub fn feeds_facts(event_type: EventType) -> bool {
    !matches!(event_type, EventType::TenantAlerted | EventType::QrScanned)
}
