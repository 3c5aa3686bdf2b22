//! Static files (stylesheets, scripts), embedded in the binary and served under a URL
//! that carries a hash of their content, so a phone keeps them for a year and fetches
//! them again only when they change. Each service serves its own set under its own
//! prefix (`/static/{prefix}/{version}/{file}`), so sets never collide when the
//! services share one process, and an ingress can route them by prefix.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::openapi::Required;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa_axum::router::OpenApiRouter;

/// One embedded file.
#[derive(Clone, Copy, Debug)]
pub struct Asset {
    /// Its file name in the URL.
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its content.
    pub body: &'static str,
}

impl Asset {
    /// A stylesheet.
    pub const fn css(name: &'static str, body: &'static str) -> Self {
        Self {
            name,
            content_type: "text/css; charset=utf-8",
            body,
        }
    }

    /// A script.
    pub const fn js(name: &'static str, body: &'static str) -> Self {
        Self {
            name,
            content_type: "text/javascript; charset=utf-8",
            body,
        }
    }
}

/// The stylesheet of the staff pages (admin today, the console next).
pub const STAFF_CSS: Asset = Asset::css("staff.css", include_str!("../static/staff.css"));

/// The staff header's script: fills the unread-notices badge from `/api/v1/inbox`.
pub const HEADER_JS: Asset = Asset::js("header.js", include_str!("../static/header.js"));

/// The console's case pages' stylesheet: cards, big buttons, countdowns.
pub const CONSOLE_CSS: Asset = Asset::css("console.css", include_str!("../static/console.css"));

/// The console's case pages' script (an enhancement only): live countdowns, standard
/// phrases filled in place, photos shrunk before upload.
pub const CONSOLE_JS: Asset = Asset::js("console.js", include_str!("../static/console.js"));

/// A service's set of files, served together under one version.
#[derive(Debug)]
pub struct Assets {
    prefix: &'static str,
    files: &'static [Asset],
    version: String,
}

/// FNV-1a: enough to tell two versions of a file apart.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl Assets {
    /// The set `files`, served under `/static/{prefix}/`.
    pub fn new(prefix: &'static str, files: &'static [Asset]) -> Self {
        let hash = files.iter().fold(0_u64, |hash, f| {
            hash.rotate_left(17) ^ fnv1a(f.body.as_bytes())
        });
        Self {
            prefix,
            files,
            version: format!("{:012x}", hash & 0xffff_ffff_ffff),
        }
    }

    /// The URL of the file `name` of this set, with the set's version.
    pub fn url(&self, name: &str) -> String {
        format!("/static/{}/{}/{name}", self.prefix, self.version)
    }

    /// The route that serves the set, documented in the same place (its path carries
    /// the set's prefix, so it is described here rather than by an annotation).
    pub fn router<S: Clone + Send + Sync + 'static>(&'static self) -> OpenApiRouter<S> {
        let path = format!("/static/{}/{{version}}/{{file}}", self.prefix);
        let mut router = OpenApiRouter::new().route(
            &path,
            get(
                move |Path((version, file)): Path<(String, String)>, headers: HeaderMap| async move {
                    self.serve(&version, &file, &headers)
                },
            ),
        );
        router.get_openapi_mut().paths.add_path_operation(
            &path,
            vec![HttpMethod::Get],
            self.operation(),
        );
        router
    }

    /// The set's one operation in the OpenAPI document.
    fn operation(&self) -> Operation {
        let param = |name: &str, description: &str| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(description))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .max_length(Some(100)),
                ))
                .build()
        };
        let mut ok = ResponseBuilder::new()
            .description("文件 (The file; kept a year when the version is current)");
        let mut types: Vec<&str> = self.files.iter().map(|f| f.content_type).collect();
        types.dedup();
        for t in types {
            ok = ok.content(
                t,
                ContentBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            );
        }
        OperationBuilder::new()
            .operation_id(Some(format!("static_{}", self.prefix.replace('-', "_"))))
            .tag("static")
            .summary(Some(format!("静态文件 (`{}` static files)", self.prefix)))
            .parameter(param(
                "version",
                "The set's version (any value is served; only the current one is cached).",
            ))
            .parameter(param(
                "file",
                &format!(
                    "One of: {}.",
                    self.files
                        .iter()
                        .map(|f| f.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
            .security(SecurityRequirement::default())
            .response("200", ok.build())
            .response(
                "304",
                ResponseBuilder::new()
                    .description("未修改 (Not modified: the `ETag` matches)")
                    .build(),
            )
            .response(
                "404",
                ResponseBuilder::new()
                    .description("没有这个文件 (No such file; empty body)")
                    .build(),
            )
            .build()
    }

    fn serve(&self, version: &str, file: &str, headers: &HeaderMap) -> Response {
        let Some(asset) = self.files.iter().find(|a| a.name == file) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let etag = format!("\"{}\"", self.version);
        // An old page asking for an old version during a roll-out gets today's file,
        // but must not keep it for a year under the old name.
        let cache = if version == self.version {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        let mut response = if headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag))
        {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            ([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response()
        };
        let out = response.headers_mut();
        out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        out.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if let Ok(value) = HeaderValue::from_str(&etag) {
            out.insert(header::ETAG, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILES: [Asset; 2] = [Asset::css("a.css", "a{}"), Asset::js("a.js", "1")];

    #[test]
    fn urls_carry_the_content_version() {
        let set = Assets::new("x", &FILES);
        assert_eq!(set.version.len(), 12);
        assert_eq!(set.url("a.css"), format!("/static/x/{}/a.css", set.version));
        const CHANGED: [Asset; 2] = [Asset::css("a.css", "b{}"), Asset::js("a.js", "1")];
        assert_ne!(Assets::new("x", &CHANGED).version, set.version);
    }

    #[test]
    fn the_current_version_is_kept_a_year_and_an_old_one_is_revalidated() {
        let set = Assets::new("x", &FILES);
        let none = HeaderMap::new();
        let current = set.serve(&set.version, "a.css", &none);
        assert_eq!(current.status(), StatusCode::OK);
        assert_eq!(
            current.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            current.headers()[header::CONTENT_TYPE],
            "text/css; charset=utf-8"
        );
        let old = set.serve("000000000000", "a.css", &none);
        assert_eq!(old.headers()[header::CACHE_CONTROL], "no-cache");
        let mut cached = HeaderMap::new();
        let etag = current.headers()[header::ETAG].clone();
        cached.insert(header::IF_NONE_MATCH, etag);
        assert_eq!(
            set.serve(&set.version, "a.css", &cached).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            set.serve(&set.version, "b.css", &none).status(),
            StatusCode::NOT_FOUND
        );
    }
}
