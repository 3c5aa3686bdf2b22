//! The staff pages' sign-in (`/login`, for every role, which then sends each person to
//! their home), the console's case pages, the county centre's pages (`/county…`,
//! see `county`), and the township administrator's pages, rendered on the server in Chinese: the
//! grid tree, import and export, people and their roles, QR codes and posters. Plain
//! HTML forms (the only script fills the header's unread-notices badge); every form sends the session's CSRF token as a hidden
//! `_csrf` field (never in the URL), which the shared page layer's
//! [`form_csrf`](mashang_web::csrf::form_csrf) moves into the header the
//! `MaybeSignedIn` extractor checks. The layout, headers and stylesheet are the shared
//! page layer's (`mashang_web`). The township is always the signed-in person's own;
//! ids of another township's objects answer 404.

mod audit;
mod case_fmt;
mod case_forms;
mod case_page;
mod centre_approvals;
mod centre_cases;
mod centre_follow_ups;
mod centre_names;
mod centre_overdue;
mod centre_queue;
mod county;
mod county_case;
mod county_search;
mod county_supervision;
mod county_townships;
mod county_views;
mod home;
mod layout;
mod my_cases;
mod node;
mod people;
mod person;
mod posters;
mod routing_admin;
mod rules;
mod signin;
mod transfer;
mod tree;

use std::sync::LazyLock;

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use mashang_web::csrf::{FormLimits, form_csrf};
use mashang_web::{Asset, Assets};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::RoutingState;
use crate::directory::import::MAX_IMPORT_BYTES;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(signin::login_page, signin::login))
        .routes(routes!(signin::reset_page, signin::reset))
        .routes(routes!(signin::logout))
        .routes(routes!(my_cases::page))
        .routes(routes!(case_page::show))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(case_forms::act))
                .layer(DefaultBodyLimit::max(MAX_CASE_FORM_BYTES)),
        )
        .routes(routes!(centre_queue::page))
        .routes(routes!(centre_cases::page))
        .routes(routes!(centre_overdue::page))
        .routes(routes!(centre_approvals::page))
        .routes(routes!(centre_follow_ups::page))
        .routes(routes!(centre_approvals::decision))
        .routes(routes!(centre_approvals::request))
        // The addresses of the administrator-only sign-in, kept for old bookmarks
        // and links (308 keeps a form post a post).
        .routes(routes!(signin::moved_login, signin::moved_login_post))
        .routes(routes!(signin::moved_reset, signin::moved_reset_post))
        .routes(routes!(signin::admin_logout))
        .routes(routes!(home::home))
        .routes(routes!(tree::page))
        .routes(routes!(tree::create))
        .routes(routes!(node::show))
        .routes(routes!(node::rename))
        .routes(routes!(node::move_node))
        .routes(routes!(node::set_active))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(transfer::page, transfer::upload))
                .layer(DefaultBodyLimit::max(MAX_MULTIPART_BYTES)),
        )
        .routes(routes!(people::list, people::create))
        .routes(routes!(person::show, person::update))
        .routes(routes!(person::reset_code))
        .routes(routes!(posters::page))
        .routes(routes!(posters::issue_missing))
        .merge(rules::routes())
        .routes(routes!(audit::township))
        .routes(routes!(audit::county))
        .merge(routing_admin::routes())
        .merge(county::routes())
        .layer(middleware::from_fn_with_state(
            FormLimits::new(MAX_MULTIPART_BYTES.max(MAX_CASE_FORM_BYTES)),
            form_csrf,
        ))
        .merge(ASSETS.router())
}

/// The largest multipart body the pages take (the import upload and its fields).
const MAX_MULTIPART_BYTES: usize = MAX_IMPORT_BYTES + 64 * 1024;

/// The largest case form: a resolution with a few full-size phone photos (the
/// console's script shrinks them first where it runs).
const MAX_CASE_FORM_BYTES: usize =
    3 * crate::http::case_uploads::MAX_STAFF_PHOTO_BYTES as usize + 64 * 1024;

/// The files the pages link to, under `/static/admin/`.
const FILES: [Asset; 5] = [
    mashang_web::assets::STAFF_CSS,
    mashang_web::assets::HEADER_JS,
    mashang_web::assets::CONSOLE_CSS,
    mashang_web::assets::CONSOLE_JS,
    CENTRE_CSS,
];
static ASSETS: LazyLock<Assets> = LazyLock::new(|| Assets::new("admin", &FILES));

/// The header script's URL, for the layout.
pub(super) fn header_js_url() -> String {
    ASSETS.url(mashang_web::assets::HEADER_JS.name)
}

/// The stylesheet's URL, for the layout.
pub(super) fn css_url() -> String {
    ASSETS.url(mashang_web::assets::STAFF_CSS.name)
}

/// The township centre's pages' own styles (tables that turn into cards on a phone).
const CENTRE_CSS: Asset = Asset::css("centre.css", include_str!("../../../static/centre.css"));

/// The centre pages' stylesheet URL.
pub(super) fn centre_css_url() -> String {
    ASSETS.url(CENTRE_CSS.name)
}

/// The console pages' stylesheet (cards, big buttons, countdowns).
pub(super) fn console_css_url() -> String {
    ASSETS.url(mashang_web::assets::CONSOLE_CSS.name)
}

/// The console pages' script (countdowns, phrase chips, photo shrinking).
pub(super) fn console_js_url() -> String {
    ASSETS.url(mashang_web::assets::CONSOLE_JS.name)
}
