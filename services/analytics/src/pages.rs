//! Analytics' pages under the shared staff header. Today only the place of the
//! county's dashboards (`/county/dashboard`), which come with the analytics figures:
//! a plain page saying so, for county staff.

use std::sync::LazyLock;

use askama::Template;
use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use mashang_auth::permissions::{Action, Target, allows};
use mashang_auth::{MaybeSignedIn, PrincipalKind};
use mashang_http::ApiError;
use mashang_web::staff::{self, StaffHeader};
use mashang_web::{Asset, Assets, strings};

use crate::AnalyticsState;

const FILES: [Asset; 2] = [
    mashang_web::assets::STAFF_CSS,
    mashang_web::assets::HEADER_JS,
];

/// The files analytics' pages link to, under `/static/analytics/`.
static ASSETS: LazyLock<Assets> = LazyLock::new(|| Assets::new("analytics", &FILES));

/// The pages' routes.
pub(crate) fn routes() -> Router<AnalyticsState> {
    Router::new()
        .route("/county/dashboard", get(county_dashboard))
        .merge(ASSETS.router())
}

#[derive(Debug, Template)]
#[template(path = "county_dashboard.html")]
struct DashboardPage {
    chrome: StaffHeader,
}

/// `GET /county/dashboard`: the place of the county's dashboards.
async fn county_dashboard(signed_in: Result<MaybeSignedIn, ApiError>, uri: Uri) -> Response {
    let principal = match signed_in {
        Ok(MaybeSignedIn(Some(p))) => p,
        Ok(MaybeSignedIn(None)) => {
            return Redirect::to(&staff::login_then(uri.path_and_query().map(|p| p.as_str())))
                .into_response();
        }
        Err(err) => {
            let status = err.classify().status();
            return staff::refuse(status, strings::error_title(status), None, &ASSETS);
        }
    };
    if !matches!(principal.kind, PrincipalKind::County { .. })
        || !allows(&principal, Action::ViewStats, Target::County)
    {
        return staff::refuse(
            StatusCode::FORBIDDEN,
            "这里是县综治中心的页面。(These are the county centre's pages.)",
            principal.csrf.as_deref(),
            &ASSETS,
        );
    }
    let page = DashboardPage {
        chrome: StaffHeader::new(&principal, None, &ASSETS),
    };
    staff::page(StatusCode::OK, &page, &ASSETS)
}
