//! A minimal PDF file writer: numbered objects, streams, and the cross-reference table
//! with exact byte offsets that strict readers check.
//!
//! The whole file is ASCII apart from the binary-marker comment, so it is built as a
//! `String` and its byte offsets are string lengths.

use std::fmt::Write as _;

/// A reference to an indirect object, `N 0 R`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ObjId(usize);

impl std::fmt::Display for ObjId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} 0 R", self.0)
    }
}

/// A PDF being written: objects may be reserved before they are written, so a parent
/// can be written after its children and still be referred to by them.
#[derive(Debug)]
pub(super) struct PdfFile {
    out: String,
    offsets: Vec<Option<usize>>,
}

impl PdfFile {
    /// A file with its header: version 1.4, then a comment of non-ASCII bytes telling
    /// transfer tools that the file is binary.
    pub(super) fn new() -> Self {
        Self {
            out: String::from("%PDF-1.4\n%\u{e2}\u{e3}\u{cf}\u{d3}\n"),
            offsets: Vec::new(),
        }
    }

    /// Allocates the next object number.
    pub(super) fn reserve(&mut self) -> ObjId {
        self.offsets.push(None);
        ObjId(self.offsets.len())
    }

    /// Writes object `id` with `body` (a dictionary, array or other direct object).
    pub(super) fn write(&mut self, id: ObjId, body: &str) {
        self.start(id);
        self.out.push_str(body);
        self.out.push_str("\nendobj\n");
    }

    /// Writes object `id` as a stream of `content` (uncompressed, so tests can read it).
    pub(super) fn write_stream(&mut self, id: ObjId, content: &str) {
        self.start(id);
        // Writing to a String cannot fail.
        let _ = write!(
            self.out,
            "<< /Length {} >>\nstream\n{content}\nendstream\nendobj\n",
            content.len()
        );
    }

    /// Records where object `id` starts and writes its header.
    fn start(&mut self, id: ObjId) {
        let slot = &mut self.offsets[id.0 - 1];
        debug_assert!(slot.is_none(), "object {} written twice", id.0);
        *slot = Some(self.out.len());
        let _ = writeln!(self.out, "{} 0 obj", id.0);
    }

    /// Appends the cross-reference table and the trailer naming `root` as catalog.
    pub(super) fn finish(mut self, root: ObjId) -> Vec<u8> {
        let xref = self.out.len();
        // Each entry is exactly 20 bytes: offset, generation, type, space and newline.
        let _ = write!(
            self.out,
            "xref\n0 {}\n0000000000 65535 f \n",
            self.offsets.len() + 1
        );
        for offset in &self.offsets {
            let offset = offset.expect("every reserved object is written before finish");
            let _ = writeln!(self.out, "{offset:010} 00000 n ");
        }
        let _ = write!(
            self.out,
            "trailer\n<< /Size {} /Root {root} >>\nstartxref\n{xref}\n%%EOF\n",
            self.offsets.len() + 1
        );
        self.out.into_bytes()
    }
}
