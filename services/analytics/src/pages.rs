//! Analytics' pages under the shared staff header: the dashboards (see
//! [`crate::dashboard`]) and the staff files they link to.

use std::sync::LazyLock;

use mashang_web::{Asset, Assets};
use utoipa_axum::router::OpenApiRouter;

use crate::AnalyticsState;

const FILES: [Asset; 2] = [
    mashang_web::assets::STAFF_CSS,
    mashang_web::assets::HEADER_JS,
];

/// The files analytics' pages link to, under `/static/analytics/`.
pub(crate) static ASSETS: LazyLock<Assets> = LazyLock::new(|| Assets::new("analytics", &FILES));

/// The pages' routes.
pub(crate) fn routes() -> OpenApiRouter<AnalyticsState> {
    OpenApiRouter::new()
        .merge(crate::dashboard::routes())
        .merge(ASSETS.router())
}
