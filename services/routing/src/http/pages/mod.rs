//! The township administrator's pages, rendered on the server in Chinese: sign in, the
//! grid tree, import and export, people and their roles, QR codes and posters. Plain
//! HTML forms, no script; every form posts to an action ending in `?_csrf=<token>`,
//! which the `MaybeAuth` extractor checks. The township is always the signed-in
//! person's own; ids of another township's objects answer 404.

mod home;
mod layout;
mod node;
mod people;
mod person;
mod posters;
mod signin;
mod transfer;
mod tree;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::RoutingState;
use crate::directory::import::MAX_IMPORT_BYTES;

pub(super) fn routes() -> Router<RoutingState> {
    Router::new()
        .route("/admin", get(home::home))
        .route("/admin/login", get(signin::login_page).post(signin::login))
        .route("/admin/logout", post(signin::logout))
        .route("/admin/reset", get(signin::reset_page).post(signin::reset))
        .route("/admin/grid", get(tree::page))
        .route("/admin/grid/nodes", post(tree::create))
        .route("/admin/grid/nodes/{id}", get(node::show))
        .route("/admin/grid/nodes/{id}/rename", post(node::rename))
        .route("/admin/grid/nodes/{id}/move", post(node::move_node))
        .route("/admin/grid/nodes/{id}/active", post(node::set_active))
        .route(
            "/admin/import",
            get(transfer::page)
                .post(transfer::upload)
                .layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES + 64 * 1024)),
        )
        .route("/admin/people", get(people::list).post(people::create))
        .route("/admin/people/{id}", get(person::show).post(person::update))
        .route("/admin/people/{id}/reset-code", post(person::reset_code))
        .route("/admin/posters", get(posters::page))
        .route("/admin/posters/issue-missing", post(posters::issue_missing))
}
