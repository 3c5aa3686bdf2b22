//! Uploads ahead of the report (`POST /api/v1/attachments`): photos lose their
//! location but keep their orientation, the location reaches the report only with the
//! citizen's leave, an upload joins one report of its own QR code only, and a refused
//! upload leaves neither a file nor a row.

use std::io::Cursor;
use std::time::Duration;

use mashang_storage::BlobKey;
use mashang_tests::intake::{
    intake_rows, ogg_voice, post_report, report, stored_files, upload, upload_ok,
};
use mashang_tests::photo::{GPS_LAT, GPS_LNG, ORIENTATION, jpeg, jpeg_with_gps};
use mashang_tests::{PASSWORD, TestApp, TestEnv, eventually, seed_tenant};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(30);

/// An attachment row as the owner sees it.
#[derive(Debug, sqlx::FromRow)]
struct AttachmentRow {
    report_id: Option<Uuid>,
    kind: String,
    content_type: String,
    blob_key: String,
    gps_lat: Option<f64>,
    gps_lng: Option<f64>,
}

async fn attachment(owner: &mut PgConnection, id: &str) -> AttachmentRow {
    sqlx::query_as(
        "SELECT report_id, kind, content_type, blob_key, gps_lat, gps_lng FROM intake.attachments WHERE id = $1",
    )
    .bind(Uuid::parse_str(id).expect("an attachment id"))
    .fetch_one(owner)
    .await
    .expect("the attachment row")
}

async fn report_location(owner: &mut PgConnection, id: &str) -> (Option<f64>, Option<f64>) {
    sqlx::query_as("SELECT lat, lng FROM intake.reports WHERE id = $1")
        .bind(Uuid::parse_str(id).expect("a report id"))
        .fetch_one(owner)
        .await
        .expect("the report row")
}

/// The `report.submitted` event intake recorded for a report.
async fn submitted_event(owner: &mut PgConnection, report: &str) -> Value {
    let (envelope,): (Value,) = sqlx::query_as(
        "SELECT envelope FROM intake.outbox WHERE event_type = 'report.submitted' AND envelope->'payload'->>'report_id' = $1",
    )
    .bind(report)
    .fetch_one(owner)
    .await
    .expect("the report.submitted event");
    envelope
}

fn near(value: Option<f64>, expected: f64) -> bool {
    value.is_some_and(|v| (v - expected).abs() < 1e-6)
}

/// GPS fields and orientation of a JPEG, read with an independent EXIF reader.
fn exif_of(jpeg: &[u8]) -> (usize, Option<u32>) {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(jpeg)) else {
        return (0, None);
    };
    let gps = exif
        .fields()
        .filter(|f| f.tag.context() == exif::Context::Gps || f.tag == exif::Tag::GPSInfoIFDPointer)
        .count();
    let orientation = exif
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0));
    (gps, orientation)
}

fn ids(attachments: &Value) -> Vec<&str> {
    attachments
        .as_array()
        .expect("a list of attachments")
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_ahead_join_the_report_and_the_case_without_their_location_unless_shared() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "upl").await;
    let app = TestApp::split(&env, mashang_tests::infra::nats_config()).await;
    let c = &app.intake;
    let mut owner = env.database.owner().await;

    // A phone photo with its location, and a voice note, each sent on its own.
    let original = jpeg_with_gps(640, 480);
    let (gps, orientation) = exif_of(&original);
    assert!(gps > 0, "the test photo carries a location");
    assert_eq!(orientation, Some(u32::from(ORIENTATION)));
    let sent = upload(
        c,
        &fx.qr_token,
        original.clone(),
        "IMG_0001.jpg",
        "image/jpeg",
    )
    .await
    .expect(201);
    assert_eq!(sent.body["kind"], "photo");
    assert_eq!(sent.body["content_type"], "image/jpeg");
    let photo = sent.body["id"].as_str().expect("an id").to_owned();
    let sent = upload(c, &fx.qr_token, ogg_voice(24_000), "voice.ogg", "audio/ogg")
        .await
        .expect(201);
    assert_eq!(sent.body["kind"], "voice");
    assert_eq!(sent.body["content_type"], "audio/ogg");
    let voice = sent.body["id"].as_str().expect("an id").to_owned();

    // Waiting for its report: the location is held on the row, never in the file.
    let row = attachment(&mut owner, &photo).await;
    assert_eq!(row.report_id, None);
    assert!(
        near(row.gps_lat, GPS_LAT) && near(row.gps_lng, GPS_LNG),
        "{row:?}"
    );
    assert!(
        row.blob_key
            .starts_with(&format!("{}/attachments/", fx.tenant))
    );
    let stored = app
        .blobs
        .get_bytes(&BlobKey::parse(&row.blob_key).expect("a key"))
        .await
        .expect("the photo is in S3");
    let (gps, orientation) = exif_of(&stored);
    assert_eq!(gps, 0, "the stored photo carries no location");
    assert_eq!(
        orientation,
        Some(u32::from(ORIENTATION)),
        "the stored photo still shows the right way up"
    );
    let decoded = image::load_from_memory(&stored).expect("the stored photo is a valid JPEG");
    assert_eq!((decoded.width(), decoded.height()), (640, 480));

    // The report names both; with leave and no browser location, the photo's is used.
    let mut body = report(&fx.qr_token, "村口路灯坏了");
    body["attachment_ids"] = json!([photo, voice]);
    body["share_location"] = json!(true);
    let first = post_report(c, &body, None).await.expect(201).body;
    let first_id = first["id"].as_str().expect("a report id").to_owned();
    let (lat, lng) = report_location(&mut owner, &first_id).await;
    assert!(near(lat, GPS_LAT) && near(lng, GPS_LNG), "{lat:?} {lng:?}");
    for id in [&photo, &voice] {
        let row = attachment(&mut owner, id).await;
        assert_eq!(row.report_id.map(|r| r.to_string()), Some(first_id.clone()));
        assert_eq!(
            (row.gps_lat, row.gps_lng),
            (None, None),
            "cleared once attached"
        );
    }
    assert_eq!(attachment(&mut owner, &voice).await.kind, "voice");
    assert_eq!(
        attachment(&mut owner, &voice).await.content_type,
        "audio/ogg"
    );
    let event = submitted_event(&mut owner, &first_id).await;
    assert_eq!(ids(&event["payload"]["attachments"]), [&photo, &voice]);
    assert!(near(event["payload"]["location"]["lat"].as_f64(), GPS_LAT));

    // The worker's case has both, and the location.
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let case = eventually("routing's case for the report", WAIT, || async {
        let row: Option<(Uuid,)> =
            sqlx::query_as("SELECT id FROM routing.cases WHERE report_id = $1")
                .bind(Uuid::parse_str(&first_id).expect("an id"))
                .fetch_optional(&mut env.database.owner().await)
                .await
                .expect("reading cases");
        row.map(|(id,)| id)
    })
    .await;
    let case = worker
        .get(&format!("/api/v1/cases/{case}"))
        .await
        .expect(200)
        .body;
    assert_eq!(ids(&case["attachments"]), [&photo, &voice]);
    assert!(near(case["lat"].as_f64(), GPS_LAT), "{case}");

    // Without leave, the photo's location is stored nowhere.
    let second_photo = upload_ok(
        c,
        &fx.qr_token,
        jpeg_with_gps(64, 48),
        "b.jpg",
        "image/jpeg",
    )
    .await;
    let mut body = report(&fx.qr_token, "垃圾没人清");
    body["attachment_ids"] = json!([second_photo]);
    let second = post_report(c, &body, None).await.expect(201).body;
    let second_id = second["id"].as_str().expect("a report id").to_owned();
    assert_eq!(report_location(&mut owner, &second_id).await, (None, None));
    let row = attachment(&mut owner, &second_photo).await;
    assert_eq!((row.gps_lat, row.gps_lng), (None, None));
    let event = submitted_event(&mut owner, &second_id).await;
    assert!(event["payload"]["location"].is_null(), "{event}");
    let case = eventually("routing's second case", WAIT, || async {
        let row: Option<(Option<f64>, Value)> =
            sqlx::query_as("SELECT lat, attachments FROM routing.cases WHERE report_id = $1")
                .bind(Uuid::parse_str(&second_id).expect("an id"))
                .fetch_optional(&mut env.database.owner().await)
                .await
                .expect("reading cases");
        row
    })
    .await;
    assert_eq!(case.0, None, "the case has no location either");
    assert_eq!(ids(&case.1), [&second_photo]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_joins_one_report_of_its_own_code() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "upj").await;
    let other = seed_tenant(env.db(), "upk").await;
    let app = TestApp::monolith(&env).await;
    let c = &app.intake;
    let (_, second_token) = {
        let mut tx = env.db().tenant(fx.tenant).await.expect("a transaction");
        let issued = mashang_routing::directory::qr::issue(&mut tx, fx.grid)
            .await
            .expect("a second QR code");
        tx.commit().await.expect("committing");
        issued
    };
    let photo = upload_ok(c, &fx.qr_token, jpeg(2_000, 1), "a.jpg", "image/jpeg").await;
    let mut body = report(&fx.qr_token, "桥面裂缝");
    body["attachment_ids"] = json!([photo]);
    post_report(c, &body, None).await.expect(201);

    let mut owner = env.database.owner().await;
    let before = intake_rows(&mut owner, fx.tenant).await;
    let refused = |ids: Value| {
        let mut body = report(&fx.qr_token, "还是那个裂缝");
        body["attachment_ids"] = ids;
        body
    };
    // Used already; uploaded through another code; another township's; unknown.
    let elsewhere = upload_ok(c, &second_token, jpeg(2_000, 2), "b.jpg", "image/jpeg").await;
    let foreign = upload_ok(c, &other.qr_token, jpeg(2_000, 3), "c.jpg", "image/jpeg").await;
    let after_uploads = intake_rows(&mut owner, fx.tenant).await;
    for ids in [
        json!([photo]),
        json!([elsewhere]),
        json!([foreign]),
        json!([Uuid::now_v7()]),
        json!([elsewhere, photo]),
    ] {
        let fields = post_report(c, &refused(ids.clone()), None)
            .await
            .expect_problem(422);
        assert_eq!(fields, ["attachment_ids"], "{ids}");
    }
    assert_eq!(
        intake_rows(&mut owner, fx.tenant).await,
        after_uploads,
        "a refused report stores nothing"
    );
    assert_eq!(
        after_uploads[1],
        before[1] + 1,
        "one more upload, no more reports"
    );
    assert_eq!(after_uploads[0], before[0]);
    // The refusals did not use up the other code's upload: its own code can attach it.
    let mut body = report(&second_token, "桥面裂缝");
    body["attachment_ids"] = json!([elsewhere]);
    post_report(c, &body, None).await.expect(201);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_uploads_leave_neither_a_file_nor_a_row() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "upr").await;
    let app = TestApp::monolith(&env).await;
    let c = &app.intake;
    let t = fx.qr_token.as_str();

    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    upload(c, t, pdf.to_vec(), "report.pdf", "application/pdf")
        .await
        .expect_problem(415);
    // A text file called .jpg; a web page declared as a JPEG.
    upload(
        c,
        t,
        "路灯坏了".repeat(100).into_bytes(),
        "IMG_0002.jpg",
        "image/jpeg",
    )
    .await
    .expect_problem(415);
    let page = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>".to_vec();
    upload(c, t, page, "IMG_0003.jpg", "image/jpeg")
        .await
        .expect_problem(415);
    // A JPEG header and then nothing a decoder can read.
    let mut broken = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x02];
    broken.extend_from_slice(&[0x55; 64]);
    upload(c, t, broken, "IMG_0004.jpg", "image/jpeg")
        .await
        .expect_problem(415);
    // Over 10 MB.
    upload(c, t, jpeg(10 * 1024 * 1024 + 1, 9), "big.jpg", "image/jpeg")
        .await
        .expect_problem(413);
    // An unknown code; the code after the file; no file at all.
    upload(c, "no-such-token", jpeg(2_000, 1), "a.jpg", "image/jpeg")
        .await
        .expect_problem(404);
    let late = Form::new()
        .part(
            "file",
            Part::bytes(jpeg(2_000, 1))
                .file_name("a.jpg")
                .mime_str("image/jpeg")
                .expect("a MIME type"),
        )
        .text("qr_token", t.to_owned());
    let fields = c
        .post_multipart("/api/v1/attachments", late)
        .await
        .expect_problem(422);
    assert_eq!(fields, ["qr_token"]);
    let fields = c
        .post_multipart(
            "/api/v1/attachments",
            Form::new().text("qr_token", t.to_owned()),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["file"]);

    let mut owner = env.database.owner().await;
    assert_eq!(intake_rows(&mut owner, fx.tenant).await, [0; 5]);
    let blobs = env.dir.path().join("blobs");
    assert_eq!(stored_files(&blobs), Vec::<std::path::PathBuf>::new());

    // The content decides, not the declared type: a real photo declared as a PDF is a photo.
    let reply = upload(c, t, jpeg(2_000, 2), "scan.pdf", "application/pdf")
        .await
        .expect(201);
    assert_eq!(reply.body["content_type"], "image/jpeg");
    assert_eq!(intake_rows(&mut owner, fx.tenant).await[1], 1);
    assert!(!stored_files(&blobs).is_empty());
    app.stop().await;
}
