//! Bulk import and export of a township's grid tree and people, as CSV or XLSX.
//!
//! The layout is documented for clerks in `docs/import-format.md`. An import is
//! all-or-nothing: [`parse`] reads the file (refusing one that cannot be read as a
//! table at all), [`apply`] checks every row against the file and the township's
//! current directory, and writes only when there is no error at all, in the caller's
//! transaction. Every error is reported with its table, row and column. Importing the
//! same file again changes nothing, and so does importing what [`export`] wrote.
//!
//! Nodes are matched by code and people by phone number; nodes and people that the
//! file does not list are left as they are. A listed person's roles become exactly
//! the roles the file lists for them. Imported people get no password.

mod apply;
mod cells;
mod csv;
mod export;
mod layout;
mod load;
mod people;
mod rejection;
mod rows;
pub mod sample;
mod template;
mod tree;
mod write;
mod xlsx;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;

pub use apply::{ImportSummary, RowCounts, apply};
pub use export::export;
pub use layout::{CSV_COLUMNS, Column, Table};
pub use rejection::{
    FileError, FileErrorKind, ImportRejection, MAX_REPORTED_ROW_ERRORS, RowError, RowErrorKind,
};
pub use rows::ImportFile;
pub use template::template;
pub use write::{NodeRecord, PersonRecord, write_file};

use rejection::FileError as FileErr;

use super::DirectoryError;

/// The largest file accepted (5 MiB); the HTTP layer enforces it on the body too.
pub const MAX_IMPORT_BYTES: usize = 5 * 1024 * 1024;

/// The two file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportFormat {
    /// One UTF-8 CSV file holding both tables, told apart by the `表` column.
    Csv,
    /// An Excel workbook with a `网格` sheet and a `人员` sheet.
    Xlsx,
}

impl ImportFormat {
    /// The media type to send a file of this format with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
        }
    }
}

/// An import or export failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file was refused; nothing was written.
    #[error("import rejected: {0}")]
    Rejected(ImportRejection),
    /// The directory failed while writing (a sign-in name taken by a concurrent
    /// change, or the database).
    #[error("directory error")]
    Directory(#[from] DirectoryError),
    /// Writing a workbook failed.
    #[error("writing the workbook failed")]
    Workbook(#[source] rust_xlsxwriter::XlsxError),
}

impl ImportError {
    /// The HTTP status: the rejection's (413, 415, 422), 409 when a concurrent change
    /// took a sign-in name or node between the check and the write, 500 otherwise.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Rejected(rejection) => rejection.http_status(),
            Self::Directory(DirectoryError::Duplicate(_) | DirectoryError::NotFound(_)) => 409,
            Self::Directory(DirectoryError::Invalid(_)) => 422,
            Self::Directory(DirectoryError::Db(_)) | Self::Workbook(_) => 500,
        }
    }
}

impl From<ImportRejection> for ImportError {
    fn from(rejection: ImportRejection) -> Self {
        Self::Rejected(rejection)
    }
}

impl From<sqlx::Error> for ImportError {
    fn from(err: sqlx::Error) -> Self {
        Self::Directory(err.into())
    }
}

impl From<rust_xlsxwriter::XlsxError> for ImportError {
    fn from(err: rust_xlsxwriter::XlsxError) -> Self {
        Self::Workbook(err)
    }
}

/// Tells the format from the content (an XLSX is a zip: `PK\x03\x04`), using the
/// file name only to give a better message. Refuses old `.xls` workbooks and other
/// binary files, and files over [`MAX_IMPORT_BYTES`].
pub fn detect_format(
    file_name: Option<&str>,
    bytes: &[u8],
) -> Result<ImportFormat, ImportRejection> {
    let refuse = |kind, message: &str| Err(ImportRejection::file(FileErr::new(kind, message)));
    if bytes.len() > MAX_IMPORT_BYTES {
        return refuse(FileErrorKind::TooLarge, TOO_LARGE);
    }
    let extension = file_name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, ext)| ext.trim().to_ascii_lowercase());
    if bytes.starts_with(b"PK\x03\x04") {
        return Ok(ImportFormat::Xlsx);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) || extension.as_deref() == Some("xls") {
        return refuse(
            FileErrorKind::Unsupported,
            "这是旧版Excel（.xls）文件，请在Excel中另存为“Excel工作簿（.xlsx）”或“CSV UTF-8（逗号分隔）”; \
             this is an old Excel (.xls) file: save it as an Excel workbook (.xlsx) or as CSV UTF-8",
        );
    }
    if matches!(extension.as_deref(), Some("xlsx" | "xlsm")) {
        return refuse(
            FileErrorKind::Unreadable,
            "文件扩展名是.xlsx，但内容不是Excel工作簿，文件可能已损坏; \
             the file is named .xlsx but is not an Excel workbook; it may be damaged",
        );
    }
    if csv::looks_binary(bytes) {
        return refuse(
            FileErrorKind::Unsupported,
            "只支持Excel工作簿（.xlsx）和CSV文件; only Excel workbooks (.xlsx) and CSV files are accepted",
        );
    }
    Ok(ImportFormat::Csv)
}

const TOO_LARGE: &str =
    "文件超过5MB，请分成几个文件导入; the file is over 5 MB: split it into several files";

/// Reads a file into its rows. Refuses a file that cannot be read as the layout at
/// all (too large, wrong encoding, damaged, empty, missing or unknown columns); errors
/// in cells are kept in the [`ImportFile`] and reported by [`apply`] together with the
/// errors that need the township's data, so the clerk sees them all at once.
pub fn parse(bytes: &[u8], format: ImportFormat) -> Result<ImportFile, ImportRejection> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(ImportRejection::file(FileErr::new(
            FileErrorKind::TooLarge,
            TOO_LARGE,
        )));
    }
    let sheets = match format {
        ImportFormat::Csv => vec![csv::read(bytes)?],
        ImportFormat::Xlsx => xlsx::read(bytes)?,
    };
    rows::from_sheets(format, sheets)
}
