use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDate;

use super::*;

const TITLES: [&str; 4] = [
    "受理编号 Tracking number",
    "诉求内容 Description",
    "退单次数 Returns",
    "提交时间 Submitted",
];

fn workbook_of(rows: &[Vec<Cell<'_>>], sheet_limit: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = Box::new(XlsxWriter::with_sheet_limit(&mut out, sheet_limit));
    w.header(&TITLES).expect("header");
    for row in rows {
        w.row(row).expect("row");
    }
    w.finish().expect("finish");
    out
}

fn sheets(bytes: Vec<u8>) -> Vec<(String, Vec<Vec<Data>>)> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("an XLSX workbook");
    let names = book.sheet_names();
    names
        .into_iter()
        .map(|name| {
            let range = book.worksheet_range(&name).expect("a sheet");
            (name, range.rows().map(<[Data]>::to_vec).collect())
        })
        .collect()
}

fn at(h: u32, m: u32) -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 12, 1)
        .and_then(|d| d.and_hms_opt(h, m, 0))
        .expect("a time")
}

#[test]
fn an_independent_reader_reads_text_numbers_and_times_under_chinese_headers() {
    let rows = vec![
        vec![
            Cell::Text("CT-20261201-0001"),
            Cell::Text("桥 <断了> & \"危险\"\n第二行"),
            Cell::Int(2),
            Cell::Time(at(9, 30)),
        ],
        vec![
            Cell::Text("CT-20261201-0002"),
            Cell::Text("=1+1"),
            Cell::Empty,
            Cell::Empty,
        ],
    ];
    let sheets = sheets(workbook_of(&rows, MAX_DATA_ROWS));
    assert_eq!(sheets.len(), 1);
    let (name, cells) = &sheets[0];
    assert_eq!(name, "案件");
    assert_eq!(cells[0][0], Data::String(TITLES[0].into()));
    assert_eq!(cells[0][3], Data::String(TITLES[3].into()));
    assert_eq!(
        cells[1][1],
        Data::String("桥 <断了> & \"危险\"\n第二行".into())
    );
    assert_eq!(cells[1][2], Data::Float(2.0));
    let Data::DateTime(t) = &cells[1][3] else {
        panic!("a date cell, not {:?}", cells[1][3]);
    };
    // 2026-12-01 09:30 is day 46357 and 0.3958… of Excel's calendar.
    assert!(
        (t.as_f64() - (46_357.0 + 9.5 / 24.0)).abs() < 1e-6,
        "{}",
        t.as_f64()
    );
    // Text is stored as text: a formula-like string is not a formula.
    assert_eq!(cells[2][1], Data::String("=1+1".into()));
    assert_eq!(cells[2][2], Data::Empty);
}

#[test]
fn control_characters_are_dropped_so_the_file_stays_readable() {
    let rows = vec![vec![
        Cell::Text("a\u{1}b\u{0}c\u{1b}"),
        Cell::Text("x"),
        Cell::Int(0),
        Cell::Empty,
    ]];
    let sheets = sheets(workbook_of(&rows, MAX_DATA_ROWS));
    assert_eq!(sheets[0].1[1][0], Data::String("abc".into()));
}

#[test]
fn rows_beyond_a_sheets_limit_continue_on_the_next_sheet_under_the_same_header() {
    let numbers: Vec<String> = (0..7).map(|i| format!("CT-{i}")).collect();
    let rows: Vec<Vec<Cell<'_>>> = numbers
        .iter()
        .map(|n| vec![Cell::Text(n), Cell::Empty, Cell::Int(1), Cell::Empty])
        .collect();
    let sheets = sheets(workbook_of(&rows, 3));
    let names: Vec<&str> = sheets.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["案件", "案件 (2)", "案件 (3)"]);
    let counts: Vec<usize> = sheets.iter().map(|(_, rows)| rows.len() - 1).collect();
    assert_eq!(counts, [3, 3, 1]);
    for (_, rows) in &sheets {
        assert_eq!(rows[0][0], Data::String(TITLES[0].into()));
    }
    assert_eq!(sheets[2].1[1][0], Data::String("CT-6".into()));
}

#[test]
fn an_empty_export_is_a_workbook_with_the_header_only() {
    let sheets = sheets(workbook_of(&[], MAX_DATA_ROWS));
    assert_eq!(sheets.len(), 1);
    assert_eq!(sheets[0].1.len(), 1);
}

#[test]
fn long_text_is_cut_at_excels_cell_limit() {
    let long = "字".repeat(MAX_CELL_CHARS + 10);
    let rows = vec![vec![
        Cell::Text(&long),
        Cell::Empty,
        Cell::Empty,
        Cell::Empty,
    ]];
    let sheets = sheets(workbook_of(&rows, MAX_DATA_ROWS));
    let Data::String(cut) = &sheets[0].1[1][0] else {
        panic!("text");
    };
    assert_eq!(cut.chars().count(), MAX_CELL_CHARS);
}

#[test]
fn column_names_run_past_z() {
    let name = |i| {
        let mut s = String::new();
        column_name(i, &mut s);
        s
    };
    assert_eq!(
        [name(0), name(25), name(26), name(27), name(701), name(702)],
        ["A", "Z", "AA", "AB", "ZZ", "AAA"]
    );
}

#[test]
fn the_content_types_come_first_in_the_package() {
    let bytes = workbook_of(&[], MAX_DATA_ROWS);
    // A local file header's name starts at byte 30.
    assert_eq!(&bytes[30..49], b"[Content_Types].xml");
}
