//! The XLSX writer: an Office Open XML workbook whose sheet XML (SpreadsheetML) is
//! written row by row into a deflated ZIP entry streamed to the output, so memory
//! stays flat however many rows there are (decision 0027). Text goes in as inline
//! strings (never a formula, so no guard is needed), numbers as numbers, times as
//! Excel date serials with a date format. A sheet holds at most [`MAX_DATA_ROWS`]
//! rows below its header; more continue on the next sheet.

use std::io::{self, Write};

use chrono::NaiveDateTime;
use zip::ZipWriter;
use zip::write::{SimpleFileOptions, StreamWriter};

use super::table::{Cell, TableWriter};

/// Rows below the header on one sheet: Excel's 1 048 576 rows less the header.
pub const MAX_DATA_ROWS: u32 = 1_048_575;

/// Excel's limit on a cell's text, in UTF-16 units; longer text is cut.
const MAX_CELL_CHARS: usize = 32_767;

/// The sheets' name: 案件 ("cases"), then 案件 (2) and so on.
const SHEET_NAME: &str = "案件";

/// Style indexes in `styles.xml`: 1 bold (the header), 2 a date and time.
const STYLE_HEADER: u8 = 1;
const STYLE_TIME: u8 = 2;

/// Writes a table as an XLSX workbook to `W`.
pub struct XlsxWriter<W: Write> {
    zip: ZipWriter<StreamWriter<W>>,
    titles: Vec<String>,
    sheets: u32,
    rows_on_sheet: u32,
    line: String,
    max_rows: u32,
}

impl<W: Write> std::fmt::Debug for XlsxWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XlsxWriter")
            .field("sheets", &self.sheets)
            .field("rows_on_sheet", &self.rows_on_sheet)
            .finish_non_exhaustive()
    }
}

impl<W: Write> XlsxWriter<W> {
    /// A workbook written to `out`.
    pub fn new(out: W) -> Self {
        Self::with_sheet_limit(out, MAX_DATA_ROWS)
    }

    /// A workbook whose sheets hold at most `max_rows` data rows (tests use a few).
    pub(crate) fn with_sheet_limit(out: W, max_rows: u32) -> Self {
        Self {
            zip: ZipWriter::new_stream(out),
            titles: Vec::new(),
            sheets: 0,
            rows_on_sheet: 0,
            line: String::with_capacity(4096),
            max_rows: max_rows.clamp(1, MAX_DATA_ROWS),
        }
    }

    fn options() -> SimpleFileOptions {
        // Level 1: a sheet of a million rows deflates about as small as at the
        // default level, in a fraction of the time.
        SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(1))
    }

    fn start_sheet(&mut self) -> io::Result<()> {
        if self.sheets > 0 {
            self.end_sheet()?;
        }
        self.sheets += 1;
        self.rows_on_sheet = 0;
        let name = format!("xl/worksheets/sheet{}.xml", self.sheets);
        self.zip
            .start_file(name, Self::options())
            .map_err(io::Error::other)?;
        self.line.clear();
        self.line.push_str(concat!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
            "\n",
            r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" "#,
            r#"xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#,
            r#"<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>"#,
            r#"<sheetFormatPr defaultRowHeight="15"/><cols>"#,
        ));
        for (i, title) in self.titles.iter().enumerate() {
            let width = column_width(title);
            let n = i + 1;
            self.line.push_str(&format!(
                r#"<col min="{n}" max="{n}" width="{width}" customWidth="1"/>"#
            ));
        }
        self.line.push_str("</cols><sheetData>");
        // The header again on every sheet.
        self.line.push_str(r#"<row r="1">"#);
        let titles = std::mem::take(&mut self.titles);
        for (i, title) in titles.iter().enumerate() {
            push_text_cell(&mut self.line, i, 1, title, Some(STYLE_HEADER));
        }
        self.titles = titles;
        self.line.push_str("</row>");
        self.zip.write_all(self.line.as_bytes())
    }

    fn end_sheet(&mut self) -> io::Result<()> {
        self.zip.write_all(b"</sheetData></worksheet>")
    }

    fn write_part(&mut self, name: &str, content: &str) -> io::Result<()> {
        self.zip
            .start_file(name, Self::options())
            .map_err(io::Error::other)?;
        self.zip.write_all(content.as_bytes())
    }
}

impl<W: Write + Send> TableWriter for XlsxWriter<W> {
    fn header(&mut self, titles: &[&str]) -> io::Result<()> {
        self.titles = titles.iter().map(|t| (*t).to_owned()).collect();
        // The package's content types come first, as Office writes them, so that
        // tools sniffing the first entry know the file.
        self.write_part("[Content_Types].xml", CONTENT_TYPES)?;
        self.start_sheet()
    }

    fn row(&mut self, cells: &[Cell<'_>]) -> io::Result<()> {
        if self.rows_on_sheet == self.max_rows {
            self.start_sheet()?;
        }
        self.rows_on_sheet += 1;
        let r = self.rows_on_sheet + 1;
        self.line.clear();
        self.line.push_str(&format!(r#"<row r="{r}">"#));
        for (i, cell) in cells.iter().enumerate() {
            match cell {
                Cell::Empty => {}
                Cell::Text(text) => push_text_cell(&mut self.line, i, r, text, None),
                Cell::Int(n) => {
                    push_ref(&mut self.line, i, r, None);
                    self.line.push_str(&format!("><v>{n}</v></c>"));
                }
                Cell::Time(t) => {
                    push_ref(&mut self.line, i, r, Some(STYLE_TIME));
                    self.line
                        .push_str(&format!("><v>{}</v></c>", excel_serial(*t)));
                }
            }
        }
        self.line.push_str("</row>");
        self.zip.write_all(self.line.as_bytes())
    }

    fn finish(mut self: Box<Self>) -> io::Result<()> {
        if self.sheets == 0 {
            self.start_sheet()?;
        }
        self.end_sheet()?;
        let sheets = self.sheets;
        self.write_part("_rels/.rels", ROOT_RELS)?;
        self.write_part("docProps/app.xml", APP_PROPS)?;
        self.write_part("xl/workbook.xml", &workbook(sheets))?;
        self.write_part("xl/_rels/workbook.xml.rels", &workbook_rels(sheets))?;
        self.write_part("xl/styles.xml", STYLES)?;
        let mut out = self.zip.finish().map_err(io::Error::other)?;
        out.flush()
    }
}

/// `A`, `B`, … `Z`, `AA`, … for the 0-based column `i`.
fn column_name(mut i: usize, out: &mut String) {
    let mut letters = [0u8; 4];
    let mut n = 0;
    loop {
        letters[n] = b'A' + (i % 26) as u8;
        n += 1;
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    for &c in letters[..n].iter().rev() {
        out.push(c as char);
    }
}

fn push_ref(line: &mut String, column: usize, row: u32, style: Option<u8>) {
    line.push_str(r#"<c r=""#);
    column_name(column, line);
    line.push_str(&row.to_string());
    line.push('"');
    if let Some(s) = style {
        line.push_str(&format!(r#" s="{s}""#));
    }
}

fn push_text_cell(line: &mut String, column: usize, row: u32, text: &str, style: Option<u8>) {
    push_ref(line, column, row, style);
    line.push_str(r#" t="inlineStr"><is><t xml:space="preserve">"#);
    push_escaped(line, text);
    line.push_str("</t></is></c>");
}

/// Escapes XML's special characters and drops characters XML 1.0 cannot carry
/// (control characters a citizen's text may hold would make the file unreadable);
/// cuts text at Excel's cell limit.
fn push_escaped(line: &mut String, text: &str) {
    let mut units = 0;
    for c in text.chars() {
        units += c.len_utf16();
        if units > MAX_CELL_CHARS {
            break;
        }
        match c {
            '&' => line.push_str("&amp;"),
            '<' => line.push_str("&lt;"),
            '>' => line.push_str("&gt;"),
            '"' => line.push_str("&quot;"),
            '\t' | '\n' | '\r' => line.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => line.push(c),
        }
    }
}

/// Days since 1899-12-30 (Excel's day 0 in the 1900 date system), with the time of
/// day as the fraction.
fn excel_serial(t: NaiveDateTime) -> f64 {
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("1899-12-30 is a valid date");
    let seconds = (t - epoch).num_seconds() as f64;
    // Rounded to the second so that the stored value is short.
    (seconds / 86_400.0 * 1e9).round() / 1e9
}

/// A column wide enough for its title (a CJK character counts double).
fn column_width(title: &str) -> usize {
    let width: usize = title
        .chars()
        .map(|c| if c.is_ascii() { 1 } else { 2 })
        .sum();
    (width + 2).clamp(10, 40)
}

fn workbook(sheets: u32) -> String {
    let mut xml = String::from(concat!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
        "\n",
        r#"<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" "#,
        r#"xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#,
        r#"<bookViews><workbookView/></bookViews><sheets>"#,
    ));
    for n in 1..=sheets {
        let name = if n == 1 {
            SHEET_NAME.to_owned()
        } else {
            format!("{SHEET_NAME} ({n})")
        };
        xml.push_str(&format!(
            r#"<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>"#
        ));
    }
    xml.push_str("</sheets></workbook>");
    xml
}

fn workbook_rels(sheets: u32) -> String {
    let mut xml = String::from(concat!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
        "\n",
        r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    ));
    for n in 1..=sheets {
        xml.push_str(&format!(
            r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>"#
        ));
    }
    let styles = sheets + 1;
    xml.push_str(&format!(
        r#"<Relationship Id="rId{styles}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>"#
    ));
    xml.push_str("</Relationships>");
    xml
}

// Every `.xml` part not overridden is a worksheet, so the content types can be
// written before the number of sheets is known.
const CONTENT_TYPES: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
    "\n",
    r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">"#,
    r#"<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>"#,
    r#"<Default Extension="xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#,
    r#"<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>"#,
    r#"<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>"#,
    r#"<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>"#,
    r#"</Types>"#,
);

const ROOT_RELS: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
    "\n",
    r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    r#"<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>"#,
    r#"<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>"#,
    r#"</Relationships>"#,
);

const APP_PROPS: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
    "\n",
    r#"<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">"#,
    r#"<Application>Mashang</Application></Properties>"#,
);

const STYLES: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
    "\n",
    r#"<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
    r#"<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/></numFmts>"#,
    r#"<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>"#,
    r#"<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>"#,
    r#"<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>"#,
    r#"<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"#,
    r#"<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>"#,
    r#"<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>"#,
    r#"<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>"#,
    r#"<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>"#,
    r#"<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>"#,
    r#"</styleSheet>"#,
);

#[cfg(test)]
mod tests;
