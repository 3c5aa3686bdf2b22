//! Staff photos of the measures on a case: `POST /api/v1/cases/{id}/attachments`
//! takes one photo from someone who may work the case (their session, not a QR code),
//! checked by content and size, and keeps it in the township's blob store. A
//! resolution may then name it among its photos; [`check_photos`] makes sure every
//! photo a resolution names is one its actor uploaded to that case.

use std::pin::pin;

use axum::extract::multipart::Field;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use mashang_auth::permissions::{Action, Target};
use mashang_auth::{Auth, Principal};
use mashang_db::TenantTx;
use mashang_domain::{AttachmentId, CaseId, GridNodeId, TenantId, UserId};
use mashang_http::{ApiError, ApiJson};
use mashang_storage::{BlobKey, ContentKind, UploadError, UploadLimits};
use serde::Serialize;
use uuid::Uuid;

use super::{allow, tenant_tx};
use crate::RoutingState;
use crate::cases::read::load;
use crate::directory::nodes;
use mashang_http::openapi::{FormBodyErrors, NotFoundError, StaffErrors, Unavailable};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The largest photo a worker may upload (a phone's full-size JPEG or HEIC).
pub const MAX_STAFF_PHOTO_BYTES: u64 = 10 * 1024 * 1024;
/// Photos one case may hold from staff (a resolution names at most nine).
const MAX_PHOTOS_PER_CASE: i64 = 30;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .layer(DefaultBodyLimit::max(
            MAX_STAFF_PHOTO_BYTES as usize + 64 * 1024,
        ))
}

/// What an upload answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Uploaded {
    pub(super) id: Uuid,
    content_type: &'static str,
    size_bytes: u64,
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/attachments", tag = "cases", operation_id = "post_api_v1_cases_id_attachments",
    summary = "上传办结照片 (Uploads a photo of the measures, to name when resolving)",
    params(("id" = uuid::Uuid, Path, description = "The case")),
    request_body(content = Object, content_type = "multipart/form-data", description = "一个 `photo` 文件 (One `photo` part: JPEG, PNG, WebP or HEIC)"),
    responses(
        (status = 201, description = "已上传 (Uploaded)", body = Uploaded),
        StaffErrors,
        NotFoundError,
        Unavailable,
        FormBodyErrors,
    ))]
async fn upload(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> Result<(StatusCode, ApiJson<Uploaded>), ApiError> {
    let id: CaseId = id.parse().map_err(|_| ApiError::NotFound)?;
    let (tenant, user) = may_upload(&state, &principal, id).await?;
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::BadRequest(format!(
            "the multipart body could not be read: {}",
            e.body_text()
        ))
    };
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        if field.name() != Some("file") {
            continue;
        }
        let uploaded = store(&state, tenant, user, id, field).await?;
        return Ok((StatusCode::CREATED, ApiJson(uploaded)));
    }
    Err(ApiError::field("file", "必填 (required)"))
}

/// Checks that `principal` may add a photo to case `id` (township staff who may work
/// it, and the case has room for another): their township and user.
pub(super) async fn may_upload(
    state: &RoutingState,
    principal: &Principal,
    id: CaseId,
) -> Result<(TenantId, UserId), ApiError> {
    let user = principal.user().ok_or_else(|| {
        ApiError::Forbidden("只有乡镇工作人员可以上传 (township staff only)".to_owned())
    })?;
    let tenant = principal.tenant().ok_or(ApiError::NotFound)?;
    let mut tx = tenant_tx(state, principal).await?;
    let case = load(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let ancestry = nodes::ancestry(&mut tx, GridNodeId::from_uuid(case.grid_node_id)).await?;
    let (held,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM routing.case_attachments WHERE tenant_id = $1 AND case_id = $2",
    )
    .bind(tenant.as_uuid())
    .bind(id.as_uuid())
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    allow(
        principal,
        Action::WorkCase,
        Target::Case {
            ancestry: &ancestry,
            assignee: case.assignee_id.map(UserId::from_uuid),
        },
    )?;
    if held >= MAX_PHOTOS_PER_CASE {
        return Err(ApiError::Conflict(format!(
            "这个案件的照片已满 {MAX_PHOTOS_PER_CASE} 张 (the case already holds {MAX_PHOTOS_PER_CASE} photos)"
        )));
    }
    Ok((tenant, user))
}

/// Keeps one uploaded photo of case `id` by `user` (after [`may_upload`]): checked by
/// content and size, stored in the township's blob store and recorded.
pub(super) async fn store(
    state: &RoutingState,
    tenant: TenantId,
    user: UserId,
    id: CaseId,
    field: Field<'_>,
) -> Result<Uploaded, ApiError> {
    let blobs = state.blobs.clone().ok_or_else(|| {
        ApiError::Unavailable("文件存储未配置 (no blob store configured for this service)".into())
    })?;
    let limits = UploadLimits {
        max_bytes: MAX_STAFF_PHOTO_BYTES,
        allowed: &[ContentKind::Photo],
    };
    let spooled = match mashang_storage::spool(pin!(field), &limits).await {
        Ok(s) => s,
        Err(UploadError::UnsupportedType) => {
            return Err(ApiError::UnsupportedMediaType(
                "只接受照片（JPEG、PNG、WebP、HEIC）(photos only: JPEG, PNG, WebP, HEIC)"
                    .to_owned(),
            ));
        }
        Err(UploadError::TooLarge { .. }) => {
            return Err(ApiError::PayloadTooLarge(
                "照片超过10MB (the photo is over 10 MB)".to_owned(),
            ));
        }
        Err(UploadError::Empty) => {
            return Err(ApiError::field("file", "文件是空的 (empty file)"));
        }
        Err(err) => return Err(ApiError::BadRequest(format!("the upload failed: {err}"))),
    };
    let attachment = AttachmentId::new();
    let key = BlobKey::new(tenant, "staff", &attachment.to_string()).map_err(ApiError::internal)?;
    blobs
        .put_file(&key, &spooled)
        .await
        .map_err(ApiError::internal)?;
    let uploaded = Uploaded {
        id: attachment.as_uuid(),
        content_type: spooled.content_type(),
        size_bytes: spooled.size(),
    };
    let mut tx = state.db.tenant(tenant).await?;
    let recorded = sqlx::query(
        "INSERT INTO routing.case_attachments \
           (id, tenant_id, case_id, uploaded_by, blob_key, content_type, size_bytes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uploaded.id)
    .bind(tenant.as_uuid())
    .bind(id.as_uuid())
    .bind(user.as_uuid())
    .bind(key.as_str())
    .bind(uploaded.content_type)
    .bind(uploaded.size_bytes as i64)
    .execute(&mut *tx)
    .await;
    match recorded {
        Ok(_) => tx.commit().await?,
        Err(err) => {
            // Nothing refers to the file: take it away again.
            let _ = blobs.delete(&key).await;
            return Err(err.into());
        }
    }
    Ok(uploaded)
}

/// Refuses a resolution naming a photo that `user` did not upload to `case`.
pub(super) async fn check_photos(
    tx: &mut TenantTx,
    case: CaseId,
    user: UserId,
    photos: &[Uuid],
) -> Result<(), ApiError> {
    if photos.is_empty() {
        return Ok(());
    }
    let (found,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM routing.case_attachments \
         WHERE tenant_id = $1 AND case_id = $2 AND uploaded_by = $3 AND id = ANY($4)",
    )
    .bind(tx.tenant().as_uuid())
    .bind(case.as_uuid())
    .bind(user.as_uuid())
    .bind(photos)
    .fetch_one(&mut **tx)
    .await?;
    if found as usize == photos.len() {
        Ok(())
    } else {
        Err(ApiError::field(
            "photos",
            "只能附上您为这个案件上传的照片 (only photos you uploaded to this case)",
        ))
    }
}

/// The stored key and type of a staff photo of `case`, for viewing.
pub(super) async fn find(
    tx: &mut TenantTx,
    case: CaseId,
    attachment: &str,
) -> Result<Option<(String, String)>, ApiError> {
    let Ok(attachment) = attachment.parse::<Uuid>() else {
        return Ok(None);
    };
    Ok(sqlx::query_as(
        "SELECT blob_key, content_type FROM routing.case_attachments \
         WHERE tenant_id = $1 AND case_id = $2 AND id = $3",
    )
    .bind(tx.tenant().as_uuid())
    .bind(case.as_uuid())
    .bind(attachment)
    .fetch_optional(&mut **tx)
    .await?)
}
