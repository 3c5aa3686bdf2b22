//! A typed client for the services' HTTP APIs.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::infra::OPERATOR_TOKEN;
use crate::wait::eventually;

/// A client of one process.
#[derive(Clone, Debug)]
pub struct Client {
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// The HTTP client.
    pub http: reqwest::Client,
}

/// A response: status, content type and body (JSON when it parses, else a string).
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// `Content-Type`.
    pub content_type: String,
    /// Body as JSON, or `Value::String` with the text.
    pub body: Value,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// Reads a response sent with the client's `http` directly (custom headers).
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = response.text().await.expect("reading the body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Self {
            status,
            content_type,
            body,
            headers,
        }
    }

    /// Asserts the status, showing the body when it differs.
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }

    /// Asserts an RFC 9457 problem with `status`, and returns its field names.
    pub fn expect_problem(self, status: u16) -> Vec<String> {
        let reply = self.expect(status);
        assert_eq!(
            reply.content_type, "application/problem+json",
            "body: {}",
            reply.body
        );
        assert_eq!(reply.body["status"], status);
        assert!(
            reply.body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:mashang:problem:"))
        );
        assert!(reply.body["title"].is_string());
        reply.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Client {
    /// A client of `base`.
    pub fn new(base: String) -> Self {
        mashang_notification::delivery::outbound::install_tls();
        Self {
            base,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
        }
    }

    /// The same server, signed in as `login` (bearer token). The server must serve
    /// routing, which signs people in; the token then works with every service.
    pub async fn signed_in(&self, login: &str, password: &str) -> Client {
        let token = self.session_token(login, password).await;
        self.with_bearer(&token)
    }

    /// Signs in at this server (routing) and returns the session's bearer token.
    pub async fn session_token(&self, login: &str, password: &str) -> String {
        let reply = self
            .post_json(
                "/api/v1/auth/login",
                &serde_json::json!({"login": login, "password": password}),
            )
            .await
            .expect(200);
        reply.body["token"]
            .as_str()
            .expect("a session token")
            .to_owned()
    }

    /// The same server, presenting `token` as a bearer token.
    pub fn with_bearer(&self, token: &str) -> Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().expect("a header value"),
        );
        Self {
            base: self.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .default_headers(headers)
                .build()
                .expect("an HTTP client"),
        }
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Polls `/readyz` until it answers 200.
    pub async fn wait_ready(&self) {
        let url = self.url("/readyz");
        eventually(
            "the service to become ready",
            Duration::from_secs(30),
            || {
                let http = self.http.clone();
                let url = url.clone();
                async move {
                    let r = http.get(&url).send().await.ok()?;
                    (r.status() == StatusCode::OK).then_some(())
                }
            },
        )
        .await;
    }

    /// GET.
    pub async fn get(&self, path: &str) -> Reply {
        Reply::read(self.http.get(self.url(path)).send().await.expect("GET")).await
    }

    /// GET with `Accept: application/json` of a full URL.
    pub async fn get_json_url(&self, url: &str) -> Reply {
        Reply::read(
            self.http
                .get(url)
                .header("accept", "application/json")
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    /// GET as the operator.
    pub async fn operator_get(&self, path: &str) -> Reply {
        Reply::read(
            self.http
                .get(self.url(path))
                .bearer_auth(OPERATOR_TOKEN)
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    /// PATCH a JSON body.
    pub async fn patch_json(&self, path: &str, body: &Value) -> Reply {
        Reply::read(
            self.http
                .patch(self.url(path))
                .json(body)
                .send()
                .await
                .expect("PATCH"),
        )
        .await
    }

    /// PUT a JSON body.
    pub async fn put_json(&self, path: &str, body: &Value) -> Reply {
        Reply::read(
            self.http
                .put(self.url(path))
                .json(body)
                .send()
                .await
                .expect("PUT"),
        )
        .await
    }

    /// POST a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        Reply::read(
            self.http
                .post(self.url(path))
                .json(body)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// POST raw bytes with a content type.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        Reply::read(
            self.http
                .post(self.url(path))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// POST a multipart form.
    pub async fn post_multipart(&self, path: &str, form: reqwest::multipart::Form) -> Reply {
        Reply::read(
            self.http
                .post(self.url(path))
                .multipart(form)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }
}
