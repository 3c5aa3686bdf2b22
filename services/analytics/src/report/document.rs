//! The report's Word document: A4 pages with the margins, typefaces and heading styles
//! official reports use, and the pieces every report is made of (headings, paragraphs,
//! figure tables, charts with their data, the place left for the township to write).

use std::io::Cursor;

use docx_rs::{
    AlignmentType, Docx, LineSpacing, PageMargin, Paragraph, Pic, Run, RunFonts, Shading, Style,
    StyleType, Table, TableCell, TableRow, WidthType,
};

use super::ReportError;
use super::data::FigureLine;
use crate::charts::{self, Chart, ChartKind};

/// A4 in twentieths of a point.
const A4: (u32, u32) = (11906, 16838);
/// Margins of official documents (GB/T 9704): 37 mm top, 35 mm bottom, 28 mm left,
/// 26 mm right, in twentieths of a point.
const MARGINS: (i32, i32, i32, i32) = (2098, 1984, 1587, 1474);
/// The width of the text between the margins, in twentieths of a point.
const TEXT_WIDTH: usize = 8845;
/// A chart's width on the page: 15 cm in EMU (360 000 per cm).
const CHART_WIDTH_EMU: u32 = 5_400_000;

/// Paragraph style ids (the names Word knows, so its navigation pane and outline see
/// the headings).
pub(super) const TITLE: &str = "Title";
pub(super) const HEADING1: &str = "Heading1";
pub(super) const HEADING2: &str = "Heading2";
pub(super) const BODY: &str = "BodyText";
pub(super) const CAPTION: &str = "Caption";
pub(super) const TABLE_TEXT: &str = "TableText";

/// Text that marks the place the township writes itself.
pub const PLACEHOLDER: &str = "【待填写】";

fn fonts(east_asia: &str) -> RunFonts {
    RunFonts::new()
        .east_asia(east_asia)
        .ascii("Times New Roman")
        .hi_ansi("Times New Roman")
}

fn styles(docx: Docx) -> Docx {
    let paragraph = |id: &str, name: &str| {
        Style::new(id, StyleType::Paragraph)
            .name(name)
            .based_on("Normal")
            .next(BODY)
            .q_format(true)
    };
    docx.default_fonts(fonts("仿宋_GB2312"))
        .default_size(32)
        .add_style(
            paragraph(TITLE, "Title")
                .fonts(fonts("方正小标宋简体"))
                .size(44)
                .align(AlignmentType::Center)
                .line_spacing(LineSpacing::new().after(240)),
        )
        .add_style(
            paragraph(HEADING1, "heading 1")
                .fonts(fonts("黑体"))
                .size(32)
                .outline_lvl(0)
                .line_spacing(LineSpacing::new().before(240).after(120)),
        )
        .add_style(
            paragraph(HEADING2, "heading 2")
                .fonts(fonts("楷体_GB2312"))
                .size(32)
                .bold()
                .outline_lvl(1)
                .first_line_chars(200),
        )
        .add_style(
            paragraph(BODY, "Body Text")
                .first_line_chars(200)
                .line_spacing(
                    LineSpacing::new()
                        .line(560)
                        .line_rule(docx_rs::LineSpacingType::Exact),
                ),
        )
        .add_style(
            paragraph(CAPTION, "caption")
                .fonts(fonts("黑体"))
                .size(24)
                .align(AlignmentType::Center),
        )
        .add_style(
            paragraph(TABLE_TEXT, "Table Text")
                .fonts(fonts("宋体"))
                .size(21),
        )
}

/// A report being written, top to bottom.
#[derive(Debug)]
pub(super) struct Document {
    docx: Docx,
    charts: usize,
}

impl Document {
    /// An empty A4 document with the report's styles.
    pub(super) fn new() -> Self {
        let (top, bottom, left, right) = MARGINS;
        let docx = styles(Docx::new()).page_size(A4.0, A4.1).page_margin(
            PageMargin::new()
                .top(top)
                .bottom(bottom)
                .left(left)
                .right(right)
                .header(851)
                .footer(992),
        );
        Self { docx, charts: 0 }
    }

    fn push(&mut self, p: Paragraph) {
        let docx = std::mem::take(&mut self.docx);
        self.docx = docx.add_paragraph(p);
    }

    fn push_table(&mut self, t: Table) {
        let docx = std::mem::take(&mut self.docx);
        self.docx = docx.add_table(t);
    }

    /// A paragraph of `style` with `text`.
    pub(super) fn styled(&mut self, style: &str, text: &str) {
        // Headings, captions and the line over a chart's data stay on the page of
        // what follows them.
        let keep = matches!(style, HEADING1 | HEADING2 | CAPTION | TABLE_TEXT);
        self.push(
            Paragraph::new()
                .style(style)
                .keep_next(keep)
                .add_run(Run::new().add_text(text)),
        );
    }

    /// A centred line under the title (the period, how the draft was made).
    pub(super) fn subtitle(&mut self, text: &str) {
        self.push(
            Paragraph::new()
                .align(AlignmentType::Center)
                .add_run(Run::new().fonts(fonts("楷体_GB2312")).add_text(text)),
        );
    }

    /// A body paragraph.
    pub(super) fn para(&mut self, text: &str) {
        self.styled(BODY, text);
    }

    /// The place the township writes: a highlighted marker and what belongs there.
    pub(super) fn placeholder(&mut self, what: &str) {
        self.push(
            Paragraph::new().style(BODY).add_run(
                Run::new()
                    .highlight("yellow")
                    .bold()
                    .add_text(format!("{PLACEHOLDER}{what}")),
            ),
        );
    }

    /// A right-aligned line (the signature block).
    pub(super) fn right(&mut self, text: &str) {
        self.push(
            Paragraph::new()
                .align(AlignmentType::Right)
                .add_run(Run::new().add_text(text)),
        );
    }

    /// A table with a header row; the first column is left-aligned, the others centred.
    pub(super) fn table(&mut self, header: &[&str], rows: Vec<Vec<String>>) {
        let cols = header.len().max(1);
        let first = TEXT_WIDTH * 2 / (cols + 1);
        let other = (TEXT_WIDTH - first) / cols.saturating_sub(1).max(1);
        let widths: Vec<usize> = (0..cols)
            .map(|i| if i == 0 { first } else { other })
            .collect();
        let cell = |text: &str, i: usize, head: bool| {
            let mut run = Run::new().add_text(text);
            if head {
                run = run.bold();
            }
            let align = if i == 0 {
                AlignmentType::Left
            } else {
                AlignmentType::Center
            };
            let mut c = TableCell::new()
                .width(widths[i], WidthType::Dxa)
                .add_paragraph(Paragraph::new().style(TABLE_TEXT).align(align).add_run(run));
            if head {
                c = c.shading(Shading::new().fill("D9E2F3"));
            }
            c
        };
        let mut table_rows = vec![TableRow::new(
            header
                .iter()
                .enumerate()
                .map(|(i, h)| cell(h, i, true))
                .collect(),
        )];
        table_rows.extend(rows.iter().map(|r| {
            TableRow::new(
                r.iter()
                    .enumerate()
                    .take(cols)
                    .map(|(i, t)| cell(t, i, false))
                    .collect(),
            )
        }));
        self.push_table(
            Table::new(table_rows)
                .set_grid(widths.clone())
                .width(TEXT_WIDTH, WidthType::Dxa),
        );
        // Word joins two tables that follow each other; an empty paragraph keeps them apart.
        self.push(Paragraph::new().style(TABLE_TEXT));
    }

    /// A table of figures: name, value, numerator, denominator.
    pub(super) fn figures(&mut self, lines: &[FigureLine]) {
        let rows = lines
            .iter()
            .map(|l| {
                vec![
                    l.label.clone(),
                    l.unit.format(&l.figure),
                    l.figure
                        .numerator
                        .map_or_else(|| "—".to_owned(), |n| n.to_string()),
                    l.figure
                        .denominator
                        .map_or_else(|| "—".to_owned(), |n| n.to_string()),
                ]
            })
            .collect();
        self.table(&["指标", "数值", "分子", "分母"], rows);
    }

    /// A chart: its caption, the picture, and its data as a table under it (the
    /// picture carries no text; see decision 0028).
    pub(super) fn chart(&mut self, chart: &Chart) -> Result<(), ReportError> {
        if chart.categories.is_empty() {
            return Ok(());
        }
        self.charts += 1;
        let png = charts::png(chart)?;
        let height = (u64::from(CHART_WIDTH_EMU) * u64::from(png.height)
            / u64::from(png.width.max(1))) as u32;
        let pic = Pic::new_with_dimensions(png.bytes, png.width, png.height)
            .size(CHART_WIDTH_EMU, height);
        self.styled(CAPTION, &format!("图{}　{}", self.charts, chart.title));
        self.push(
            Paragraph::new()
                .align(AlignmentType::Center)
                .keep_next(true)
                .add_run(Run::new().add_image(pic)),
        );
        let order = match chart.kind {
            ChartKind::Bar => "图中各组柱形自左至右与下表各行依次对应",
            ChartKind::Line => "图中各点自左至右与下表各行依次对应",
        };
        let legend: Vec<String> = chart
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}为{}色", s.name, charts::colour_name(i)))
            .collect();
        self.styled(
            TABLE_TEXT,
            &format!(
                "图{}数据（{order}；{}；单位：{}）",
                self.charts,
                legend.join("，"),
                chart.unit
            ),
        );
        let mut header = vec![chart.category_label.as_str()];
        header.extend(chart.series.iter().map(|s| s.name.as_str()));
        let rows = chart
            .categories
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut row = vec![c.clone()];
                row.extend(chart.series.iter().map(|s| {
                    s.values
                        .get(i)
                        .copied()
                        .flatten()
                        .map_or_else(|| "—".to_owned(), charts::format_value)
                }));
                row
            })
            .collect();
        self.table(&header, rows);
        Ok(())
    }

    /// The finished `.docx` file.
    pub(super) fn finish(self) -> Result<Vec<u8>, ReportError> {
        let mut out = Cursor::new(Vec::new());
        self.docx
            .pack(&mut out)
            .map_err(|e| ReportError::Pack(Box::new(e)))?;
        Ok(out.into_inner())
    }
}
