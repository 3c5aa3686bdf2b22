//! Intake's housekeeper: small upright thumbnails for photos, and uploads that no
//! report claimed within a day deleted (file, thumbnail and row) while the rest stay.

use mashang_intake::housekeeping::{ORPHAN_AFTER, sweep_orphans};
use mashang_intake::thumbnails::{THUMBNAIL_SIZE, make_thumbnails};
use mashang_storage::{BlobKey, BlobStore};
use mashang_tests::intake::{ogg_voice, post_report, report, upload_ok};
use mashang_tests::photo::{jpeg, jpeg_with_gps};
use mashang_tests::{TestApp, TestEnv, seed_tenant};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

/// The blob key and thumbnail key of an attachment, if its row exists.
async fn keys(owner: &mut PgConnection, id: &str) -> Option<(String, Option<String>)> {
    sqlx::query_as("SELECT blob_key, thumbnail_key FROM intake.attachments WHERE id = $1")
        .bind(Uuid::parse_str(id).expect("an attachment id"))
        .fetch_optional(owner)
        .await
        .expect("reading an attachment")
}

async fn exists(blobs: &dyn BlobStore, key: &str) -> bool {
    blobs
        .exists(&BlobKey::parse(key).expect("a blob key"))
        .await
        .expect("asking the blob store")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_get_upright_thumbnails_and_unclaimed_uploads_go_after_a_day() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "hk").await;
    let app = TestApp::monolith(&env).await;
    let c = &app.intake;
    let blobs = app.blobs.clone();
    // A phone photo taken upright: 640×480 pixels, to be turned a quarter (EXIF 6).
    let attached = upload_ok(
        c,
        &fx.qr_token,
        jpeg_with_gps(640, 480),
        "a.jpg",
        "image/jpeg",
    )
    .await;
    let voice = upload_ok(c, &fx.qr_token, ogg_voice(8_000), "v.ogg", "audio/ogg").await;
    let old_orphan = upload_ok(c, &fx.qr_token, jpeg(2_000, 1), "b.jpg", "image/jpeg").await;
    let fresh_orphan = upload_ok(c, &fx.qr_token, jpeg(2_000, 2), "c.jpg", "image/jpeg").await;
    let mut body = report(&fx.qr_token, "路边电线杆歪了");
    body["attachment_ids"] = json!([attached, voice]);
    post_report(c, &body, None).await.expect(201);
    // A day passes for the report's photo and for one of the unclaimed uploads.
    let mut owner = env.database.owner().await;
    sqlx::query(
        "UPDATE intake.attachments SET created_at = now() - interval '25 hours' WHERE id = ANY($1)",
    )
    .bind(vec![
        Uuid::parse_str(&attached).expect("an id"),
        Uuid::parse_str(&old_orphan).expect("an id"),
    ])
    .execute(&mut owner)
    .await
    .expect("backdating");
    // The process stops, so only the passes below run (as its housekeeper would).
    app.stop().await;

    let made = make_thumbnails(env.db(), blobs.as_ref(), 20)
        .await
        .expect("a thumbnail pass");
    assert_eq!(made, 3, "three photos, the voice note is not one");
    let (_, thumbnail) = keys(&mut owner, &attached).await.expect("the row");
    let thumbnail = thumbnail.expect("a thumbnail key");
    assert_eq!(
        thumbnail,
        format!("{}/thumbnails/{attached}.jpg", fx.tenant)
    );
    let bytes = blobs
        .get_bytes(&BlobKey::parse(&thumbnail).expect("a key"))
        .await
        .expect("the thumbnail is stored");
    assert!(bytes.starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG");
    let small = image::load_from_memory(&bytes).expect("a readable thumbnail");
    assert!(small.width().max(small.height()) <= THUMBNAIL_SIZE);
    assert_eq!(
        (small.width(), small.height()),
        (240, 320),
        "the thumbnail shows the photo the right way up, as the photo itself is shown"
    );
    assert_eq!(keys(&mut owner, &voice).await.expect("the row").1, None);
    assert_eq!(
        make_thumbnails(env.db(), blobs.as_ref(), 20)
            .await
            .expect("a second pass"),
        0,
        "each photo is done once"
    );

    let removed = sweep_orphans(env.db(), blobs.as_ref(), ORPHAN_AFTER)
        .await
        .expect("a sweep");
    assert_eq!(removed, 1);
    assert_eq!(keys(&mut owner, &old_orphan).await, None, "its row is gone");
    let old_key = format!("{}/attachments/{old_orphan}.jpg", fx.tenant);
    assert!(!exists(blobs.as_ref(), &old_key).await, "its file is gone");
    let old_thumbnail = format!("{}/thumbnails/{old_orphan}.jpg", fx.tenant);
    assert!(
        !exists(blobs.as_ref(), &old_thumbnail).await,
        "its thumbnail is gone too"
    );
    for (id, what) in [
        (&attached, "an old upload that a report claimed"),
        (&voice, "a voice note that a report claimed"),
        (&fresh_orphan, "an unclaimed upload less than a day old"),
    ] {
        let (key, thumbnail) = keys(&mut owner, id)
            .await
            .unwrap_or_else(|| panic!("{what} keeps its row"));
        assert!(exists(blobs.as_ref(), &key).await, "{what} keeps its file");
        if let Some(thumbnail) = thumbnail {
            assert!(
                exists(blobs.as_ref(), &thumbnail).await,
                "{what} keeps its thumbnail"
            );
        }
    }
    assert_eq!(
        sweep_orphans(env.db(), blobs.as_ref(), ORPHAN_AFTER)
            .await
            .expect("another sweep"),
        0
    );
}

/// A photo from a phone that saves HEIC (every iPhone by default): no browser shows
/// the file itself, so its JPEG thumbnail is what staff see first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heic_photo_gets_a_jpeg_thumbnail() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "hkheic").await;
    let app = TestApp::monolith(&env).await;
    // Red above, blue below, 600×900: a grid of tiles with a preview, as phones write.
    let (w, h) = (600u32, 900u32);
    let pixels: Vec<u8> = (0..h)
        .flat_map(|y| {
            let px = if y < h / 2 {
                [220, 20, 20]
            } else {
                [20, 20, 220]
            };
            (0..w).flat_map(move |_| px)
        })
        .collect();
    let heic = heifer::encode_rgb8(w, h, &pixels, &Default::default()).expect("a HEIC");
    let photo = upload_ok(
        &app.intake,
        &fx.qr_token,
        heic,
        "IMG_0001.HEIC",
        "image/heic",
    )
    .await;
    let mut body = report(&fx.qr_token, "垃圾堆在河边");
    body["attachment_ids"] = json!([photo]);
    post_report(&app.intake, &body, None).await.expect(201);
    let blobs = app.blobs.clone();
    app.stop().await;

    let made = make_thumbnails(env.db(), blobs.as_ref(), 20)
        .await
        .expect("a thumbnail pass");
    assert_eq!(made, 1);
    let mut owner = env.database.owner().await;
    let (original, thumbnail) = keys(&mut owner, &photo).await.expect("the row");
    assert!(
        original.ends_with(".heic"),
        "the original is kept: {original}"
    );
    let thumbnail = thumbnail.expect("a thumbnail key");
    let bytes = blobs
        .get_bytes(&BlobKey::parse(&thumbnail).expect("a key"))
        .await
        .expect("the thumbnail is stored");
    let small = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
        .expect("a JPEG thumbnail")
        .to_rgb8();
    assert_eq!(small.dimensions(), (213, 320));
    let (top, bottom) = (small.get_pixel(106, 20), small.get_pixel(106, 300));
    assert!(top[0] > 150 && top[2] < 100, "red above: {top:?}");
    assert!(bottom[2] > 150 && bottom[0] < 100, "blue below: {bottom:?}");
}
