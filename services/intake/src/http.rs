//! Intake's HTTP surface.

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use mashang_auth::MaybeAuth;
use mashang_domain::report::Channel;
use mashang_http::{ApiError, ApiJson};
use mashang_web::Lang;
use serde::Deserialize;

use crate::form::{MAX_REPORT_JSON, RawReport, TypedFields, read_multipart};
use crate::pages::{
    ClosedCode, Landing, StatusContext, StatusMissing, StatusPage, UnknownCode, render,
};
use crate::qr::{Closed, Lookup, QrContext, count_scan, lookup, resolve};
use crate::submit::{Origin, Submitted, submit};
use crate::{IntakeState, MAX_PHOTOS, status};

/// Largest rating body, in bytes: a comment of 500 characters, each escaped.
const RATING_BODY_LIMIT: usize = 8 * 1024;

/// Intake's routes.
pub fn router(state: IntakeState) -> Router {
    let body_limit = usize::try_from(state.config.max_photo_bytes)
        .unwrap_or(usize::MAX)
        .saturating_mul(MAX_PHOTOS + crate::MAX_VOICE)
        .saturating_add(1024 * 1024);
    let upload_limit = usize::try_from(
        state
            .config
            .max_photo_bytes
            .max(state.config.max_voice_bytes),
    )
    .unwrap_or(usize::MAX)
    .saturating_add(64 * 1024);
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
        .route(
            "/api/v1/attachments",
            axum::routing::post(crate::upload::upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route(
            "/api/v1/reports/{tracking_number}/rating",
            axum::routing::post(crate::rating::rate)
                .layer(DefaultBodyLimit::max(RATING_BODY_LIMIT)),
        )
        .merge(crate::assisted::routes(body_limit))
        .merge(crate::open311::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.limits.clone(),
            crate::limits::by_address,
        ))
        .merge(crate::assets::ASSETS.router())
        .with_state(state)
}

async fn qr_context(
    State(state): State<IntakeState>,
    Path(token): Path<String>,
) -> Result<ApiJson<QrContext>, ApiError> {
    Ok(ApiJson(resolve(&state.db, &token).await?))
}

/// `?lang=en` (or `zh`) on the citizen's pages.
#[derive(Debug, Deserialize)]
struct PageQuery {
    lang: Option<String>,
}

async fn landing(
    State(state): State<IntakeState>,
    Path(token): Path<String>,
    Query(page): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::detect(page.lang.as_deref(), &headers);
    match lookup(&state.db, &token).await {
        Ok(Lookup::Open(ctx)) => {
            if let Err(err) = count_scan(&state.db, &ctx).await {
                // A lost count must not cost the citizen the form.
                tracing::warn!(error = %err, "could not count a QR scan");
            }
            render(
                StatusCode::OK,
                &Landing::new(lang, &ctx, &token, TypedFields::default(), Vec::new()),
            )
        }
        Ok(Lookup::Closed(closed)) => closed_page(&closed, lang),
        Err(ApiError::NotFound) => render(StatusCode::NOT_FOUND, &UnknownCode { lang }),
        Err(err) => err.into_response(),
    }
}

fn closed_page(closed: &Closed, lang: Lang) -> Response {
    let (replaced, township, contact, status) = match closed {
        Closed::Replaced { township, contact } => (true, township, contact, StatusCode::GONE),
        Closed::Suspended { township, contact } => {
            (false, township, contact, StatusCode::FORBIDDEN)
        }
    };
    render(
        status,
        &ClosedCode {
            lang,
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
    Query(page): Query<PageQuery>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let lang = Lang::detect(page.lang.as_deref(), &headers);
    let ctx = match lookup(&state.db, &token).await {
        Ok(Lookup::Open(ctx)) => ctx,
        Ok(Lookup::Closed(closed)) => return closed_page(&closed, lang),
        Err(ApiError::NotFound) => return render(StatusCode::NOT_FOUND, &UnknownCode { lang }),
        Err(err) => return err.into_response(),
    };
    let form = match read_multipart(multipart, &state.config).await {
        Ok(form) => form,
        Err(failure) => return again(&ctx, &token, failure.typed, failure.error, lang),
    };
    let typed = form.typed.clone();
    // The status page opens as the "submitted" page, promising a call if a phone was given.
    let call = if typed.contact_phone.trim().is_empty() {
        ""
    } else {
        "&call=1"
    };
    let mut raw = form.raw;
    raw.qr_token = Some(token.clone());
    let outcome = match form.errors.is_empty() {
        true => match raw.validate(form.files) {
            Ok(valid) => submit(&state, &ctx, valid, Origin::QR).await,
            Err(err) => Err(err),
        },
        false => Err(ApiError::Validation(form.errors)),
    };
    match outcome {
        Ok(done) => Redirect::to(&format!(
            "{}&new=1{call}{}",
            done.status_url,
            lang.amp_param()
        ))
        .into_response(),
        Err(err) => again(&ctx, &token, typed, err, lang),
    }
}

fn again(ctx: &QrContext, token: &str, typed: TypedFields, err: ApiError, lang: Lang) -> Response {
    let err = err.classify();
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
        ApiError::BadRequest(detail)
        | ApiError::Forbidden(detail)
        | ApiError::Gone(detail)
        | ApiError::Conflict(detail)
        | ApiError::PayloadTooLarge(detail)
        | ApiError::UnsupportedMediaType(detail) => {
            vec![mashang_http::FieldError::new("form", detail)]
        }
        other => vec![mashang_http::FieldError::new("form", other.title())],
    };
    render(status, &Landing::new(lang, ctx, token, typed, errors))
}

/// `POST /api/v1/reports`: JSON, or multipart with photos and a voice note; an
/// `Idempotency-Key` header makes a retry safe. `channel: "assisted"` is for a
/// signed-in worker filing on a villager's behalf.
async fn create_report(
    State(state): State<IntakeState>,
    MaybeAuth(principal): MaybeAuth,
    headers: HeaderMap,
    request: Request,
) -> Result<(StatusCode, ApiJson<Submitted>), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (raw, files) = if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let form = read_multipart(multipart, &state.config)
            .await
            .map_err(|failure| failure.error)?;
        if !form.errors.is_empty() {
            return Err(ApiError::Validation(form.errors));
        }
        (form.raw, form.files)
    } else if content_type.starts_with("application/json") {
        let ApiJson(raw) =
            ApiJson::<RawReport>::from_request(capped_json(request).await?, &()).await?;
        (raw, Vec::new())
    } else {
        return Err(ApiError::UnsupportedMediaType(
            "send application/json or multipart/form-data".to_owned(),
        ));
    };
    let assisted = raw.channel.as_deref() == Some("assisted");
    if raw
        .channel
        .as_deref()
        .is_some_and(|c| c != "assisted" && c != "qr")
    {
        return Err(ApiError::field("channel", "qr or assisted"));
    }
    let valid = raw.validate(files)?;
    let ctx = resolve(&state.db, &valid.qr_token).await?;
    let staff = if assisted {
        let principal = principal.ok_or(ApiError::Unauthorized)?;
        if principal.tenant() != Some(ctx.tenant.id) || principal.user().is_none() {
            return Err(ApiError::Forbidden(
                "代报须由本乡镇工作人员登录后提交 (assisted reports come from this township's signed-in staff)".into(),
            ));
        }
        principal.user()
    } else {
        None
    };
    let key = headers
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap_or(""));
    let origin = Origin {
        channel: if assisted {
            Channel::Assisted
        } else {
            Channel::Qr
        },
        staff,
        idempotency_key: key,
        api: None,
    };
    let done = submit(&state, &ctx, valid, origin).await?;
    Ok((StatusCode::CREATED, ApiJson(done)))
}

/// The request with its body read whole, refused past [`MAX_REPORT_JSON`]: the route's
/// limit is sized for multipart photos, a JSON report is a few kilobytes at most.
async fn capped_json(request: Request) -> Result<Request, ApiError> {
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "反映内容过长 (a JSON report is at most {} KiB)",
            MAX_REPORT_JSON / 1024
        ))
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_REPORT_JSON as u64) {
        return Err(too_large());
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_REPORT_JSON)
        .await
        .map_err(|_| too_large())?;
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

#[derive(Debug, Deserialize)]
struct StatusQuery {
    s: Option<String>,
    phone4: Option<String>,
    lang: Option<String>,
    /// `1` right after the submission: the page says what happens next.
    new: Option<String>,
    /// `1` when a phone number was given: the page promises the call.
    call: Option<String>,
}

/// `GET /r/{tracking_number}?s=…`: the status page, or JSON for `Accept: application/json`.
async fn report_status(
    State(state): State<IntakeState>,
    Path(tracking_number): Path<String>,
    Query(q): Query<StatusQuery>,
    client: crate::limits::ClientAddress,
    headers: HeaderMap,
) -> Response {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let lang = Lang::detect(q.lang.as_deref(), &headers);
    let address = client.key();
    let secret = q.s.clone().unwrap_or_default();
    let access = match &q.phone4 {
        Some(digits) if secret.is_empty() => status::Access::Phone4 {
            digits,
            address: &address,
        },
        _ => status::Access::Secret(&secret),
    };
    let loaded = status::load(&state.db, &tracking_number, access).await;
    match (loaded, wants_json) {
        (Ok(status), true) => ApiJson(status).into_response(),
        (Ok(status), false) => {
            let zone = chrono_tz::Asia::Shanghai;
            let proof = match (secret.is_empty(), &q.phone4) {
                (true, Some(digits)) => ("phone4", digits.as_str()),
                _ => ("s", secret.as_str()),
            };
            let context = StatusContext {
                lang,
                public_url: &state.config.public_url,
                proof,
                fresh: q.new.as_deref() == Some("1"),
                call_back: q.call.as_deref() == Some("1"),
            };
            render(StatusCode::OK, &StatusPage::new(&status, zone, context))
        }
        (Err(ApiError::NotFound), false) => render(StatusCode::NOT_FOUND, &StatusMissing { lang }),
        (Err(err), _) => err.into_response(),
    }
}
