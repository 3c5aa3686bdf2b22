//! Reading the CSV layout: encoding (UTF-8 with or without BOM, GBK / GB18030, UTF-16
//! with BOM), delimiter, and spreadsheet row numbers.

use std::borrow::Cow;

use super::rejection::{FileError, FileErrorKind, ImportRejection};
use super::rows::{RawRow, RawSheet};

/// The UTF-8 byte-order mark Excel writes for "CSV UTF-8".
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Whether the start of a file looks like binary data rather than text: a NUL byte
/// (UTF-16 text too, which is refused with its own message) or a known signature.
pub(crate) fn looks_binary(bytes: &[u8]) -> bool {
    if utf16_bom(bytes) {
        return false;
    }
    let head = &bytes[..bytes.len().min(8192)];
    head.contains(&0) || head.starts_with(b"%PDF") || head.starts_with(b"\x89PNG")
}

fn utf16_bom(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF])
}

fn encoding_error(message: &str) -> ImportRejection {
    ImportRejection::file(FileError::new(FileErrorKind::Encoding, message))
}

/// The file as text, whatever Excel on a Chinese Windows PC saved: UTF-8 with or
/// without its BOM ("CSV UTF-8"), GBK / GB18030 (plain "CSV", the ANSI code page of
/// a Chinese Windows), or UTF-16 with its BOM ("Unicode Text"). Anything else is
/// refused with advice.
fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, ImportRejection> {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes)
        && encoding != encoding_rs::UTF_8
    {
        return encoding
            .decode_without_bom_handling_and_without_replacement(&bytes[bom..])
            .ok_or_else(|| {
                encoding_error(
                    "文件编码为UTF-16但内容有误，请在Excel中另存为“CSV UTF-8（逗号分隔）”; \
                     the UTF-16 file is damaged: save it as \"CSV UTF-8 (Comma delimited)\"",
                )
            });
    }
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(Cow::Borrowed(text));
    }
    // GB18030 is a superset of GBK and GB2312: one decoder reads all three.
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .ok_or_else(|| {
            encoding_error(
                "文件既不是UTF-8也不是GBK编码，请在Excel中另存为“CSV UTF-8（逗号分隔）”; \
                 the file is neither UTF-8 nor GBK: in Excel, save it as \"CSV UTF-8 (Comma delimited)\"",
            )
        })
}

/// The delimiter: a comma, unless the header line has more semicolons or tabs (as
/// some locales' Excel writes).
fn delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    let count = |c: char| header.matches(c).count();
    let (commas, semicolons, tabs) = (count(','), count(';'), count('\t'));
    if tabs > commas && tabs >= semicolons {
        b'\t'
    } else if semicolons > commas {
        b';'
    } else {
        b','
    }
}

/// Reads the whole file as one sheet; the first record is the header (row 1).
pub(crate) fn read(bytes: &[u8]) -> Result<RawSheet, ImportRejection> {
    let text = decode(bytes)?;
    let text = text.as_ref();
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter(text))
        .from_reader(text.as_bytes());
    let mut header = None;
    let mut rows = Vec::new();
    // A field with a line break spans several lines of the file but is one row in
    // the spreadsheet: count rows, not lines. Blank lines are rows too.
    let mut extra_lines: u64 = 0;
    for record in reader.records() {
        let record = record.map_err(|err| {
            ImportRejection::file(FileError::new(
                FileErrorKind::Unreadable,
                format!("CSV文件格式有误（{err}）; the CSV file cannot be read ({err})"),
            ))
        })?;
        // The position is where reading started, before any blank lines it skipped.
        let line = record.position().map_or(1, |p| {
            let skipped = text
                .get(usize::try_from(p.byte()).unwrap_or(usize::MAX)..)
                .unwrap_or("")
                .chars()
                .take_while(|c| matches!(c, '\r' | '\n'))
                .filter(|&c| c == '\n')
                .count();
            p.line() + skipped as u64
        });
        let row = u32::try_from(line.saturating_sub(extra_lines)).unwrap_or(u32::MAX);
        extra_lines += record
            .iter()
            .map(|field| field.matches('\n').count() as u64)
            .sum::<u64>();
        let cells: Vec<String> = record.iter().map(str::to_owned).collect();
        if header.is_none() {
            header = Some(cells);
        } else {
            rows.push(RawRow { row, cells });
        }
    }
    Ok(RawSheet {
        table: None,
        header: header.unwrap_or_default(),
        rows,
    })
}

#[cfg(test)]
mod csv_tests {
    use super::*;

    #[test]
    fn rows_are_numbered_as_a_spreadsheet_shows_them() {
        let text = "\u{feff}表,编码\n网格,a\n\n网格,\"b\nc\"\n网格,d\n";
        let sheet = read(text.as_bytes()).expect("readable");
        assert_eq!(sheet.header, vec!["表", "编码"]);
        let numbers: Vec<u32> = sheet.rows.iter().map(|r| r.row).collect();
        assert_eq!(numbers, vec![2, 4, 5]);
    }

    #[test]
    fn semicolons_and_tabs_are_recognised() {
        assert_eq!(delimiter("表;编码;名称\n"), b';');
        assert_eq!(delimiter("表\t编码\n"), b'\t');
        assert_eq!(delimiter("表,编码\n"), b',');
    }
}
