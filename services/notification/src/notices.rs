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
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
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
