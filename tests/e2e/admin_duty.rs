//! The administrator's pages for who gets which case, as a browser without JavaScript
//! uses them: assignment rules, a person's duty, leave and substitute, and the reply
//! templates; each change seen where it matters (the next case's assignee, the
//! console's phrase chips), bad input refused with the input kept, other roles
//! refused and other townships' ids not found.

use chrono::{Duration, FixedOffset, Utc};
use mashang_tests::browser::Browser;
use mashang_tests::cases::case_id;
use mashang_tests::intake::{post_report, report};
use mashang_tests::{Client, Fixture, PASSWORD, TestApp, TestEnv, seed_tenant};
use serde_json::{Value, json};

/// Signs in through the form; returns the CSRF token of the session.
async fn sign_in(b: &Browser, login: &str) -> String {
    let token = b.get("/login").await.expect(200).csrf();
    b.post(
        "/login",
        &[("_csrf", &token), ("login", login), ("password", PASSWORD)],
    )
    .await
    .see_other();
    b.get("/admin").await.expect(200).csrf()
}

/// Submits a report of `category` at the fixture's grid; returns who got its case.
async fn next_case(app: &TestApp, fx: &Fixture, centre: &Client, category: &str) -> String {
    let mut body = report(&fx.qr_token, "村口路灯坏了，晚上看不见路");
    body["category"] = category.into();
    let created = post_report(&app.intake, &body, None).await.expect(201);
    let tracking = created.body["tracking_number"].as_str().expect("a number");
    let id = case_id(centre, tracking).await;
    let case = centre
        .get(&format!("/api/v1/cases/{id}"))
        .await
        .expect(200)
        .body;
    case["assignee_id"].as_str().unwrap_or_default().to_owned()
}

/// A moment as a `datetime-local` field in the fixtures' zone (Asia/Shanghai) holds it.
fn local(at: chrono::DateTime<Utc>) -> String {
    let zone = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    at.with_timezone(&zone).format("%Y-%m-%dT%H:%M").to_string()
}

/// A mobile number no other test uses.
fn phone() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 100_000_000;
    format!("137{n:08}")
}

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

    // Deleting the rule on the page: disputes go back to the grid's worker.
    let rules = app
        .routing
        .signed_in(&fx.logins.admin, PASSWORD)
        .await
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
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
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

/// The texts of a kind in order, as the console's API gives them.
async fn phrases(client: &Client, kind: &str) -> Vec<String> {
    client
        .get(&format!("/api/v1/reply-templates?kind={kind}"))
        .await
        .expect(200)
        .body["templates"]
        .as_array()
        .expect("templates")
        .iter()
        .map(|t| t["text"].as_str().expect("a text").to_owned())
        .collect()
}

/// The admin API's phrases of a kind: (id, text).
async fn admin_phrases(admin: &Client, kind: &str) -> Vec<(String, String)> {
    admin
        .get(&format!("/api/v1/admin/reply-templates?kind={kind}"))
        .await
        .expect(200)
        .body["templates"]
        .as_array()
        .expect("templates")
        .iter()
        .map(|t: &Value| {
            (
                t["id"].as_str().expect("an id").to_owned(),
                t["text"].as_str().expect("a text").to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_templates_edited_on_the_page_reach_the_api_and_the_case_chips() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "phrasepg").await;
    let other = seed_tenant(env.db(), "phrasepgb").await;
    let app = TestApp::monolith(&env).await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let b = Browser::new(&app.routing.base);
    let csrf = sign_in(&b, &fx.logins.admin).await;

    // Every township starts with zh-CN defaults of each kind.
    for kind in ["first_call", "reply", "answer", "follow_up"] {
        let mine = admin_phrases(&admin, kind).await;
        assert!(mine.len() >= 3, "{kind}: {mine:?}");
    }
    let page = b.get("/admin/reply-templates").await.expect(200);
    for heading in ["联系群众（首次电话回复）", "回复与说明", "办结答复", "回访"]
    {
        assert!(page.has(heading), "{heading}");
    }
    assert!(!page.has("补回"), "nothing to bring back");

    // Add one, edit another, move the new one to the top.
    let added = "您好，我是新庄村网格员，已收到您的反映，半小时内到现场。";
    let to = b
        .post(
            "/admin/reply-templates",
            &[("_csrf", &csrf), ("kind", "first_call"), ("text", added)],
        )
        .await
        .see_other();
    assert_eq!(to, "/admin/reply-templates?ok=added#kind-first_call");
    let first_calls = admin_phrases(&admin, "first_call").await;
    let (old_id, old_text) = first_calls[1].clone();
    let new_id = first_calls.last().expect("the new phrase").0.clone();
    let edited = "已电话联系群众，约定今天下午上门处理。";
    b.post(
        &format!("/admin/reply-templates/{old_id}"),
        &[("_csrf", &csrf), ("text", &format!("  {edited}\r\n"))],
    )
    .await
    .see_other();
    for _ in 0..first_calls.len() {
        b.post(
            &format!("/admin/reply-templates/{new_id}/up"),
            &[("_csrf", &csrf), ("text", added)],
        )
        .await
        .see_other();
    }
    let seen = phrases(&worker, "first_call").await;
    assert_eq!(seen[0], added, "moved to the top: {seen:?}");
    assert!(seen.contains(&edited.to_owned()) && !seen.contains(&old_text));

    // The case page's chips offer them.
    let body = report(&fx.qr_token, "路灯不亮");
    let created = post_report(&app.intake, &body, None).await.expect(201);
    let case = case_id(
        &worker,
        created.body["tracking_number"].as_str().expect("a number"),
    )
    .await;
    let w = Browser::new(&app.routing.base);
    let token = w.get("/login").await.expect(200).csrf();
    w.post(
        "/login",
        &[
            ("_csrf", &token),
            ("login", &fx.logins.worker),
            ("password", PASSWORD),
        ],
    )
    .await
    .see_other();
    let case_page = w.get(&format!("/console/cases/{case}")).await.expect(200);
    assert!(case_page.has(&format!(r#"data-text="{added}""#)));
    assert!(case_page.has(&format!(r#"data-text="{edited}""#)));
    assert!(!case_page.has(&format!(r#"data-text="{old_text}""#)));

    // Bad input: the page again with what was typed and the reason.
    let long = "长".repeat(501);
    let refused = b
        .post(
            "/admin/reply-templates",
            &[("_csrf", &csrf), ("kind", "reply"), ("text", &long)],
        )
        .await
        .expect(422);
    assert!(refused.has("最多 500 个字") && refused.has(&format!(">{long}</textarea>")));
    let refused = b
        .post(
            &format!("/admin/reply-templates/{old_id}"),
            &[("_csrf", &csrf), ("text", "   ")],
        )
        .await
        .expect(422);
    assert!(refused.has("请填写常用语的内容") && refused.has(&format!("e-{old_id}")));
    let refused = b
        .post(
            "/admin/reply-templates",
            &[("_csrf", &csrf), ("kind", "first_call"), ("text", added)],
        )
        .await
        .expect(422);
    assert!(refused.has("这一类里已经有这句常用语"));
    b.post(
        "/admin/reply-templates",
        &[("_csrf", &csrf), ("kind", "gossip"), ("text", "你好")],
    )
    .await
    .expect(422);
    assert_eq!(
        phrases(&worker, "first_call").await,
        seen,
        "nothing changed"
    );

    // Bounded: at most 20 of a kind, on the page and through the API alike.
    let have = admin_phrases(&admin, "reply").await.len();
    for n in have..20 {
        admin
            .post_json(
                "/api/v1/admin/reply-templates",
                &json!({"kind": "reply", "text": format!("第{n}条回复")}),
            )
            .await
            .expect(201);
    }
    let full = b
        .post(
            "/admin/reply-templates",
            &[("_csrf", &csrf), ("kind", "reply"), ("text", "再多一条")],
        )
        .await
        .expect(422);
    assert!(full.has("每一类最多 20 条常用语") && full.has("再多一条"));
    let fields = admin
        .post_json(
            "/api/v1/admin/reply-templates",
            &json!({"kind": "reply", "text": "再多一条"}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["text"]);

    // The JSON API: edit and move, delete; another township's phrase is not there.
    let (id, _) = admin_phrases(&admin, "answer").await[0].clone();
    let moved = admin
        .put_json(
            &format!("/api/v1/admin/reply-templates/{id}"),
            &json!({"text": "经现场核实，已处理完毕。", "position": 2}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(moved["position"], 2);
    assert_eq!(
        phrases(&worker, "answer").await[1],
        "经现场核实，已处理完毕。"
    );
    let theirs = admin_phrases(
        &app.routing.signed_in(&other.logins.admin, PASSWORD).await,
        "answer",
    )
    .await[0]
        .0
        .clone();
    admin
        .put_json(
            &format!("/api/v1/admin/reply-templates/{theirs}"),
            &json!({"text": "改掉"}),
        )
        .await
        .expect(404);
    b.post(
        &format!("/admin/reply-templates/{theirs}"),
        &[("_csrf", &csrf), ("text", "改掉")],
    )
    .await
    .expect(404);
    b.post(
        &format!("/admin/reply-templates/{theirs}/delete"),
        &[("_csrf", &csrf)],
    )
    .await
    .expect(404);
    b.post(
        &format!("/admin/reply-templates/{id}/sideways"),
        &[("_csrf", &csrf)],
    )
    .await
    .expect(404);
    worker
        .post_json(
            "/api/v1/admin/reply-templates",
            &json!({"kind": "reply", "text": "网格员自己加的"}),
        )
        .await
        .expect(403);
    assert_eq!(
        delete_status(&admin, &format!("/api/v1/admin/reply-templates/{theirs}")).await,
        404
    );

    // Deleting every follow-up phrase on the page, then bringing the defaults back.
    for (id, _) in admin_phrases(&admin, "follow_up").await {
        let to = b
            .post(
                &format!("/admin/reply-templates/{id}/delete"),
                &[("_csrf", &csrf)],
            )
            .await
            .see_other();
        assert_eq!(to, "/admin/reply-templates?ok=deleted#kind-follow_up");
    }
    assert!(phrases(&worker, "follow_up").await.is_empty());
    let page = b.get("/admin/reply-templates").await.expect(200);
    assert!(page.has("补回 3 条默认常用语"));
    b.post(
        "/admin/reply-templates/defaults",
        &[("_csrf", &csrf), ("kind", "follow_up")],
    )
    .await
    .see_other();
    let back = phrases(&worker, "follow_up").await;
    assert_eq!(back.len(), 3, "{back:?}");
    assert!(back[0].starts_with("回访群众"));

    // A grid worker may not open the page.
    w.get("/admin/reply-templates").await.expect(403);
    app.stop().await;
}

/// DELETE with the client's session; the status.
async fn delete_status(client: &Client, path: &str) -> u16 {
    client
        .http
        .delete(client.url(path))
        .send()
        .await
        .expect("DELETE")
        .status()
        .as_u16()
}
