//! The township administrator's pages, as a browser uses them: a cookie session,
//! plain HTML forms carrying the session's CSRF token as a hidden `_csrf` field, and
//! 303s after every change.

use mashang_tests::browser::{Browser, Page};
use mashang_tests::{PASSWORD, TestApp, TestEnv, seed_tenant};
use reqwest::multipart::{Form, Part};

/// Signing in through the form, as the administrator does.
trait SignIn {
    async fn login(&self, login: &str, password: &str) -> Page;
    async fn sign_in(&self, login: &str, password: &str) -> String;
}

impl SignIn for Browser {
    /// Shows the sign-in form and posts it.
    async fn login(&self, login: &str, password: &str) -> Page {
        let form = self.get("/login").await.expect(200).csrf();
        self.post(
            "/login",
            &[("_csrf", &form), ("login", login), ("password", password)],
        )
        .await
    }

    /// Signs in through the form (shown first, for its token); returns the CSRF token
    /// of the session.
    async fn sign_in(&self, login: &str, password: &str) -> String {
        let form = self.get("/login").await.expect(200).csrf();
        let to = self
            .post(
                "/login",
                &[("_csrf", &form), ("login", login), ("password", password)],
            )
            .await
            .see_other();
        assert!(to.starts_with('/') && !to.starts_with("/login"), "{to}");
        self.get("/admin").await.expect(200).csrf()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_signs_in_sees_the_links_and_changes_need_the_csrf_token() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "pgsign").await;
    let app = TestApp::monolith(&env).await;
    let b = Browser::new(&app.routing.base);

    // Signed out: every admin page sends the browser to the sign-in page.
    assert_eq!(
        b.get("/admin/grid").await.see_other(),
        "/login?next=/admin/grid"
    );
    assert_eq!(b.get("/admin").await.see_other(), "/login?next=/admin");
    let login = b.get("/login").await.expect(200);
    assert!(login.has(r#"action="/login""#) && login.has("手机号或登录名"));

    // Login CSRF: a form posted from elsewhere (no token of a form this browser was
    // shown) signs nobody in, even with the right password.
    let forged = Browser::new(&app.routing.base);
    let refused = forged
        .post(
            "/login",
            &[("login", &fx.logins.admin), ("password", PASSWORD)],
        )
        .await
        .expect(403);
    assert!(refused.has("页面已过期"));
    let other_form = b.get("/login").await.expect(200).csrf();
    forged
        .post(
            "/login",
            &[
                ("_csrf", &other_form),
                ("login", &fx.logins.admin),
                ("password", PASSWORD),
            ],
        )
        .await
        .expect(403);
    assert_eq!(forged.get("/admin").await.see_other(), "/login?next=/admin");

    // A wrong password: the form again, the login kept, a plain message.
    // (Each showing of the form replaces the browser's form cookie: the latest counts.)
    let form = other_form;
    let wrong = b
        .post(
            "/login",
            &[
                ("_csrf", &form),
                ("login", &fx.logins.admin),
                ("password", "not-the-password"),
            ],
        )
        .await
        .expect(401);
    assert!(wrong.has("手机号或密码不正确"));
    assert!(wrong.has(&format!(r#"value="{}""#, fx.logins.admin)));

    let csrf = b.sign_in(&fx.logins.admin, PASSWORD).await;
    let home = b.get("/admin").await.expect(200);
    for link in [
        "/admin/grid",
        "/admin/people",
        "/admin/import",
        "/admin/posters",
    ] {
        assert!(
            home.has(&format!(r#"href="{link}""#)),
            "{link} on the home page"
        );
    }
    assert!(home.has("镇管理员") && home.has("pgsign镇"));
    assert!(
        b.get("/login").await.see_other() == "/admin",
        "signed in: the login page leads home"
    );

    // A change without the session's CSRF token is refused, and nothing is added.
    let refused = b
        .post(
            "/admin/grid/nodes",
            &[
                ("parent_id", &fx.root.to_string()),
                ("kind", "village"),
                ("code", "pgsign-nocsrf"),
                ("name", "无令牌村"),
            ],
        )
        .await
        .expect(403);
    assert!(!refused.has("pgsign-nocsrf"));
    b.post(
        "/admin/grid/nodes",
        &[("_csrf", "wrong-token"), ("code", "x")],
    )
    .await
    .expect(403);
    // The right token in the URL is not accepted: tokens never travel in URLs.
    b.post(
        &format!("/admin/grid/nodes?_csrf={csrf}"),
        &[
            ("parent_id", &fx.root.to_string()),
            ("kind", "village"),
            ("code", "pgsign-urlcsrf"),
            ("name", "网址令牌村"),
        ],
    )
    .await
    .expect(403);
    assert!(!b.get("/admin/grid").await.expect(200).has("pgsign-urlcsrf"));
    assert!(!b.get("/admin/grid").await.expect(200).has("pgsign-nocsrf"));
    b.post("/logout", &[]).await.expect(403);

    // Signing out ends the session.
    let to = b
        .post("/logout", &[("_csrf", csrf.as_str())])
        .await
        .see_other();
    assert!(to.starts_with("/login"));
    assert_eq!(b.get("/admin").await.see_other(), "/login?next=/admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tree_page_adds_and_refuses_nodes_in_plain_words_and_escapes_names() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "pgtree").await;
    let other = seed_tenant(env.db(), "pgelse").await;
    let app = TestApp::monolith(&env).await;
    let b = Browser::new(&app.routing.base);
    let csrf = b.sign_in(&fx.logins.admin, PASSWORD).await;

    let tree = b.get("/admin/grid").await.expect(200);
    for text in [
        "新庄村",
        "第一网格",
        "pgtree-v1",
        "pgtree-v1-g1",
        "村",
        "网格",
    ] {
        assert!(tree.has(text), "{text} on the tree page");
    }
    assert!(
        !tree.has("pgelse"),
        "another township's nodes are not shown"
    );

    // Add a village through the form.
    let root = fx.root.to_string();
    let add = "/admin/grid/nodes";
    let to = b
        .post(
            add,
            &[
                ("_csrf", csrf.as_str()),
                ("parent_id", &root),
                ("kind", "village"),
                ("code", "pgtree-v2"),
                ("name", "河东村"),
            ],
        )
        .await
        .see_other();
    assert!(to.starts_with("/admin/grid?ok=added"), "{to}");
    let tree = b.get("/admin/grid?ok=added").await.expect(200);
    assert!(tree.has("河东村") && tree.has("pgtree-v2") && tree.has("已添加"));

    // The same code again: the message next to the form, with what was typed kept.
    let dup = b
        .post(
            add,
            &[
                ("_csrf", csrf.as_str()),
                ("parent_id", &root),
                ("kind", "village"),
                ("code", "pgtree-v2"),
                ("name", "河西村"),
            ],
        )
        .await
        .expect(422);
    assert!(
        dup.has("编码“pgtree-v2”已被本镇其他节点使用"),
        "{}",
        dup.html
    );
    assert!(dup.has(r#"value="pgtree-v2""#) && dup.has(r#"value="河西村""#));
    assert!(dup.has(&format!(r#"<option value="{root}" selected>"#)));
    assert!(dup.has(r#"<option value="village" selected>"#));

    // A move under the node's own subtree is refused in plain words.
    let refused = b
        .post(
            &format!("/admin/grid/nodes/{}/move", fx.village),
            &[
                ("_csrf", csrf.as_str()),
                ("parent_id", &fx.grid.to_string()),
            ],
        )
        .await
        .expect(422);
    assert!(refused.has("不能移到它自己或它的下级节点之下"));

    // Rename; a name with markup comes out as text.
    let to = b
        .post(
            &format!("/admin/grid/nodes/{}/rename", fx.grid),
            &[
                ("_csrf", csrf.as_str()),
                ("name", "<script>alert(1)</script>一组"),
            ],
        )
        .await
        .see_other();
    assert!(to.ends_with("?ok=renamed"));
    let tree = b.get("/admin/grid").await.expect(200);
    assert!(
        tree.has("&#60;script&#62;alert(1)") || tree.has("&lt;script&gt;alert(1)"),
        "escaped: {}",
        tree.html
    );
    assert!(!tree.has("<script>alert(1)"));
    let node = b
        .get(&format!("/admin/grid/nodes/{}", fx.grid))
        .await
        .expect(200);
    assert!(!node.has("<script>alert(1)"));

    // Deactivate the village: it and its grid show as inactive.
    b.post(
        &format!("/admin/grid/nodes/{}/active", fx.village),
        &[("_csrf", csrf.as_str()), ("active", "false")],
    )
    .await
    .see_other();
    let tree = b.get("/admin/grid").await.expect(200);
    assert_eq!(tree.html.matches("已停用").count(), 2);

    // Another township's node, or no node at all: 404.
    b.get(&format!("/admin/grid/nodes/{}", other.village))
        .await
        .expect(404);
    b.post(
        &format!("/admin/grid/nodes/{}/rename", other.village),
        &[("_csrf", csrf.as_str()), ("name", "改别人的")],
    )
    .await
    .expect(404);
    b.get("/admin/grid/nodes/not-a-node").await.expect(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_import_page_lists_every_row_error_and_writes_nothing_or_sums_up() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "pgimp").await;
    let app = TestApp::monolith(&env).await;
    let b = Browser::new(&app.routing.base);
    let csrf = b.sign_in(&fx.logins.admin, PASSWORD).await;

    let form = b.get("/admin/import").await.expect(200);
    for link in [
        "/api/v1/admin/export.xlsx",
        "/api/v1/admin/export.csv",
        "/api/v1/admin/import-template.xlsx",
        "/api/v1/admin/import-template.csv",
    ] {
        assert!(form.has(link), "{link}");
        let r = b.get(link).await;
        assert_eq!(r.status, 200, "{link} with the session cookie");
    }
    assert!(form.has("只检查不导入") && form.has(r#"enctype="multipart/form-data""#));

    // The page's form sends the CSRF token as its first field.
    let upload = |csv: &str, dry_run: bool| {
        let mut form = Form::new().text("_csrf", csrf.clone());
        if dry_run {
            form = form.text("dry_run", "true");
        }
        form.part(
            "file",
            Part::bytes(csv.as_bytes().to_vec()).file_name("roster.csv"),
        )
    };
    let action = "/admin/import";
    let bad = "表,编码,名称,类型,上级编码,姓名,手机号,角色,所在节点编码\n\
               网格,pgimp-v2,河东村,村,pgimp,,,,\n\
               网格,pgimp-v3,,村,pgimp,,,,\n\
               人员,,,,,钱多多,12345,网格员,pgimp-v2\n";
    let report = b.upload(action, upload(bad, false)).await.expect(422);
    assert!(report.has("没有导入任何内容"), "{}", report.html);
    assert!(report.has(r#"id="row-errors""#));
    assert!(report.has(r#"<td class="num">3</td>"#) && report.has(r#"<td class="num">4</td>"#));
    assert!(report.has("名称") && report.has("手机号"));
    let tree = b.get("/admin/grid").await.expect(200);
    assert!(!tree.has("pgimp-v2"), "nothing was written");

    // A file that is not a table at all: a file error.
    let garbage = Form::new().text("_csrf", csrf.clone()).part(
        "file",
        Part::bytes(vec![0xD0, 0xCF, 0x11, 0xE0, 0, 1, 2]).file_name("old.xls"),
    );
    let report = b.upload(action, garbage).await.expect(422);
    assert!(report.has(".xls"));

    let good = "表,编码,名称,类型,上级编码,姓名,手机号,角色,所在节点编码\n\
                网格,pgimp-v2,河东村,村,pgimp,,,,\n\
                网格,pgimp-v2-g1,河东一组,网格,pgimp-v2,,,,\n\
                人员,,,,,钱多多,13700002222,网格员,pgimp-v2-g1\n";
    let checked = b.upload(action, upload(good, true)).await.expect(200);
    assert!(checked.has("检查通过"), "{}", checked.html);
    assert!(!b.get("/admin/grid").await.expect(200).has("pgimp-v2"));
    let done = b.upload(action, upload(good, false)).await.expect(200);
    assert!(done.has("导入完成"));
    assert!(done.has(r#"<td class="num">2</td>"#), "two nodes created");
    let tree = b.get("/admin/grid").await.expect(200);
    assert!(tree.has("pgimp-v2-g1") && tree.has("河东一组"));
    assert!(b.get("/admin/people").await.expect(200).has("钱多多"));
}

/// The 8-digit code on the reset-code page.
fn code_on(page: &Page) -> String {
    let (_, rest) = page
        .html
        .split_once(r#"id="code">"#)
        .expect("the code on the page");
    let code: String = rest.chars().take_while(char::is_ascii_digit).collect();
    assert_eq!(code.len(), 8, "an 8-digit code: {code}");
    code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_are_listed_added_edited_and_set_their_password_with_a_code() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "pgppl").await;
    let other = seed_tenant(env.db(), "pgoth").await;
    let app = TestApp::monolith(&env).await;
    let b = Browser::new(&app.routing.base);
    let csrf = b.sign_in(&fx.logins.admin, PASSWORD).await;

    let list = b.get("/admin/people").await.expect(200);
    for text in [
        "王网格",
        "李网格长",
        "综治中心",
        "镇管理员",
        "网格员",
        "新庄村",
    ] {
        assert!(list.has(text), "{text} on the people page");
    }
    assert!(
        list.has(&fx.logins.worker),
        "the administrator sees full numbers"
    );

    // A bad phone: the form again, as typed, with the message on the field.
    let grid = fx.grid.to_string();
    let add = "/admin/people";
    let refused = b
        .post(
            add,
            &[
                ("_csrf", csrf.as_str()),
                ("name", "赵新人"),
                ("phone", "123"),
                ("username", ""),
                ("role", "grid_worker"),
                ("node_id", &grid),
            ],
        )
        .await
        .expect(422);
    assert!(refused.has("请填写11位手机号") && refused.has(r#"value="赵新人""#));
    // Another person's phone number is refused on the phone field.
    let taken = b
        .post(
            add,
            &[
                ("_csrf", csrf.as_str()),
                ("name", "赵新人"),
                ("phone", &fx.logins.leader),
                ("role", "grid_worker"),
                ("node_id", &grid),
            ],
        )
        .await
        .expect(422);
    assert!(taken.has("这个手机号已被别人使用"));

    let phone = format!("137{:08}", uuid::Uuid::new_v4().as_u128() % 100_000_000);
    let to = b
        .post(
            add,
            &[
                ("_csrf", csrf.as_str()),
                ("name", "赵新人"),
                ("phone", &phone),
                ("username", "Zhao.Xin"),
                ("role", "grid_worker"),
                ("node_id", &grid),
            ],
        )
        .await
        .see_other();
    let person_path = to.split('?').next().expect("a path").to_owned();
    assert!(person_path.starts_with("/admin/people/"));
    let person = b.get(&to).await.expect(200);
    assert!(person.has("赵新人") && person.has("zhao.xin") && person.has("还没有设置密码"));

    // Edit: rename, swap the grid worker role for a grid leader role at the village.
    let village = fx.village.to_string();
    let remove = format!("grid_worker:{grid}");
    b.post(
        &person_path,
        &[
            ("_csrf", csrf.as_str()),
            ("name", "赵新"),
            ("phone", &phone),
            ("username", "zhao.xin"),
            ("active", "true"),
            ("remove", &remove),
            ("role", "grid_leader"),
            ("node_id", &village),
        ],
    )
    .await
    .see_other();
    let person = b.get(&person_path).await.expect(200);
    assert!(person.has("赵新") && person.has("网格长") && !person.has(&remove));

    // A one-time code, shown once, lets the person set a password and sign in.
    let issued = b
        .post(
            &format!("{person_path}/reset-code"),
            &[("_csrf", csrf.as_str())],
        )
        .await
        .expect(200);
    let code = code_on(&issued);
    assert!(issued.has("/login/reset") && issued.has(&phone));
    assert!(!b.get(&person_path).await.expect(200).has(&code));

    let newcomer = Browser::new(&app.routing.base);
    let form = newcomer.get("/login/reset").await.expect(200).csrf();
    let differ = newcomer
        .post(
            "/login/reset",
            &[
                ("_csrf", &form),
                ("login", &phone),
                ("code", &code),
                ("password", "a-new-password-1"),
                ("password2", "a-new-password-2"),
            ],
        )
        .await
        .expect(422);
    assert!(differ.has("两次输入的新密码不一样"));
    let form = differ.csrf();
    let to = newcomer
        .post(
            "/login/reset",
            &[
                ("_csrf", &form),
                ("login", &phone),
                ("code", &code),
                ("password", "a-new-password-1"),
                ("password2", "a-new-password-1"),
            ],
        )
        .await
        .see_other();
    assert_eq!(to, "/login?ok=reset");
    assert!(newcomer.get(&to).await.expect(200).has("请用新密码登录"));
    newcomer.sign_in("zhao.xin", "a-new-password-1").await;
    assert!(newcomer.get("/admin").await.expect(200).has("网格长"));
    // The code was good once.
    let stranger = Browser::new(&app.routing.base);
    let form = stranger.get("/login/reset").await.expect(200).csrf();
    let again = stranger
        .post(
            "/login/reset",
            &[
                ("_csrf", &form),
                ("login", &phone),
                ("code", &code),
                ("password", "another-password-9"),
                ("password2", "another-password-9"),
            ],
        )
        .await
        .expect(422);
    assert!(again.has("验证码错误或已过期"));

    // Administrators cannot lock themselves out.
    let own_role = format!("township_admin:{}", fx.root);
    let refused = b
        .post(
            &format!("/admin/people/{}", fx.admin),
            &[
                ("_csrf", csrf.as_str()),
                ("name", "镇管理员"),
                ("phone", &fx.logins.admin),
                ("remove", &own_role),
            ],
        )
        .await
        .expect(422);
    assert!(refused.has("不能去掉自己的镇管理员角色") && refused.has("不能停用自己的账号"));

    // Another township's person: 404.
    b.get(&format!("/admin/people/{}", other.worker))
        .await
        .expect(404);
    b.post(
        &format!("/admin/people/{}/reset-code", other.worker),
        &[("_csrf", csrf.as_str())],
    )
    .await
    .expect(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_posters_page_links_to_the_print_page_and_issues_missing_codes() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "pgqr").await;
    let app = TestApp::monolith(&env).await;
    let b = Browser::new(&app.routing.base);
    let csrf = b.sign_in(&fx.logins.admin, PASSWORD).await;

    let page = b.get("/admin/posters").await.expect(200);
    let print = format!("/api/v1/admin/posters?node_id={}&amp;format=html", fx.root);
    assert!(page.has(&print), "{}", page.html);
    assert!(page.has(&format!("/api/v1/admin/qr-codes/{}.png", fx.qr_code)));
    assert!(page.has("所有启用的网格都有二维码"));
    let sheet = b.get(&print.replace("&amp;", "&")).await.expect(200);
    assert!(sheet.has("第一网格"));

    // A new grid has no code until the missing ones are issued.
    b.post(
        "/admin/grid/nodes",
        &[
            ("_csrf", csrf.as_str()),
            ("parent_id", &fx.village.to_string()),
            ("kind", "grid"),
            ("code", "pgqr-v1-g2"),
            ("name", "第二网格"),
        ],
    )
    .await
    .see_other();
    assert!(
        b.get("/admin/posters")
            .await
            .expect(200)
            .has("1 个启用的网格还没有二维码")
    );
    let to = b
        .post(
            "/admin/posters/issue-missing",
            &[("_csrf", csrf.as_str()), ("node_id", "")],
        )
        .await
        .see_other();
    assert_eq!(to, "/admin/posters?issued=1");
    let page = b.get(&to).await.expect(200);
    assert!(page.has("已为 1 个网格生成二维码") && page.has("pgqr-v1-g2"));
    assert!(page.has("所有启用的网格都有二维码"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grid_worker_sees_only_what_the_role_allows() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "pgwrk").await;
    let app = TestApp::monolith(&env).await;
    let b = Browser::new(&app.routing.base);
    b.sign_in(&fx.logins.worker, PASSWORD).await;

    let home = b.get("/admin").await.expect(200);
    assert!(home.has(r#"href="/admin/grid""#) && home.has("网格员"));
    for link in ["/admin/import", "/admin/people", "/admin/posters"] {
        assert!(!home.has(&format!(r#"href="{link}""#)), "no {link} link");
    }
    let refused = b.get("/admin/import").await.expect(403);
    assert!(refused.has("您的角色不能导入导出"));
    b.get("/admin/people").await.expect(403);
    b.get("/admin/posters").await.expect(403);
    let tree = b.get("/admin/grid").await.expect(200);
    assert!(
        tree.has("第一网格") && !tree.has("新庄村"),
        "only the worker's grid"
    );
    assert!(!tree.has("添加节点"), "no add form");
    b.get(&format!("/admin/grid/nodes/{}", fx.village))
        .await
        .expect(403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_sign_ins_say_what_to_do() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "pgrefuse").await;
    let app = TestApp::monolith(&env).await;
    let b = Browser::new(&app.routing.base);

    // A suspended township: said so, at sign-in and to a session already open.
    let signed_in = Browser::new(&app.routing.base);
    signed_in.sign_in(&fx.logins.leader, PASSWORD).await;
    let code = mashang_domain::TenantCode::parse("pgrefuse").expect("a code");
    mashang_routing::directory::tenants::set_status(
        env.db(),
        &code,
        mashang_domain::tenant::TenantStatus::Suspended,
    )
    .await
    .expect("suspending");
    let suspended = b.login(&fx.logins.admin, PASSWORD).await.expect(403);
    assert!(suspended.has("本乡镇已暂停使用"));
    assert!(
        signed_in
            .get("/admin/grid")
            .await
            .expect(403)
            .has("暂停使用")
    );

    // Too many failed sign-ins from one address: wait, in minutes, whoever signs in.
    for i in 0..30 {
        b.login(&format!("nobody{i}"), "wrong-password")
            .await
            .expect(401);
    }
    let throttled = b.login(&fx.logins.centre, PASSWORD).await.expect(429);
    assert!(
        throttled.has("失败次数太多，请15分钟后再试"),
        "{}",
        throttled.html
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_are_styled_by_a_cached_stylesheet_and_run_nothing_inline() {
    let env = TestEnv::new().await;
    let app = TestApp::monolith(&env).await;
    let b = Browser::new(&app.routing.base);
    let page = b.get("/login").await;
    let csp = page.header("content-security-policy");
    assert!(csp.contains("style-src 'self'"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && csp.contains("script-src 'self';"),
        "{csp}"
    );
    assert_eq!(page.header("x-frame-options"), "DENY");
    let page = page.expect(200);
    assert!(!page.has("<style") && !page.has("<script"));
    let (_, rest) = page
        .html
        .split_once(r#"<link rel="stylesheet" href=""#)
        .expect("a stylesheet link");
    let href = rest.split('"').next().expect("its URL");
    assert!(href.starts_with("/static/admin/"), "{href}");

    let css = b.get(href).await;
    assert_eq!(css.status.as_u16(), 200);
    assert_eq!(css.header("content-type"), "text/css; charset=utf-8");
    assert_eq!(
        css.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(css.has("header.bar"));
}
