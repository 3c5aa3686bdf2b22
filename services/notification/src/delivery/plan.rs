//! From an event to deliveries: which of the township's channels take it (active,
//! serving the case's grid or a node above it, listening to the event's type), and
//! the message each gets. A group robot @-mentions the person the case is with and
//! links the case page (a group is no place for a personal sign-in link); a webhook
//! gets the event's type and data.

use mashang_bus::HandlerError;
use mashang_db::{Db, TenantTx};
use mashang_domain::events::{CaseAssigned, CaseUpdate, Envelope, EventType};
use uuid::Uuid;

use std::collections::BTreeMap;

use super::engine::{NewDelivery, enqueue};
use super::templates::{Words, default_words, render};
use super::{ChannelKind, Message};
use crate::Delivery;

/// The event types outside channels hear of.
pub const EVENTS: [EventType; 8] = [
    EventType::CaseAssigned,
    EventType::CaseReminded,
    EventType::CaseEscalated,
    EventType::CaseTransferred,
    EventType::CaseReturned,
    EventType::CaseReopened,
    EventType::CaseInvalidated,
    EventType::CaseClosed,
];

/// Plans deliveries for events.
#[derive(Clone, Debug)]
pub struct Planner {
    db: Db,
    delivery: Delivery,
}

/// What an event says about its case.
struct About {
    case: Uuid,
    tracking_number: String,
    /// The person the case is with now.
    assignee: Option<Uuid>,
    /// What a reminder is about, in words.
    target: String,
    /// The deadline the message names.
    deadline: Option<chrono::DateTime<chrono::Utc>>,
    state: String,
    /// The states in which the message still applies.
    only_in_states: Vec<String>,
}

impl Planner {
    /// A planner writing to `db`.
    pub fn new(db: Db, delivery: Delivery) -> Self {
        Self { db, delivery }
    }

    /// Adds the deliveries `envelope` calls for (none twice).
    pub async fn plan(&self, envelope: &Envelope) -> Result<usize, HandlerError> {
        if !EVENTS.contains(&envelope.event_type) {
            return Ok(0);
        }
        let about = match envelope.event_type {
            EventType::CaseAssigned => {
                let a: CaseAssigned = envelope.decode()?;
                About {
                    case: a.case_id.as_uuid(),
                    target: "电话联系群众".to_owned(),
                    deadline: Some(a.first_response_due),
                    state: "待联系".to_owned(),
                    tracking_number: a.tracking_number,
                    assignee: Some(a.assignee_id.as_uuid()),
                    only_in_states: Vec::new(),
                }
            }
            event => {
                let u: CaseUpdate = serde_json::from_value(envelope.payload.clone())
                    .map_err(|e| HandlerError::Poison(anyhow::anyhow!("not a case update: {e}")))?;
                let target = match u.details.get("target").and_then(|t| t.as_str()) {
                    Some("first_response") => "电话联系群众",
                    Some("resolution") => "办结",
                    Some("follow_up") => "回访",
                    _ => "处理",
                };
                let deadline = u
                    .details
                    .get("due")
                    .and_then(|d| d.as_str())
                    .and_then(|d| d.parse().ok());
                About {
                    case: u.case_id.as_uuid(),
                    tracking_number: u.tracking_number.clone(),
                    assignee: u.assignee_id.map(|a| a.as_uuid()),
                    target: target.to_owned(),
                    deadline,
                    state: u.state.clone(),
                    // A reminder applies while the case is still where it was.
                    only_in_states: if event == EventType::CaseReminded {
                        vec![u.state.clone()]
                    } else {
                        Vec::new()
                    },
                }
            }
        };
        let mut tx = self.db.tenant(envelope.tenant_id).await?;
        let channels = channels_for(&mut tx, about.case, envelope.event_type.as_str()).await?;
        if channels.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        let mobile: Option<String> = match about.assignee {
            Some(user) => sqlx::query_as::<_, (String,)>(
                "SELECT phone FROM routing.staff_users WHERE tenant_id = $1 AND id = $2",
            )
            .bind(envelope.tenant_id.as_uuid())
            .bind(user)
            .fetch_optional(&mut *tx)
            .await?
            .map(|(p,)| p),
            None => None,
        };
        let link = format!("{}/console/cases/{}", self.delivery.public_url, about.case);
        let message_kind = envelope.event_type.as_str().replace('.', "_");
        let (title, text) = words(&mut tx, &message_kind, &about).await?;
        let mut added = 0;
        for (channel, kind) in channels {
            let robot = matches!(kind, ChannelKind::Wecom | ChannelKind::Dingtalk);
            let message = Message {
                kind: message_kind.clone(),
                title: title.clone(),
                text: text.clone(),
                link: Some(link.clone()),
                mention_mobiles: if robot {
                    mobile.iter().cloned().collect()
                } else {
                    Vec::new()
                },
                event_type: Some(envelope.event_type.as_str().to_owned()),
                data: (kind == ChannelKind::Webhook).then(|| {
                    serde_json::json!({
                        "tenant_id": envelope.tenant_id,
                        "event_id": envelope.id,
                        "occurred_at": envelope.occurred_at,
                        "case_id": about.case,
                        "tracking_number": about.tracking_number,
                        "link": link,
                        "event": envelope.payload,
                    })
                }),
                only_in_states: about.only_in_states.clone(),
                ..Message::default()
            };
            let new = NewDelivery {
                idempotency_key: format!("{}:{channel}", envelope.id.as_uuid()),
                event_id: Some(envelope.id.as_uuid()),
                event_type: Some(envelope.event_type.as_str().to_owned()),
                case_id: Some(about.case),
                user_id: about.assignee,
                channel_id: channel,
                message,
            };
            if enqueue(&mut tx, new).await?.is_some() {
                added += 1;
            }
        }
        tx.commit().await?;
        Ok(added)
    }
}

/// The message's title and text: the township's words for its kind, or the default,
/// filled from the case.
async fn words(
    tx: &mut TenantTx,
    kind: &str,
    about: &About,
) -> Result<(String, String), sqlx::Error> {
    let custom: Option<(String, String, String)> = sqlx::query_as(
        "SELECT title, text_zh, text_en FROM notification.message_templates WHERE tenant_id = $1 AND kind = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(kind)
    .fetch_optional(&mut **tx)
    .await?;
    let words = match custom {
        Some((title, text_zh, text_en)) => Words {
            title,
            text_zh,
            text_en,
        },
        None => default_words(kind).unwrap_or_else(|| Words {
            title: "案件更新 {tracking_number}".to_owned(),
            text_zh: "案件状态：{state}".to_owned(),
            text_en: String::new(),
        }),
    };
    let (zone,): (String,) = sqlx::query_as("SELECT time_zone FROM routing.tenants WHERE id = $1")
        .bind(tx.tenant().as_uuid())
        .fetch_one(&mut **tx)
        .await?;
    let zone: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    let values = BTreeMap::from([
        ("tracking_number", about.tracking_number.clone()),
        ("target", about.target.clone()),
        (
            "deadline",
            about
                .deadline
                .map(|d| {
                    d.with_timezone(&zone)
                        .format("%-m月%-d日 %H:%M")
                        .to_string()
                })
                .unwrap_or_else(|| "期限".to_owned()),
        ),
        ("state", about.state.clone()),
    ]);
    Ok(render(&words, &values))
}

/// The active channels of the case's township that serve its grid (or a node above
/// it, or the whole township) and take `event_type`.
async fn channels_for(
    tx: &mut TenantTx,
    case: Uuid,
    event_type: &str,
) -> Result<Vec<(Uuid, ChannelKind)>, sqlx::Error> {
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "WITH RECURSIVE up AS ( \
             SELECT n.id, n.parent_id FROM routing.grid_nodes n \
             JOIN routing.cases c ON c.tenant_id = n.tenant_id AND c.grid_node_id = n.id \
             WHERE c.tenant_id = $1 AND c.id = $2 \
             UNION ALL \
             SELECT p.id, p.parent_id FROM routing.grid_nodes p JOIN up ON p.id = up.parent_id \
             WHERE p.tenant_id = $1) \
         SELECT ch.id, ch.kind FROM notification.channels ch \
         WHERE ch.tenant_id = $1 AND ch.active \
           AND (ch.events IS NULL OR $3 = ANY(ch.events)) \
           AND (ch.node_id IS NULL OR ch.node_id IN (SELECT id FROM up)) \
           AND ch.kind IN ('wecom', 'dingtalk', 'webhook') \
         ORDER BY ch.created_at, ch.id",
    )
    .bind(tx.tenant().as_uuid())
    .bind(case)
    .bind(event_type)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, kind)| ChannelKind::parse(&kind).map(|k| (id, k)))
        .collect())
}
