//! `GET /api/v1/reports/self-assessment.docx` (a township's) and
//! `GET /api/v1/county/reports/self-assessment.docx` (the county's).

use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use mashang_auth::permissions::{Action, Target, authorize};
use mashang_auth::{Auth, PrincipalKind};
use mashang_http::{ApiError, ApiQuery};

use super::download::{self, PeriodQuery};
use super::{ReportError, county_docx, source, township_docx};
use crate::AnalyticsState;
use crate::stats_api::{county_tx, period};

/// The reports' routes.
pub(crate) fn routes() -> Router<AnalyticsState> {
    Router::new()
        .route("/api/v1/reports/self-assessment.docx", get(township))
        .route("/api/v1/county/reports/self-assessment.docx", get(county))
}

/// Writes the document off the async workers: drawing the charts takes a while.
async fn render<T, F>(data: T, write: F) -> Result<Vec<u8>, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&T) -> Result<Vec<u8>, ReportError> + Send + 'static,
{
    tokio::task::spawn_blocking(move || write(&data))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

/// `GET /api/v1/reports/self-assessment.docx?from=&to=`: the signed-in person's
/// township, for those who see its figures as a whole.
#[tracing::instrument(skip_all)]
async fn township(
    State(state): State<AnalyticsState>,
    Auth(principal): Auth,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> Result<Response, ApiError> {
    if matches!(principal.kind, PrincipalKind::County { .. }) {
        return Err(ApiError::Forbidden(
            "县级用户请下载全县报告 (the county's report is at /api/v1/county/reports/self-assessment.docx)"
                .to_owned(),
        ));
    }
    authorize(&principal, Action::ViewStats, Target::Township)?;
    let period = period(q.from.as_deref(), q.to.as_deref())?;
    let tenant = principal.require_tenant()?;
    let mut tx = state.db.tenant(tenant).await?;
    let data = source::township(&mut tx, period).await?;
    let code = source::township_code(&mut tx).await?;
    tx.commit().await?;
    let (name, fallback) = download::file_names(&data.township, &code, &data.period);
    let body = render(data, township_docx).await?;
    Ok(download::response(body, &name, &fallback))
}

/// `GET /api/v1/county/reports/self-assessment.docx?from=&to=`: every township side by
/// side, for the county's roles; each download is recorded.
#[tracing::instrument(skip_all)]
async fn county(
    State(state): State<AnalyticsState>,
    Auth(principal): Auth,
    uri: Uri,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> Result<Response, ApiError> {
    let period = period(q.from.as_deref(), q.to.as_deref())?;
    let mut tx = county_tx(&state, &principal, &uri).await?;
    let db = state.db.clone();
    let data = source::county(&mut tx, period, |tenant| {
        let db = db.clone();
        async move {
            let mut t = db
                .tenant(mashang_domain::TenantId::from_uuid(tenant))
                .await?;
            let codes = source::township_codes(&mut t, period).await?;
            t.commit().await?;
            Ok::<_, ApiError>(codes)
        }
    })
    .await?;
    tx.commit().await?;
    let (name, fallback) = download::file_names("全县", "county", &data.period);
    let body = render(data, county_docx).await?;
    Ok(download::response(body, &name, &fallback))
}
