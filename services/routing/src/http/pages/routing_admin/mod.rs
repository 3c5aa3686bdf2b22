//! The administrator's pages for who gets which case and the words used on it: the
//! assignment rules (`/admin/assignment-rules`), each person's duty, leave and
//! substitute (`/admin/people/{id}/duty`, summed up on the people pages), and the
//! reply-template library (`/admin/reply-templates`), and the Open311 keys of outside
//! systems (`/admin/open311-keys`). Each form goes through the same
//! functions as the JSON API (`crate::http::assignment`, `crate::http::reply_templates`).

mod duty;
mod open311;
mod phrases;
mod rules;

use axum::Router;
use axum::routing::{get, post};

pub(super) use duty::{DutyNow, duty_now};

use crate::RoutingState;

pub(super) fn routes() -> Router<RoutingState> {
    Router::new()
        .route("/admin/assignment-rules", get(rules::page).post(rules::add))
        .route("/admin/assignment-rules/{id}/delete", post(rules::delete))
        .route("/admin/people/{id}/duty", get(duty::page).post(duty::save))
        .route("/admin/open311-keys", get(open311::page).post(open311::add))
        .route("/admin/open311-keys/{id}/revoke", post(open311::revoke))
        .route(
            "/admin/reply-templates",
            get(phrases::page).post(phrases::add),
        )
        .route("/admin/reply-templates/defaults", post(phrases::defaults))
        .route("/admin/reply-templates/{id}", post(phrases::edit))
        .route("/admin/reply-templates/{id}/{action}", post(phrases::act))
}

/// The confirmation after a form, from the `?ok=` of the redirect (a fixed set of
/// messages: nothing from the URL is shown).
fn notice(ok: Option<&str>) -> Option<&'static str> {
    Some(match ok? {
        "added" => "已添加。(Added.)",
        "saved" => "已保存。(Saved.)",
        "deleted" => "已删除。(Deleted.)",
        "moved" => "已调整顺序。(Moved.)",
        "restored" => "已补回默认常用语。(The defaults are back.)",
        _ => return None,
    })
}
