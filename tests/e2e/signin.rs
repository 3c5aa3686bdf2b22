//! Staff sign-in: cookies and tokens, throttling, CSRF, reset codes, API tokens, and
//! suspended townships.

use mashang_domain::role::Role;
use mashang_tests::{Client, PASSWORD, TestApp, TestEnv, seed_tenant};
use serde_json::json;

fn cookie_client(base: &str) -> reqwest::Client {
    let _ = base;
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_gives_a_safe_cookie_and_a_token_and_sign_out_ends_both() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "signin").await;
    let app = TestApp::monolith(&env).await;
    let c = &app.routing;
    let reply = c
        .post_json(
            "/api/v1/auth/login",
            &json!({"login": fx.logins.admin, "password": PASSWORD}),
        )
        .await
        .expect(200);
    let cookie = reply.headers["set-cookie"]
        .to_str()
        .expect("a cookie")
        .to_owned();
    assert!(cookie.starts_with("mashang_session=mss_"), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    assert!(!cookie.contains("Secure"), "plain HTTP: no Secure flag");
    assert_eq!(
        reply.body["principal"]["roles"][0]["role"],
        "township_admin"
    );
    let token = reply.body["token"].as_str().expect("a token").to_owned();
    let admin = c.with_bearer(&token);
    let me = admin.get("/api/v1/auth/me").await.expect(200);
    assert_eq!(me.body["principal"]["tenant"], fx.tenant.to_string());

    // A username is a second sign-in name; phone numbers may be written as people do.
    let person = admin
        .get(&format!("/api/v1/admin/people/{}", fx.worker))
        .await
        .expect(200)
        .body;
    admin
        .patch_json(
            &format!("/api/v1/admin/people/{}", fx.worker),
            &json!({"name": person["name"], "phone": person["phone"], "username": "Wang.Wei", "roles": person["roles"]}),
        )
        .await
        .expect(200);
    c.post_json(
        "/api/v1/auth/login",
        &json!({"login": "wang.wei", "password": PASSWORD}),
    )
    .await
    .expect(200);
    let spaced = format!("+86 {}", fx.logins.worker);
    c.post_json(
        "/api/v1/auth/login",
        &json!({"login": spaced, "password": PASSWORD}),
    )
    .await
    .expect(200);

    admin
        .post_json("/api/v1/auth/logout", &json!({}))
        .await
        .expect(204);
    admin.get("/api/v1/auth/me").await.expect_problem(401);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_slow_the_account_and_throttle_the_address() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "throttle").await;
    let app = TestApp::monolith(&env).await;
    let c = &app.routing;
    // Wrong passwords and unknown logins answer alike.
    let wrong = c
        .post_json(
            "/api/v1/auth/login",
            &json!({"login": fx.logins.worker, "password": "wrong-password"}),
        )
        .await;
    let unknown = c
        .post_json(
            "/api/v1/auth/login",
            &json!({"login": "13000000000", "password": "wrong-password"}),
        )
        .await;
    assert_eq!(wrong.body, unknown.body);
    wrong.expect_problem(401);
    for _ in 0..4 {
        c.post_json(
            "/api/v1/auth/login",
            &json!({"login": fx.logins.worker, "password": "wrong-password"}),
        )
        .await
        .expect_problem(401);
    }
    // The account is slowed down, never shut: the right password still signs in.
    c.post_json(
        "/api/v1/auth/login",
        &json!({"login": fx.logins.worker, "password": PASSWORD}),
    )
    .await
    .expect(200);
    // Other accounts are not slowed by it…
    c.post_json(
        "/api/v1/auth/login",
        &json!({"login": fx.logins.leader, "password": PASSWORD}),
    )
    .await
    .expect(200);
    // …until the address itself has failed too often.
    for i in 0..30 {
        c.post_json(
            "/api/v1/auth/login",
            &json!({"login": format!("nobody{i}"), "password": "x"}),
        )
        .await;
    }
    c.post_json(
        "/api/v1/auth/login",
        &json!({"login": fx.logins.centre, "password": PASSWORD}),
    )
    .await
    .expect_problem(429);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_sessions_need_the_csrf_token_to_change_anything() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "csrf").await;
    let app = TestApp::monolith(&env).await;
    let browser = cookie_client(&app.routing.base);
    let login = browser
        .post(app.routing.url("/api/v1/auth/login"))
        .json(&json!({"login": fx.logins.admin, "password": PASSWORD}))
        .send()
        .await
        .expect("POST");
    assert_eq!(login.status(), 200);
    let body: serde_json::Value = login.json().await.expect("JSON");
    let csrf = body["csrf_token"]
        .as_str()
        .expect("a CSRF token")
        .to_owned();
    let url = app.routing.url("/api/v1/admin/categories/pests");
    let category = json!({"name_zh": "病虫害", "name_en": "Pests"});
    // Reading with the cookie alone is fine; changing is not.
    let read = browser
        .get(app.routing.url("/api/v1/admin/categories"))
        .send()
        .await
        .expect("GET");
    assert_eq!(read.status(), 200);
    let forged = browser.put(&url).json(&category).send().await.expect("PUT");
    assert_eq!(forged.status(), 403);
    let wrong = browser
        .put(&url)
        .header("x-csrf-token", "guess")
        .json(&category)
        .send()
        .await
        .expect("PUT");
    assert_eq!(wrong.status(), 403);
    let ok = browser
        .put(&url)
        .header("x-csrf-token", &csrf)
        .json(&category)
        .send()
        .await
        .expect("PUT");
    assert_eq!(ok.status(), 200);
    // The token is never taken from the URL (URLs end up in logs and `Referer`).
    let in_url = browser
        .put(format!("{url}?_csrf={csrf}"))
        .json(&category)
        .send()
        .await
        .expect("PUT");
    assert_eq!(in_url.status(), 403);
    // A bearer token is not sent by a browser on its own, so it needs no CSRF token.
    let api = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    api.put_json("/api/v1/admin/categories/pests", &category)
        .await
        .expect(200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_code_sets_a_password_once() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "reset").await;
    let app = TestApp::monolith(&env).await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    let phone = "13712345678";
    let created = admin
        .post_json(
            "/api/v1/admin/people",
            &json!({"name": "赵新", "phone": phone, "roles": [{"role": "grid_worker", "node_id": fx.grid}]}),
        )
        .await
        .expect(201);
    assert_eq!(created.body["has_password"], false);
    let id = created.body["id"].as_str().expect("an id").to_owned();
    // No password yet: cannot sign in.
    app.routing
        .post_json(
            "/api/v1/auth/login",
            &json!({"login": phone, "password": "anything-at-all"}),
        )
        .await
        .expect_problem(401);
    let code = admin
        .post_json(&format!("/api/v1/admin/people/{id}/reset-code"), &json!({}))
        .await
        .expect(200);
    let code = code.body["code"].as_str().expect("a code").to_owned();
    assert_eq!(code.len(), 8);
    let fields = app
        .routing
        .post_json(
            "/api/v1/auth/reset",
            &json!({"login": phone, "code": code, "new_password": "short"}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["password"]);
    app.routing
        .post_json(
            "/api/v1/auth/reset",
            &json!({"login": phone, "code": code, "new_password": "新密码-2026-ok"}),
        )
        .await
        .expect(204);
    app.routing
        .post_json(
            "/api/v1/auth/login",
            &json!({"login": phone, "password": "新密码-2026-ok"}),
        )
        .await
        .expect(200);
    // The code worked once.
    let fields = app
        .routing
        .post_json(
            "/api/v1/auth/reset",
            &json!({"login": phone, "code": code, "new_password": "another-password"}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["code"]);
    // A worker may not issue codes.
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    worker
        .post_json(&format!("/api/v1/admin/people/{id}/reset-code"), &json!({}))
        .await
        .expect_problem(403);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_act_with_their_role_until_revoked() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "tokens").await;
    let app = TestApp::monolith(&env).await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    let created = admin
        .post_json(
            "/api/v1/admin/api-tokens",
            &json!({"name": "县平台对接", "role": "township_centre", "node_id": fx.root}),
        )
        .await
        .expect(201);
    let token = created.body["token"].as_str().expect("a token").to_owned();
    assert!(token.starts_with("mst_"));
    let id = created.body["info"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let integration = app.routing.with_bearer(&token);
    integration.get("/api/v1/admin/grid").await.expect(200);
    integration
        .post_json(
            "/api/v1/admin/grid/nodes",
            &json!({"parent_id": fx.root, "kind": "village", "code": "x1", "name": "新村"}),
        )
        .await
        .expect_problem(403);
    let listed = admin.get("/api/v1/admin/api-tokens").await.expect(200);
    assert!(
        !listed.body.to_string().contains(&token),
        "the secret is never listed"
    );
    admin
        .post_json(&format!("/api/v1/admin/api-tokens/{id}/revoke"), &json!({}))
        .await
        .expect(204);
    integration
        .get("/api/v1/admin/grid")
        .await
        .expect_problem(401);
    app.stop().await;
}

async fn county_admin(env: &TestEnv, client: &Client) -> Client {
    mashang_tests::county_user(
        env.db(),
        client,
        "县管理员",
        "13600000001",
        &[Role::CountyAdmin],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_county_creates_suspends_and_resumes_townships() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "susp").await;
    let app = TestApp::monolith(&env).await;
    let county = county_admin(&env, &app.routing).await;

    // A new township with its first administrator, who sets a password with the code.
    let created = county
        .post_json(
            "/api/v1/county/tenants",
            &json!({"code": "caotan", "name": "草滩镇", "contact_phone": "029-86000000",
                    "admin": {"name": "周镇管", "phone": "13512345678"}}),
        )
        .await
        .expect(201);
    let code = created.body["admin"]["reset_code"]
        .as_str()
        .expect("a code")
        .to_owned();
    app.routing
        .post_json(
            "/api/v1/auth/reset",
            &json!({"login": "13512345678", "code": code, "new_password": "caotan-admin-1"}),
        )
        .await
        .expect(204);
    let caotan = app.routing.signed_in("13512345678", "caotan-admin-1").await;
    let grid = caotan.get("/api/v1/admin/grid").await.expect(200);
    assert_eq!(grid.body["nodes"][0]["code"], "caotan");
    let categories = caotan.get("/api/v1/admin/categories").await.expect(200);
    assert_eq!(categories.body.as_array().map(Vec::len), Some(8));
    county
        .post_json(
            "/api/v1/county/tenants",
            &json!({"code": "caotan", "name": "重复"}),
        )
        .await
        .expect_problem(409);
    let fields = county
        .post_json(
            "/api/v1/county/tenants",
            &json!({"code": "Bad Code", "name": "x", "time_zone": "Mars/Base"}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["code", "time_zone"]);
    // A township administrator cannot administer townships.
    caotan
        .get("/api/v1/county/tenants")
        .await
        .expect_problem(403);

    // Suspension: staff are out, citizens see a notice, nothing is lost.
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    county
        .post_json("/api/v1/county/tenants/susp/suspend", &json!({}))
        .await
        .expect(200);
    admin.get("/api/v1/admin/grid").await.expect_problem(401);
    app.routing
        .post_json(
            "/api/v1/auth/login",
            &json!({"login": fx.logins.admin, "password": PASSWORD}),
        )
        .await
        .expect_problem(403);
    let page = app
        .intake
        .get(&format!("/q/{}", fx.qr_token))
        .await
        .expect(403);
    assert!(page.body.as_str().is_some_and(|h| h.contains("暂时停用")));
    app.intake
        .post_json(
            "/api/v1/reports",
            &json!({"qr_token": fx.qr_token, "category": "roads", "description": "x"}),
        )
        .await
        .expect_problem(403);
    county
        .post_json("/api/v1/county/tenants/susp/resume", &json!({}))
        .await
        .expect(200);
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    let grid = admin.get("/api/v1/admin/grid").await.expect(200);
    assert_eq!(
        grid.body["nodes"].as_array().map(Vec::len),
        Some(3),
        "nothing was deleted"
    );
    app.intake
        .get(&format!("/q/{}", fx.qr_token))
        .await
        .expect(200);
    county
        .post_json("/api/v1/county/tenants/nosuch/suspend", &json!({}))
        .await
        .expect_problem(404);
    app.stop().await;
}
