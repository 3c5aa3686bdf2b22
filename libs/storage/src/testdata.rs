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

/// Stores seven small objects in `store` (five in one tenant's `attachments`, one in
/// its `thumbnails`, one in another tenant's `attachments`) and checks that listing the
/// first area two at a time returns exactly its five, in key order, with sizes and times.
pub async fn check_listing(store: &dyn crate::BlobStore) {
    use mashang_domain::TenantId;

    use crate::{BlobKey, ContentKind, UploadLimits, spool};
    let limits = UploadLimits {
        max_bytes: 1024 * 1024,
        allowed: &[ContentKind::Photo],
    };
    let (tenant, other) = (TenantId::new(), TenantId::new());
    let mut expected = Vec::new();
    let mut keys = vec![
        BlobKey::new(tenant, "thumbnails", "a.jpg").expect("a valid key"),
        BlobKey::new(other, "attachments", "a.jpg").expect("a valid key"),
    ];
    for name in ["e.jpg", "b.jpg", "d.jpg", "a.jpg", "c.jpg"] {
        let key = BlobKey::new(tenant, "attachments", name).expect("a valid key");
        expected.push(key.clone());
        keys.push(key);
    }
    expected.sort();
    for key in &keys {
        let upload = spool(chunked(payload(JPEG_HEAD, 1000), 512), &limits)
            .await
            .expect("a test JPEG is accepted");
        store.put_file(key, &upload).await.expect("put succeeds");
    }
    let mut seen = Vec::new();
    let mut after = None;
    for _ in 0..10 {
        let page = store
            .list(tenant, "attachments", after.as_ref(), 2)
            .await
            .expect("listing succeeds");
        assert!(
            page.objects.len() <= 2,
            "a page holds at most what was asked"
        );
        for object in &page.objects {
            assert_eq!(object.size, 1000);
            assert!(
                object.modified.is_some(),
                "the store says when it was written"
            );
        }
        seen.extend(page.objects.into_iter().map(|o| o.key));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(
        seen, expected,
        "every object of the area once, in key order, nothing else"
    );
    let empty = store
        .list(TenantId::new(), "attachments", None, 10)
        .await
        .expect("listing an empty area succeeds");
    assert!(empty.objects.is_empty() && empty.next.is_none());
}
