//! Photo metadata: reading the location a camera wrote, and removing it (and every
//! other identifying tag) from the copy we store. Only the orientation survives, so the
//! photo still shows the right way up.
//!
//! Everything here streams: a 10 MB photo is never held in memory.

mod exif_read;
mod heif;
mod jpeg;
mod png;
mod webp;

use std::io::{self, Read, Write};

pub use exif_read::read_meta;

/// The container formats we strip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// JPEG: APP1 (EXIF, XMP) and APP13 segments.
    Jpeg,
    /// PNG: eXIf and text chunks.
    Png,
    /// WebP: EXIF and XMP chunks (and the VP8X flags that announce them).
    WebP,
    /// HEIC/HEIF: the Exif and XMP items are overwritten with zeros in place.
    Heif,
}

impl Format {
    /// The format of a sniffed photo content type.
    pub fn of(content_type: &str) -> Option<Self> {
        match content_type {
            "image/jpeg" => Some(Self::Jpeg),
            "image/png" => Some(Self::Png),
            "image/webp" => Some(Self::WebP),
            "image/heic" => Some(Self::Heif),
            _ => None,
        }
    }
}

/// Copies a photo from `input` to `output` without its metadata (JPEG, PNG, WebP),
/// keeping `orientation` for JPEG. For HEIF use [`heif::blank_metadata`] in place.
pub fn strip(
    format: Format,
    orientation: u16,
    input: &mut dyn Read,
    output: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Jpeg => jpeg::strip(input, output, orientation),
        Format::Png => png::strip(input, output),
        Format::WebP => webp::strip(input, output),
        Format::Heif => {
            io::copy(input, output)?;
            Ok(())
        }
    }
}

pub use heif::blank_metadata as blank_heif_metadata;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;
