//! Blob storage for photos, voice recordings and exports.
//!
//! An upload is first [`spool`]ed: streamed to a temporary file with bounded memory,
//! size-checked as it arrives and type-checked by its first bytes ([`sniff`]), never
//! by its file name. The [`Spooled`] file is then stored under a [`BlobKey`], which
//! always starts with the tenant id, in a [`BlobStore`]: [`S3Store`] for any
//! S3-compatible service, or [`LocalStore`] for a folder on disk.

mod error;
mod key;
mod local;
mod s3;
mod sniff;
mod spool;
mod store;
#[cfg(test)]
mod testdata;

pub use error::{BoxError, StorageError, UploadError};
pub use key::{BlobKey, KeyError, MAX_AREA_LEN, MAX_NAME_LEN};
pub use local::LocalStore;
pub use s3::{S3Config, S3Store};
pub use sniff::{ContentKind, SNIFF_LEN, Sniffed, sniff};
pub use spool::{Spooled, UploadLimits, spool, spool_in};
pub use store::{Blob, BlobBody, BlobStore, Listed, Listing};
