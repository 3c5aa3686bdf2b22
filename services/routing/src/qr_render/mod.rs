//! QR codes and the printable posters that carry them: the code of a landing URL as a
//! PNG or an SVG, and a batch of A4 posters (one per grid) as an HTML page or a PDF.
//!
//! Pure functions: no I/O, no clock, so the same input always gives the same bytes.

mod pdf_file;
mod pdf_text;
mod png;
mod poster_html;
mod poster_pdf;
mod svg;

#[cfg(test)]
mod qr_decode;

use qrcode::{Color, EcLevel, QrCode};

pub use self::png::png;
pub use self::poster_html::posters_html;
pub use self::poster_pdf::posters_pdf;
pub use self::svg::svg;

/// Light modules around the symbol, as the QR specification requires for scanning.
const QUIET_ZONE: usize = 4;

/// The one-line instruction printed on every poster.
const INSTRUCTION: &str = "有事找网格员，扫码反映问题，网格员30分钟内与您联系";

/// The title printed on every poster.
const TITLE: &str = "码上反映";

/// One grid's poster: where it hangs, the URL its code encodes, whom to call.
///
/// The names come from a township's spreadsheet and are treated as untrusted text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Poster {
    /// The township (tenant) name, e.g. 新庄镇.
    pub township: String,
    /// The nodes between township and grid, top down, e.g. `["新庄村"]`.
    pub path: Vec<String>,
    /// The grid name, e.g. 第三网格.
    pub grid: String,
    /// The landing URL the code encodes, `<public_url>/q/<token>`.
    pub url: String,
    /// The township's phone number, printed under the code when given.
    pub contact: Option<String>,
}

impl Poster {
    /// Township and village path, the line above the grid name.
    fn place(&self, separator: &str) -> String {
        std::iter::once(self.township.as_str())
            .chain(self.path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(separator)
    }
}

/// A QR code could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The URL does not fit in the largest QR symbol (about 1,600 bytes at level Q).
    #[error("a {len}-byte URL is too long for a QR code")]
    UrlTooLong {
        /// The URL's length in bytes.
        len: usize,
    },
}

/// A QR symbol's modules, without its quiet zone; `true` is dark.
#[derive(Debug)]
struct Matrix {
    width: usize,
    dark: Vec<bool>,
}

impl Matrix {
    /// The smallest symbol for `url` at level Q: it survives a quarter of the code
    /// being dirty or torn, which matters for posters on village walls.
    fn encode(url: &str) -> Result<Self, RenderError> {
        let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::Q)
            .map_err(|_| RenderError::UrlTooLong { len: url.len() })?;
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect();
        Ok(Self {
            width: code.width(),
            dark,
        })
    }

    /// Modules per side, without the quiet zone.
    fn width(&self) -> usize {
        self.width
    }

    /// Modules per side, with the quiet zone on both sides.
    fn width_with_quiet_zone(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }

    /// The dark stretches of row `y` (0 at the top) as `(first column, length)`;
    /// drawing stretches rather than single modules keeps SVG and PDF small.
    fn dark_runs(&self, y: usize) -> Vec<(usize, usize)> {
        let row = &self.dark[y * self.width..(y + 1) * self.width];
        let mut runs = Vec::new();
        let mut x = 0;
        while x < row.len() {
            if row[x] {
                let len = row[x..].iter().take_while(|&&d| d).count();
                runs.push((x, len));
                x += len;
            } else {
                x += 1;
            }
        }
        runs
    }
}

/// Escapes text for HTML content and quoted attribute values.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_exactly_the_dark_modules() {
        let matrix = Matrix::encode("https://mashang.example.cn/q/abc").expect("short URL");
        for y in 0..matrix.width() {
            let mut rebuilt = vec![false; matrix.width()];
            for (x, len) in matrix.dark_runs(y) {
                rebuilt[x..x + len].iter_mut().for_each(|d| *d = true);
            }
            assert_eq!(
                rebuilt,
                matrix.dark[y * matrix.width..(y + 1) * matrix.width]
            );
        }
    }

    #[test]
    fn a_url_too_long_for_any_symbol_is_an_error() {
        let url = format!("https://mashang.example.cn/q/{}", "x".repeat(3000));
        assert!(matches!(
            Matrix::encode(&url),
            Err(RenderError::UrlTooLong { len }) if len == url.len()
        ));
    }

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape_html(r#"<script>alert("a&b's")</script>"#),
            "&lt;script&gt;alert(&quot;a&amp;b&#39;s&quot;)&lt;/script&gt;"
        );
    }
}
