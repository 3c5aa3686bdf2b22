//! Assignment rules added, previewed and deleted on their page; the next case goes
//! where they say.

use mashang_tests::browser::Browser;
use mashang_tests::{PASSWORD, TestApp, TestEnv, seed_tenant};
use serde_json::json;

use super::{next_case, sign_in};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_added_on_the_page_routes_the_next_case_as_it_says() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "dutyrule").await;
    let other = seed_tenant(env.db(), "dutyruleb").await;
    let app = TestApp::monolith(&env).await;
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;
    let b = Browser::new(&app.routing.base);
    let csrf = sign_in(&b, &fx.logins.admin).await;

    let home = b.get("/admin").await.expect(200);
    assert!(
        home.has(r#"href="/admin/assignment-rules""#)
            && home.has(r#"href="/admin/reply-templates""#)
    );
    let page = b.get("/admin/assignment-rules").await.expect(200);
    assert!(
        page.has("案件所在的网格") && page.has("默认规则"),
        "the default is shown"
    );
    assert!(page.has(r#"<option value="dispute">矛盾纠纷</option>"#));
    assert!(page.has(&format!(r#"<option value="{}">"#, fx.village)));
    assert!(
        !page.has(&other.village.to_string()),
        "only the township's own nodes"
    );

    // Disputes anywhere go to the village's grid leader.
    let village = fx.village.to_string();
    let to = b
        .post(
            "/admin/assignment-rules",
            &[
                ("_csrf", &csrf),
                ("position", "10"),
                ("category", "dispute"),
                ("within_node", ""),
                ("target_node", &village),
                ("target_role", "grid_leader"),
            ],
        )
        .await
        .see_other();
    assert_eq!(to, "/admin/assignment-rules?ok=added");
    let page = b.get(&to).await.expect(200);
    assert!(
        page.has("已添加") && page.has("李网格长"),
        "who holds the role there now"
    );
    assert_eq!(
        next_case(&app, &fx, &centre, "dispute").await,
        fx.leader.to_string()
    );
    assert_eq!(
        next_case(&app, &fx, &centre, "roads").await,
        fx.worker.to_string()
    );

    // The preview says the same, without taking a case.
    let preview = b
        .get(&format!(
            "/admin/assignment-rules?grid={}&category=dispute",
            fx.grid
        ))
        .await
        .expect(200);
    assert!(preview.has("现在会由 <strong>李网格长"), "{}", preview.html);
    let preview = b
        .get(&format!(
            "/admin/assignment-rules?grid={}&category=roads",
            fx.grid
        ))
        .await
        .expect(200);
    assert!(preview.has("现在会由 <strong>王网格"));
    let unknown = b
        .get(&format!(
            "/admin/assignment-rules?grid={}&category=roads",
            other.grid
        ))
        .await
        .expect(200);
    assert!(unknown.has("请选择本镇的网格和类别"));

    // Bad input: the form again, what was typed kept, the reasons in words.
    let refused = b
        .post(
            "/admin/assignment-rules",
            &[
                ("_csrf", &csrf),
                ("position", "第一"),
                ("category", "weather"),
                ("within_node", &other.village.to_string()),
                ("target_node", ""),
                ("target_role", "mayor"),
            ],
        )
        .await
        .expect(422);
    assert!(refused.has(r#"value="第一""#), "the position typed is kept");
    assert!(
        refused.has("请选择接收案件的角色") && refused.has("未知类别") && refused.has("节点不存在")
    );
    assert!(refused.has("顺序为 0 到 9999 的整数"));
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    let fields = admin
        .post_json(
            "/api/v1/admin/assignment-rules",
            &json!({"category": "x".repeat(5000), "target_role": "grid_worker", "position": -1}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["category", "position"]);

    // Deleting the rule on the page: disputes go back to the grid's worker.
    let rules = admin
        .get("/api/v1/admin/assignment-rules")
        .await
        .expect(200)
        .body;
    let rule = rules["rules"][0]["id"]
        .as_str()
        .expect("the rule")
        .to_owned();
    let to = b
        .post(
            &format!("/admin/assignment-rules/{rule}/delete"),
            &[("_csrf", &csrf)],
        )
        .await
        .see_other();
    assert!(b.get(&to).await.expect(200).has("已删除"));
    assert_eq!(
        next_case(&app, &fx, &centre, "dispute").await,
        fx.worker.to_string()
    );
    b.post(
        &format!("/admin/assignment-rules/{rule}/delete"),
        &[("_csrf", &csrf)],
    )
    .await
    .expect(404);

    // Another township's rule is not there; a grid worker may not open the page.
    let other_admin = app.routing.signed_in(&other.logins.admin, PASSWORD).await;
    let theirs = other_admin
        .post_json(
            "/api/v1/admin/assignment-rules",
            &json!({"category": "dispute", "target_role": "grid_leader"}),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    b.post(
        &format!("/admin/assignment-rules/{theirs}/delete"),
        &[("_csrf", &csrf)],
    )
    .await
    .expect(404);
    b.post(
        "/admin/assignment-rules/not-an-id/delete",
        &[("_csrf", &csrf)],
    )
    .await
    .expect(404);
    let worker = Browser::new(&app.routing.base);
    let worker_csrf = {
        let token = worker.get("/login").await.expect(200).csrf();
        worker
            .post(
                "/login",
                &[
                    ("_csrf", &token),
                    ("login", &fx.logins.worker),
                    ("password", PASSWORD),
                ],
            )
            .await
            .see_other();
        worker.get("/console").await.expect(200).csrf()
    };
    assert!(
        !worker
            .get("/console")
            .await
            .has(r#"href="/admin/assignment-rules""#)
    );
    worker.get("/admin/assignment-rules").await.expect(403);
    worker
        .post(
            "/admin/assignment-rules",
            &[("_csrf", &worker_csrf), ("target_role", "grid_worker")],
        )
        .await
        .expect(403);

    // The list is bounded: past 50 rules the page says so and adds nothing.
    for n in 0..50 {
        admin
            .post_json(
                "/api/v1/admin/assignment-rules",
                &json!({"position": n, "category": "roads", "target_role": "grid_worker"}),
            )
            .await
            .expect(201);
    }
    let full = b
        .post(
            "/admin/assignment-rules",
            &[
                ("_csrf", &csrf),
                ("position", "1"),
                ("target_role", "grid_worker"),
            ],
        )
        .await
        .expect(422);
    assert!(full.has("最多 50 条分派规则"));
    let fields = admin
        .post_json(
            "/api/v1/admin/assignment-rules",
            &json!({"target_role": "grid_worker"}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["rules"]);
    app.stop().await;
}
