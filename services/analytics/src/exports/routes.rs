//! The export endpoints: check who asks and what for, then stream.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use mashang_auth::permissions::{Action, Target, allows, authorize, visible_roots};
use mashang_auth::{Auth, Principal, PrincipalKind};
use mashang_domain::TenantId;
use mashang_http::openapi::{
    BadRequestError, Binary, QueryErrors, RateLimited, StaffErrors, Unavailable,
};
use mashang_http::{ApiError, ApiQuery};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::query::{ExportFilter, ExportParams};
use super::rows::{NodeLimits, subtrees};
use super::stream::{self, Format, Job, Part};
use crate::AnalyticsState;

/// The export routes.
pub(crate) fn routes() -> OpenApiRouter<AnalyticsState> {
    OpenApiRouter::new()
        .routes(routes!(township_csv))
        .routes(routes!(township_xlsx))
        .routes(routes!(county_csv))
        .routes(routes!(county_xlsx))
}

/// `GET /api/v1/exports/cases.csv?from=&to=[&node_id=&category=&status=&channel=&handler=&encoding=]`.
#[utoipa::path(get, path = "/api/v1/exports/cases.csv", tag = "analytics", operation_id = "export_township_csv", params(ExportParams),
    responses(
        (status = 200, description = "乡镇事件导出 (The township cases as CSV, streamed)", content_type = "text/csv", body = Binary,
            headers(("Content-Disposition" = String, description = "attachment; the file name"))),
        BadRequestError, StaffErrors, QueryErrors, RateLimited, Unavailable,
    ))]
async fn township_csv(
    State(state): State<AnalyticsState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    township(state, principal, params, false).await
}

/// `GET /api/v1/exports/cases.xlsx?from=&to=[&filters]`.
#[utoipa::path(get, path = "/api/v1/exports/cases.xlsx", tag = "analytics", operation_id = "export_township_xlsx", params(ExportParams),
    responses(
        (status = 200, description = "乡镇事件导出 (The township cases as a spreadsheet, streamed)", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Binary,
            headers(("Content-Disposition" = String, description = "attachment; the file name"))),
        BadRequestError, StaffErrors, QueryErrors, RateLimited, Unavailable,
    ))]
async fn township_xlsx(
    State(state): State<AnalyticsState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    township(state, principal, params, true).await
}

/// `GET /api/v1/county/exports/cases.csv?from=&to=[&township=&filters&encoding=]`.
#[utoipa::path(get, path = "/api/v1/county/exports/cases.csv", tag = "analytics", operation_id = "export_county_csv", params(ExportParams),
    responses(
        (status = 200, description = "全县事件导出 (Every township cases as CSV, streamed)", content_type = "text/csv", body = Binary,
            headers(("Content-Disposition" = String, description = "attachment; the file name"))),
        BadRequestError, StaffErrors, QueryErrors, RateLimited, Unavailable,
    ))]
async fn county_csv(
    State(state): State<AnalyticsState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    county(state, principal, params, false).await
}

/// `GET /api/v1/county/exports/cases.xlsx?from=&to=[&township=&filters]`.
#[utoipa::path(get, path = "/api/v1/county/exports/cases.xlsx", tag = "analytics", operation_id = "export_county_xlsx", params(ExportParams),
    responses(
        (status = 200, description = "全县事件导出 (Every township cases as a spreadsheet, streamed)", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Binary,
            headers(("Content-Disposition" = String, description = "attachment; the file name"))),
        BadRequestError, StaffErrors, QueryErrors, RateLimited, Unavailable,
    ))]
async fn county_xlsx(
    State(state): State<AnalyticsState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    county(state, principal, params, true).await
}

fn format_of(xlsx: bool, encoding: super::csv::CsvEncoding) -> Format {
    if xlsx {
        Format::Xlsx
    } else {
        Format::Csv(encoding)
    }
}

/// A township's staff export their township's cases, limited to what their roles
/// reach (a village head: their village). The citizen's words only for roles that
/// may open the cases.
async fn township(
    state: AnalyticsState,
    principal: Principal,
    params: ExportParams,
    xlsx: bool,
) -> Result<Response, ApiError> {
    if matches!(principal.kind, PrincipalKind::County { .. }) {
        return Err(ApiError::Forbidden(
            "县级账号请使用 /api/v1/county/exports (the county exports through /api/v1/county/exports)"
                .to_owned(),
        ));
    }
    authorize(&principal, Action::ViewStats, Target::List)?;
    let tenant = principal.require_tenant()?;
    let (filter, encoding) = params.check(false)?;
    let format = format_of(xlsx, encoding);
    let permit = state.take_export_permit()?;
    let mut tx = state.db.tenant(tenant).await?;
    let (code, time_zone): (String, String) =
        sqlx::query_as("SELECT code, time_zone FROM routing.tenants WHERE id = $1")
            .bind(tenant.as_uuid())
            .fetch_one(&mut *tx)
            .await?;
    let filter_nodes = node_subtree(&mut tx, tenant, &filter).await?;
    let visible = match visible_roots(&principal, Action::ViewStats) {
        None => None,
        Some(roots) => {
            let roots: Vec<Uuid> = roots.iter().map(|n| n.as_uuid()).collect();
            Some(subtrees(&mut tx, tenant.as_uuid(), &roots).await?)
        }
    };
    tx.commit().await?;
    let description = allows(&principal, Action::ViewCase, Target::List);
    tracing::info!(
        tenant_id = %tenant,
        user = ?principal.user(),
        format = format.extension(),
        from = %filter.from,
        to = %filter.to,
        "cases exported"
    );
    let name = file_name(&code, &filter, format);
    let job = Job {
        format,
        parts: vec![Part {
            tenant,
            time_zone,
            township: None,
            limits: NodeLimits {
                filter: filter_nodes,
                visible,
            },
        }],
        filter,
        description,
        permit,
    };
    Ok(respond(format, &name, stream::start(state.db.clone(), job)))
}

/// The county's staff export every township's cases (or one's), each read recorded.
async fn county(
    state: AnalyticsState,
    principal: Principal,
    params: ExportParams,
    xlsx: bool,
) -> Result<Response, ApiError> {
    if !matches!(principal.kind, PrincipalKind::County { .. }) {
        return Err(ApiError::Forbidden(
            "这里是县综治中心的导出 (the county centre's exports)".to_owned(),
        ));
    }
    authorize(&principal, Action::ViewStats, Target::County)?;
    let (filter, encoding) = params.check(true)?;
    let format = format_of(xlsx, encoding);
    let permit = state.take_export_permit()?;
    let mut global = state.db.global().await?;
    let townships: Vec<(Uuid, String, String, String)> = sqlx::query_as(
        "SELECT id, code, name, time_zone FROM routing.tenants \
         WHERE ($1::text IS NULL OR code = $1) ORDER BY code",
    )
    .bind(filter.township.as_ref().map(|t| t.as_str().to_owned()))
    .fetch_all(&mut *global)
    .await?;
    global.commit().await?;
    if filter.township.is_some() && townships.is_empty() {
        return Err(ApiError::field(
            "township",
            "没有这个乡镇 (no such township)",
        ));
    }
    let mut parts = Vec::with_capacity(townships.len());
    for (id, _, name, time_zone) in &townships {
        let tenant = TenantId::from_uuid(*id);
        let filter_nodes = if filter.node.is_some() {
            let mut tx = state.db.tenant(tenant).await?;
            let nodes = node_subtree(&mut tx, tenant, &filter).await?;
            tx.commit().await?;
            nodes
        } else {
            None
        };
        parts.push(Part {
            tenant,
            time_zone: time_zone.clone(),
            township: Some(Arc::from(name.as_str())),
            limits: NodeLimits {
                filter: filter_nodes,
                visible: None,
            },
        });
    }
    let path = if xlsx {
        "/api/v1/county/exports/cases.xlsx"
    } else {
        "/api/v1/county/exports/cases.csv"
    };
    super::audit::record_county_export(&state.db, &principal, path, &params).await?;
    let code = match &filter.township {
        Some(t) => t.as_str().to_owned(),
        None => "county".to_owned(),
    };
    let name = file_name(&code, &filter, format);
    let job = Job {
        format,
        filter,
        parts,
        // The county's administrators open no cases: no citizen's words for them.
        description: allows(&principal, Action::ViewCase, Target::County),
        permit,
    };
    Ok(respond(format, &name, stream::start(state.db.clone(), job)))
}

/// The `node_id` filter with everything below it; a node the township does not
/// have is a bad field.
async fn node_subtree(
    tx: &mut mashang_db::TenantTx,
    tenant: TenantId,
    filter: &ExportFilter,
) -> Result<Option<Vec<Uuid>>, ApiError> {
    let Some(node) = filter.node else {
        return Ok(None);
    };
    let nodes = subtrees(tx, tenant.as_uuid(), &[node.as_uuid()]).await?;
    if nodes.is_empty() {
        return Err(ApiError::field(
            "node_id",
            "没有这个网格节点 (no such node)",
        ));
    }
    Ok(Some(nodes))
}

/// `cases-{township}-{from}-{to}.{ext}`: ASCII only, so every browser keeps it.
fn file_name(code: &str, filter: &ExportFilter, format: Format) -> String {
    format!(
        "cases-{code}-{}-{}.{}",
        filter.from.format("%Y%m%d"),
        filter.to.format("%Y%m%d"),
        format.extension()
    )
}

fn respond(format: Format, name: &str, body: axum::body::Body) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format.content_type()) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
