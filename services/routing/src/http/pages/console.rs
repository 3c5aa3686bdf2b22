//! The homes people land on after signing in that have no pages yet: the township
//! centre's queue (`/console/queue`) and
//! the county's pages (`/county`). Each says, under the staff header, that it is
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

/// Which accounts a page is for.
#[derive(Clone, Copy, Debug)]
enum For {
    Township,
    County,
}

fn soon(
    person: Person,
    audience: For,
    title: (&'static str, &'static str),
    soon: (&'static str, &'static str),
) -> Result<Response, PageError> {
    let county = matches!(person.principal.kind, PrincipalKind::County { .. });
    match (audience, county) {
        (For::Township, true) => {
            return Err(PageError::Refused {
                status: StatusCode::FORBIDDEN,
                message:
                    "这里是乡镇的页面，请使用乡镇账号登录。(A township account is needed here.)"
                        .to_owned(),
                csrf: Some(person.chrome.csrf),
            });
        }
        (For::County, false) => {
            return Err(PageError::Refused {
                status: StatusCode::FORBIDDEN,
                message: "这里是县综治中心的页面。(These are the county centre's pages.)"
                    .to_owned(),
                csrf: Some(person.chrome.csrf),
            });
        }
        _ => {}
    }
    Ok(render(
        StatusCode::OK,
        &SoonPage {
            chrome: person.chrome,
            title_zh: title.0,
            title_en: title.1,
            soon_zh: soon.0,
            soon_en: soon.1,
        },
    ))
}

/// `GET /console/queue`: the township centre's queue.
pub(super) async fn queue(person: Person) -> Result<Response, PageError> {
    soon(
        person,
        For::Township,
        ("受理审核", "Triage queue"),
        (
            "综治中心的案件队列即将上线。",
            "The township centre's case queue is coming soon.",
        ),
    )
}

/// `GET /county`: the county's pages.
pub(super) async fn county(person: Person) -> Result<Response, PageError> {
    soon(
        person,
        For::County,
        ("县综治中心", "County centre"),
        ("县级页面即将上线。", "The county's pages are coming soon."),
    )
}
