//! Refusals in the specification's error lists.

use super::*;

#[tokio::test]
async fn bad_requests_are_refused_in_the_specifications_error_lists() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "cuowu").await;
    let app = TestApp::monolith(&env).await;
    let admin = admin(&app, &fx).await;
    let (_, key) = issue(&admin, "县平台").await;

    // No key, a wrong key: 403, in the format asked for.
    for path in ["/open311/v2/requests.json", "/open311/v2/requests.xml"] {
        let raw = post_form(
            &app.intake,
            path,
            &[
                ("service_code", "roads"),
                ("description", "x"),
                ("lat", "34"),
                ("long", "108"),
            ],
        )
        .await;
        assert_errors(&raw, 403);
        let raw = post_form(
            &app.intake,
            path,
            &[
                ("api_key", "mso_wrong"),
                ("service_code", "roads"),
                ("description", "x"),
                ("lat", "34"),
                ("long", "108"),
            ],
        )
        .await;
        assert_errors(&raw, 403);
    }
    assert_errors(&get(&app.intake, "/open311/v2/requests.json").await, 403);
    assert_errors(
        &get(&app.intake, "/open311/v2/requests.xml?api_key=nope").await,
        403,
    );

    // Each bad field: 400, naming it.
    let long_text = "很".repeat(1501);
    let long_url = format!("https://e.cn/{}", "a".repeat(300));
    let cases: [(&[(&str, &str)], &str); 9] = [
        (&[("service_code", "")], "service_code"),
        (&[("service_code", "flying_cars")], "service_code"),
        (&[("lat", "91")], "lat"),
        (&[("long", "abc")], "long"),
        (&[("description", long_text.as_str())], "description"),
        (&[("media_url", "javascript:alert(1)")], "media_url"),
        (&[("media_url", long_url.as_str())], "media_url"),
        (&[("phone", "12345")], "phone"),
        (&[("email", "not an address")], "email"),
    ];
    for (change, field) in cases {
        let mut form: Vec<(&str, &str)> = vec![
            ("api_key", key.as_str()),
            ("service_code", "roads"),
            ("description", "路灯不亮"),
            ("lat", "34.1"),
            ("long", "108.2"),
        ];
        for (name, value) in change {
            form.retain(|(n, _)| n != name);
            form.push((name, value));
        }
        let raw = post_form(&app.intake, "/open311/v2/requests.json", &form).await;
        assert_errors(&raw, 400);
        assert!(raw.text.contains(field), "{field}: {}", raw.text);
    }
    // Neither a point nor an address.
    let raw = post_form(
        &app.intake,
        "/open311/v2/requests.xml",
        &[
            ("api_key", key.as_str()),
            ("service_code", "roads"),
            ("description", "路灯不亮"),
        ],
    )
    .await;
    assert_errors(&raw, 400);
    // An address alone is a place.
    let raw = post_form(
        &app.intake,
        "/open311/v2/requests.xml",
        &[
            ("api_key", key.as_str()),
            ("service_code", "roads"),
            ("description", "路灯不亮"),
            ("address_string", "镇政府门口"),
        ],
    )
    .await
    .expect(201);
    let doc = raw.xml();
    assert_eq!(doc.root_element().tag_name().name(), "service_requests");
    let request = elements(doc.root_element(), "request")[0];
    assert!(!child(request, "service_request_id").is_empty());
    assert_eq!(child(request, "account_id"), "");
    // Not a form; a body over the limit.
    let raw = read(
        app.intake
            .http
            .post(app.intake.url("/open311/v2/requests.json"))
            .json(&json!({"api_key": key}))
            .send()
            .await
            .expect("POST"),
    )
    .await;
    assert_errors(&raw, 400);
    let huge = "a".repeat(30 * 1024);
    let raw = post_form(
        &app.intake,
        "/open311/v2/requests.json",
        &[("api_key", key.as_str()), ("description", huge.as_str())],
    )
    .await;
    assert_errors(&raw, 413);
    assert!(raw.text.contains("24 KiB"), "{}", raw.text);

    // Reads: unknown ids and tokens, bad dates, spans, lists and statuses.
    let k = format!("api_key={key}");
    assert_errors(
        &get(
            &app.intake,
            &format!("/open311/v2/requests/CUOWU-20260101-0001.json?{k}"),
        )
        .await,
        404,
    );
    assert_errors(
        &get(&app.intake, &format!("/open311/v2/requests/x.xml?{k}")).await,
        404,
    );
    assert_errors(
        &get(
            &app.intake,
            &format!("/open311/v2/tokens/{}.json?{k}", uuid::Uuid::now_v7()),
        )
        .await,
        404,
    );
    assert_errors(
        &get(&app.intake, &format!("/open311/v2/tokens/nothing.xml?{k}")).await,
        404,
    );
    assert_errors(
        &get(
            &app.intake,
            &format!("/open311/v2/requests.json?{k}&start_date=2026-12-01T00:00:00"),
        )
        .await,
        400,
    );
    assert_errors(&get(&app.intake, &format!("/open311/v2/requests.json?{k}&start_date=2026-01-01T00:00:00Z&end_date=2026-12-01T00:00:00Z")).await, 400);
    assert_errors(&get(&app.intake, &format!("/open311/v2/requests.json?{k}&start_date=2026-12-02T00:00:00Z&end_date=2026-12-01T00:00:00Z")).await, 400);
    assert_errors(
        &get(
            &app.intake,
            &format!("/open311/v2/requests.json?{k}&status=pending"),
        )
        .await,
        400,
    );
    let ids = vec!["X"; 101].join(",");
    assert_errors(
        &get(
            &app.intake,
            &format!("/open311/v2/requests.xml?{k}&service_request_id={ids}"),
        )
        .await,
        400,
    );
    app.stop().await;
}
