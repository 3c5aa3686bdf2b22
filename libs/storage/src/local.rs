//! A blob store in a local folder, for the embedded single-binary default.
//!
//! An object lives at `<root>/<tenant>/<area>/<name>`, with its content type in a
//! sidecar `.<name>.content-type` next to it. Key segments never start with a dot, so
//! neither the sidecars nor the dot-named temp files can collide with an object.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use tokio_util::io::ReaderStream;

use mashang_domain::TenantId;

use crate::{Blob, BlobKey, BlobStore, Listed, Listing, Spooled, StorageError};

/// The content type served when an object has no sidecar (e.g. copied in by hand).
const UNKNOWN_CONTENT_TYPE: &str = "application/octet-stream";

/// A blob store in a folder on the local file system.
#[derive(Clone, Debug)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// A store rooted at `root`; nothing is touched until it is used.
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// The folder holding the objects.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates the root folder if it is missing (for start-up and tests).
    pub async fn ensure_root(&self) -> Result<(), StorageError> {
        tokio::fs::create_dir_all(&self.root)
            .await
            .map_err(|source| StorageError::Io {
                op: "create the storage folder",
                source,
            })
    }

    fn data_path(&self, key: &BlobKey) -> PathBuf {
        // Safe to join: a key has exactly three segments of [a-z0-9._-], none `..`.
        self.root.join(key.as_str())
    }

    fn type_path(&self, key: &BlobKey) -> PathBuf {
        self.data_path(key)
            .with_file_name(format!(".{}.content-type", key.name()))
    }
}

#[async_trait]
impl BlobStore for LocalStore {
    #[tracing::instrument(skip_all, fields(key = %key))]
    async fn put_file(&self, key: &BlobKey, spooled: &Spooled) -> Result<(), StorageError> {
        let data = self.data_path(key);
        let type_path = self.type_path(key);
        let source = spooled.path().to_owned();
        let content_type = spooled.content_type();
        blocking("store the object", move || {
            let dir = data
                .parent()
                .expect("an object path is <root>/<tenant>/<area>/<name>, so it has a parent");
            std::fs::create_dir_all(dir)?;
            // The sidecar goes first, so an object that is visible always has its type.
            write_atomically(dir, &type_path, |out| {
                out.write_all(content_type.as_bytes())
            })?;
            write_atomically(dir, &data, |out| {
                io::copy(&mut File::open(&source)?, out).map(drop)
            })?;
            // Make the renames themselves durable.
            File::open(dir)?.sync_all()
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(key = %key))]
    async fn get(&self, key: &BlobKey) -> Result<Blob, StorageError> {
        let file = tokio::fs::File::open(self.data_path(key))
            .await
            .map_err(|e| StorageError::io("open the object", e))?;
        let size = file
            .metadata()
            .await
            .map_err(|e| StorageError::io("read the object's size", e))?
            .len();
        let content_type = match tokio::fs::read_to_string(self.type_path(key)).await {
            Ok(text) => text.trim().to_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => UNKNOWN_CONTENT_TYPE.to_owned(),
            Err(source) => {
                return Err(StorageError::Io {
                    op: "read the object's content type",
                    source,
                });
            }
        };
        let body = ReaderStream::new(file)
            .map_err(|source| StorageError::Io {
                op: "read the object",
                source,
            })
            .boxed();
        Ok(Blob {
            content_type,
            size,
            body,
        })
    }

    #[tracing::instrument(skip_all, fields(key = %key))]
    async fn delete(&self, key: &BlobKey) -> Result<(), StorageError> {
        for path in [self.data_path(key), self.type_path(key)] {
            match tokio::fs::remove_file(path).await {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(StorageError::Io {
                        op: "delete the object",
                        source: e,
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %tenant, area))]
    async fn list(
        &self,
        tenant: TenantId,
        area: &str,
        after: Option<&BlobKey>,
        max: usize,
    ) -> Result<Listing, StorageError> {
        let prefix = BlobKey::prefix(tenant, area)
            .map_err(|_| StorageError::Config("a listed area must be a valid key segment"))?;
        let dir = self.root.join(&prefix);
        let after = after.map(|k| k.as_str().to_owned());
        let work = move || -> io::Result<Listing> {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Listing::default()),
                Err(e) => return Err(e),
            };
            // Names only first (sidecars and temp files start with a dot and are not
            // keys); metadata only for the page returned.
            let mut keys: Vec<BlobKey> = Vec::new();
            for entry in entries {
                let name = entry?.file_name();
                let Some(Ok(key)) = name
                    .to_str()
                    .map(|n| BlobKey::parse(&format!("{prefix}{n}")))
                else {
                    continue;
                };
                if after.as_deref().is_none_or(|a| key.as_str() > a) {
                    keys.push(key);
                }
            }
            keys.sort_unstable();
            let more = keys.len() > max;
            keys.truncate(max);
            let mut listing = Listing::default();
            for key in keys {
                let meta = match std::fs::metadata(dir.join(key.name())) {
                    Ok(meta) if meta.is_file() => meta,
                    Ok(_) => continue,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                listing.objects.push(Listed {
                    key,
                    size: meta.len(),
                    modified: meta.modified().ok(),
                });
            }
            if more {
                listing.next = listing.objects.last().map(|o| o.key.clone());
            }
            Ok(listing)
        };
        tokio::task::spawn_blocking(work)
            .await
            .map_err(io::Error::other)
            .and_then(|done| done)
            .map_err(|source| StorageError::Io {
                op: "list the objects",
                source,
            })
    }

    #[tracing::instrument(skip_all, fields(key = %key))]
    async fn exists(&self, key: &BlobKey) -> Result<bool, StorageError> {
        match tokio::fs::metadata(self.data_path(key)).await {
            Ok(meta) => Ok(meta.is_file()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(StorageError::Io {
                op: "look up the object",
                source,
            }),
        }
    }

    #[tracing::instrument(skip_all, fields(root = %self.root.display()))]
    async fn check(&self) -> Result<(), StorageError> {
        let root = self.root.clone();
        blocking("write to the storage folder", move || {
            if !std::fs::metadata(&root)?.is_dir() {
                return Err(io::Error::new(
                    io::ErrorKind::NotADirectory,
                    "the storage root is not a folder",
                ));
            }
            // Creating (and dropping, hence deleting) a file proves the folder writable.
            tempfile::Builder::new()
                .prefix(".check-")
                .tempfile_in(&root)
                .map(drop)
        })
        .await
    }
}

/// Writes `target` through a temp file in the same folder and a rename, so readers see
/// the old content or the new, never a part.
fn write_atomically(
    dir: &Path,
    target: &Path,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let mut temp = tempfile::Builder::new()
        .prefix(".")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    fill(temp.as_file_mut())?;
    temp.as_file().sync_all()?;
    temp.persist(target).map_err(|e| e.error)?;
    Ok(())
}

/// Runs blocking file work off the async threads. Errors are reported as I/O failures
/// (not `NotFound`), since these operations do not look objects up.
async fn blocking(
    op: &'static str,
    work: impl FnOnce() -> io::Result<()> + Send + 'static,
) -> Result<(), StorageError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(io::Error::other)
        .and_then(|done| done)
        .map_err(|source| StorageError::Io { op, source })
}

#[cfg(test)]
mod tests;
