//! In-app notices.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mashang_bus::{Handler, HandlerError, Service, inbox};
use mashang_db::{Db, TenantTx};
use mashang_domain::events::{CaseAssigned, Envelope};
use mashang_domain::{NoticeId, UserId};
use serde::Serialize;
use uuid::Uuid;

/// Consumes `case.assigned`: a notice for the new assignee.
#[derive(Clone, Debug)]
pub struct AssignedHandler {
    db: Db,
}

impl AssignedHandler {
    /// A handler writing to `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Handler for AssignedHandler {
    #[tracing::instrument(skip_all, fields(tenant_id = %envelope.tenant_id))]
    async fn handle(&self, envelope: Envelope) -> Result<(), HandlerError> {
        let assigned: CaseAssigned = envelope.decode()?;
        let mut tx = self.db.tenant(envelope.tenant_id).await?;
        if !inbox::claim(&mut tx, Service::Notification, "notification", &envelope).await? {
            return Ok(());
        }
        let zone = tenant_zone(&mut tx).await?;
        let due_local = assigned
            .first_response_due
            .with_timezone(&zone)
            .format("%H:%M");
        let title = format!("新案件 {}", assigned.tracking_number);
        let body = if assigned.vacancy {
            format!("本网格暂无网格员，案件由您代为受理。请在 {due_local} 前电话联系群众。")
        } else {
            format!("请在 {due_local} 前电话联系群众。")
        };
        sqlx::query(
            "INSERT INTO notification.notices (id, tenant_id, user_id, event_id, case_id, kind, title, body) \
             VALUES ($1, $2, $3, $4, $5, 'case_assigned', $6, $7) \
             ON CONFLICT (tenant_id, event_id, user_id) DO NOTHING",
        )
        .bind(NoticeId::new().as_uuid())
        .bind(envelope.tenant_id.as_uuid())
        .bind(assigned.assignee_id.as_uuid())
        .bind(envelope.id.as_uuid())
        .bind(assigned.case_id.as_uuid())
        .bind(title)
        .bind(body)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn tenant_zone(tx: &mut TenantTx) -> Result<chrono_tz::Tz, HandlerError> {
    let zone: Option<(String,)> =
        sqlx::query_as("SELECT time_zone FROM routing.tenants WHERE id = $1")
            .bind(tx.tenant().as_uuid())
            .fetch_optional(&mut **tx)
            .await?;
    let Some((zone,)) = zone else {
        return Err(HandlerError::Poison(anyhow::anyhow!(
            "the event's tenant does not exist"
        )));
    };
    Ok(zone.parse().unwrap_or(chrono_tz::Asia::Shanghai))
}

/// A notice as its recipient sees it.
#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Notice {
    /// Notice id.
    pub id: Uuid,
    /// The case it is about.
    pub case_id: Option<Uuid>,
    /// What kind of notice (`case_assigned`).
    pub kind: String,
    /// Headline.
    pub title: String,
    /// Text.
    pub body: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When the recipient read it.
    pub read_at: Option<DateTime<Utc>>,
}

/// The newest notices of a user, newest first.
pub async fn for_user(
    tx: &mut TenantTx,
    user: UserId,
    limit: i64,
) -> Result<Vec<Notice>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, case_id, kind, title, body, created_at, read_at FROM notification.notices \
         WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3",
    )
    .bind(tx.tenant().as_uuid())
    .bind(user.as_uuid())
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// Marks a notice of `user` read; `false` when there is no such notice of theirs.
pub async fn mark_read(tx: &mut TenantTx, user: UserId, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE notification.notices SET read_at = coalesce(read_at, now()) \
         WHERE tenant_id = $1 AND user_id = $2 AND id = $3",
    )
    .bind(tx.tenant().as_uuid())
    .bind(user.as_uuid())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Where a page of notices starts: below the notice created at `created_at` with `id`
/// (newest first), as carried by the page's "older" link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Before {
    /// The last shown notice's creation time.
    pub created_at: DateTime<Utc>,
    /// Its id, to order notices created in the same microsecond.
    pub id: Uuid,
}

impl Before {
    /// `{microseconds since 1970}.{id}`, the form the link carries.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at.timestamp_micros(), self.id)
    }

    /// The cursor of a link; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        let (micros, id) = raw.split_once('.')?;
        Some(Self {
            created_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: id.parse().ok()?,
        })
    }
}

/// A page of `user`'s notices, newest first, starting below `before`; one more than
/// `limit` is read to tell whether an older page exists.
pub async fn page_for_user(
    tx: &mut TenantTx,
    user: UserId,
    before: Option<Before>,
    limit: i64,
) -> Result<Vec<Notice>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, case_id, kind, title, body, created_at, read_at FROM notification.notices \
         WHERE tenant_id = $1 AND user_id = $2 \
           AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4)) \
         ORDER BY created_at DESC, id DESC LIMIT $5",
    )
    .bind(tx.tenant().as_uuid())
    .bind(user.as_uuid())
    .bind(before.map(|b| b.created_at))
    .bind(before.map(|b| b.id))
    .bind(limit + 1)
    .fetch_all(&mut **tx)
    .await
}

/// How many of `user`'s notices are unread, counted up to `cap`.
pub async fn unread(tx: &mut TenantTx, user: UserId, cap: i64) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM (SELECT 1 FROM notification.notices \
         WHERE tenant_id = $1 AND user_id = $2 AND read_at IS NULL LIMIT $3) AS u",
    )
    .bind(tx.tenant().as_uuid())
    .bind(user.as_uuid())
    .bind(cap)
    .fetch_one(&mut **tx)
    .await?;
    Ok(n)
}

/// Marks every notice of `user` read.
pub async fn mark_all_read(tx: &mut TenantTx, user: UserId) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE notification.notices SET read_at = now() \
         WHERE tenant_id = $1 AND user_id = $2 AND read_at IS NULL",
    )
    .bind(tx.tenant().as_uuid())
    .bind(user.as_uuid())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// Marks a notice of `user` read as it is opened: `None` when there is no such notice
/// of theirs, else the case it is about.
pub async fn open(
    tx: &mut TenantTx,
    user: UserId,
    id: Uuid,
) -> Result<Option<Option<Uuid>>, sqlx::Error> {
    let row: Option<(Option<Uuid>,)> = sqlx::query_as(
        "UPDATE notification.notices SET read_at = coalesce(read_at, now()) \
         WHERE tenant_id = $1 AND user_id = $2 AND id = $3 RETURNING case_id",
    )
    .bind(tx.tenant().as_uuid())
    .bind(user.as_uuid())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(case,)| case))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_written_and_nothing_else_reads() {
        let before = Before {
            created_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).expect("a time"),
            id: Uuid::now_v7(),
        };
        assert_eq!(Before::parse(&before.encode()), Some(before));
        for bad in ["", "1", "x.y", "1.not-a-uuid", "99999999999999999999.0"] {
            assert_eq!(Before::parse(bad), None, "{bad}");
        }
    }
}
