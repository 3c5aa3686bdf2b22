//! How Open311 answers: the same values as JSON or as XML (the specification's element
//! names, with the XML declaration), and errors in the specification's list form
//! (`[{"code": …, "description": …}]`, `<errors><error>…`) with their HTTP status.

use std::borrow::Cow;
use std::io;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mashang_http::{ApiError, FieldError};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde::Serialize;

/// The two formats the specification serves, chosen by the path's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// `.json`.
    Json,
    /// `.xml`.
    Xml,
}

impl Format {
    /// Splits `requests.json` into `requests` and its format; `None` for any other
    /// extension.
    pub(crate) fn split(file: &str) -> Option<(&str, Self)> {
        let (stem, ext) = file.rsplit_once('.')?;
        let format = match ext {
            "json" => Self::Json,
            "xml" => Self::Xml,
            _ => return None,
        };
        Some((stem, format))
    }

    /// The format of a path whose extension is unknown or wrong: errors about it are
    /// answered in JSON unless it ends in `.xml`.
    pub(crate) fn guess(file: &str) -> Self {
        if file.ends_with(".xml") {
            Self::Xml
        } else {
            Self::Json
        }
    }
}

/// A value the specification writes as one XML element.
pub(crate) trait ToXml {
    /// The element's name (`request`, `service`).
    const ELEMENT: &'static str;

    /// Writes the element's children.
    fn children(&self, xml: &mut Xml) -> io::Result<()>;
}

/// An XML document being written.
pub(crate) struct Xml {
    writer: Writer<Vec<u8>>,
}

impl std::fmt::Debug for Xml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Xml")
    }
}

/// Characters XML 1.0 cannot carry at all (escaping does not help): control
/// characters other than tab and line breaks, and the two non-characters.
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// `text` without the characters XML cannot carry.
fn xml_safe(text: &str) -> Cow<'_, str> {
    if text.chars().all(allowed) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().filter(|c| allowed(*c)).collect())
    }
}

impl Xml {
    /// A document of one root element, written by `body`.
    pub(crate) fn document(
        root: &str,
        body: impl FnOnce(&mut Self) -> io::Result<()>,
    ) -> io::Result<Vec<u8>> {
        let mut xml = Self {
            writer: Writer::new(Vec::new()),
        };
        xml.writer
            .write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
        xml.element(root, body)?;
        Ok(xml.writer.into_inner())
    }

    /// An element with children written by `body`.
    pub(crate) fn element(
        &mut self,
        name: &str,
        body: impl FnOnce(&mut Self) -> io::Result<()>,
    ) -> io::Result<()> {
        self.writer
            .write_event(Event::Start(BytesStart::new(name)))?;
        body(self)?;
        self.writer.write_event(Event::End(BytesEnd::new(name)))
    }

    /// An element holding `value` as text, escaped.
    pub(crate) fn text(&mut self, name: &str, value: &str) -> io::Result<()> {
        self.writer
            .create_element(name)
            .write_text_content(BytesText::new(&xml_safe(value)))?;
        Ok(())
    }

    /// An element holding `value`, or empty when there is none.
    pub(crate) fn opt(&mut self, name: &str, value: Option<&str>) -> io::Result<()> {
        self.text(name, value.unwrap_or(""))
    }

    /// An element holding a number, or empty when there is none.
    pub(crate) fn number(&mut self, name: &str, value: Option<f64>) -> io::Result<()> {
        self.opt(name, value.map(|v| v.to_string()).as_deref())
    }

    /// An element `name` holding one element per item.
    pub(crate) fn list<T: ToXml>(&mut self, name: &str, items: &[T]) -> io::Result<()> {
        self.element(name, |xml| {
            items
                .iter()
                .try_for_each(|item| xml.element(T::ELEMENT, |x| item.children(x)))
        })
    }
}

fn xml_response(status: StatusCode, body: io::Result<Vec<u8>>) -> Response {
    match body {
        Ok(bytes) => {
            let mut response = (status, bytes).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/xml; charset=utf-8"),
            );
            response
        }
        Err(err) => {
            tracing::error!(error = %err, "could not write an Open311 XML answer");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A list of `items` (a JSON array; XML `<root>` with one element per item).
pub(crate) fn list<T: Serialize + ToXml>(
    format: Format,
    status: StatusCode,
    root: &str,
    items: &[T],
) -> Response {
    match format {
        Format::Json => (status, axum::Json(items)).into_response(),
        Format::Xml => xml_response(
            status,
            Xml::document(root, |xml| {
                items
                    .iter()
                    .try_for_each(|item| xml.element(T::ELEMENT, |x| item.children(x)))
            }),
        ),
    }
}

/// One value (a JSON object; XML, its element as the root).
pub(crate) fn one<T: Serialize + ToXml>(format: Format, item: &T) -> Response {
    match format {
        Format::Json => (StatusCode::OK, axum::Json(item)).into_response(),
        Format::Xml => xml_response(
            StatusCode::OK,
            Xml::document(T::ELEMENT, |x| item.children(x)),
        ),
    }
}

/// One error of the specification's list.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Open311ErrorItem)]
pub(crate) struct ErrorItem {
    /// The HTTP status, as the specification's examples give it.
    pub code: u16,
    /// What is wrong, Chinese first.
    pub description: String,
}

impl ToXml for ErrorItem {
    const ELEMENT: &'static str = "error";

    fn children(&self, xml: &mut Xml) -> io::Result<()> {
        xml.text("code", &self.code.to_string())?;
        xml.text("description", &self.description)
    }
}

/// A refused request, answered as the specification's error list.
#[derive(Debug)]
pub(crate) struct Refusal {
    status: StatusCode,
    descriptions: Vec<String>,
    retry_after: Option<u64>,
}

impl Refusal {
    fn new(status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            status,
            descriptions: vec![description.into()],
            retry_after: None,
        }
    }

    /// 400: a parameter is missing or wrong.
    pub(crate) fn bad(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, description)
    }

    /// 413: the form is over its size limit.
    pub(crate) fn too_large(description: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, description)
    }

    /// 403: no key, or not a live key of this township.
    pub(crate) fn forbidden(description: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, description)
    }

    /// 404: nothing there (also another township's).
    pub(crate) fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, description)
    }

    /// The answer in `format`.
    pub(crate) fn render(self, format: Format) -> Response {
        let code = self.status.as_u16();
        let items: Vec<ErrorItem> = self
            .descriptions
            .into_iter()
            .map(|description| ErrorItem { code, description })
            .collect();
        let mut response = list(format, self.status, "errors", &items);
        if let Some(secs) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// The Open311 name of one of the report's fields.
fn open311_field(field: &str) -> &str {
    match field {
        "category" => "service_code",
        "contact_phone" => "phone",
        "contact_name" => "first_name",
        "lng" => "long",
        other => other,
    }
}

impl From<ApiError> for Refusal {
    fn from(err: ApiError) -> Self {
        let err = err.classify();
        let status = err.status();
        match err {
            ApiError::Validation(errors) => Self {
                status: StatusCode::BAD_REQUEST,
                descriptions: errors
                    .into_iter()
                    .map(|FieldError { field, message, .. }| {
                        format!("{}: {message}", open311_field(&field))
                    })
                    .collect(),
                retry_after: None,
            },
            ApiError::TooManyRequests { retry_after } => Self {
                retry_after,
                ..Self::new(status, err.title())
            },
            ApiError::Internal(cause) => {
                tracing::error!(error = %format!("{cause:#}"), "Open311 request failed");
                Self::new(status, ApiError::Internal(cause).title())
            }
            ApiError::Unavailable(_) => Self {
                retry_after: Some(5),
                ..Self::new(status, err.title())
            },
            ApiError::BadRequest(detail)
            | ApiError::Forbidden(detail)
            | ApiError::Gone(detail)
            | ApiError::Conflict(detail)
            | ApiError::PayloadTooLarge(detail)
            | ApiError::UnsupportedMediaType(detail) => Self::new(status, detail),
            other => Self::new(status, other.title()),
        }
    }
}

impl From<mashang_db::DbError> for Refusal {
    fn from(err: mashang_db::DbError) -> Self {
        ApiError::from(err).into()
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(err: sqlx::Error) -> Self {
        ApiError::from(err).into()
    }
}

impl From<mashang_auth::AuthError> for Refusal {
    fn from(err: mashang_auth::AuthError) -> Self {
        ApiError::from(err).into()
    }
}

/// The answer of a handler's work in `format`.
pub(crate) fn respond(format: Format, outcome: Result<Response, Refusal>) -> Response {
    outcome.unwrap_or_else(|refusal| refusal.render(format))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Item(&'static str);

    impl ToXml for Item {
        const ELEMENT: &'static str = "item";

        fn children(&self, xml: &mut Xml) -> io::Result<()> {
            xml.text("name", self.0)?;
            xml.list::<Item>("inner", &[])
        }
    }

    #[test]
    fn xml_escapes_markup_and_drops_characters_xml_cannot_carry() {
        let bytes = Xml::document("items", |xml| {
            xml.element(Item::ELEMENT, |x| Item("<a & \"b\">\u{1}ok").children(x))
        })
        .expect("written");
        let text = String::from_utf8(bytes).expect("UTF-8");
        assert_eq!(
            text,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><items><item><name>&lt;a &amp; &quot;b&quot;&gt;ok</name><inner></inner></item></items>"
        );
    }

    #[test]
    fn formats_come_from_the_extension() {
        assert_eq!(
            Format::split("requests.json"),
            Some(("requests", Format::Json))
        );
        assert_eq!(Format::split("a.b.xml"), Some(("a.b", Format::Xml)));
        assert_eq!(Format::split("requests.csv"), None);
        assert_eq!(Format::split("requests"), None);
    }
}
