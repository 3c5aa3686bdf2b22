//! Staff photos of the measures: uploaded with a session to a case the person works,
//! checked by content and size, named by the resolution, and shown to staff.

use std::time::Duration;

use mashang_tests::client::Client;
use mashang_tests::intake::{post_report, report};
use mashang_tests::photo::jpeg;
use mashang_tests::{PASSWORD, TestApp, TestEnv, eventually, seed_tenant};
use reqwest::multipart::{Form, Part};
use serde_json::json;

async fn upload(
    client: &Client,
    case: &str,
    bytes: Vec<u8>,
    mime: &str,
) -> mashang_tests::client::Reply {
    let part = Part::bytes(bytes)
        .file_name("measures.jpg")
        .mime_str(mime)
        .expect("a MIME type");
    client
        .post_multipart(
            &format!("/api/v1/cases/{case}/attachments"),
            Form::new().part("file", part),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_resolves_with_photos_they_took_and_no_one_elses() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "photos").await;
    let other = seed_tenant(env.db(), "elsewhere").await;
    let app = TestApp::monolith(&env).await;
    post_report(&app.intake, &report(&fx.qr_token, "水渠堵了"), None)
        .await
        .expect(201);
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let case = eventually("the case", Duration::from_secs(30), || async {
        let list = worker.get("/api/v1/cases?mine=true").await.expect(200).body;
        list["cases"][0]["id"].as_str().map(str::to_owned)
    })
    .await;

    // A photo goes in; what is not a photo, or is too large, does not.
    let photo = jpeg(40_000, 3);
    let uploaded = upload(&worker, &case, photo.clone(), "image/jpeg")
        .await
        .expect(201)
        .body;
    let photo_id = uploaded["id"].as_str().expect("an id").to_owned();
    assert_eq!(uploaded["content_type"], "image/jpeg");
    upload(
        &worker,
        &case,
        b"just some text, not a photo".to_vec(),
        "image/jpeg",
    )
    .await
    .expect_problem(415);
    upload(&worker, &case, jpeg(10 * 1024 * 1024 + 1, 4), "image/jpeg")
        .await
        .expect_problem(413);
    let fields = worker
        .post_multipart(
            &format!("/api/v1/cases/{case}/attachments"),
            Form::new().text("note", "x"),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["file"]);
    // Another township's staff cannot even find the case.
    let stranger = app.routing.signed_in(&other.logins.worker, PASSWORD).await;
    upload(&stranger, &case, jpeg(20_000, 5), "image/jpeg")
        .await
        .expect_problem(404);

    // The resolution may name the worker's own photo of this case, and nothing else.
    let path = |a: &str| format!("/api/v1/cases/{case}/{a}");
    worker
        .post_json(
            &path("acknowledge"),
            &json!({"contacted_at": chrono::Utc::now(), "method": "phone", "summary": "已电话联系"}),
        )
        .await
        .expect(200);
    worker
        .post_json(&path("start"), &json!({}))
        .await
        .expect(200);
    let stray = uuid::Uuid::now_v7().to_string();
    let fields = worker
        .post_json(
            &path("resolve"),
            &json!({"measures": "已疏通水渠", "photos": [photo_id, stray]}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["photos"]);
    let resolved = worker
        .post_json(
            &path("resolve"),
            &json!({"measures": "已疏通水渠", "photos": [photo_id]}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(resolved["state"], "resolved");

    // Staff open the photo; it is the one uploaded.
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;
    let shown = centre
        .http
        .get(centre.url(&format!("/api/v1/cases/{case}/attachments/{photo_id}")))
        .send()
        .await
        .expect("GET");
    assert_eq!(shown.status(), 200);
    assert_eq!(shown.headers()["content-type"], "image/jpeg");
    assert_eq!(shown.bytes().await.expect("bytes").len(), photo.len());
    app.stop().await;
}
