//! Reading requests back: `GET requests.{json,xml}` (by ids, or by service, time and
//! status), `GET requests/{id}.{json,xml}` (a one-element list) and
//! `GET tokens/{token}.{json,xml}`. Every report of the township is listed, whichever
//! way it came in; contact details never are.

use std::collections::HashMap;
use std::io;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use mashang_domain::report::ReportStatus;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::answer::{Format, Refusal, ToXml, Xml, list};
use super::services::categories;
use super::township::Township;
use crate::IntakeState;

/// Most requests one answer lists, newest first.
pub(crate) const MAX_RESULTS: i64 = 1000;
/// The time span searched when none is given, and the longest that may be asked for.
pub(crate) const SPAN_DAYS: i64 = 90;
/// Most ids in one `service_request_id` list.
pub(crate) const MAX_IDS: usize = 100;
/// Most codes in one `service_code` list.
const MAX_CODES: usize = 50;
/// Longest query value worth reading.
const MAX_VALUE: usize = 4000;

/// The query parameters every read takes.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReadQuery {
    /// The integration's key.
    pub api_key: Option<String>,
    /// The township's code.
    pub jurisdiction_id: Option<String>,
    /// Tracking numbers, comma-separated.
    pub service_request_id: Option<String>,
    /// Categories, comma-separated.
    pub service_code: Option<String>,
    /// From (W3C date-time with zone).
    pub start_date: Option<String>,
    /// Until (W3C date-time with zone).
    pub end_date: Option<String>,
    /// `open`, `closed`, or both comma-separated.
    pub status: Option<String>,
}

/// One request as listed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Open311ServiceRequest)]
pub(crate) struct ServiceRequest {
    /// The tracking number.
    pub service_request_id: String,
    /// `open` or `closed`.
    pub status: &'static str,
    /// Where it stands, in words (已办结 (Resolved)).
    pub status_notes: String,
    /// The category's name.
    pub service_name: String,
    /// The category's code.
    pub service_code: String,
    /// What is wrong (with the address and photo link of an Open311 request).
    pub description: String,
    /// The township.
    pub agency_responsible: String,
    /// Nothing to say beyond the status.
    pub service_notice: Option<String>,
    /// When it was filed.
    pub requested_datetime: String,
    /// When it last changed.
    pub updated_datetime: String,
    /// Deadlines are routing's, not shown here.
    pub expected_datetime: Option<String>,
    /// The address as given.
    pub address: Option<String>,
    /// Not used.
    pub address_id: Option<String>,
    /// Not used.
    pub zipcode: Option<String>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub long: Option<f64>,
    /// A link to a photo, as given.
    pub media_url: Option<String>,
}

impl ToXml for ServiceRequest {
    const ELEMENT: &'static str = "request";

    fn children(&self, xml: &mut Xml) -> io::Result<()> {
        xml.text("service_request_id", &self.service_request_id)?;
        xml.text("status", self.status)?;
        xml.text("status_notes", &self.status_notes)?;
        xml.text("service_name", &self.service_name)?;
        xml.text("service_code", &self.service_code)?;
        xml.text("description", &self.description)?;
        xml.text("agency_responsible", &self.agency_responsible)?;
        xml.opt("service_notice", self.service_notice.as_deref())?;
        xml.text("requested_datetime", &self.requested_datetime)?;
        xml.text("updated_datetime", &self.updated_datetime)?;
        xml.opt("expected_datetime", self.expected_datetime.as_deref())?;
        xml.opt("address", self.address.as_deref())?;
        xml.opt("address_id", self.address_id.as_deref())?;
        xml.opt("zipcode", self.zipcode.as_deref())?;
        xml.number("lat", self.lat)?;
        xml.number("long", self.long)?;
        xml.opt("media_url", self.media_url.as_deref())
    }
}

/// The report statuses counted as Open311's `closed`: measures recorded and after.
pub(crate) const CLOSED: [ReportStatus; 3] = [
    ReportStatus::Resolved,
    ReportStatus::FollowedUp,
    ReportStatus::Closed,
];

/// Open311's status of a stored report status.
pub(crate) fn open_or_closed(status: Option<ReportStatus>) -> &'static str {
    match status {
        Some(s) if CLOSED.contains(&s) => "closed",
        _ => "open",
    }
}

/// A report status in words, Chinese first.
pub(crate) fn status_words(status: Option<ReportStatus>) -> String {
    let status = status.unwrap_or(ReportStatus::Submitted);
    format!("{} ({})", status.label_zh(), status.label_en())
}

/// A comma-separated list, trimmed, without empty items; refused past `max` items.
fn comma_list(raw: Option<&str>, max: usize, name: &str) -> Result<Option<Vec<String>>, Refusal> {
    let Some(raw) = raw else { return Ok(None) };
    if raw.len() > MAX_VALUE {
        return Err(Refusal::bad(format!("{name}: 过长 (too long)")));
    }
    let items: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if items.len() > max {
        return Err(Refusal::bad(format!(
            "{name}: 最多{max}项 (at most {max} items)"
        )));
    }
    Ok((!items.is_empty()).then_some(items))
}

/// A W3C date-time with its zone (`2026-12-04T09:30:00+08:00`, `…Z`).
pub(crate) fn date_time(raw: Option<&str>, name: &str) -> Result<Option<DateTime<Utc>>, Refusal> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if raw.len() > 40 {
        return Err(Refusal::bad(format!("{name}: 过长 (too long)")));
    }
    DateTime::parse_from_rfc3339(raw)
        .or_else(|_| DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M%#z"))
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|_| {
            Refusal::bad(format!(
                "{name}: 须为带时区的时间，如 2026-12-04T09:30:00+08:00 (a W3C date-time with its zone)"
            ))
        })
}

/// The span `[start, end)` asked for: the last [`SPAN_DAYS`] days by default, at
/// most that long.
pub(crate) fn span(
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), Refusal> {
    let longest = Duration::days(SPAN_DAYS);
    let (start, end) = match (start, end) {
        (Some(s), Some(e)) => (s, e),
        (Some(s), None) => (s, (s + longest).min(now)),
        (None, Some(e)) => (e - longest, e),
        (None, None) => (now - longest, now),
    };
    if end < start {
        return Err(Refusal::bad(
            "end_date 早于 start_date (end_date is before start_date)",
        ));
    }
    if end - start > longest {
        return Err(Refusal::bad(format!(
            "一次最多查询{SPAN_DAYS}天 (at most {SPAN_DAYS} days at a time)"
        )));
    }
    Ok((start, end))
}

/// A report row as read for listing.
#[derive(Debug, sqlx::FromRow)]
struct Row {
    tracking_number: String,
    category: String,
    description: String,
    status: String,
    lat: Option<f64>,
    lng: Option<f64>,
    submitted_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    address_string: Option<String>,
    media_url: Option<String>,
}

/// The start of every listing: a report with what Open311 recorded beside it.
macro_rules! select_requests {
    () => {
        "SELECT r.tracking_number, r.category, r.description, r.status, r.lat, r.lng, \
            r.submitted_at, r.updated_at, o.address_string, o.media_url \
         FROM intake.reports r \
         LEFT JOIN intake.open311_requests o ON o.tenant_id = r.tenant_id AND o.report_id = r.id "
    };
}

async fn rows_to_requests(
    state: &IntakeState,
    township: &Township,
    rows: Vec<Row>,
) -> Result<Vec<ServiceRequest>, Refusal> {
    let mut tx = state.db.tenant(township.id).await?;
    let names: HashMap<String, String> = categories(&mut tx)
        .await?
        .into_iter()
        .map(|c| (c.code, c.name_zh))
        .collect();
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let status = ReportStatus::parse(&r.status);
            ServiceRequest {
                service_request_id: r.tracking_number,
                status: open_or_closed(status),
                status_notes: status_words(status),
                service_name: names
                    .get(&r.category)
                    .cloned()
                    .unwrap_or_else(|| r.category.clone()),
                service_code: r.category,
                description: r.description,
                agency_responsible: township.name.clone(),
                service_notice: None,
                requested_datetime: township.w3c(r.submitted_at),
                updated_datetime: township.w3c(r.updated_at),
                expected_datetime: None,
                address: r.address_string,
                address_id: None,
                zipcode: None,
                lat: r.lat,
                long: r.lng,
                media_url: r.media_url,
            }
        })
        .collect())
}

/// `GET requests.{json,xml}`.
pub(crate) async fn search(
    state: &IntakeState,
    format: Format,
    township: &Township,
    q: &ReadQuery,
) -> Result<Response, Refusal> {
    let ids = comma_list(
        q.service_request_id.as_deref(),
        MAX_IDS,
        "service_request_id",
    )?;
    let rows: Vec<Row> = if let Some(ids) = ids {
        // The ids override every other parameter, as the specification says.
        let mut tx = state.db.tenant(township.id).await?;
        let rows = sqlx::query_as(concat!(
            select_requests!(),
            "WHERE r.tenant_id = $1 AND r.tracking_number = ANY($2) \
             ORDER BY r.submitted_at DESC, r.id DESC"
        ))
        .bind(township.id.as_uuid())
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows
    } else {
        let codes = comma_list(q.service_code.as_deref(), MAX_CODES, "service_code")?;
        let statuses = match comma_list(q.status.as_deref(), 2, "status")? {
            None => None,
            Some(wanted) => {
                let mut stored = Vec::new();
                for w in &wanted {
                    let closed = match w.as_str() {
                        "open" => false,
                        "closed" => true,
                        _ => {
                            return Err(Refusal::bad(
                                "status: 须为 open 或 closed (open or closed)",
                            ));
                        }
                    };
                    stored.extend(
                        [
                            ReportStatus::Submitted,
                            ReportStatus::Assigned,
                            ReportStatus::Contacted,
                            ReportStatus::InProgress,
                            ReportStatus::Resolved,
                            ReportStatus::FollowedUp,
                            ReportStatus::Closed,
                        ]
                        .into_iter()
                        .filter(|s| CLOSED.contains(s) == closed)
                        .map(|s| s.as_str().to_owned()),
                    );
                }
                Some(stored)
            }
        };
        let (start, end) = span(
            date_time(q.start_date.as_deref(), "start_date")?,
            date_time(q.end_date.as_deref(), "end_date")?,
            Utc::now(),
        )?;
        let mut tx = state.db.tenant(township.id).await?;
        let rows = sqlx::query_as(concat!(
            select_requests!(),
            "WHERE r.tenant_id = $1 AND r.submitted_at >= $2 AND r.submitted_at <= $3 \
               AND ($4::text[] IS NULL OR r.category = ANY($4)) \
               AND ($5::text[] IS NULL OR r.status = ANY($5)) \
             ORDER BY r.submitted_at DESC, r.id DESC LIMIT $6"
        ))
        .bind(township.id.as_uuid())
        .bind(start)
        .bind(end)
        .bind(codes)
        .bind(statuses)
        .bind(MAX_RESULTS)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows
    };
    let requests = rows_to_requests(state, township, rows).await?;
    Ok(list(format, StatusCode::OK, "service_requests", &requests))
}

/// `GET requests/{id}.{json,xml}`: a list of one; 404 when there is none.
pub(crate) async fn by_id(
    state: &IntakeState,
    format: Format,
    township: &Township,
    id: &str,
) -> Result<Response, Refusal> {
    let missing = || Refusal::not_found("没有这个反映 (no such service_request_id)");
    if id.is_empty() || id.len() > 40 {
        return Err(missing());
    }
    let mut tx = state.db.tenant(township.id).await?;
    let rows: Vec<Row> = sqlx::query_as(concat!(
        select_requests!(),
        "WHERE r.tenant_id = $1 AND r.tracking_number = $2"
    ))
    .bind(township.id.as_uuid())
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    if rows.is_empty() {
        return Err(missing());
    }
    let requests = rows_to_requests(state, township, rows).await?;
    Ok(list(format, StatusCode::OK, "service_requests", &requests))
}

/// What a token leads to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Open311TokenAnswer)]
pub(crate) struct TokenAnswer {
    /// The tracking number.
    pub service_request_id: String,
    /// The token asked about.
    pub token: String,
}

impl ToXml for TokenAnswer {
    const ELEMENT: &'static str = "request";

    fn children(&self, xml: &mut Xml) -> io::Result<()> {
        xml.text("service_request_id", &self.service_request_id)?;
        xml.text("token", &self.token)
    }
}

/// `GET tokens/{token}.{json,xml}`: the tracking number of a request filed through
/// Open311 in this township; 404 otherwise.
pub(crate) async fn token(
    state: &IntakeState,
    format: Format,
    township: &Township,
    token: &str,
) -> Result<Response, Refusal> {
    let Ok(id) = token.parse::<Uuid>() else {
        return Err(Refusal::not_found("没有这个 token (unknown token)"));
    };
    let mut tx = state.db.tenant(township.id).await?;
    let found: Option<(String,)> = sqlx::query_as(
        "SELECT r.tracking_number FROM intake.open311_requests o \
         JOIN intake.reports r ON r.tenant_id = o.tenant_id AND r.id = o.report_id \
         WHERE o.tenant_id = $1 AND o.report_id = $2",
    )
    .bind(township.id.as_uuid())
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let Some((number,)) = found else {
        return Err(Refusal::not_found("没有这个 token (unknown token)"));
    };
    let answer = TokenAnswer {
        service_request_id: number,
        token: token.to_owned(),
    };
    Ok(list(
        format,
        StatusCode::OK,
        "service_requests",
        std::slice::from_ref(&answer),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("a time")
            .with_timezone(&Utc)
    }

    #[test]
    fn the_span_defaults_to_the_last_ninety_days_and_is_never_longer() {
        let now = at("2026-12-04T12:00:00Z");
        assert_eq!(
            span(None, None, now).ok().map(|s| s.0),
            Some(at("2026-09-05T12:00:00Z"))
        );
        assert!(span(Some(at("2026-01-01T00:00:00Z")), Some(now), now).is_err());
        assert!(span(Some(now), Some(at("2026-12-01T00:00:00Z")), now).is_err());
        assert_eq!(
            span(Some(at("2026-12-01T00:00:00Z")), None, now)
                .ok()
                .map(|s| s.1),
            Some(now)
        );
    }

    #[test]
    fn dates_need_their_zone() {
        assert!(date_time(Some("2026-12-04T09:30:00+08:00"), "start_date").is_ok());
        assert!(date_time(Some("2026-12-04T09:30Z"), "start_date").is_ok());
        assert!(date_time(Some("2026-12-04T09:30:00"), "start_date").is_err());
        assert!(date_time(Some("yesterday"), "start_date").is_err());
    }

    #[test]
    fn resolved_and_later_count_as_closed() {
        assert_eq!(open_or_closed(Some(ReportStatus::Resolved)), "closed");
        assert_eq!(open_or_closed(Some(ReportStatus::InProgress)), "open");
        assert_eq!(open_or_closed(None), "open");
    }
}
