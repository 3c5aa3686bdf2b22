//! The OpenAPI document: every operation it lists is served by the router it came
//! from, every route is registered through the document (no route is added beside
//! it), the process serves the union of the services it runs, and the document is
//! valid OpenAPI 3.1 (it parses back, every `$ref` resolves, operation ids are unique,
//! every operation lists its responses and declares its path parameters).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::response::IntoResponse;
use mashang_storage::LocalStore;
use mashang_tests::infra::pii_key;
use mashang_tests::{TestApp, TestEnv};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use utoipa::openapi::OpenApi;

/// Answers every matched route without running its handler, so a request tells
/// whether a route exists (this status) or not (axum's 404/405).
const MATCHED: StatusCode = StatusCode::IM_A_TEAPOT;

async fn matched(
    _request: axum::extract::Request,
    _next: axum::middleware::Next,
) -> axum::response::Response {
    MATCHED.into_response()
}

type Operation = (String, String);

/// The (METHOD, path) of every operation in a document.
fn operations(doc: &Value) -> BTreeSet<Operation> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            if op.get("responses").is_some() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

fn json(doc: &OpenApi) -> Value {
    serde_json::to_value(doc).expect("the document serialises")
}

/// A path with its parameters filled with values of their documented type.
fn concrete(path: &str, op: &Value) -> String {
    let mut out = path.to_owned();
    for p in op["parameters"].as_array().into_iter().flatten() {
        if p["in"] != "path" {
            continue;
        }
        let name = p["name"].as_str().expect("a parameter name");
        let value = match (name, p["schema"]["format"].as_str()) {
            (_, Some("uuid")) => "00000000-0000-0000-0000-000000000000",
            ("file", _) => "staff.css",
            _ => "x",
        };
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Every operation of `doc` reaches a route of `router`.
async fn assert_served(service: &str, router: Router, doc: &OpenApi) {
    let router = router.route_layer(axum::middleware::from_fn(matched));
    let doc = json(doc);
    let mut missing = Vec::new();
    for (method, path) in operations(&doc) {
        let op = &doc["paths"][&path][method.to_lowercase()];
        let uri = concrete(&path, op);
        let request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("a method"))
            .uri(&uri)
            .body(Body::empty())
            .expect("a request");
        let response = router.clone().oneshot(request).await.expect("an answer");
        if response.status() != MATCHED {
            missing.push(format!("{method} {path} ({uri}): {}", response.status()));
        }
    }
    assert!(
        missing.is_empty(),
        "{service}: documented but not served:\n{}",
        missing.join("\n")
    );
}

#[tokio::test]
async fn every_documented_operation_of_each_service_is_served() {
    let env = TestEnv::new().await;
    let db = env.db().clone();
    let blobs = Arc::new(LocalStore::new(env.dir.path().join("blobs")));

    let (r, d) = mashang_intake::routes().split_for_parts();
    let config = mashang_intake::IntakeConfig::new("http://public.test", pii_key());
    let state = mashang_intake::IntakeState::new(db.clone(), blobs, config);
    assert_served("intake", r.with_state(state), &d).await;

    let (r, d) = mashang_routing::routes().split_for_parts();
    let state = mashang_routing::RoutingState::new(db.clone(), "http://public.test", pii_key());
    assert_served("routing", r.with_state(state), &d).await;

    let (r, d) = mashang_notification::routes().split_for_parts();
    let state = mashang_notification::NotificationState::new(db.clone());
    assert_served("notification", r.with_state(state), &d).await;

    let (r, d) = mashang_analytics::routes().split_for_parts();
    let state = mashang_analytics::AnalyticsState::new(db.clone());
    assert_served("analytics", r.with_state(state), &d).await;

    let readiness = mashang_http::Readiness::new(Vec::new(), CancellationToken::new());
    assert_served(
        "health",
        mashang_http::health_router(readiness),
        &mashang_http::health_openapi(),
    )
    .await;
    let (router, doc) = mashang_web::api_docs::serve(Vec::new());
    assert_served("api docs", router, &doc).await;
}

/// The document the monolith should serve: every service's part, health, the docs.
fn union() -> OpenApi {
    mashang_web::api_docs::serve([
        mashang_http::health_openapi(),
        mashang_intake::openapi(),
        mashang_routing::openapi(),
        mashang_notification::openapi(),
        mashang_analytics::openapi(),
    ])
    .1
}

#[tokio::test]
async fn the_monolith_serves_the_document_of_all_four_services() {
    let env = TestEnv::new().await;
    let app = TestApp::monolith(&env).await;
    let reply = app.routing.get("/api/v1/openapi.json").await.expect(200);
    let served = operations(&reply.body);
    let expected = operations(&json(&union()));
    let missing: Vec<_> = expected.difference(&served).collect();
    let extra: Vec<_> = served.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    for service in ["intake", "routing", "notification", "analytics"] {
        let part = match service {
            "intake" => mashang_intake::openapi(),
            "routing" => mashang_routing::openapi(),
            "notification" => mashang_notification::openapi(),
            _ => mashang_analytics::openapi(),
        };
        let ops = operations(&json(&part));
        assert!(!ops.is_empty(), "{service} documents its routes");
        assert!(ops.is_subset(&served), "{service} is in the union");
    }
    check_valid(&reply.body);

    let page = reqwest::get(app.routing.url("/api/v1/docs"))
        .await
        .expect("the reference page");
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/html"))
    );
    let html = page.text().await.expect("a page");
    assert!(html.contains("接口参考") && html.contains("/api/v1/openapi.json"));
    assert!(html.contains("urn:mashang:problem:validation"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from elsewhere"
    );
    app.stop().await;
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref"
                    && let Some(r) = v.as_str()
                {
                    out.push(r);
                }
                refs(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

fn check_valid(doc: &Value) {
    assert_eq!(doc["openapi"], "3.1.0");
    // Each part on its own first, so a failure names the part.
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if let Err(err) = serde_json::from_value::<utoipa::openapi::PathItem>(item.clone()) {
            panic!("{path} does not parse as a path item: {err}");
        }
    }
    for (kind, parts) in doc["components"].as_object().expect("components") {
        for (name, part) in parts.as_object().expect("named parts") {
            let parsed = match kind.as_str() {
                "schemas" => serde_json::from_value::<
                    utoipa::openapi::RefOr<utoipa::openapi::Schema>,
                >(part.clone())
                .map(|_| ()),
                "responses" => serde_json::from_value::<
                    utoipa::openapi::RefOr<utoipa::openapi::Response>,
                >(part.clone())
                .map(|_| ()),
                _ => Ok(()),
            };
            if let Err(err) = parsed {
                panic!("{kind}/{name} does not parse: {err}: {part}");
            }
        }
    }
    let parsed: OpenApi = serde_json::from_value(doc.clone()).expect("parses as OpenAPI");
    assert!(!parsed.paths.paths.is_empty());

    let mut all = Vec::new();
    refs(doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let pointer = r.strip_prefix('#').expect("a local reference");
        assert!(doc.pointer(pointer).is_some(), "{r} resolves");
    }

    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    for name in ["session", "bearer", "operator", "api_key"] {
        assert!(schemes.contains_key(name), "the {name} scheme");
    }

    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            let at = format!("{method} {path}");
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(!id.is_empty(), "{at} has an operationId");
            if let Some(other) = ids.insert(id.to_owned(), at.clone()) {
                panic!("{at} and {other} share the operationId {id}");
            }
            let responses = op["responses"].as_object().expect("responses");
            assert!(!responses.is_empty(), "{at} lists its responses");
            for security in op["security"].as_array().into_iter().flatten() {
                for name in security.as_object().expect("a requirement").keys() {
                    assert!(schemes.contains_key(name), "{at}: scheme {name}");
                }
            }
            let declared: BTreeSet<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str())
                .collect();
            let in_path: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .collect();
            assert_eq!(declared, in_path, "{at} declares its path parameters");
        }
    }
}

/// Where routes may be registered without `routes!`: the static files (documented
/// by the same function that registers them) and the metrics listener (not public).
const REGISTERS_BESIDE_THE_DOCUMENT: [&str; 2] =
    ["libs/web/src/assets.rs", "libs/http/src/serve.rs"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_route_is_registered_beside_the_document() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace");
    let mut files = Vec::new();
    for dir in [
        "services/intake/src",
        "services/routing/src",
        "services/notification/src",
        "services/analytics/src",
        "services/mashang/src",
        "libs/http/src",
        "libs/web/src",
        "libs/auth/src",
    ] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut found = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(root)
            .expect("under the workspace")
            .to_string_lossy()
            .into_owned();
        if REGISTERS_BESIDE_THE_DOCUMENT.contains(&rel.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a source file");
        // Unit tests build their own small routers.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (n, line) in code.lines().enumerate() {
            let t = line.trim_start();
            if t.starts_with("//") {
                continue;
            }
            for call in [".route(", ".route_service(", ".nest_service(", ".nest("] {
                if t.contains(call) {
                    found.push(format!("{rel}:{}: {}", n + 1, t));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "routes registered without `routes!` (so not in the OpenAPI document):\n{}",
        found.join("\n")
    );
}
