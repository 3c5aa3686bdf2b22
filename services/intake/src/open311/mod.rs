//! Open311 GeoReport v2 at `/open311/v2` (<http://wiki.open311.org/GeoReport_v2>):
//! outside systems (the 12345 hotline, a county platform) list a township's services,
//! file requests with the key a township administrator issued them, find a request by
//! its token, read requests back and follow their updates (FixMyStreet's
//! `servicerequestupdates`). Every path answers JSON or XML by its extension. Reading
//! requests needs a key too: they hold citizens' words (decision 0031). See
//! `docs/open311.md` for the mapping of fields and statuses.

mod answer;
mod file;
mod read;
mod services;
mod township;
mod updates;

use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Form, Path, Query, State};
use axum::response::Response;
use axum::routing::get;

use self::answer::{Format, Refusal, respond};
pub(crate) use self::file::{ApiFiling, record};
use self::read::ReadQuery;
use crate::IntakeState;

/// The Open311 routes.
pub(crate) fn routes() -> Router<IntakeState> {
    Router::new()
        .route(
            "/open311/v2/{file}",
            get(read_top)
                .post(file_request)
                .layer(DefaultBodyLimit::max(file::MAX_FORM_BYTES)),
        )
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(request_by_id))
        .route("/open311/v2/tokens/{file}", get(token))
}

/// The 404 of a path without `.json` or `.xml`, in the format it seems to ask for.
fn unnamed(file: &str) -> Response {
    Refusal::not_found("请用 .json 或 .xml (use .json or .xml)").render(Format::guess(file))
}

fn query(q: Result<Query<ReadQuery>, QueryRejection>) -> Result<ReadQuery, Refusal> {
    q.map(|Query(q)| q)
        .map_err(|e| Refusal::bad(format!("参数有误 (bad query): {}", e.body_text())))
}

/// `GET discovery`, `services`, `requests`, `servicerequestupdates`.
async fn read_top(
    State(state): State<IntakeState>,
    Path(file): Path<String>,
    q: Result<Query<ReadQuery>, QueryRejection>,
) -> Response {
    let Some((stem, format)) = Format::split(&file) else {
        return unnamed(&file);
    };
    let outcome = async {
        if stem == "discovery" {
            return Ok(services::discovery(format, &state.config.public_url));
        }
        let q = query(q)?;
        let township = township::find(&state.db, q.jurisdiction_id.as_deref()).await?;
        match stem {
            "services" => services::services(&state.db, format, &township).await,
            "requests" => {
                township::integration(&state.db, &township, q.api_key.as_deref()).await?;
                read::search(&state, format, &township, &q).await
            }
            "servicerequestupdates" => {
                township::integration(&state.db, &township, q.api_key.as_deref()).await?;
                updates::updates(&state, format, &township, &q).await
            }
            _ => Err(Refusal::not_found("没有这个接口 (no such endpoint)")),
        }
    };
    respond(format, outcome.await)
}

/// `POST requests`.
async fn file_request(
    State(state): State<IntakeState>,
    Path(file): Path<String>,
    form: Result<Form<file::NewRequest>, FormRejection>,
) -> Response {
    let Some((stem, format)) = Format::split(&file) else {
        return unnamed(&file);
    };
    let outcome = async {
        if stem != "requests" {
            return Err(Refusal::not_found("没有这个接口 (no such endpoint)"));
        }
        let Form(form) = form.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                return Refusal::too_large(format!(
                    "表单过大 (the form is over {} KiB)",
                    file::MAX_FORM_BYTES / 1024
                ));
            }
            Refusal::bad(format!(
                "请以 application/x-www-form-urlencoded 提交 (send a form, application/x-www-form-urlencoded): {}",
                e.body_text()
            ))
        })?;
        file::file(&state, format, form).await
    };
    respond(format, outcome.await)
}

/// `GET services/{code}`.
async fn service_definition(
    State(state): State<IntakeState>,
    Path(file): Path<String>,
    q: Result<Query<ReadQuery>, QueryRejection>,
) -> Response {
    let Some((code, format)) = Format::split(&file) else {
        return unnamed(&file);
    };
    let outcome = async {
        let q = query(q)?;
        let township = township::find(&state.db, q.jurisdiction_id.as_deref()).await?;
        services::definition(&state.db, format, &township, code).await
    };
    respond(format, outcome.await)
}

/// `GET requests/{id}`.
async fn request_by_id(
    State(state): State<IntakeState>,
    Path(file): Path<String>,
    q: Result<Query<ReadQuery>, QueryRejection>,
) -> Response {
    let Some((id, format)) = Format::split(&file) else {
        return unnamed(&file);
    };
    let outcome = async {
        let q = query(q)?;
        let township = township::find(&state.db, q.jurisdiction_id.as_deref()).await?;
        township::integration(&state.db, &township, q.api_key.as_deref()).await?;
        read::by_id(&state, format, &township, id).await
    };
    respond(format, outcome.await)
}

/// `GET tokens/{token}`.
async fn token(
    State(state): State<IntakeState>,
    Path(file): Path<String>,
    q: Result<Query<ReadQuery>, QueryRejection>,
) -> Response {
    let Some((token, format)) = Format::split(&file) else {
        return unnamed(&file);
    };
    let outcome = async {
        let q = query(q)?;
        let township = township::find(&state.db, q.jurisdiction_id.as_deref()).await?;
        township::integration(&state.db, &township, q.api_key.as_deref()).await?;
        read::token(&state, format, &township, token).await
    };
    respond(format, outcome.await)
}
