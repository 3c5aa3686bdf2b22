//! Whole files: formats, encodings, headers, sheets, templates, row numbers in XLSX.

use rust_xlsxwriter::Workbook;

use super::super::RowErrorKind as K;
use super::super::Table::{Nodes as N, People as P};
use super::super::{
    FileErrorKind, ImportFormat, MAX_IMPORT_BYTES, NodeRecord, PersonRecord, RowCounts,
    detect_format, parse, template, write_file,
};
use super::{Fixture, csv, refs, row_errors, small_township};
use mashang_domain::grid::NodeKind;
use mashang_domain::role::Role;

fn file_error(bytes: &[u8], format: ImportFormat) -> (FileErrorKind, String, u16) {
    let rejection = parse(bytes, format).expect_err("the file must be refused");
    let first = rejection.file_errors.first().expect("a file error").clone();
    (first.kind, first.message, rejection.http_status())
}

/// Every row as read, to compare files in different encodings.
fn rows(file: &super::super::ImportFile) -> String {
    format!("{:?}{:?}", file.nodes, file.people)
}

#[test]
fn gbk_gb18030_and_utf16_files_read_like_utf8() {
    let text = csv(&refs(&small_township()));
    let utf8 = parse(text.as_bytes(), ImportFormat::Csv).expect("parses");

    // What Excel on a Chinese Windows saves as plain "CSV": the ANSI code page, GBK.
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&text);
    assert!(!unmappable);
    assert_ne!(
        gbk.as_ref(),
        text.as_bytes(),
        "the Chinese is really re-encoded"
    );
    assert_eq!(detect_format(Some("人员.csv"), &gbk), Ok(ImportFormat::Csv));
    let from_gbk = parse(&gbk, ImportFormat::Csv).expect("a GBK file is read");
    assert_eq!(from_gbk.row_counts(), utf8.row_counts());
    assert_eq!(rows(&from_gbk), rows(&utf8), "the same names and codes");

    // A character outside GBK (䶮, in GB18030 only) survives too.
    let rare = text.replacen("东湾村", "䶮湾村", 1);
    assert_ne!(rare, text, "the fixture names the township");
    let (gb18030, _, unmappable) = encoding_rs::GB18030.encode(&rare);
    assert!(!unmappable);
    let from_gb18030 = parse(&gb18030, ImportFormat::Csv).expect("a GB18030 file is read");
    assert!(rows(&from_gb18030).contains("䶮湾村"));

    // Excel's "Unicode Text": UTF-16 little-endian with its byte-order mark.
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    assert_eq!(detect_format(Some("a.txt"), &utf16), Ok(ImportFormat::Csv));
    let from_utf16 = parse(&utf16, ImportFormat::Csv).expect("a UTF-16 file is read");
    assert_eq!(rows(&from_utf16), rows(&utf8));

    // Bytes that are no text in any of them are refused with advice.
    let (kind, message, status) = file_error(b"\xff\xff\xfd,a\n", ImportFormat::Csv);
    assert_eq!((kind, status), (FileErrorKind::Encoding, 415));
    assert!(message.contains("既不是UTF-8也不是GBK"), "{message}");
    assert!(message.contains("CSV UTF-8 (Comma delimited)"), "{message}");
}

#[test]
fn a_bom_is_accepted_and_formats_are_told_apart() {
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend_from_slice(csv(&refs(&small_township())).as_bytes());
    let file = parse(&with_bom, ImportFormat::Csv).expect("parses");
    assert_eq!(file.row_counts(), (3, 3));
    assert!(file.cell_errors().is_empty(), "{:?}", file.cell_errors());

    let refused =
        |name: Option<&str>, bytes: &[u8]| detect_format(name, bytes).expect_err("refused");
    assert_eq!(
        detect_format(None, b"PK\x03\x04rest"),
        Ok(ImportFormat::Xlsx)
    );
    assert_eq!(
        detect_format(Some("x.csv"), "表,编码".as_bytes()),
        Ok(ImportFormat::Csv)
    );
    let xls = refused(Some("旧表.xls"), b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1");
    assert_eq!(
        (xls.file_errors[0].kind, xls.http_status()),
        (FileErrorKind::Unsupported, 415)
    );
    assert!(xls.file_errors[0].message.contains(".xls"));
    assert_eq!(
        refused(None, b"%PDF-1.7\n...").file_errors[0].kind,
        FileErrorKind::Unsupported
    );
    assert_eq!(
        refused(None, b"\x89PNG\r\n\x1a\n\0\0").file_errors[0].kind,
        FileErrorKind::Unsupported
    );
    assert_eq!(
        refused(Some("a.xlsx"), b"just text").file_errors[0].kind,
        FileErrorKind::Unreadable
    );
    let big = vec![b'a'; MAX_IMPORT_BYTES + 1];
    let too_large = refused(Some("a.csv"), &big);
    assert_eq!(
        (too_large.file_errors[0].kind, too_large.http_status()),
        (FileErrorKind::TooLarge, 413)
    );
    assert_eq!(file_error(&big, ImportFormat::Csv).2, 413);
    let (kind, _, status) = file_error(b"PK\x03\x04 damaged", ImportFormat::Xlsx);
    assert_eq!((kind, status), (FileErrorKind::Unreadable, 415));
}

#[test]
fn empty_files_and_bad_headers_are_refused() {
    for empty in [
        &b""[..],
        b"\xEF\xBB\xBF",
        b"\n\n",
        "表,编码,名称,类型,上级编码\n,,,,\n".as_bytes(),
    ] {
        let (kind, _, status) = file_error(empty, ImportFormat::Csv);
        assert_eq!((kind, status), (FileErrorKind::Empty, 422), "{empty:?}");
    }
    let text = "表,编码,名称,类型,上级编码,备注,姓名,角色,所在节点编码\n网格,V01,东湾村,村,caotan,x,,,\n人员,,,,,,王芳,网格员,V01\n";
    let rejection = parse(text.as_bytes(), ImportFormat::Csv).expect_err("refused");
    let errors: Vec<_> = rejection
        .file_errors
        .iter()
        .map(|e| (e.kind, e.column.clone()))
        .collect();
    assert_eq!(
        errors,
        [
            (FileErrorKind::UnknownColumn, Some("备注".into())),
            (FileErrorKind::MissingColumn, Some("手机号".into()))
        ]
    );
    assert_eq!(rejection.http_status(), 422);
    let twice = "表,编码,code,名称,类型,上级编码\n网格,a,a,b,村,caotan\n";
    assert_eq!(
        file_error(twice.as_bytes(), ImportFormat::Csv).0,
        FileErrorKind::DuplicateColumn
    );
    let beyond = "表,编码,名称,类型,上级编码\n网格,V01,东湾村,村,caotan,多余\n";
    assert_eq!(
        file_error(beyond.as_bytes(), ImportFormat::Csv).0,
        FileErrorKind::UnknownColumn
    );
    let no_table = "编码,名称,类型,上级编码\nV01,东湾村,村,caotan\n";
    assert_eq!(
        file_error(no_table.as_bytes(), ImportFormat::Csv).0,
        FileErrorKind::MissingColumn
    );
    // English headers, any order, semicolons.
    let english = "Parent_Code;KIND;name;code;table\ncaotan;village;东湾村;V01;nodes\n";
    let file = parse(english.as_bytes(), ImportFormat::Csv).expect("English headers");
    assert_eq!(file.row_counts(), (1, 0));
    assert!(file.cell_errors().is_empty());
}

#[tokio::test]
async fn an_xlsx_file_reports_the_rows_excel_shows() {
    let fx = Fixture::new().await;
    // A hand-made workbook: English headers in another order, starting on row 3,
    // a phone typed as a number, and a sheet that is not part of the layout.
    let mut book = Workbook::new();
    let notes = book.add_worksheet();
    notes.set_name("readme").expect("name");
    notes.write_string(0, 0, "anything").expect("write");
    let nodes = book.add_worksheet();
    nodes.set_name("nodes").expect("name");
    for (c, h) in ["name", "parent_code", "kind", "code"].iter().enumerate() {
        nodes.write_string(2, c as u16, *h).expect("write");
    }
    for (r, row) in [
        ["东湾村", "caotan", "村", "V01"],
        ["一组", "V09", "网格", "V01-01"],
    ]
    .iter()
    .enumerate()
    {
        for (c, v) in row.iter().enumerate() {
            nodes
                .write_string(3 + r as u32, c as u16, *v)
                .expect("write");
        }
    }
    let people = book.add_worksheet();
    people.set_name("人员").expect("name");
    for (c, h) in ["姓名", "手机号", "角色", "所在节点编码"]
        .iter()
        .enumerate()
    {
        people.write_string(0, c as u16, *h).expect("write");
    }
    people.write_string(1, 0, "王芳").expect("write");
    people.write_number(1, 1, 13900000005.0).expect("write");
    people.write_string(1, 2, "网格员").expect("write");
    people.write_string(1, 3, "V01").expect("write");
    people.write_string(2, 0, "赵强").expect("write");
    people.write_number(2, 1, 12345.0).expect("write");
    people.write_string(2, 2, "网格员").expect("write");
    people.write_string(2, 3, "V01").expect("write");
    let bytes = book.save_to_buffer().expect("workbook");
    assert_eq!(
        detect_format(Some("名单.xlsx"), &bytes),
        Ok(ImportFormat::Xlsx)
    );
    let rejection = fx.refused_file(&bytes, ImportFormat::Xlsx).await;
    assert_eq!(
        row_errors(&rejection),
        [(N, 5, K::MissingParent), (P, 3, K::InvalidPhone)]
    );
}

#[tokio::test]
async fn records_written_as_xlsx_keep_their_row_numbers() {
    let fx = Fixture::new().await;
    let node = |code: &str, parent: &str| NodeRecord {
        code: code.into(),
        name: "节点".into(),
        kind: NodeKind::Village,
        parent: Some(parent.into()),
        active: true,
        position: 0,
    };
    let nodes = [
        node("V01", "caotan"),
        node("V02", "caotan"),
        node("V03", "V09"),
    ];
    let people = [PersonRecord {
        name: "王芳".into(),
        phone: "13900000005".into(),
        role: Some((Role::GridWorker, "V04".into())),
        username: None,
        active: true,
    }];
    let bytes = write_file(ImportFormat::Xlsx, &nodes, &people).expect("xlsx");
    let rejection = fx.refused_file(&bytes, ImportFormat::Xlsx).await;
    assert_eq!(
        row_errors(&rejection),
        [(N, 4, K::MissingParent), (P, 2, K::UnknownNode)]
    );
}

async fn template_imports_cleanly(format: ImportFormat) {
    let fx = Fixture::new().await;
    let bytes = template(format, "caotan", "草滩镇").expect("template");
    assert_eq!(
        detect_format(Some(&format!("模板.{}", format.extension())), &bytes),
        Ok(format)
    );
    let summary = fx
        .import(&bytes, format)
        .await
        .expect("the template imports");
    assert_eq!(
        summary.nodes,
        RowCounts {
            created: 5,
            updated: 0,
            unchanged: 1
        }
    );
    assert_eq!(
        summary.people,
        RowCounts {
            created: 4,
            updated: 0,
            unchanged: 0
        }
    );
    assert_eq!(summary.roles_added, 5);
    assert!(fx.import(&bytes, format).await.expect("again").is_noop());
}

#[tokio::test]
async fn the_xlsx_template_imports_cleanly() {
    template_imports_cleanly(ImportFormat::Xlsx).await;
}

#[tokio::test]
async fn the_csv_template_imports_cleanly() {
    template_imports_cleanly(ImportFormat::Csv).await;
}

#[tokio::test]
async fn the_documented_csv_example_imports() {
    let doc = include_str!("../../../../../../docs/import-format.md");
    let example = doc
        .split("```\n")
        .find(|block| {
            block.starts_with(
                "表,编码,名称,类型,上级编码,排序,姓名,手机号,角色,所在节点编码,登录名,启用\n网格",
            )
        })
        .expect("the CSV example in docs/import-format.md");
    let fx = Fixture::new().await;
    let summary = fx.import_csv(example).await.expect("the example imports");
    assert_eq!(
        summary.nodes,
        RowCounts {
            created: 2,
            updated: 0,
            unchanged: 1
        }
    );
    assert_eq!(summary.people.created, 2);
}
