//! The security headers of every page, and rendering a template with them.

use askama::Template;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// The headers a kind of page is sent with. Every page: nothing from elsewhere, never
/// framed (`frame-ancestors` and, for browsers without it, `X-Frame-Options`), no
/// content sniffing, never kept by a shared cache.
#[derive(Clone, Copy, Debug)]
pub struct PageHeaders {
    csp: &'static str,
    referrer: &'static str,
    /// The page's language follows `Accept-Language`.
    by_language: bool,
}

/// The citizen's pages: scripts and styles from this origin only, never inline (a
/// `<script>` that slipped into the page could not run); no referrer, because status
/// links carry their secret; the language follows the browser.
pub const CITIZEN: PageHeaders = PageHeaders {
    csp: "default-src 'none'; script-src 'self'; style-src 'self'; \
        img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; \
        base-uri 'none'; frame-ancestors 'none'",
    referrer: "no-referrer",
    by_language: true,
};

/// The staff pages: scripts (which only enhance: every action is a plain form) and the
/// stylesheet from this origin, never inline; requests (the header's unread count)
/// and forms only here; never cached (reset codes are shown once).
pub const STAFF: PageHeaders = PageHeaders {
    csp: "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
        connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    referrer: "same-origin",
    by_language: false,
};

impl PageHeaders {
    /// Sets these headers on a response's headers.
    pub fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in [
            (header::CONTENT_SECURITY_POLICY, self.csp),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, self.referrer),
            (header::CACHE_CONTROL, "private, no-store"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        if self.by_language {
            headers.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
        }
    }

    /// The page `html` with a status code and these headers.
    pub fn page(&self, status: StatusCode, html: String) -> Response {
        let mut response = (status, Html(html)).into_response();
        self.apply(response.headers_mut());
        response
    }

    /// Renders `template` as a page; a template that fails is the caller's to answer.
    pub fn render(
        &self,
        status: StatusCode,
        template: &impl Template,
    ) -> Result<Response, askama::Error> {
        Ok(self.page(status, template.render()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_run_only_their_own_scripts() {
        let staff = STAFF.page(StatusCode::OK, String::new());
        let csp = staff.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ASCII");
        assert!(csp.starts_with("default-src 'none'") && csp.contains("script-src 'self';"));
        assert!(!csp.contains("unsafe-inline") && csp.contains("form-action 'self'"));
        assert_eq!(staff.headers()[header::X_FRAME_OPTIONS], "DENY");
        assert!(staff.headers().get(header::VARY).is_none());

        let citizen = CITIZEN.page(StatusCode::NOT_FOUND, String::new());
        assert_eq!(citizen.status(), StatusCode::NOT_FOUND);
        let csp = citizen.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ASCII");
        assert!(csp.contains("script-src 'self';") && !csp.contains("unsafe-inline"));
        assert_eq!(citizen.headers()[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(citizen.headers()[header::VARY], "Accept-Language");
    }
}
