//! Upload bodies for tests.

/// The start of a JFIF JPEG file.
pub const JPEG_HEAD: &[u8] =
    b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00";

/// `len` bytes that sniff as a JPEG, with a filler that differs per `seed`.
pub fn jpeg(len: usize, seed: u64) -> Vec<u8> {
    let mut data = JPEG_HEAD.to_vec();
    let mut state = 0x9E37_79B9_7F4A_7C15_u64 ^ seed;
    while data.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    data.truncate(len);
    data
}
