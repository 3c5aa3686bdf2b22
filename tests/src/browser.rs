//! A browser for the server-rendered pages: keeps cookies, does not follow redirects
//! (so 303s and 308s can be seen), posts plain HTML forms, and reads the CSRF token a
//! page's forms carry.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use reqwest::multipart::Form;

/// A browser session against one base URL.
#[derive(Debug)]
pub struct Browser {
    base: String,
    http: reqwest::Client,
}

/// A page as the browser got it.
#[derive(Debug)]
pub struct Page {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub html: String,
}

impl Page {
    async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let html = response.text().await.expect("reading the page");
        Self {
            status,
            headers,
            html,
        }
    }

    /// A header's value, empty when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Asserts the status.
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "page: {}", self.html);
        self
    }

    /// Asserts a redirect with `status` and returns where it leads.
    pub fn redirect(self, status: u16) -> String {
        assert_eq!(self.status.as_u16(), status, "page: {}", self.html);
        let to = self.header("location");
        assert!(!to.is_empty(), "a Location");
        to.to_owned()
    }

    /// Asserts a 303 and returns where it leads.
    pub fn see_other(self) -> String {
        self.redirect(303)
    }

    /// The CSRF token the page's first form carries.
    pub fn csrf(&self) -> String {
        let (_, rest) = self
            .html
            .split_once(r#"name="_csrf" value=""#)
            .expect("a form with a CSRF token");
        rest.split('"').next().expect("a token").to_owned()
    }

    /// Whether the body contains `text`.
    pub fn has(&self, text: &str) -> bool {
        self.html.contains(text)
    }
}

impl Browser {
    /// A browser with no cookies yet.
    pub fn new(base: &str) -> Self {
        mashang_notification::delivery::outbound::install_tls();
        Self {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an HTTP client"),
        }
    }

    /// The same browser (its cookies) at another base URL: another service of the same
    /// site, as an ingress would route to it.
    pub fn at(&self, base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: self.http.clone(),
        }
    }

    /// GET a page.
    pub async fn get(&self, path: &str) -> Page {
        Page::read(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    /// POST a URL-encoded form.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        Page::read(
            self.http
                .post(format!("{}{path}", self.base))
                .form(form)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// POST a URL-encoded form from the page at `page` (sent as the `Referer`, as a
    /// browser does).
    pub async fn post_from(&self, page: &str, path: &str, form: &[(&str, &str)]) -> Page {
        Page::read(
            self.http
                .post(format!("{}{path}", self.base))
                .header(reqwest::header::REFERER, format!("{}{page}", self.base))
                .form(form)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// POST a multipart form.
    pub async fn upload(&self, path: &str, form: Form) -> Page {
        Page::read(
            self.http
                .post(format!("{}{path}", self.base))
                .multipart(form)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }
}
