//! Open311 GeoReport v2 at `/open311/v2`, as a third-party client uses it: services
//! listed, a request filed with a key, found by its token and by its id, followed to
//! closure through `servicerequestupdates`; both formats of every answer (the XML read
//! with a real parser), the specification's error lists, the 90-day default and the
//! 1000 cap, two townships, and keys issued and revoked by the administrator.

use std::time::Duration;

use chrono::Utc;
use mashang_tests::browser::Browser;
use mashang_tests::{Client, Fixture, TestApp, TestEnv, eventually, seed_tenant};
use reqwest::StatusCode;
use serde_json::{Value, json};

mod errors;
mod flow;
mod keys;
mod listing;
mod services;

const WAIT: Duration = Duration::from_secs(30);

/// An answer read as text, with its status and content type.
struct Raw {
    status: StatusCode,
    content_type: String,
    text: String,
}

impl Raw {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("JSON ({e}): {}", self.text))
    }

    /// The XML document, after checking the declaration and the content type.
    fn xml(&self) -> roxmltree::Document<'_> {
        assert!(
            self.content_type.starts_with("text/xml"),
            "content type {}",
            self.content_type
        );
        assert!(
            self.text
                .starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
            "declaration: {}",
            self.text
        );
        roxmltree::Document::parse(&self.text)
            .unwrap_or_else(|e| panic!("XML ({e}): {}", self.text))
    }

    fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        self
    }
}

async fn read(response: reqwest::Response) -> Raw {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    Raw {
        status,
        content_type,
        text: response.text().await.expect("a body"),
    }
}

async fn get(client: &Client, path: &str) -> Raw {
    read(client.http.get(client.url(path)).send().await.expect("GET")).await
}

async fn post_form(client: &Client, path: &str, form: &[(&str, &str)]) -> Raw {
    read(
        client
            .http
            .post(client.url(path))
            .form(form)
            .send()
            .await
            .expect("POST"),
    )
    .await
}

/// The text of the child `name` of `node`.
fn child<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> &'a str {
    node.children()
        .find(|c| c.has_tag_name(name))
        .unwrap_or_else(|| panic!("no <{name}> in <{}>", node.tag_name().name()))
        .text()
        .unwrap_or("")
}

fn elements<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    node.children().filter(|c| c.has_tag_name(name)).collect()
}

/// Asserts the specification's error list in both formats, with `status`.
fn assert_errors(raw: &Raw, status: u16) {
    assert_eq!(raw.status.as_u16(), status, "body: {}", raw.text);
    if raw.content_type.starts_with("text/xml") {
        let doc = raw.xml();
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "errors");
        let errors = elements(root, "error");
        assert!(!errors.is_empty());
        for e in errors {
            assert_eq!(child(e, "code"), status.to_string());
            assert!(!child(e, "description").is_empty());
        }
    } else {
        let body = raw.json();
        let errors = body.as_array().expect("a list of errors");
        assert!(!errors.is_empty());
        for e in errors {
            assert_eq!(e["code"], status);
            assert!(e["description"].as_str().is_some_and(|d| !d.is_empty()));
        }
    }
}

/// The township administrator, signed in.
async fn admin(app: &TestApp, fx: &Fixture) -> Client {
    app.routing
        .signed_in(&fx.logins.admin, mashang_tests::PASSWORD)
        .await
}

/// A key issued through the admin API: (id, key).
async fn issue(admin: &Client, name: &str) -> (String, String) {
    let body = admin
        .post_json("/api/v1/admin/open311-keys", &json!({"name": name}))
        .await
        .expect(201)
        .body;
    (
        body["id"].as_str().expect("an id").to_owned(),
        body["key"].as_str().expect("a key").to_owned(),
    )
}

/// Files a `roads` request with `key`; returns the answer.
async fn file(app: &TestApp, key: &str, extra: &[(&str, &str)]) -> Raw {
    let mut form = vec![
        ("api_key", key),
        ("service_code", "roads"),
        ("description", "路面塌陷，有坑"),
        ("lat", "34.2611"),
        ("long", "108.9423"),
    ];
    form.extend_from_slice(extra);
    post_form(&app.intake, "/open311/v2/requests.json", &form).await
}

/// The case of `number`, as the township centre sees it, once routing has it.
async fn case_of(centre: &Client, number: &str) -> Value {
    let id = mashang_tests::cases::case_id(centre, number).await;
    centre
        .get(&format!("/api/v1/cases/{id}"))
        .await
        .expect(200)
        .body
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}
