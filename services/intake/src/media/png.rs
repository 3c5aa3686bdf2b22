//! PNG: drop the eXIf chunk and the text chunks (tEXt, zTXt, iTXt, which carry XMP).

use std::io::{self, Read, Write};

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
const DROPPED: [&[u8; 4]; 4] = [b"eXIf", b"tEXt", b"zTXt", b"iTXt"];

/// Copies a PNG without its metadata chunks.
pub fn strip(input: &mut dyn Read, output: &mut dyn Write) -> io::Result<()> {
    let mut signature = [0u8; 8];
    input.read_exact(&mut signature)?;
    if signature != SIGNATURE {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not a PNG"));
    }
    output.write_all(&signature)?;
    loop {
        let mut header = [0u8; 8];
        input.read_exact(&mut header)?;
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let kind = [header[4], header[5], header[6], header[7]];
        let body = u64::from(len) + 4; // data and CRC
        if DROPPED.contains(&&kind) {
            io::copy(&mut (&mut *input).take(body), &mut io::sink())?;
            continue;
        }
        output.write_all(&header)?;
        if io::copy(&mut (&mut *input).take(body), output)? != body {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "truncated PNG chunk",
            ));
        }
        if &kind == b"IEND" {
            return Ok(());
        }
    }
}
