//! Import and export of the grid tree and the people (CSV and XLSX), and the templates.

use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use mashang_auth::Auth;
use mashang_auth::permissions::{Action, Target};
use mashang_http::{ApiError, ApiQuery};
use serde::Deserialize;
use serde_json::json;

use super::{allow, tenant_tx};
use crate::RoutingState;
use crate::directory::import::{
    self, ImportError, ImportFormat, ImportRejection, MAX_IMPORT_BYTES,
};
use mashang_http::openapi::{
    Binary, ConflictError, FormBodyErrors, JsonBodyErrors, NotFoundError, StaffErrors, Unavailable,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(import_file))
        .layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES + 64 * 1024))
        .routes(routes!(export_xlsx))
        .routes(routes!(export_csv))
        .routes(routes!(template_xlsx))
        .routes(routes!(template_csv))
}

/// The problem+json answer to a refused file: every file and row error, with its row.
pub(crate) fn rejection_response(rejection: &ImportRejection) -> Response {
    let status =
        StatusCode::from_u16(rejection.http_status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    let body = json!({
        "type": "urn:mashang:problem:import-rejected",
        "title": "导入文件有误，未写入任何内容 (The file was refused; nothing was written)",
        "status": status.as_u16(),
        "detail": rejection.summary(),
        "file_errors": rejection.file_errors,
        "row_errors": rejection.row_errors,
        "row_error_count": rejection.row_error_count,
    });
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/problem+json"),
    );
    response
}

fn import_error(err: ImportError) -> Response {
    match err {
        ImportError::Rejected(rejection) => rejection_response(&rejection),
        ImportError::Directory(e) => ApiError::from(e).into_response(),
        ImportError::Workbook(e) => ApiError::internal(e).into_response(),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ImportQuery {
    #[serde(default)]
    dry_run: bool,
}

/// Reads the uploaded `file` part, with the size limit.
pub(crate) async fn read_upload(
    mut multipart: Multipart,
) -> Result<(Option<String>, Vec<u8>), ApiError> {
    while let Some(mut field) = multipart.next_field().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge("文件超过5MB (the file is over 5 MB)".into())
        } else {
            ApiError::BadRequest(e.body_text())
        }
    })? {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().map(str::to_owned);
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge("文件超过5MB (the file is over 5 MB)".into())
            } else {
                ApiError::BadRequest(e.body_text())
            }
        })? {
            if bytes.len() + chunk.len() > MAX_IMPORT_BYTES {
                return Err(ApiError::PayloadTooLarge(
                    "文件超过5MB (the file is over 5 MB)".into(),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok((name, bytes));
    }
    Err(ApiError::field(
        "file",
        "请选择要导入的文件 (choose a file)",
    ))
}

/// `POST /api/v1/admin/import[?dry_run=true]`: all or nothing.
#[utoipa::path(post, path = "/api/v1/admin/import", tag = "admin", operation_id = "post_api_v1_admin_import",
    summary = "导入目录 (Imports the grid tree and people from a spreadsheet; `dry_run` checks only)",
    params(ImportQuery),
    request_body(content = Object, content_type = "multipart/form-data", description = "一个 `file` (One `file` part: .xlsx or .csv)"),
    responses(
        (status = 200, description = "导入结果 (What was, or would be, imported)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        FormBodyErrors,
        ConflictError,
    ))]
async fn import_file(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiQuery(q): ApiQuery<ImportQuery>,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    allow(&principal, Action::ImportExport, Target::Township)?;
    let (name, bytes) = read_upload(multipart).await?;
    let parsed = import::detect_format(name.as_deref(), &bytes)
        .and_then(|format| import::parse(&bytes, format));
    let file = match parsed {
        Ok(file) => file,
        Err(rejection) => return Ok(rejection_response(&rejection)),
    };
    let mut tx = tenant_tx(&state, &principal).await?;
    match import::apply(&mut tx, &file, q.dry_run).await {
        Ok(summary) => {
            if q.dry_run {
                drop(tx);
            } else {
                tx.commit().await?;
            }
            Ok(axum::Json(summary).into_response())
        }
        Err(err) => Ok(import_error(err)),
    }
}

fn download(format: ImportFormat, name: &str, body: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"{name}.{}\"", format.extension());
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, format.content_type())],
        body,
    )
        .into_response();
    if let Ok(value) = disposition.parse() {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

async fn export(
    state: RoutingState,
    principal: mashang_auth::Principal,
    format: ImportFormat,
) -> Result<Response, ApiError> {
    allow(&principal, Action::ImportExport, Target::Township)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let (code,): (String,) = sqlx::query_as("SELECT code FROM routing.tenants WHERE id = $1")
        .bind(tx.tenant().as_uuid())
        .fetch_one(&mut *tx)
        .await?;
    let body = import::export(&mut tx, format).await;
    tx.commit().await?;
    match body {
        Ok(body) => Ok(download(format, &format!("{code}-grid-people"), body)),
        Err(err) => Ok(import_error(err)),
    }
}

#[utoipa::path(get, path = "/api/v1/admin/export.xlsx", tag = "admin", operation_id = "get_api_v1_admin_export_xlsx",
    summary = "导出目录 (The grid tree and people as a spreadsheet)",
    responses(
        (status = 200, description = "文件 (The file)", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Binary),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn export_xlsx(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
) -> Result<Response, ApiError> {
    export(state, principal, ImportFormat::Xlsx).await
}

#[utoipa::path(get, path = "/api/v1/admin/export.csv", tag = "admin", operation_id = "get_api_v1_admin_export_csv",
    summary = "导出目录 (The grid tree and people as CSV)",
    responses(
        (status = 200, description = "文件 (The file)", content_type = "text/csv", body = Binary),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn export_csv(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
) -> Result<Response, ApiError> {
    export(state, principal, ImportFormat::Csv).await
}

async fn template(
    state: RoutingState,
    principal: mashang_auth::Principal,
    format: ImportFormat,
) -> Result<Response, ApiError> {
    allow(&principal, Action::ImportExport, Target::Township)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let (code, name): (String, String) =
        sqlx::query_as("SELECT code, name FROM routing.tenants WHERE id = $1")
            .bind(tx.tenant().as_uuid())
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    match import::template(format, &code, &name) {
        Ok(body) => Ok(download(format, "import-template", body)),
        Err(err) => Ok(import_error(err)),
    }
}

#[utoipa::path(get, path = "/api/v1/admin/import-template.xlsx", tag = "admin", operation_id = "get_api_v1_admin_import_template_xlsx",
    summary = "导入模板 (The import template)",
    responses(
        (status = 200, description = "文件 (The file)", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Binary),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn template_xlsx(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
) -> Result<Response, ApiError> {
    template(state, principal, ImportFormat::Xlsx).await
}

#[utoipa::path(get, path = "/api/v1/admin/import-template.csv", tag = "admin", operation_id = "get_api_v1_admin_import_template_csv",
    summary = "导入模板 (The import template, CSV)",
    responses(
        (status = 200, description = "文件 (The file)", content_type = "text/csv", body = Binary),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn template_csv(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
) -> Result<Response, ApiError> {
    template(state, principal, ImportFormat::Csv).await
}
