//! The OpenAPI document a process serves (`GET /api/v1/openapi.json`) and the same
//! document as a page (`GET /api/v1/docs`), rendered on the server from the document
//! with the shared layout: nothing is fetched from elsewhere.

use std::sync::{Arc, LazyLock};

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::assets::{Asset, Assets, STAFF_CSS};
use crate::headers::STAFF;

const API_CSS: Asset = Asset::css("api.css", include_str!("../static/api.css"));
static FILES: [Asset; 2] = [STAFF_CSS, API_CSS];
static ASSETS: LazyLock<Assets> = LazyLock::new(|| Assets::new("api", &FILES));

/// The document and its page, made once when the process starts.
#[derive(Debug)]
pub struct ApiDocs {
    json: String,
    html: String,
}

fn routes() -> OpenApiRouter<Arc<ApiDocs>> {
    OpenApiRouter::new()
        .routes(routes!(openapi_json))
        .routes(routes!(reference))
        .merge(ASSETS.router())
}

/// The document of the services' `parts` together with these routes' own, and the
/// router that serves it as JSON and as a page.
pub fn serve(parts: impl IntoIterator<Item = OpenApi>) -> (Router, OpenApi) {
    let (router, own) = routes().split_for_parts();
    let doc = mashang_http::openapi::assemble(parts.into_iter().chain([own]));
    let docs = ApiDocs::new(&doc);
    (router.with_state(Arc::new(docs)), doc)
}

impl ApiDocs {
    fn new(doc: &OpenApi) -> Self {
        let json = doc
            .to_json()
            .expect("an OpenAPI document built in code serialises to JSON");
        let value: Value = serde_json::from_str(&json).unwrap_or(Value::Null);
        let html = ReferencePage::from_document(&value)
            .render()
            .unwrap_or_else(|err| format!("<!doctype html><p>{err}</p>"));
        Self { json, html }
    }
}

/// `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of the services this process runs.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "api", operation_id = "openapi_document",
    security(()),
    responses((status = 200, description = "OpenAPI 3.1 文档 (The OpenAPI 3.1 document)", body = Object)))]
async fn openapi_json(State(docs): State<Arc<ApiDocs>>) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        docs.json.clone(),
    )
        .into_response()
}

/// `GET /api/v1/docs`: the same document as a page.
#[utoipa::path(get, path = "/api/v1/docs", tag = "api", operation_id = "api_reference_page",
    security(()),
    responses((status = 200, description = "接口参考页面 (The API reference page)", content_type = "text/html", body = String)))]
async fn reference(State(docs): State<Arc<ApiDocs>>) -> Response {
    STAFF.page(StatusCode::OK, docs.html.clone())
}

#[derive(Template)]
#[template(path = "web/api_reference.html")]
struct ReferencePage {
    staff_css: String,
    api_css: String,
    description: String,
    version: String,
    count: usize,
    schemes: Vec<Scheme>,
    errors: Vec<ErrorKind>,
    tags: Vec<Tag>,
}

struct Scheme {
    name: String,
    text: String,
}

struct ErrorKind {
    status: String,
    kind: String,
    title: String,
}

struct Tag {
    name: String,
    ops: Vec<Op>,
}

struct Op {
    id: String,
    method: String,
    path: String,
    summary: String,
    security: String,
    params: Vec<String>,
    body: Vec<String>,
    responses: Vec<String>,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// A short name for a schema: its component name, its type, or `object`.
fn schema_name(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_owned();
    }
    let kind = match schema.get("type") {
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("|"),
        Some(kind) => text(kind),
        None => "any".to_owned(),
    };
    let format = schema
        .get("format")
        .and_then(Value::as_str)
        .map(|f| format!(" ({f})"))
        .unwrap_or_default();
    if kind == "array" {
        return format!("array of {}", schema_name(&schema["items"]));
    }
    format!("{kind}{format}")
}

fn security_of(op: &Value, root: &Value) -> String {
    let reqs = op.get("security").unwrap_or(&root["security"]);
    let names: Vec<String> = reqs
        .as_array()
        .map(|reqs| {
            reqs.iter()
                .filter_map(Value::as_object)
                .filter(|r| !r.is_empty())
                .map(|r| r.keys().cloned().collect::<Vec<_>>().join(" + "))
                .collect()
        })
        .unwrap_or_default();
    names.join(" 或 (or) ")
}

fn response_line(status: &str, response: &Value, root: &Value) -> String {
    let resolved = match response.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or(r);
            &root["components"]["responses"][name]
        }
        None => response,
    };
    let types: Vec<String> = resolved["content"]
        .as_object()
        .map(|c| {
            c.iter()
                .map(|(t, m)| format!("{t}: {}", schema_name(&m["schema"])))
                .collect()
        })
        .unwrap_or_default();
    let mut line = format!("{status} — {}", text(&resolved["description"]));
    if !types.is_empty() {
        line.push_str(&format!(" [{}]", types.join("; ")));
    }
    line
}

impl ReferencePage {
    fn from_document(doc: &Value) -> Self {
        let mut tags: Vec<Tag> = Vec::new();
        let mut count = 0;
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                if !op.is_object() || op.get("responses").is_none() {
                    continue;
                }
                count += 1;
                let tag = op["tags"][0].as_str().unwrap_or("other").to_owned();
                let params = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        let required = if p["required"].as_bool() == Some(true) {
                            ""
                        } else {
                            "?"
                        };
                        format!(
                            "{}{required} ({}): {}",
                            text(&p["name"]),
                            text(&p["in"]),
                            schema_name(&p["schema"])
                        )
                    })
                    .collect();
                let body = op["requestBody"]["content"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(t, m)| format!("{t}: {}", schema_name(&m["schema"])))
                    .collect();
                let responses = op["responses"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(status, r)| response_line(status, r, doc))
                    .collect();
                let summary = [text(&op["summary"]), text(&op["description"])]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                let entry = Op {
                    id: text(&op["operationId"]),
                    method: method.clone(),
                    path: path.clone(),
                    summary,
                    security: security_of(op, doc),
                    params,
                    body,
                    responses,
                };
                match tags.iter_mut().find(|t| t.name == tag) {
                    Some(t) => t.ops.push(entry),
                    None => tags.push(Tag {
                        name: tag,
                        ops: vec![entry],
                    }),
                }
            }
        }
        tags.sort_by(|a, b| a.name.cmp(&b.name));
        let schemes = doc["components"]["securitySchemes"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, s)| Scheme {
                name: name.clone(),
                text: text(&s["description"]),
            })
            .collect();
        let errors = doc["components"]["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(_, r)| {
                let (_, example) = r["content"]["application/problem+json"]["examples"]
                    .as_object()?
                    .iter()
                    .next()?;
                let v = &example["value"];
                Some(ErrorKind {
                    status: v["status"].to_string(),
                    kind: text(&v["type"]),
                    title: text(&v["title"]),
                })
            })
            .collect();
        Self {
            staff_css: ASSETS.url("staff.css"),
            api_css: ASSETS.url("api.css"),
            description: text(&doc["info"]["description"]),
            version: text(&doc["openapi"]),
            count,
            schemes,
            errors,
            tags,
        }
    }
}
