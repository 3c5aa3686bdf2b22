//! The blob-store trait that services program against, and the object it returns.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::TryStreamExt;
use futures::stream::BoxStream;

use mashang_domain::TenantId;

use crate::{BlobKey, Spooled, StorageError};

/// An object's bytes, streamed chunk by chunk.
pub type BlobBody = BoxStream<'static, Result<Bytes, StorageError>>;

/// An object read from a store.
pub struct Blob {
    /// The MIME type the object was stored with.
    pub content_type: String,
    /// The object's length in bytes.
    pub size: u64,
    /// The object's bytes.
    pub body: BlobBody,
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blob")
            .field("content_type", &self.content_type)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Blob {
    /// Reads the whole body into memory; for small objects and tests only.
    pub async fn into_bytes(self) -> Result<Bytes, StorageError> {
        let capacity = usize::try_from(self.size).unwrap_or(0);
        let buf = self
            .body
            .try_fold(
                BytesMut::with_capacity(capacity),
                |mut buf, chunk| async move {
                    buf.extend_from_slice(&chunk);
                    Ok(buf)
                },
            )
            .await?;
        Ok(buf.freeze())
    }
}

/// An object found by [`BlobStore::list`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// Its key.
    pub key: BlobKey,
    /// Its length in bytes.
    pub size: u64,
    /// When it was last written, when the store says.
    pub modified: Option<SystemTime>,
}

/// One page of a listing, in key order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// The objects of this page.
    pub objects: Vec<Listed>,
    /// Where the next page starts (pass it as `after`); `None` once the end is reached.
    pub next: Option<BlobKey>,
}

/// Where photos, recordings and exports are kept: S3 in production, a local folder in
/// the embedded default. Keys carry the tenant, so one store serves every tenant.
#[async_trait]
pub trait BlobStore: Send + Sync + fmt::Debug {
    /// Stores a spooled upload under `key`, streaming it from its temporary file, with
    /// the sniffed content type. An existing object under `key` is replaced.
    async fn put_file(&self, key: &BlobKey, spooled: &Spooled) -> Result<(), StorageError>;

    /// Opens the object under `key` for streaming; [`StorageError::NotFound`] if absent.
    async fn get(&self, key: &BlobKey) -> Result<Blob, StorageError>;

    /// Reads the whole object under `key` into memory; for small objects and tests.
    async fn get_bytes(&self, key: &BlobKey) -> Result<Bytes, StorageError> {
        self.get(key).await?.into_bytes().await
    }

    /// Removes the object under `key`; removing a missing object succeeds.
    async fn delete(&self, key: &BlobKey) -> Result<(), StorageError>;

    /// Lists up to `max` objects of `tenant`'s `area` whose keys sort after `after`, in
    /// key order, so a caller can walk a large area a bounded page at a time. Names the
    /// store holds that are not valid keys (temporary files) are skipped.
    async fn list(
        &self,
        tenant: TenantId,
        area: &str,
        after: Option<&BlobKey>,
        max: usize,
    ) -> Result<Listing, StorageError>;

    /// Whether an object exists under `key`.
    async fn exists(&self, key: &BlobKey) -> Result<bool, StorageError>;

    /// Readiness: the store can be reached and written to.
    async fn check(&self) -> Result<(), StorageError>;
}
