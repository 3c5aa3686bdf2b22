//! The OpenAPI 3.1 document's shared parts: the security schemes, the problem+json
//! schema and one response per [`ApiError`] kind (built from `ApiError` itself, so the
//! documented `type`, `title` and status cannot drift from what is sent), the sets of
//! error responses handlers name in their `#[utoipa::path]`, and the assembly of the
//! services' paths into one document. See `docs/api.md`.

use std::collections::BTreeMap;

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::info::InfoBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ComponentsBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, Schema};
use utoipa::{IntoResponses, PartialSchema, ToSchema};

use crate::problem::{ApiError, FieldError};

/// The staff session: the `mashang_session` cookie set by `POST /api/v1/auth/login`.
/// Changes made with it also need the CSRF token (`X-CSRF-Token` or the form's `_csrf`).
pub const SESSION: &str = "session";
/// A staff API token (`Authorization: Bearer mst_…`), issued by a township's administrator.
pub const BEARER: &str = "bearer";
/// The operator token (`Authorization: Bearer …`, `MASHANG_OPERATOR_TOKEN`).
pub const OPERATOR: &str = "operator";
/// An Open311 client's key (`api_key` in the query or form, GeoReport v2).
pub const API_KEY: &str = "api_key";

/// The problem+json media type of every error.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem, as every error is sent.
#[derive(Debug, ToSchema)]
#[schema(as = Problem)]
#[allow(dead_code)]
pub struct ProblemSchema {
    /// A stable URI naming the kind of problem: `urn:mashang:problem:{slug}`.
    #[schema(rename = "type", example = "urn:mashang:problem:validation")]
    kind: String,
    /// A short summary, Chinese first.
    #[schema(example = "填写的内容有误 (Invalid input)")]
    title: String,
    /// The HTTP status, repeated.
    #[schema(minimum = 400, maximum = 599, example = 422)]
    status: u16,
    /// What is wrong with this request, when there is more to say.
    detail: Option<String>,
    /// For `validation`: one entry per invalid field.
    #[schema(nullable = false)]
    errors: Option<Vec<FieldError>>,
}

impl utoipa::PartialSchema for FieldError {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .description(Some("One invalid input field."))
            .property(
                "field",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some(
                        "The field's name as the client sent it (`description`, `photo[2]`).",
                    )),
            )
            .required("field")
            .property(
                "message",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("What is wrong, in words a person can act on.")),
            )
            .required("message")
            .into()
    }
}

impl ToSchema for FieldError {}

/// A file's bytes (a download, an upload part): `body = Binary` with its media type.
#[derive(Debug)]
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl ToSchema for Binary {}

/// A page's HTML: `body = Html, content_type = "text/html"`.
#[derive(Debug)]
pub struct Html;

impl utoipa::PartialSchema for Html {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).into()
    }
}

impl ToSchema for Html {}

/// One sample of every client-visible error kind, in status order.
fn error_kinds() -> Vec<ApiError> {
    vec![
        ApiError::BadRequest("the body is not valid JSON".to_owned()),
        ApiError::Unauthorized,
        ApiError::Forbidden("this role may not do this".to_owned()),
        ApiError::NotFound,
        ApiError::Conflict("the case is no longer in this state".to_owned()),
        ApiError::Gone("this QR code was replaced".to_owned()),
        ApiError::PayloadTooLarge("the body is over its size limit".to_owned()),
        ApiError::UnsupportedMediaType("expected Content-Type: application/json".to_owned()),
        ApiError::field("description", "必填 (required)"),
        ApiError::TooManyRequests {
            retry_after: Some(60),
        },
        ApiError::Unavailable("database unavailable".to_owned()),
    ]
}

/// The component name of the response for errors with `status` (`Problem404`).
pub fn response_name(status: u16) -> String {
    format!("Problem{status}")
}

fn error_response(err: &ApiError) -> Response {
    let status = err.status().as_u16();
    let mut example = serde_json::json!({
        "type": format!("urn:mashang:problem:{}", err.slug()),
        "title": err.title(),
        "status": status,
    });
    if let ApiError::Validation(errors) = err {
        example["errors"] = serde_json::json!(
            errors
                .iter()
                .map(|e| serde_json::json!({"field": e.field, "message": e.message}))
                .collect::<Vec<_>>()
        );
    } else if !matches!(err, ApiError::Unauthorized | ApiError::NotFound) {
        example["detail"] = serde_json::json!(err.to_string());
    }
    let mut response = ResponseBuilder::new()
        .description(format!(
            "`urn:mashang:problem:{}`: {}",
            err.slug(),
            err.title()
        ))
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .examples_from_iter([(
                    err.slug(),
                    ExampleBuilder::new().value(Some(example)).build(),
                )])
                .build(),
        );
    let int = || {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(0))
    };
    match err {
        ApiError::TooManyRequests { .. } | ApiError::Unavailable(_) => {
            response = response.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(int()))
                    .description(Some("Seconds to wait before trying again."))
                    .build(),
            );
        }
        ApiError::Unauthorized => {
            response = response.header(
                "WWW-Authenticate",
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            );
        }
        _ => {}
    }
    response.build()
}

/// A set of documented error statuses, named in a handler's `responses(…)`.
macro_rules! error_set {
    ($(#[$doc:meta])* $name:ident = [$($status:literal),+]) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                [$($status),+]
                    .into_iter()
                    .map(|s: u16| {
                        (
                            s.to_string(),
                            RefOr::Ref(Ref::from_response_name(response_name(s))),
                        )
                    })
                    .collect()
            }
        }
    };
}

error_set!(
    /// 400, 413, 415, 422: what reading a JSON body can fail with.
    JsonBodyErrors = [400, 413, 415, 422]
);
error_set!(
    /// 400, 413, 415, 422: what reading a form or multipart body can fail with.
    FormBodyErrors = [400, 413, 415, 422]
);
error_set!(
    /// 400: a parameter or body that is readable but makes no sense (a reversed period).
    BadRequestError = [400]
);
error_set!(
    /// 422: a query parameter that cannot be read.
    QueryErrors = [422]
);
error_set!(
    /// 401, 403: what every staff endpoint can refuse with (no or a bad credential, a
    /// role that may not, a session change without its CSRF token).
    StaffErrors = [401, 403]
);
error_set!(
    /// 401: the operator token is missing or wrong.
    OperatorErrors = [401]
);
error_set!(
    /// 404: nothing there (also what another township's objects look like).
    NotFoundError = [404]
);
error_set!(
    /// 409: the request conflicts with the current state.
    ConflictError = [409]
);
error_set!(
    /// 410: it existed and is gone for good.
    GoneError = [410]
);
error_set!(
    /// 429: too many requests from this client.
    RateLimited = [429]
);
error_set!(
    /// 503: a dependency (database, object store) is down or too slow; retry later.
    Unavailable = [503]
);

/// The component name of a page's response with `status` (`Page404`).
pub fn page_response_name(status: u16) -> String {
    format!("Page{status}")
}

fn html() -> ContentBuilder {
    ContentBuilder::new().schema(Some(ObjectBuilder::new().schema_type(Type::String)))
}

/// A page's answer with `status`: a redirect, or an error page in HTML (or, when the
/// request is refused before the page is reached, a problem).
fn page_response(status: u16) -> Response {
    if status == 303 {
        return ResponseBuilder::new()
            .description(
                "转到另一页 (See other: after a form was accepted, to the sign-in page when \
                 not signed in, or to the page that fits the signed-in person)",
            )
            .header(
                "Location",
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            )
            .build();
    }
    let err = error_kinds()
        .into_iter()
        .find(|e| e.status().as_u16() == status)
        .expect("a page error status is one of the problem kinds");
    ResponseBuilder::new()
        .description(format!(
            "错误页面 (An error page: {}); a request refused before the page (CSRF, \
             body limits) is answered with the problem `urn:mashang:problem:{}`",
            err.title(),
            err.slug()
        ))
        .content("text/html", html().build())
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// Statuses a page can answer besides 200.
const PAGE_STATUSES: [u16; 11] = [303, 400, 401, 403, 404, 409, 413, 415, 422, 429, 503];

/// A set of documented page answers, named in a page handler's `responses(…)`.
macro_rules! page_set {
    ($(#[$doc:meta])* $name:ident = [$($status:literal),+]) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                [$($status),+]
                    .into_iter()
                    .map(|s: u16| {
                        (
                            s.to_string(),
                            RefOr::Ref(Ref::from_response_name(page_response_name(s))),
                        )
                    })
                    .collect()
            }
        }
    };
}

page_set!(
    /// What a staff page shown with GET can answer besides 200: 303 to the sign-in
    /// page or the right page, an error page (401 when a credential was sent and is
    /// not valid).
    PageErrors = [303, 400, 401, 403, 404, 422, 429, 503]
);
page_set!(
    /// What a page's form (POST) can answer: 303 to the next page when accepted, the
    /// form again with what is wrong, or an error page.
    FormErrors = [303, 400, 401, 403, 404, 409, 413, 415, 422, 429, 503]
);

/// The document every service's paths go into: the API's description, the security
/// schemes, the problem schema and the error responses.
pub fn base() -> OpenApi {
    let mut components = ComponentsBuilder::new()
        .schema("Problem", ProblemSchema::schema())
        .schema("FieldError", FieldError::schema())
        .security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "mashang_session",
                "员工登录会话 (The staff session cookie set by `POST /api/v1/auth/login` or the \
                 sign-in page; a change made with it also sends the CSRF token as \
                 `X-CSRF-Token` or the form field `_csrf`.)",
            ))),
        )
        .security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("mst_…")
                    .description(Some(
                        "员工 API 令牌 (A staff API token, `Authorization: Bearer mst_…`, \
                         issued by a township's administrator; it acts with the roles it \
                         was given.)",
                    ))
                    .build(),
            ),
        )
        .security_scheme(
            OPERATOR,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "运维令牌 (The operator token, `Authorization: Bearer …`, set with \
                         `MASHANG_OPERATOR_TOKEN`; for operations automation across \
                         townships.)",
                    ))
                    .build(),
            ),
        )
        .security_scheme(
            API_KEY,
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "api_key",
                "Open311 接入密钥 (An Open311 GeoReport v2 client's key, `api_key` in the \
                 query or the form body.)",
            ))),
        );
    // Ids are named in parameters too, whose types utoipa does not collect.
    use mashang_domain as d;
    for (name, schema) in [
        ("TenantId", d::TenantId::schema()),
        ("GridNodeId", d::GridNodeId::schema()),
        ("UserId", d::UserId::schema()),
        ("ReportId", d::ReportId::schema()),
        ("CaseId", d::CaseId::schema()),
        ("AttachmentId", d::AttachmentId::schema()),
        ("QrCodeId", d::QrCodeId::schema()),
        ("EventId", d::EventId::schema()),
        ("NoticeId", d::NoticeId::schema()),
    ] {
        components = components.schema(name, schema);
    }
    for err in error_kinds() {
        components =
            components.response(response_name(err.status().as_u16()), error_response(&err));
    }
    for status in PAGE_STATUSES {
        components = components.response(page_response_name(status), page_response(status));
    }
    let info = InfoBuilder::new()
        .title("码上反映 Mashang API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "码上反映平台接口 (The Mashang citizen-report platform's HTTP interface.) Every \
             error is an RFC 9457 problem (`application/problem+json`) whose `type` is \
             `urn:mashang:problem:{slug}`. Staff endpoints accept the session cookie or a \
             staff API token; pages answer `text/html`.",
        ))
        .build();
    OpenApiBuilder::new()
        .info(info)
        .components(Some(components.build()))
        .security(Some(vec![
            SecurityRequirement::new(SESSION, Vec::<String>::new()),
            SecurityRequirement::new(BEARER, Vec::<String>::new()),
        ]))
        .build()
}

/// The document of `parts` (each service's paths): [`base`] with every part merged.
pub fn assemble(parts: impl IntoIterator<Item = OpenApi>) -> OpenApi {
    let mut doc = base();
    for part in parts {
        doc.merge(part);
    }
    doc
}

/// A string schema with a known format (`uuid`, `date`), for hand-built parameters.
pub fn string_with_format(format: KnownFormat) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(format)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_kind_has_a_response_with_its_type() {
        let doc = base();
        let json = serde_json::to_value(&doc).expect("the document serialises");
        for status in [400, 401, 403, 404, 409, 410, 413, 415, 422, 429, 503] {
            let name = response_name(status);
            let example = &json["components"]["responses"][&name]["content"][PROBLEM_JSON];
            assert!(example.is_object(), "{name} is documented");
            let examples = example["examples"].as_object().expect("an example");
            let (_, first) = examples.iter().next().expect("one example");
            assert_eq!(first["value"]["status"], status);
            assert!(
                first["value"]["type"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("urn:mashang:problem:"))
            );
        }
        assert_eq!(json["openapi"], "3.1.0");
    }
}
