//! Content sniffing: the type of an upload is decided by its first bytes, never by the
//! file name or the content type the client claimed.

/// How many leading bytes [`sniff`] wants to see to decide; fewer is fine at the end of
/// a short upload.
pub const SNIFF_LEN: usize = 64;

/// What an accepted upload is used as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContentKind {
    /// A still image: JPEG, PNG, WebP or HEIC.
    Photo,
    /// A voice recording in a format browsers record: WebM, Ogg, MP4/M4A or AAC.
    Audio,
}

/// The recognised type of some content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sniffed {
    /// The MIME type to store and serve the content with.
    pub content_type: &'static str,
    /// Whether it is a photo or a recording.
    pub kind: ContentKind,
    /// A file extension (without the dot) matching the content.
    pub extension: &'static str,
}

const JPEG: Sniffed = photo("image/jpeg", "jpg");
const PNG: Sniffed = photo("image/png", "png");
const WEBP: Sniffed = photo("image/webp", "webp");
const HEIC: Sniffed = photo("image/heic", "heic");
const WEBM: Sniffed = audio("audio/webm", "webm");
const OGG: Sniffed = audio("audio/ogg", "ogg");
const MP4_AUDIO: Sniffed = audio("audio/mp4", "m4a");
const AAC: Sniffed = audio("audio/aac", "aac");

/// ISO-BMFF brands of HEIF images (HEVC-coded or generic image/sequence).
const HEIF_BRANDS: &[&[u8; 4]] = &[
    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1",
];
/// AVIF shares HEIF's generic `mif1` brand but is not HEIC, and is not accepted.
const AVIF_BRANDS: &[&[u8; 4]] = &[b"avif", b"avis"];
/// ISO-BMFF brands of MP4 files as browsers and phones record audio.
const MP4_AUDIO_BRANDS: &[&[u8; 4]] = &[
    b"M4A ", b"M4B ", b"mp41", b"mp42", b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"dash",
];

const fn photo(content_type: &'static str, extension: &'static str) -> Sniffed {
    Sniffed {
        content_type,
        kind: ContentKind::Photo,
        extension,
    }
}

const fn audio(content_type: &'static str, extension: &'static str) -> Sniffed {
    Sniffed {
        content_type,
        kind: ContentKind::Audio,
        extension,
    }
}

/// Recognises a photo or audio format from the first bytes of the content (ideally
/// [`SNIFF_LEN`] of them); `None` for anything else.
pub fn sniff(head: &[u8]) -> Option<Sniffed> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(JPEG);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(PNG);
    }
    if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        return Some(WEBP);
    }
    if let Some(brands) = ftyp_brands(head) {
        return sniff_iso_bmff(&brands);
    }
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some(WEBM);
    }
    if head.starts_with(b"OggS") {
        return Some(OGG);
    }
    if is_adts(head) {
        return Some(AAC);
    }
    None
}

/// Picks among ISO-BMFF formats by brand. Image brands are checked first, because a
/// HEIC file also lists generic brands (`isom`, `mp42`) that audio files use.
fn sniff_iso_bmff(brands: &[&[u8]]) -> Option<Sniffed> {
    let any_of = |set: &[&[u8; 4]]| brands.iter().any(|b| set.iter().any(|s| *b == &s[..]));
    if any_of(AVIF_BRANDS) {
        None
    } else if any_of(HEIF_BRANDS) {
        Some(HEIC)
    } else if any_of(MP4_AUDIO_BRANDS) {
        Some(MP4_AUDIO)
    } else {
        None
    }
}

/// The major and compatible brands of a leading `ftyp` box, as far as `head` holds them.
fn ftyp_brands(head: &[u8]) -> Option<Vec<&[u8]>> {
    if head.len() < 12 || &head[4..8] != b"ftyp" {
        return None;
    }
    let size = usize::try_from(u32::from_be_bytes([head[0], head[1], head[2], head[3]])).ok()?;
    // Eight bytes of box header, the major brand and the minor version at least.
    if size < 16 {
        return None;
    }
    let mut brands = vec![&head[8..12]];
    // The minor version (bytes 12..16) is a number, not a brand; skip it.
    let end = size.min(head.len());
    brands.extend(head.get(16..end).unwrap_or_default().chunks_exact(4));
    Some(brands)
}

/// An AAC ADTS frame header: 12-bit sync, layer 0, a valid sampling-rate index.
fn is_adts(head: &[u8]) -> bool {
    const ADTS_HEADER_LEN: usize = 7;
    if head.len() < ADTS_HEADER_LEN || head[0] != 0xFF {
        return false;
    }
    // 0xF1: MPEG-4, no CRC; 0xF9: MPEG-2, no CRC (0xF0/0xF8 carry a CRC).
    let sync_ok = matches!(head[1], 0xF0 | 0xF1 | 0xF8 | 0xF9);
    let sampling_index = (head[2] >> 2) & 0x0F;
    sync_ok && sampling_index < 13
}

#[cfg(test)]
mod tests {
    use super::*;

    const JPEG_HEAD: &[u8] =
        b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00";
    const PNG_HEAD: &[u8] =
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0DIHDR\x00\x00\x00\x01\x00\x00\x00\x01";
    const WEBP_HEAD: &[u8] = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00";
    const HEIC_HEAD: &[u8] =
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic\x00\x00\x00\x00meta";
    const HEIC_MIF1_HEAD: &[u8] =
        b"\x00\x00\x00\x1Cftypmif1\x00\x00\x00\x00mif1heicmiaf\x00\x00\x00\x00";
    const AVIF_HEAD: &[u8] =
        b"\x00\x00\x00\x20ftypavif\x00\x00\x00\x00avifmif1miafMA1B\x00\x00\x00\x00";
    const M4A_HEAD: &[u8] = b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00M4A isommp42\x00\x00\x00\x00";
    const MP4_ISO5_HEAD: &[u8] =
        b"\x00\x00\x00\x18ftypiso5\x00\x00\x02\x00iso6mp41\x00\x00\x00\x00moov";
    const WEBM_HEAD: &[u8] =
        b"\x1A\x45\xDF\xA3\x9F\x42\x86\x81\x01\x42\xF7\x81\x01\x42\xF2\x81\x04\
        \x42\xF3\x81\x08\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02";
    const OGG_HEAD: &[u8] = b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\
        \x00\x00\x00\x00\x00\x00\x00\x00\x01\x13OpusHead\x01\x01";
    const ADTS_HEAD: &[u8] = b"\xFF\xF1\x50\x80\x02\x1F\xFC\x21\x00\x49\x90";
    const ADTS_MPEG2_HEAD: &[u8] = b"\xFF\xF9\x50\x80\x02\x1F\xFC\x21\x00\x49\x90";

    fn sniffed(head: &[u8]) -> (&'static str, ContentKind, &'static str) {
        let s = sniff(head).expect("a known format");
        (s.content_type, s.kind, s.extension)
    }

    #[test]
    fn photos() {
        use ContentKind::Photo;
        assert_eq!(sniffed(JPEG_HEAD), ("image/jpeg", Photo, "jpg"));
        assert_eq!(sniffed(PNG_HEAD), ("image/png", Photo, "png"));
        assert_eq!(sniffed(WEBP_HEAD), ("image/webp", Photo, "webp"));
        assert_eq!(sniffed(HEIC_HEAD), ("image/heic", Photo, "heic"));
        assert_eq!(sniffed(HEIC_MIF1_HEAD), ("image/heic", Photo, "heic"));
    }

    #[test]
    fn audio() {
        use ContentKind::Audio;
        assert_eq!(sniffed(WEBM_HEAD), ("audio/webm", Audio, "webm"));
        assert_eq!(sniffed(OGG_HEAD), ("audio/ogg", Audio, "ogg"));
        assert_eq!(sniffed(M4A_HEAD), ("audio/mp4", Audio, "m4a"));
        assert_eq!(sniffed(MP4_ISO5_HEAD), ("audio/mp4", Audio, "m4a"));
        assert_eq!(sniffed(ADTS_HEAD), ("audio/aac", Audio, "aac"));
        assert_eq!(sniffed(ADTS_MPEG2_HEAD), ("audio/aac", Audio, "aac"));
    }

    #[test]
    fn heic_listing_generic_brands_is_still_an_image() {
        let head = b"\x00\x00\x00\x20ftypmp42\x00\x00\x00\x00isommp42heic\x00\x00\x00\x00";
        assert_eq!(sniffed(head).1, ContentKind::Photo);
    }

    #[test]
    fn ftyp_brands_beyond_the_box_are_ignored() {
        // The box is 16 bytes long; the `heic` after it belongs to the next box.
        let head = b"\x00\x00\x00\x10ftypM4A \x00\x00\x00\x00heic\x00\x00\x00\x00";
        assert_eq!(sniffed(head).1, ContentKind::Audio);
    }

    #[test]
    fn unknown_content_is_refused() {
        let elf = b"\x7FELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3E\x00";
        let pe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00";
        let mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x00\xFF\xFB\x90\x00";
        let quicktime = b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  \x00\x00\x00\x08wide";
        let riff_wave = b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00";
        let cases: &[(&str, &[u8])] = &[
            ("empty", b""),
            ("text", b"Hello, this is a plain text file.\n"),
            ("pdf", b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n"),
            ("elf executable", elf),
            ("windows executable", pe),
            ("truncated jpeg", b"\xFF\xD8"),
            ("avif", AVIF_HEAD),
            ("mp3", mp3),
            ("quicktime", quicktime),
            ("wav", riff_wave),
            ("truncated adts", b"\xFF\xF1\x50"),
            ("ftyp without brands", b"\x00\x00\x00\x08ftyp"),
            ("html", b"<!DOCTYPE html><html>"),
        ];
        for (what, head) in cases {
            assert_eq!(sniff(head), None, "{what} must not be recognised");
        }
    }
}
