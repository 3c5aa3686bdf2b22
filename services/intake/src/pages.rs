//! The citizen's pages, rendered on the server.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use mashang_http::{ApiError, FieldError};

use crate::form::TypedFields;
use crate::qr::QrContext;
use crate::status::PublicStatus;

/// The QR landing page with the report form.
#[derive(Template)]
#[template(path = "landing.html")]
pub struct Landing<'a> {
    /// Where the code leads.
    pub ctx: &'a QrContext,
    /// The token, for the form's action.
    pub token: &'a str,
    /// What the citizen typed, when the page is shown again after a refusal.
    pub typed: TypedFields,
    /// What was wrong.
    pub errors: Vec<FieldError>,
}

/// The page for a code that leads nowhere.
#[derive(Template)]
#[template(path = "unknown_code.html")]
pub struct UnknownCode;

/// The page of a replaced code or a suspended township, with the township's contact.
#[derive(Template)]
#[template(path = "closed_code.html")]
pub struct ClosedCode<'a> {
    /// Replaced (true) or suspended (false).
    pub replaced: bool,
    /// The township's name.
    pub township: &'a str,
    /// Its public contact number.
    pub contact: Option<&'a str>,
}

/// The status page.
#[derive(Template)]
#[template(path = "status.html")]
pub struct StatusPage<'a> {
    /// The status.
    pub status: &'a PublicStatus,
    /// Steps as (label, local time).
    pub steps: Vec<(String, String)>,
}

/// Renders a template with a status code.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => ApiError::internal(err).into_response(),
    }
}
