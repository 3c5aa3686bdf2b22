//! Extractors whose rejections are problem+json: malformed JSON is a 400, a body of
//! the wrong type a 415, a well-formed body with wrong fields a 422 naming the field.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};

use crate::problem::{ApiError, FieldError};

/// `axum::Json` with problem+json rejections.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Query` with problem+json rejections.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// A JSON body read at once (malformed JSON, a wrong content type and an oversized
/// body are refused before the handler runs) and turned into `T` only when the handler
/// asks, after it has checked what must be answered first: that the object exists
/// and the person may act on it (a 404 or 403 before a 422).
#[derive(Debug, Clone)]
pub struct ApiJsonLater<T> {
    value: serde_json::Value,
    kind: std::marker::PhantomData<fn() -> T>,
}

impl<S: Send + Sync, T> FromRequest<S> for ApiJsonLater<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let ApiJson(value) = ApiJson::<serde_json::Value>::from_request(req, state).await?;
        Ok(Self {
            value,
            kind: std::marker::PhantomData,
        })
    }
}

impl<T: serde::de::DeserializeOwned> ApiJsonLater<T> {
    /// The body as `T`; `null` reads as `{}`. Wrong fields are a 422 naming the field.
    pub fn parse(self) -> Result<T, ApiError> {
        let value = match self.value {
            serde_json::Value::Null => serde_json::Value::Object(serde_json::Map::new()),
            other => other,
        };
        serde_json::from_value(value)
            .map_err(|err| ApiError::Validation(vec![field_error_from_serde(&err.to_string())]))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(err) => {
                Self::Validation(vec![field_error_from_serde(&err.body_text())])
            }
            JsonRejection::JsonSyntaxError(_) => {
                Self::BadRequest("the body is not valid JSON".to_owned())
            }
            JsonRejection::MissingJsonContentType(_) => {
                Self::UnsupportedMediaType("expected Content-Type: application/json".to_owned())
            }
            JsonRejection::BytesRejection(err) => {
                if err.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    Self::PayloadTooLarge("the body is over its size limit".to_owned())
                } else {
                    Self::BadRequest("the body could not be read".to_owned())
                }
            }
            other => Self::BadRequest(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::Validation(vec![field_error_from_serde(&rejection.body_text())])
    }
}

/// Turns serde's message (`…: description: invalid type: integer …` or
/// `missing field `category``) into a field error naming the field where it can.
fn field_error_from_serde(text: &str) -> FieldError {
    let detail = text
        .split_once(": ")
        .map(|(_, rest)| rest)
        .unwrap_or(text)
        .trim();
    if let Some(rest) = detail.split("missing field `").nth(1) {
        let field = rest.split('`').next().unwrap_or("body");
        return FieldError::new(field, "必填 (required)");
    }
    if let Some((path, message)) = detail.split_once(": ") {
        let path = path.trim();
        if !path.is_empty() && !path.contains(' ') {
            return FieldError::new(path, message.trim());
        }
    }
    FieldError::new("body", detail)
}

impl<T: serde::Serialize> axum::response::IntoResponse for ApiJson<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::field_error_from_serde;

    #[test]
    fn names_the_field_in_serde_messages() {
        let e = field_error_from_serde(
            "Failed to deserialize the JSON body into the target type: missing field `category` at line 1 column 2",
        );
        assert_eq!(e.field, "category");
        let e = field_error_from_serde(
            "Failed to deserialize the JSON body into the target type: lat: invalid type: string \"x\", expected f64 at line 1 column 9",
        );
        assert_eq!(e.field, "lat");
        assert!(e.message.contains("invalid type"));
    }
}
