//! The township centre's morning digest (晨报): what came in since yesterday, what is
//! overdue, what awaits its follow-up call, counted with the top items and links. It
//! goes out once a day at the township's own time (07:30 unless set otherwise):
//! a notice in the app to every person of the township centre, a short text to the
//! township's group robots that take it, and the full list by e-mail to the centre's
//! people who gave an address, on each e-mail channel that takes it.
//!
//! A channel takes it when it is active, serves the whole township (no node, or the
//! township's root) and listens to every event or to `digest.morning`. A township
//! made during a day gets its first digest the next morning.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use mashang_db::TenantTx;
use mashang_domain::TenantId;
use mashang_domain::case::CaseState;
use uuid::Uuid;

use super::{DEFAULT_MORNING_AT, MORNING_EVENT, parse_time, since_yesterday, start_of};
use crate::NotificationState;
use crate::delivery::engine::{NewDelivery, enqueue};
use crate::delivery::{ChannelKind, Message};

/// The most items listed per section by e-mail.
const LISTED: i64 = 50;
/// The most items named per section in the app's notice.
const NAMED: usize = 5;

/// A case as the digest lists it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Item {
    pub id: Uuid,
    pub tracking_number: String,
    pub category: String,
    pub state: String,
    /// When it came in, or the deadline it passed.
    pub at: Option<DateTime<Utc>>,
}

/// One section: how many, and the first of them.
#[derive(Clone, Debug, Default)]
pub struct Section {
    pub count: i64,
    pub items: Vec<Item>,
}

/// A township's morning digest.
#[derive(Clone, Debug)]
pub struct Morning {
    pub township: String,
    pub date: NaiveDate,
    pub zone: chrono_tz::Tz,
    pub new: Section,
    pub overdue: Section,
    pub follow_up: Section,
}

/// The township's digest time and whether it goes out.
pub(crate) async fn settings(tx: &mut TenantTx) -> Result<(NaiveTime, bool), sqlx::Error> {
    let row: Option<(NaiveTime, bool)> = sqlx::query_as(
        "SELECT morning_at, active FROM notification.digest_settings WHERE tenant_id = $1",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.unwrap_or((
        parse_time(DEFAULT_MORNING_AT).unwrap_or(NaiveTime::MIN),
        true,
    )))
}

/// One pass at `now`: every active township whose digest time has come today and
/// that has none for today gets it. Returns how many digests this pass made.
pub async fn pass(state: &NotificationState, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let mut tx = state.db.global().await?;
    let townships: Vec<(Uuid, String, String, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, code, name, time_zone, created_at FROM routing.tenants WHERE status = 'active' ORDER BY code",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut made = 0;
    for (id, code, name, zone, created_at) in townships {
        let zone: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
        match one(
            state,
            TenantId::from_uuid(id),
            &code,
            &name,
            zone,
            created_at,
            now,
        )
        .await
        {
            Ok(true) => made += 1,
            Ok(false) => {}
            Err(err) => {
                tracing::error!(township = %code, error = format!("{err:#}"), "morning digest failed");
            }
        }
    }
    Ok(made)
}

/// The digest of one township, if due and not yet made; whether this call made it.
async fn one(
    state: &NotificationState,
    tenant: TenantId,
    code: &str,
    name: &str,
    zone: chrono_tz::Tz,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let local = now.with_timezone(&zone);
    let date = local.date_naive();
    if created_at >= start_of(date, zone) {
        return Ok(false);
    }
    let mut tx = state.db.tenant(tenant).await?;
    let (at, active) = settings(&mut tx).await?;
    let done: Option<(i32,)> = sqlx::query_as(
        "SELECT 1 FROM notification.digests WHERE tenant_id = $1 AND local_date = $2",
    )
    .bind(tenant.as_uuid())
    .bind(date)
    .fetch_optional(&mut *tx)
    .await?;
    if !active || local.time() < at || done.is_some() {
        tx.commit().await?;
        return Ok(false);
    }
    let morning = gather(&mut tx, name, date, zone, now).await?;
    let key = format!("digest:{code}:{date}");
    // The claim: a second pass or replica inserts nothing here and makes nothing.
    let claimed: Option<(NaiveDate,)> = sqlx::query_as(
        "INSERT INTO notification.digests (tenant_id, local_date, idempotency_key, counts) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, local_date) DO NOTHING RETURNING local_date",
    )
    .bind(tenant.as_uuid())
    .bind(date)
    .bind(&key)
    .bind(serde_json::json!({
        "new": morning.new.count, "overdue": morning.overdue.count, "follow_up": morning.follow_up.count,
    }))
    .fetch_optional(&mut *tx)
    .await?;
    if claimed.is_none() {
        tx.commit().await?;
        return Ok(false);
    }
    let public = state
        .delivery
        .as_ref()
        .map(|d| d.public_url.clone())
        .unwrap_or_default();
    let centre: Vec<(Uuid, Option<String>)> = sqlx::query_as(
        "SELECT DISTINCT u.id, u.email FROM routing.staff_users u \
         JOIN routing.staff_roles r ON r.tenant_id = u.tenant_id AND r.user_id = u.id \
         WHERE u.tenant_id = $1 AND u.active AND r.role = 'township_centre' ORDER BY u.id",
    )
    .bind(tenant.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    // In the app: one notice per person of the centre.
    let event = Uuid::now_v7();
    for (user, _) in &centre {
        sqlx::query(
            "INSERT INTO notification.notices (id, tenant_id, user_id, event_id, kind, title, body) \
             VALUES ($1, $2, $3, $4, 'digest_morning', $5, $6) ON CONFLICT (tenant_id, event_id, user_id) DO NOTHING",
        )
        .bind(Uuid::now_v7())
        .bind(tenant.as_uuid())
        .bind(user)
        .bind(event)
        .bind(morning.title())
        .bind(morning.notice())
        .execute(&mut *tx)
        .await?;
    }
    // On the channels that take it: robots a short text, e-mail the full list.
    let channels: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT ch.id, ch.kind FROM notification.channels ch \
         WHERE ch.tenant_id = $1 AND ch.active AND ch.kind IN ('wecom', 'dingtalk', 'email') \
           AND (ch.events IS NULL OR $2 = ANY(ch.events)) \
           AND (ch.node_id IS NULL OR ch.node_id IN ( \
                SELECT id FROM routing.grid_nodes WHERE tenant_id = $1 AND parent_id IS NULL)) \
         ORDER BY ch.created_at, ch.id",
    )
    .bind(tenant.as_uuid())
    .bind(MORNING_EVENT)
    .fetch_all(&mut *tx)
    .await?;
    for (channel, kind) in channels {
        let base = Message {
            kind: "digest_morning".to_owned(),
            title: morning.title(),
            link: Some(format!("{public}/console/cases")),
            event_type: Some(MORNING_EVENT.to_owned()),
            ..Message::default()
        };
        let new = |key: String, user: Option<Uuid>, message: Message| NewDelivery {
            idempotency_key: key,
            event_id: None,
            event_type: Some(MORNING_EVENT.to_owned()),
            case_id: None,
            user_id: user,
            channel_id: channel,
            message,
        };
        if ChannelKind::parse(&kind) == Some(ChannelKind::Email) {
            for (user, email) in &centre {
                let Some(email) = email else { continue };
                let message = Message {
                    text: morning.full(&public),
                    email: Some(email.clone()),
                    ..base.clone()
                };
                enqueue(
                    &mut tx,
                    new(format!("{key}:{channel}:{user}"), Some(*user), message),
                )
                .await?;
            }
        } else {
            let message = Message {
                text: morning.short(),
                ..base
            };
            enqueue(&mut tx, new(format!("{key}:{channel}"), None, message)).await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}

/// Counts and lists the township's cases at `now`.
async fn gather(
    tx: &mut TenantTx,
    township: &str,
    date: NaiveDate,
    zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Result<Morning, sqlx::Error> {
    let since = since_yesterday(now, zone);
    let tenant = tx.tenant().as_uuid();
    // Each section: its filter on routing.cases (c) and the time shown with an item.
    let sections = [
        ("c.created_at >= $2 AND c.created_at < $3", "c.created_at"),
        ("c.list_deadline < $3", "c.list_deadline"),
        ("c.state = 'resolved'", "c.follow_up_due"),
    ];
    let mut out = Vec::new();
    for (filter, at) in sections {
        let (count,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM routing.cases c WHERE c.tenant_id = $1 AND {filter} AND $2::timestamptz <= $3::timestamptz"
        )))
        .bind(tenant)
        .bind(since)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
        let items: Vec<Item> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT c.id, c.tracking_number, coalesce(k.name_zh, c.category) AS category, c.state, {at} AS at \
             FROM routing.cases c LEFT JOIN routing.categories k ON k.tenant_id = c.tenant_id AND k.code = c.category \
             WHERE c.tenant_id = $1 AND {filter} AND $2::timestamptz <= $3::timestamptz \
             ORDER BY {at} DESC NULLS LAST, c.id LIMIT $4"
        )))
        .bind(tenant)
        .bind(since)
        .bind(now)
        .bind(LISTED)
        .fetch_all(&mut **tx)
        .await?;
        out.push(Section { count, items });
    }
    let mut out = out.into_iter();
    let mut next = || out.next().unwrap_or_default();
    Ok(Morning {
        township: township.to_owned(),
        date,
        zone,
        new: next(),
        overdue: next(),
        follow_up: next(),
    })
}

impl Morning {
    /// `晨报 · 城关镇 12月5日：新案件 3 件，超时 1 件，待回访 2 件`.
    pub fn title(&self) -> String {
        format!(
            "晨报 · {} {}：{}",
            self.township,
            self.date.format("%-m月%-d日"),
            self.counts()
        )
    }

    fn counts(&self) -> String {
        format!(
            "新案件 {} 件，超时 {} 件，待回访 {} 件",
            self.new.count, self.overdue.count, self.follow_up.count
        )
    }

    /// What a group robot says.
    pub fn short(&self) -> String {
        format!(
            "{}。\n(New since yesterday {}, overdue {}, awaiting follow-up {}.)",
            self.counts(),
            self.new.count,
            self.overdue.count,
            self.follow_up.count
        )
    }

    /// The app's notice: the counts and the first few of each.
    pub fn notice(&self) -> String {
        let mut text = format!("{}。", self.counts());
        for (label, section) in self.sections() {
            if section.items.is_empty() {
                continue;
            }
            let named: Vec<&str> = section
                .items
                .iter()
                .take(NAMED)
                .map(|i| i.tracking_number.as_str())
                .collect();
            text.push_str(&format!("\n{label}：{}", named.join("、")));
            if section.count > named.len() as i64 {
                text.push_str(" 等");
            }
        }
        text
    }

    fn sections(&self) -> [(&'static str, &Section); 3] {
        [
            ("新案件", &self.new),
            ("超时", &self.overdue),
            ("待回访", &self.follow_up),
        ]
    }

    /// The e-mail: every section with its list and links.
    pub fn full(&self, public: &str) -> String {
        let lists = [
            (
                "一、昨日以来的新案件 (new since yesterday)",
                "/console/cases",
            ),
            ("二、已超时 (overdue)", "/console/overdue"),
            ("三、待回访 (awaiting follow-up)", "/console/follow-ups"),
        ];
        let mut text = format!(
            "{} {} 晨报 (morning digest)\n{}。\n",
            self.township,
            self.date.format("%Y年%-m月%-d日"),
            self.counts()
        );
        for ((heading, page), (_, section)) in lists.into_iter().zip(self.sections()) {
            text.push_str(&format!("\n{heading}：{} 件\n", section.count));
            for item in &section.items {
                let when = item.at.map_or_else(String::new, |t| {
                    t.with_timezone(&self.zone)
                        .format(" %-m月%-d日 %H:%M")
                        .to_string()
                });
                let state =
                    CaseState::parse(&item.state).map_or(item.state.as_str(), |s| s.label_zh());
                text.push_str(&format!(
                    "· {} {} {}{}\n  {public}/console/cases/{}\n",
                    item.tracking_number, item.category, state, when, item.id
                ));
            }
            let more = section.count - section.items.len() as i64;
            if more > 0 {
                text.push_str(&format!("……另有 {more} 件，见 {public}{page}\n"));
            } else if section.count > 0 {
                text.push_str(&format!("全部 (all)：{public}{page}\n"));
            }
        }
        text
    }
}
