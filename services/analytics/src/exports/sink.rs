//! The bridge from a writer running on a blocking thread to the HTTP body: bytes are
//! gathered into chunks and handed over a bounded channel, so a slow client slows
//! the writer (and the database read behind it) instead of filling memory.

use std::io::{self, Write};

use bytes::Bytes;
use tokio::sync::mpsc;

/// Bytes gathered before a chunk is sent.
pub const CHUNK: usize = 64 * 1024;

/// What the body receives: a chunk, or the error that cuts the download short.
pub type Piece = Result<Bytes, io::Error>;

/// A blocking [`Write`] that sends `CHUNK`-sized pieces to the response body.
#[derive(Debug)]
pub struct ChunkSink {
    buf: Vec<u8>,
    tx: mpsc::Sender<Piece>,
    sent: u64,
}

impl ChunkSink {
    /// A sink sending to `tx`. Must be used on a blocking thread.
    pub fn new(tx: mpsc::Sender<Piece>) -> Self {
        Self {
            buf: Vec::with_capacity(CHUNK),
            tx,
            sent: 0,
        }
    }

    /// Bytes sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.sent += chunk.len() as u64;
        self.tx
            .blocking_send(Ok(chunk))
            // The body was dropped: the client went away. Stop writing.
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChunkSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}
