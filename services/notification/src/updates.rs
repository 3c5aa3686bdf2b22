//! Notices for case changes after assignment (reminders, escalations, transfers,
//! returns, reopenings, endings) and for tenant alerts: one notice per person routing
//! named, idempotent per event and person.

use async_trait::async_trait;
use mashang_bus::{Handler, HandlerError, Service, inbox};
use mashang_db::{Db, TenantTx};
use mashang_domain::events::{CaseUpdate, Envelope, EventType, TenantAlert};
use mashang_domain::{CaseId, NoticeId, UserId};

/// Consumes `case.*` updates and `tenant.alerted`.
#[derive(Clone, Debug)]
pub struct UpdateHandler {
    db: Db,
}

impl UpdateHandler {
    /// A handler writing to `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// Title and text of a case update's notice.
pub(crate) fn wording(event: EventType, update: &CaseUpdate) -> (String, String) {
    let n = &update.tracking_number;
    let target = update
        .details
        .get("target")
        .and_then(|t| t.as_str())
        .unwrap_or("");
    let target_zh = match target {
        "first_response" => "电话联系群众",
        "resolution" => "办结",
        "follow_up" => "回访",
        _ => "处理",
    };
    // The county's supervision (督办): its notes and its deadline's timers.
    match update.action.as_str() {
        "county_note" => {
            return (
                format!("县级督办：{n}"),
                "县综治中心对此案件作出批示，请查看并按要求办理。".to_owned(),
            );
        }
        "county_reminder" => {
            return (
                format!("县级督办催办：{n}"),
                "县综治中心规定的办结期限将到，请尽快办结。".to_owned(),
            );
        }
        "county_overdue" => {
            return (
                format!("县级督办已超期：{n}"),
                "此案件已超过县综治中心规定的期限，请立即办结并向县里说明。".to_owned(),
            );
        }
        _ => {}
    }
    match event {
        EventType::CaseReminded => (
            format!("催办：{n}"),
            format!("「{target_zh}」期限将到，请尽快处理。"),
        ),
        EventType::CaseEscalated => (
            format!("督办：{n}"),
            "此案件已超时或被上报，现由您督促或接手处理。".to_owned(),
        ),
        EventType::CaseTransferred => (
            format!("改派案件 {n}"),
            "此案件已改派给您，请尽快电话联系群众。".to_owned(),
        ),
        EventType::CaseReturned => (
            format!("退单 {n}"),
            "承办人退回了此案件，请重新派单。".to_owned(),
        ),
        EventType::CaseReopened => (
            format!("重新办理 {n}"),
            "群众认为问题未解决或不满意，案件已重新打开，请继续处理。".to_owned(),
        ),
        EventType::CaseInvalidated => (
            format!("案件已作无效处理 {n}"),
            "此案件经综治中心审核为无效事件。".to_owned(),
        ),
        EventType::CaseAcknowledged => (
            format!("已联系群众 {n}"),
            "承办人已电话联系群众，正在处理。".to_owned(),
        ),
        EventType::CaseResolved => (
            format!("已办结待回访 {n}"),
            "承办人已办结此案件，请安排回访。".to_owned(),
        ),
        EventType::CaseClosed => (
            format!("案件已办结归档 {n}"),
            "此案件已回访并关闭。".to_owned(),
        ),
        _ => (
            format!("案件更新 {n}"),
            format!("案件状态：{}", update.state),
        ),
    }
}

async fn notice(
    tx: &mut TenantTx,
    envelope: &Envelope,
    user: UserId,
    case: Option<CaseId>,
    kind: &str,
    title: &str,
    body: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notification.notices (id, tenant_id, user_id, event_id, case_id, kind, title, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, event_id, user_id) DO NOTHING",
    )
    .bind(NoticeId::new().as_uuid())
    .bind(envelope.tenant_id.as_uuid())
    .bind(user.as_uuid())
    .bind(envelope.id.as_uuid())
    .bind(case.map(|c| c.as_uuid()))
    .bind(kind)
    .bind(title)
    .bind(body)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl Handler for UpdateHandler {
    async fn handle(&self, envelope: Envelope) -> Result<(), HandlerError> {
        let mut tx = self.db.tenant(envelope.tenant_id).await?;
        if !inbox::claim(&mut tx, Service::Notification, "notification", &envelope).await? {
            return Ok(());
        }
        let kind = envelope.event_type.as_str().replace('.', "_");
        if envelope.event_type == EventType::TenantAlerted {
            let alert: TenantAlert = envelope.decode()?;
            for user in &alert.notify {
                notice(
                    &mut tx,
                    &envelope,
                    *user,
                    None,
                    &kind,
                    "系统提醒 (Notice)",
                    &alert.message,
                )
                .await?;
            }
        } else {
            let update: CaseUpdate = serde_json::from_value(envelope.payload.clone())
                .map_err(|e| HandlerError::Poison(anyhow::anyhow!("not a case update: {e}")))?;
            let (title, body) = wording(envelope.event_type, &update);
            for user in &update.notify {
                notice(
                    &mut tx,
                    &envelope,
                    *user,
                    Some(update.case_id),
                    &kind,
                    &title,
                    &body,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
