//! The posters as a PDF: one A4 page per grid, the QR code drawn as vector rectangles
//! so it prints sharp at any size, Chinese text in a font the viewer supplies.

use std::fmt::Write as _;

use super::pdf_file::PdfFile;
use super::pdf_text::{self, CHINESE_FONT, LATIN_FONT};
use super::{INSTRUCTION, Matrix, Poster, QUIET_ZONE, RenderError, TITLE};

/// Points per millimetre.
const PT_PER_MM: f64 = 72.0 / 25.4;
/// A4 portrait, in points.
const PAGE_WIDTH: f64 = 210.0 * PT_PER_MM;
const PAGE_HEIGHT: f64 = 297.0 * PT_PER_MM;
/// The widest a line of text may be; longer names are set smaller to fit.
const TEXT_WIDTH: f64 = (210.0 - 2.0 * 15.0) * PT_PER_MM;
/// The symbol's width without its quiet zone: scannable from a metre and more.
const QR_WIDTH: f64 = 120.0 * PT_PER_MM;

/// Font sizes in points.
const PLACE_SIZE: f64 = 20.0;
const GRID_SIZE: f64 = 30.0;
const TITLE_SIZE: f64 = 72.0;
const INSTRUCTION_SIZE: f64 = 18.0;
const URL_SIZE: f64 = 10.0;
const CONTACT_SIZE: f64 = 18.0;

/// The posters as a PDF, one A4 page each, in the order given. The output depends only
/// on the input (no dates, no ids), so the same posters give the same bytes.
///
/// No font is embedded: Chinese is set in STSong-Light with Adobe's predefined
/// `UniGB-UCS2-H` CMap, which PDF viewers render from their own Chinese fonts; Latin
/// text (URL, phone) is set in Helvetica. Characters outside the Adobe-GB1
/// collection (some rare hanzi) show as blanks. An empty slice gives a PDF of no pages.
pub fn posters_pdf(posters: &[Poster]) -> Result<Vec<u8>, RenderError> {
    let mut pdf = PdfFile::new();
    let catalog = pdf.reserve();
    let pages = pdf.reserve();
    let fonts = write_fonts(&mut pdf);

    let mut kids = Vec::with_capacity(posters.len());
    for poster in posters {
        let matrix = Matrix::encode(&poster.url)?;
        let page = pdf.reserve();
        let content = pdf.reserve();
        pdf.write_stream(content, &page_content(poster, &matrix));
        pdf.write(
            page,
            &format!(
                "<< /Type /Page /Parent {pages} /MediaBox [0 0 {PAGE_WIDTH:.2} {PAGE_HEIGHT:.2}] \
                 /Resources << /Font {fonts} >> /Contents {content} >>"
            ),
        );
        kids.push(page.to_string());
    }

    pdf.write(
        pages,
        &format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            kids.len()
        ),
    );
    pdf.write(catalog, &format!("<< /Type /Catalog /Pages {pages} >>"));
    Ok(pdf.finish(catalog))
}

/// Writes the two fonts every page shares and returns the `/Font` resource dictionary.
fn write_fonts(pdf: &mut PdfFile) -> String {
    let chinese = pdf.reserve();
    let cid_font = pdf.reserve();
    let descriptor = pdf.reserve();
    let latin = pdf.reserve();
    pdf.write(
        chinese,
        &format!(
            "<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H \
             /DescendantFonts [{cid_font}] >>"
        ),
    );
    pdf.write(
        cid_font,
        &format!(
            "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light \
             /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> \
             /FontDescriptor {descriptor} /DW 1000 >>"
        ),
    );
    // Metrics of Adobe's STSong-Light, so viewers can substitute a font of the same size.
    pdf.write(
        descriptor,
        "<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 \
         /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 \
         /CapHeight 880 /StemV 93 >>",
    );
    pdf.write(
        latin,
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    );
    format!("<< /{CHINESE_FONT} {chinese} /{LATIN_FONT} {latin} >>")
}

/// Draws one poster. Lines are laid out downwards from the top of the block, which is
/// then centred on the page by one translation.
fn page_content(poster: &Poster, matrix: &Matrix) -> String {
    let module = QR_WIDTH / matrix.width() as f64;
    let quiet = QUIET_ZONE as f64 * module;
    let mut body = String::new();
    let mut y = 0.0;

    y -= PLACE_SIZE;
    centred_text(&mut body, &poster.place("\u{3000}"), PLACE_SIZE, y);
    y -= 12.0 + GRID_SIZE;
    centred_text(&mut body, &poster.grid, GRID_SIZE, y);
    y -= 24.0 + TITLE_SIZE;
    // STSong-Light has no bold: outline the filled glyphs to make the title heavier.
    body.push_str("q 2 Tr 1.5 w\n");
    centred_text(&mut body, TITLE, TITLE_SIZE, y);
    body.push_str("Q\n");
    y -= 20.0 + INSTRUCTION_SIZE;
    centred_text(&mut body, INSTRUCTION, INSTRUCTION_SIZE, y);

    // The quiet zone is the white paper around the symbol: nothing is drawn in it.
    y -= 6.0 + quiet + QR_WIDTH;
    draw_symbol(&mut body, matrix, module, y);
    y -= quiet + URL_SIZE;
    centred_text(&mut body, &poster.url, URL_SIZE, y);
    if let Some(contact) = &poster.contact {
        y -= 18.0 + CONTACT_SIZE;
        centred_text(&mut body, &format!("联系电话：{contact}"), CONTACT_SIZE, y);
    }

    let block_height = -y;
    let top = (PAGE_HEIGHT + block_height) / 2.0;
    format!("q 1 0 0 1 0 {top:.2} cm\n{body}Q")
}

/// Draws the symbol with its lower-left corner at `(centred, bottom)`: one rectangle per
/// dark stretch of a row, in module units scaled by one matrix, filled at once so no
/// seams show between rows.
fn draw_symbol(out: &mut String, matrix: &Matrix, module: f64, bottom: f64) {
    let left = (PAGE_WIDTH - QR_WIDTH) / 2.0;
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "q 0 g {module:.4} 0 0 {module:.4} {left:.3} {bottom:.3} cm"
    );
    let width = matrix.width();
    for row in 0..width {
        // PDF's y axis points up; row 0 is the top.
        let y = width - 1 - row;
        for (x, len) in matrix.dark_runs(row) {
            let _ = writeln!(out, "{x} {y} {len} 1 re");
        }
    }
    out.push_str("f Q\n");
}

/// Writes `text` centred on the page at `baseline`, shrunk to fit the text width.
fn centred_text(out: &mut String, text: &str, size: f64, baseline: f64) {
    let runs = pdf_text::runs(text);
    let ems: f64 = runs.iter().map(|run| run.width).sum();
    let size = if ems * size > TEXT_WIDTH {
        TEXT_WIDTH / ems
    } else {
        size
    };
    let x = (PAGE_WIDTH - ems * size) / 2.0;
    let _ = write!(out, "BT {x:.2} {baseline:.2} Td");
    for run in &runs {
        let _ = write!(out, " /{} {size:.2} Tf <{}> Tj", run.font, run.hex);
    }
    out.push_str(" ET\n");
}

#[cfg(test)]
mod tests;
