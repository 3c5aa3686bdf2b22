//! Import and export: the upload form with the links to export and the templates, and
//! the result: the summary, or every error of a refused file.

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use mashang_auth::permissions::{Action, Target};
use mashang_http::ApiError;

use super::layout::{Chrome, PageError, Staff, render};
use crate::RoutingState;
use crate::directory::DirectoryError;
use crate::directory::import::{self, ImportError, ImportRejection, ImportSummary};
use mashang_http::openapi::{FormErrors, Html, PageErrors};

/// One row error as listed.
#[derive(Debug)]
struct RowLine {
    table: &'static str,
    row: u32,
    column: &'static str,
    message: String,
}

/// The report of a refused file.
#[derive(Debug, Default)]
struct Report {
    file_errors: Vec<String>,
    rows: Vec<RowLine>,
    /// All row errors, when more than were listed.
    total: usize,
}

impl Report {
    fn of(rejection: &ImportRejection) -> Self {
        Self {
            file_errors: rejection
                .file_errors
                .iter()
                .map(|e| match (&e.table, &e.column) {
                    (Some(t), Some(c)) => format!("{}表，列“{c}”：{}", t.label(), e.message),
                    (Some(t), None) => format!("{}表：{}", t.label(), e.message),
                    (None, Some(c)) => format!("列“{c}”：{}", e.message),
                    (None, None) => e.message.clone(),
                })
                .collect(),
            rows: rejection
                .row_errors
                .iter()
                .map(|e| RowLine {
                    table: e.table.label(),
                    row: e.row,
                    column: e.column.unwrap_or(""),
                    message: e.message.clone(),
                })
                .collect(),
            total: rejection.row_error_count,
        }
    }

    fn say(message: impl Into<String>) -> Self {
        Self {
            file_errors: vec![message.into()],
            ..Self::default()
        }
    }
}

#[derive(Debug, Template)]
#[template(path = "admin/import.html")]
struct ImportPage {
    chrome: Chrome,
    summary: Option<ImportSummary>,
    report: Option<Report>,
    /// The uploaded file's name, for the result's heading.
    file_name: String,
}

/// `GET /admin/import`.
#[utoipa::path(get, path = "/admin/import", tag = "pages", operation_id = "get_admin_import",
    summary = "导入页面 (The import page)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn page(staff: Staff) -> Result<Response, PageError> {
    staff.require(Action::ImportExport, Target::Township)?;
    Ok(render(
        StatusCode::OK,
        &ImportPage {
            chrome: staff.chrome,
            summary: None,
            report: None,
            file_name: String::new(),
        },
    ))
}

/// The upload's `file` and whether only a check was asked for.
async fn read_form(
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(Option<String>, Vec<u8>, bool), Report> {
    let mut multipart = multipart.map_err(|_| {
        Report::say("请用本页的表单上传文件。(Upload the file with this page's form.)")
    })?;
    let mut dry_run = false;
    let mut file = None;
    // The checkbox may come before or after the file, so every part is read here
    // (the API's reader stops at the file).
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) => return Err(upload_refused(err.status(), err.body_text())),
        };
        match field.name() {
            Some("dry_run") => dry_run = true,
            Some("file") if file.is_none() => {
                let name = field.file_name().map(str::to_owned);
                file = Some((name, read_upload_field(field).await?));
            }
            _ => {}
        }
    }
    match file {
        Some((name, bytes)) if !bytes.is_empty() => Ok((name, bytes, dry_run)),
        _ => Err(Report::say("请选择要导入的文件。(Choose a file.)")),
    }
}

fn upload_refused(status: StatusCode, text: String) -> Report {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        Report::say("文件超过5MB，请分成几个文件导入。(The file is over 5 MB.)")
    } else {
        Report::say(format!(
            "文件没有上传完整，请重试。(The upload failed: {text})"
        ))
    }
}

/// Reads one file part with the import size limit.
async fn read_upload_field(
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<Vec<u8>, Report> {
    let mut bytes = Vec::new();
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                if bytes.len() + chunk.len() > import::MAX_IMPORT_BYTES {
                    return Err(upload_refused(StatusCode::PAYLOAD_TOO_LARGE, String::new()));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(bytes),
            Err(err) => return Err(upload_refused(err.status(), err.body_text())),
        }
    }
}

/// `POST /admin/import?_csrf=…`: all or nothing, like the API.
#[utoipa::path(post, path = "/admin/import", tag = "pages", operation_id = "post_admin_import",
    summary = "导入 (Uploads a spreadsheet to check or import)",
    request_body(content = Object, content_type = "multipart/form-data", description = "表单字段与文件 (The form fields and the file, with `_csrf`)"),
    responses(
        (status = 200, description = "结果或有误时的表单 (The outcome, or the form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn upload(
    State(state): State<RoutingState>,
    staff: Staff,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    staff.require(Action::ImportExport, Target::Township)?;
    let mut result = ImportPage {
        chrome: staff.chrome.clone(),
        summary: None,
        report: None,
        file_name: String::new(),
    };
    let (name, bytes, dry_run) = match read_form(multipart).await {
        Ok(form) => form,
        Err(report) => {
            result.report = Some(report);
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &result));
        }
    };
    result.file_name = name.clone().unwrap_or_default();
    let parsed = import::detect_format(name.as_deref(), &bytes)
        .and_then(|format| import::parse(&bytes, format));
    let file = match parsed {
        Ok(file) => file,
        Err(rejection) => {
            result.report = Some(Report::of(&rejection));
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &result));
        }
    };
    let mut tx = state.db.tenant(staff.tenant).await?;
    match import::apply(&mut tx, &file, dry_run).await {
        Ok(summary) => {
            if dry_run {
                drop(tx);
            } else {
                tx.commit().await?;
            }
            result.summary = Some(summary);
            Ok(render(StatusCode::OK, &result))
        }
        Err(ImportError::Rejected(rejection)) => {
            result.report = Some(Report::of(&rejection));
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &result))
        }
        Err(ImportError::Directory(DirectoryError::Duplicate(_) | DirectoryError::NotFound(_))) => {
            result.report = Some(Report::say(
                "导入时有人同时修改了本镇的网格或人员，没有写入任何内容。请再导入一次。(Someone changed the directory meanwhile; nothing was written: import again.)",
            ));
            Ok(render(StatusCode::CONFLICT, &result))
        }
        Err(ImportError::Directory(err)) => Err(err.into()),
        Err(ImportError::Workbook(err)) => Err(ApiError::internal(err).into()),
    }
}
