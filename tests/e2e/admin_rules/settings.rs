//! The township settings and categories pages.

use mashang_tests::browser::Browser;
use mashang_tests::{PASSWORD, TestApp, TestEnv, seed_tenant};
use serde_json::{Value, json};

use super::sign_in;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_and_categories_are_changed_through_their_forms() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "ruleset").await;
    let other = seed_tenant(env.db(), "ruleset2").await;
    let app = TestApp::monolith(&env).await;
    let admin = Browser::new(&app.routing.base);
    let csrf = sign_in(&admin, &fx.logins.admin).await;
    let api = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;

    let page = admin.get("/admin/settings").await.expect(200);
    assert!(page.has(r#"value="auto" checked"#) && page.has(r#"value="false" checked"#));
    assert!(page.has(r#"href="/admin/settings" aria-current="page""#));
    let to = admin
        .post(
            "/admin/settings",
            &[
                ("_csrf", csrf.as_str()),
                ("triage_mode", "triage"),
                ("reassign_on_breach", "true"),
            ],
        )
        .await
        .see_other();
    assert_eq!(to, "/admin/settings?ok=saved");
    let settings = api.get("/api/v1/admin/settings").await.expect(200).body;
    assert_eq!(
        settings,
        json!({"triage_mode": "triage", "reassign_on_breach": true})
    );
    let refused = admin
        .post(
            "/admin/settings",
            &[
                ("_csrf", csrf.as_str()),
                ("triage_mode", "sometimes"),
                ("reassign_on_breach", "false"),
            ],
        )
        .await
        .expect(422);
    assert!(refused.has("自动派单或人工受理") && refused.has(r#"value="false" checked"#));
    // Without the session's token nothing changes.
    admin
        .post(
            "/admin/settings",
            &[("triage_mode", "auto"), ("reassign_on_breach", "false")],
        )
        .await
        .expect(403);
    assert_eq!(
        api.get("/api/v1/admin/settings").await.expect(200).body["triage_mode"],
        "triage"
    );

    // Categories: add one, refuse a taken code and bad fields, rename it, deactivate
    // and reactivate it.
    let list = admin.get("/admin/categories").await.expect(200);
    assert!(
        list.has("矛盾纠纷")
            && list.has("Disputes")
            && list.has(r#"href="/admin/categories/roads""#)
    );
    let add = |code: &'static str, zh: &'static str, position: &'static str| {
        vec![
            ("_csrf", csrf.clone()),
            ("code", code.to_owned()),
            ("name_zh", zh.to_owned()),
            ("name_en", "Pests".to_owned()),
            ("icon", "shield".to_owned()),
            ("position", position.to_owned()),
            ("default_priority", "urgent".to_owned()),
            ("triage", "triage".to_owned()),
        ]
    };
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let admin = &admin;
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            admin.post(path, &pairs).await
        }
    };
    let to = post("/admin/categories", add("pests", "病虫害", "20"))
        .await
        .see_other();
    assert_eq!(to, "/admin/categories?ok=added#c-pests");
    let listed = api.get("/api/v1/admin/categories").await.expect(200).body;
    let pests = listed
        .as_array()
        .expect("a list")
        .iter()
        .find(|c| c["code"] == "pests")
        .cloned()
        .expect("added");
    assert_eq!(
        pests,
        json!({"code": "pests", "name_zh": "病虫害", "name_en": "Pests", "icon": "shield", "position": 20,
               "active": true, "triage": "triage", "default_priority": "urgent"})
    );
    let taken = post("/admin/categories", add("pests", "另一个", "21"))
        .await
        .expect(422);
    assert!(taken.has("已有这个编码的类别") && taken.has(r#"value="另一个""#));
    let bad = post("/admin/categories", add("Bad Code", "", "很多"))
        .await
        .expect(422);
    assert!(bad.has("编码为小写字母") && bad.has(r#"value="Bad Code""#));
    assert!(bad.has("0到9999之间的整数") && bad.has(r#"value="很多""#));

    let edit = admin.get("/admin/categories/pests").await.expect(200);
    assert!(edit.has(r#"value="病虫害""#) && edit.has(r#"<option value="urgent" selected>"#));
    let to = post(
        "/admin/categories/pests",
        vec![
            ("_csrf", csrf.clone()),
            ("name_zh", "病虫害防治".to_owned()),
            ("name_en", "Pest control".to_owned()),
            ("icon", "shield".to_owned()),
            ("position", "5".to_owned()),
            ("default_priority", "normal".to_owned()),
            ("triage", "inherit".to_owned()),
        ],
    )
    .await
    .see_other();
    assert_eq!(to, "/admin/categories/pests?ok=saved");
    let refused = post(
        "/admin/categories/pests",
        vec![
            ("_csrf", csrf.clone()),
            ("name_zh", String::new()),
            ("name_en", "Pest control".to_owned()),
            ("position", "5".to_owned()),
            ("default_priority", "someday".to_owned()),
            ("triage", "inherit".to_owned()),
        ],
    )
    .await
    .expect(422);
    assert!(refused.has("1到30个字") && refused.has("normal or urgent"));
    let to = post(
        "/admin/categories/pests/active",
        vec![("_csrf", csrf.clone()), ("active", "false".to_owned())],
    )
    .await
    .see_other();
    assert_eq!(to, "/admin/categories/pests?ok=deactivated");
    let page = admin.get(&to).await.expect(200);
    assert!(page.has("已停用") && page.has("重新启用"));
    let pests = |list: Value| {
        list.as_array()
            .expect("a list")
            .iter()
            .find(|c| c["code"] == "pests")
            .cloned()
            .expect("still there")
    };
    let now = pests(api.get("/api/v1/admin/categories").await.expect(200).body);
    assert_eq!(
        (
            &now["name_zh"],
            &now["name_en"],
            &now["active"],
            &now["position"],
            &now["triage"]
        ),
        (
            &json!("病虫害防治"),
            &json!("Pest control"),
            &json!(false),
            &json!(5),
            &json!("inherit")
        )
    );
    assert_eq!(now["icon"], "shield", "the icon is kept");
    post(
        "/admin/categories/pests/active",
        vec![("_csrf", csrf.clone()), ("active", "true".to_owned())],
    )
    .await
    .see_other();
    assert_eq!(
        pests(api.get("/api/v1/admin/categories").await.expect(200).body)["active"],
        true
    );

    // Another township's category, and unknown ones, are not found.
    let outsider = app.routing.signed_in(&other.logins.admin, PASSWORD).await;
    outsider
        .put_json(
            "/api/v1/admin/categories/theirs",
            &json!({"name_zh": "外镇", "name_en": "Theirs"}),
        )
        .await
        .expect(200);
    admin.get("/admin/categories/theirs").await.expect(404);
    post(
        "/admin/categories/theirs",
        vec![
            ("_csrf", csrf.clone()),
            ("name_zh", "抢来的".to_owned()),
            ("name_en", "Taken".to_owned()),
        ],
    )
    .await
    .expect(404);
    post(
        "/admin/categories/theirs/active",
        vec![("_csrf", csrf.clone()), ("active", "false".to_owned())],
    )
    .await
    .expect(404);
    let theirs = outsider
        .get("/api/v1/admin/categories")
        .await
        .expect(200)
        .body;
    assert!(theirs.to_string().contains("外镇") && !theirs.to_string().contains("抢来的"));

    // A grid worker and a township centre may open none of these pages.
    for login in [&fx.logins.worker, &fx.logins.centre] {
        let b = Browser::new(&app.routing.base);
        let token = sign_in(&b, login).await;
        for path in [
            "/admin/settings",
            "/admin/categories",
            "/admin/categories/pests",
        ] {
            b.get(path).await.expect(403);
        }
        b.post(
            "/admin/settings",
            &[
                ("_csrf", token.as_str()),
                ("triage_mode", "auto"),
                ("reassign_on_breach", "false"),
            ],
        )
        .await
        .expect(403);
        b.post(
            "/admin/categories/pests/active",
            &[("_csrf", token.as_str()), ("active", "false")],
        )
        .await
        .expect(403);
    }
    assert_eq!(
        api.get("/api/v1/admin/settings").await.expect(200).body["triage_mode"],
        "triage"
    );
    app.stop().await;
}
