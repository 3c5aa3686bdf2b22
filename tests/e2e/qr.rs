//! QR codes and posters: a downloaded code scans to its landing page; revoking tells
//! citizens it was replaced; posters cover the subtree; scans are counted.

use mashang_tests::{PASSWORD, TestApp, TestEnv, seed_tenant};
use serde_json::json;

/// Reads a QR code from a PNG with a real decoder.
fn scan(png_bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let (w, h) = (info.width as usize, info.height as usize);
    let pixel = |x: usize, y: usize| -> u8 {
        match info.bit_depth {
            png::BitDepth::One => {
                let row = &buf[y * info.line_size..];
                if row[x / 8] & (0x80 >> (x % 8)) != 0 {
                    255
                } else {
                    0
                }
            }
            _ => buf[y * info.line_size + x * info.color_type.samples()],
        }
    };
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, pixel);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().expect("a readable code").1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_codes_scan_to_their_landing_page_and_can_be_replaced() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "qrt").await;
    let app = TestApp::monolith(&env).await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    mashang_routing::directory::tenants::set_contact(env.db(), fx.tenant, Some("029-86001234"))
        .await
        .expect("a contact");

    // Two citizens open the page; the list counts the scans.
    app.intake
        .get(&format!("/q/{}", fx.qr_token))
        .await
        .expect(200);
    app.intake
        .get(&format!("/q/{}", fx.qr_token))
        .await
        .expect(200);
    let codes = admin.get("/api/v1/admin/qr-codes").await.expect(200).body;
    let code = &codes.as_array().expect("a list")[0];
    assert_eq!(code["scans"], 2);
    let url = code["url"].as_str().expect("a URL").to_owned();
    assert_eq!(url, format!("http://public.test/q/{}", fx.qr_token));
    let id = code["id"].as_str().expect("an id").to_owned();

    // The PNG scans back to the landing URL; the SVG is served too.
    let png_reply = admin
        .http
        .get(admin.url(&format!("/api/v1/admin/qr-codes/{id}.png")))
        .send()
        .await
        .expect("GET");
    assert_eq!(png_reply.status(), 200);
    assert_eq!(png_reply.headers()["content-type"], "image/png");
    let png_bytes = png_reply.bytes().await.expect("bytes");
    assert_eq!(scan(&png_bytes), url);
    let svg = admin
        .get(&format!("/api/v1/admin/qr-codes/{id}.svg"))
        .await
        .expect(200);
    assert!(svg.body.as_str().is_some_and(|s| s.starts_with("<svg")));
    admin
        .get(&format!("/api/v1/admin/qr-codes/{id}.gif"))
        .await
        .expect_problem(404);

    // Posters: one per grid with a code, as a print page and a PDF.
    let page = admin
        .get("/api/v1/admin/posters?format=html")
        .await
        .expect(200);
    let html = page.body.as_str().expect("HTML");
    assert_eq!(html.matches("class=\"poster\"").count(), 1);
    assert!(html.contains("第一网格") && html.contains("新庄村") && html.contains("码上反映"));
    let pdf = admin
        .http
        .get(admin.url("/api/v1/admin/posters?format=pdf"))
        .send()
        .await
        .expect("GET");
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.expect("bytes").starts_with(b"%PDF-1."));

    // Revoke with a replacement: the old code tells citizens so, with the contact.
    let revoked = admin
        .post_json(
            &format!("/api/v1/admin/qr-codes/{id}/revoke"),
            &json!({"reissue": true}),
        )
        .await
        .expect(200)
        .body;
    let new_url = revoked["replacement"]["url"]
        .as_str()
        .expect("a new code")
        .to_owned();
    assert_ne!(new_url, url);
    let old = app
        .intake
        .get(&format!("/q/{}", fx.qr_token))
        .await
        .expect(410);
    let html = old.body.as_str().expect("HTML");
    assert!(
        html.contains("已更换") && html.contains("029-86001234"),
        "{html}"
    );
    let new_token = new_url.rsplit('/').next().expect("a token");
    app.intake.get(&format!("/q/{new_token}")).await.expect(200);
    app.intake
        .post_json(
            "/api/v1/reports",
            &json!({"qr_token": fx.qr_token, "category": "roads", "description": "x"}),
        )
        .await
        .expect_problem(410);

    // Grids without a code get one on request.
    admin
        .post_json("/api/v1/admin/grid/nodes", &json!({"parent_id": fx.village, "kind": "grid", "code": "qrt-v1-g2", "name": "第二网格"}))
        .await
        .expect(201);
    let issued = admin
        .post_json("/api/v1/admin/qr-codes/issue-missing", &json!({}))
        .await
        .expect(200);
    assert_eq!(issued.body["issued"], 1);
    let page = admin.get("/api/v1/admin/posters").await.expect(200);
    assert_eq!(
        page.body
            .as_str()
            .expect("HTML")
            .matches("class=\"poster\"")
            .count(),
        2
    );

    // A grid worker may not print; another township's code is not found.
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    worker
        .get(&format!("/api/v1/admin/qr-codes/{id}.png"))
        .await
        .expect_problem(403);
    let other = seed_tenant(env.db(), "qrother").await;
    let other_admin = app.routing.signed_in(&other.logins.admin, PASSWORD).await;
    other_admin
        .get(&format!("/api/v1/admin/qr-codes/{id}.png"))
        .await
        .expect_problem(404);
    other_admin
        .post_json(&format!("/api/v1/admin/qr-codes/{id}/revoke"), &json!({}))
        .await
        .expect_problem(404);
    app.stop().await;
}
