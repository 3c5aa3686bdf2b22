//! Bad input: clear problem+json errors, and nothing stored.

use mashang_tests::photo::jpeg;
use mashang_tests::{TestApp, TestEnv, seed_tenant};
use reqwest::multipart::{Form, Part};
use serde_json::json;

fn form(token: &str) -> Form {
    Form::new()
        .text("qr_token", token.to_owned())
        .text("category", "roads")
        .text("description", "路面塌陷")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_reports_are_refused_with_problems_and_leave_nothing_behind() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "bad").await;
    let app = TestApp::monolith(&env).await;
    let c = &app.intake;
    let t = fx.qr_token.as_str();

    // Unknown QR token.
    c.post_json(
        "/api/v1/reports",
        &json!({"qr_token": "no-such-token", "category": "roads", "description": "x"}),
    )
    .await
    .expect_problem(404);
    // Missing fields: every one named.
    let fields = c
        .post_json("/api/v1/reports", &json!({}))
        .await
        .expect_problem(422);
    assert_eq!(fields, ["qr_token", "category", "description"]);
    // Wrong types, invalid values.
    let fields = c
        .post_json(
            "/api/v1/reports",
            &json!({"qr_token": t, "category": "roads", "description": "x", "lat": "north"}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["lat"]);
    let fields = c
        .post_json("/api/v1/reports", &json!({"qr_token": t, "category": "roads", "description": "x", "contact_phone": "12345"}))
        .await
        .expect_problem(422);
    assert_eq!(fields, ["contact_phone"]);
    let fields = c
        .post_json(
            "/api/v1/reports",
            &json!({"qr_token": t, "category": "weather", "description": "x"}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["category"]);
    // Malformed JSON; a body that is neither JSON nor multipart.
    c.post_raw(
        "/api/v1/reports",
        "application/json",
        b"{\"qr_token\": ".to_vec(),
    )
    .await
    .expect_problem(400);
    c.post_raw("/api/v1/reports", "text/plain", b"hello".to_vec())
        .await
        .expect_problem(415);
    // A "photo" that is not an image, whatever its name and declared type say.
    let fake = Part::bytes(b"MZ\x90\x00this is a program, not a photo".to_vec())
        .file_name("photo.jpg")
        .mime_str("image/jpeg")
        .expect("a MIME type");
    c.post_multipart("/api/v1/reports", form(t).part("photo", fake))
        .await
        .expect_problem(415);
    // An oversized photo (the limit is 10 MB).
    let big = Part::bytes(jpeg(10 * 1024 * 1024 + 1, 3)).file_name("big.jpg");
    c.post_multipart("/api/v1/reports", form(t).part("photo", big))
        .await
        .expect_problem(413);
    // Too many photos.
    let mut many = form(t);
    for i in 0..10 {
        many = many.part(
            "photo",
            Part::bytes(jpeg(1_000, i)).file_name(format!("{i}.jpg")),
        );
    }
    let fields = c
        .post_multipart("/api/v1/reports", many)
        .await
        .expect_problem(422);
    assert_eq!(fields, ["photo"]);
    // Staff endpoints without the operator token.
    c.get(&format!(
        "/api/v1/cases/{}?tenant_id={}",
        uuid::Uuid::nil(),
        fx.tenant
    ))
    .await
    .expect_problem(401);
    // A status link with a wrong secret is "not found", like an unknown number.
    c.get_json_url(&c.url("/r/BAD-20261126-0001?s=guess"))
        .await
        .expect_problem(404);

    let mut owner = env.database.owner().await;
    for table in [
        "intake.reports",
        "intake.attachments",
        "intake.outbox",
        "intake.tracking_numbers",
    ] {
        let (n,): (i64,) =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(&mut owner)
                .await
                .expect("counting");
        assert_eq!(n, 0, "{table} must stay empty");
    }
    let stored = walk(&env.dir.path().join("blobs"));
    assert!(stored.is_empty(), "no file may be stored: {stored:?}");
    app.stop().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_landing_page_names_the_grid_and_explains_an_unknown_code() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "land").await;
    let app = TestApp::monolith(&env).await;
    let page = app
        .intake
        .get(&format!("/q/{}", fx.qr_token))
        .await
        .expect(200);
    let html = page.body.as_str().expect("HTML").to_owned();
    assert!(
        html.contains("land镇") && html.contains("新庄村") && html.contains("第一网格"),
        "{html}"
    );
    assert!(html.contains("矛盾纠纷"), "categories are listed");
    let missing = app.intake.get("/q/unknown-token").await.expect(404);
    assert!(
        missing
            .body
            .as_str()
            .is_some_and(|h| h.contains("二维码无效"))
    );
    let json = app
        .intake
        .get(&format!("/api/v1/qr/{}", fx.qr_token))
        .await
        .expect(200)
        .body;
    assert_eq!(json["tenant"]["code"], "land");
    assert_eq!(json["node"]["code"], "land-v1-g1");
    assert_eq!(json["categories"].as_array().map(Vec::len), Some(8));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_post_keeps_what_was_typed_when_refused_and_redirects_to_status_when_sent() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "form").await;
    let app = TestApp::monolith(&env).await;
    let path = format!("/q/{}", fx.qr_token);
    let refused = Form::new()
        .text("category", "roads")
        .text("description", "桥上栏杆松了")
        .text("contact_phone", "1234");
    let page = app.intake.post_multipart(&path, refused).await.expect(422);
    let html = page.body.as_str().expect("HTML");
    assert!(
        html.contains("桥上栏杆松了") && html.contains("value=\"1234\""),
        "typed text is kept"
    );
    assert!(html.contains("11位手机号"), "the error is explained");
    let sent = Form::new()
        .text("category", "roads")
        .text("description", "桥上栏杆松了");
    let reply = app.intake.post_multipart(&path, sent).await.expect(303);
    let location = reply.headers["location"]
        .to_str()
        .expect("a location")
        .to_owned();
    assert!(
        location.starts_with("http://public.test/r/FORM-"),
        "{location}"
    );
    app.stop().await;
}
