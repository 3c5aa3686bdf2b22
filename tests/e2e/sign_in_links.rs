//! Sign-in links for phones: a link opens one case signed in as one person, once,
//! within its lifetime, until the person signs out everywhere.

use chrono::Duration as Span;
use mashang_auth::{CaseLink, Keys, mint_case_link};
use mashang_domain::{CaseId, TenantId, UserId};
use mashang_tests::cases::case_id;
use mashang_tests::{Client, Fixture, PASSWORD, TestApp, TestEnv, seed_tenant};
use reqwest::StatusCode;
use serde_json::json;

fn keys() -> Keys {
    Keys::derive(&mashang_tests::infra::pii_key())
}

/// Submits a report in the fixture's grid and returns its case once routing has it.
async fn a_case(app: &TestApp, fx: &Fixture) -> CaseId {
    let created = app
        .intake
        .post_json(
            "/api/v1/reports",
            &json!({"qr_token": fx.qr_token, "category": "roads", "description": "路灯坏了"}),
        )
        .await
        .expect(201);
    let tracking = created.body["tracking_number"]
        .as_str()
        .expect("a number")
        .to_owned();
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let id = case_id(&worker, &tracking).await;
    CaseId::from_uuid(id.parse().expect("a case id"))
}

async fn mint(env: &TestEnv, fx: &Fixture, user: UserId, case: CaseId) -> CaseLink {
    mint_case_link(env.db(), &keys(), fx.tenant, user, case, None)
        .await
        .expect("a link")
}

/// The answer to a `POST` of `path`, as a browser on our page sends it.
async fn post(client: &Client, path: &str) -> reqwest::Response {
    client
        .http
        .post(client.url(path))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .expect("POST")
}

/// The session cookie's value set by a response.
fn session_cookie(response: &reqwest::Response) -> String {
    let set = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    set.split(';')
        .next()
        .and_then(|pair| pair.strip_prefix("mashang_session="))
        .expect("the session cookie")
        .to_owned()
}

/// Who the cookie signs in, from `/api/v1/auth/me`.
async fn me(client: &Client, session: &str) -> (StatusCode, serde_json::Value) {
    let reply = client
        .http
        .get(client.url("/api/v1/auth/me"))
        .header("cookie", format!("mashang_session={session}"))
        .send()
        .await
        .expect("GET");
    let status = reply.status();
    (status, reply.json().await.unwrap_or_default())
}

async fn text(response: reqwest::Response) -> String {
    response.text().await.expect("a page")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_shows_a_page_then_opens_its_case_signed_in_once() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "linka").await;
    let app = TestApp::monolith(&env).await;
    let case = a_case(&app, &fx).await;
    let link = mint(&env, &fx, fx.worker, case).await;
    assert!(link.path.starts_with("/l/") && link.path.len() <= 3 + 64);
    let c = &app.routing;

    // A previewer (or the person) fetching the URL gets the page, twice, unused.
    for _ in 0..2 {
        let page = c.http.get(c.url(&link.path)).send().await.expect("GET");
        assert_eq!(page.status(), 200);
        assert!(page.headers().get("set-cookie").is_none());
        assert_eq!(page.headers()["referrer-policy"], "no-referrer");
        let html = text(page).await;
        assert!(html.contains("打开案件"), "{html}");
        assert!(html.contains(&format!(r#"action="{}""#, link.path)));
    }
    // Another site posting the link only gets the page: the person must tap on ours.
    let forged = c
        .http
        .post(c.url(&link.path))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("POST");
    assert_eq!(forged.status(), 403);
    assert!(forged.headers().get("set-cookie").is_none());

    let opened = post(c, &link.path).await;
    assert_eq!(opened.status(), 303);
    assert_eq!(
        opened.headers()["location"],
        format!("/console/cases/{case}")
    );
    let session = session_cookie(&opened);
    let (status, who) = me(c, &session).await;
    assert_eq!(status, 200);
    assert_eq!(who["principal"]["user"], fx.worker.to_string());
    assert!(who["csrf_token"].as_str().is_some_and(|t| !t.is_empty()));

    // Used, unknown, over-long: one and the same answer.
    let again = post(c, &link.path).await;
    assert_eq!(again.status(), 410);
    assert!(again.headers().get("set-cookie").is_none());
    let used = text(again).await;
    assert!(used.contains("链接已失效") && used.contains("href=\"/login\""));
    let unknown = post(c, "/l/AAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(unknown.status(), 410);
    assert_eq!(text(unknown).await, used);
    let long = format!("/l/{}", "A".repeat(65));
    assert_eq!(post(c, &long).await.status(), 410);
    assert_eq!(c.get(&long).await.status, 410);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_link_answers_like_an_unknown_one() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "linkb").await;
    let app = TestApp::monolith(&env).await;
    let case = a_case(&app, &fx).await;
    let link = mint(&env, &fx, fx.worker, case).await;
    assert!(link.expires_at <= chrono::Utc::now() + Span::hours(12));
    assert!(link.expires_at > chrono::Utc::now() + Span::hours(11));
    let capped = mint_case_link(
        env.db(),
        &keys(),
        fx.tenant,
        fx.worker,
        case,
        Some(Span::days(3)),
    )
    .await
    .expect("a link");
    assert!(capped.expires_at <= chrono::Utc::now() + Span::hours(24));

    let mut owner = env.database.owner().await;
    sqlx::query(
        "UPDATE routing.case_links SET created_at = now() - interval '13 hours', \
         expires_at = now() - interval '1 hour' WHERE id = $1",
    )
    .bind(link.id)
    .execute(&mut owner)
    .await
    .expect("arranging");
    let expired = post(&app.routing, &link.path).await;
    assert_eq!(expired.status(), 410);
    let unknown = post(&app.routing, "/l/BBBBBBBBBBBBBBBBBBBBBB").await;
    assert_eq!(text(expired).await, text(unknown).await);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_everywhere_ends_sessions_and_revokes_links() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "linkc").await;
    let app = TestApp::monolith(&env).await;
    let case = a_case(&app, &fx).await;
    let worker_link = mint(&env, &fx, fx.worker, case).await;
    let leader_link = mint(&env, &fx, fx.leader, case).await;
    let c = &app.routing;
    let phone = c.signed_in(&fx.logins.worker, PASSWORD).await;
    let desk = c.signed_in(&fx.logins.worker, PASSWORD).await;

    let done = phone.post_json("/api/v1/auth/logout-all", &json!({})).await;
    done.expect(204);
    phone.get("/api/v1/auth/me").await.expect_problem(401);
    desk.get("/api/v1/auth/me").await.expect_problem(401);
    assert_eq!(post(c, &worker_link.path).await.status(), 410);
    // Only that person's links go.
    let opened = post(c, &leader_link.path).await;
    assert_eq!(opened.status(), 303);

    // With a cookie, signing out everywhere needs the session's CSRF token.
    let session = session_cookie(&opened);
    let (_, who) = me(c, &session).await;
    let csrf = who["csrf_token"].as_str().expect("a CSRF token").to_owned();
    let without = c
        .http
        .post(c.url("/api/v1/auth/logout-all"))
        .header("cookie", format!("mashang_session={session}"))
        .send()
        .await
        .expect("POST");
    assert_eq!(without.status(), 403);
    let with = c
        .http
        .post(c.url("/api/v1/auth/logout-all"))
        .header("cookie", format!("mashang_session={session}"))
        .header("x-csrf-token", csrf)
        .send()
        .await
        .expect("POST");
    assert_eq!(with.status(), 204);
    assert_eq!(me(c, &session).await.0, 401);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redemptions_at_the_same_moment_give_exactly_one_session() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "linkd").await;
    let app = TestApp::monolith(&env).await;
    let case = a_case(&app, &fx).await;
    let link = mint(&env, &fx, fx.leader, case).await;
    let c = &app.routing;
    let statuses: Vec<u16> = futures::future::join_all(
        (0..8).map(|_| async { post(c, &link.path).await.status().as_u16() }),
    )
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 410).count(),
        7,
        "{statuses:?}"
    );
    let mut owner = env.database.owner().await;
    let (sessions,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM routing.sessions WHERE user_id = $1")
            .bind(fx.leader.as_uuid())
            .fetch_one(&mut owner)
            .await
            .expect("counting");
    assert_eq!(sessions, 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_townships_links_are_invisible_to_another_township() {
    let env = TestEnv::new().await;
    let a = seed_tenant(env.db(), "linke").await;
    let b = seed_tenant(env.db(), "linkf").await;
    let app = TestApp::monolith(&env).await;
    let case = a_case(&app, &a).await;
    mint(&env, &a, a.worker, case).await;
    let db = env.db();
    let count = |tenant: TenantId| async move {
        let mut tx = db.tenant(tenant).await.expect("a transaction");
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM routing.case_links")
            .fetch_one(&mut *tx)
            .await
            .expect("counting");
        n
    };
    assert_eq!(count(a.tenant).await, 1);
    assert_eq!(count(b.tenant).await, 0);
    // Neither can township B mint a link to A's case, nor for A's person.
    assert!(
        mint_case_link(env.db(), &keys(), b.tenant, b.worker, case, None)
            .await
            .is_err()
    );
    assert!(
        mint_case_link(env.db(), &keys(), b.tenant, a.worker, case, None)
            .await
            .is_err()
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_township_or_a_deactivated_person_cannot_use_a_link() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "linkg").await;
    let app = TestApp::monolith(&env).await;
    let case = a_case(&app, &fx).await;
    let worker_link = mint(&env, &fx, fx.worker, case).await;
    let leader_link = mint(&env, &fx, fx.leader, case).await;
    let c = &app.routing;
    let mut owner = env.database.owner().await;

    sqlx::query("UPDATE routing.tenants SET status = 'suspended' WHERE id = $1")
        .bind(fx.tenant.as_uuid())
        .execute(&mut owner)
        .await
        .expect("arranging");
    let suspended = post(c, &leader_link.path).await;
    assert_eq!(suspended.status(), 403);
    assert!(suspended.headers().get("set-cookie").is_none());
    assert!(text(suspended).await.contains("暂停使用"));
    sqlx::query("UPDATE routing.tenants SET status = 'active' WHERE id = $1")
        .bind(fx.tenant.as_uuid())
        .execute(&mut owner)
        .await
        .expect("arranging");

    sqlx::query("UPDATE routing.staff_users SET active = false WHERE id = $1")
        .bind(fx.worker.as_uuid())
        .execute(&mut owner)
        .await
        .expect("arranging");
    assert_eq!(post(c, &worker_link.path).await.status(), 410);
    assert!(
        mint_case_link(env.db(), &keys(), fx.tenant, fx.worker, case, None)
            .await
            .is_err(),
        "no link for a person who is not active"
    );
    // The refusal while suspended left the leader's link unused.
    assert_eq!(post(c, &leader_link.path).await.status(), 303);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_links_is_throttled_per_address() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "linkh").await;
    let app = TestApp::monolith(&env).await;
    let case = a_case(&app, &fx).await;
    let link = mint(&env, &fx, fx.worker, case).await;
    let c = &app.routing;
    let limit = mashang_auth::SigninThrottle::default().per_address;
    for i in 0..limit {
        let guess = format!("/l/guess{i:0>15}");
        assert_eq!(post(c, &guess).await.status(), 410);
    }
    let refused = post(c, &link.path).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().get("retry-after").is_some());
    // Refused before it was looked at: the link still works once the window passes.
    let mut owner = env.database.owner().await;
    sqlx::query("UPDATE routing.signin_failures SET failed_at = now() - interval '1 hour'")
        .execute(&mut owner)
        .await
        .expect("arranging");
    assert_eq!(post(c, &link.path).await.status(), 303);
    app.stop().await;
}
