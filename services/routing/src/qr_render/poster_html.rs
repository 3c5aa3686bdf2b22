//! The posters as one printable HTML page: A4 portrait, one poster per sheet, the QR
//! code inline as SVG. Self-contained: no scripts, no web fonts, no external requests.

use std::fmt::Write as _;

use super::{INSTRUCTION, Matrix, Poster, RenderError, TITLE, escape_html, svg};

/// The symbol's printed width without its quiet zone: scannable from a metre and more.
const QR_WIDTH_MM: f64 = 120.0;

/// Print layout. The fonts are the Chinese fonts already on the printing computer.
const STYLE: &str = "\
@page { size: A4; margin: 15mm; }
* { margin: 0; padding: 0; box-sizing: border-box; }
body { color: #000; background: #fff; line-height: 1.25; font-family: \"Noto Sans CJK SC\", \"Source Han Sans SC\", \
\"PingFang SC\", \"Microsoft YaHei\", \"SimHei\", sans-serif; }
.poster { height: 267mm; overflow: hidden; display: flex; flex-direction: column; \
align-items: center; justify-content: center; text-align: center; \
page-break-after: always; break-after: page; }
.poster:last-child { page-break-after: auto; break-after: auto; }
.place { font-size: 20pt; }
.grid { font-size: 30pt; font-weight: bold; margin-top: 3mm; }
h1 { font-size: 72pt; line-height: 1.1; letter-spacing: 0.08em; margin-top: 8mm; }
.how { font-size: 18pt; white-space: nowrap; margin-top: 6mm; }
.qr { margin-top: 2mm; }
.qr svg { display: block; width: 100%; height: auto; }
.url { font-size: 10pt; font-family: monospace; word-break: break-all; }
.contact { font-size: 18pt; margin-top: 6mm; }
@media screen { .poster { border-bottom: 1px dashed #999; } }
";

/// The posters as one HTML page to open in a browser and print: one A4 sheet per
/// poster, in the order given. Every name and URL is HTML-escaped.
pub fn posters_html(posters: &[Poster]) -> Result<String, RenderError> {
    let mut html = String::with_capacity(1024 + posters.len() * 8 * 1024);
    html.push_str("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n");
    html.push_str("<title>码上反映 二维码</title>\n<style>\n");
    html.push_str(STYLE);
    html.push_str("</style>\n</head>\n<body>\n");
    for poster in posters {
        write_poster(&mut html, poster)?;
    }
    html.push_str("</body>\n</html>\n");
    Ok(html)
}

/// Appends one poster's `<section>`.
fn write_poster(html: &mut String, poster: &Poster) -> Result<(), RenderError> {
    let matrix = Matrix::encode(&poster.url)?;
    // The viewBox includes the quiet zone; widen the box so the symbol itself is 120 mm.
    let box_mm = QR_WIDTH_MM * matrix.width_with_quiet_zone() as f64 / matrix.width() as f64;
    // Writing to a String cannot fail.
    let _ = write!(
        html,
        "<section class=\"poster\">\n\
         <p class=\"place\">{place}</p>\n\
         <p class=\"grid\">{grid}</p>\n\
         <h1>{TITLE}</h1>\n\
         <p class=\"how\">{INSTRUCTION}</p>\n\
         <div class=\"qr\" style=\"width: {box_mm:.1}mm\">{svg}</div>\n\
         <p class=\"url\">{url}</p>\n",
        place = escape_html(&poster.place(" · ")),
        grid = escape_html(&poster.grid),
        svg = svg::render(&matrix),
        url = escape_html(&poster.url),
    );
    if let Some(contact) = &poster.contact {
        let _ = writeln!(
            html,
            "<p class=\"contact\">联系电话：{}</p>",
            escape_html(contact)
        );
    }
    html.push_str("</section>\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poster(grid: &str, token: &str) -> Poster {
        Poster {
            township: "新庄镇".to_owned(),
            path: vec!["新庄村".to_owned()],
            grid: grid.to_owned(),
            url: format!("https://mashang.example.cn/q/{token}"),
            contact: Some("0938-6612345".to_owned()),
        }
    }

    #[test]
    fn one_section_per_poster_with_title_instruction_and_inline_svg() {
        let posters = [
            poster("第一网格", "q3Zr-8YtVb_1xKp0Lm2NwA"),
            poster("第二网格", "Hc7uQ2mZp9_sWd4-RtYe0g"),
        ];
        let html = posters_html(&posters).expect("short URLs");
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert_eq!(html.matches("<section class=\"poster\">").count(), 2);
        assert_eq!(html.matches("<svg ").count(), 2);
        assert_eq!(html.matches("码上反映</h1>").count(), 2);
        assert_eq!(html.matches(INSTRUCTION).count(), 2);
        assert!(html.contains("新庄镇 · 新庄村"));
        assert!(html.contains("联系电话：0938-6612345"));
        for poster in &posters {
            assert!(html.contains(&format!("<p class=\"url\">{}</p>", poster.url)));
            let svg = svg::render(&Matrix::encode(&poster.url).expect("a short URL"));
            assert!(html.contains(&svg), "the code of {}", poster.url);
        }
    }

    #[test]
    fn prints_on_a4_one_poster_per_sheet() {
        let html = posters_html(&[poster("第一网格", "q3Zr-8YtVb_1xKp0Lm2NwA")]).expect("short");
        assert!(html.contains("@page { size: A4;"));
        assert!(html.contains("page-break-after: always"));
        // The symbol is 37 modules at level Q for this URL: 45 with the quiet zone.
        assert!(html.contains("style=\"width: 145.9mm\""));
    }

    #[test]
    fn names_from_a_spreadsheet_are_escaped() {
        let mut evil = poster("<script>alert(1)</script>", "q3Zr-8YtVb_1xKp0Lm2NwA");
        evil.township = "\"><img src=x onerror=alert(1)>".to_owned();
        evil.contact = Some("<b>110</b>".to_owned());
        let html = posters_html(&[evil]).expect("a short URL");
        assert!(!html.contains("<script"));
        assert!(!html.contains("<img"));
        assert!(!html.contains("<b>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&lt;b&gt;110&lt;/b&gt;"));
    }

    #[test]
    fn self_contained() {
        let html = posters_html(&[poster("第一网格", "q3Zr-8YtVb_1xKp0Lm2NwA")]).expect("short");
        for external in ["<script", "<link", "@import", "@font-face", "src=", "url("] {
            assert!(!html.contains(external), "{external}");
        }
    }
}
