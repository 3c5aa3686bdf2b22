use chrono::NaiveDate;

use super::*;

fn written(encoding: CsvEncoding, rows: &[Vec<Cell<'_>>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = Box::new(CsvWriter::new(&mut out, encoding).expect("a writer"));
    w.header(&[
        "受理编号 Tracking number",
        "诉求内容 Description",
        "次数 Count",
    ])
    .expect("header");
    for row in rows {
        w.row(row).expect("row");
    }
    w.finish().expect("finish");
    out
}

fn read_back(bytes: &[u8]) -> Vec<Vec<String>> {
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.expect("a record").iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn utf8_starts_with_the_byte_order_mark_and_reads_back_with_quotes_and_line_breaks() {
    let bytes = written(
        CsvEncoding::Utf8Bom,
        &[vec![
            Cell::Text("CT-20261201-0001"),
            Cell::Text("路灯坏了, \"很暗\"\r\n第二行"),
            Cell::Int(3),
        ]],
    );
    assert!(bytes.starts_with(UTF8_BOM));
    let rows = read_back(&bytes[3..]);
    assert_eq!(rows[0][0], "受理编号 Tracking number");
    assert_eq!(
        rows[1],
        ["CT-20261201-0001", "路灯坏了, \"很暗\"\r\n第二行", "3"]
    );
    // RFC 4180: CRLF after each record, the quoted field with doubled quotes.
    let text = String::from_utf8(bytes[3..].to_vec()).expect("UTF-8");
    assert!(text.contains("\"路灯坏了, \"\"很暗\"\"\r\n第二行\""));
    assert!(text.ends_with(",3\r\n"));
}

#[test]
fn gb18030_has_no_mark_and_decodes_to_the_same_text() {
    let rows = [vec![
        Cell::Text("CT-1"),
        // Rare characters outside GBK are four-byte sequences in GB18030.
        Cell::Text("𠀀 村口的桥 €"),
        Cell::Int(1),
    ]];
    let bytes = written(CsvEncoding::Gb18030, &rows);
    assert!(!bytes.starts_with(UTF8_BOM));
    assert!(std::str::from_utf8(&bytes).is_err(), "not UTF-8");
    // 受 in GB18030 is 0xCA 0xDC.
    assert_eq!(&bytes[..2], &[0xCA, 0xDC]);
    let (text, _, errors) = encoding_rs::GB18030.decode(&bytes);
    assert!(!errors);
    let rows = read_back(text.as_bytes());
    assert_eq!(rows[1][1], "𠀀 村口的桥 €");
}

#[test]
fn a_character_split_across_the_writers_buffer_is_encoded_whole() {
    // Long enough to cross the CSV writer's internal buffer many times.
    let long = "网格员".repeat(20_000);
    let bytes = written(
        CsvEncoding::Gb18030,
        &[vec![Cell::Text("x"), Cell::Text(&long), Cell::Empty]],
    );
    let (text, _, errors) = encoding_rs::GB18030.decode(&bytes);
    assert!(!errors);
    assert_eq!(read_back(text.as_bytes())[1][1], long);
}

#[test]
fn text_that_a_spreadsheet_would_evaluate_is_prefixed_with_an_apostrophe() {
    for (raw, shown) in [
        (
            "=HYPERLINK(\"http://x\",\"点我\")",
            "'=HYPERLINK(\"http://x\",\"点我\")",
        ),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("路灯 =1", "路灯 =1"),
        ("", ""),
    ] {
        assert_eq!(guard_formula(raw), shown, "{raw:?}");
    }
    let bytes = written(
        CsvEncoding::Utf8Bom,
        &[vec![Cell::Text("=1+1"), Cell::Text("@x"), Cell::Int(-5)]],
    );
    // Numbers the export writes itself are not text and are left alone.
    assert_eq!(read_back(&bytes[3..])[1], ["'=1+1", "'@x", "-5"]);
}

#[test]
fn times_are_local_minutes_and_empty_cells_are_empty_fields() {
    let t = NaiveDate::from_ymd_opt(2026, 12, 1)
        .and_then(|d| d.and_hms_opt(9, 5, 59))
        .expect("a time");
    let bytes = written(
        CsvEncoding::Utf8Bom,
        &[vec![Cell::Time(t), Cell::Empty, Cell::time(None)]],
    );
    assert_eq!(read_back(&bytes[3..])[1], ["2026-12-01 09:05", "", ""]);
}

#[test]
fn the_encoding_parameter_is_read_in_any_case() {
    assert_eq!(CsvEncoding::parse("GB18030"), Some(CsvEncoding::Gb18030));
    assert_eq!(CsvEncoding::parse("utf-8"), Some(CsvEncoding::Utf8Bom));
    assert_eq!(CsvEncoding::parse("latin1"), None);
}
