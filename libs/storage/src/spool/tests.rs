use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::stream;

use super::*;
use crate::testdata::{JPEG_HEAD, OGG_HEAD, chunked, payload};

const PHOTOS: UploadLimits = UploadLimits {
    max_bytes: 1024 * 1024,
    allowed: &[ContentKind::Photo],
};

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("the system temp dir is writable in tests")
}

fn entries(dir: &tempfile::TempDir) -> usize {
    std::fs::read_dir(dir.path())
        .expect("the test's temp dir is readable")
        .count()
}

/// A stream that panics if polled at all: put it after the chunks that may be read.
fn poison() -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
    stream::poll_fn(|_| panic!("the upload was read beyond the chunks it needed"))
}

#[tokio::test]
async fn a_ten_megabyte_stream_spools_with_its_size() {
    let dir = temp_dir();
    let data = payload(JPEG_HEAD, 10 * 1024 * 1024);
    let limits = UploadLimits {
        max_bytes: 10 * 1024 * 1024,
        allowed: &[ContentKind::Photo],
    };
    let spooled = spool_in(chunked(data.clone(), 64 * 1024), &limits, dir.path())
        .await
        .expect("a JPEG at the limit is accepted");
    assert_eq!(spooled.size(), 10 * 1024 * 1024);
    assert_eq!(spooled.content_type(), "image/jpeg");
    assert_eq!(spooled.kind(), ContentKind::Photo);
    assert_eq!(spooled.sniffed().extension, "jpg");
    let written = std::fs::read(spooled.path()).expect("the spooled file is readable");
    assert!(written == data, "the spooled file differs from the upload");

    let path = spooled.path().to_owned();
    drop(spooled);
    assert!(!path.exists(), "dropping a spooled upload removes its file");
}

#[tokio::test]
async fn too_large_stops_reading_and_leaves_no_file() {
    let dir = temp_dir();
    let polled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&polled);
    // 64 KiB chunks, forever: only the limit can end this upload.
    let endless = stream::iter(0..).map(move |i: u64| {
        counter.fetch_add(1, Ordering::SeqCst);
        let head = if i == 0 { JPEG_HEAD } else { b"" };
        Ok::<_, std::io::Error>(payload(head, 64 * 1024))
    });
    let err = spool_in(endless, &PHOTOS, dir.path())
        .await
        .expect_err("an endless upload is refused");
    assert!(matches!(err, UploadError::TooLarge { limit } if limit == PHOTOS.max_bytes));
    // 16 chunks reach the 1 MiB limit exactly; the 17th passes it, and is the last read.
    assert_eq!(polled.load(Ordering::SeqCst), 17);
    assert_eq!(entries(&dir), 0, "the partial temp file must be removed");
}

#[tokio::test]
async fn exactly_the_limit_is_accepted_and_one_more_byte_is_not() {
    let dir = temp_dir();
    let limits = UploadLimits {
        max_bytes: 1000,
        allowed: &[ContentKind::Photo],
    };
    let at_limit = spool_in(chunked(payload(JPEG_HEAD, 1000), 100), &limits, dir.path()).await;
    assert_eq!(
        at_limit.expect("1000 bytes fit a 1000-byte limit").size(),
        1000
    );
    let over = spool_in(chunked(payload(JPEG_HEAD, 1001), 100), &limits, dir.path()).await;
    assert!(matches!(over, Err(UploadError::TooLarge { limit: 1000 })));
    assert_eq!(entries(&dir), 0);
}

#[tokio::test]
async fn unsupported_type_is_refused_after_the_head() {
    let dir = temp_dir();
    let text = Bytes::from_static(
        b"This is a plain text file pretending to be a photo.jpg, long enough to sniff.",
    );
    assert!(text.len() >= SNIFF_LEN);
    let upload = stream::iter([Ok(text)]).chain(poison());
    let err = spool_in(upload, &PHOTOS, dir.path())
        .await
        .expect_err("text is not a photo");
    assert!(matches!(err, UploadError::UnsupportedType));
    assert_eq!(entries(&dir), 0, "a refused type never reaches the disk");
}

#[tokio::test]
async fn the_head_may_arrive_in_small_chunks() {
    let dir = temp_dir();
    let pdf = payload(b"%PDF-1.7\n", SNIFF_LEN);
    let upload = chunked(pdf, 1).chain(poison());
    let err = spool_in(upload, &PHOTOS, dir.path()).await;
    assert!(matches!(err, Err(UploadError::UnsupportedType)));

    let jpeg = payload(JPEG_HEAD, 5000);
    let spooled = spool_in(chunked(jpeg, 3), &PHOTOS, dir.path())
        .await
        .expect("a JPEG in 3-byte chunks is accepted");
    assert_eq!(
        (spooled.size(), spooled.content_type()),
        (5000, "image/jpeg")
    );
}

#[tokio::test]
async fn a_known_type_of_a_kind_not_allowed_is_refused() {
    let dir = temp_dir();
    let err = spool_in(chunked(payload(OGG_HEAD, 4096), 1024), &PHOTOS, dir.path()).await;
    assert!(matches!(err, Err(UploadError::UnsupportedType)));

    let both = UploadLimits {
        max_bytes: 4096,
        allowed: &[ContentKind::Photo, ContentKind::Audio],
    };
    let spooled = spool_in(chunked(payload(OGG_HEAD, 4096), 1024), &both, dir.path())
        .await
        .expect("audio is accepted where allowed");
    assert_eq!(spooled.content_type(), "audio/ogg");
}

#[tokio::test]
async fn an_upload_shorter_than_the_sniff_window_is_judged_on_what_there_is() {
    let adts = Bytes::from_static(b"\xFF\xF1\x50\x80\x02\x1F\xFC\x21\x00\x49\x90");
    let limits = UploadLimits {
        max_bytes: 100,
        allowed: &[ContentKind::Audio],
    };
    let spooled = spool(stream::iter([Ok::<_, std::io::Error>(adts)]), &limits)
        .await
        .expect("a tiny AAC upload is accepted");
    assert_eq!((spooled.size(), spooled.content_type()), (11, "audio/aac"));
}

#[tokio::test]
async fn empty_uploads_are_refused() {
    let nothing = stream::iter(Vec::<Result<Bytes, std::io::Error>>::new());
    assert!(matches!(
        spool(nothing, &PHOTOS).await,
        Err(UploadError::Empty)
    ));
    let empty_chunks = stream::iter([Ok::<_, std::io::Error>(Bytes::new()), Ok(Bytes::new())]);
    assert!(matches!(
        spool(empty_chunks, &PHOTOS).await,
        Err(UploadError::Empty)
    ));
}

#[tokio::test]
async fn a_failing_client_stream_is_a_read_error_with_its_cause() {
    let dir = temp_dir();
    let broken = stream::iter([
        Ok(payload(JPEG_HEAD, 1024)),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "client went away",
        )),
    ]);
    let err = spool_in(broken, &PHOTOS, dir.path())
        .await
        .expect_err("a broken stream fails the upload");
    let UploadError::Read(cause) = err else {
        panic!("expected a read error, got {err:?}");
    };
    assert_eq!(cause.to_string(), "client went away");
    assert_eq!(entries(&dir), 0, "the partial temp file must be removed");
}
