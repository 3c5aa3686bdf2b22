//! Taking an upload in: stream it to a temporary file with bounded memory, refusing it
//! as soon as it is too large or its first bytes show an unaccepted type.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use tempfile::TempPath;
use tokio::io::{AsyncWriteExt, BufWriter};

use crate::sniff::{ContentKind, SNIFF_LEN, Sniffed, sniff};
use crate::{BoxError, UploadError};

/// Write buffer for the temporary file: large enough to batch small request chunks
/// into few blocking writes, and the same whatever the upload's size.
const WRITE_BUFFER: usize = 256 * 1024;

/// What an upload may be: how long, and which kinds of content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UploadLimits {
    /// The largest accepted upload, in bytes.
    pub max_bytes: u64,
    /// The accepted kinds; anything else is [`UploadError::UnsupportedType`].
    pub allowed: &'static [ContentKind],
}

/// An accepted upload, waiting in a temporary file that is deleted on drop.
#[derive(Debug)]
pub struct Spooled {
    path: TempPath,
    size: u64,
    sniffed: Sniffed,
}

impl Spooled {
    /// The temporary file holding the upload.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The upload's length in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The type recognised from the upload's first bytes.
    pub fn sniffed(&self) -> Sniffed {
        self.sniffed
    }

    /// The MIME type to store the upload with.
    pub fn content_type(&self) -> &'static str {
        self.sniffed.content_type
    }

    /// Whether the upload is a photo or a recording.
    pub fn kind(&self) -> ContentKind {
        self.sniffed.kind
    }

    /// Rewrites the upload through `transform` (reading the old contents, writing the
    /// new), on a blocking thread, with bounded memory; used to remove metadata from
    /// photos. The result must still be of the same sniffed type.
    pub async fn rewrite<F>(&mut self, transform: F) -> Result<(), UploadError>
    where
        F: FnOnce(&mut dyn std::io::Read, &mut dyn std::io::Write) -> std::io::Result<()>
            + Send
            + 'static,
    {
        let from = self.path.to_path_buf();
        let expected = self.sniffed;
        let (size, path) =
            tokio::task::spawn_blocking(move || -> Result<(u64, TempPath), UploadError> {
                let dir = from
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(std::env::temp_dir);
                let mut out = tempfile::NamedTempFile::new_in(dir).map_err(UploadError::Spool)?;
                {
                    let mut reader = std::io::BufReader::new(
                        std::fs::File::open(&from).map_err(UploadError::Spool)?,
                    );
                    let mut writer = std::io::BufWriter::new(out.as_file_mut());
                    transform(&mut reader, &mut writer).map_err(UploadError::Spool)?;
                    std::io::Write::flush(&mut writer).map_err(UploadError::Spool)?;
                }
                let mut head = [0u8; SNIFF_LEN];
                let n = std::io::Read::read(
                    &mut std::fs::File::open(out.path()).map_err(UploadError::Spool)?,
                    &mut head,
                )
                .map_err(UploadError::Spool)?;
                if sniff(&head[..n]) != Some(expected) {
                    return Err(UploadError::UnsupportedType);
                }
                let size = out.as_file().metadata().map_err(UploadError::Spool)?.len();
                Ok((size, out.into_temp_path()))
            })
            .await
            .map_err(|e| UploadError::Spool(std::io::Error::other(e)))??;
        self.path = path;
        self.size = size;
        Ok(())
    }
}

/// Spools `stream` to a file in the system temporary directory; see [`spool_in`].
pub async fn spool<S, E>(stream: S, limits: &UploadLimits) -> Result<Spooled, UploadError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::error::Error + Send + Sync + 'static,
{
    spool_in(stream, limits, std::env::temp_dir()).await
}

/// Spools `stream` to a new temporary file in `dir`, chunk by chunk.
///
/// The first [`SNIFF_LEN`] bytes are held back until the type is known, so an upload of
/// the wrong type is refused without reading further and without touching the disk.
/// Reading stops as soon as the byte count passes `limits.max_bytes`, and the partial
/// file is removed.
pub async fn spool_in<S, E>(
    mut stream: S,
    limits: &UploadLimits,
    dir: impl Into<PathBuf>,
) -> Result<Spooled, UploadError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::error::Error + Send + Sync + 'static,
{
    let mut size = 0_u64;
    let mut held: Vec<Bytes> = Vec::new();
    let mut held_len = 0_usize;
    while held_len < SNIFF_LEN {
        let Some(chunk) = next_chunk(&mut stream).await? else {
            break;
        };
        size = count(size, &chunk, limits)?;
        held_len += chunk.len();
        held.push(chunk);
    }
    if size == 0 {
        return Err(UploadError::Empty);
    }
    let sniffed = sniff(&head_of(&held))
        .filter(|s| limits.allowed.contains(&s.kind))
        .ok_or(UploadError::UnsupportedType)?;

    let (file, path) = create_temp(dir.into()).await?;
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, tokio::fs::File::from_std(file));
    for chunk in held {
        out.write_all(&chunk).await.map_err(UploadError::Spool)?;
    }
    while let Some(chunk) = next_chunk(&mut stream).await? {
        size = count(size, &chunk, limits)?;
        out.write_all(&chunk).await.map_err(UploadError::Spool)?;
    }
    // A tokio file finishes its last write in the background; flushing waits for it,
    // so the file is complete before anyone reads it by path.
    out.flush().await.map_err(UploadError::Spool)?;
    Ok(Spooled {
        path,
        size,
        sniffed,
    })
}

async fn next_chunk<S, E>(stream: &mut S) -> Result<Option<Bytes>, UploadError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::error::Error + Send + Sync + 'static,
{
    stream
        .next()
        .await
        .transpose()
        .map_err(|e| UploadError::Read(BoxError::from(e)))
}

/// Adds a chunk to the running count, failing once the count passes the limit.
fn count(size: u64, chunk: &Bytes, limits: &UploadLimits) -> Result<u64, UploadError> {
    u64::try_from(chunk.len())
        .ok()
        .and_then(|len| size.checked_add(len))
        .filter(|total| *total <= limits.max_bytes)
        .ok_or(UploadError::TooLarge {
            limit: limits.max_bytes,
        })
}

/// The first [`SNIFF_LEN`] bytes of the held chunks.
fn head_of(held: &[Bytes]) -> Vec<u8> {
    let mut head = Vec::with_capacity(SNIFF_LEN);
    for chunk in held {
        let take = (SNIFF_LEN - head.len()).min(chunk.len());
        head.extend_from_slice(&chunk[..take]);
    }
    head
}

async fn create_temp(dir: PathBuf) -> Result<(std::fs::File, TempPath), UploadError> {
    let created = tokio::task::spawn_blocking(move || {
        tempfile::Builder::new()
            .prefix("mashang-upload-")
            .tempfile_in(dir)
    })
    .await
    .map_err(|e| UploadError::Spool(std::io::Error::other(e)))?;
    Ok(created.map_err(UploadError::Spool)?.into_parts())
}

#[cfg(test)]
mod tests;
