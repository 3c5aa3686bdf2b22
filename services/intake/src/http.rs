//! Intake's HTTP surface.

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use mashang_auth::MaybeAuth;
use mashang_domain::report::Channel;
use mashang_http::{ApiError, ApiJson};
use mashang_web::Lang;
use serde::Deserialize;

use crate::DEFAULT_MAX_MEDIA_BYTES;
use crate::form::{MAX_REPORT_JSON, RawReport, TypedFields, read_multipart};
use crate::pages::{
    ClosedCode, Landing, StatusContext, StatusMissing, StatusPage, UnknownCode, render,
};
use crate::qr::{Closed, Lookup, QrContext, count_scan, lookup, resolve};
use crate::submit::{Origin, Submitted, submit};
use crate::{IntakeState, MAX_PHOTOS, status};
use mashang_http::openapi::{
    FormBodyErrors, GoneError, Html, JsonBodyErrors, NotFoundError, RateLimited, StaffErrors,
    Unavailable,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest rating body, in bytes: a comment of 500 characters, each escaped.
const RATING_BODY_LIMIT: usize = 8 * 1024;

/// Intake's routes, each registered with its OpenAPI description, with the default
/// limits (the document does not depend on them).
pub fn routes() -> OpenApiRouter<IntakeState> {
    let limiters = crate::limits::Limiters::new(crate::LimitConfig::default());
    routes_with(DEFAULT_MAX_MEDIA_BYTES, DEFAULT_MAX_MEDIA_BYTES, limiters)
}

/// Intake's router.
pub fn router(state: IntakeState) -> Router {
    let config = &state.config;
    routes_with(
        config.max_photo_bytes,
        config.max_voice_bytes,
        state.limits.clone(),
    )
    .split_for_parts()
    .0
    .with_state(state)
}

/// Intake's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// Intake's routes with body limits for these media sizes and the abuse limits
/// `limiters`.
fn routes_with(
    max_photo_bytes: u64,
    max_voice_bytes: u64,
    limiters: std::sync::Arc<crate::limits::Limiters>,
) -> OpenApiRouter<IntakeState> {
    let body_limit = usize::try_from(max_photo_bytes)
        .unwrap_or(usize::MAX)
        .saturating_mul(MAX_PHOTOS + crate::MAX_VOICE)
        .saturating_add(1024 * 1024);
    let upload_limit = usize::try_from(max_photo_bytes.max(max_voice_bytes))
        .unwrap_or(usize::MAX)
        .saturating_add(64 * 1024);
    let limited = |router: OpenApiRouter<IntakeState>, limit: usize| {
        router.layer(DefaultBodyLimit::max(limit))
    };
    OpenApiRouter::new()
        .routes(routes!(qr_context))
        .merge(limited(
            OpenApiRouter::new().routes(routes!(landing, landing_submit)),
            body_limit,
        ))
        .merge(limited(
            OpenApiRouter::new().routes(routes!(create_report)),
            body_limit,
        ))
        .routes(routes!(report_status))
        .merge(limited(
            OpenApiRouter::new().routes(routes!(crate::upload::upload)),
            upload_limit,
        ))
        .merge(limited(
            OpenApiRouter::new().routes(routes!(crate::rating::rate)),
            RATING_BODY_LIMIT,
        ))
        .merge(crate::assisted::routes(body_limit))
        .merge(crate::open311::routes())
        .layer(axum::middleware::from_fn_with_state(
            limiters,
            crate::limits::by_address,
        ))
        .merge(crate::assets::ASSETS.router())
}

#[utoipa::path(get, path = "/api/v1/qr/{token}", tag = "intake", operation_id = "get_api_v1_qr_token",
    summary = "扫码信息 (What a QR code names: the township, the grid and the categories)",
    params(("token" = String, Path, max_length = 100, description = "The QR code token")),
    security(()),
    responses(
        (status = 200, description = "二维码信息 (The code context)", body = Object),
        NotFoundError,
        GoneError,
        RateLimited,
        Unavailable,
    ))]
async fn qr_context(
    State(state): State<IntakeState>,
    Path(token): Path<String>,
) -> Result<ApiJson<QrContext>, ApiError> {
    Ok(ApiJson(resolve(&state.db, &token).await?))
}

/// `?lang=en` (or `zh`) on the citizen's pages.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PageQuery {
    lang: Option<String>,
}

#[utoipa::path(get, path = "/q/{token}", tag = "pages", operation_id = "get_q_token",
    summary = "扫码页面 (The citizen page a QR code opens)",
    params(("token" = String, Path, max_length = 100, description = "The QR code token"), PageQuery),
    security(()),
    responses(
        (status = 200, description = "填写页面 (The report form)", content_type = "text/html", body = Html),
        (status = 404, description = "未知二维码 (An unknown code)", content_type = "text/html", body = Html),
        (status = 410, description = "二维码已停用 (A replaced or closed code)", content_type = "text/html", body = Html),
        RateLimited,
        Unavailable,
    ))]
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
#[utoipa::path(post, path = "/q/{token}", tag = "pages", operation_id = "post_q_token",
    summary = "提交诉求 (The citizen form without JavaScript: text, photos, voice)",
    params(("token" = String, Path, max_length = 100, description = "The QR code token"), PageQuery),
    request_body(content = Object, content_type = "multipart/form-data", description = "`category`, `description`, `contact_name`, `contact_phone`, `lat`, `lng`, `photo` (up to 9), `voice` (1)"),
    security(()),
    responses(
        (status = 200, description = "有误时重新显示 (The form again with what is wrong)", content_type = "text/html", body = Html),
        (status = 303, description = "已提交，转到状态页 (Submitted: to the status page)"),
        (status = 404, description = "未知二维码 (An unknown code)", content_type = "text/html", body = Html),
        (status = 410, description = "二维码已停用 (A replaced or closed code)", content_type = "text/html", body = Html),
        (status = 429, description = "提交太频繁，请稍候 (Too many submissions: a page asking to wait a minute)", content(
            (Html = "text/html"),
            (mashang_http::openapi::ProblemSchema = "application/problem+json"),
        )),
        FormBodyErrors,
        Unavailable,
    ))]
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
#[utoipa::path(post, path = "/api/v1/reports", tag = "intake", operation_id = "post_api_v1_reports",
    summary = "提交诉求 (Submits a report: JSON with attachments uploaded ahead, or multipart with the files)",
    request_body(content((RawReport = "application/json"), (Object = "multipart/form-data")), description = "诉求 (The report); multipart carries the same fields with `photo` and `voice` parts"),
    security((), ("session" = []), ("bearer" = [])),
    responses(
        (status = 201, description = "已受理 (Received: the tracking number and the status link)", body = Submitted),
        StaffErrors,
        NotFoundError,
        GoneError,
        JsonBodyErrors,
        RateLimited,
        Unavailable,
    ))]
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
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
#[utoipa::path(get, path = "/r/{tracking_number}", tag = "intake", operation_id = "get_r_tracking_number",
    summary = "办理进度 (The citizen status page, or JSON with `Accept: application/json`)",
    params(("tracking_number" = String, Path, max_length = 100, description = "The tracking number (`CT-20261126-0042`)"), StatusQuery),
    security(()),
    responses(
        (status = 200, description = "办理进度 (The status)", content((Html = "text/html"), (Object = "application/json"))),
        (status = 404, description = "未找到 (No such report, or the proof does not match)", content((Html = "text/html"), (mashang_http::openapi::ProblemSchema = "application/problem+json"))),
        RateLimited,
        Unavailable,
    ))]
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
