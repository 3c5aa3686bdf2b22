//! From an event to deliveries: which of the township's channels take it (active,
//! serving the case's grid or a node above it, listening to the event's type), and
//! the message each gets. A group robot @-mentions the person the case is with and
//! links the case page (a group is no place for a personal sign-in link); a webhook
//! gets the event's type and data. An SMS channel reaches people, not a group: one
//! delivery per person to tell (the assignee of a new case; the people routing named
//! in an update), to their mobile number, with the template's parameters (tracking
//! number, deadline in the township's time, the case's link), keyed by event, channel
//! and person.

use chrono::{DateTime, Utc};
use mashang_bus::HandlerError;
use mashang_db::{Db, TenantTx};
use mashang_domain::events::{CaseAssigned, CaseUpdate, Envelope, EventType};
use uuid::Uuid;

use std::collections::BTreeMap;

use super::engine::{NewDelivery, enqueue, enqueue_at};
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
    /// The people to tell in person (by SMS).
    people: Vec<Uuid>,
    /// The deadline the message is about, when there is one.
    deadline: Option<DateTime<Utc>>,
    /// What a reminder is about, in words.
    target: String,
    /// The case's state after the event.
    state: String,
    title: String,
    text: String,
    /// The states in which the message still applies.
    only_in_states: Vec<String>,
}

impl Planner {
    /// Plans the citizen's SMS, when they asked for them (see [`super::citizen`]).
    pub async fn plan_citizen(&self, envelope: &Envelope) -> Result<usize, HandlerError> {
        super::citizen::plan(&self.db, &self.delivery.public_url, envelope).await
    }

    /// A planner writing to `db`.
    pub fn new(db: Db, delivery: Delivery) -> Self {
        Self { db, delivery }
    }

    /// Adds the deliveries `envelope` calls for (none twice).
    pub async fn plan(&self, envelope: &Envelope) -> Result<usize, HandlerError> {
        if !EVENTS.contains(&envelope.event_type) {
            return Ok(0);
        }
        let mut about = match envelope.event_type {
            EventType::CaseAssigned => {
                let a: CaseAssigned = envelope.decode()?;
                About {
                    case: a.case_id.as_uuid(),
                    title: format!("新案件 {}", a.tracking_number),
                    text: "请尽快电话联系群众（30分钟内）。".to_owned(),
                    tracking_number: a.tracking_number,
                    assignee: Some(a.assignee_id.as_uuid()),
                    people: vec![a.assignee_id.as_uuid()],
                    deadline: Some(a.first_response_due),
                    target: "电话联系群众".to_owned(),
                    state: "待联系".to_owned(),
                    only_in_states: Vec::new(),
                }
            }
            event => {
                let u: CaseUpdate = serde_json::from_value(envelope.payload.clone())
                    .map_err(|e| HandlerError::Poison(anyhow::anyhow!("not a case update: {e}")))?;
                let (title, text) = crate::updates::wording(event, &u);
                let target = match u.details.get("target").and_then(|t| t.as_str()) {
                    Some("first_response") => "电话联系群众",
                    Some("resolution") => "办结",
                    Some("follow_up") => "回访",
                    _ => "处理",
                };
                About {
                    target: target.to_owned(),
                    state: u.state.clone(),
                    case: u.case_id.as_uuid(),
                    tracking_number: u.tracking_number.clone(),
                    assignee: u.assignee_id.map(|a| a.as_uuid()),
                    people: u.notify.iter().map(|p| p.as_uuid()).collect(),
                    deadline: u
                        .details
                        .get("due_at")
                        .and_then(|d| serde_json::from_value(d.clone()).ok()),
                    title,
                    text,
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
        let kind_name = envelope.event_type.as_str().replace('.', "_");
        // The township's words for the kind (or the default), filled from the case.
        (about.title, about.text) = words(&mut tx, &kind_name, &about).await?;
        let mut added = 0;
        if channels.iter().any(|(_, k)| k.is_sms()) {
            let phones = phones(&mut tx, &about.people).await?;
            let params = sms_params(&mut tx, &about, &link).await?;
            let township = crate::settings::township(&mut tx).await?;
            let (zone, urgent) = case_zone_and_urgency(&mut tx, about.case).await?;
            // With a group robot to tell first, a new case's SMS waits the township's
            // minutes and goes only if the case is still unanswered by then.
            let robots = channels
                .iter()
                .any(|(_, k)| matches!(k, ChannelKind::Wecom | ChannelKind::Dingtalk));
            let fallback = match township.sms_fallback_minutes {
                Some(m) if robots && envelope.event_type == EventType::CaseAssigned => {
                    Some(chrono::Duration::minutes(i64::from(m)))
                }
                _ => None,
            };
            let now = Utc::now();
            for (channel, _) in channels.iter().filter(|(_, k)| k.is_sms()) {
                for (person, phone) in &phones {
                    let (wants_sms, quiet) =
                        crate::settings::person(&mut tx, *person, &township).await?;
                    if !wants_sms {
                        continue;
                    }
                    let mut not_before = fallback.map(|wait| now + wait);
                    // Quiet hours hold a non-urgent SMS until they end.
                    if let Some(quiet) = quiet.filter(|_| !urgent) {
                        let at = not_before.unwrap_or(now);
                        let ends = quiet.ends(at, zone);
                        if ends > at {
                            not_before = Some(ends);
                        }
                    }
                    let mut only_in_states = about.only_in_states.clone();
                    if fallback.is_some() && only_in_states.is_empty() {
                        only_in_states = vec!["assigned".to_owned()];
                    }
                    let key = format!("{}:{channel}:{person}", envelope.id.as_uuid());
                    if planned(&mut tx, &key).await? {
                        continue;
                    }
                    // A phone is one person's: its link signs them in to the case at
                    // once (single-use, hours long), so nobody types a password there.
                    let personal = self.sign_in_link(&mut tx, *person, about.case).await;
                    let mut params = params.clone();
                    if let Some(personal) = &personal {
                        params.insert("link".to_owned(), personal.clone());
                    }
                    let message = Message {
                        kind: kind_name.clone(),
                        title: about.title.clone(),
                        text: about.text.clone(),
                        link: Some(personal.unwrap_or_else(|| link.clone())),
                        phone: Some(phone.clone()),
                        params,
                        event_type: Some(envelope.event_type.as_str().to_owned()),
                        only_in_states,
                        ..Message::default()
                    };
                    let new = NewDelivery {
                        idempotency_key: key,
                        event_id: Some(envelope.id.as_uuid()),
                        event_type: Some(envelope.event_type.as_str().to_owned()),
                        case_id: Some(about.case),
                        user_id: Some(*person),
                        channel_id: *channel,
                        message,
                    };
                    if enqueue_at(&mut tx, new, not_before).await?.is_some() {
                        added += 1;
                    }
                }
            }
        }
        if channels.iter().any(|(_, k)| *k == ChannelKind::Email) {
            let readers = mail_readers(&mut tx).await?;
            for (channel, _) in channels.iter().filter(|(_, k)| *k == ChannelKind::Email) {
                for (person, address) in &readers {
                    let message = Message {
                        kind: kind_name.clone(),
                        title: about.title.clone(),
                        text: about.text.clone(),
                        link: Some(link.clone()),
                        email: Some(address.clone()),
                        event_type: Some(envelope.event_type.as_str().to_owned()),
                        only_in_states: about.only_in_states.clone(),
                        ..Message::default()
                    };
                    let new = NewDelivery {
                        idempotency_key: format!("{}:{channel}:{person}", envelope.id.as_uuid()),
                        event_id: Some(envelope.id.as_uuid()),
                        event_type: Some(envelope.event_type.as_str().to_owned()),
                        case_id: Some(about.case),
                        user_id: Some(*person),
                        channel_id: *channel,
                        message,
                    };
                    if enqueue(&mut tx, new).await?.is_some() {
                        added += 1;
                    }
                }
            }
        }
        for (channel, kind) in channels
            .into_iter()
            .filter(|(_, k)| !k.is_sms() && *k != ChannelKind::Email)
        {
            let robot = matches!(kind, ChannelKind::Wecom | ChannelKind::Dingtalk);
            let message = Message {
                kind: kind_name.clone(),
                title: about.title.clone(),
                text: about.text.clone(),
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

/// Whether a delivery with `key` was planned already (a redelivered event).
async fn planned(tx: &mut TenantTx, key: &str) -> Result<bool, sqlx::Error> {
    let (found,): (bool,) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM notification.deliveries WHERE tenant_id = $1 AND idempotency_key = $2)",
    )
    .bind(tx.tenant().as_uuid())
    .bind(key)
    .fetch_one(&mut **tx)
    .await?;
    Ok(found)
}

impl Planner {
    /// A sign-in link for `person` to `case`, made in the planning transaction (so it
    /// exists only with its delivery, on the connection already held), or `None`
    /// (with a warning) when one cannot be made: the message then links the case page.
    async fn sign_in_link(&self, tx: &mut TenantTx, person: Uuid, case: Uuid) -> Option<String> {
        let keys = mashang_auth::Keys::derive(&self.delivery.key);
        match mashang_auth::mint_case_link_in(
            tx,
            &keys,
            mashang_domain::UserId::from_uuid(person),
            mashang_domain::CaseId::from_uuid(case),
            None,
        )
        .await
        {
            Ok(link) => Some(format!("{}{}", self.delivery.public_url, link.path)),
            Err(err) => {
                tracing::warn!(error = %err, "no sign-in link for an SMS; linking the case page");
                None
            }
        }
    }
}

/// The township's time zone and whether the case is urgent.
async fn case_zone_and_urgency(
    tx: &mut TenantTx,
    case: Uuid,
) -> Result<(chrono_tz::Tz, bool), sqlx::Error> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT t.time_zone, c.priority FROM routing.cases c JOIN routing.tenants t ON t.id = c.tenant_id \
         WHERE c.tenant_id = $1 AND c.id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(case)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(
        row.map_or((chrono_tz::Asia::Shanghai, false), |(zone, priority)| {
            (
                zone.parse().unwrap_or(chrono_tz::Asia::Shanghai),
                priority == "urgent",
            )
        }),
    )
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
           AND (ch.node_id IS NULL OR ch.node_id IN (SELECT id FROM up)) \
           AND ((ch.kind IN ('wecom', 'dingtalk', 'webhook', 'sms_aliyun', 'sms_tencent') \
                 AND (ch.events IS NULL OR $3 = ANY(ch.events))) \
             OR (ch.kind = 'email' \
                 AND (CASE WHEN ch.events IS NULL THEN $3 = ANY($4) ELSE $3 = ANY(ch.events) END))) \
         ORDER BY ch.created_at, ch.id",
    )
    .bind(tx.tenant().as_uuid())
    .bind(case)
    .bind(event_type)
    .bind(EMAIL_ALERTS.map(|e| e.as_str()).to_vec())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, kind)| ChannelKind::parse(&kind).map(|k| (id, k)))
        .collect())
}

/// The case events an e-mail channel that names none takes: the alerts (besides the
/// morning digest). One that names its events takes those.
pub const EMAIL_ALERTS: [EventType; 1] = [EventType::CaseEscalated];

/// Who an e-mail channel's case alerts go to: the active people of the township
/// centre and its administrators who gave an address, each once.
async fn mail_readers(tx: &mut TenantTx) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT DISTINCT u.id, u.email FROM routing.staff_users u \
         JOIN routing.staff_roles r ON r.tenant_id = u.tenant_id AND r.user_id = u.id \
         WHERE u.tenant_id = $1 AND u.active AND u.email IS NOT NULL \
           AND r.role IN ('township_centre', 'township_admin') ORDER BY u.id",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_all(&mut **tx)
    .await
}

/// The mobile numbers of the active people among `people` (each once, in order).
async fn phones(tx: &mut TenantTx, people: &[Uuid]) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    let mut unique: Vec<Uuid> = Vec::new();
    for p in people {
        if !unique.contains(p) {
            unique.push(*p);
        }
    }
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT id, phone FROM routing.staff_users WHERE tenant_id = $1 AND id = ANY($2) AND active",
    )
    .bind(tx.tenant().as_uuid())
    .bind(&unique)
    .fetch_all(&mut **tx)
    .await?;
    Ok(unique
        .into_iter()
        .filter_map(|p| rows.iter().find(|(id, _)| *id == p).cloned())
        .collect())
}

/// An SMS template's parameters: `number`, `deadline` (in the township's time, as
/// `12月05日14:30`) and `link`.
async fn sms_params(
    tx: &mut TenantTx,
    about: &About,
    link: &str,
) -> Result<std::collections::BTreeMap<String, String>, sqlx::Error> {
    let mut params = std::collections::BTreeMap::new();
    params.insert("number".to_owned(), about.tracking_number.clone());
    params.insert("link".to_owned(), link.to_owned());
    if let Some(due) = about.deadline {
        let zone: Option<(String,)> =
            sqlx::query_as("SELECT time_zone FROM routing.tenants WHERE id = $1")
                .bind(tx.tenant().as_uuid())
                .fetch_optional(&mut **tx)
                .await?;
        let tz: chrono_tz::Tz = zone
            .and_then(|(z,)| z.parse().ok())
            .unwrap_or(chrono_tz::Asia::Shanghai);
        params.insert(
            "deadline".to_owned(),
            due.with_timezone(&tz).format("%m月%d日%H:%M").to_string(),
        );
    }
    Ok(params)
}
