//! The change log (操作记录): every change to a township's rules, people and settings,
//! and to townships, is recorded by the database with who made it, before and after;
//! the township's administrator reads their township's, the county every township's;
//! secrets never appear; nobody rewrites it.

use mashang_domain::role::Role;
use mashang_tests::browser::Browser;
use mashang_tests::{PASSWORD, TestApp, TestEnv, seed_tenant};
use serde_json::json;

async fn sign_in(base: &str, login: &str, password: &str) -> Browser {
    let b = Browser::new(base);
    let token = b.get("/login").await.expect(200).csrf();
    b.post(
        "/login",
        &[("_csrf", &token), ("login", login), ("password", password)],
    )
    .await
    .see_other();
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_are_recorded_with_who_before_and_after_and_shown_to_who_may_see_them() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "clog").await;
    let other = seed_tenant(env.db(), "clogb").await;
    let app = TestApp::monolith(&env).await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;

    // A category renamed through the API: one entry naming the administrator, with the
    // changed column before and after.
    let roads = admin.get("/api/v1/admin/categories").await.expect(200).body;
    let before = roads
        .as_array()
        .and_then(|all| all.iter().find(|c| c["code"] == "roads"))
        .expect("the roads category")
        .clone();
    admin
        .put_json(
            "/api/v1/admin/categories/roads",
            &json!({"name_zh": "道路养护", "name_en": "Road upkeep"}),
        )
        .await
        .expect(200);
    let log = admin
        .get("/api/v1/admin/audit?entity=categories")
        .await
        .expect(200)
        .body;
    let entry = &log["entries"][0];
    assert_eq!(entry["actor_kind"], "staff", "{log}");
    assert_eq!(entry["actor_id"], fx.admin.to_string());
    assert_eq!(entry["operation"], "update");
    assert_eq!(entry["entity_key"], "roads");
    assert_eq!(entry["before"]["name_zh"], before["name_zh"]);
    assert_eq!(entry["after"]["name_zh"], "道路养护");
    assert!(
        entry["changed"]
            .as_array()
            .is_some_and(|c| c.contains(&json!("name_zh")) && c.contains(&json!("name_en"))),
        "{entry}"
    );
    // The same change again changes nothing and records nothing.
    admin
        .put_json(
            "/api/v1/admin/categories/roads",
            &json!({"name_zh": "道路养护", "name_en": "Road upkeep"}),
        )
        .await
        .expect(200);
    let again = admin
        .get("/api/v1/admin/audit?entity=categories")
        .await
        .expect(200)
        .body;
    assert_eq!(again["entries"][0]["id"], entry["id"]);

    // The page shows it in words.
    let page = sign_in(&app.routing.base, &fx.logins.admin, PASSWORD).await;
    let shown = page.get("/admin/audit").await.expect(200);
    assert!(shown.has("操作记录"));
    assert!(shown.has("类别") && shown.has("道路养护"), "{}", shown.html);
    assert!(shown.has(r#"href="/admin/audit""#), "the header links it");
    let refused = page.get("/admin/audit?from=2026-13-40").await.expect(422);
    assert!(refused.has("2026-12-01"));

    // A person given a new password: the log says the password changed, never its hash.
    let reset = admin
        .post_json(
            &format!("/api/v1/admin/people/{}/reset-code", fx.worker),
            &json!({}),
        )
        .await
        .expect(200);
    let code = reset.body["code"].as_str().expect("a code").to_owned();
    app.routing
        .post_json(
            "/api/v1/auth/reset",
            &json!({"login": fx.logins.worker, "code": code, "new_password": "a-new-password-1"}),
        )
        .await
        .expect(204);
    let people = admin
        .get("/api/v1/admin/audit?entity=staff_users")
        .await
        .expect(200)
        .body;
    let text = people.to_string();
    assert!(
        text.contains("password_hash") && text.contains("***"),
        "{text}"
    );
    assert!(!text.contains("$argon2"), "no hash in the log: {text}");
    let codes = admin
        .get("/api/v1/admin/audit?entity=reset_codes")
        .await
        .expect(200)
        .body;
    let issued = codes["entries"]
        .as_array()
        .and_then(|e| e.iter().find(|x| x["operation"] == "insert"))
        .expect("the code's issue");
    assert_eq!(issued["after"]["code_hash"], "***", "{codes}");
    assert_eq!(issued["actor_id"], fx.admin.to_string());

    // The county suspends and resumes the township: recorded with the county's name,
    // seen by the township and by the county, who sees every township's.
    let county = mashang_tests::county_user(
        env.db(),
        &app.routing,
        "县管理员",
        "13600000001",
        &[Role::CountyAdmin],
    )
    .await;
    county
        .post_json(
            &format!("/api/v1/county/tenants/{}/suspend", other.code),
            &json!({}),
        )
        .await
        .expect(200);
    county
        .post_json(
            &format!("/api/v1/county/tenants/{}/resume", other.code),
            &json!({}),
        )
        .await
        .expect(200);
    let all = county
        .get("/api/v1/county/audit?entity=tenants")
        .await
        .expect(200)
        .body;
    let suspensions: Vec<_> = all["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["actor_kind"] == "county" && e["township"] == other.code.as_str())
        .collect();
    assert_eq!(suspensions.len(), 2, "{all}");
    assert_eq!(suspensions[0]["after"]["status"], "active");
    assert_eq!(suspensions[1]["after"]["status"], "suspended");
    let mixed = county.get("/api/v1/county/audit").await.expect(200).body;
    let townships: std::collections::HashSet<_> = mixed["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["township"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        townships.contains(&fx.code) && townships.contains(&other.code),
        "{townships:?}"
    );
    let one = county
        .get(&format!(
            "/api/v1/county/audit?township={}&limit=5",
            fx.code
        ))
        .await
        .expect(200)
        .body;
    assert!(
        one["entries"]
            .as_array()
            .is_some_and(|e| e.len() == 5 && e.iter().all(|x| x["township"] == fx.code.as_str()))
    );
    assert!(one["next_cursor"].is_string(), "more than five: {one}");
    let older = county
        .get(&format!(
            "/api/v1/county/audit?township={}&limit=5&cursor={}",
            fx.code,
            one["next_cursor"].as_str().expect("a cursor")
        ))
        .await
        .expect(200)
        .body;
    assert_ne!(older["entries"][0]["id"], one["entries"][0]["id"]);

    // The other township's administrator sees their own suspension, not our rename.
    let theirs = app.routing.signed_in(&other.logins.admin, PASSWORD).await;
    let log = theirs
        .get("/api/v1/admin/audit")
        .await
        .expect(200)
        .body
        .to_string();
    assert!(
        log.contains("suspended") && !log.contains("道路养护"),
        "{log}"
    );

    // Who may not: a grid worker, a township on the county's log, the county on a
    // township's.
    let worker = app
        .routing
        .signed_in(&fx.logins.worker, "a-new-password-1")
        .await;
    worker.get("/api/v1/admin/audit").await.expect(403);
    admin.get("/api/v1/county/audit").await.expect(403);
    county.get("/api/v1/admin/audit").await.expect(403);
    let worker_page = sign_in(&app.routing.base, &fx.logins.worker, "a-new-password-1").await;
    assert_eq!(worker_page.get("/admin/audit").await.status.as_u16(), 403);
    assert!(
        !worker_page
            .get("/console")
            .await
            .expect(200)
            .has("操作记录")
    );

    // Nobody rewrites it: the application role may only read.
    let mut tx = env.db().global().await.expect("a transaction");
    let denied = sqlx::query("DELETE FROM routing.change_log")
        .execute(&mut *tx)
        .await
        .expect_err("the application role may not delete");
    assert!(denied.to_string().contains("permission denied"), "{denied}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_county_reads_every_townships_log_on_its_page() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "clogc").await;
    let app = TestApp::monolith(&env).await;
    mashang_tests::county_user(
        env.db(),
        &app.routing,
        "县中心",
        "13600000002",
        &[Role::CountyCentre],
    )
    .await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    admin
        .put_json(
            "/api/v1/admin/categories/roads",
            &json!({"name_zh": "乡村道路", "name_en": "Village roads"}),
        )
        .await
        .expect(200);
    let b = Browser::new(&app.routing.base);
    let token = b.get("/login").await.expect(200).csrf();
    b.post(
        "/login",
        &[
            ("_csrf", &token),
            ("login", "13600000002"),
            ("password", PASSWORD),
        ],
    )
    .await
    .see_other();
    let page = b
        .get(&format!(
            "/county/audit?township={}&entity=categories",
            fx.code
        ))
        .await
        .expect(200);
    assert!(page.has("乡村道路"), "{}", page.html);
    assert!(page.has(r#"href="/county/audit""#));
    b.get("/admin/audit").await.expect(403);
    app.stop().await;
}
