//! Fuzzing the reading of import files, which a township clerk uploads from whatever
//! Excel or text editor they have. Files are written by [`write_file`] from random
//! directories, then damaged, re-encoded or spread over a sheet; whatever the bytes,
//! reading ends with rows or with a rejection the clerk sees (413, 415, 422), never a
//! panic, and a file as written reads back as the directory it was written from.

use mashang_domain::grid::NodeKind;
use mashang_domain::role::Role;
use proptest::prelude::*;

use super::cells::{Assignment, Given};
use super::layout::clean;
use super::*;

/// Text a clerk might type in a name: Chinese, look-alikes of numbers and formulas,
/// Excel's escape syntax, and any printable text.
fn name(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        Just("东湾村一组".to_owned()),
        Just("001".to_owned()),
        Just("=1+1".to_owned()),
        Just("'0012".to_owned()),
        Just("_x0041_".to_owned()),
        Just("1.5E+3".to_owned()),
        Just("是".to_owned()),
        Just("#注释".to_owned()),
        Just("a,\"b\";c".to_owned()),
        proptest::string::string_regex(&format!("\\PC{{1,{max}}}")).expect("a pattern"),
    ]
    .prop_map(|n| clean(&n).to_owned())
    .prop_filter("text", |n| !n.is_empty())
}

fn code() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z][A-Za-z0-9_.-]{0,20}",
        "[0-9]{1,12}",
        "[\\p{Han}A-Z0-9-]{1,64}",
    ]
}

fn node() -> impl Strategy<Value = NodeRecord> {
    (
        code(),
        name(100),
        proptest::sample::select(NodeKind::ALL.to_vec()),
        proptest::option::of(code()),
        any::<bool>(),
        any::<i32>(),
    )
        .prop_map(|(code, name, kind, parent, active, position)| NodeRecord {
            code,
            name,
            kind,
            parent,
            active,
            position,
        })
}

fn person() -> impl Strategy<Value = PersonRecord> {
    let roles: Vec<Role> = Role::ALL.into_iter().filter(|r| !r.is_county()).collect();
    (
        name(50),
        "1[3-9][0-9]{9}",
        proptest::option::of((proptest::sample::select(roles), code())),
        proptest::option::of("[a-z][a-z0-9_.-]{2,31}"),
        any::<bool>(),
    )
        .prop_map(|(name, phone, role, username, active)| PersonRecord {
            name,
            phone,
            role,
            username,
            active,
        })
}

fn directory() -> impl Strategy<Value = (Vec<NodeRecord>, Vec<PersonRecord>)> {
    (
        proptest::collection::vec(node(), 0..12),
        proptest::collection::vec(person(), 0..12),
    )
        .prop_filter("a row to import", |(n, p)| !n.is_empty() || !p.is_empty())
}

/// The file's rows, as records again: what the clerk wrote is what is read.
fn read_back(file: &ImportFile) -> Result<(Vec<NodeRecord>, Vec<PersonRecord>), String> {
    if let Some(problem) = file.problems.first() {
        return Err(format!("{problem:?}"));
    }
    let nodes = file
        .nodes
        .iter()
        .map(|n| {
            Some(NodeRecord {
                code: n.code.clone()?,
                name: n.name.clone()?,
                kind: n.kind?,
                parent: n.parent.clone(),
                active: matches!(n.active, Given::Value(true)),
                position: match n.position {
                    Given::Value(p) => p,
                    _ => return None,
                },
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or("a node cell was not read")?;
    let people = file
        .people
        .iter()
        .map(|p| {
            Some(PersonRecord {
                name: p.name.clone()?,
                phone: p.phone.as_ref()?.expose().to_owned(),
                role: match &p.assignment {
                    Assignment::None => None,
                    Assignment::Role(role, node) => Some((*role, node.clone())),
                    Assignment::Invalid => return None,
                },
                username: match &p.username {
                    Given::Value(u) => Some(u.as_str().to_owned()),
                    Given::Empty => None,
                    _ => return None,
                },
                active: matches!(p.active, Given::Value(true)),
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or("a person cell was not read")?;
    Ok((nodes, people))
}

/// What every outcome of reading untrusted bytes keeps.
fn refused_or_read(outcome: Result<ImportFile, ImportRejection>) -> Result<(), TestCaseError> {
    match outcome {
        Ok(file) => {
            for row in file
                .nodes
                .iter()
                .map(|n| n.row)
                .chain(file.people.iter().map(|p| p.row))
            {
                prop_assert!(row >= 2, "data starts under the header: row {row}");
            }
            for text in file
                .nodes
                .iter()
                .flat_map(|n| [n.code.as_deref(), n.name.as_deref()])
                .chain(file.people.iter().map(|p| p.name.as_deref()))
                .flatten()
            {
                prop_assert!(
                    !text.chars().any(char::is_control),
                    "{text:?} would be stored"
                );
            }
        }
        Err(rejection) => {
            prop_assert!(matches!(rejection.http_status(), 413 | 415 | 422));
            prop_assert!(!rejection.file_errors.is_empty() || !rejection.row_errors.is_empty());
        }
    }
    Ok(())
}

/// Reads bytes as the upload handler does: tells the format, then parses.
fn upload(name: &str, bytes: &[u8]) -> Result<ImportFile, ImportRejection> {
    parse(bytes, detect_format(Some(name), bytes)?)
}

/// One way a file gets damaged.
#[derive(Clone, Debug)]
enum Damage {
    Truncate(usize),
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    /// A little-endian length field of a zip header set (found by its signature).
    ZipField(usize, u32),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        any::<usize>().prop_map(Damage::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Damage::Flip(at, b | 1)),
        (
            any::<usize>(),
            prop_oneof![
                Just(b"\0".to_vec()),
                Just(b"\"".to_vec()),
                Just(b"\r".to_vec()),
                Just(b"\n\n".to_vec()),
                Just(b";".to_vec()),
                Just(b"\xE7\xBD".to_vec()),
                Just(b"\xEF\xBB\xBF".to_vec()),
                proptest::collection::vec(any::<u8>(), 1..8),
            ]
        )
            .prop_map(|(at, b)| Damage::Insert(at, b)),
        (
            any::<usize>(),
            prop_oneof![Just(0u32), Just(u32::MAX), Just(0x7fff_ffff), any::<u32>()]
        )
            .prop_map(|(at, v)| Damage::ZipField(at, v)),
    ]
}

fn apply_damage(bytes: &mut Vec<u8>, damage: &Damage) {
    let len = bytes.len().max(1);
    match damage {
        Damage::Truncate(at) => bytes.truncate(at % len),
        Damage::Flip(at, b) => {
            if let Some(byte) = bytes.get_mut(at % len) {
                *byte ^= b;
            }
        }
        Damage::Insert(at, extra) => {
            let at = at % (bytes.len() + 1);
            bytes.splice(at..at, extra.iter().copied());
        }
        Damage::ZipField(which, value) => {
            // Sizes and offsets of local headers (18, 22) and central entries (20, 24, 42).
            let fields: Vec<usize> = bytes
                .windows(4)
                .enumerate()
                .flat_map(|(i, w)| match w {
                    [0x50, 0x4b, 0x03, 0x04] => vec![i + 18, i + 22],
                    [0x50, 0x4b, 0x01, 0x02] => vec![i + 20, i + 24, i + 42],
                    [0x50, 0x4b, 0x05, 0x06] => vec![i + 12, i + 16],
                    _ => vec![],
                })
                .collect();
            if let Some(&at) = fields.get(which % fields.len().max(1))
                && let Some(slot) = bytes.get_mut(at..at + 4)
            {
                slot.copy_from_slice(&value.to_le_bytes());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fuzz_csv_written_then_read_is_the_same_directory((nodes, people) in directory()) {
        let bytes = write_file(ImportFormat::Csv, &nodes, &people).expect("writing");
        let file = upload("目录.csv", &bytes).expect("a written file reads");
        prop_assert_eq!(read_back(&file), Ok((nodes, people)));
    }

    #[test]
    fn fuzz_csv_in_utf16_reads_as_in_utf8((nodes, people) in directory(), big_endian in any::<bool>()) {
        let bytes = write_file(ImportFormat::Csv, &nodes, &people).expect("writing");
        let text = std::str::from_utf8(&bytes[3..]).expect("UTF-8");
        let mut utf16 = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
        for unit in text.encode_utf16() {
            utf16.extend(if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
        }
        let file = upload("目录.txt", &utf16).expect("a UTF-16 file reads");
        prop_assert_eq!(read_back(&file), Ok((nodes, people)));
    }

    #[test]
    fn fuzz_damaged_csv_is_refused_or_read(
        (nodes, people) in directory(),
        damages in proptest::collection::vec(damage(), 1..4),
    ) {
        let mut bytes = write_file(ImportFormat::Csv, &nodes, &people).expect("writing");
        for d in &damages {
            apply_damage(&mut bytes, d);
        }
        refused_or_read(upload("目录.csv", &bytes))?;
    }

    #[test]
    fn fuzz_any_bytes_are_refused_or_read(
        start in prop_oneof![
            Just(&b""[..]),
            Just(&b"\xEF\xBB\xBF"[..]),
            Just(&b"\xFF\xFE"[..]),
            Just(&b"\xFE\xFF"[..]),
            Just(&b"PK\x03\x04"[..]),
            Just("表,编码,名称,类型,上级编码\n网格,".as_bytes()),
        ],
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        name in prop_oneof![Just("a.csv"), Just("a.xlsx"), Just("a.xls"), Just("a")],
    ) {
        refused_or_read(upload(name, &[start, &bytes].concat()))?;
    }
}

proptest! {
    // Writing and reading a workbook takes milliseconds: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn fuzz_xlsx_written_then_read_is_the_same_directory((nodes, people) in directory()) {
        let bytes = write_file(ImportFormat::Xlsx, &nodes, &people).expect("writing");
        let file = upload("目录.xlsx", &bytes).expect("a written workbook reads");
        prop_assert_eq!(read_back(&file), Ok((nodes, people)));
    }

    #[test]
    fn fuzz_damaged_xlsx_is_refused_or_read(
        (nodes, people) in directory(),
        damages in proptest::collection::vec(damage(), 1..4),
    ) {
        let mut bytes = write_file(ImportFormat::Xlsx, &nodes, &people).expect("writing");
        for d in &damages {
            apply_damage(&mut bytes, d);
        }
        refused_or_read(upload("目录.xlsx", &bytes))?;
    }

    #[test]
    fn fuzz_cells_anywhere_on_a_sheet_are_read_or_refused_in_bounds(
        // Rows near the limit: writing a workbook takes time in proportion to its last
        // row, and the far corner has its own test below.
        cells in proptest::collection::vec((0u32..50_100, 0u16..16_384, name(20)), 1..6),
        header_row in 0u32..4,
    ) {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet().set_name("网格").expect("a sheet name");
        for (i, title) in ["编码", "名称", "类型", "上级编码"].into_iter().enumerate() {
            sheet.write_string(header_row, i as u16, title).expect("a header cell");
        }
        for (row, column, text) in &cells {
            sheet.write_string(*row, *column, text).expect("a cell");
        }
        let bytes = book.save_to_buffer().expect("a workbook");
        let outcome = upload("目录.xlsx", &bytes);
        let far = cells.iter().any(|(r, c, _)| *r >= 50_000 || *c >= 50);
        if far {
            prop_assert_eq!(outcome.as_ref().err().map(ImportRejection::http_status), Some(413));
        }
        refused_or_read(outcome)?;
    }
}

#[test]
fn a_workbook_whose_sheet_inflates_past_its_declared_size_is_refused_as_damaged() {
    // A zip bomb that lies about its sizes, so the check of the declared total passes:
    // inflating stops where the declared size ends.
    let mut book = template(ImportFormat::Xlsx, "caotan", "草滩镇").expect("a template");
    let name = b"xl/worksheets/sheet1.xml";
    let mut patched = 0;
    for at in 0..book.len() - name.len() {
        if &book[at..at + name.len()] != name {
            continue;
        }
        let size_field = match &book[at.saturating_sub(46)..at.saturating_sub(42)] {
            [0x50, 0x4b, 0x01, 0x02] => at - 46 + 24,
            _ if book[at.saturating_sub(30)..].starts_with(&[0x50, 0x4b, 0x03, 0x04]) => {
                at - 30 + 22
            }
            _ => continue,
        };
        book[size_field..size_field + 4].copy_from_slice(&10u32.to_le_bytes());
        patched += 1;
    }
    assert_eq!(patched, 2, "the local header and the central directory");
    let refused = upload("炸弹.xlsx", &book).expect_err("refused");
    assert_eq!(refused.http_status(), 415);
}

#[test]
fn a_cell_at_the_far_corner_of_a_sheet_is_refused_without_laying_out_the_sheet() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet().set_name("网格").expect("a sheet name");
    sheet.write_string(0, 0, "编码").expect("a cell");
    sheet.write_string(1_048_575, 16_383, "x").expect("a cell");
    let bytes = book.save_to_buffer().expect("a workbook");
    let refused = upload("目录.xlsx", &bytes).expect_err("refused");
    assert_eq!(refused.http_status(), 413);
    assert!(refused.file_errors[0].message.contains("AX"));
}

#[test]
fn a_name_with_a_nul_past_the_binary_check_is_refused_in_its_cell() {
    // The binary check reads the first 8 KB; a NUL later would reach the database.
    let mut text = "表,编码,名称,类型,上级编码\n".to_owned();
    text.push_str(&format!("# {}\n", "说明".repeat(3000)));
    text.push_str("网格,V01,东湾\0村,村,caotan\n");
    let file = upload("目录.csv", text.as_bytes()).expect("read");
    let kinds: Vec<_> = file.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [RowErrorKind::InvalidText]);
}
