//! Test inputs shared by the spool and store tests.

use bytes::Bytes;
use futures::Stream;
use futures::stream;

/// The start of a JFIF JPEG file.
pub const JPEG_HEAD: &[u8] =
    b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00";
/// The start of an Ogg Opus recording.
pub const OGG_HEAD: &[u8] = b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\
    \x00\x00\x00\x00\x00\x00\x00\x00\x01\x13OpusHead\x01\x01";

/// `len` bytes starting with `head`, then a deterministic pseudo-random filler.
pub fn payload(head: &[u8], len: usize) -> Bytes {
    let mut data = Vec::with_capacity(len);
    data.extend_from_slice(&head[..head.len().min(len)]);
    // xorshift64: cheap, and a shifted or truncated copy would not compare equal.
    let mut state = 0x9E37_79B9_7F4A_7C15_u64 ^ len as u64;
    while data.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let take = (len - data.len()).min(8);
        data.extend_from_slice(&state.to_le_bytes()[..take]);
    }
    Bytes::from(data)
}

/// `data` as a request-body stream of `chunk`-byte pieces (sharing `data`'s memory).
pub fn chunked(
    data: Bytes,
    chunk: usize,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
    let pieces: Vec<_> = (0..data.len())
        .step_by(chunk)
        .map(|at| Ok(data.slice(at..(at + chunk).min(data.len()))))
        .collect();
    stream::iter(pieces)
}
