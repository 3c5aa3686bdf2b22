//! The home people land on after signing in that has no pages yet: the county's
//! pages (`/county`). It says, under the staff header, that it is
//! coming.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use mashang_auth::PrincipalKind;

use super::layout::{Chrome, PageError, Person, render};

#[derive(Debug, Template)]
#[template(path = "console/soon.html")]
struct SoonPage {
    chrome: Chrome,
    title_zh: &'static str,
    title_en: &'static str,
    soon_zh: &'static str,
    soon_en: &'static str,
}

/// `GET /county`: the county's pages.
pub(super) async fn county(person: Person) -> Result<Response, PageError> {
    if !matches!(person.principal.kind, PrincipalKind::County { .. }) {
        return Err(PageError::Refused {
            status: StatusCode::FORBIDDEN,
            message: "这里是县综治中心的页面。(These are the county centre's pages.)".to_owned(),
            csrf: Some(person.chrome.csrf),
        });
    }
    Ok(render(
        StatusCode::OK,
        &SoonPage {
            chrome: person.chrome,
            title_zh: "县综治中心",
            title_en: "County centre",
            soon_zh: "县级页面即将上线。",
            soon_en: "The county's pages are coming soon.",
        },
    ))
}
