//! The CSV writer: RFC 4180 (fields quoted where needed, CRLF line ends), in UTF-8
//! with a byte-order mark (so Excel reads it as UTF-8) or in GB18030 (for older Excel
//! set to a Chinese locale), with text cells guarded against formula injection.

use std::borrow::Cow;
use std::io::{self, Write};

use super::table::{Cell, TIME_FORMAT, TableWriter};

/// The byte encoding of a CSV file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CsvEncoding {
    /// UTF-8 starting with the byte-order mark `EF BB BF`.
    #[default]
    Utf8Bom,
    /// GB18030 (every Unicode character has a code), no mark.
    Gb18030,
}

impl CsvEncoding {
    /// Parses the `encoding` parameter (`utf-8`, `gb18030`; any case).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(Self::Utf8Bom),
            "gb18030" => Some(Self::Gb18030),
            _ => None,
        }
    }

    /// The `charset` of the response's `Content-Type`.
    pub fn charset(self) -> &'static str {
        match self {
            Self::Utf8Bom => "utf-8",
            Self::Gb18030 => "gb18030",
        }
    }
}

/// The byte-order mark Excel looks for to read a CSV file as UTF-8.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Writes a table as CSV to `W`.
pub struct CsvWriter<W: Write> {
    inner: ::csv::Writer<Encoded<W>>,
    scratch: String,
}

impl<W: Write> std::fmt::Debug for CsvWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvWriter").finish_non_exhaustive()
    }
}

impl<W: Write> CsvWriter<W> {
    /// A writer in `encoding` to `out`; the UTF-8 mark is written at once.
    pub fn new(mut out: W, encoding: CsvEncoding) -> io::Result<Self> {
        if encoding == CsvEncoding::Utf8Bom {
            out.write_all(UTF8_BOM)?;
        }
        let inner = ::csv::WriterBuilder::new()
            .terminator(::csv::Terminator::CRLF)
            .quote_style(::csv::QuoteStyle::Necessary)
            .from_writer(Encoded::new(out, encoding));
        Ok(Self {
            inner,
            scratch: String::new(),
        })
    }
}

impl<W: Write + Send> TableWriter for CsvWriter<W> {
    fn header(&mut self, titles: &[&str]) -> io::Result<()> {
        self.inner.write_record(titles).map_err(into_io)
    }

    fn row(&mut self, cells: &[Cell<'_>]) -> io::Result<()> {
        use std::fmt::Write as _;
        for cell in cells {
            let scratch = &mut self.scratch;
            scratch.clear();
            let field: Cow<'_, str> = match cell {
                Cell::Empty => Cow::Borrowed(""),
                Cell::Text(text) => guard_formula(text),
                Cell::Int(n) => {
                    let _ = write!(scratch, "{n}");
                    Cow::Borrowed(scratch.as_str())
                }
                Cell::Time(t) => {
                    let _ = write!(scratch, "{}", t.format(TIME_FORMAT));
                    Cow::Borrowed(scratch.as_str())
                }
            };
            self.inner.write_field(field.as_bytes()).map_err(into_io)?;
        }
        // An empty record ends the row of fields written one by one.
        self.inner.write_record(None::<&[u8]>).map_err(into_io)
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        let mut encoded = self.inner.into_inner().map_err(|e| e.into_error())?;
        encoded.finish()
    }
}

fn into_io(err: ::csv::Error) -> io::Error {
    match err.into_kind() {
        ::csv::ErrorKind::Io(err) => err,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// Text a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, or a tab or
/// carriage return before one) gets a leading apostrophe, so it shows as the text the
/// citizen wrote and is never evaluated (OWASP's advice on CSV injection).
pub fn guard_formula(text: &str) -> Cow<'_, str> {
    match text.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

/// UTF-8 bytes passed through, or re-encoded as GB18030. The CSV writer hands over
/// bytes in buffer-sized pieces that may split a character; the split tail waits for
/// the next piece.
struct Encoded<W: Write> {
    out: W,
    encoding: CsvEncoding,
    pending: Vec<u8>,
}

impl<W: Write> Encoded<W> {
    fn new(out: W, encoding: CsvEncoding) -> Self {
        Self {
            out,
            encoding,
            pending: Vec::new(),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a character was cut short",
            ));
        }
        self.out.flush()
    }
}

impl<W: Write> Write for Encoded<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.encoding == CsvEncoding::Utf8Bom {
            return self.out.write(buf);
        }
        self.pending.extend_from_slice(buf);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(text) => text.len(),
            // Only an incomplete character at the end may wait; anything else is no UTF-8.
            Err(err) if err.error_len().is_none() => err.valid_up_to(),
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the CSV writer produced bytes that are not UTF-8",
                ));
            }
        };
        let text = std::str::from_utf8(&self.pending[..valid])
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))?;
        // GB18030 encodes every Unicode scalar value, so nothing is replaced.
        let (bytes, _, _) = encoding_rs::GB18030.encode(text);
        self.out.write_all(&bytes)?;
        self.pending.drain(..valid);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests;
