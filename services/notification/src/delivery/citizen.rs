//! SMS to citizens who asked for them on the report form (a box, off unless ticked,
//! and only with a phone number): the tracking number and the status link when the
//! report is received (`citizen_received`), and a request for their rating when the
//! case is solved (`citizen_rating`). One SMS per event, on the first active SMS
//! channel serving the report's grid, with the channel's approved template for the
//! kind (no template: skipped with the reason). The citizen's number stays sealed in
//! intake: the delivery names the report, and the sender opens the number only when it
//! sends.

use mashang_auth::PiiKey;
use mashang_bus::HandlerError;
use mashang_db::{Db, TenantTx};
use mashang_domain::TenantId;
use mashang_domain::events::{CaseUpdate, Envelope, EventType, ReportSubmitted};
use uuid::Uuid;

use super::Message;
use super::engine::{NewDelivery, enqueue};

/// Plans the citizen's SMS for `envelope`, if it calls for one and they asked.
pub async fn plan(db: &Db, public_url: &str, envelope: &Envelope) -> Result<usize, HandlerError> {
    let (report, kind, title, text) = match envelope.event_type {
        EventType::ReportSubmitted => {
            let r: ReportSubmitted = envelope.decode()?;
            (
                r.report_id.as_uuid(),
                "citizen_received",
                format!("已受理 {}", r.tracking_number),
                "您的反映已受理，网格员会尽快联系您。".to_owned(),
            )
        }
        EventType::CaseResolved => {
            let u: CaseUpdate = serde_json::from_value(envelope.payload.clone())
                .map_err(|e| HandlerError::Poison(anyhow::anyhow!("not a case update: {e}")))?;
            (
                u.report_id.as_uuid(),
                "citizen_rating",
                format!("已办结 {}", u.tracking_number),
                "您反映的问题已办结，请为办理结果评价。".to_owned(),
            )
        }
        _ => return Ok(0),
    };
    let mut tx = db.tenant(envelope.tenant_id).await?;
    let found: Option<(bool, bool, String)> = sqlx::query_as(
        "SELECT sms_consent, contact_phone_sealed IS NOT NULL, tracking_number FROM intake.reports \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(envelope.tenant_id.as_uuid())
    .bind(report)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((true, true, tracking_number)) = found else {
        tx.commit().await?;
        return Ok(0);
    };
    let Some(channel) = sms_channel(&mut tx, report).await? else {
        tx.commit().await?;
        return Ok(0);
    };
    let link = format!("{public_url}/r/{tracking_number}");
    let message = Message {
        kind: kind.to_owned(),
        title,
        text,
        link: Some(link.clone()),
        params: [
            ("number".to_owned(), tracking_number.clone()),
            ("link".to_owned(), link),
            ("deadline".to_owned(), "-".to_owned()),
        ]
        .into_iter()
        .collect(),
        report_id: Some(report),
        event_type: Some(envelope.event_type.as_str().to_owned()),
        ..Message::default()
    };
    let added = enqueue(
        &mut tx,
        NewDelivery {
            idempotency_key: format!("{}:citizen", envelope.id.as_uuid()),
            event_id: Some(envelope.id.as_uuid()),
            event_type: Some(envelope.event_type.as_str().to_owned()),
            case_id: None,
            user_id: None,
            channel_id: channel,
            message,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(usize::from(added.is_some()))
}

/// The first active SMS channel serving the report's grid (or the whole township).
async fn sms_channel(tx: &mut TenantTx, report: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    let row: Option<(Uuid,)> = sqlx::query_as(
        "WITH RECURSIVE up AS ( \
             SELECT n.id, n.parent_id FROM routing.grid_nodes n \
             JOIN intake.reports r ON r.tenant_id = n.tenant_id AND r.grid_node_id = n.id \
             WHERE r.tenant_id = $1 AND r.id = $2 \
             UNION ALL \
             SELECT p.id, p.parent_id FROM routing.grid_nodes p JOIN up ON p.id = up.parent_id \
             WHERE p.tenant_id = $1) \
         SELECT ch.id FROM notification.channels ch \
         WHERE ch.tenant_id = $1 AND ch.active AND ch.kind IN ('sms_aliyun', 'sms_tencent') \
           AND (ch.node_id IS NULL OR ch.node_id IN (SELECT id FROM up)) \
         ORDER BY ch.created_at, ch.id LIMIT 1",
    )
    .bind(tx.tenant().as_uuid())
    .bind(report)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(id,)| id))
}

/// The citizen's number for a delivery naming `report`, opened as it is sent.
pub async fn phone(
    db: &Db,
    key: &PiiKey,
    tenant: TenantId,
    report: Uuid,
) -> anyhow::Result<Option<String>> {
    let mut tx = db.tenant(tenant).await?;
    let row: Option<(Option<Vec<u8>>,)> = sqlx::query_as(
        "SELECT contact_phone_sealed FROM intake.reports WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_uuid())
    .bind(report)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let Some((Some(sealed),)) = row else {
        return Ok(None);
    };
    let phone = key
        .open_bound(&sealed, tenant.as_uuid(), report, "contact_phone")
        .map_err(|e| anyhow::anyhow!("opening the citizen's number: {e:?}"))?;
    Ok(Some(phone))
}
