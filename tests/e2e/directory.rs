//! The township directory over HTTP: the grid tree, people and roles, what each role
//! may do, and another township's objects answering 404 everywhere.

use mashang_tests::{PASSWORD, TestApp, TestEnv, seed_tenant};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_builds_and_reshapes_the_grid_tree() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "tree").await;
    let app = TestApp::monolith(&env).await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;

    let village = admin
        .post_json(
            "/api/v1/admin/grid/nodes",
            &json!({"parent_id": fx.root, "kind": "village", "code": "tree-v2", "name": "河东村"}),
        )
        .await
        .expect(201)
        .body;
    let v2 = village["id"].as_str().expect("an id").to_owned();
    let grid = admin
        .post_json(
            "/api/v1/admin/grid/nodes",
            &json!({"parent_id": v2, "kind": "grid", "code": "tree-v2-g1", "name": "一组"}),
        )
        .await
        .expect(201)
        .body;
    let g = grid["id"].as_str().expect("an id").to_owned();
    // Bad input: duplicate code, unknown kind, unknown parent, a second township.
    let fields = admin
        .post_json(
            "/api/v1/admin/grid/nodes",
            &json!({"parent_id": v2, "kind": "grid", "code": "tree-v2-g1", "name": "重复"}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["code"]);
    let fields = admin
        .post_json(
            "/api/v1/admin/grid/nodes",
            &json!({"parent_id": v2, "kind": "hamlet", "code": "x", "name": "x"}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["kind"]);
    let fields = admin
        .post_json(
            "/api/v1/admin/grid/nodes",
            &json!({"parent_id": uuid::Uuid::now_v7(), "kind": "grid", "code": "x", "name": "x"}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["parent_id"]);
    admin
        .post_json(
            "/api/v1/admin/grid/nodes",
            &json!({"parent_id": fx.root, "kind": "township", "code": "t2", "name": "x"}),
        )
        .await
        .expect_problem(422);

    // Rename; move the grid to the first village; refuse a move under its own subtree.
    let renamed = admin
        .patch_json(
            &format!("/api/v1/admin/grid/nodes/{g}"),
            &json!({"name": "第一村民小组"}),
        )
        .await
        .expect(200);
    assert_eq!(renamed.body["name"], "第一村民小组");
    admin
        .post_json(
            &format!("/api/v1/admin/grid/nodes/{g}/move"),
            &json!({"parent_id": fx.village}),
        )
        .await
        .expect(200);
    let fields = admin
        .post_json(
            &format!("/api/v1/admin/grid/nodes/{}/move", fx.village),
            &json!({"parent_id": g}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["parent_id"]);
    admin
        .post_json(
            &format!("/api/v1/admin/grid/nodes/{}/move", fx.root),
            &json!({"parent_id": v2}),
        )
        .await
        .expect_problem(422);

    // Deactivating a village deactivates its grids; its QR code no longer takes reports,
    // but nothing is deleted.
    admin
        .patch_json(
            &format!("/api/v1/admin/grid/nodes/{}", fx.village),
            &json!({"active": false}),
        )
        .await
        .expect(200);
    let tree = admin.get("/api/v1/admin/grid").await.expect(200).body;
    let nodes = tree["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 5);
    let inactive: Vec<&str> = nodes
        .iter()
        .filter(|n| n["active"] == false)
        .filter_map(|n| n["code"].as_str())
        .collect();
    assert_eq!(
        inactive.len(),
        3,
        "the village, its grid and the moved grid: {inactive:?}"
    );
    app.intake
        .get(&format!("/q/{}", fx.qr_token))
        .await
        .expect(410);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_are_managed_with_their_roles_and_seen_within_each_role_s_reach() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "people").await;
    let app = TestApp::monolith(&env).await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;

    let created = admin
        .post_json(
            "/api/v1/admin/people",
            &json!({"name": "孙丽", "phone": "138 0000 1111", "username": "sunli",
                    "roles": [{"role": "grid_worker", "node_id": fx.grid}, {"role": "grid_leader", "node_id": fx.village}]}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(created["phone"], "13800001111");
    assert_eq!(created["roles"].as_array().map(Vec::len), Some(2));
    // Every bad field at once.
    let fields = admin
        .post_json(
            "/api/v1/admin/people",
            &json!({"name": "", "phone": "12345", "username": "1x",
                    "roles": [{"role": "mayor", "node_id": fx.grid}, {"role": "grid_worker", "node_id": uuid::Uuid::now_v7()}]}),
        )
        .await
        .expect_problem(422);
    assert_eq!(
        fields,
        [
            "name",
            "phone",
            "username",
            "roles[0].role",
            "roles[1].node_id"
        ]
    );
    // Phone numbers and usernames are sign-in names: unique.
    admin
        .post_json(
            "/api/v1/admin/people",
            &json!({"name": "重号", "phone": "13800001111", "roles": []}),
        )
        .await
        .expect_problem(409);
    admin
        .post_json(
            "/api/v1/admin/people",
            &json!({"name": "重名", "phone": "13800002222", "username": "SunLi", "roles": []}),
        )
        .await
        .expect_problem(409);

    // The grid leader sees the people of the village; the worker may not list people.
    let leader = app.routing.signed_in(&fx.logins.leader, PASSWORD).await;
    let seen = leader.get("/api/v1/admin/people").await.expect(200).body;
    let names: Vec<&str> = seen["people"]
        .as_array()
        .expect("people")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        names.contains(&"孙丽") && names.contains(&"王网格"),
        "{names:?}"
    );
    assert!(
        !names.contains(&"镇管理员"),
        "the township's own staff are outside the village: {names:?}"
    );
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    worker.get("/api/v1/admin/people").await.expect_problem(403);
    leader
        .post_json(
            "/api/v1/admin/people",
            &json!({"name": "x", "phone": "13800003333", "roles": []}),
        )
        .await
        .expect_problem(403);

    // Deactivating a person signs them out at once.
    worker.get("/api/v1/auth/me").await.expect(200);
    let worker_person = admin
        .get(&format!("/api/v1/admin/people/{}", fx.worker))
        .await
        .expect(200)
        .body;
    admin
        .patch_json(
            &format!("/api/v1/admin/people/{}", fx.worker),
            &json!({"name": worker_person["name"], "phone": worker_person["phone"], "active": false, "roles": worker_person["roles"]}),
        )
        .await
        .expect(200);
    worker.get("/api/v1/auth/me").await.expect_problem(401);
    app.routing
        .post_json(
            "/api/v1/auth/login",
            &json!({"login": fx.logins.worker, "password": PASSWORD}),
        )
        .await
        .expect_problem(401);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_may_do_only_what_the_matrix_allows() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "roles").await;
    let app = TestApp::monolith(&env).await;
    let sign = |login: String| {
        let routing = app.routing.clone();
        async move { routing.signed_in(&login, PASSWORD).await }
    };
    let worker = sign(fx.logins.worker.clone()).await;
    let leader = sign(fx.logins.leader.clone()).await;
    let centre = sign(fx.logins.centre.clone()).await;
    let admin = sign(fx.logins.admin.clone()).await;
    let new_node = json!({"parent_id": fx.root, "kind": "village", "code": "r-v9", "name": "九村"});
    for client in [&worker, &leader, &centre] {
        client
            .post_json("/api/v1/admin/grid/nodes", &new_node)
            .await
            .expect_problem(403);
        client
            .get("/api/v1/admin/api-tokens")
            .await
            .expect_problem(403);
        client
            .put_json(
                "/api/v1/admin/categories/pests",
                &json!({"name_zh": "虫", "name_en": "Pests"}),
            )
            .await
            .expect_problem(403);
    }
    admin
        .post_json("/api/v1/admin/grid/nodes", &new_node)
        .await
        .expect(201);
    // Seeing the tree: the worker sees their grid, the leader their village, the centre all.
    let count = |body: serde_json::Value| body["nodes"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(
        count(worker.get("/api/v1/admin/grid").await.expect(200).body),
        1
    );
    assert_eq!(
        count(leader.get("/api/v1/admin/grid").await.expect(200).body),
        2
    );
    assert_eq!(
        count(centre.get("/api/v1/admin/grid").await.expect(200).body),
        4
    );
    // Figures: the centre yes, the worker no.
    centre.get("/api/v1/stats/summary").await.expect(200);
    worker
        .get("/api/v1/stats/summary")
        .await
        .expect_problem(403);
    // County endpoints are closed to every township role.
    for client in [&worker, &leader, &centre, &admin] {
        client
            .get("/api/v1/county/tenants")
            .await
            .expect_problem(403);
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_township_s_objects_are_not_found_through_any_endpoint() {
    let env = TestEnv::new().await;
    let a = seed_tenant(env.db(), "towna").await;
    let b = seed_tenant(env.db(), "townb").await;
    let app = TestApp::monolith(&env).await;
    // Something of B's in every kind: a case (through a report), an API token.
    app.intake
        .post_json(
            "/api/v1/reports",
            &json!({"qr_token": b.qr_token, "category": "roads", "description": "路坏了"}),
        )
        .await
        .expect(201);
    let b_admin = app.routing.signed_in(&b.logins.admin, PASSWORD).await;
    let b_token = b_admin
        .post_json(
            "/api/v1/admin/api-tokens",
            &json!({"name": "b", "role": "grid_worker", "node_id": b.grid}),
        )
        .await
        .expect(201)
        .body["info"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let b_case =
        mashang_tests::eventually("B's case", std::time::Duration::from_secs(30), || async {
            let mut owner = env.database.owner().await;
            let row: Option<(uuid::Uuid,)> =
                sqlx::query_as("SELECT id FROM routing.cases WHERE tenant_id = $1")
                    .bind(b.tenant.as_uuid())
                    .fetch_optional(&mut owner)
                    .await
                    .expect("reading");
            row.map(|(id,)| id)
        })
        .await;

    // A's administrator (and A's centre for cases) reach none of it.
    let admin = app.routing.signed_in(&a.logins.admin, PASSWORD).await;
    let centre = app.routing.signed_in(&a.logins.centre, PASSWORD).await;
    let person = json!({"name": "x", "phone": "13800009999", "roles": []});
    admin
        .patch_json(
            &format!("/api/v1/admin/grid/nodes/{}", b.grid),
            &json!({"name": "x"}),
        )
        .await
        .expect_problem(404);
    admin
        .post_json(
            &format!("/api/v1/admin/grid/nodes/{}/move", b.grid),
            &json!({"parent_id": a.root}),
        )
        .await
        .expect_problem(404);
    admin
        .get(&format!("/api/v1/admin/people/{}", b.worker))
        .await
        .expect_problem(404);
    admin
        .patch_json(&format!("/api/v1/admin/people/{}", b.worker), &person)
        .await
        .expect_problem(404);
    admin
        .post_json(
            &format!("/api/v1/admin/people/{}/reset-code", b.worker),
            &json!({}),
        )
        .await
        .expect_problem(404);
    admin
        .post_json(
            &format!("/api/v1/admin/api-tokens/{b_token}/revoke"),
            &json!({}),
        )
        .await
        .expect_problem(404);
    centre
        .get(&format!("/api/v1/cases/{b_case}"))
        .await
        .expect_problem(404);
    // B's node as a parent or a role's node in A's requests is "no such node".
    let fields = admin
        .post_json(
            "/api/v1/admin/grid/nodes",
            &json!({"parent_id": b.root, "kind": "village", "code": "steal", "name": "x"}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["parent_id"]);
    let fields = admin
        .post_json("/api/v1/admin/people", &json!({"name": "x", "phone": "13800008888", "roles": [{"role": "grid_worker", "node_id": b.grid}]}))
        .await
        .expect_problem(422);
    assert_eq!(fields, ["roles[0].node_id"]);
    // And A's lists hold nothing of B's.
    let people = admin
        .get("/api/v1/admin/people")
        .await
        .expect(200)
        .body
        .to_string();
    assert!(!people.contains(&b.worker.to_string()));
    let tree = admin
        .get("/api/v1/admin/grid")
        .await
        .expect(200)
        .body
        .to_string();
    assert!(!tree.contains(&b.grid.to_string()));
    app.stop().await;
}
