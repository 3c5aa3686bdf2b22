//! Round trips against a real S3-compatible server (moto, MinIO, …) at
//! `MASHANG_TEST_S3_ENDPOINT`, each test in a bucket of its own.

use aws_sdk_s3::error::DisplayErrorContext;
use bytes::Bytes;
use futures::TryStreamExt;
use mashang_domain::TenantId;

use super::*;
use crate::testdata::{JPEG_HEAD, OGG_HEAD, chunked, payload};
use crate::{ContentKind, UploadLimits, spool};

const ENDPOINT_VAR: &str = "MASHANG_TEST_S3_ENDPOINT";
const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:9000";

const ANY: UploadLimits = UploadLimits {
    max_bytes: 20 * 1024 * 1024,
    allowed: &[ContentKind::Photo, ContentKind::Audio],
};

fn test_config() -> S3Config {
    let endpoint = std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| DEFAULT_ENDPOINT.to_owned());
    S3Config {
        endpoint: Some(endpoint),
        region: "us-east-1".to_owned(),
        bucket: format!("mashang-test-{}", uuid::Uuid::new_v4().simple()),
        path_style: true,
        access_key_id: Some("test".to_owned()),
        secret_access_key: Some("test".to_owned()),
    }
}

/// A store on a fresh bucket; fails the test, naming the variable, if no server answers.
async fn fresh_store() -> S3Store {
    let config = test_config();
    let endpoint = config.endpoint.clone().unwrap_or_default();
    let store = S3Store::connect(config)
        .await
        .expect("the test configuration is complete");
    if let Err(e) = store.ensure_bucket().await {
        panic!(
            "no S3-compatible server answered at {endpoint}: set {ENDPOINT_VAR} to one \
             (e.g. start `moto_server -H 127.0.0.1 -p 9000`): {}",
            DisplayErrorContext(&e)
        );
    }
    store
}

/// Empties and removes the test's bucket, so a long-lived server does not fill up.
async fn remove_bucket(store: &S3Store) {
    let listed = store
        .client
        .list_objects_v2()
        .bucket(&store.bucket)
        .send()
        .await
        .expect("the test bucket can be listed");
    for object in listed.contents() {
        if let Some(key) = object.key() {
            store
                .client
                .delete_object()
                .bucket(&store.bucket)
                .key(key)
                .send()
                .await
                .expect("leftover objects can be deleted");
        }
    }
    store
        .client
        .delete_bucket()
        .bucket(&store.bucket)
        .send()
        .await
        .expect("the emptied test bucket can be deleted");
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
    let store = fresh_store().await;
    store.check().await.expect("the fresh bucket is ready");
    let key = BlobKey::new(TenantId::new(), "photos", "first.jpg").expect("valid key");
    let (data, upload) = spooled(JPEG_HEAD, 200_000).await;

    assert!(!store.exists(&key).await.expect("exists answers"));
    store.put_file(&key, &upload).await.expect("put succeeds");
    assert!(store.exists(&key).await.expect("exists answers"));

    let blob = store.get(&key).await.expect("get succeeds");
    assert_eq!(blob.content_type, "image/jpeg");
    assert_eq!(blob.size, 200_000);
    assert!(blob.into_bytes().await.expect("body reads") == data);
    assert!(store.get_bytes(&key).await.expect("get_bytes succeeds") == data);

    store.delete(&key).await.expect("delete succeeds");
    assert!(!store.exists(&key).await.expect("exists answers"));
    store.delete(&key).await.expect("deleting again succeeds");
    assert!(matches!(store.get(&key).await, Err(StorageError::NotFound)));

    remove_bucket(&store).await;
}

#[tokio::test]
async fn ten_megabytes_round_trip_byte_for_byte() {
    let store = fresh_store().await;
    let key = BlobKey::new(TenantId::new(), "voice", "long.ogg").expect("valid key");
    let (data, upload) = spooled(OGG_HEAD, 10 * 1024 * 1024).await;
    assert_eq!(upload.size(), 10 * 1024 * 1024);
    store.put_file(&key, &upload).await.expect("put succeeds");

    let blob = store.get(&key).await.expect("get succeeds");
    assert_eq!(
        (blob.content_type.as_str(), blob.size),
        ("audio/ogg", 10 * 1024 * 1024)
    );
    let mut received = Vec::with_capacity(data.len());
    let mut chunks = 0_usize;
    let mut body = blob.body;
    while let Some(chunk) = body.try_next().await.expect("the body streams") {
        received.extend_from_slice(&chunk);
        chunks += 1;
    }
    assert!(chunks > 1, "a 10 MB body arrives in more than one chunk");
    assert_eq!(received.len(), data.len());
    assert!(received == data, "the object differs from what was stored");

    remove_bucket(&store).await;
}

#[tokio::test]
async fn ensure_bucket_is_idempotent_and_check_fails_without_a_bucket() {
    let store = fresh_store().await;
    store
        .ensure_bucket()
        .await
        .expect("an existing bucket is fine");
    remove_bucket(&store).await;
    assert!(matches!(
        store.check().await,
        Err(StorageError::Backend { .. })
    ));
    // A missing bucket is a fault, not a missing object.
    let key = BlobKey::new(TenantId::new(), "photos", "x.jpg").expect("valid key");
    assert!(matches!(
        store.get(&key).await,
        Err(StorageError::Backend { .. })
    ));
    assert!(matches!(
        store.delete(&key).await,
        Err(StorageError::Backend { .. })
    ));
}

#[tokio::test]
async fn connect_refuses_half_credentials_and_blank_names() {
    let half = S3Config {
        secret_access_key: None,
        ..test_config()
    };
    assert!(matches!(
        S3Store::connect(half).await,
        Err(StorageError::Config(_))
    ));
    let no_bucket = S3Config {
        bucket: String::new(),
        ..test_config()
    };
    assert!(matches!(
        S3Store::connect(no_bucket).await,
        Err(StorageError::Config(_))
    ));
}

#[test]
fn debug_redacts_the_secret() {
    let config = S3Config {
        secret_access_key: Some("very-secret-value".to_owned()),
        ..test_config()
    };
    let printed = format!("{config:?}");
    assert!(printed.contains("[redacted]"), "{printed}");
    assert!(!printed.contains("very-secret-value"), "{printed}");
}

#[tokio::test]
async fn listing_walks_one_tenants_area_in_pages() {
    let store = fresh_store().await;
    crate::testdata::check_listing(&store).await;
    remove_bucket(&store).await;
}
