//! The county's e-mail: its mail server, set by a county administrator, and the daily
//! digest of every township (new since yesterday, overdue, sent up to the county and
//! still open) to each county user who gave an address.
//!
//! `GET/PUT/DELETE /api/v1/county/mail` (`{"settings": {"host", "port", "tls",
//! "from", "user", "password"}, "digest_at": "08:00", "time_zone": "Asia/Shanghai",
//! "active": true}`; the password is sealed and never shown),
//! `POST /api/v1/county/mail/test` (a test e-mail to the administrator's own address,
//! answered with the server's answer) and `GET /api/v1/county/mail/deliveries` (the
//! county's e-mails, with every attempt's answer).
//!
//! The county belongs to no township, so its e-mails are not township deliveries:
//! they are rows of `notification.county_deliveries`, sent by every replica's digest
//! worker with the same lease, back-off and answers as the township's sender.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use mashang_auth::permissions::{Action, Target, authorize};
use mashang_auth::{Auth, Principal};
use mashang_domain::TenantId;
use mashang_http::{ApiError, ApiJson, FieldError};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{parse_time, since_yesterday};
use crate::NotificationState;
use crate::delivery::email::{self, Smtp};
use crate::delivery::engine::{MAX_ATTEMPTS, Secrets, backoff};
use crate::delivery::{Answer, Message, Outcome, cut};
use mashang_http::openapi::{JsonBodyErrors, NotFoundError, RateLimited, StaffErrors, Unavailable};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// When the county's digest goes out unless set otherwise, in its zone.
const DEFAULT_DIGEST_AT: &str = "08:00";
const DEFAULT_ZONE: &str = "Asia/Shanghai";
/// Sent-up cases listed per township.
const LISTED: i64 = 20;
/// E-mails claimed at a time, and how long a claim holds.
const BATCH: i64 = 16;
const LEASE_SECONDS: f64 = 120.0;

pub(crate) fn routes() -> OpenApiRouter<NotificationState> {
    OpenApiRouter::new()
        .routes(routes!(show, update, remove))
        .routes(routes!(test))
        .routes(routes!(deliveries))
}

/// The county's mail server and digest time, as stored.
#[derive(Clone, Debug)]
pub struct CountyMail {
    /// When the server was first set: the first digest goes out the next day.
    pub since: DateTime<Utc>,
    pub smtp: Smtp,
    pub digest_at: NaiveTime,
    pub zone: chrono_tz::Tz,
    pub active: bool,
}

/// The key the county's secrets are sealed under: no township, no channel.
fn seal_ids() -> (TenantId, Uuid) {
    (TenantId::from_uuid(Uuid::nil()), Uuid::nil())
}

/// The county's mail server, if one is set.
pub async fn load(state: &NotificationState) -> anyhow::Result<Option<CountyMail>> {
    let Some(d) = &state.delivery else {
        return Ok(None);
    };
    let mut tx = state.db.global().await?;
    let row: Option<(Value, Vec<u8>, bool, DateTime<Utc>)> = sqlx::query_as(
        "SELECT settings, secrets_sealed, active, created_at FROM notification.county_mail WHERE id",
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let Some((settings, sealed, active, since)) = row else {
        return Ok(None);
    };
    let (tenant, id) = seal_ids();
    let Some(smtp) = Secrets::open(&d.key, tenant, id, &sealed)?.smtp else {
        return Ok(None);
    };
    let text = |k: &str, default: &str| {
        settings
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_owned()
    };
    Ok(Some(CountyMail {
        since,
        smtp,
        digest_at: parse_time(&text("digest_at", DEFAULT_DIGEST_AT)).unwrap_or(NaiveTime::MIN),
        zone: text("time_zone", DEFAULT_ZONE)
            .parse()
            .unwrap_or(chrono_tz::Asia::Shanghai),
        active,
    }))
}

pub(crate) fn county_admin(principal: &Principal) -> Result<(), ApiError> {
    authorize(principal, Action::ManageTenants, Target::County).map_err(ApiError::from)
}

fn delivery(state: &NotificationState) -> Result<&crate::Delivery, ApiError> {
    state.delivery.as_ref().ok_or_else(|| {
        ApiError::Unavailable(
            "此服务未配置外部渠道 (outside channels are off in this process)".into(),
        )
    })
}

fn view(mail: &CountyMail) -> Value {
    let mut settings = mail.smtp.public();
    settings["digest_at"] = json!(mail.digest_at.format("%H:%M").to_string());
    settings["time_zone"] = json!(mail.zone.name());
    json!({"settings": settings, "active": mail.active})
}

/// `GET /api/v1/county/mail`.
#[utoipa::path(get, path = "/api/v1/county/mail", tag = "notification", operation_id = "get_api_v1_county_mail",
    summary = "县级邮件设置 (The county mail server, digest time and zone; never the password)",
    responses(
        (status = 200, description = "设置 (The settings)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn show(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Value>, ApiError> {
    county_admin(&principal)?;
    delivery(&state)?;
    let mail = load(&state)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    Ok(ApiJson(view(&mail)))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MailBody {
    /// The mail server: `host`, `port`, `security`, `from`, `to`, `login`, `password`.
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Value>,
    /// `HH:MM` in `time_zone`.
    #[schema(max_length = 5, example = "08:00")]
    pub digest_at: Option<String>,
    /// An IANA zone (default Asia/Shanghai).
    #[schema(max_length = 64, example = "Asia/Shanghai")]
    pub time_zone: Option<String>,
    pub active: Option<bool>,
}

/// `PUT /api/v1/county/mail`: sets the county's mail server (a login sent without
/// its password keeps the current one), digest time and zone.
#[utoipa::path(put, path = "/api/v1/county/mail", tag = "notification", operation_id = "put_api_v1_county_mail",
    summary = "修改县级邮件设置 (Sets the county mail server; a login without its password keeps the current one)",
    request_body(content = MailBody, content_type = "application/json"),
    responses(
        (status = 200, description = "设置 (The settings)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
    ))]
async fn update(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<MailBody>,
) -> Result<ApiJson<Value>, ApiError> {
    save(&state, &principal, &body).await.map(ApiJson)
}

/// Saves the county's mail server and digest (the API and the page).
pub(crate) async fn save(
    state: &NotificationState,
    principal: &Principal,
    body: &MailBody,
) -> Result<Value, ApiError> {
    county_admin(principal)?;
    let d = delivery(state)?;
    let current = load(state).await.map_err(ApiError::internal)?;
    let mut errors = Vec::new();
    let smtp = match email::check(
        body.settings.as_ref(),
        current.is_some(),
        d.outbound.policy(),
    ) {
        Ok(mut smtp) => {
            email::keep_password(&mut smtp, current.as_ref().map(|c| &c.smtp));
            Some(smtp)
        }
        Err(list) => {
            errors.extend(list.into_iter().map(|(f, m)| FieldError::new(f, m)));
            None
        }
    };
    let digest_at = match body.digest_at.as_deref() {
        Some(raw) => parse_time(raw).or_else(|| {
            errors.push(FieldError::new(
                "digest_at",
                "时间应为 HH:MM，如 08:00 (a time like 08:00)",
            ));
            None
        }),
        None => Some(current.as_ref().map_or_else(
            || parse_time(DEFAULT_DIGEST_AT).unwrap_or(NaiveTime::MIN),
            |c| c.digest_at,
        )),
    };
    let zone = match body.time_zone.as_deref() {
        Some(raw) => raw.trim().parse::<chrono_tz::Tz>().ok().or_else(|| {
            errors.push(FieldError::new(
                "time_zone",
                "不是有效的时区 (not an IANA time zone)",
            ));
            None
        }),
        None => Some(
            current
                .as_ref()
                .map_or(chrono_tz::Asia::Shanghai, |c| c.zone),
        ),
    };
    let (Some(smtp), Some(digest_at), Some(zone), true) =
        (smtp, digest_at, zone, errors.is_empty())
    else {
        return Err(ApiError::Validation(errors));
    };
    let mail = CountyMail {
        since: current.as_ref().map_or_else(Utc::now, |c| c.since),
        smtp,
        digest_at,
        zone,
        active: body
            .active
            .unwrap_or_else(|| current.as_ref().is_none_or(|c| c.active)),
    };
    let (tenant, id) = seal_ids();
    let sealed = Secrets {
        smtp: Some(mail.smtp.clone()),
        ..Secrets::default()
    }
    .seal(&d.key, tenant, id)
    .map_err(ApiError::internal)?;
    let shown = view(&mail);
    let mut tx = state.db.global().await?;
    sqlx::query(
        "INSERT INTO notification.county_mail (id, settings, secrets_sealed, active) VALUES (true, $1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET settings = $1, secrets_sealed = $2, active = $3, updated_at = now()",
    )
    .bind(&shown["settings"])
    .bind(&sealed)
    .bind(mail.active)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(shown)
}

/// `DELETE /api/v1/county/mail`: no more county e-mail (queued ones fail).
#[utoipa::path(delete, path = "/api/v1/county/mail", tag = "notification", operation_id = "delete_api_v1_county_mail",
    summary = "删除县级邮件设置 (Forgets the county mail server)",
    responses(
        (status = 204, description = "已删除 (Removed)"),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn remove(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
) -> Result<StatusCode, ApiError> {
    forget(&state, &principal).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes the county's mail server (the API and the page).
pub(crate) async fn forget(
    state: &NotificationState,
    principal: &Principal,
) -> Result<(), ApiError> {
    county_admin(principal)?;
    let mut tx = state.db.global().await?;
    let done = sqlx::query("DELETE FROM notification.county_mail")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::NotFound);
    }
    Ok(())
}

/// `POST /api/v1/county/mail/test`: a test e-mail to the administrator's own address
/// now; the server's answer.
#[utoipa::path(post, path = "/api/v1/county/mail/test", tag = "notification", operation_id = "post_api_v1_county_mail_test",
    summary = "试发邮件 (Sends a test mail)",
    responses(
        (status = 200, description = "试发结果 (The outcome)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
        RateLimited,
    ))]
async fn test(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Value>, ApiError> {
    send_test(&state, &principal).await.map(ApiJson)
}

/// Sends a test e-mail to the administrator's own address; the server's answer.
pub(crate) async fn send_test(
    state: &NotificationState,
    principal: &Principal,
) -> Result<Value, ApiError> {
    county_admin(principal)?;
    let d = delivery(state)?;
    let mail = load(state)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    let mut tx = state.db.global().await?;
    let own: Option<(Option<String>,)> =
        sqlx::query_as("SELECT email FROM routing.county_users WHERE id = $1")
            .bind(principal.user().map(|u| u.as_uuid()))
            .fetch_optional(&mut *tx)
            .await?;
    tx.commit().await?;
    let message = Message {
        id: Uuid::now_v7(),
        kind: "test".to_owned(),
        title: "测试邮件 (test)".to_owned(),
        text: "这是来自码上反映的测试邮件，县级邮件服务器已接通。".to_owned(),
        link: Some(format!("{}/county", d.public_url)),
        email: own.and_then(|(e,)| e),
        ..Message::default()
    };
    Ok(outcome_json(
        &email::send(d.outbound.policy(), &mail.smtp, &message).await,
    ))
}

fn outcome_json(outcome: &Outcome) -> Value {
    let (label, reason, answer) = match outcome {
        Outcome::Sent { answer, .. } => ("sent", None, answer),
        Outcome::Retry { reason, answer, .. } => ("retry", Some(reason), answer),
        Outcome::Failed { reason, answer } => ("failed", Some(reason), answer),
    };
    json!({"outcome": label, "reason": reason, "code": answer.status, "answer": answer.body})
}

/// `GET /api/v1/county/mail/deliveries`: the newest 50 of the county's e-mails.
#[utoipa::path(get, path = "/api/v1/county/mail/deliveries", tag = "notification", operation_id = "get_api_v1_county_mail_deliveries",
    summary = "县级邮件发送记录 (The newest county digest deliveries)",
    responses(
        (status = 200, description = "发送记录 (The deliveries)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn deliveries(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Value>, ApiError> {
    Ok(ApiJson(
        json!({"deliveries": recent(&state, &principal).await?}),
    ))
}

/// The newest 50 of the county's e-mails, newest first, as the API shows them.
pub(crate) async fn recent(
    state: &NotificationState,
    principal: &Principal,
) -> Result<Vec<Value>, ApiError> {
    county_admin(principal)?;
    let mut tx = state.db.global().await?;
    type Row = (
        Uuid,
        Option<Uuid>,
        String,
        String,
        i32,
        Option<String>,
        Value,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, user_id, kind, state, attempts, last_error, answers, created_at, sent_at \
         FROM notification.county_deliveries ORDER BY created_at DESC, id DESC LIMIT 50",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let list: Vec<Value> = rows
        .into_iter()
        .map(|(id, user_id, kind, state, attempts, last_error, answers, created_at, sent_at)| {
            json!({
                "id": id, "user_id": user_id, "kind": kind, "state": state, "attempts": attempts,
                "last_error": last_error, "tries": answers, "created_at": created_at, "sent_at": sent_at,
            })
        })
        .collect();
    Ok(list)
}

/// A township's lines in the county's digest.
#[derive(Debug)]
struct TownshipLines {
    name: String,
    new: i64,
    overdue: i64,
    sent_up: i64,
    items: Vec<(Uuid, String, String, String)>,
}

/// One pass at `now`: if the county's digest time has come today and there is none
/// for today, it is made; whether this pass made it.
pub async fn pass(state: &NotificationState, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let Some(mail) = load(state).await? else {
        return Ok(false);
    };
    let local = now.with_timezone(&mail.zone);
    let date = local.date_naive();
    if !mail.active
        || local.time() < mail.digest_at
        || mail.since >= super::start_of(date, mail.zone)
    {
        return Ok(false);
    }
    let mut tx = state.db.global().await?;
    let done: Option<(i32,)> =
        sqlx::query_as("SELECT 1 FROM notification.county_digests WHERE local_date = $1")
            .bind(date)
            .fetch_optional(&mut *tx)
            .await?;
    let townships: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT id, name FROM routing.tenants WHERE status = 'active' ORDER BY code",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    if done.is_some() {
        return Ok(false);
    }
    let since = since_yesterday(now, mail.zone);
    let mut lines = Vec::new();
    for (id, name) in townships {
        let mut tx = state.db.tenant(TenantId::from_uuid(id)).await?;
        let (new, overdue, sent_up): (i64, i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE created_at >= $2 AND created_at < $3), \
                    count(*) FILTER (WHERE list_deadline < $3), \
                    count(*) FILTER (WHERE county_requested_at IS NOT NULL AND state NOT IN ('closed', 'invalid')) \
             FROM routing.cases WHERE tenant_id = $1",
        )
        .bind(id)
        .bind(since)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let items: Vec<(Uuid, String, String, String)> = sqlx::query_as(
            "SELECT c.id, c.tracking_number, coalesce(k.name_zh, c.category), c.state FROM routing.cases c \
             LEFT JOIN routing.categories k ON k.tenant_id = c.tenant_id AND k.code = c.category \
             WHERE c.tenant_id = $1 AND c.county_requested_at IS NOT NULL AND c.state NOT IN ('closed', 'invalid') \
             ORDER BY c.county_requested_at DESC, c.id LIMIT $2",
        )
        .bind(id)
        .bind(LISTED)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        lines.push(TownshipLines {
            name,
            new,
            overdue,
            sent_up,
            items,
        });
    }
    let public = state
        .delivery
        .as_ref()
        .map(|d| d.public_url.clone())
        .unwrap_or_default();
    let (title, text) = compose(&lines, date, &public);
    let key = format!("county-digest:{date}");
    let mut tx = state.db.global().await?;
    let claimed: Option<(NaiveDate,)> = sqlx::query_as(
        "INSERT INTO notification.county_digests (local_date, idempotency_key) VALUES ($1, $2) \
         ON CONFLICT (local_date) DO NOTHING RETURNING local_date",
    )
    .bind(date)
    .bind(&key)
    .fetch_optional(&mut *tx)
    .await?;
    if claimed.is_none() {
        tx.commit().await?;
        return Ok(false);
    }
    let people: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT id, email FROM routing.county_users WHERE active AND email IS NOT NULL ORDER BY id",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (user, address) in people {
        let id = Uuid::now_v7();
        let message = Message {
            id,
            kind: "digest_county".to_owned(),
            title: title.clone(),
            text: text.clone(),
            link: Some(format!("{public}/county")),
            email: Some(address),
            event_type: Some("digest.county".to_owned()),
            ..Message::default()
        };
        sqlx::query(
            "INSERT INTO notification.county_deliveries (id, idempotency_key, user_id, kind, message) \
             VALUES ($1, $2, $3, 'digest_county', $4) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(id)
        .bind(format!("{key}:{user}"))
        .bind(user)
        .bind(sqlx::types::Json(&message))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// The digest's subject and text: every township, its counts and its open sent-up cases.
fn compose(lines: &[TownshipLines], date: NaiveDate, public: &str) -> (String, String) {
    let (new, overdue, sent_up) = lines.iter().fold((0, 0, 0), |(a, b, c), l| {
        (a + l.new, b + l.overdue, c + l.sent_up)
    });
    let title = format!(
        "县级日报 {}：新案件 {new} 件，超时 {overdue} 件，县级督办 {sent_up} 件",
        date.format("%-m月%-d日")
    );
    let mut text = format!(
        "{} 各乡镇案件日报 (the county's daily digest)\n合计：新案件 {new} 件，超时 {overdue} 件，报县督办未结 {sent_up} 件。\n",
        date.format("%Y年%-m月%-d日")
    );
    for l in lines {
        text.push_str(&format!(
            "\n【{}】新案件 {} 件，超时 {} 件，报县督办未结 {} 件\n",
            l.name, l.new, l.overdue, l.sent_up
        ));
        for (_, number, category, state) in &l.items {
            let state = mashang_domain::case::CaseState::parse(state)
                .map_or(state.as_str(), |s| s.label_zh());
            text.push_str(&format!("· {number} {category} {state}\n"));
        }
    }
    text.push_str(&format!(
        "\n督办列表 (sent up)：{public}/county/supervision\n"
    ));
    (title, text)
}

/// Sends the county's due e-mails; how many were claimed.
pub async fn send_due(state: &NotificationState) -> anyhow::Result<usize> {
    let Some(d) = &state.delivery else {
        return Ok(0);
    };
    let mut tx = state.db.global().await?;
    let claimed: Vec<(Uuid, sqlx::types::Json<Message>, i32)> = sqlx::query_as(
        "UPDATE notification.county_deliveries d SET lease_until = now() + make_interval(secs => $1) \
         WHERE d.id IN (SELECT id FROM notification.county_deliveries \
                        WHERE state = 'queued' AND next_attempt_at <= now() \
                          AND (lease_until IS NULL OR lease_until < now()) \
                        ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
         RETURNING d.id, d.message, d.attempts",
    )
    .bind(LEASE_SECONDS)
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let mail = load(state).await?;
    let n = claimed.len();
    for (id, message, attempts) in claimed {
        let outcome = match &mail {
            Some(mail) => email::send(d.outbound.policy(), &mail.smtp, &message.0).await,
            None => Outcome::Failed {
                reason: "县级邮件服务器未设置 (the county has no mail server)".to_owned(),
                answer: Answer::none("no mail server"),
            },
        };
        record(state, id, attempts, &outcome).await?;
    }
    Ok(n)
}

/// Records an attempt and moves the e-mail on, as the township's sender does.
async fn record(
    state: &NotificationState,
    id: Uuid,
    attempts: i32,
    outcome: &Outcome,
) -> anyhow::Result<()> {
    let attempt = attempts + 1;
    let (label, state_now, error, answer, wait) = match outcome {
        Outcome::Sent { answer, .. } => ("sent", "sent", None, answer, None),
        Outcome::Failed { reason, answer } => ("failed", "failed", Some(reason), answer, None),
        Outcome::Retry {
            reason,
            after,
            answer,
        } => {
            if attempt >= MAX_ATTEMPTS {
                ("retry", "dead", Some(reason), answer, None)
            } else {
                let mut b = [0u8; 2];
                let _ = getrandom::fill(&mut b);
                let jitter = f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX);
                let wait = after.unwrap_or_else(|| backoff(attempt, jitter));
                ("retry", "queued", Some(reason), answer, Some(wait))
            }
        }
    };
    let mut tx = state.db.global().await?;
    sqlx::query(
        "UPDATE notification.county_deliveries SET state = $2, attempts = attempts + 1, lease_until = NULL, \
         next_attempt_at = CASE WHEN $3::float8 IS NULL THEN next_attempt_at ELSE now() + make_interval(secs => $3) END, \
         last_error = $4, sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END, \
         answers = answers || jsonb_build_array(jsonb_build_object( \
             'at', now(), 'outcome', $5::text, 'code', $6::int, 'answer', $7::text)) \
         WHERE id = $1",
    )
    .bind(id)
    .bind(state_now)
    .bind(wait.map(|w| w.as_secs_f64()))
    .bind(error.map(|e| cut(e, 2000)))
    .bind(label)
    .bind(answer.status.map(i32::from))
    .bind(&answer.body)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
