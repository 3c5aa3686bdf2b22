//! One sign-in page for every staff role, each person landing on their own home, and
//! the header every staff page carries, as a browser uses them.

use mashang_domain::PhoneNumber;
use mashang_domain::role::Role;
use mashang_tests::browser::Browser;
use mashang_tests::{PASSWORD, TestApp, TestEnv, seed_tenant};

/// Signing in through the form, from any page that shows it.
trait SignIn {
    async fn sign_in_from(&self, page: &str, login: &str) -> String;
    async fn sign_in(&self, login: &str) -> String;
}

impl SignIn for Browser {
    /// Shows the sign-in form (at `page`, which may carry `next`) and posts it;
    /// returns where the browser is sent.
    async fn sign_in_from(&self, page: &str, login: &str) -> String {
        let form = self.get(page).await.expect(200);
        let token = form.csrf();
        let next = form
            .html
            .split_once(r#"name="next" value=""#)
            .and_then(|(_, rest)| rest.split('"').next())
            .unwrap_or_default()
            .replace("&#x2f;", "/")
            .replace("&#47;", "/");
        self.post(
            "/login",
            &[
                ("_csrf", &token),
                ("login", login),
                ("password", PASSWORD),
                ("next", &next),
            ],
        )
        .await
        .see_other()
    }

    async fn sign_in(&self, login: &str) -> String {
        self.sign_in_from("/login", login).await
    }
}

/// A county centre account with a password, for the sign-in form.
async fn county_login(env: &TestEnv) -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 100_000_000;
    let phone = PhoneNumber::parse(&format!("137{n:08}")).expect("a phone");
    let user = mashang_routing::directory::county::create_county_user(
        env.db(),
        "县里的人",
        &phone,
        &[Role::CountyCentre],
    )
    .await
    .expect("a county user");
    let password = mashang_auth::Password::new(PASSWORD).expect("a password");
    mashang_auth::set_county_password(env.db(), user, &password)
        .await
        .expect("set");
    phone.expose().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_old_admin_sign_in_moves_to_login_with_its_next() {
    let env = TestEnv::new().await;
    let app = TestApp::monolith(&env).await;
    let b = Browser::new(&app.routing.base);
    assert_eq!(b.get("/admin/login").await.redirect(308), "/login");
    assert_eq!(
        b.get("/admin/login?next=/admin/grid").await.redirect(308),
        "/login?next=/admin/grid"
    );
    assert_eq!(b.get("/admin/reset").await.redirect(308), "/login/reset");
    // A form posted to the old address is sent on as a post.
    assert_eq!(b.post("/admin/login", &[]).await.redirect(308), "/login");
    let login = b.get("/login").await.expect(200);
    assert!(login.has(r#"action="/login""#) && login.has(r#"href="/login/reset""#));
    let reset = b.get("/login/reset").await.expect(200);
    assert!(reset.has(r#"action="/login/reset""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_signs_in_at_login_and_lands_on_its_home() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "cshome").await;
    let county = county_login(&env).await;
    let app = TestApp::monolith(&env).await;

    for (login, home, name, township, says) in [
        (
            &fx.logins.worker,
            "/console",
            "王网格",
            "cshome镇",
            "我的案件",
        ),
        (
            &fx.logins.leader,
            "/console",
            "李网格长",
            "cshome镇",
            "我的案件",
        ),
        (
            &fx.logins.centre,
            "/console/queue",
            "综治中心",
            "cshome镇",
            "受理审核",
        ),
        (
            &fx.logins.admin,
            "/admin",
            "镇管理员",
            "cshome镇",
            "管理首页",
        ),
        (&county, "/county", "县里的人", "县综治中心", "乡镇"),
    ] {
        let b = Browser::new(&app.routing.base);
        assert_eq!(b.sign_in(login).await, home, "{name}");
        let page = b.get(home).await.expect(200);
        assert!(page.has(says), "{name}: {}", page.html);
        assert!(
            page.has(name) && page.has(township),
            "{name}: {}",
            page.html
        );
        // Signed in, the sign-in page leads home.
        assert_eq!(b.get("/login").await.see_other(), home, "{name}");
    }

    // The homes are for their own kind of account.
    let worker = Browser::new(&app.routing.base);
    worker.sign_in(&fx.logins.worker).await;
    worker.get("/county").await.expect(403);
    let county_browser = Browser::new(&app.routing.base);
    county_browser.sign_in(&county).await;
    county_browser.get("/console").await.expect(403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_is_followed_only_to_a_page_of_this_site() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "csnext").await;
    let app = TestApp::monolith(&env).await;

    // Signed out, each home sends the browser to sign in and back.
    let b = Browser::new(&app.routing.base);
    for home in ["/console", "/console/queue", "/county"] {
        assert_eq!(b.get(home).await.see_other(), format!("/login?next={home}"));
    }
    assert_eq!(
        b.get("/admin/people?q=x%20y").await.see_other(),
        "/login?next=/admin/people%3Fq%3Dx%2520y"
    );
    assert_eq!(
        b.sign_in_from("/login?next=/admin/grid", &fx.logins.admin)
            .await,
        "/admin/grid"
    );

    // Anything that could leave the site is dropped: the person goes home.
    for next in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil.example",
    ] {
        let b = Browser::new(&app.routing.base);
        let form = b.get("/login").await.expect(200).csrf();
        let to = b
            .post(
                "/login",
                &[
                    ("_csrf", &form),
                    ("login", &fx.logins.worker),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await
            .see_other();
        assert_eq!(to, "/console", "{next}");
        // Nor is it put into the form.
        let page = Browser::new(&app.routing.base)
            .get(&format!(
                "/login?next={}",
                next.replace('/', "%2F").replace(':', "%3A")
            ))
            .await
            .expect(200);
        assert!(!page.has(r#"name="next""#), "{next}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_shows_who_and_where_links_the_notices_and_signs_out() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "cshead").await;
    let app = TestApp::monolith(&env).await;
    let b = Browser::new(&app.routing.base);
    b.sign_in(&fx.logins.worker).await;

    for path in ["/console", "/admin"] {
        let page = b.get(path).await.expect(200);
        let (_, header) = page.html.split_once("<header").expect("a header");
        let (header, _) = header.split_once("</header>").expect("its end");
        assert!(
            header.contains("王网格") && header.contains("cshead镇"),
            "{header}"
        );
        assert!(header.contains(r#"href="/console/notices""#), "{header}");
        assert!(header.contains(r#"action="/logout""#), "{header}");
        // The badge's number comes from a script of this site.
        let (_, rest) = page
            .html
            .split_once(r#"<script src=""#)
            .expect("the header's script");
        let src = rest.split('"').next().expect("its URL").to_owned();
        let script = b.get(&src).await.expect(200);
        assert!(script.header("content-type").starts_with("text/javascript"));
        assert!(script.has("/api/v1/inbox") && script.has("read_at"));
    }
    // What the script reads: the person's notices, each with `read_at`.
    let inbox = b.get("/api/v1/inbox").await.expect(200);
    let body: serde_json::Value = serde_json::from_str(&inbox.html).expect("JSON");
    assert!(body["notices"].is_array(), "{body}");

    // Signing out needs the session's token, then ends the session.
    let csrf = b.get("/console").await.expect(200).csrf();
    b.post("/logout", &[]).await.expect(403);
    assert_eq!(
        b.post("/logout", &[("_csrf", &csrf)]).await.see_other(),
        "/login?ok=out"
    );
    assert!(b.get("/login?ok=out").await.expect(200).has("已退出登录"));
    assert_eq!(b.get("/console").await.see_other(), "/login?next=/console");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_posted_without_the_forms_cookie_is_refused() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "cscsrf").await;
    let app = TestApp::monolith(&env).await;

    // The form's cookie is sent to the sign-in pages only.
    let shown = app
        .routing
        .http
        .get(format!("{}/login", app.routing.base))
        .send()
        .await
        .expect("GET");
    let cookie = shown.headers()["set-cookie"].to_str().expect("ASCII");
    assert!(cookie.contains("Path=/login;"), "{cookie}");

    // A token from another browser's form, without that browser's cookie.
    let token = Browser::new(&app.routing.base)
        .get("/login")
        .await
        .expect(200)
        .csrf();
    let forged = Browser::new(&app.routing.base);
    let refused = forged
        .post(
            "/login",
            &[
                ("_csrf", &token),
                ("login", &fx.logins.admin),
                ("password", PASSWORD),
            ],
        )
        .await
        .expect(403);
    assert!(refused.has("页面已过期"));
    assert_eq!(
        forged.get("/console").await.see_other(),
        "/login?next=/console"
    );
}
