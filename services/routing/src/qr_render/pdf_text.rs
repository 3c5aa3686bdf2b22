//! Text in the posters' PDF without embedding a font: Latin in the standard Helvetica,
//! everything else in the Adobe-GB1 font STSong-Light that PDF viewers supply for
//! Chinese. Each run is a hex string, so no character needs escaping.

use std::fmt::Write as _;

/// Helvetica advance widths in thousandths of an em, for ASCII 32..=126 (Adobe's AFM).
const HELVETICA_WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// The resource name of the Chinese font in every page's `/Font` dictionary.
pub(super) const CHINESE_FONT: &str = "F1";
/// The resource name of Helvetica in every page's `/Font` dictionary.
pub(super) const LATIN_FONT: &str = "F2";

/// A stretch of text in one font, ready for a `Tj`.
#[derive(Debug, PartialEq)]
pub(super) struct Run {
    /// `CHINESE_FONT` or `LATIN_FONT`.
    pub(super) font: &'static str,
    /// The string's bytes in hex: WinAnsi bytes for Helvetica, UTF-16BE code units for
    /// STSong-Light (its `UniGB-UCS2-H` encoding).
    pub(super) hex: String,
    /// The advance width in ems.
    pub(super) width: f64,
}

/// Splits `text` into runs by font. Control characters become spaces: a spreadsheet
/// cell may hold a line break or a tab.
pub(super) fn runs(text: &str) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for c in text.chars() {
        let c = if c.is_control() { ' ' } else { c };
        let font = if c.is_ascii() {
            LATIN_FONT
        } else {
            CHINESE_FONT
        };
        if runs.last().is_none_or(|run| run.font != font) {
            runs.push(Run {
                font,
                hex: String::new(),
                width: 0.0,
            });
        }
        let run = runs
            .last_mut()
            .expect("a run for this font was just pushed");
        if font == LATIN_FONT {
            let byte = c as u8;
            let _ = write!(run.hex, "{byte:02X}");
            run.width += f64::from(HELVETICA_WIDTHS[usize::from(byte - b' ')]) / 1000.0;
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                let _ = write!(run.hex, "{unit:04X}");
            }
            // Hanzi and full-width punctuation are one em wide in STSong-Light.
            run.width += 1.0;
        }
    }
    runs
}

/// `text` as the UTF-16BE hex that content streams show it in.
#[cfg(test)]
pub(super) fn hex_utf16be(text: &str) -> String {
    text.encode_utf16()
        .map(|unit| format!("{unit:04X}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_by_script_and_measures() {
        let runs = runs("新庄村3组");
        assert_eq!(runs.len(), 3);
        assert_eq!(
            (runs[0].font, runs[0].hex.as_str()),
            (CHINESE_FONT, "65B05E846751")
        );
        assert_eq!((runs[1].font, runs[1].hex.as_str()), (LATIN_FONT, "33"));
        assert_eq!((runs[2].font, runs[2].hex.as_str()), (CHINESE_FONT, "7EC4"));
        let width: f64 = runs.iter().map(|r| r.width).sum();
        assert!((width - 4.556).abs() < 1e-9, "{width}");
    }

    #[test]
    fn control_characters_become_spaces_and_rare_hanzi_surrogate_pairs() {
        let runs = runs("a\n\u{20000}");
        assert_eq!(runs[0].hex, "6120");
        assert_eq!(runs[1].hex, "D840DC00");
    }

    #[test]
    fn the_width_table_covers_printable_ascii() {
        assert_eq!(HELVETICA_WIDTHS[usize::from(b'0' - b' ')], 556);
        assert_eq!(HELVETICA_WIDTHS[usize::from(b'~' - b' ')], 584);
    }
}
