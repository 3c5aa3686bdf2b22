//! Import and export over HTTP: a township's own file round-trips; a bad file is
//! refused whole, with its rows named; only administrators may use it.

use mashang_tests::{PASSWORD, TestApp, TestEnv, seed_tenant};
use reqwest::multipart::{Form, Part};

fn file(name: &str, bytes: Vec<u8>) -> Form {
    Form::new().part("file", Part::bytes(bytes).file_name(name.to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_township_imports_exports_and_reimports_its_directory() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "imp").await;
    let app = TestApp::monolith(&env).await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;

    let csv = "表,编码,名称,类型,上级编码,姓名,手机号,角色,所在节点编码\n\
               网格,imp-v2,河东村,村,imp,,,,\n\
               网格,imp-v2-g1,河东一组,网格,imp-v2,,,,\n\
               人员,,,,,钱多多,13700001111,网格员,imp-v2-g1\n\
               人员,,,,,钱多多,13700001111,网格长,imp-v2\n";
    // A dry run says what would change and changes nothing.
    let dry = admin
        .post_multipart(
            "/api/v1/admin/import?dry_run=true",
            file("roster.csv", csv.as_bytes().to_vec()),
        )
        .await
        .expect(200);
    assert_eq!(dry.body["nodes"]["created"], 2);
    assert_eq!(dry.body["people"]["created"], 1);
    let tree = admin.get("/api/v1/admin/grid").await.expect(200).body;
    assert_eq!(tree["nodes"].as_array().map(Vec::len), Some(3));
    // The real import, then the same file again: nothing more.
    admin
        .post_multipart(
            "/api/v1/admin/import",
            file("roster.csv", csv.as_bytes().to_vec()),
        )
        .await
        .expect(200);
    let again = admin
        .post_multipart(
            "/api/v1/admin/import",
            file("roster.csv", csv.as_bytes().to_vec()),
        )
        .await
        .expect(200);
    assert_eq!(again.body["nodes"]["created"], 0);
    assert_eq!(again.body["people"]["updated"], 0);
    let tree = admin.get("/api/v1/admin/grid").await.expect(200).body;
    assert_eq!(tree["nodes"].as_array().map(Vec::len), Some(5));

    // Export as XLSX and import that: no change at all.
    let xlsx = admin
        .http
        .get(admin.url("/api/v1/admin/export.xlsx"))
        .send()
        .await
        .expect("GET");
    assert_eq!(xlsx.status(), 200);
    let xlsx = xlsx.bytes().await.expect("bytes").to_vec();
    assert!(xlsx.starts_with(b"PK"));
    let back = admin
        .post_multipart("/api/v1/admin/import", file("export.xlsx", xlsx))
        .await
        .expect(200);
    assert_eq!(back.body["nodes"]["created"], 0);
    assert_eq!(back.body["nodes"]["updated"], 0);
    assert_eq!(back.body["people"]["created"], 0);
    assert_eq!(back.body["people"]["updated"], 0);
    for path in [
        "/api/v1/admin/import-template.xlsx",
        "/api/v1/admin/import-template.csv",
        "/api/v1/admin/export.csv",
    ] {
        let r = admin.http.get(admin.url(path)).send().await.expect("GET");
        assert_eq!(r.status(), 200, "{path}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_file_is_refused_whole_with_every_row_error() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "bad").await;
    let app = TestApp::monolith(&env).await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    let csv = "表,编码,名称,类型,上级编码,姓名,手机号,角色,所在节点编码\n\
               网格,bad-v2,新村,村,bad,,,,\n\
               网格,bad-v3,无主村,村,nowhere,,,,\n\
               人员,,,,,孙五,12345,网格员,bad-v2\n\
               人员,,,,,赵六,13700002222,村长,bad-v2\n";
    let refused = admin
        .post_multipart(
            "/api/v1/admin/import",
            file("bad.csv", csv.as_bytes().to_vec()),
        )
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.content_type, "application/problem+json");
    let rows: Vec<u64> = refused.body["row_errors"]
        .as_array()
        .expect("row errors")
        .iter()
        .filter_map(|e| e["row"].as_u64())
        .collect();
    assert_eq!(rows, [3, 4, 5], "{}", refused.body);
    let tree = admin.get("/api/v1/admin/grid").await.expect(200).body;
    assert_eq!(
        tree["nodes"].as_array().map(Vec::len),
        Some(3),
        "nothing was written"
    );
    // The same file as Excel on a Chinese Windows saves plain "CSV" (GBK): read, and
    // refused for the same rows.
    let r = admin
        .post_multipart("/api/v1/admin/import", file("gbk.csv", encoding_gbk(csv)))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let gbk_rows: Vec<u64> = r.body["row_errors"]
        .as_array()
        .expect("row errors")
        .iter()
        .filter_map(|e| e["row"].as_u64())
        .collect();
    assert_eq!(gbk_rows, rows, "{}", r.body);
    // A good GBK file imports, its Chinese names intact.
    let good = "表,编码,名称,类型,上级编码,姓名,手机号,角色,所在节点编码\n\
                网格,bad-v2,新村,村,bad,,,,\n";
    admin
        .post_multipart("/api/v1/admin/import", file("good.csv", encoding_gbk(good)))
        .await
        .expect(200);
    let tree = admin.get("/api/v1/admin/grid").await.expect(200).body;
    assert!(tree.to_string().contains("新村"), "{tree}");
    // Something that is not a spreadsheet, and an oversized file.
    admin
        .post_multipart(
            "/api/v1/admin/import",
            file("photo.jpg", b"\xFF\xD8\xFF\xE0\x00\x10JFIF".to_vec()),
        )
        .await
        .expect(415);
    admin
        .post_multipart(
            "/api/v1/admin/import",
            file("huge.csv", vec![b'a'; 6 * 1024 * 1024]),
        )
        .await
        .expect(413);
    // Only administrators import.
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;
    centre
        .post_multipart(
            "/api/v1/admin/import",
            file("x.csv", csv.as_bytes().to_vec()),
        )
        .await
        .expect_problem(403);
    centre
        .get("/api/v1/admin/export.xlsx")
        .await
        .expect_problem(403);
    app.stop().await;
}

/// A GBK encoding of `text`, as Excel on Chinese Windows writes "CSV".
fn encoding_gbk(text: &str) -> Vec<u8> {
    let (bytes, _, _) = encoding_rs::GBK.encode(text);
    bytes.into_owned()
}
