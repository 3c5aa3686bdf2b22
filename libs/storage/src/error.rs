//! The errors of this crate: one for taking an upload in, one for talking to a store.

/// A boxed error from a backend or a client stream, kept as the cause.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why an upload was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The upload had no bytes at all.
    #[error("the upload is empty")]
    Empty,
    /// The upload is longer than the limit; reading stopped there.
    #[error("the upload is larger than {limit} bytes")]
    TooLarge {
        /// The limit that was exceeded, in bytes.
        limit: u64,
    },
    /// The content is not one of the accepted formats (judged by its first bytes).
    #[error("the upload is not of an accepted type")]
    UnsupportedType,
    /// The client's stream failed (a broken connection or a malformed request body).
    #[error("reading the upload failed")]
    Read(#[source] BoxError),
    /// Writing the temporary file failed: a fault on our side.
    #[error("spooling the upload to a temporary file failed")]
    Spool(#[source] std::io::Error),
}

/// Why a blob-store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No object exists under the key.
    #[error("object not found")]
    NotFound,
    /// The store's configuration is unusable.
    #[error("invalid storage configuration: {0}")]
    Config(&'static str),
    /// A local file operation failed.
    #[error("local storage failed to {op}")]
    Io {
        /// What the store was doing.
        op: &'static str,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The object-store service failed or could not be reached.
    #[error("object store failed to {op}")]
    Backend {
        /// What the store was doing.
        op: &'static str,
        /// The underlying SDK or transport error.
        #[source]
        source: BoxError,
    },
}

impl StorageError {
    /// Whether the store could not be reached or did not answer in time (worth a 503
    /// and a retry), as opposed to a missing object or a defect.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Backend { .. })
    }

    /// Wraps a local I/O error, turning "not found" into [`StorageError::NotFound`].
    pub(crate) fn io(op: &'static str, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            Self::NotFound
        } else {
            Self::Io { op, source }
        }
    }

    /// Wraps a backend error as the cause of a failed operation.
    pub(crate) fn backend(op: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Backend {
            op,
            source: source.into(),
        }
    }
}
