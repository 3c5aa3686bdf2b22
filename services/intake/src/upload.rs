//! `POST /api/v1/attachments`: a photo or voice note uploaded ahead of its report
//! (multipart `qr_token` then `file`), so a weak connection sends one file at a time.

use std::pin::pin;

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use mashang_http::{ApiError, ApiJson};
use mashang_storage::{ContentKind, UploadError, UploadLimits};

use crate::IntakeState;
use crate::attachments::{self, Stored};
use crate::qr::resolve;
use mashang_http::openapi::{FormBodyErrors, RateLimited, Unavailable};

/// Handles an upload. The QR token must come before the file, so the file can be
/// refused early when the code is unknown.
#[utoipa::path(post, path = "/api/v1/attachments", tag = "intake", operation_id = "post_api_v1_attachments",
    summary = "先传附件 (Uploads a photo or voice note ahead of the report)",
    request_body(content = Object, content_type = "multipart/form-data", description = "一个 `file` (One part: a JPEG, PNG, WebP or HEIC photo, or a voice note)"),
    security(()),
    responses(
        (status = 201, description = "已存 (Stored: the id to name in `attachment_ids`)", body = Object),
        FormBodyErrors,
        RateLimited,
        Unavailable,
    ))]
pub async fn upload(
    State(state): State<IntakeState>,
    mut multipart: Multipart,
) -> Result<(StatusCode, ApiJson<Stored>), ApiError> {
    let mut ctx = None;
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge("文件过大 (the file is too large)".to_owned())
        } else {
            ApiError::BadRequest(format!(
                "the multipart body could not be read: {}",
                e.body_text()
            ))
        }
    };
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "qr_token" => {
                let mut token = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    token.extend_from_slice(&chunk);
                    if token.len() > 128 {
                        return Err(ApiError::NotFound);
                    }
                }
                let token = String::from_utf8(token).map_err(|_| ApiError::NotFound)?;
                ctx = Some(resolve(&state.db, token.trim()).await?);
            }
            "file" => {
                let Some(ctx) = ctx.as_ref() else {
                    return Err(ApiError::field(
                        "qr_token",
                        "须在文件之前提供 (must come before the file)",
                    ));
                };
                // The larger of the two limits while reading; the kind's own limit after.
                let limits = UploadLimits {
                    max_bytes: state
                        .config
                        .max_photo_bytes
                        .max(state.config.max_voice_bytes),
                    allowed: &[ContentKind::Photo, ContentKind::Audio],
                };
                let spooled = match &state.config.spool_dir {
                    Some(dir) => mashang_storage::spool_in(pin!(field), &limits, dir.clone()).await,
                    None => mashang_storage::spool(pin!(field), &limits).await,
                };
                let spooled = match spooled {
                    Ok(s) => s,
                    Err(UploadError::UnsupportedType) => {
                        return Err(ApiError::UnsupportedMediaType(
                            "只接受照片（JPEG、PNG、WebP、HEIC）或录音（WebM、Ogg、MP4、AAC）(photos or voice recordings only)".to_owned(),
                        ));
                    }
                    Err(err) => {
                        return Err(crate::form::upload_error(err, 1, limits.max_bytes, false));
                    }
                };
                let own_limit = match spooled.kind() {
                    ContentKind::Photo => state.config.max_photo_bytes,
                    ContentKind::Audio => state.config.max_voice_bytes,
                };
                if spooled.size() > own_limit {
                    return Err(ApiError::PayloadTooLarge(format!(
                        "文件超过{}MB (the file is over {} MB)",
                        own_limit / (1024 * 1024),
                        own_limit / (1024 * 1024)
                    )));
                }
                crate::limits::count_uploads(
                    &state.db,
                    &state.config.limits,
                    ctx,
                    1,
                    spooled.size(),
                )
                .await?;
                let stored = attachments::store(state.blobs.as_ref(), ctx, spooled).await?;
                let mut tx = state.db.tenant(ctx.tenant.id).await?;
                if let Err(err) = attachments::record(&mut tx, ctx, &stored, None).await {
                    attachments::remove_blobs(state.blobs.as_ref(), std::slice::from_ref(&stored))
                        .await;
                    return Err(err);
                }
                tx.commit().await?;
                return Ok((StatusCode::CREATED, ApiJson(stored)));
            }
            _ => while field.chunk().await.map_err(bad)?.is_some() {},
        }
    }
    Err(ApiError::field("file", "必填 (required)"))
}
