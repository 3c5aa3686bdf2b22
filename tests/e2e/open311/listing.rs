//! Townships apart, the 90-day default and the 1000 cap.

use super::*;

#[tokio::test]
async fn two_townships_each_answer_for_their_own() {
    let env = TestEnv::new().await;
    let a = seed_tenant(env.db(), "dongxiang").await;
    let b = seed_tenant(env.db(), "xixiang").await;
    let app = TestApp::monolith(&env).await;
    let (_, key_a) = issue(&admin(&app, &a).await, "热线").await;
    let (_, key_b) = issue(&admin(&app, &b).await, "热线").await;

    // Several townships: the jurisdiction must be named.
    assert_errors(&get(&app.intake, "/open311/v2/services.json").await, 400);
    assert_errors(&get(&app.intake, "/open311/v2/services.xml").await, 400);
    assert_errors(&file(&app, &key_a, &[]).await, 400);
    get(
        &app.intake,
        "/open311/v2/services.json?jurisdiction_id=xixiang",
    )
    .await
    .expect(200);

    let filed = file(&app, &key_a, &[("jurisdiction_id", "dongxiang")])
        .await
        .expect(201)
        .json();
    let number = filed[0]["service_request_id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let token = filed[0]["token"].as_str().expect("a token").to_owned();
    // A's key is no key in B, and B's jurisdiction does not hold A's request.
    assert_errors(
        &file(&app, &key_a, &[("jurisdiction_id", "xixiang")]).await,
        403,
    );
    assert_errors(
        &get(
            &app.intake,
            &format!("/open311/v2/requests/{number}.json?jurisdiction_id=xixiang&api_key={key_a}"),
        )
        .await,
        403,
    );
    assert_errors(
        &get(
            &app.intake,
            &format!("/open311/v2/requests/{number}.json?jurisdiction_id=xixiang&api_key={key_b}"),
        )
        .await,
        404,
    );
    assert_errors(
        &get(
            &app.intake,
            &format!("/open311/v2/tokens/{token}.json?jurisdiction_id=xixiang&api_key={key_b}"),
        )
        .await,
        404,
    );
    let listed = get(
        &app.intake,
        &format!("/open311/v2/requests.json?jurisdiction_id=xixiang&api_key={key_b}"),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(listed, json!([]));
    let listed = get(
        &app.intake,
        &format!("/open311/v2/requests.json?jurisdiction_id=dongxiang&api_key={key_a}"),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(listed[0]["service_request_id"], number);
    assert_eq!(listed[0]["agency_responsible"], "dongxiang镇");
    app.stop().await;
}

#[tokio::test]
async fn listing_defaults_to_ninety_days_and_stops_at_a_thousand() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "qianjian").await;
    let app = TestApp::monolith(&env).await;
    let (_, key) = issue(&admin(&app, &fx).await, "热线").await;
    // 1005 reports of the last days (one closed of every five), and three of 100 days ago.
    let mut owner = env.database.owner().await;
    sqlx::query(
        "INSERT INTO intake.reports (id, tenant_id, tracking_number, status_secret_hash, grid_node_id, \
             category, description, channel, status, submitted_at, updated_at) \
         SELECT gen_random_uuid(), $1, 'QIANJIAN-BULK-' || i, '\\x00'::bytea, $2, 'roads', '路灯', 'qr', \
             CASE WHEN i % 5 = 0 THEN 'closed' ELSE 'assigned' END, \
             now() - i * interval '1 minute', now() - i * interval '1 minute' \
         FROM generate_series(1, 1005) AS i \
         UNION ALL \
         SELECT gen_random_uuid(), $1, 'QIANJIAN-OLD-' || i, '\\x00'::bytea, $2, 'dispute', '纠纷', 'qr', 'closed', \
             now() - interval '100 days', now() - interval '100 days' \
         FROM generate_series(1, 3) AS i",
    )
    .bind(fx.tenant.as_uuid())
    .bind(fx.grid.as_uuid())
    .execute(&mut owner)
    .await
    .expect("arranging the reports");

    let all = get(
        &app.intake,
        &format!("/open311/v2/requests.json?api_key={key}"),
    )
    .await
    .expect(200)
    .json();
    let all = all.as_array().expect("a list");
    assert_eq!(all.len(), 1000);
    assert_eq!(
        all[0]["service_request_id"], "QIANJIAN-BULK-1",
        "newest first"
    );
    assert!(all.iter().all(|r| r["service_code"] == "roads"));
    let raw = get(
        &app.intake,
        &format!("/open311/v2/requests.xml?api_key={key}"),
    )
    .await
    .expect(200);
    assert_eq!(elements(raw.xml().root_element(), "request").len(), 1000);

    let closed = get(
        &app.intake,
        &format!("/open311/v2/requests.json?api_key={key}&status=closed"),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(closed.as_array().map(Vec::len), Some(201));
    let open = get(
        &app.intake,
        &format!("/open311/v2/requests.json?api_key={key}&status=open&service_code=roads"),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(open.as_array().map(Vec::len), Some(804));
    let none = get(
        &app.intake,
        &format!("/open311/v2/requests.json?api_key={key}&service_code=dispute"),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(none, json!([]), "100 days ago is outside the default span");

    // Asked for, the old ones are there; by id too, whatever the dates.
    let from = (Utc::now() - chrono::Duration::days(120)).to_rfc3339();
    let until = (Utc::now() - chrono::Duration::days(95)).to_rfc3339();
    let old = get(
        &app.intake,
        &format!(
            "/open311/v2/requests.json?api_key={key}&start_date={}&end_date={}",
            urlencode(&from),
            urlencode(&until)
        ),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(old.as_array().map(Vec::len), Some(3));
    assert!(
        old.as_array()
            .expect("a list")
            .iter()
            .all(|r| r["status"] == "closed")
    );
    let picked = get(
        &app.intake,
        &format!("/open311/v2/requests.json?api_key={key}&service_request_id=QIANJIAN-OLD-1,QIANJIAN-BULK-7,NOPE"),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(picked.as_array().map(Vec::len), Some(2));
    app.stop().await;
}
