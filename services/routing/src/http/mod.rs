//! Routing's HTTP surface: sign-in, the county's tenant administration, the township
//! directory (grid tree, people, categories, QR codes, import and export, API tokens),
//! and cases.

mod assignment;
mod attachments;
mod auth;
mod calendar_config;
mod case_actions;
mod case_list;
mod case_uploads;
mod cases;
mod categories;
pub(crate) mod change_log;
mod county;
mod county_cases;
mod county_people;
mod extensions;
mod grid;
mod open311_keys;
mod pages;
mod people;
mod qr;
mod reapply;
mod reply_templates;
mod settings;
mod signin_link;
mod tokens;
mod transfer;

use axum::Router;
use mashang_auth::Principal;
use mashang_auth::permissions::{Action, Target, authorize};
use mashang_db::TenantTx;
use mashang_http::ApiError;
use utoipa_axum::router::OpenApiRouter;

use crate::RoutingState;
use crate::directory::DirectoryError;

/// Routing's routes, each registered with its OpenAPI description.
pub fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .merge(auth::routes())
        .merge(county::routes())
        .merge(change_log::routes())
        .merge(county_cases::routes())
        .merge(county_people::routes())
        .merge(grid::routes())
        .merge(people::routes())
        .merge(qr::routes())
        .merge(categories::routes())
        .merge(tokens::routes())
        .merge(open311_keys::routes())
        .merge(settings::routes())
        .merge(assignment::routes())
        .merge(reapply::routes())
        .merge(extensions::routes())
        .merge(transfer::routes())
        .merge(cases::routes())
        .merge(attachments::routes())
        .merge(case_uploads::routes())
        .merge(reply_templates::routes())
        .merge(pages::routes())
        .merge(signin_link::routes())
}

/// Routing's router.
pub fn router(state: RoutingState) -> Router {
    routes().split_for_parts().0.with_state(state)
}

/// Routing's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// A transaction in the principal's own township: the only way handlers reach tenant
/// data, so another township's rows are simply not there (404).
pub(crate) async fn tenant_tx(
    state: &RoutingState,
    principal: &Principal,
) -> Result<TenantTx, ApiError> {
    Ok(state.db.tenant(principal.require_tenant()?).await?)
}

/// Checks the permission matrix.
pub(crate) fn allow(
    principal: &Principal,
    action: Action,
    target: Target<'_>,
) -> Result<(), ApiError> {
    authorize(principal, action, target).map_err(ApiError::from)
}

/// The client-facing error for a directory failure.
pub(crate) fn directory_error(err: DirectoryError) -> ApiError {
    match err {
        DirectoryError::Invalid(message) => ApiError::field("body", message),
        DirectoryError::Duplicate(what) => {
            ApiError::Conflict(format!("已存在 (already exists): {what}"))
        }
        DirectoryError::NotFound(_) => ApiError::NotFound,
        DirectoryError::Db(err) => ApiError::internal(err),
    }
}

impl From<DirectoryError> for ApiError {
    fn from(err: DirectoryError) -> Self {
        directory_error(err)
    }
}
