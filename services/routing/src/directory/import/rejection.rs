//! Why a file was refused: file-level errors (unreadable, wrong encoding, missing
//! columns) and every row error, each with its table, row number and column.

use serde::Serialize;

use super::layout::{Column, Table};

/// At most this many row errors are listed; the count says how many there were.
pub const MAX_REPORTED_ROW_ERRORS: usize = 1000;

/// What is wrong with a row. Serialised in snake_case, for clients and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowErrorKind {
    /// A required cell is empty.
    Required,
    /// A name or code is too long.
    TooLong,
    /// A code contains spaces.
    InvalidCode,
    /// A cell holds control characters (a NUL, a line break), which a name or code
    /// cannot hold.
    InvalidText,
    /// The 类型 is not a known node kind.
    UnknownKind,
    /// The 角色 is not a known role.
    UnknownRole,
    /// A county role in a township's file.
    CountyRole,
    /// The 手机号 is not a mainland mobile number.
    InvalidPhone,
    /// The 登录名 is not a valid username.
    InvalidUsername,
    /// The 启用 cell is not 是 or 否.
    InvalidActive,
    /// The 排序 cell is not a whole number.
    InvalidPosition,
    /// A CSV row names no known table, or fills a column of the other table.
    WrongTable,
    /// The same node code appears twice in the file.
    DuplicateCode,
    /// The parent code is neither in the file nor in the township.
    MissingParent,
    /// The parent codes form a loop (also: a node moved under its own descendant).
    Cycle,
    /// A second root: an empty 上级编码 on a node that is not the township's root.
    SecondRoot,
    /// A township node placed under another node, or the root given a parent or
    /// another kind.
    TownshipNotRoot,
    /// The tree would be deeper than the directory supports.
    TooDeep,
    /// A role held at a node code that is neither in the file nor in the township.
    UnknownNode,
    /// The same role at the same node is listed twice for one person.
    DuplicateRole,
    /// Rows of the same person (same phone) disagree on name, username or active.
    PersonMismatch,
    /// The same username is given to two different people in the file.
    DuplicateUsername,
    /// The phone or username is already a sign-in name of someone else (another
    /// township's person, a county user, or another person of this township).
    LoginTaken,
}

/// One error in one row of the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// The table (sheet, or CSV `表` value).
    pub table: Table,
    /// The row number as the spreadsheet shows it: the header is row 1.
    pub row: u32,
    /// The column's Chinese header, when the error is about one cell.
    pub column: Option<&'static str>,
    /// What kind of error.
    pub kind: RowErrorKind,
    /// What is wrong, in Chinese then English.
    pub message: String,
}

impl RowError {
    /// An error about one cell.
    pub(crate) fn cell(
        table: Table,
        row: u32,
        column: Column,
        kind: RowErrorKind,
        message: String,
    ) -> Self {
        Self {
            table,
            row,
            column: Some(column.label()),
            kind,
            message,
        }
    }
}

/// What is wrong with the file as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileErrorKind {
    /// Over [`super::MAX_IMPORT_BYTES`].
    TooLarge,
    /// Not a CSV or XLSX file (an old `.xls`, a PDF, an image…).
    Unsupported,
    /// A CSV file in none of the accepted encodings (UTF-8, GBK / GB18030, UTF-16 with BOM).
    Encoding,
    /// Damaged: a workbook that cannot be opened, a CSV that cannot be split.
    Unreadable,
    /// No data rows at all.
    Empty,
    /// Neither a `网格` nor a `人员` sheet.
    NoSheet,
    /// A required column is missing.
    MissingColumn,
    /// A column header that is not part of the layout.
    UnknownColumn,
    /// The same column twice.
    DuplicateColumn,
}

/// One error about the file as a whole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileError {
    /// What kind of error.
    pub kind: FileErrorKind,
    /// The table concerned, if one.
    pub table: Option<Table>,
    /// The column header concerned, if one (as written in the file).
    pub column: Option<String>,
    /// What is wrong, in Chinese then English.
    pub message: String,
}

impl FileError {
    /// A file error not tied to a table.
    pub(crate) fn new(kind: FileErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            table: None,
            column: None,
            message: message.into(),
        }
    }
}

/// Why an import was refused: nothing was written. Serialises as
/// `{file_errors: [...], row_errors: [{table, row, column, kind, message}], row_error_count}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportRejection {
    /// Errors about the file as a whole.
    pub file_errors: Vec<FileError>,
    /// Errors in rows, by table then row (at most [`MAX_REPORTED_ROW_ERRORS`]).
    pub row_errors: Vec<RowError>,
    /// How many row errors there were in all (more than listed when truncated).
    pub row_error_count: usize,
}

impl ImportRejection {
    /// A rejection for one file-level error.
    pub(crate) fn file(error: FileError) -> Self {
        Self {
            file_errors: vec![error],
            ..Self::default()
        }
    }

    /// A rejection for these row errors, sorted (by row, or by table then row) and
    /// truncated for the report.
    pub(crate) fn rows(mut errors: Vec<RowError>, by_row: bool) -> Self {
        if by_row {
            errors.sort_by_key(|e| (e.row, e.table));
        } else {
            errors.sort_by_key(|e| (e.table, e.row));
        }
        let row_error_count = errors.len();
        errors.truncate(MAX_REPORTED_ROW_ERRORS);
        Self {
            file_errors: Vec::new(),
            row_errors: errors,
            row_error_count,
        }
    }

    /// The HTTP status this rejection maps to: 413 when the file is too large, 415
    /// when it cannot be read as CSV or XLSX (unsupported type, wrong encoding,
    /// damaged), 422 otherwise (empty, bad columns, row errors).
    pub fn http_status(&self) -> u16 {
        let kinds = || self.file_errors.iter().map(|e| e.kind);
        if kinds().any(|k| k == FileErrorKind::TooLarge) {
            413
        } else if kinds().any(|k| {
            matches!(
                k,
                FileErrorKind::Unsupported | FileErrorKind::Encoding | FileErrorKind::Unreadable
            )
        }) {
            415
        } else {
            422
        }
    }

    /// A one-line summary for a problem's `detail`.
    pub fn summary(&self) -> String {
        match self.file_errors.first() {
            Some(first) => first.message.clone(),
            None => format!(
                "文件有{n}处错误，未导入任何数据; the file has {n} error(s); nothing was imported",
                n = self.row_error_count
            ),
        }
    }
}

impl std::fmt::Display for ImportRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary())
    }
}

impl std::error::Error for ImportRejection {}
