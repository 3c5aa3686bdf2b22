//! Staff open a case's photos and voice notes: streamed from the township's blob
//! store to anyone whose roles reach the case.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use mashang_auth::Auth;
use mashang_auth::permissions::{Action, Target};
use mashang_domain::events::AttachmentRef;
use mashang_domain::{CaseId, GridNodeId, TenantId, UserId};
use mashang_http::ApiError;
use mashang_storage::BlobKey;

use super::{allow, tenant_tx};
use crate::RoutingState;
use crate::cases::read::{CaseView, load};
use crate::directory::nodes;
use mashang_http::openapi::{Binary, NotFoundError, StaffErrors, Unavailable};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new().routes(routes!(download))
}

/// `GET /api/v1/cases/{id}/attachments/{attachment_id}`: the stored file (photos without
/// their location metadata), for playing or viewing in the browser.
#[utoipa::path(get, path = "/api/v1/cases/{id}/attachments/{attachment_id}", tag = "cases", operation_id = "get_api_v1_cases_id_attachments_attachment_id",
    summary = "附件 (A photo or voice note of the case, or its thumbnail)",
    params(("id" = uuid::Uuid, Path, description = "The case"), ("attachment_id" = String, Path, max_length = 100, description = "The attachment (its id, or its id with a thumbnail suffix)")),
    responses(
        (status = 200, description = "文件 (The file)", content_type = "application/octet-stream", body = Binary),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn download(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path((id, attachment)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id: CaseId = id.parse().map_err(|_| ApiError::NotFound)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let case = load(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let ancestry = nodes::ancestry(&mut tx, GridNodeId::from_uuid(case.grid_node_id)).await?;
    tx.commit().await?;
    allow(
        &principal,
        Action::ViewCase,
        Target::Case {
            ancestry: &ancestry,
            assignee: case.assignee_id.map(UserId::from_uuid),
        },
    )?;
    let tenant = principal.require_tenant()?;
    case_file(&state, tenant, &case, &attachment).await
}

/// Streams the file `attachment` of `case` (of `tenant`): one of the citizen's, else a
/// photo staff took of the measures. The caller has decided that the viewer may see
/// the case (the county's read-only view calls this too).
pub(crate) async fn case_file(
    state: &RoutingState,
    tenant: TenantId,
    case: &CaseView,
    attachment: &str,
) -> Result<Response, ApiError> {
    let refs: Vec<AttachmentRef> =
        serde_json::from_value(case.attachments.clone()).map_err(ApiError::internal)?;
    let (key, content_type) = match refs.into_iter().find(|a| a.id.to_string() == attachment) {
        Some(found) => (found.key, found.content_type),
        None => {
            let mut tx = state.db.tenant(tenant).await?;
            let id = CaseId::from_uuid(case.id);
            let staff = super::case_uploads::find(&mut tx, id, attachment).await?;
            tx.commit().await?;
            staff.ok_or(ApiError::NotFound)?
        }
    };
    let key = BlobKey::parse(&key).map_err(ApiError::internal)?;
    if key.tenant() != tenant {
        // Keys begin with their tenant; a case can only name its own township's files.
        return Err(ApiError::NotFound);
    }
    let blobs = state.blobs.as_ref().ok_or_else(|| {
        ApiError::Unavailable("文件存储未配置 (no blob store configured for this service)".into())
    })?;
    let blob = blobs.get(&key).await.map_err(ApiError::internal)?;
    let content_type = HeaderValue::from_str(&content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, blob.size)
        .header(header::CONTENT_DISPOSITION, "inline")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CACHE_CONTROL, "private, no-store")
        .body(Body::from_stream(blob.body))
        .map_err(ApiError::internal)
}
