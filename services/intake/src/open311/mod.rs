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

use std::collections::BTreeMap;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Form, Path, Query, State};
use axum::response::Response;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::response::{Response as DocResponse, ResponseBuilder};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{IntoResponses, PartialSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::answer::{ErrorItem, Format, Refusal, respond};
pub(crate) use self::file::{ApiFiling, record};
use self::file::{Filed, NewRequest};
use self::read::{ReadQuery, ServiceRequest, TokenAnswer};
use self::services::{Discovery, Service, ServiceDefinition};
use self::updates::RequestUpdate;
use crate::IntakeState;

/// The Open311 routes: each endpoint in each format on a path of its own (so that the
/// API document names them), the paths that carry a code, an id or a token, and any
/// other file under `/open311/v2/` answered with the specification's 404.
pub(crate) fn routes() -> OpenApiRouter<IntakeState> {
    let form_limit = DefaultBodyLimit::max(file::MAX_FORM_BYTES);
    OpenApiRouter::new()
        .routes(routes!(discovery_json))
        .routes(routes!(discovery_xml))
        .routes(routes!(services_json))
        .routes(routes!(services_xml))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(requests_json, file_json))
                .routes(routes!(requests_xml, file_xml))
                .routes(routes!(any_file_get, any_file_post))
                .layer(form_limit),
        )
        .routes(routes!(updates_json))
        .routes(routes!(updates_xml))
        .routes(routes!(service_definition))
        .routes(routes!(request_by_id))
        .routes(routes!(token))
}

/// The specification's error list, in JSON or XML, with its status: what every Open311
/// path can refuse with (a 429 from the address limit, which comes before the path is
/// reached, is a problem+json).
pub(crate) struct Open311Errors;

impl IntoResponses for Open311Errors {
    fn responses() -> BTreeMap<String, RefOr<DocResponse>> {
        let list = || {
            ContentBuilder::new()
                .schema(Some(ArrayBuilder::new().items(ErrorItem::schema())))
                .build()
        };
        let xml = || {
            ContentBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build()
        };
        [
            (400, "参数有误 (A parameter is missing or wrong)"),
            (
                403,
                "没有或不是有效的密钥 (No key, or not a live key of this township)",
            ),
            (
                404,
                "没有找到 (No such service, request, token, township or endpoint)",
            ),
            (413, "表单过大 (The form is over its size limit)"),
            (429, "请求太多 (Too many requests; see Retry-After)"),
            (
                503,
                "暂时无法处理 (Unavailable for a moment; see Retry-After)",
            ),
        ]
        .into_iter()
        .map(|(status, description): (u16, &str)| {
            let mut response = ResponseBuilder::new()
                .description(description)
                .content("application/json", list())
                .content("text/xml", xml());
            if status == 429 {
                response = response.content(
                    mashang_http::openapi::PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                );
            }
            (status.to_string(), RefOr::T(response.build()))
        })
        .collect()
    }
}

#[utoipa::path(get, path = "/open311/v2/discovery.json", tag = "open311", operation_id = "open311_discovery_json",
    summary = "服务发现 (Open311 discovery: the endpoints and formats)",
    security(()),
    responses(
        (status = 200, description = "成功 (OK)", content_type = "application/json", body = Discovery),
        Open311Errors,
    ))]
async fn discovery_json(state: State<IntakeState>) -> Response {
    top_get(
        state,
        "discovery",
        Format::Json,
        Ok(Query(ReadQuery::default())),
    )
    .await
}

#[utoipa::path(get, path = "/open311/v2/services.json", tag = "open311", operation_id = "open311_services_json",
    summary = "服务类别 (Open311 services: the township's categories)",
    params(ReadQuery),
    security(()),
    responses(
        (status = 200, description = "成功 (OK)", content_type = "application/json", body = Vec<Service>),
        Open311Errors,
    ))]
async fn services_json(
    state: State<IntakeState>,
    q: Result<Query<ReadQuery>, QueryRejection>,
) -> Response {
    top_get(state, "services", Format::Json, q).await
}

#[utoipa::path(get, path = "/open311/v2/requests.json", tag = "open311", operation_id = "open311_get_requests_json",
    summary = "查询诉求 (Open311 requests: by id, category, period and status; the last 90 days by default, at most 1000)",
    params(ReadQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "成功 (OK)", content_type = "application/json", body = Vec<ServiceRequest>),
        Open311Errors,
    ))]
async fn requests_json(
    state: State<IntakeState>,
    q: Result<Query<ReadQuery>, QueryRejection>,
) -> Response {
    top_get(state, "requests", Format::Json, q).await
}

#[utoipa::path(post, path = "/open311/v2/requests.json", tag = "open311", operation_id = "open311_post_requests_json",
    summary = "提交诉求 (Open311: file a request, a form with the integration's api_key)",
    security(("api_key" = [])),
    request_body(content = NewRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "成功 (OK)", content_type = "application/json", body = Vec<Filed>),
        Open311Errors,
    ))]
async fn file_json(
    state: State<IntakeState>,
    form: Result<Form<NewRequest>, FormRejection>,
) -> Response {
    post_requests(state, Format::Json, form).await
}

#[utoipa::path(get, path = "/open311/v2/servicerequestupdates.json", tag = "open311", operation_id = "open311_updates_json",
    summary = "诉求进展 (Open311 request updates since a time, as FixMyStreet's extension lists them)",
    params(ReadQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "成功 (OK)", content_type = "application/json", body = Vec<RequestUpdate>),
        Open311Errors,
    ))]
async fn updates_json(
    state: State<IntakeState>,
    q: Result<Query<ReadQuery>, QueryRejection>,
) -> Response {
    top_get(state, "servicerequestupdates", Format::Json, q).await
}

#[utoipa::path(get, path = "/open311/v2/discovery.xml", tag = "open311", operation_id = "open311_discovery_xml",
    summary = "服务发现 (Open311 discovery: the endpoints and formats)",
    security(()),
    responses(
        (status = 200, description = "成功 (OK)", content_type = "text/xml", body = String),
        Open311Errors,
    ))]
async fn discovery_xml(state: State<IntakeState>) -> Response {
    top_get(
        state,
        "discovery",
        Format::Xml,
        Ok(Query(ReadQuery::default())),
    )
    .await
}

#[utoipa::path(get, path = "/open311/v2/services.xml", tag = "open311", operation_id = "open311_services_xml",
    summary = "服务类别 (Open311 services: the township's categories)",
    params(ReadQuery),
    security(()),
    responses(
        (status = 200, description = "成功 (OK)", content_type = "text/xml", body = String),
        Open311Errors,
    ))]
async fn services_xml(
    state: State<IntakeState>,
    q: Result<Query<ReadQuery>, QueryRejection>,
) -> Response {
    top_get(state, "services", Format::Xml, q).await
}

#[utoipa::path(get, path = "/open311/v2/requests.xml", tag = "open311", operation_id = "open311_get_requests_xml",
    summary = "查询诉求 (Open311 requests: by id, category, period and status; the last 90 days by default, at most 1000)",
    params(ReadQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "成功 (OK)", content_type = "text/xml", body = String),
        Open311Errors,
    ))]
async fn requests_xml(
    state: State<IntakeState>,
    q: Result<Query<ReadQuery>, QueryRejection>,
) -> Response {
    top_get(state, "requests", Format::Xml, q).await
}

#[utoipa::path(post, path = "/open311/v2/requests.xml", tag = "open311", operation_id = "open311_post_requests_xml",
    summary = "提交诉求 (Open311: file a request, a form with the integration's api_key)",
    security(("api_key" = [])),
    request_body(content = NewRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "成功 (OK)", content_type = "text/xml", body = String),
        Open311Errors,
    ))]
async fn file_xml(
    state: State<IntakeState>,
    form: Result<Form<NewRequest>, FormRejection>,
) -> Response {
    post_requests(state, Format::Xml, form).await
}

#[utoipa::path(get, path = "/open311/v2/servicerequestupdates.xml", tag = "open311", operation_id = "open311_updates_xml",
    summary = "诉求进展 (Open311 request updates since a time, as FixMyStreet's extension lists them)",
    params(ReadQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "成功 (OK)", content_type = "text/xml", body = String),
        Open311Errors,
    ))]
async fn updates_xml(
    state: State<IntakeState>,
    q: Result<Query<ReadQuery>, QueryRejection>,
) -> Response {
    top_get(state, "servicerequestupdates", Format::Xml, q).await
}

/// The 404 of a path without `.json` or `.xml`, in the format it seems to ask for.
fn unnamed(file: &str) -> Response {
    Refusal::not_found("请用 .json 或 .xml (use .json or .xml)").render(Format::guess(file))
}

fn query(q: Result<Query<ReadQuery>, QueryRejection>) -> Result<ReadQuery, Refusal> {
    q.map(|Query(q)| q)
        .map_err(|e| Refusal::bad(format!("参数有误 (bad query): {}", e.body_text())))
}

/// `GET discovery`, `services`, `requests`, `servicerequestupdates` in `format`.
async fn top_get(
    State(state): State<IntakeState>,
    stem: &str,
    format: Format,
    q: Result<Query<ReadQuery>, QueryRejection>,
) -> Response {
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

/// `POST requests` in `format`.
async fn post_requests(
    State(state): State<IntakeState>,
    format: Format,
    form: Result<Form<NewRequest>, FormRejection>,
) -> Response {
    let outcome = async {
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

/// Any other file under `/open311/v2/`: a path without `.json` or `.xml`, or an
/// endpoint the specification does not have.
#[utoipa::path(get, path = "/open311/v2/{file}", tag = "open311", operation_id = "open311_get_other",
    summary = "其他路径 (Open311: any other path answers the specification's 404)",
    params(("file" = String, Path, max_length = 200, description = "Anything but the endpoints above")),
    security(()),
    responses(Open311Errors))]
async fn any_file_get(Path(file): Path<String>) -> Response {
    not_an_endpoint(&file)
}

/// A POST to any other file under `/open311/v2/`.
#[utoipa::path(post, path = "/open311/v2/{file}", tag = "open311", operation_id = "open311_post_other",
    summary = "其他路径 (Open311: a POST to any other path answers the specification's 404)",
    params(("file" = String, Path, max_length = 200, description = "Anything but `requests.json` or `requests.xml`")),
    security(()),
    responses(Open311Errors))]
async fn any_file_post(Path(file): Path<String>) -> Response {
    not_an_endpoint(&file)
}

fn not_an_endpoint(file: &str) -> Response {
    match Format::split(file) {
        None => unnamed(file),
        Some((_, format)) => Refusal::not_found("没有这个接口 (no such endpoint)").render(format),
    }
}

/// `GET services/{code}`.
#[utoipa::path(get, path = "/open311/v2/services/{file}", tag = "open311", operation_id = "open311_service_definition",
    summary = "服务定义 (Open311 service definition: the attributes a request of the category may carry)",
    params(
        ("file" = String, Path, max_length = 200, description = "`{service_code}.json` or `{service_code}.xml`", example = "roads.json"),
        ReadQuery,
    ),
    security(()),
    responses(
        (status = 200, description = "成功 (OK)", content(
            (ServiceDefinition = "application/json"),
            (String = "text/xml"),
        )),
        Open311Errors,
    ))]
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
#[utoipa::path(get, path = "/open311/v2/requests/{file}", tag = "open311", operation_id = "open311_request_by_id",
    summary = "单个诉求 (Open311: one request by its id, as a one-element list)",
    params(
        ("file" = String, Path, max_length = 200, description = "`{service_request_id}.json` or `.xml`", example = "CT-20261204-0001.json"),
        ReadQuery,
    ),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "成功 (OK)", content(
            (Vec<ServiceRequest> = "application/json"),
            (String = "text/xml"),
        )),
        Open311Errors,
    ))]
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
#[utoipa::path(get, path = "/open311/v2/tokens/{file}", tag = "open311", operation_id = "open311_token",
    summary = "凭令牌查找 (Open311: the request a token from filing leads to)",
    params(
        ("file" = String, Path, max_length = 200, description = "`{token}.json` or `{token}.xml`"),
        ReadQuery,
    ),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "成功 (OK)", content(
            (Vec<TokenAnswer> = "application/json"),
            (String = "text/xml"),
        )),
        Open311Errors,
    ))]
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
