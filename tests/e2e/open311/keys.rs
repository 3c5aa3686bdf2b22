//! Keys issued and revoked, by the API and on the administrator's page.

use super::*;

#[tokio::test]
async fn revoked_keys_are_refused_and_requests_keep_their_integration() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "miyao").await;
    let app = TestApp::monolith(&env).await;
    let admin = admin(&app, &fx).await;
    let (hotline_id, hotline) = issue(&admin, "12345热线").await;
    let (county_id, county) = issue(&admin, "县平台").await;
    assert_ne!(hotline, county);
    assert!(hotline.starts_with("mso_"));

    let a = file(&app, &hotline, &[]).await.expect(201).json()[0]["service_request_id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let b = file(&app, &county, &[]).await.expect(201).json()[0]["service_request_id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let mut owner = env.database.owner().await;
    for (number, key_id) in [(&a, &hotline_id), (&b, &county_id)] {
        let (attributed,): (uuid::Uuid,) = sqlx::query_as(
            "SELECT o.key_id FROM intake.open311_requests o JOIN intake.reports r ON r.id = o.report_id \
             WHERE r.tracking_number = $1",
        )
        .bind(number)
        .fetch_one(&mut owner)
        .await
        .expect("an attribution");
        assert_eq!(&attributed.to_string(), key_id);
    }

    // The list names both, shows no key, and only to the administrator.
    let listed = admin.get("/api/v1/admin/open311-keys").await.expect(200);
    let text = listed.body.to_string();
    assert!(!text.contains(&hotline) && !text.contains(&county) && !text.contains("key_hash"));
    assert_eq!(listed.body.as_array().map(Vec::len), Some(2));
    assert!(
        listed
            .body
            .as_array()
            .expect("a list")
            .iter()
            .any(|k| k["last_used_at"].is_string())
    );
    let worker = app
        .routing
        .signed_in(&fx.logins.worker, mashang_tests::PASSWORD)
        .await;
    worker
        .get("/api/v1/admin/open311-keys")
        .await
        .expect_problem(403);
    worker
        .post_json("/api/v1/admin/open311-keys", &json!({"name": "x"}))
        .await
        .expect_problem(403);
    admin
        .post_json("/api/v1/admin/open311-keys", &json!({"name": ""}))
        .await
        .expect_problem(422);
    admin
        .post_json(
            "/api/v1/admin/open311-keys",
            &json!({"name": "名".repeat(61)}),
        )
        .await
        .expect_problem(422);

    // Revoked: refused at once for filing and reading; the other key still works, and
    // the revoked key's requests keep naming it.
    let revoked = admin
        .http
        .delete(admin.url(&format!("/api/v1/admin/open311-keys/{hotline_id}")))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(revoked.status(), 204);
    assert_errors(&file(&app, &hotline, &[]).await, 403);
    assert_errors(
        &get(
            &app.intake,
            &format!("/open311/v2/requests/{a}.json?api_key={hotline}"),
        )
        .await,
        403,
    );
    get(
        &app.intake,
        &format!("/open311/v2/requests/{a}.json?api_key={county}"),
    )
    .await
    .expect(200);
    file(&app, &county, &[]).await.expect(201);
    let listed = admin
        .get("/api/v1/admin/open311-keys")
        .await
        .expect(200)
        .body;
    let revoked = listed
        .as_array()
        .expect("a list")
        .iter()
        .find(|k| k["id"] == hotline_id.as_str())
        .expect("the revoked key");
    assert!(revoked["revoked_at"].is_string());
    // Issuing and revoking are in the township's change log, the hash hidden.
    let log = admin
        .get("/api/v1/admin/audit?entity=open311_keys")
        .await
        .expect(200)
        .body;
    let entries = log["entries"].as_array().expect("entries");
    assert!(
        entries
            .iter()
            .any(|e| e["operation"] == "insert" && e["entity_key"] == "12345热线")
    );
    assert!(
        entries
            .iter()
            .any(|e| e["operation"] == "update" && e["entity_key"] == "12345热线")
    );
    assert!(!log.to_string().contains(&hotline));
    assert!(
        entries
            .iter()
            .all(|e| e["after"]["key_hash"] == "***" || e["after"].is_null())
    );
    let gone = admin
        .http
        .delete(admin.url(&format!(
            "/api/v1/admin/open311-keys/{}",
            uuid::Uuid::now_v7()
        )))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(gone.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn the_administrator_issues_and_revokes_keys_on_the_page() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "yemian").await;
    let app = TestApp::monolith(&env).await;
    let b = Browser::new(&app.routing.base);
    let login = b.get("/login").await.expect(200).csrf();
    b.post(
        "/login",
        &[
            ("_csrf", login.as_str()),
            ("login", fx.logins.admin.as_str()),
            ("password", mashang_tests::PASSWORD),
        ],
    )
    .await
    .see_other();
    let home = b.get("/admin").await.expect(200);
    assert!(home.has("/admin/open311-keys"));
    let page = b.get("/admin/open311-keys").await.expect(200);
    assert!(page.has("接口密钥") && page.has("还没有密钥"));
    let csrf = page.csrf();
    let refused = b
        .post(
            "/admin/open311-keys",
            &[("_csrf", csrf.as_str()), ("name", "  ")],
        )
        .await
        .expect(422);
    assert!(refused.has("没有生成"));
    let issued = b
        .post(
            "/admin/open311-keys",
            &[("_csrf", csrf.as_str()), ("name", "12345热线")],
        )
        .await
        .expect(200);
    assert!(issued.has("离开本页后不会再显示"));
    let key = issued
        .html
        .split("id=\"issued-key\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the key on the page")
        .to_owned();
    assert!(key.starts_with("mso_"));
    file(&app, &key, &[]).await.expect(201);
    // Shown once: the list has the name, never the key.
    let page = b.get("/admin/open311-keys").await.expect(200);
    assert!(page.has("12345热线") && !page.has(&key));
    let id = page
        .html
        .split("/admin/open311-keys/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("a revoke form")
        .to_owned();
    let back = b
        .post(
            &format!("/admin/open311-keys/{id}/revoke"),
            &[("_csrf", csrf.as_str())],
        )
        .await
        .see_other();
    assert_eq!(back, "/admin/open311-keys?ok=revoked");
    assert!(b.get(&back).await.expect(200).has("已停用"));
    assert_errors(&file(&app, &key, &[]).await, 403);
    // A grid worker may not open the page.
    let w = Browser::new(&app.routing.base);
    let login = w.get("/login").await.expect(200).csrf();
    w.post(
        "/login",
        &[
            ("_csrf", login.as_str()),
            ("login", fx.logins.worker.as_str()),
            ("password", mashang_tests::PASSWORD),
        ],
    )
    .await
    .see_other();
    w.get("/admin/open311-keys").await.expect(403);
    app.stop().await;
}
