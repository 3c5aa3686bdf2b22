//! Intake's HTTP surface.

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use mashang_domain::report::Channel;
use mashang_http::{ApiError, ApiJson};
use serde::Deserialize;

use crate::form::{RawReport, TypedFields, read_multipart};
use crate::pages::{ClosedCode, Landing, StatusPage, UnknownCode, render};
use crate::qr::{Closed, Lookup, QrContext, count_scan, lookup, resolve};
use crate::submit::{Submitted, submit};
use crate::{IntakeState, MAX_PHOTOS, status};

/// Intake's routes.
pub fn router(state: IntakeState) -> Router {
    let body_limit = usize::try_from(state.config.max_photo_bytes)
        .unwrap_or(usize::MAX)
        .saturating_mul(MAX_PHOTOS)
        .saturating_add(1024 * 1024);
    Router::new()
        .route("/api/v1/qr/{token}", get(qr_context))
        .route(
            "/q/{token}",
            get(landing)
                .post(landing_submit)
                .layer(DefaultBodyLimit::max(body_limit)),
        )
        .route(
            "/api/v1/reports",
            axum::routing::post(create_report).layer(DefaultBodyLimit::max(body_limit)),
        )
        .route("/r/{tracking_number}", get(report_status))
        .with_state(state)
}

async fn qr_context(
    State(state): State<IntakeState>,
    Path(token): Path<String>,
) -> Result<ApiJson<QrContext>, ApiError> {
    Ok(ApiJson(resolve(&state.db, &token).await?))
}

async fn landing(State(state): State<IntakeState>, Path(token): Path<String>) -> Response {
    match lookup(&state.db, &token).await {
        Ok(Lookup::Open(ctx)) => {
            if let Err(err) = count_scan(&state.db, &ctx).await {
                // A lost count must not cost the citizen the form.
                tracing::warn!(error = %err, "could not count a QR scan");
            }
            render(
                StatusCode::OK,
                &Landing {
                    ctx: &ctx,
                    token: &token,
                    typed: TypedFields::default(),
                    errors: Vec::new(),
                },
            )
        }
        Ok(Lookup::Closed(closed)) => closed_page(&closed),
        Err(ApiError::NotFound) => render(StatusCode::NOT_FOUND, &UnknownCode),
        Err(err) => err.into_response(),
    }
}

fn closed_page(closed: &Closed) -> Response {
    let (replaced, township, contact, status) = match closed {
        Closed::Replaced { township, contact } => (true, township, contact, StatusCode::GONE),
        Closed::Suspended { township, contact } => {
            (false, township, contact, StatusCode::FORBIDDEN)
        }
    };
    render(
        status,
        &ClosedCode {
            replaced,
            township,
            contact: contact.as_deref(),
        },
    )
}

/// The form post of the landing page (works without JavaScript): on success, to the
/// status page; on a refusal, the form again with what was typed and what is wrong.
async fn landing_submit(
    State(state): State<IntakeState>,
    Path(token): Path<String>,
    multipart: Multipart,
) -> Response {
    let ctx = match lookup(&state.db, &token).await {
        Ok(Lookup::Open(ctx)) => ctx,
        Ok(Lookup::Closed(closed)) => return closed_page(&closed),
        Err(ApiError::NotFound) => return render(StatusCode::NOT_FOUND, &UnknownCode),
        Err(err) => return err.into_response(),
    };
    let form = match read_multipart(multipart, &state.config).await {
        Ok(form) => form,
        Err(err) => return again(&ctx, &token, TypedFields::default(), err),
    };
    let typed = form.typed.clone();
    let mut raw = form.raw;
    raw.qr_token = Some(token.clone());
    let outcome = match form.errors.is_empty() {
        true => match raw.validate(form.photos) {
            Ok(valid) => submit(&state, &ctx, valid, Channel::Qr).await,
            Err(err) => Err(err),
        },
        false => Err(ApiError::Validation(form.errors)),
    };
    match outcome {
        Ok(done) => Redirect::to(&done.status_url).into_response(),
        Err(err) => again(&ctx, &token, typed, err),
    }
}

fn again(ctx: &QrContext, token: &str, typed: TypedFields, err: ApiError) -> Response {
    let status = err.status();
    let errors = match err {
        ApiError::Validation(errors) => errors,
        ApiError::Internal(_) | ApiError::Unavailable(_) => {
            // Logged by the conversion below; the citizen gets plain words.
            let _ = err.into_response();
            vec![mashang_http::FieldError::new(
                "form",
                "提交没有成功，请稍后再试一次 (the report could not be sent; please try again)",
            )]
        }
        other => vec![mashang_http::FieldError::new("form", other.to_string())],
    };
    render(
        status,
        &Landing {
            ctx,
            token,
            typed,
            errors,
        },
    )
}

/// `POST /api/v1/reports`: JSON, or multipart with photos.
async fn create_report(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    request: Request,
) -> Result<(StatusCode, ApiJson<Submitted>), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (raw, photos) = if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let form = read_multipart(multipart, &state.config).await?;
        if !form.errors.is_empty() {
            return Err(ApiError::Validation(form.errors));
        }
        (form.raw, form.photos)
    } else if content_type.starts_with("application/json") {
        let ApiJson(raw) = ApiJson::<RawReport>::from_request(request, &()).await?;
        (raw, Vec::new())
    } else {
        return Err(ApiError::UnsupportedMediaType(
            "send application/json or multipart/form-data".to_owned(),
        ));
    };
    let valid = raw.validate(photos)?;
    let ctx = resolve(&state.db, &valid.qr_token).await?;
    let done = submit(&state, &ctx, valid, Channel::Qr).await?;
    Ok((StatusCode::CREATED, ApiJson(done)))
}

#[derive(Debug, Deserialize)]
struct StatusQuery {
    s: Option<String>,
}

/// `GET /r/{tracking_number}?s=…`: the status page, or JSON for `Accept: application/json`.
async fn report_status(
    State(state): State<IntakeState>,
    Path(tracking_number): Path<String>,
    Query(q): Query<StatusQuery>,
    headers: HeaderMap,
) -> Response {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let secret = q.s.unwrap_or_default();
    let loaded = status::load(&state.db, &tracking_number, &secret).await;
    match (loaded, wants_json) {
        (Ok(status), true) => ApiJson(status).into_response(),
        (Ok(status), false) => {
            let zone = chrono_tz::Asia::Shanghai;
            let steps = status
                .steps
                .iter()
                .map(|s| {
                    (
                        format!("{} / {}", s.label, s.label_en),
                        s.at.with_timezone(&zone)
                            .format("%Y-%m-%d %H:%M")
                            .to_string(),
                    )
                })
                .collect();
            render(
                StatusCode::OK,
                &StatusPage {
                    status: &status,
                    steps,
                },
            )
        }
        (Err(err), _) => err.into_response(),
    }
}
