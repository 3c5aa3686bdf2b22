//! The citizen's rating (`report.rated`) counts as the follow-up: accepted, the case
//! is followed up; not resolved or unsatisfied, it is reopened and goes back to its
//! handler with the history.

use async_trait::async_trait;
use chrono::Utc;
use mashang_bus::{Handler, HandlerError, Service, inbox};
use mashang_db::Db;
use mashang_domain::CaseId;
use mashang_domain::case::{Action, Actor, NoteText, WorkflowError};
use mashang_domain::events::{Envelope, ReportRated};
use uuid::Uuid;

use super::act::{ActError, act};
use super::{calendar, record};

/// Consumes `report.rated`.
#[derive(Clone, Debug)]
pub struct RatedHandler {
    db: Db,
}

impl RatedHandler {
    /// A handler writing to `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Handler for RatedHandler {
    #[tracing::instrument(skip_all, fields(tenant_id = %envelope.tenant_id))]
    async fn handle(&self, envelope: Envelope) -> Result<(), HandlerError> {
        let rated: ReportRated = envelope.decode()?;
        let mut tx = self.db.tenant(envelope.tenant_id).await?;
        if !inbox::claim(&mut tx, Service::Routing, "routing", &envelope).await? {
            return Ok(());
        }
        let case: Option<(Uuid,)> =
            sqlx::query_as("SELECT id FROM routing.cases WHERE tenant_id = $1 AND report_id = $2")
                .bind(envelope.tenant_id.as_uuid())
                .bind(rated.report_id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
        let Some((case,)) = case else {
            return Err(HandlerError::Poison(anyhow::anyhow!(
                "a rating for a report without a case"
            )));
        };
        let Some(mut record) = record::load_for_update(&mut tx, CaseId::from_uuid(case))
            .await
            .map_err(HandlerError::Retry)?
        else {
            return Err(HandlerError::Poison(anyhow::anyhow!("the case vanished")));
        };
        let calendar = calendar::load(&mut tx).await.map_err(HandlerError::Retry)?;
        let comment = rated
            .comment
            .as_deref()
            .and_then(|c| NoteText::parse(c).ok());
        let action = Action::Rate {
            resolved: rated.resolved,
            satisfaction: rated.satisfaction,
            comment,
        };
        match act(
            &mut tx,
            &mut record,
            &calendar,
            &Actor::Citizen,
            action,
            None,
            Utc::now(),
        )
        .await
        {
            Ok(_) => {}
            // A rating that arrives when the case cannot take it (it was reopened or
            // invalidated meanwhile) is kept by intake; the case is left as it is.
            Err(ActError::Workflow(WorkflowError::NotAllowed { state, .. })) => {
                tracing::info!(case_id = %case, state = state.as_str(), "a rating the case cannot take now; left as it is");
            }
            Err(ActError::Workflow(other)) => return Err(HandlerError::Poison(other.into())),
            Err(ActError::Other(err)) => return Err(HandlerError::Retry(err)),
        }
        tx.commit().await?;
        Ok(())
    }
}
