//! The export pipeline. A task reads the facts township by township in pages and
//! hands them over a bounded channel to a blocking thread that writes the file; the
//! file's bytes go over another bounded channel to the response body. Each stage
//! waits for the next, so memory holds a few batches and chunks whatever the size of
//! the export, and a client that stops reading stops the read.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use mashang_db::Db;
use mashang_domain::TenantId;
use tokio::sync::{OwnedSemaphorePermit, mpsc};

use super::csv::{CsvEncoding, CsvWriter};
use super::query::ExportFilter;
use super::rows::{self, CaseRow, NodeLimits};
use super::sink::{ChunkSink, Piece};
use super::table::TableWriter;
use super::xlsx::XlsxWriter;

/// Rows per page read (one short statement each) and handed to the writer.
const PAGE: usize = 1000;
/// Pages waiting for the writer.
const BATCHES_QUEUED: usize = 2;
/// Chunks waiting for the client.
const CHUNKS_QUEUED: usize = 8;

/// The file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// CSV in an encoding.
    Csv(CsvEncoding),
    /// An XLSX workbook.
    Xlsx,
}

impl Format {
    /// The file name's extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv(_) => "csv",
            Self::Xlsx => "xlsx",
        }
    }

    /// The response's `Content-Type`.
    pub fn content_type(self) -> String {
        match self {
            Self::Csv(encoding) => format!("text/csv; charset={}", encoding.charset()),
            Self::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned()
            }
        }
    }
}

/// One township's part of an export.
#[derive(Clone, Debug)]
pub struct Part {
    /// The township.
    pub tenant: TenantId,
    /// Its time zone, for local times.
    pub time_zone: String,
    /// Its name, written in a first column (the county's exports), or `None`.
    pub township: Option<Arc<str>>,
    /// The nodes its rows are limited to.
    pub limits: NodeLimits,
}

/// Everything an export needs once the request has been checked.
#[derive(Debug)]
pub struct Job {
    /// The file format.
    pub format: Format,
    /// The period and filters.
    pub filter: ExportFilter,
    /// The townships, in order.
    pub parts: Vec<Part>,
    /// Whether the citizen's words are included.
    pub description: bool,
    /// Held until the export ends: bounds the exports running at once.
    pub permit: OwnedSemaphorePermit,
}

struct Batch {
    township: Option<Arc<str>>,
    rows: Vec<CaseRow>,
}

/// Starts the export and returns the response body it streams into.
pub fn start(db: Db, job: Job) -> Body {
    let (batch_tx, batch_rx) = mpsc::channel::<Result<Batch, anyhow::Error>>(BATCHES_QUEUED);
    let (byte_tx, mut byte_rx) = mpsc::channel::<Piece>(CHUNKS_QUEUED);
    let township = job.parts.iter().any(|p| p.township.is_some());
    let titles = rows::titles(township, job.description);
    let (format, description) = (job.format, job.description);
    tokio::spawn(read(db, job, batch_tx));
    tokio::task::spawn_blocking(move || write(format, &titles, description, batch_rx, byte_tx));
    Body::from_stream(futures::stream::poll_fn(move |cx| byte_rx.poll_recv(cx)))
}

/// Reads every part's rows into batches; an error is passed on to end the file.
async fn read(db: Db, job: Job, tx: mpsc::Sender<Result<Batch, anyhow::Error>>) {
    let _permit = job.permit;
    for part in &job.parts {
        match read_part(&db, part, &job.filter, job.description, &tx).await {
            Ok(true) => {}
            // The writer stopped (the client went away): nothing more to read.
            Ok(false) => return,
            Err(err) => {
                let _ = tx.send(Err(err)).await;
                return;
            }
        }
    }
}

/// One township's rows, a page at a time, each page read in a short transaction of
/// its own: no statement or transaction lasts as long as the export, and no
/// connection is held while the client reads. `false` when the writer is gone.
async fn read_part(
    db: &Db,
    part: &Part,
    filter: &ExportFilter,
    description: bool,
    tx: &mpsc::Sender<Result<Batch, anyhow::Error>>,
) -> Result<bool, anyhow::Error> {
    let tenant = part.tenant.as_uuid();
    let mut after = None;
    loop {
        let mut conn = db.tenant(part.tenant).await?;
        let rows = rows::page(
            &mut conn,
            tenant,
            &part.time_zone,
            filter,
            &part.limits,
            description,
            after,
            PAGE as i64,
        )
        .await?;
        conn.commit().await?;
        let last = rows.last().map(|r| (r.submitted_day, r.report_id));
        let more = rows.len() == PAGE;
        if !rows.is_empty() && !send(tx, &part.township, rows).await {
            return Ok(false);
        }
        match (more, last) {
            (true, Some(cursor)) => after = Some(cursor),
            _ => return Ok(true),
        }
    }
}

async fn send(
    tx: &mpsc::Sender<Result<Batch, anyhow::Error>>,
    township: &Option<Arc<str>>,
    rows: Vec<CaseRow>,
) -> bool {
    let batch = Batch {
        township: township.clone(),
        rows,
    };
    tx.send(Ok(batch)).await.is_ok()
}

/// Writes the file on a blocking thread. A failure after the first byte cannot
/// change the status any more; it cuts the body short, which the client sees as a
/// failed download, and is logged.
fn write(
    format: Format,
    titles: &[&str],
    description: bool,
    mut rx: mpsc::Receiver<Result<Batch, anyhow::Error>>,
    bytes: mpsc::Sender<Piece>,
) {
    let started = Instant::now();
    let mut count: u64 = 0;
    let result = (|| -> io::Result<()> {
        let sink = ChunkSink::new(bytes.clone());
        let mut writer: Box<dyn TableWriter> = match format {
            Format::Csv(encoding) => Box::new(CsvWriter::new(sink, encoding)?),
            Format::Xlsx => Box::new(XlsxWriter::new(sink)),
        };
        writer.header(titles)?;
        while let Some(batch) = rx.blocking_recv() {
            let batch = batch.map_err(|err| io::Error::other(format!("{err:#}")))?;
            for row in &batch.rows {
                writer.row(&row.cells(batch.township.as_deref(), description))?;
                count += 1;
            }
        }
        writer.finish()
    })();
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(()) => tracing::info!(
            rows = count,
            elapsed_ms,
            format = format.extension(),
            "export written"
        ),
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {
            tracing::info!(rows = count, elapsed_ms, "export abandoned by the client");
        }
        Err(err) => {
            tracing::error!(rows = count, error = %err, "export failed");
            let _ = bytes.blocking_send(Err(err));
        }
    }
}
