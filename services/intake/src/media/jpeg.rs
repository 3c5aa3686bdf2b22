//! JPEG: drop the APP1 (EXIF, XMP) and APP13 (IPTC) segments, and write a minimal
//! EXIF segment carrying only the orientation.

use std::io::{self, BufRead, Read, Write};

fn read_u8(r: &mut dyn Read) -> io::Result<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b)?;
    Ok(b[0])
}

fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("not a well-formed JPEG: {what}"),
    )
}

/// A minimal EXIF APP1 segment: a big-endian TIFF header and one IFD entry, Orientation.
fn orientation_segment(orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::with_capacity(26);
    tiff.extend_from_slice(b"MM\x00\x2a\x00\x00\x00\x08"); // header, IFD0 at offset 8
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]); // padding of the 4-byte value field
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut payload = b"Exif\x00\x00".to_vec();
    payload.extend_from_slice(&tiff);
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    segment.extend_from_slice(&payload);
    segment
}

/// Copies a JPEG without its metadata segments, up to its end-of-image marker:
/// whatever follows it (the extra images of a multi-picture file, each with its own
/// EXIF) is not part of the photo and is dropped.
pub fn strip(input: &mut dyn Read, output: &mut dyn Write, orientation: u16) -> io::Result<()> {
    // Segment headers and scan data are read a byte at a time: buffer them.
    let input = &mut io::BufReader::new(input);
    if read_u8(input)? != 0xFF || read_u8(input)? != 0xD8 {
        return Err(bad("no start-of-image marker"));
    }
    output.write_all(&[0xFF, 0xD8])?;
    let mut orientation_written = orientation == 1;
    // The marker that ended a scan, still to be handled.
    let mut pending = None;
    loop {
        let marker = match pending.take() {
            Some(marker) => marker,
            None => {
                let mut marker = read_u8(input)?;
                if marker != 0xFF {
                    return Err(bad("expected a marker"));
                }
                while marker == 0xFF {
                    marker = read_u8(input)?; // fill bytes
                }
                marker
            }
        };
        // Markers without a length.
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            output.write_all(&[0xFF, marker])?;
            continue;
        }
        if marker == 0xD9 {
            output.write_all(&[0xFF, 0xD9])?;
            return Ok(());
        }
        let len = u16::from_be_bytes([read_u8(input)?, read_u8(input)?]);
        if len < 2 {
            return Err(bad("segment length"));
        }
        let drop = marker == 0xE1 || marker == 0xED;
        // The orientation goes right after JFIF (APP0) if there is one, else first.
        if !orientation_written && marker != 0xE0 {
            output.write_all(&orientation_segment(orientation))?;
            orientation_written = true;
        }
        if drop {
            io::copy(&mut (&mut *input).take(u64::from(len - 2)), &mut io::sink())?;
            continue;
        }
        output.write_all(&[0xFF, marker])?;
        output.write_all(&len.to_be_bytes())?;
        let copied = io::copy(&mut (&mut *input).take(u64::from(len - 2)), output)?;
        if copied != u64::from(len - 2) {
            return Err(bad("truncated segment"));
        }
        if marker == 0xDA {
            // Start of scan: image data up to the next marker (a progressive photo has
            // several scans, with segments between them). A photo cut short inside its
            // data is kept as it is, as viewers show it.
            match copy_scan(input, output)? {
                Some(marker) => pending = Some(marker),
                None => return Ok(()),
            }
        }
    }
}

/// Copies entropy-coded data (with its stuffed `FF 00` and restart markers) and
/// returns the marker that ends it, or `None` at the end of the file.
fn copy_scan<R: BufRead>(input: &mut R, output: &mut dyn Write) -> io::Result<Option<u8>> {
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        let Some(at) = buf.iter().position(|&b| b == 0xFF) else {
            output.write_all(buf)?;
            let n = buf.len();
            input.consume(n);
            continue;
        };
        output.write_all(&buf[..at])?;
        input.consume(at + 1);
        let mut next = 0xFF;
        while next == 0xFF {
            match read_u8(input) {
                Ok(byte) => next = byte,
                Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(err) => return Err(err),
            }
        }
        if next == 0x00 || (0xD0..=0xD7).contains(&next) {
            output.write_all(&[0xFF, next])?;
        } else {
            return Ok(Some(next));
        }
    }
}
