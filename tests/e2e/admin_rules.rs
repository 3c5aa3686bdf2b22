//! The township administrator's rule pages as a browser without script uses them:
//! SLA policies, the working calendar, township settings and categories, each change
//! through a plain form, and the next case a citizen sends taking it.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use mashang_tests::browser::{Browser, Page};
use mashang_tests::cases::case_id;
use mashang_tests::{Client, Fixture, PASSWORD, TestApp, TestEnv, seed_tenant};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

/// Signs in through the sign-in form; the session's CSRF token.
async fn sign_in(b: &Browser, login: &str) -> String {
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
async fn new_case(app: &TestApp, fx: &Fixture, category: &str, viewer: &Client) -> Value {
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

fn time(case: &Value, field: &str) -> DateTime<Utc> {
    serde_json::from_value(case[field].clone()).expect("a time")
}

/// The policy form's fields: (amount, unit, reminders) for first response, resolution
/// and follow-up.
fn policy_form<'a>(
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

async fn post_policy(b: &Browser, path: &str, form: &[(String, &str)]) -> Page {
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

/// The next `n` local dates (UTC+8, the fixture's Asia/Shanghai) after today.
fn next_days(n: i64) -> Vec<NaiveDate> {
    let zone = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let today = zone.from_utc_datetime(&Utc::now().naive_utc()).date_naive();
    (1..=n).map(|i| today + Duration::days(i)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holiday_added_in_the_calendar_moves_a_new_cases_deadline() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "rulecal").await;
    let other = seed_tenant(env.db(), "rulecal2").await;
    let app = TestApp::monolith(&env).await;
    let admin = Browser::new(&app.routing.base);
    let csrf = sign_in(&admin, &fx.logins.admin).await;
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;
    let api = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;

    let page = admin.get("/admin/calendar").await.expect(200);
    assert!(page.has("北京时间") && page.has(r#"value="08:30-12:00,14:30-18:00""#));
    assert!(page.has("2026年") && page.has("官方安排已公布"));
    assert!(page.has("2027年") && page.has("暂定"));
    assert!(
        page.has("国家安排（内置）"),
        "the year's official days are listed"
    );

    // Resolution in two working days, so that the calendar decides the deadline.
    post_policy(
        &admin,
        "/admin/sla-policies/*/normal",
        &policy_form(
            &csrf,
            [
                ("30", "wall_minutes", ""),
                ("2", "working_days", ""),
                ("2", "working_days", ""),
            ],
        ),
    )
    .await
    .see_other();
    let first = new_case(&app, &fx, "roads", &centre).await;

    // The next two weeks become holidays, through the form, one date at a time.
    let days = next_days(14);
    for day in &days {
        let day = day.format("%Y-%m-%d").to_string();
        let to = admin
            .post(
                "/admin/calendar/overrides",
                &[
                    ("_csrf", csrf.as_str()),
                    ("day", day.as_str()),
                    ("kind", "off"),
                    ("name", "测试假日"),
                    ("hours", ""),
                ],
            )
            .await
            .see_other();
        assert!(to.starts_with("/admin/calendar?ok=added&year="), "{to}");
    }
    let shown_day = days[0].format("%Y-%m-%d").to_string();
    let page = admin
        .get(&format!("/admin/calendar?year={}", days[0].format("%Y")))
        .await
        .expect(200);
    assert!(page.has(&shown_day) && page.has("测试假日") && page.has("本镇设定"));
    assert!(page.has(&format!(
        r#"action="/admin/calendar/overrides/{shown_day}/delete""#
    )));

    let second = new_case(&app, &fx, "roads", &centre).await;
    let holidays_end = FixedOffset::east_opt(8 * 3600)
        .expect("UTC+8")
        .from_local_datetime(
            &(*days.last().expect("days") + Duration::days(1))
                .and_hms_opt(0, 0, 0)
                .expect("midnight"),
        )
        .single()
        .expect("one instant")
        .with_timezone(&Utc);
    assert!(
        time(&second, "resolution_due") > time(&first, "resolution_due"),
        "{} then {}",
        first["resolution_due"],
        second["resolution_due"]
    );
    assert!(
        time(&second, "resolution_due") > holidays_end,
        "no working time in the holidays: {}",
        second["resolution_due"]
    );
    // The wall-clock first response does not care.
    assert_eq!(
        time(&second, "first_response_due") - time(&second, "submitted_at"),
        Duration::minutes(30)
    );

    // Removing a date: it is gone; removing it again, or a date only another township
    // set, is not found.
    let to = admin
        .post(
            &format!("/admin/calendar/overrides/{shown_day}/delete"),
            &[("_csrf", csrf.as_str())],
        )
        .await
        .see_other();
    assert!(to.starts_with("/admin/calendar?ok=deleted"), "{to}");
    let page = admin.get(&to).await.expect(200);
    assert!(!page.has(&format!(
        r#"action="/admin/calendar/overrides/{shown_day}/delete""#
    )));
    admin
        .post(
            &format!("/admin/calendar/overrides/{shown_day}/delete"),
            &[("_csrf", csrf.as_str())],
        )
        .await
        .expect(404);
    let outsider = app.routing.signed_in(&other.logins.admin, PASSWORD).await;
    outsider
        .put_json(
            "/api/v1/admin/calendar/overrides/2031-05-05",
            &json!({"kind": "off", "name": "外镇假日"}),
        )
        .await
        .expect(204);
    admin
        .post(
            "/admin/calendar/overrides/2031-05-05/delete",
            &[("_csrf", csrf.as_str())],
        )
        .await
        .expect(404);
    admin
        .post(
            "/admin/calendar/overrides/not-a-date/delete",
            &[("_csrf", csrf.as_str())],
        )
        .await
        .expect(404);
    let theirs = outsider
        .get("/api/v1/admin/calendar")
        .await
        .expect(200)
        .body;
    assert!(
        theirs["overrides"].to_string().contains("外镇假日"),
        "still there"
    );

    // Bad input comes back with what was typed and the reason.
    let refused = admin
        .post(
            "/admin/calendar/overrides",
            &[
                ("_csrf", csrf.as_str()),
                ("day", "2026-13-01"),
                ("kind", "working"),
                ("name", "坏日期"),
                ("hours", "08:00-12:00"),
            ],
        )
        .await
        .expect(422);
    assert!(refused.has("日期写成") && refused.has(r#"value="2026-13-01""#));
    assert!(
        refused.has(r#"value="坏日期""#) && refused.has(r#"<option value="working" selected>"#)
    );
    let week = |zone: &'static str, monday: &'static str| {
        vec![
            ("_csrf", csrf.clone()),
            ("time_zone", zone.to_owned()),
            ("monday", monday.to_owned()),
            ("tuesday", "08:30-12:00,14:30-18:00".to_owned()),
            ("wednesday", "08:30-12:00,14:30-18:00".to_owned()),
            ("thursday", "08:30-12:00,14:30-18:00".to_owned()),
            ("friday", "08:30-12:00,14:30-18:00".to_owned()),
            ("saturday", String::new()),
            ("sunday", String::new()),
        ]
    };
    let post_week = |form: Vec<(&'static str, String)>| {
        let admin = &admin;
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            admin.post("/admin/calendar", &pairs).await
        }
    };
    let refused = post_week(week("Mars/Olympus_Mons", "08:30-12:00"))
        .await
        .expect(422);
    assert!(refused.has("请从列表中选择时区") && refused.has("Mars/Olympus_Mons"));
    assert!(
        refused.has(r#"value="08:30-12:00""#),
        "the hours typed are kept"
    );
    let refused = post_week(week("Asia/Shanghai", "08:00-25:00"))
        .await
        .expect(422);
    assert!(refused.has("时间在 00:00 到 24:00 之间") && refused.has(r#"value="08:00-25:00""#));
    let refused = post_week(week("Asia/Shanghai", "上午")).await.expect(422);
    assert!(refused.has("请写成 08:30-12:00") && refused.has(r#"value="上午""#));
    let unchanged = api.get("/api/v1/admin/calendar").await.expect(200).body;
    assert_eq!(unchanged["time_zone"], "Asia/Shanghai");
    assert_eq!(
        unchanged["weekly"]["monday"],
        json!(["08:30-12:00", "14:30-18:00"])
    );

    // A good week and zone are saved.
    let to = post_week(week("Asia/Urumqi", "09:00-13:00,15:00-19:00"))
        .await
        .see_other();
    assert_eq!(to, "/admin/calendar?ok=saved");
    let saved = api.get("/api/v1/admin/calendar").await.expect(200).body;
    assert_eq!(saved["time_zone"], "Asia/Urumqi");
    assert_eq!(
        saved["weekly"]["monday"],
        json!(["09:00-13:00", "15:00-19:00"])
    );
    assert!(
        admin
            .get(&to)
            .await
            .expect(200)
            .has(r#"<option value="Asia/Urumqi" selected>"#)
    );
    // The change log names the administrator who changed the zone through the page.
    let log = api
        .get("/api/v1/admin/audit?entity=tenants")
        .await
        .expect(200)
        .body;
    let entry = &log["entries"][0];
    assert_eq!(entry["actor_id"], fx.admin.to_string(), "{log}");
    assert_eq!(entry["after"]["time_zone"], "Asia/Urumqi", "{log}");

    // Importing a holiday-cn file: malformed, too large, a year out of range, refused in
    // words; a good one makes its year official.
    let upload = |name: &'static str, bytes: Vec<u8>| {
        Form::new()
            .text("_csrf", csrf.clone())
            .part("file", Part::bytes(bytes).file_name(name))
    };
    let refused = admin
        .upload(
            "/admin/calendar/import",
            upload("2030.json", b"{\"year\": 2030, \"days\": [".to_vec()),
        )
        .await
        .expect(422);
    assert!(refused.has("没有导入") && refused.has("2030.json") && refused.has("holiday-cn"));
    let mut huge = br#"{"year": 2030, "papers": [], "days": [], "pad": ""#.to_vec();
    huge.extend(std::iter::repeat_n(b'x', 70 * 1024));
    huge.extend(br#""}"#);
    let refused = admin
        .upload("/admin/calendar/import", upload("huge.json", huge))
        .await
        .expect(422);
    assert!(refused.has("文件超过64KB") && refused.has("huge.json"));
    let ancient = json!({"year": 1900, "papers": ["x"], "days": [{"name": "元旦", "date": "1900-01-01", "isOffDay": true}]});
    admin
        .upload(
            "/admin/calendar/import",
            upload("1900.json", ancient.to_string().into_bytes()),
        )
        .await
        .expect(422);
    let good = json!({
        "year": 2030,
        "papers": ["https://www.gov.cn/test"],
        "days": [
            {"name": "元旦", "date": "2030-01-01", "isOffDay": true},
            {"name": "春节", "date": "2030-02-02", "isOffDay": false},
        ],
    });
    let to = admin
        .upload(
            "/admin/calendar/import",
            upload("2030.json", good.to_string().into_bytes()),
        )
        .await
        .see_other();
    assert!(
        to.starts_with("/admin/calendar?ok=imported&year=2030"),
        "{to}"
    );
    let page = admin.get(&to).await.expect(200);
    assert!(page.has("节假日安排已导入") && page.has("2030-01-01") && page.has("2030-02-02"));
    let year: String = page
        .html
        .split("2030年</th>")
        .nth(1)
        .expect("the 2030 line")
        .chars()
        .take(100)
        .collect();
    assert!(year.contains("官方安排已公布"), "{year}");

    // A grid worker may not.
    let worker = Browser::new(&app.routing.base);
    let worker_csrf = sign_in(&worker, &fx.logins.worker).await;
    worker.get("/admin/calendar").await.expect(403);
    worker
        .post(
            "/admin/calendar/overrides",
            &[
                ("_csrf", worker_csrf.as_str()),
                ("day", "2031-01-02"),
                ("kind", "off"),
            ],
        )
        .await
        .expect(403);
    app.stop().await;
}

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
