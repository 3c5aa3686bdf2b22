use bytes::Bytes;
use mashang_domain::TenantId;

use super::*;
use crate::testdata::{JPEG_HEAD, OGG_HEAD, chunked, payload};
use crate::{ContentKind, UploadLimits, spool};

const ANY: UploadLimits = UploadLimits {
    max_bytes: 20 * 1024 * 1024,
    allowed: &[ContentKind::Photo, ContentKind::Audio],
};

async fn store() -> (tempfile::TempDir, LocalStore) {
    let dir = tempfile::tempdir().expect("the system temp dir is writable in tests");
    let store = LocalStore::new(dir.path().join("blobs"));
    store.ensure_root().await.expect("the root can be created");
    (dir, store)
}

async fn spooled(head: &[u8], len: usize) -> (Bytes, Spooled) {
    let data = payload(head, len);
    let spooled = spool(chunked(data.clone(), 64 * 1024), &ANY)
        .await
        .expect("test payloads are accepted");
    (data, spooled)
}

#[tokio::test]
async fn round_trip() {
    let (_dir, store) = store().await;
    store.check().await.expect("a fresh root is ready");
    let key = BlobKey::new(TenantId::new(), "photos", "first.jpg").expect("valid key");
    let (data, upload) = spooled(JPEG_HEAD, 300_000).await;

    assert!(!store.exists(&key).await.expect("exists answers"));
    store.put_file(&key, &upload).await.expect("put succeeds");
    assert!(store.exists(&key).await.expect("exists answers"));

    let blob = store.get(&key).await.expect("get succeeds");
    assert_eq!(blob.content_type, "image/jpeg");
    assert_eq!(blob.size, 300_000);
    assert!(blob.into_bytes().await.expect("body reads") == data);
    assert!(store.get_bytes(&key).await.expect("get_bytes succeeds") == data);

    store.delete(&key).await.expect("delete succeeds");
    assert!(!store.exists(&key).await.expect("exists answers"));
    store.delete(&key).await.expect("deleting again succeeds");
    assert!(matches!(store.get(&key).await, Err(StorageError::NotFound)));
    assert!(matches!(
        store.get_bytes(&key).await,
        Err(StorageError::NotFound)
    ));
}

#[tokio::test]
async fn objects_live_under_the_tenant_with_no_leftovers() {
    let (_dir, store) = store().await;
    let tenant = TenantId::new();
    let key = BlobKey::new(tenant, "voice", "note.ogg").expect("valid key");
    let (data, upload) = spooled(OGG_HEAD, 1000).await;
    store.put_file(&key, &upload).await.expect("put succeeds");

    let folder = store.root().join(tenant.to_string()).join("voice");
    let mut names: Vec<_> = std::fs::read_dir(&folder)
        .expect("the area folder exists")
        .map(|entry| entry.expect("entries read").file_name())
        .collect();
    names.sort();
    assert_eq!(names, [".note.ogg.content-type", "note.ogg"]);
    assert!(std::fs::read(folder.join("note.ogg")).expect("readable") == data);
    // The spooled temp file is untouched by storing it: the caller still owns it.
    assert!(upload.path().exists());
}

#[tokio::test]
async fn put_replaces_an_existing_object_and_its_type() {
    let (_dir, store) = store().await;
    let key = BlobKey::new(TenantId::new(), "attachments", "a1").expect("valid key");
    let (_, photo) = spooled(JPEG_HEAD, 5000).await;
    let (recording, voice) = spooled(OGG_HEAD, 7000).await;
    store.put_file(&key, &photo).await.expect("first put");
    store.put_file(&key, &voice).await.expect("second put");
    let blob = store.get(&key).await.expect("get succeeds");
    assert_eq!((blob.content_type.as_str(), blob.size), ("audio/ogg", 7000));
    assert!(blob.into_bytes().await.expect("body reads") == recording);
}

#[tokio::test]
async fn check_fails_without_a_writable_folder() {
    let dir = tempfile::tempdir().expect("the system temp dir is writable in tests");
    let missing = LocalStore::new(dir.path().join("absent"));
    assert!(matches!(
        missing.check().await,
        Err(StorageError::Io { .. })
    ));
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").expect("temp dir is writable");
    assert!(LocalStore::new(file).check().await.is_err());
    missing
        .ensure_root()
        .await
        .expect("the root can be created");
    missing.check().await.expect("an existing root is ready");
}

#[tokio::test]
async fn listing_walks_one_tenants_area_in_pages() {
    let (_dir, store) = store().await;
    crate::testdata::check_listing(&store).await;
}
