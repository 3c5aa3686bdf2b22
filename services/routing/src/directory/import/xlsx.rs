//! Reading the XLSX layout: the `网格` and `人员` sheets (other sheets, such as the
//! template's `说明`, are ignored), with the row numbers Excel shows.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Data, DataRef, Reader, Xlsx, XlsxError, open_workbook_from_rs};

use super::layout::Table;
use super::rejection::{FileError, FileErrorKind, ImportRejection};
use super::rows::{RawRow, RawSheet};

/// The most a workbook may unpack to. A 5 MB workbook of text unpacks to some tens
/// of megabytes; more means a zip bomb, refused before anything is inflated.
const MAX_UNPACKED_BYTES: u64 = 150 * 1024 * 1024;

fn refuse(kind: FileErrorKind, message: impl Into<String>) -> ImportRejection {
    ImportRejection::file(FileError::new(kind, message))
}

fn damaged(err: impl std::fmt::Display) -> ImportRejection {
    refuse(
        FileErrorKind::Unreadable,
        format!(
            "无法打开Excel工作簿，文件可能已损坏或不是.xlsx（{err}）; \
             the workbook cannot be opened: it may be damaged or not an .xlsx file ({err})"
        ),
    )
}

/// The last row and column a sheet may use (column AX). A township's directory fills
/// a few thousand rows of 12 columns; the cells are read one by one and never laid out
/// over the sheet's whole extent, so a cell far out (`XFD1048576`) is refused, not
/// turned into billions of empty ones.
const MAX_SHEET_ROWS: u32 = 50_000;
const MAX_SHEET_COLUMNS: u32 = 50;

/// Reads the workbook's `网格` and `人员` sheets (also `nodes` and `people`).
pub(crate) fn read(bytes: &[u8]) -> Result<Vec<RawSheet>, ImportRejection> {
    if unpacked_size(bytes).is_some_and(|size| size > MAX_UNPACKED_BYTES) {
        return Err(refuse(
            FileErrorKind::TooLarge,
            "工作簿解压后过大，请分成几个文件导入; the workbook unpacks to too much data: split it",
        ));
    }
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).map_err(damaged)?;
    let mut sheets: Vec<RawSheet> = Vec::new();
    for name in workbook.sheet_names() {
        let Some(table) = Table::parse(&name) else {
            continue;
        };
        if sheets.iter().any(|s| s.table == Some(table)) {
            return Err(refuse(
                FileErrorKind::NoSheet,
                format!(
                    "工作簿中有两个“{label}”工作表; the workbook has two {code} sheets",
                    label = table.label(),
                    code = table.code()
                ),
            ));
        }
        let cells = sheet_cells(&mut workbook, &name, table)?;
        sheets.push(sheet_rows(table, cells));
    }
    if sheets.is_empty() {
        return Err(refuse(
            FileErrorKind::NoSheet,
            "工作簿中没有“网格”或“人员”工作表; the workbook has no 网格 (nodes) or 人员 (people) sheet",
        ));
    }
    Ok(sheets)
}

/// The sheet's non-empty cells as text, by (row, column) from 0, refusing a sheet with
/// a cell past [`MAX_SHEET_ROWS`] or [`MAX_SHEET_COLUMNS`].
fn sheet_cells(
    workbook: &mut Xlsx<Cursor<&[u8]>>,
    name: &str,
    table: Table,
) -> Result<BTreeMap<(u32, u32), String>, ImportRejection> {
    let mut reader = match workbook.worksheet_cells_reader(name) {
        Ok(reader) => reader,
        // A chart sheet named like a table holds no rows.
        Err(XlsxError::NotAWorksheet(_)) => return Ok(BTreeMap::new()),
        Err(err) => return Err(damaged(err)),
    };
    let mut cells = BTreeMap::new();
    while let Some(cell) = reader.next_cell().map_err(damaged)? {
        if matches!(cell.get_value(), DataRef::Empty) {
            continue;
        }
        let (row, column) = cell.get_position();
        if row >= MAX_SHEET_ROWS || column >= MAX_SHEET_COLUMNS {
            return Err(refuse(
                FileErrorKind::TooLarge,
                format!(
                    "“{label}”工作表在第{MAX_SHEET_ROWS}行或第{MAX_SHEET_COLUMNS}列（AX列）之外还有内容，请删去或分成几个文件导入; \
                     the {code} sheet has cells beyond row {MAX_SHEET_ROWS} or column {MAX_SHEET_COLUMNS} (AX): delete them or split the file",
                    label = table.label(),
                    code = table.code()
                ),
            ));
        }
        cells.insert(
            (row, column),
            cell_text(&Data::from(cell.get_value().clone())),
        );
    }
    Ok(cells)
}

/// Lays the cells out as rows, numbered as Excel shows them; the columns start at the
/// sheet's first used column. The header is the first row with text.
fn sheet_rows(table: Table, cells: BTreeMap<(u32, u32), String>) -> RawSheet {
    let first_column = cells.keys().map(|&(_, c)| c).min().unwrap_or(0);
    let mut header = None;
    let mut rows: Vec<RawRow> = Vec::new();
    let mut current: Option<RawRow> = None;
    for ((row, column), text) in cells {
        let number = row + 1;
        if current.as_ref().is_some_and(|r| r.row != number) {
            rows.extend(current.take());
        }
        let raw = current.get_or_insert_with(|| RawRow {
            row: number,
            cells: Vec::new(),
        });
        let at = (column - first_column) as usize;
        if raw.cells.len() <= at {
            raw.cells.resize(at + 1, String::new());
        }
        raw.cells[at] = text;
    }
    rows.extend(current);
    let mut rows = rows.into_iter();
    // Rows with only blank text above the header are not part of the table.
    for raw in rows.by_ref() {
        if raw.cells.iter().any(|c| !c.trim().is_empty()) {
            header = Some(raw.cells);
            break;
        }
    }
    RawSheet {
        table: Some(table),
        header: header.unwrap_or_default(),
        rows: rows.collect(),
    }
}

/// A cell as text. Numbers typed into a cell (a phone number, a code like 101) come
/// back as they read, without a decimal point.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
        other => other.to_string(),
    }
}

/// The total unpacked size the zip's central directory declares (zip64 sizes
/// included), or `None` when it cannot be found (then the reader reports the damage).
fn unpacked_size(bytes: &[u8]) -> Option<u64> {
    const EOCD: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    const ENTRY: [u8; 4] = [0x50, 0x4b, 0x01, 0x02];
    let u16_at = |at: usize| {
        bytes
            .get(at..at + 2)
            .map(|b| u64::from(u16::from_le_bytes([b[0], b[1]])))
    };
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
    };
    let search_from = bytes.len().saturating_sub(22 + 65_535);
    let eocd = (search_from..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| bytes.get(i..i + 4) == Some(&EOCD[..]))?;
    let entries = u16_at(eocd + 10)?;
    let mut at = usize::try_from(u32_at(eocd + 16)?).ok()?;
    let mut total: u64 = 0;
    for _ in 0..entries {
        if bytes.get(at..at + 4) != Some(&ENTRY[..]) {
            return None;
        }
        let (name, extra) = (u16_at(at + 28)?, u16_at(at + 30)?);
        let mut size = u32_at(at + 24)?;
        if size == u64::from(u32::MAX) {
            // Zip64: the real size is the first value of the 0x0001 extra field.
            let start = at + 46 + usize::try_from(name).ok()?;
            size = zip64_size(bytes.get(start..start + usize::try_from(extra).ok()?)?)
                .unwrap_or(u64::MAX);
        }
        total = total.saturating_add(size);
        let lengths = name + extra + u16_at(at + 32)?;
        at = at.checked_add(46 + usize::try_from(lengths).ok()?)?;
    }
    Some(total)
}

/// The uncompressed size in a zip64 extended-information extra field.
fn zip64_size(mut extra: &[u8]) -> Option<u64> {
    while let [a, b, c, d, rest @ ..] = extra {
        let (id, len) = (
            u16::from_le_bytes([*a, *b]),
            usize::from(u16::from_le_bytes([*c, *d])),
        );
        let data = rest.get(..len)?;
        if id == 1 {
            let size: [u8; 8] = data.get(..8)?.try_into().ok()?;
            return Some(u64::from_le_bytes(size));
        }
        extra = &rest[len..];
    }
    None
}

#[cfg(test)]
mod xlsx_tests {
    use super::*;

    #[test]
    fn numbers_read_as_typed() {
        assert_eq!(cell_text(&Data::Float(13812341234.0)), "13812341234");
        assert_eq!(cell_text(&Data::Float(1.5)), "1.5");
        assert_eq!(cell_text(&Data::Int(7)), "7");
        assert_eq!(cell_text(&Data::Empty), "");
    }

    #[test]
    fn the_unpacked_size_is_read_from_the_central_directory() {
        let book = super::super::template(super::super::ImportFormat::Xlsx, "caotan", "草滩镇")
            .expect("template");
        let size = unpacked_size(&book).expect("a zip directory");
        assert!(size > 1000 && size < MAX_UNPACKED_BYTES, "{size}");
        assert_eq!(unpacked_size(b"not a zip"), None);
        let extra = [
            [0x99, 0, 2, 0, 7, 7].as_slice(),
            &[1, 0, 8, 0],
            &5_000_000_000u64.to_le_bytes(),
        ]
        .concat();
        assert_eq!(zip64_size(&extra), Some(5_000_000_000));
        assert_eq!(zip64_size(&[1, 0, 8, 0, 1]), None);
    }

    #[test]
    fn a_workbook_that_declares_a_huge_unpacked_size_is_refused() {
        let mut book = super::super::template(super::super::ImportFormat::Xlsx, "caotan", "草滩镇")
            .expect("template");
        let entry = book
            .windows(4)
            .position(|w| w == [0x50, 0x4b, 0x01, 0x02])
            .expect("a central directory entry");
        book[entry + 24..entry + 28].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        let refused = read(&book).expect_err("refused");
        assert_eq!(refused.http_status(), 413);
    }
}
