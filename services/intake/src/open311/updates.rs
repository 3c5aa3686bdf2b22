//! `GET servicerequestupdates.{json,xml}?start_date=…[&end_date=…]`: every step a
//! township's requests took in a span, oldest first, in the form FixMyStreet's Open311
//! extension reads (`<service_requests_updates><request_update>…`), so a system that
//! filed a request can follow it to its end. A step reached again (resolved, reopened,
//! resolved again) is a new update with its own id.

use std::io;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use mashang_domain::report::ReportStatus;
use serde::Serialize;
use uuid::Uuid;

use super::answer::{Format, Refusal, ToXml, Xml, list};
use super::read::{MAX_RESULTS, ReadQuery, date_time, open_or_closed, span, status_words};
use super::township::Township;
use crate::IntakeState;

/// One update.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Open311RequestUpdate)]
pub(crate) struct RequestUpdate {
    /// Unique across the township's updates: the report, the step and its time.
    pub update_id: String,
    /// The tracking number.
    pub service_request_id: String,
    /// `open` or `closed` after this step.
    pub status: &'static str,
    /// When the step happened.
    pub updated_datetime: String,
    /// The step in words (已办结 (Resolved)).
    pub description: String,
    /// Photos of the measures stay with the case.
    pub media_url: Option<String>,
}

impl ToXml for RequestUpdate {
    const ELEMENT: &'static str = "request_update";

    fn children(&self, xml: &mut Xml) -> io::Result<()> {
        xml.text("update_id", &self.update_id)?;
        xml.text("service_request_id", &self.service_request_id)?;
        xml.text("status", self.status)?;
        xml.text("updated_datetime", &self.updated_datetime)?;
        xml.text("description", &self.description)?;
        xml.opt("media_url", self.media_url.as_deref())
    }
}

/// `GET servicerequestupdates.{json,xml}`; `start_date` is required, the span at most
/// 90 days, at most 1000 updates (the oldest).
pub(crate) async fn updates(
    state: &IntakeState,
    format: Format,
    township: &Township,
    q: &ReadQuery,
) -> Result<Response, Refusal> {
    let start = date_time(q.start_date.as_deref(), "start_date")?
        .ok_or_else(|| Refusal::bad("start_date: 必填 (required)"))?;
    let (start, end) = span(
        Some(start),
        date_time(q.end_date.as_deref(), "end_date")?,
        Utc::now(),
    )?;
    let mut tx = state.db.tenant(township.id).await?;
    let rows: Vec<(Uuid, String, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT s.report_id, r.tracking_number, s.status, s.occurred_at \
         FROM intake.report_steps s \
         JOIN intake.reports r ON r.tenant_id = s.tenant_id AND r.id = s.report_id \
         WHERE s.tenant_id = $1 AND s.occurred_at >= $2 AND s.occurred_at <= $3 \
           AND s.status <> 'submitted' \
         ORDER BY s.occurred_at, s.report_id, s.status LIMIT $4",
    )
    .bind(township.id.as_uuid())
    .bind(start)
    .bind(end)
    .bind(MAX_RESULTS)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let updates: Vec<RequestUpdate> = rows
        .into_iter()
        .map(|(report, number, status, at)| {
            let parsed = ReportStatus::parse(&status);
            RequestUpdate {
                update_id: format!("{}-{status}-{}", report.simple(), at.timestamp_micros()),
                service_request_id: number,
                status: open_or_closed(parsed),
                updated_datetime: township.w3c(at),
                description: status_words(parsed),
                media_url: None,
            }
        })
        .collect();
    Ok(list(
        format,
        StatusCode::OK,
        "service_requests_updates",
        &updates,
    ))
}
