//! Duty, leave and substitutes set on a person's duty page; the next case of their
//! grid goes to whoever covers.

use chrono::{Duration, Utc};
use mashang_tests::browser::Browser;
use mashang_tests::{PASSWORD, TestApp, TestEnv, seed_tenant};
use serde_json::json;

use super::{local, next_case, phone, sign_in};

/// Adds a person through the people page; returns their id.
async fn add_person(b: &Browser, csrf: &str, name: &str, role: &str, node: &str) -> String {
    let phone = phone();
    let to = b
        .post(
            "/admin/people",
            &[
                ("_csrf", csrf),
                ("name", name),
                ("phone", &phone),
                ("username", ""),
                ("role", role),
                ("node_id", node),
            ],
        )
        .await
        .see_other();
    to.trim_start_matches("/admin/people/")
        .split('?')
        .next()
        .expect("an id")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_and_off_duty_send_the_next_case_to_the_substitute() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "dutyleave").await;
    let app = TestApp::monolith(&env).await;
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;
    let b = Browser::new(&app.routing.base);
    let csrf = sign_in(&b, &fx.logins.admin).await;
    // Someone the ladder never reaches from the grid before the grid leader: only a
    // substitution brings them a grid's case.
    let sub = add_person(&b, &csrf, "赵代班", "village_head", &fx.village.to_string()).await;

    let duty = format!("/admin/people/{}/duty", fx.worker);
    let page = b.get(&duty).await.expect(200);
    assert!(page.has("在岗 <span class=\"gloss\">(on duty)</span>"));
    assert!(page.has(&format!(r#"<option value="{sub}">赵代班"#)));
    assert!(
        !page.has(&format!(r#"<option value="{}""#, fx.worker)),
        "not themselves"
    );
    assert!(page.has("Asia/Shanghai"), "the zone the times are read in");
    assert!(
        b.get(&format!("/admin/people/{}", fx.worker))
            .await
            .expect(200)
            .has(&format!(r#"href="{duty}""#))
    );

    // On leave since an hour ago, for two days, with a substitute.
    let (from, until) = (
        local(Utc::now() - Duration::hours(1)),
        local(Utc::now() + Duration::days(2)),
    );
    let to = b
        .post(
            &duty,
            &[
                ("_csrf", &csrf),
                ("on_duty", "true"),
                ("leave_from", &from),
                ("leave_until", &until),
                ("substitute_id", &sub),
            ],
        )
        .await
        .see_other();
    let page = b.get(&to).await.expect(200);
    assert!(page.has("已保存") && page.has(&format!(r#"value="{from}""#)));
    assert!(page.has("请假中") && page.has("由 <strong>赵代班</strong> 代班"));
    let people = b.get("/admin/people").await.expect(200);
    assert!(people.has("现在不接新案件的人") && people.has("由 <strong>赵代班</strong> 代班"));
    assert_eq!(next_case(&app, &fx, &centre, "roads").await, sub);

    // The rules page shows who covers for whom.
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    admin
        .post_json(
            "/api/v1/admin/assignment-rules",
            &json!({"category": "dispute", "target_node": fx.grid, "target_role": "grid_worker"}),
        )
        .await
        .expect(201);
    let rules = b.get("/admin/assignment-rules").await.expect(200);
    assert!(rules.has("王网格：") && rules.has("由 <strong>赵代班</strong> 代班"));

    // Off duty (the leave ended) with the same substitute: the substitute again.
    b.post(
        &duty,
        &[
            ("_csrf", &csrf),
            ("on_duty", "false"),
            ("leave_from", &from),
            ("leave_until", &until),
            ("substitute_id", &sub),
            ("end_leave", "1"),
        ],
    )
    .await
    .see_other();
    let page = b.get(&duty).await.expect(200);
    assert!(page.has("不在岗") && page.has(r#"name="leave_from" value="""#));
    assert_eq!(next_case(&app, &fx, &centre, "roads").await, sub);

    // Off duty without a substitute: one level up (the village's grid leader), never
    // the person off duty.
    b.post(
        &duty,
        &[
            ("_csrf", &csrf),
            ("on_duty", "false"),
            ("substitute_id", ""),
        ],
    )
    .await
    .see_other();
    assert!(b.get("/admin/people").await.has("，无代班人"));
    assert_eq!(
        next_case(&app, &fx, &centre, "roads").await,
        fx.leader.to_string()
    );

    // A leave still to come changes nothing yet, and is shown.
    b.post(
        &duty,
        &[
            ("_csrf", &csrf),
            ("on_duty", "true"),
            ("leave_from", &local(Utc::now() + Duration::days(1))),
            ("leave_until", ""),
            ("substitute_id", &sub),
        ],
    )
    .await
    .see_other();
    assert!(b.get("/admin/people").await.has("起请假"));
    assert_eq!(
        next_case(&app, &fx, &centre, "roads").await,
        fx.worker.to_string()
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_duty_input_is_refused_with_the_input_kept_and_others_are_kept_out() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "dutybad").await;
    let other = seed_tenant(env.db(), "dutybadb").await;
    let app = TestApp::monolith(&env).await;
    let b = Browser::new(&app.routing.base);
    let csrf = sign_in(&b, &fx.logins.admin).await;
    let duty = format!("/admin/people/{}/duty", fx.worker);
    let leader = fx.leader.to_string();
    let post = |fields: Vec<(&'static str, String)>| {
        let b = &b;
        let duty = &duty;
        let csrf = csrf.clone();
        async move {
            let mut form: Vec<(&str, &str)> = vec![("_csrf", csrf.as_str())];
            form.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
            b.post(duty, &form).await
        }
    };

    let from = local(Utc::now() + Duration::days(2));
    let until = local(Utc::now() + Duration::days(1));
    let page = post(vec![
        ("on_duty", "true".into()),
        ("leave_from", from.clone()),
        ("leave_until", until.clone()),
        ("substitute_id", leader.clone()),
    ])
    .await
    .expect(422);
    assert!(page.has("须晚于开始时间") && page.has(&format!(r#"value="{until}""#)));
    assert!(page.has(&format!(r#"<option value="{leader}" selected>"#)));

    let page = post(vec![
        ("on_duty", "true".into()),
        ("leave_from", "明天".into()),
        ("leave_until", until.clone()),
    ])
    .await
    .expect(422);
    assert!(page.has("日期时间格式应为") && page.has(r#"value="明天""#));
    assert!(!page.has("请填写请假开始时间"), "one reason per field");

    let page = post(vec![
        ("on_duty", "true".into()),
        ("leave_until", until.clone()),
    ])
    .await
    .expect(422);
    assert!(page.has("请填写请假开始时间"));

    let page = post(vec![
        ("on_duty", "true".into()),
        ("leave_from", local(Utc::now())),
        ("leave_until", local(Utc::now() + Duration::days(400))),
    ])
    .await
    .expect(422);
    assert!(page.has("请假最长一年"));

    let page = post(vec![
        ("on_duty", "true".into()),
        ("substitute_id", fx.worker.to_string()),
    ])
    .await
    .expect(422);
    assert!(page.has("代班人不能是本人"));
    let page = post(vec![
        ("on_duty", "true".into()),
        ("substitute_id", other.worker.to_string()),
    ])
    .await
    .expect(422);
    assert!(page.has("查无此人"));
    let page = post(vec![("on_duty", "maybe".into())]).await.expect(422);
    assert!(page.has("请选择在岗或不在岗"));
    // An overlong value is refused as a time, not stored or echoed in full.
    let long = "2".repeat(10_000);
    post(vec![("on_duty", "true".into()), ("leave_from", long)])
        .await
        .expect(422);

    // The JSON API refuses the same things, naming the fields.
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    let fields = admin
        .put_json(
            &format!("/api/v1/admin/people/{}/duty", fx.worker),
            &json!({"on_duty": true, "substitute_id": other.worker}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["substitute_id"]);
    let fields = admin
        .put_json(
            &format!("/api/v1/admin/people/{}/duty", fx.worker),
            &json!({"on_duty": true, "leave_from": Utc::now(), "leave_until": Utc::now() - Duration::hours(1), "substitute_id": fx.worker}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["leave_until", "substitute_id"]);

    // Nothing was stored by any of these.
    assert!(
        b.get(&duty)
            .await
            .expect(200)
            .has("在岗 <span class=\"gloss\">(on duty)</span>")
    );

    // Another township's person is not there; roles that may not are refused.
    b.get(&format!("/admin/people/{}/duty", other.worker))
        .await
        .expect(404);
    b.post(
        &format!("/admin/people/{}/duty", other.worker),
        &[("_csrf", &csrf), ("on_duty", "false")],
    )
    .await
    .expect(404);
    b.get("/admin/people/not-an-id/duty").await.expect(404);
    for login in [&fx.logins.worker, &fx.logins.centre] {
        let someone = Browser::new(&app.routing.base);
        let token = someone.get("/login").await.expect(200).csrf();
        someone
            .post(
                "/login",
                &[("_csrf", &token), ("login", login), ("password", PASSWORD)],
            )
            .await
            .see_other();
        let theirs = someone.get("/admin").await.expect(200).csrf();
        someone.get(&duty).await.expect(403);
        someone
            .post(&duty, &[("_csrf", &theirs), ("on_duty", "false")])
            .await
            .expect(403);
    }
    app.stop().await;
}
