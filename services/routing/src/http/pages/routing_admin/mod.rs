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

pub(super) use duty::{DutyNow, duty_now};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::RoutingState;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(rules::page, rules::add))
        .routes(routes!(rules::delete))
        .routes(routes!(duty::page, duty::save))
        .routes(routes!(open311::page, open311::add))
        .routes(routes!(open311::revoke))
        .routes(routes!(phrases::page, phrases::add))
        .routes(routes!(phrases::defaults))
        .routes(routes!(phrases::edit))
        .routes(routes!(phrases::act))
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
