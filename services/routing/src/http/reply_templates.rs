//! `GET /api/v1/reply-templates`: the township's standard phrases (常用语) for the
//! first call-back, replies, answers and follow-up visits, in their order, for the
//! console's one-tap chips. Editing the list belongs to the administration pages.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use mashang_auth::Auth;
use mashang_auth::permissions::{Action, Target};
use mashang_http::{ApiError, ApiJson, ApiQuery};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{allow, tenant_tx};
use crate::RoutingState;

/// The kinds of phrase, as stored.
const KINDS: [&str; 4] = ["first_call", "reply", "answer", "follow_up"];

pub(super) fn routes() -> Router<RoutingState> {
    Router::new().route("/api/v1/reply-templates", get(list))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    /// One kind; every kind when absent.
    kind: Option<String>,
}

/// One phrase.
#[derive(Debug, Serialize, sqlx::FromRow)]
struct Template {
    id: Uuid,
    kind: String,
    text: String,
}

async fn list(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<ApiJson<serde_json::Value>, ApiError> {
    allow(&principal, Action::ViewCase, Target::List)?;
    let kind = q.kind.filter(|k| !k.is_empty());
    if let Some(k) = &kind
        && !KINDS.contains(&k.as_str())
    {
        return Err(ApiError::field(
            "kind",
            "first_call, reply, answer 或 follow_up (one of first_call, reply, answer, follow_up)",
        ));
    }
    let mut tx = tenant_tx(&state, &principal).await?;
    let templates: Vec<Template> = sqlx::query_as(
        "SELECT id, kind, text FROM routing.reply_templates \
         WHERE tenant_id = $1 AND ($2::text IS NULL OR kind = $2) \
         ORDER BY array_position($3::text[], kind), position, created_at",
    )
    .bind(tx.tenant().as_uuid())
    .bind(&kind)
    .bind(KINDS)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ApiJson(serde_json::json!({ "templates": templates })))
}
