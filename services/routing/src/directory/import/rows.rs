//! From raw sheets to rows: header mapping, the table of each CSV row, and the
//! file-level checks (unknown, duplicate and missing columns, no data).

use std::collections::HashMap;

use super::ImportFormat;
use super::cells::{Cells, NodeRow, PersonRow, node_row, person_row};
use super::layout::{Column, Table, clean};
use super::rejection::{FileError, FileErrorKind, ImportRejection, RowError, RowErrorKind};

/// One row as read, before its cells are checked.
#[derive(Debug)]
pub(crate) struct RawRow {
    /// The spreadsheet row number (the header is row 1 in a file that starts with it).
    pub row: u32,
    pub cells: Vec<String>,
}

/// A sheet as read: its table (`None` for the CSV layout, whose rows say), header and rows.
#[derive(Debug)]
pub(crate) struct RawSheet {
    pub table: Option<Table>,
    pub header: Vec<String>,
    pub rows: Vec<RawRow>,
}

/// A parsed import file: its rows, and the errors found in single cells (reported by
/// [`super::apply`] together with the rest).
#[derive(Debug)]
pub struct ImportFile {
    pub(crate) format: ImportFormat,
    pub(crate) nodes: Vec<NodeRow>,
    pub(crate) people: Vec<PersonRow>,
    pub(crate) problems: Vec<RowError>,
}

impl ImportFile {
    /// The format it was read from.
    pub fn format(&self) -> ImportFormat {
        self.format
    }

    /// How many node rows and person rows it has.
    pub fn row_counts(&self) -> (usize, usize) {
        (self.nodes.len(), self.people.len())
    }

    /// The errors found in single cells so far (the rest need the township's data).
    pub fn cell_errors(&self) -> &[RowError] {
        &self.problems
    }
}

/// Maps a sheet's header to columns, reporting unknown, duplicate and untitled ones.
fn map_header(sheet: &RawSheet, errors: &mut Vec<FileError>) -> HashMap<Column, usize> {
    let mut map = HashMap::new();
    // Cells right of the header count too: data there has no header.
    let width = sheet
        .rows
        .iter()
        .map(|r| r.cells.len())
        .fold(sheet.header.len(), usize::max);
    for i in 0..width {
        let text = clean(sheet.header.get(i).map_or("", String::as_str));
        let error = |kind, message: String| FileError {
            kind,
            table: sheet.table,
            column: Some(text.to_owned()),
            message,
        };
        if text.is_empty() {
            let used = sheet
                .rows
                .iter()
                .any(|r| r.cells.get(i).is_some_and(|c| !clean(c).is_empty()));
            if used {
                errors.push(error(
                    FileErrorKind::UnknownColumn,
                    format!(
                        "第{n}列有数据但没有列标题; column {n} has data but no header",
                        n = i + 1
                    ),
                ));
            }
            continue;
        }
        match Column::parse_header(text, sheet.table) {
            None => errors.push(error(
                FileErrorKind::UnknownColumn,
                format!("未知的列“{text}”; unknown column \"{text}\""),
            )),
            Some(column) if map.contains_key(&column) => errors.push(error(
                FileErrorKind::DuplicateColumn,
                format!("列“{text}”出现了两次; column \"{text}\" appears twice"),
            )),
            Some(column) => {
                map.insert(column, i);
            }
        }
    }
    map
}

/// Reads the sheets into an [`ImportFile`], or refuses the file.
pub(crate) fn from_sheets(
    format: ImportFormat,
    sheets: Vec<RawSheet>,
) -> Result<ImportFile, ImportRejection> {
    let mut file_errors = Vec::new();
    let mut file = ImportFile {
        format,
        nodes: Vec::new(),
        people: Vec::new(),
        problems: Vec::new(),
    };
    for sheet in &sheets {
        let map = map_header(sheet, &mut file_errors);
        let mut seen = [false; 2];
        for raw in &sheet.rows {
            let cells = Cells {
                map: &map,
                row: raw,
            };
            if cells.is_blank() || cells.get(Column::Table).is_some_and(|t| t.starts_with('#')) {
                continue;
            }
            let table = match sheet.table {
                Some(table) => table,
                None => row_table(&cells, &mut file.problems),
            };
            if !seen[table as usize] {
                seen[table as usize] = true;
                missing_columns(table, &map, &mut file_errors);
            }
            if sheet.table.is_none() {
                other_table_cells(table, &cells, &mut file.problems);
            }
            match table {
                Table::Nodes => file.nodes.push(node_row(&cells, &mut file.problems)),
                Table::People => file.people.push(person_row(&cells, &mut file.problems)),
            }
        }
        if sheet.table.is_none() && !map.contains_key(&Column::Table) && !sheet.rows.is_empty() {
            file_errors.push(missing(None, Column::Table));
        }
    }
    if file_errors.is_empty() && file.nodes.is_empty() && file.people.is_empty() {
        file_errors.push(FileError::new(
            FileErrorKind::Empty,
            "文件中没有数据行; the file has no data rows",
        ));
    }
    if file_errors.is_empty() {
        Ok(file)
    } else {
        Err(ImportRejection {
            file_errors,
            ..ImportRejection::default()
        })
    }
}

fn missing(table: Option<Table>, column: Column) -> FileError {
    let (label, code) = (column.label(), column.code());
    FileError {
        kind: FileErrorKind::MissingColumn,
        table,
        column: Some(label.to_owned()),
        message: format!("缺少必需的列“{label}”; the required column \"{code}\" is missing"),
    }
}

fn missing_columns(table: Table, map: &HashMap<Column, usize>, errors: &mut Vec<FileError>) {
    for column in table.required() {
        if !map.contains_key(column) {
            errors.push(missing(Some(table), *column));
        }
    }
}

/// The table a CSV row belongs to. An unknown `表` is reported, and the row is read
/// as the table whose columns it fills, so its other errors are found too.
fn row_table(cells: &Cells<'_>, problems: &mut Vec<RowError>) -> Table {
    let value = cells.get(Column::Table).unwrap_or("");
    if let Some(table) = Table::parse(value) {
        return table;
    }
    let fills = |c: &Column| cells.get(*c).is_some_and(|v| !v.is_empty());
    let guess = if [Column::Phone, Column::PersonName, Column::Role]
        .iter()
        .any(fills)
    {
        Table::People
    } else {
        Table::Nodes
    };
    problems.push(RowError::cell(
        guess,
        cells.row.row,
        Column::Table,
        RowErrorKind::WrongTable,
        format!("“表”必须是“网格”或“人员”，而不是“{value}”; 表 (table) must be 网格 or 人员, not \"{value}\""),
    ));
    guess
}

/// In the CSV layout, a row fills only its own table's columns.
fn other_table_cells(table: Table, cells: &Cells<'_>, problems: &mut Vec<RowError>) {
    for (&column, _) in cells.map.iter() {
        if column == Column::Table || column.belongs_to(table) {
            continue;
        }
        if cells.get(column).is_some_and(|v| !v.is_empty()) {
            problems.push(RowError::cell(
                table,
                cells.row.row,
                column,
                RowErrorKind::WrongTable,
                format!(
                    "“{label}”列不属于“{t}”表，此行应留空; the {code} column is not part of the {tc} table: leave it empty on this row",
                    label = column.label(),
                    t = table.label(),
                    code = column.code(),
                    tc = table.code()
                ),
            ));
        }
    }
}
