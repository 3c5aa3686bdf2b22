//! The measuring side of `tests/bench/upload-memory`: how much a photo upload adds to
//! a running server's resident memory while it is in flight. It seeds a township with
//! a QR code, then sends a ~10 MB photo slowly (a throttled stream over a raw
//! connection, so the upload is clearly in flight for seconds) while another thread
//! samples `/proc/<pid>/status` every 2 ms, and prints the peak minus the idle median:
//! once for the very first upload after start, then for rounds after a warm-up (the
//! figure). It asserts nothing.
//!
//! ```text
//! upload-memory --base-url http://127.0.0.1:18080 --database-url postgres://app@…/db \
//!     --pid 1234 [--rate-kib 2048] [--rounds 3] [--code mem]
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use mashang_db::{Db, DbConfig};
use mashang_tests::photo::jpeg;
use mashang_tests::seed_tenant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Photo size: just under the 10 MB limit.
const PHOTO_BYTES: usize = 10 * 1024 * 1024 - 64 * 1024;
/// Bytes written per write while throttled.
const CHUNK: usize = 64 * 1024;

/// Command-line settings.
struct Settings {
    base_url: String,
    database_url: String,
    pid: u32,
    rate_kib: u64,
    rounds: u32,
    code: String,
}

fn settings() -> anyhow::Result<Settings> {
    let mut given: HashMap<String, String> = HashMap::new();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let name = flag
            .strip_prefix("--")
            .with_context(|| format!("unexpected argument {flag:?}"))?;
        let value = args
            .next()
            .with_context(|| format!("--{name} needs a value"))?;
        given.insert(name.to_owned(), value);
    }
    let mut take = |name: &str| given.remove(name);
    Ok(Settings {
        base_url: take("base-url").context("--base-url is required")?,
        database_url: take("database-url").context("--database-url is required")?,
        pid: take("pid").context("--pid is required")?.parse()?,
        rate_kib: take("rate-kib").map_or(Ok(2048), |v| v.parse())?,
        rounds: take("rounds").map_or(Ok(3), |v| v.parse())?,
        code: take("code").unwrap_or_else(|| "mem".to_owned()),
    })
}

/// The resident set size of `pid`, in KiB.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS line")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("no VmRSS value")?
        .parse()?)
}

/// Samples the RSS every 2 ms until `stop`; returns the samples.
fn sample(pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<u64>> {
    std::thread::spawn(move || {
        let mut samples = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            if let Ok(kib) = rss_kib(pid) {
                samples.push(kib);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        samples
    })
}

/// The request: `qr_token`, then the photo as `file`, as a multipart body.
fn request(host: &str, token: &str, photo: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let boundary = "mashang-bench-boundary-7MA4YWxkTrZu0gW";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"qr_token\"\r\n\r\n{token}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"IMG_0001.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let length = head.len() + photo.len() + tail.len();
    let mut headers = format!(
        "POST /api/v1/attachments HTTP/1.1\r\nHost: {host}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    headers.extend_from_slice(head.as_bytes());
    (headers, photo.to_vec(), tail.into_bytes())
}

/// Sends one upload at `rate_kib` KiB/s (unthrottled when 0); returns the status line.
async fn upload(host: &str, token: &str, photo: &[u8], rate_kib: u64) -> anyhow::Result<String> {
    let (head, body, tail) = request(host, token, photo);
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    stream.write_all(&head).await?;
    let started = Instant::now();
    let mut sent = 0usize;
    for chunk in body.chunks(CHUNK) {
        stream.write_all(chunk).await?;
        sent += chunk.len();
        if rate_kib > 0 {
            let due = Duration::from_secs_f64(sent as f64 / (rate_kib as f64 * 1024.0));
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
    }
    stream.write_all(&tail).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let text = String::from_utf8_lossy(&answer);
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

/// One measured upload.
struct Round {
    baseline_kib: u64,
    peak_kib: u64,
    added_kib: i64,
    samples: usize,
    status: String,
}

impl std::fmt::Display for Round {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "idle {:.1} MB, peak {:.1} MB, added {:.2} MB ({} samples; {})",
            self.baseline_kib as f64 / 1024.0,
            self.peak_kib as f64 / 1024.0,
            self.added_kib as f64 / 1024.0,
            self.samples,
            self.status
        )
    }
}

/// Idle RSS (median of a second of samples), then the peak during a throttled upload.
async fn round(s: &Settings, host: &str, token: &str, photo: &[u8]) -> anyhow::Result<Round> {
    let stop = Arc::new(AtomicBool::new(false));
    let idle = sample(s.pid, stop.clone());
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let mut idle = idle
        .join()
        .map_err(|_| anyhow::anyhow!("the sampler panicked"))?;
    idle.sort_unstable();
    let baseline = *idle.get(idle.len() / 2).context("no idle sample")?;

    let stop = Arc::new(AtomicBool::new(false));
    let busy = sample(s.pid, stop.clone());
    let status = upload(host, token, photo, s.rate_kib).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let busy = busy
        .join()
        .map_err(|_| anyhow::anyhow!("the sampler panicked"))?;
    let peak = busy.iter().copied().max().unwrap_or(baseline);
    Ok(Round {
        baseline_kib: baseline,
        peak_kib: peak,
        added_kib: i64::try_from(peak).unwrap_or(i64::MAX) - i64::try_from(baseline).unwrap_or(0),
        samples: busy.len(),
        status,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    mashang_notification::delivery::outbound::install_tls();
    let s = settings()?;
    let host = s
        .base_url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut config = DbConfig::new(s.database_url.clone());
    config.max_connections = 1;
    let db = Db::connect(&config)
        .await
        .context("connecting as the application role")?;
    let fx = seed_tenant(&db, &s.code).await;
    db.close().await;
    let photo = jpeg(PHOTO_BYTES, 42);

    let secs = PHOTO_BYTES as f64 / (s.rate_kib as f64 * 1024.0);
    println!(
        "upload of a {:.1} MB photo to POST /api/v1/attachments at {} KiB/s (~{secs:.1} s in flight):",
        PHOTO_BYTES as f64 / 1e6,
        s.rate_kib
    );
    // The very first upload also pays for what the process sets up once (connections to
    // S3, blocking threads, code paged in): shown, but not the figure.
    let cold = round(&s, &host, &fx.qr_token, &photo).await?;
    println!("  first upload after start: {cold}");
    // Warm up: pools and allocator arenas grow once for good.
    for _ in 0..2 {
        let status = upload(&host, &fx.qr_token, &photo, 0).await?;
        anyhow::ensure!(status.contains(" 201 "), "warm-up upload refused: {status}");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut worst = 0i64;
    for n in 1..=s.rounds {
        let measured = round(&s, &host, &fx.qr_token, &photo).await?;
        worst = worst.max(measured.added_kib);
        println!("  round {n}: {measured}");
    }
    println!(
        "RESULT added_mb={:.2} (target < 4 MB)",
        worst as f64 / 1024.0
    );
    Ok(())
}
