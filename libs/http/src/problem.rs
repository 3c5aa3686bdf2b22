//! The one error type of every HTTP handler, rendered as RFC 9457 problem+json.
//! Client errors say what is wrong; internal errors are logged with their cause
//! chain and never echoed.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One invalid input field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name as the client sent it (`description`, `photo[2]`).
    pub field: String,
    /// What is wrong, in words a person can act on.
    pub message: String,
}

impl FieldError {
    /// An error on `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request cannot be read (malformed JSON, bad multipart).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The request was read but some fields are invalid.
    #[error("invalid fields")]
    Validation(Vec<FieldError>),
    /// Missing or invalid credentials.
    #[error("not signed in")]
    Unauthorized,
    /// Signed in, but the role may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Nothing there (also what another tenant's objects look like).
    #[error("not found")]
    NotFound,
    /// It existed and is gone for good (a replaced QR code).
    #[error("gone: {0}")]
    Gone(String),
    /// The request conflicts with the current state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The body or a part of it is over its size limit.
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    /// The body or a part of it is of a type not accepted here.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// Too many requests from this client; `retry_after` seconds, when known.
    #[error("too many requests")]
    TooManyRequests {
        /// Seconds until a retry may succeed.
        retry_after: Option<u64>,
    },
    /// A dependency is down; try again later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A defect or an unexpected failure. Logged, never shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// A validation error on one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// An internal error from any cause.
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(err.into())
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Gone(_) => StatusCode::GONE,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable problem type slug (`validation`), part of the `type` URI.
    pub fn slug(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad-request",
            Self::Validation(_) => "validation",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound => "not-found",
            Self::Gone(_) => "gone",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload-too-large",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::TooManyRequests { .. } => "too-many-requests",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// The human title, Chinese first.
    pub fn title(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "请求无法解析 (Bad request)",
            Self::Validation(_) => "填写的内容有误 (Invalid input)",
            Self::Unauthorized => "请先登录 (Sign-in required)",
            Self::Forbidden(_) => "没有权限 (Not allowed)",
            Self::NotFound => "未找到 (Not found)",
            Self::Gone(_) => "已停用 (Gone)",
            Self::Conflict(_) => "状态冲突 (Conflict)",
            Self::PayloadTooLarge(_) => "内容过大 (Too large)",
            Self::UnsupportedMediaType(_) => "不支持的文件类型 (Unsupported type)",
            Self::TooManyRequests { .. } => "请求过于频繁，请稍后再试 (Too many requests)",
            Self::Unavailable(_) => "服务暂时不可用，请稍后再试 (Temporarily unavailable)",
            Self::Internal(_) => "系统出错，请稍后再试 (Internal error)",
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            Self::BadRequest(d)
            | Self::Forbidden(d)
            | Self::Conflict(d)
            | Self::Gone(d)
            | Self::PayloadTooLarge(d)
            | Self::UnsupportedMediaType(d)
            | Self::Unavailable(d) => Some(d.clone()),
            _ => None,
        }
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

/// Whether an internal error was caused by a dependency being down or too slow (the
/// database, the object store), which the client should hear as a 503 to retry, not
/// as a defect. Looks through the whole cause chain, so handlers that wrap errors in
/// context need not classify them.
fn caused_by_unavailable_dependency(err: &anyhow::Error) -> Option<&'static str> {
    err.chain().find_map(|cause| {
        if let Some(e) = cause.downcast_ref::<sqlx::Error>() {
            return mashang_db::is_unavailable(e).then_some("database");
        }
        if let Some(e) = cause.downcast_ref::<mashang_db::DbError>() {
            return e.is_unavailable().then_some("database");
        }
        if let Some(e) = cause.downcast_ref::<mashang_storage::StorageError>() {
            return e.is_unavailable().then_some("object store");
        }
        None
    })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.classify().render()
    }
}

impl ApiError {
    /// The error as the client should see it: an internal error caused by a
    /// dependency that is down or too slow becomes [`ApiError::Unavailable`] (a 503
    /// to retry). Pages that render errors themselves call this first.
    pub fn classify(self) -> Self {
        match self {
            Self::Internal(err) => match caused_by_unavailable_dependency(&err) {
                Some(which) => {
                    tracing::warn!(dependency = which, error = %format!("{err:#}"), "request refused: dependency unavailable");
                    Self::Unavailable(format!("{which} unavailable"))
                }
                None => Self::Internal(err),
            },
            other => other,
        }
    }
}

impl ApiError {
    fn render(self) -> Response {
        if let Self::Internal(err) = &self {
            tracing::error!(error = %format!("{err:#}"), "request failed");
        }
        let status = self.status();
        let errors: &[FieldError] = match &self {
            Self::Validation(errors) => errors,
            _ => &[],
        };
        let body = Problem {
            kind: format!("urn:mashang:problem:{}", self.slug()),
            title: self.title(),
            status: status.as_u16(),
            detail: self.detail(),
            errors,
        };
        let mut response = (status, Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        if let Self::TooManyRequests {
            retry_after: Some(secs),
        } = self
            && let Ok(value) = header::HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if matches!(self, Self::Unavailable(_)) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        }
        if matches!(self, Self::Unauthorized) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<mashang_db::DbError> for ApiError {
    fn from(err: mashang_db::DbError) -> Self {
        Self::Internal(err.into())
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        Self::Internal(err.into())
    }
}

/// Maps a database error to the client error its named constraint stands for (`map`
/// gives the error for a constraint name); anything else is internal. Keeps the
/// constraint-to-status mapping in one place per resource, not in every handler.
pub fn on_constraint(err: sqlx::Error, map: impl FnOnce(&str) -> Option<ApiError>) -> ApiError {
    mashang_db::constraint_name(&err)
        .and_then(map)
        .unwrap_or_else(|| ApiError::Internal(err.into()))
}
