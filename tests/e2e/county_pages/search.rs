//! 案件查询: another township's case found, opened only with a reason, read-only, and
//! every view recorded.

use mashang_tests::cases::case_id;
use mashang_tests::intake::upload_ok;
use mashang_tests::seed_tenant;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_county_opens_another_township_s_case_read_only_and_every_view_is_recorded() {
    let env = TestEnv::new().await;
    let a = seed_tenant(env.db(), "cpviewa").await;
    let b = seed_tenant(env.db(), "cpviewb").await;
    let app = TestApp::monolith(&env).await;
    let photo = upload_ok(
        &app.intake,
        &b.qr_token,
        mashang_tests::photo::jpeg(20_000, 3),
        "lamp.jpg",
        "image/jpeg",
    )
    .await;
    let tracking = report(
        &app,
        &b,
        json!({"category": "roads", "description": "桥面塌了一块", "contact_phone": "13912345678",
               "attachment_ids": [photo]}),
    )
    .await;
    report(
        &app,
        &a,
        json!({"category": "roads", "description": "别的镇的案件"}),
    )
    .await;
    let b_worker = app.routing.signed_in(&b.logins.worker, PASSWORD).await;
    let id = case_id(&b_worker, &tracking).await;
    let county = county_browser(&env, &app, "13600000031", Role::CountyCentre).await;

    // By tracking number, across townships.
    let found = county
        .get(&format!("/county/search?q={}", tracking.to_lowercase()))
        .await
        .expect(200);
    let open_path = format!("/county/cases/{}/{id}", b.code);
    assert!(found.has(&tracking) && found.has("cpviewb镇") && found.has(&open_path));
    assert!(!found.has("cpviewa镇</td>"));
    // By township, state and dates.
    let today = Utc::now()
        .with_timezone(&FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
        .date_naive();
    let by_filters = county
        .get(&format!(
            "/county/search?q=&township={}&state=assigned&from={}&to={}",
            b.code,
            today - chrono::Duration::days(1),
            today
        ))
        .await
        .expect(200);
    assert!(by_filters.has(&tracking) && by_filters.has("本页 1 件"));
    let other_state = county
        .get(&format!("/county/search?township={}&state=closed", b.code))
        .await
        .expect(200);
    assert!(!other_state.has(&tracking) && other_state.has("没有符合条件的案件"));
    // Bounded: a year at once, a backwards range, a word that is no tracking number.
    let too_long = county
        .get("/county/search?from=2025-01-01&to=2026-01-01")
        .await
        .expect(422);
    assert!(too_long.has("一次最多查 92 天"));
    county
        .get("/county/search?from=2026-02-02&to=2026-02-01")
        .await
        .expect(422);
    county.get("/county/search?q=桥面").await.expect(422);
    county
        .get("/county/search?township=nosuch")
        .await
        .expect(422);

    // Opening asks why; without a reason it is refused and nothing is recorded.
    let ask = county.get(&open_path).await.expect(200);
    assert!(ask.has("查阅事由") && ask.has(&tracking) && !ask.has("桥面塌了一块"));
    let token = ask.csrf();
    let refused = county
        .post(&open_path, &[("_csrf", &token), ("reason", "")])
        .await
        .expect(422);
    assert!(refused.has("请选择查阅事由") && !refused.has("桥面塌了一块"));
    let refused = county
        .post(
            &open_path,
            &[("_csrf", &token), ("reason", "other"), ("reason_text", "")],
        )
        .await
        .expect(422);
    assert!(refused.has("请写明事由"));
    let mut owner = env.database.owner().await;
    let (views,): (i64,) = sqlx::query_as("SELECT count(*) FROM routing.county_case_views")
        .fetch_one(&mut owner)
        .await
        .expect("counting");
    assert_eq!(views, 0);

    // With a reason: the case as the township sees it, read-only, the phone masked.
    let view = county
        .post(
            &open_path,
            &[
                ("_csrf", &token),
                ("reason", "complaint"),
                ("reason_text", "群众来电投诉进度"),
            ],
        )
        .await
        .see_other();
    assert!(
        view.starts_with(&format!("/county/views/{}/", b.code)),
        "{view}"
    );
    let shown = county.get(&view).await.expect(200);
    assert!(
        shown.has("桥面塌了一块")
            && shown.has("只读查阅，已记录")
            && shown.has("投诉：群众来电投诉进度")
    );
    assert!(
        shown.has("139****5678") && !shown.has("13912345678"),
        "the phone is masked"
    );
    assert!(
        !shown.has(r#"action="/console/cases/"#) && !shown.has("tel:"),
        "no action forms"
    );
    let (_, rest) = shown
        .html
        .split_once(&format!(r#"<img src="{view}/files/"#))
        .expect("the photo");
    let file = format!("{view}/files/{}", rest.split('"').next().expect("an id"));
    let image = county.get(&file).await.expect(200);
    assert_eq!(image.header("content-type"), "image/jpeg");
    // Recorded: who, which case, which township, when, why.
    let row: (uuid::Uuid, uuid::Uuid, String, Option<String>) = sqlx::query_as(
        "SELECT v.tenant_id, v.case_id, v.reason, v.reason_text FROM routing.county_case_views v \
         JOIN routing.county_users u ON u.id = v.viewer_id WHERE u.phone = '13600000031'",
    )
    .fetch_one(&mut owner)
    .await
    .expect("the view is recorded");
    assert_eq!(row.0, b.tenant.as_uuid());
    assert_eq!(row.1.to_string(), id);
    assert_eq!(
        (row.2.as_str(), row.3.as_deref()),
        ("complaint", Some("群众来电投诉进度"))
    );
    let views = county.get("/county/views").await.expect(200);
    assert!(views.has(&tracking) && views.has("投诉：群众来电投诉进度") && views.has("cpviewb镇"));
    let filtered = county
        .get(&format!("/county/views?township={}", a.code))
        .await
        .expect(200);
    assert!(!filtered.has(&tracking));

    // A view is its viewer's: another county person gets nothing from its link.
    let other = county_browser(&env, &app, "13600000032", Role::CountyCentre).await;
    other.get(&view).await.expect(404);
    other.get(&file).await.expect(404);
    // Unknown townships and cases are not there.
    county
        .get(&format!("/county/cases/nosuch/{id}"))
        .await
        .expect(404);
    county
        .get(&format!("/county/cases/{}/{id}", a.code))
        .await
        .expect(404);
    county
        .get(&format!(
            "/county/cases/{}/{}",
            b.code,
            uuid::Uuid::now_v7()
        ))
        .await
        .expect(404);
    county
        .get(&format!("/county/supervision/{}/{id}", b.code))
        .await
        .expect(404);

    // The county's administrator sees the record, not the cases.
    let admin = county_browser(&env, &app, "13600000033", Role::CountyAdmin).await;
    let record = admin.get("/county/views").await.expect(200);
    assert!(record.has(&tracking) && !record.has(&open_path));
    for path in [
        "/county/search",
        "/county/supervision",
        open_path.as_str(),
        view.as_str(),
    ] {
        admin.get(path).await.expect(403);
    }
    let admin_token = csrf(&admin).await;
    admin
        .post(
            &open_path,
            &[("_csrf", &admin_token), ("reason", "verification")],
        )
        .await
        .expect(403);
    app.stop().await;
}
