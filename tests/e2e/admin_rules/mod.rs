//! The township administrator's rule pages as a browser without script uses them:
//! SLA policies, the working calendar, township settings and categories, each change
//! through a plain form, and the next case a citizen sends taking it.

mod calendar;
mod settings;

use chrono::{DateTime, Duration, Utc};
use mashang_tests::browser::{Browser, Page};
use mashang_tests::cases::case_id;
use mashang_tests::{Client, Fixture, PASSWORD, TestApp, TestEnv, seed_tenant};
use serde_json::{Value, json};

/// Signs in through the sign-in form; the session's CSRF token.
pub(super) async fn sign_in(b: &Browser, login: &str) -> String {
    let form = b.get("/login").await.expect(200).csrf();
    b.post(
        "/login",
        &[("_csrf", &form), ("login", login), ("password", PASSWORD)],
    )
    .await
    .see_other();
    b.get("/admin").await.expect(200).csrf()
}

/// A citizen's report through the intake API; the case as `viewer` sees it.
pub(super) async fn new_case(
    app: &TestApp,
    fx: &Fixture,
    category: &str,
    viewer: &Client,
) -> Value {
    let created = app
        .intake
        .post_json(
            "/api/v1/reports",
            &json!({"qr_token": fx.qr_token, "category": category, "description": "路灯不亮"}),
        )
        .await
        .expect(201);
    let tracking = created.body["tracking_number"].as_str().expect("a number");
    let id = case_id(viewer, tracking).await;
    viewer
        .get(&format!("/api/v1/cases/{id}"))
        .await
        .expect(200)
        .body
}

pub(super) fn time(case: &Value, field: &str) -> DateTime<Utc> {
    serde_json::from_value(case[field].clone()).expect("a time")
}

/// The policy form's fields: (amount, unit, reminders) for first response, resolution
/// and follow-up.
pub(super) fn policy_form<'a>(
    csrf: &'a str,
    targets: [(&'a str, &'a str, &'a str); 3],
) -> Vec<(String, &'a str)> {
    let mut form = vec![("_csrf".to_owned(), csrf)];
    for (kind, (amount, unit, reminders)) in ["first_response", "resolution", "follow_up"]
        .into_iter()
        .zip(targets)
    {
        form.push((format!("{kind}.amount"), amount));
        form.push((format!("{kind}.unit"), unit));
        form.push((format!("{kind}.reminders"), reminders));
    }
    form
}

pub(super) async fn post_policy(b: &Browser, path: &str, form: &[(String, &str)]) -> Page {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    b.post(path, &pairs).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sla_policy_edited_in_the_form_gives_new_cases_its_deadlines() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "rulesla").await;
    let other = seed_tenant(env.db(), "rulesla2").await;
    let app = TestApp::monolith(&env).await;
    let admin = Browser::new(&app.routing.base);
    let csrf = sign_in(&admin, &fx.logins.admin).await;
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;

    let home = admin.get("/admin").await.expect(200);
    for link in [
        "/admin/settings",
        "/admin/sla-policies",
        "/admin/calendar",
        "/admin/categories",
    ] {
        assert!(
            home.has(&format!(r#"href="{link}""#)),
            "{link} on the home page"
        );
    }
    let list = admin.get("/admin/sla-policies").await.expect(200);
    assert!(list.has("全部类别") && list.has("道路交通") && list.has("系统默认"));
    assert!(list.has("修改只对修改以后新收到的事件生效") && list.has("重新适用规则"));
    assert!(list.has(r#"href="/admin/sla-policies/roads/normal""#));
    let form = admin
        .get("/admin/sla-policies/roads/normal")
        .await
        .expect(200);
    // The built-in default, as typed: 30 minutes, 3 working days, 2 working days.
    assert!(
        form.has(r#"name="first_response.amount" value="30""#),
        "{}",
        form.html
    );
    assert!(form.has(r#"name="resolution.amount" value="3""#));

    let before = new_case(&app, &fx, "roads", &centre).await;
    let path = "/admin/sla-policies/roads/normal";
    let to = post_policy(
        &admin,
        path,
        &policy_form(
            &csrf,
            [
                ("45", "wall_minutes", "50,80"),
                ("48", "wall_hours", "50"),
                ("2", "working_days", ""),
            ],
        ),
    )
    .await
    .see_other();
    assert_eq!(to, "/admin/sla-policies?ok=saved");
    let list = admin.get(&to).await.expect(200);
    assert!(list.has("已保存") && list.has("45分钟（自然时间）") && list.has("48小时（自然时间）"));
    assert!(list.has("本行设定"));

    let after = new_case(&app, &fx, "roads", &centre).await;
    let submitted = time(&after, "submitted_at");
    assert_eq!(
        time(&after, "first_response_due") - submitted,
        Duration::minutes(45)
    );
    assert_eq!(
        time(&after, "resolution_due") - submitted,
        Duration::hours(48)
    );
    // The case that came before keeps the deadlines it was given.
    let again = centre
        .get(&format!(
            "/api/v1/cases/{}",
            before["id"].as_str().expect("an id")
        ))
        .await
        .expect(200)
        .body;
    assert_eq!(again["first_response_due"], before["first_response_due"]);
    assert_eq!(
        time(&before, "first_response_due") - time(&before, "submitted_at"),
        Duration::minutes(30)
    );
    // Other categories still take the all-categories row (here the default).
    let other_category = new_case(&app, &fx, "dispute", &centre).await;
    assert_eq!(
        time(&other_category, "first_response_due") - time(&other_category, "submitted_at"),
        Duration::minutes(30)
    );

    // Bad input: the form again (422), what was typed kept, the reason in words, and
    // the policy unchanged.
    for (targets, words) in [
        (
            [
                ("0", "wall_minutes", "50"),
                ("3", "working_days", ""),
                ("2", "working_days", ""),
            ],
            "至少1分钟",
        ),
        (
            [
                ("半小时", "wall_minutes", ""),
                ("3", "working_days", ""),
                ("2", "working_days", ""),
            ],
            "请填写整数",
        ),
        (
            [
                ("30", "wall_minutes", "80,50"),
                ("3", "working_days", ""),
                ("2", "working_days", ""),
            ],
            "从小到大排列",
        ),
        (
            [
                ("30", "fortnights", ""),
                ("3", "working_days", ""),
                ("2", "working_days", ""),
            ],
            "请选择单位",
        ),
        (
            [
                ("30", "wall_minutes", ""),
                ("251", "working_days", ""),
                ("2", "working_days", ""),
            ],
            "最长366天或250个工作日",
        ),
    ] {
        let refused = post_policy(&admin, path, &policy_form(&csrf, targets))
            .await
            .expect(422);
        assert!(refused.has(words), "{words}: {}", refused.html);
        assert!(refused.has("没有保存"));
        let (amount, _, reminders) = targets[0];
        assert!(
            refused.has(&format!(r#"name="first_response.amount" value="{amount}""#)),
            "the amount is kept: {}",
            refused.html
        );
        assert!(refused.has(&format!(
            r#"name="first_response.reminders" value="{reminders}""#
        )));
    }
    let api = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    let policy = api
        .get("/api/v1/admin/sla-policies/roads/normal")
        .await
        .expect(200)
        .body;
    assert_eq!(policy["first_response"]["length"]["wall_minutes"], 45);

    // Unknown categories and priorities, and another township's category, are not found.
    api.put_json(
        "/api/v1/admin/categories/rulesla_own",
        &json!({"name_zh": "本镇类别", "name_en": "Own"}),
    )
    .await
    .expect(200);
    let outsider = app.routing.signed_in(&other.logins.admin, PASSWORD).await;
    outsider
        .put_json(
            "/api/v1/admin/categories/elsewhere",
            &json!({"name_zh": "外镇类别", "name_en": "Elsewhere"}),
        )
        .await
        .expect(200);
    for missing in [
        "/admin/sla-policies/elsewhere/normal",
        "/admin/sla-policies/nosuch/normal",
        "/admin/sla-policies/roads/sometimes",
    ] {
        admin.get(missing).await.expect(404);
        post_policy(
            &admin,
            missing,
            &policy_form(
                &csrf,
                [
                    ("10", "wall_minutes", ""),
                    ("1", "working_days", ""),
                    ("1", "working_days", ""),
                ],
            ),
        )
        .await
        .expect(404);
    }
    let theirs = outsider
        .get("/api/v1/admin/sla-policies/elsewhere/normal")
        .await
        .expect(200)
        .body;
    assert_eq!(theirs["first_response"]["length"]["wall_minutes"], 30);
    admin
        .get("/admin/sla-policies/rulesla_own/urgent")
        .await
        .expect(200);
    // The all-categories row has its own form.
    admin.get("/admin/sla-policies/*/urgent").await.expect(200);

    // A grid worker may not open or post any of it.
    let worker = Browser::new(&app.routing.base);
    let worker_csrf = sign_in(&worker, &fx.logins.worker).await;
    worker.get("/admin/sla-policies").await.expect(403);
    worker.get(path).await.expect(403);
    post_policy(
        &worker,
        path,
        &policy_form(
            &worker_csrf,
            [
                ("1", "wall_minutes", ""),
                ("1", "working_days", ""),
                ("1", "working_days", ""),
            ],
        ),
    )
    .await
    .expect(403);
    assert!(
        !worker
            .get("/console")
            .await
            .has(r#"href="/admin/settings""#)
    );
    app.stop().await;
}
