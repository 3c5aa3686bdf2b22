//! The page layer every service that renders pages shares: the base layout
//! (`templates/web/layout.html`, extended by each service's templates through its
//! `askama.toml`), the security headers, CSRF in plain forms, static files with
//! long-lived versioned URLs, the page language and the words all pages use.
//! Services keep only their own pages and their own words.

pub mod api_docs;
pub mod assets;
pub mod csrf;
pub mod headers;
mod lang;
pub mod staff;
pub mod strings;

pub use assets::{Asset, Assets};
pub use headers::{CITIZEN, PageHeaders, STAFF};
pub use lang::Lang;
pub use staff::{Nav, StaffHeader};

#[cfg(test)]
mod tests {
    use askama::Template;

    /// A page as a service writes one: its own template extending the shared layout.
    #[derive(Template)]
    #[template(
        ext = "html",
        source = r#"{% extends "web/layout.html" %}{% block lang %}{{ lang }}{% endblock %}
{% block title %}标题{% endblock %}{% block content %}<p>{{ text }}</p>{% endblock %}"#
    )]
    struct Page<'a> {
        lang: &'a str,
        text: &'a str,
    }

    #[test]
    fn a_page_fills_the_layout_and_is_escaped() {
        let html = Page {
            lang: "en",
            text: "<b>",
        }
        .render()
        .expect("the page renders");
        assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">"));
        assert!(html.contains("<title>标题</title>"));
        assert!(html.contains("<main>\n<p>&#60;b&#62;</p>\n</main>"));
    }
}
