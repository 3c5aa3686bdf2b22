//! The townships (`/county`): the county's administrator creates one with its first
//! administrator, suspends and resumes it; township roles are refused every county page.

use mashang_tests::seed_tenant;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_county_creates_suspends_and_resumes_a_township_through_its_pages() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "cpsusp").await;
    let app = TestApp::monolith(&env).await;
    let county = county_browser(&env, &app, "13600000011", Role::CountyAdmin).await;

    let home = county.get("/county").await.expect(200);
    assert!(
        home.has("cpsusp镇") && home.has("新建乡镇"),
        "{}",
        home.html
    );
    assert!(
        !home.has(r#"href="/county/supervision""#),
        "no supervision for the administrator"
    );
    let token = home.csrf();

    // Bad input comes back with what was typed and why.
    let refused = county
        .post(
            "/county/townships",
            &[
                ("_csrf", &token),
                ("code", "Bad Code"),
                ("name", "草滩镇"),
                ("admin_name", "周镇管"),
                ("admin_phone", "12345"),
                ("admin_username", ""),
            ],
        )
        .await
        .expect(422);
    assert!(refused.has(r#"value="草滩镇""#) && refused.has(r#"value="Bad Code""#));
    assert!(refused.has("编码为2到16位小写字母") && refused.has(r#"aria-invalid="true""#));
    // Nothing was created.
    let row = r#"<td data-label="名称">草滩镇</td>"#;
    assert!(!county.get("/county").await.expect(200).has(row));

    // A township and its administrator, whose one-time code is shown once.
    let created = county
        .post(
            "/county/townships",
            &[
                ("_csrf", &token),
                ("code", "caotan"),
                ("name", "草滩镇"),
                ("contact_phone", "029-86000000"),
                ("admin_name", "周镇管"),
                ("admin_phone", "13512345678"),
                ("admin_username", "zhou.admin"),
            ],
        )
        .await
        .expect(200);
    let code = code_on(&created);
    assert!(created.has("只显示这一次") && created.has("13512345678") && created.has("zhou.admin"));
    let home = county.get("/county").await.expect(200);
    assert!(home.has(row) && !home.has(&code));
    // The same code again is refused, in words.
    let taken = county
        .post(
            "/county/townships",
            &[
                ("_csrf", &token),
                ("code", "caotan"),
                ("name", "重复"),
                ("admin_name", "某人"),
                ("admin_phone", "13512345679"),
            ],
        )
        .await
        .expect(422);
    assert!(taken.has("已存在"));
    // So is a phone someone already signs in with; nothing half-made is left.
    let phone_taken = county
        .post(
            "/county/townships",
            &[
                ("_csrf", &token),
                ("code", "xinji"),
                ("name", "新集镇"),
                ("admin_name", "某人"),
                ("admin_phone", "13512345678"),
            ],
        )
        .await
        .expect(422);
    assert!(phone_taken.has("已是别人的登录名"));
    assert!(
        !county
            .get("/county")
            .await
            .expect(200)
            .has(r#"<td data-label="名称">新集镇</td>"#)
    );

    // The code sets the administrator's password at /login/reset.
    let newcomer = Browser::new(&app.routing.base);
    let form = newcomer.get("/login/reset").await.expect(200).csrf();
    let to = newcomer
        .post(
            "/login/reset",
            &[
                ("_csrf", &form),
                ("login", "zhou.admin"),
                ("code", &code),
                ("password", "caotan-admin-1"),
                ("password2", "caotan-admin-1"),
            ],
        )
        .await
        .see_other();
    assert_eq!(to, "/login?ok=reset");
    assert_eq!(
        sign_in(&newcomer, "13512345678", "caotan-admin-1").await,
        "/admin"
    );
    assert!(newcomer.get("/admin/grid").await.expect(200).has("草滩镇"));

    // Suspension asks first, then shuts the township's staff and citizens out.
    let admin = township_browser(&app, &fx.logins.admin).await;
    admin.get("/admin").await.expect(200);
    let confirm = county
        .get("/county/townships/cpsusp/suspend")
        .await
        .expect(200);
    assert!(confirm.has("暂停 cpsusp镇") && confirm.has("数据不会删除"));
    let back = county
        .post("/county/townships/cpsusp/suspend", &[("_csrf", &token)])
        .await
        .see_other();
    assert_eq!(back, "/county?ok=suspended");
    let home = county.get(&back).await.expect(200);
    assert!(home.has("已暂停") && home.has("/county/townships/cpsusp/resume"));
    assert!(admin.get("/admin").await.see_other().starts_with("/login"));
    let again = Browser::new(&app.routing.base);
    let form = again.get("/login").await.expect(200).csrf();
    let refused = again
        .post(
            "/login",
            &[
                ("_csrf", &form),
                ("login", &fx.logins.admin),
                ("password", PASSWORD),
            ],
        )
        .await
        .expect(403);
    assert!(refused.has("暂停"));
    app.routing
        .post_json(
            "/api/v1/auth/login",
            &json!({"login": fx.logins.admin, "password": PASSWORD}),
        )
        .await
        .expect_problem(403);
    let body = json!({"qr_token": fx.qr_token, "category": "roads", "description": "路灯坏了"});
    post_report(&app.intake, &body, None)
        .await
        .expect_problem(403);
    assert!(
        app.intake
            .get(&format!("/q/{}", fx.qr_token))
            .await
            .expect(403)
            .body
            .as_str()
            .is_some_and(|h| h.contains("暂时停用"))
    );

    // Resumed, everything works again.
    assert!(
        county
            .get("/county/townships/cpsusp/resume")
            .await
            .expect(200)
            .has("确认恢复")
    );
    let back = county
        .post("/county/townships/cpsusp/resume", &[("_csrf", &token)])
        .await
        .see_other();
    assert_eq!(back, "/county?ok=resumed");
    let admin = township_browser(&app, &fx.logins.admin).await;
    assert!(admin.get("/admin/grid").await.expect(200).has("cpsusp镇"));
    post_report(&app.intake, &body, None).await.expect(201);
    // Unknown townships and changes are not there.
    county
        .get("/county/townships/nosuch/suspend")
        .await
        .expect(404);
    county
        .get("/county/townships/cpsusp/delete")
        .await
        .expect(404);
    county
        .post("/county/townships/nosuch/suspend", &[("_csrf", &token)])
        .await
        .expect(404);
    // Without the session's token, nothing changes.
    county
        .post("/county/townships/cpsusp/suspend", &[])
        .await
        .expect(403);

    // The county centre sees the townships but changes none of them.
    let centre = county_browser(&env, &app, "13600000012", Role::CountyCentre).await;
    let seen = centre.get("/county").await.expect(200);
    assert!(seen.has(row) && !seen.has("新建乡镇") && !seen.has("/suspend"));
    let centre_token = csrf(&centre).await;
    centre
        .post(
            "/county/townships",
            &[("_csrf", &centre_token), ("code", "x1"), ("name", "x")],
        )
        .await
        .expect(403);
    centre
        .get("/county/townships/cpsusp/suspend")
        .await
        .expect(403);
    centre
        .post(
            "/county/townships/cpsusp/suspend",
            &[("_csrf", &centre_token)],
        )
        .await
        .expect(403);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn township_roles_are_refused_every_county_page() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "cprefuse").await;
    let app = TestApp::monolith(&env).await;
    let paths = [
        "/county".to_owned(),
        "/county/supervision".to_owned(),
        "/county/search".to_owned(),
        "/county/views".to_owned(),
        "/county/dashboard".to_owned(),
        format!("/county/townships/{}/suspend", fx.code),
        format!("/county/cases/{}/{}", fx.code, uuid::Uuid::now_v7()),
        format!("/county/supervision/{}/{}", fx.code, uuid::Uuid::now_v7()),
    ];
    for login in [
        &fx.logins.worker,
        &fx.logins.leader,
        &fx.logins.centre,
        &fx.logins.admin,
    ] {
        let b = township_browser(&app, login).await;
        for path in &paths {
            let page = b.get(path).await.expect(403);
            assert!(page.has("县综治中心"), "{login} {path}: {}", page.html);
        }
        let token = b.get("/console/notices").await.expect(200).csrf();
        b.post(
            &format!("/county/townships/{}/suspend", fx.code),
            &[("_csrf", &token)],
        )
        .await
        .expect(403);
        // Nor does the header offer the county's links.
        let header = b.get("/console/notices").await.expect(200);
        assert!(!header.has(r#"href="/county"#), "{login}");
    }
    // Signed out, the pages send the browser to sign in and back.
    let b = Browser::new(&app.routing.base);
    assert_eq!(
        b.get("/county/supervision").await.see_other(),
        "/login?next=/county/supervision"
    );
    assert_eq!(
        b.get("/county/dashboard").await.see_other(),
        "/login?next=/county/dashboard"
    );
    // The county's staff have the county's links and the dashboard's place.
    let county = county_browser(&env, &app, "13600000041", Role::CountyCentre).await;
    let home = county.get("/county").await.expect(200);
    for link in [
        "/county/supervision",
        "/county/search",
        "/county/views",
        "/county/dashboard",
    ] {
        assert!(home.has(&format!(r#"href="{link}""#)), "{link}");
    }
    let dashboard = county.get("/county/dashboard").await.expect(200);
    assert!(dashboard.has("全县统计") && dashboard.has("乡镇排名"));
    app.stop().await;
}
