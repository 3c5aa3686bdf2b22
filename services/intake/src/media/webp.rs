//! WebP: drop the EXIF and XMP chunks, clear the VP8X flags announcing them, and fix
//! the RIFF size.

use std::io::{self, Read, Write};

/// Copies a WebP without its metadata chunks. The kept chunks go through a temporary
/// file (the new RIFF size must be written before them), so memory stays bounded.
pub fn strip(input: &mut dyn Read, output: &mut dyn Write) -> io::Result<()> {
    let mut header = [0u8; 12];
    input.read_exact(&mut header)?;
    if &header[0..4] != b"RIFF" || &header[8..12] != b"WEBP" {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not a WebP"));
    }
    let riff_len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    // Spool the kept chunks to a temporary file first: the RIFF size comes before them.
    let mut kept = tempfile::tempfile()?;
    let mut kept_len: u64 = 4; // "WEBP"
    let mut remaining = u64::from(riff_len).saturating_sub(4);
    while remaining >= 8 {
        let mut chunk = [0u8; 8];
        input.read_exact(&mut chunk)?;
        let size = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        let padded = u64::from(size) + u64::from(size & 1);
        remaining = remaining.saturating_sub(8 + padded);
        let kind = &chunk[0..4];
        if kind == b"EXIF" || kind == b"XMP " {
            io::copy(&mut (&mut *input).take(padded), &mut io::sink())?;
            continue;
        }
        kept.write_all(&chunk)?;
        if kind == b"VP8X" && padded >= 1 {
            let mut flags = [0u8; 1];
            input.read_exact(&mut flags)?;
            flags[0] &= !(0x08 | 0x04); // EXIF and XMP present
            kept.write_all(&flags)?;
            if io::copy(&mut (&mut *input).take(padded - 1), &mut kept)? != padded - 1 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "truncated WebP chunk",
                ));
            }
        } else if io::copy(&mut (&mut *input).take(padded), &mut kept)? != padded {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "truncated WebP chunk",
            ));
        }
        kept_len += 8 + padded;
    }
    let new_len = u32::try_from(kept_len)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "WebP too large"))?;
    output.write_all(b"RIFF")?;
    output.write_all(&new_len.to_le_bytes())?;
    output.write_all(b"WEBP")?;
    io::Seek::seek(&mut kept, io::SeekFrom::Start(0))?;
    io::copy(&mut kept, output)?;
    Ok(())
}
