//! Intake under untrusted input: photos declaring huge sizes are kept without being
//! decoded, the thumbnailer holds no lock a submission waits on, stored files no row
//! records are removed, lists and JSON bodies have their limits, one QR code cannot
//! fill the store, and phone-digit guesses are counted atomically without telling
//! whether a number exists.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use mashang_domain::TenantId;
use mashang_intake::housekeeping::StoreSweep;
use mashang_intake::thumbnails::make_thumbnails;
use mashang_intake::{IntakeConfig, IntakeState, LimitConfig};
use mashang_storage::{
    Blob, BlobKey, BlobStore, ContentKind, Listing, LocalStore, S3Store, Spooled, StorageError,
    UploadLimits,
};
use mashang_tests::client::{Client, Reply};
use mashang_tests::infra::{pii_key, s3_config, serve_router};
use mashang_tests::intake::{post_report, report, upload, upload_ok};
use mashang_tests::photo::{huge_png, jpeg, jpeg_declaring, jpeg_with_gps};
use mashang_tests::{TestApp, TestEnv, seed_tenant};
use serde_json::json;
use tokio::sync::{Notify, Semaphore};
use uuid::Uuid;

/// The peak resident memory of this process so far (the server runs in it), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("reading /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmHWM line")
}

/// A real 600×900 HEIC (a grid of tiles with a preview, as phones write) in which every
/// size property, the preview's included, says 60000×60000.
fn heic_declaring_huge() -> Vec<u8> {
    let (w, h) = (600u32, 900u32);
    let pixels = vec![120u8; (w * h * 3) as usize];
    let mut heic = heifer::encode_rgb8(w, h, &pixels, &Default::default()).expect("a HEIC");
    let mut at = 0;
    let mut patched = 0;
    while let Some(found) = heic[at..].windows(4).position(|w| w == b"ispe") {
        let body = at + found + 8;
        heic[body..body + 4].copy_from_slice(&60_000u32.to_be_bytes());
        heic[body + 4..body + 8].copy_from_slice(&60_000u32.to_be_bytes());
        patched += 1;
        at = body;
    }
    assert!(patched >= 2, "the photo and its preview declare sizes");
    heic
}

fn uuids(ids: &[String]) -> Vec<Uuid> {
    ids.iter()
        .map(|id| Uuid::parse_str(id).expect("an attachment id"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_declaring_huge_sizes_are_kept_without_thumbnails_and_never_decoded() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "huge").await;
    let app = TestApp::monolith(&env).await;
    let c = &app.intake;
    let png = huge_png(30_000, 30_000);
    assert!(png.len() > 1024 * 1024, "a PNG of a few megabytes");
    let before = peak_rss_kib();
    let mut ids = Vec::new();
    for (bytes, name, mime) in [
        (png, "wall.png", "image/png"),
        (jpeg_declaring(65_535, 65_535), "wall.jpg", "image/jpeg"),
        (heic_declaring_huge(), "wall.heic", "image/heic"),
    ] {
        ids.push(upload_ok(c, &fx.qr_token, bytes, name, mime).await);
    }
    c.get("/healthz").await.expect(200);
    // The citizen's report is not refused for its photos.
    let mut body = report(&fx.qr_token, "墙上的照片很大");
    body["attachment_ids"] = json!(ids);
    post_report(c, &body, None).await.expect(201);
    c.get("/healthz").await.expect(200);
    let blobs = app.blobs.clone();
    app.stop().await;

    // The housekeeper's pass, as the server runs it.
    let started = Instant::now();
    make_thumbnails(env.db(), blobs.as_ref(), 20)
        .await
        .expect("a thumbnail pass");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "refused from their headers, not decoded: {:?}",
        started.elapsed()
    );
    let grown = peak_rss_kib().saturating_sub(before);
    assert!(
        grown < 256 * 1024,
        "uploading and thumbnailing them raised the peak memory by {grown} KiB"
    );
    let mut owner = env.database.owner().await;
    let rows: Vec<(String, Option<String>, Option<String>, String)> = sqlx::query_as(
        "SELECT thumbnail_state, thumbnail_key, thumbnail_error, blob_key FROM intake.attachments \
         WHERE id = ANY($1) AND report_id IS NOT NULL",
    )
    .bind(uuids(&ids))
    .fetch_all(&mut owner)
    .await
    .expect("reading the attachments");
    assert_eq!(rows.len(), 3, "all three belong to the report");
    for (state, key, error, blob_key) in &rows {
        assert_eq!(state, "too_large", "{blob_key}: {error:?}");
        assert_eq!(key, &None, "{blob_key} has no thumbnail");
        assert!(
            error.as_deref().is_some_and(|e| e.contains("declares")),
            "{error:?}"
        );
        let key = BlobKey::parse(blob_key).expect("a key");
        assert!(
            blobs.exists(&key).await.expect("asking the store"),
            "{blob_key} is kept as uploaded"
        );
    }
    // Never tried again, even once any lease would have run out.
    sqlx::query("UPDATE intake.attachments SET thumbnail_lease_until = now() - interval '1 day'")
        .execute(&mut owner)
        .await
        .expect("ending the leases");
    assert_eq!(
        make_thumbnails(env.db(), blobs.as_ref(), 20)
            .await
            .expect("another pass"),
        0
    );
}

/// A store whose reads wait until the test lets them through, to hold the thumbnailer
/// in the middle of its work.
#[derive(Debug)]
struct GatedStore {
    inner: Arc<dyn BlobStore>,
    entered: Arc<Notify>,
    gate: Arc<Semaphore>,
}

#[async_trait]
impl BlobStore for GatedStore {
    async fn put_file(&self, key: &BlobKey, spooled: &Spooled) -> Result<(), StorageError> {
        self.inner.put_file(key, spooled).await
    }
    async fn get(&self, key: &BlobKey) -> Result<Blob, StorageError> {
        self.entered.notify_one();
        let _pass = self.gate.acquire().await.expect("the gate stays open");
        self.inner.get(key).await
    }
    async fn delete(&self, key: &BlobKey) -> Result<(), StorageError> {
        self.inner.delete(key).await
    }
    async fn list(
        &self,
        tenant: TenantId,
        area: &str,
        after: Option<&BlobKey>,
        max: usize,
    ) -> Result<Listing, StorageError> {
        self.inner.list(tenant, area, after, max).await
    }
    async fn exists(&self, key: &BlobKey) -> Result<bool, StorageError> {
        self.inner.exists(key).await
    }
    async fn check(&self) -> Result<(), StorageError> {
        self.inner.check().await
    }
}

/// Intake's routes alone on port 0, without its background work, over `blobs`.
async fn intake_only(env: &TestEnv, blobs: Arc<dyn BlobStore>, limits: LimitConfig) -> Client {
    let mut config = IntakeConfig::new("http://public.test", pii_key());
    config.limits = limits;
    let state = IntakeState::new(env.db().clone(), blobs, config);
    // Listening already; intake's routes alone have no readiness endpoint.
    let (client, _stop) = serve_router(mashang_intake::router(state)).await;
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_does_not_wait_for_the_thumbnailer_working_on_its_photo() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "lease").await;
    let local: Arc<dyn BlobStore> = Arc::new(LocalStore::new(env.dir.path().join("blobs")));
    let c = intake_only(&env, local.clone(), LimitConfig::default()).await;
    let photo = upload_ok(
        &c,
        &fx.qr_token,
        jpeg_with_gps(640, 480),
        "a.jpg",
        "image/jpeg",
    )
    .await;

    let gated = Arc::new(GatedStore {
        inner: local.clone(),
        entered: Arc::new(Notify::new()),
        gate: Arc::new(Semaphore::new(0)),
    });
    let pass = tokio::spawn({
        let (db, gated) = (env.db().clone(), gated.clone());
        async move { make_thumbnails(&db, gated.as_ref(), 20).await }
    });
    tokio::time::timeout(Duration::from_secs(30), gated.entered.notified())
        .await
        .expect("the thumbnailer reads the photo");
    // The thumbnailer is in the middle of its work on this very photo.
    let mut body = report(&fx.qr_token, "井盖丢了");
    body["attachment_ids"] = json!([photo]);
    let submitted = tokio::time::timeout(Duration::from_secs(10), post_report(&c, &body, None))
        .await
        .expect("the report is not held up by the thumbnailer");
    submitted.expect(201);

    gated.gate.add_permits(1_000);
    let dealt = tokio::time::timeout(Duration::from_secs(60), pass)
        .await
        .expect("the pass ends")
        .expect("the pass task")
        .expect("the pass");
    assert_eq!(dealt, 1);
    let mut owner = env.database.owner().await;
    let (state, thumbnail, claimed): (String, Option<String>, bool) = sqlx::query_as(
        "SELECT thumbnail_state, thumbnail_key, report_id IS NOT NULL FROM intake.attachments WHERE id = $1",
    )
    .bind(Uuid::parse_str(&photo).expect("an id"))
    .fetch_one(&mut owner)
    .await
    .expect("the row");
    assert_eq!(state, "made");
    assert!(thumbnail.is_some());
    assert!(claimed, "the report kept its photo");
}

/// Stores `bytes` under `key` in `store`, as an upload would be.
async fn put(store: &dyn BlobStore, key: &BlobKey, bytes: Vec<u8>) {
    let limits = UploadLimits {
        max_bytes: 10 * 1024 * 1024,
        allowed: &[ContentKind::Photo],
    };
    let stream = futures::stream::iter([Ok::<_, std::io::Error>(axum::body::Bytes::from(bytes))]);
    let spooled = mashang_storage::spool(stream, &limits)
        .await
        .expect("a photo");
    store.put_file(key, &spooled).await.expect("storing");
}

async fn unrecorded_files_are_removed_from(env: &TestEnv, store: &dyn BlobStore, code: &str) {
    let fx = seed_tenant(env.db(), code).await;
    let c = intake_only(
        env,
        Arc::new(LocalStore::new(env.dir.path().join(code))),
        LimitConfig::default(),
    )
    .await;
    let recorded = upload_ok(&c, &fx.qr_token, jpeg(3_000, 1), "a.jpg", "image/jpeg").await;
    let recorded =
        BlobKey::new(fx.tenant, "attachments", &format!("{recorded}.jpg")).expect("its key");
    // The recorded upload is in this store too, and two files were stored by a
    // process that died before recording them.
    put(store, &recorded, jpeg(3_000, 1)).await;
    let strays = [
        BlobKey::new(fx.tenant, "attachments", &format!("{}.jpg", Uuid::now_v7())).expect("a key"),
        BlobKey::new(fx.tenant, "thumbnails", &format!("{}.jpg", Uuid::now_v7())).expect("a key"),
    ];
    for stray in &strays {
        put(store, stray, jpeg(2_000, 2)).await;
    }
    let mut sweep = StoreSweep::default();
    assert_eq!(
        sweep
            .pass(env.db(), store, Duration::from_secs(3600))
            .await
            .expect("a pass"),
        0,
        "files younger than the grace period stay (their row may be on its way)"
    );
    let mut sweep = StoreSweep::default();
    assert_eq!(
        sweep
            .pass(env.db(), store, Duration::ZERO)
            .await
            .expect("a pass"),
        2
    );
    for stray in &strays {
        assert!(
            !store.exists(stray).await.expect("asking"),
            "{stray} is removed"
        );
    }
    assert!(
        store.exists(&recorded).await.expect("asking"),
        "a recorded upload stays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_files_no_row_records_are_removed_after_the_grace_period() {
    let env = TestEnv::new().await;
    let local = LocalStore::new(env.dir.path().join("swept"));
    unrecorded_files_are_removed_from(&env, &local, "swloc").await;
    let s3 = S3Store::connect(s3_config()).await.expect("an S3 client");
    s3.ensure_bucket()
        .await
        .expect("the S3 test server answers");
    unrecorded_files_are_removed_from(&env, &s3, "sws3").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_and_json_bodies_past_their_limits_are_refused_before_any_work() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "lists").await;
    let local: Arc<dyn BlobStore> = Arc::new(LocalStore::new(env.dir.path().join("blobs")));
    let c = intake_only(&env, local, LimitConfig::default()).await;
    let eleven: Vec<String> = (0..11).map(|_| Uuid::now_v7().to_string()).collect();
    let mut body = report(&fx.qr_token, "太多附件");
    body["attachment_ids"] = json!(eleven);
    let fields = post_report(&c, &body, None).await.expect_problem(422);
    assert_eq!(fields, ["attachment_ids"]);
    // A list of 100 000 short ids: the body alone is over the JSON limit.
    body["attachment_ids"] = json!(vec!["x"; 100_000]);
    post_report(&c, &body, None).await.expect_problem(413);
    let mut padded = report(&fx.qr_token, "正常的描述");
    padded["padding"] = json!("字".repeat(20_000));
    post_report(&c, &padded, None).await.expect_problem(413);
    // The largest valid report still fits.
    let mut largest = report(&fx.qr_token, &"😀".repeat(2000));
    largest["contact_name"] = json!("😀".repeat(50));
    let text = serde_json::to_string(&largest)
        .expect("JSON")
        .replace('😀', "\\ud83d\\ude00");
    let reply = Reply::read(
        c.http
            .post(c.url("/api/v1/reports"))
            .header("content-type", "application/json")
            .body(text)
            .send()
            .await
            .expect("POST"),
    )
    .await;
    reply.expect(201);
    // The same list limit in a multipart report.
    let form = reqwest::multipart::Form::new()
        .text("qr_token", fx.qr_token.clone())
        .text("category", "roads")
        .text("description", "太多附件")
        .text("attachment_ids", eleven.join(","));
    let fields = c
        .post_multipart("/api/v1/reports", form)
        .await
        .expect_problem(422);
    assert_eq!(fields, ["attachment_ids"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_qr_code_cannot_store_more_files_than_its_limit_even_all_at_once() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "poster").await;
    let limits = LimitConfig {
        posts_per_address_per_minute: 1_000,
        uploads_per_code_per_hour: 3,
        ..LimitConfig::default()
    };
    let local: Arc<dyn BlobStore> = Arc::new(LocalStore::new(env.dir.path().join("blobs")));
    let c = intake_only(&env, local, limits).await;
    let replies = futures::future::join_all(
        (0..8).map(|i| upload(&c, &fx.qr_token, jpeg(4_000, i), "p.jpg", "image/jpeg")),
    )
    .await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        3,
        "three at once, no more: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 429),
        "{statuses:?}"
    );
    upload(&c, &fx.qr_token, jpeg(4_000, 9), "p.jpg", "image/jpeg")
        .await
        .expect_problem(429);
    // Inline files in a report count against the same poster.
    let photo = reqwest::multipart::Part::bytes(jpeg(4_000, 10))
        .file_name("p.jpg")
        .mime_str("image/jpeg")
        .expect("a MIME type");
    let form = reqwest::multipart::Form::new()
        .text("qr_token", fx.qr_token.clone())
        .text("category", "roads")
        .text("description", "照片")
        .part("photo", photo);
    c.post_multipart("/api/v1/reports", form)
        .await
        .expect_problem(429);
    // A report without files still goes through.
    post_report(&c, &report(&fx.qr_token, "没有照片"), None)
        .await
        .expect(201);
}

async fn status_json(c: &Client, path: &str) -> Reply {
    c.get_json_url(&c.url(path)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_digit_guesses_are_counted_atomically_and_tell_nothing_of_unknown_numbers() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "guess").await;
    let local: Arc<dyn BlobStore> = Arc::new(LocalStore::new(env.dir.path().join("blobs")));
    let c = intake_only(&env, local, LimitConfig::default()).await;
    let mut body = report(&fx.qr_token, "路灯不亮");
    body["contact_phone"] = json!("13800001234");
    let mut numbers = Vec::new();
    for _ in 0..3 {
        let done = post_report(&c, &body, None).await.expect(201).body;
        numbers.push(
            done["tracking_number"]
                .as_str()
                .expect("a number")
                .to_owned(),
        );
    }
    let (known, daily, right) = (&numbers[0], &numbers[1], &numbers[2]);
    let unknown = format!("{}9999", &known[..known.len() - 4]);
    assert!(!numbers.contains(&unknown));

    // An unknown number and a wrong guess at a known one get the same answer.
    let wrong = status_json(&c, &format!("/r/{known}?phone4=0000")).await;
    let missing = status_json(&c, &format!("/r/{unknown}?phone4=0000")).await;
    assert_eq!(wrong.status, missing.status);
    assert_eq!(wrong.content_type, missing.content_type);
    assert_eq!(wrong.body, missing.body);
    wrong.expect_problem(404);

    // Nine guesses at once at the known number: four more pass (five an hour), no more.
    let replies = futures::future::join_all((0..9).map(|i| {
        let c = &c;
        let path = format!("/r/{known}?phone4={:04}", 1000 + i);
        async move { status_json(c, &path).await }
    }))
    .await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 404).count(),
        4,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        5,
        "{statuses:?}"
    );
    // Unknown numbers use up guesses too: four more, then refused like a known one.
    for i in 0..4 {
        status_json(&c, &format!("/r/{unknown}?phone4={:04}", 2000 + i))
            .await
            .expect_problem(404);
    }
    status_json(&c, &format!("/r/{unknown}?phone4=1234"))
        .await
        .expect_problem(429);

    // The right digits are not used up by coming back.
    for _ in 0..8 {
        status_json(&c, &format!("/r/{right}?phone4=1234"))
            .await
            .expect(200);
    }

    // Ten wrong guesses spread over the last hours: the day's cap holds, though this
    // hour has none.
    let mut owner = env.database.owner().await;
    sqlx::query(
        "INSERT INTO intake.lookup_guesses (subject, hour, guesses) \
         VALUES ($1, date_trunc('hour', now()) - interval '3 hours', 6), \
                ($1, date_trunc('hour', now()) - interval '7 hours', 4)",
    )
    .bind(format!("number:{daily}"))
    .execute(&mut owner)
    .await
    .expect("earlier guesses");
    status_json(&c, &format!("/r/{daily}?phone4=1234"))
        .await
        .expect_problem(429);
}

/// A store that is down: every call fails.
#[derive(Debug)]
struct DownStore;

#[async_trait]
impl BlobStore for DownStore {
    async fn put_file(&self, _: &BlobKey, _: &Spooled) -> Result<(), StorageError> {
        Err(StorageError::Config("the store is down"))
    }
    async fn get(&self, _: &BlobKey) -> Result<Blob, StorageError> {
        Err(StorageError::Config("the store is down"))
    }
    async fn delete(&self, _: &BlobKey) -> Result<(), StorageError> {
        Err(StorageError::Config("the store is down"))
    }
    async fn list(
        &self,
        _: TenantId,
        _: &str,
        _: Option<&BlobKey>,
        _: usize,
    ) -> Result<Listing, StorageError> {
        Err(StorageError::Config("the store is down"))
    }
    async fn exists(&self, _: &BlobKey) -> Result<bool, StorageError> {
        Err(StorageError::Config("the store is down"))
    }
    async fn check(&self) -> Result<(), StorageError> {
        Err(StorageError::Config("the store is down"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_housekeeping_pass_goes_on_when_the_store_fails_and_tries_the_photo_again_later() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "down").await;
    let local: Arc<dyn BlobStore> = Arc::new(LocalStore::new(env.dir.path().join("blobs")));
    let c = intake_only(&env, local, LimitConfig::default()).await;
    let photo = upload_ok(&c, &fx.qr_token, jpeg(3_000, 1), "a.jpg", "image/jpeg").await;
    let orphan = upload_ok(&c, &fx.qr_token, jpeg(3_000, 2), "b.jpg", "image/jpeg").await;
    let mut owner = env.database.owner().await;
    sqlx::query(
        "UPDATE intake.attachments SET created_at = now() - interval '25 hours' WHERE id = $1",
    )
    .bind(Uuid::parse_str(&orphan).expect("an id"))
    .execute(&mut owner)
    .await
    .expect("backdating");

    let mut sweep = StoreSweep::default();
    let done = mashang_intake::housekeeping::pass(env.db(), &DownStore, &mut sweep).await;
    assert_eq!(done.unrecorded, None, "the store sweep failed: {done:?}");
    // The other steps ran all the same.
    assert_eq!(done.thumbnails, Some(2), "{done:?}");
    assert_eq!(done.orphans, Some(1), "{done:?}");
    assert!(done.forgotten, "{done:?}");
    let (state, error, attempts): (String, Option<String>, i32) = sqlx::query_as(
        "SELECT thumbnail_state, thumbnail_error, thumbnail_attempts FROM intake.attachments WHERE id = $1",
    )
    .bind(Uuid::parse_str(&photo).expect("an id"))
    .fetch_one(&mut owner)
    .await
    .expect("the row");
    assert_eq!(state, "pending", "a storage failure is worth another try");
    assert!(error.is_some_and(|e| e.contains("down")));
    assert_eq!(attempts, 1);
    // Not in a loop: the photo waits for its lease to run out.
    let again = mashang_intake::housekeeping::pass(env.db(), &DownStore, &mut sweep).await;
    assert_eq!(again.thumbnails, Some(0), "{again:?}");
}
