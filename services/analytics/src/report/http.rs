//! `GET /api/v1/reports/self-assessment.docx` (a township's) and
//! `GET /api/v1/county/reports/self-assessment.docx` (the county's).

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use mashang_auth::permissions::{Action, Target, authorize};
use mashang_auth::{Auth, PrincipalKind};
use mashang_http::openapi::{BadRequestError, Binary, QueryErrors, StaffErrors, Unavailable};
use mashang_http::{ApiError, ApiQuery};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::download::{self, PeriodQuery};
use super::{ReportError, county_docx, source, township_docx};
use crate::AnalyticsState;
use crate::stats_api::{county_tx, period};

/// The reports' routes.
pub(crate) fn routes() -> OpenApiRouter<AnalyticsState> {
    OpenApiRouter::new()
        .routes(routes!(township))
        .routes(routes!(county))
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
#[utoipa::path(get, path = "/api/v1/reports/self-assessment.docx", tag = "analytics", operation_id = "township_self_assessment", params(PeriodQuery),
    responses(
        (status = 200, description = "乡镇自评报告 (The township self-assessment report, a Word document)", content_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document", body = Binary,
            headers(("Content-Disposition" = String, description = "attachment; the file name in Chinese (RFC 6266)"))),
        BadRequestError, StaffErrors, QueryErrors, Unavailable,
    ))]
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
#[utoipa::path(get, path = "/api/v1/county/reports/self-assessment.docx", tag = "analytics", operation_id = "county_self_assessment", params(PeriodQuery),
    responses(
        (status = 200, description = "全县自评报告 (The county self-assessment report, a Word document)", content_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document", body = Binary,
            headers(("Content-Disposition" = String, description = "attachment; the file name in Chinese (RFC 6266)"))),
        BadRequestError, StaffErrors, QueryErrors, Unavailable,
    ))]
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
