//! The county centre's pages as a browser without JavaScript uses them: the county's
//! administrator creates a township with its first administrator (whose one-time code
//! works at /login/reset), suspends it (its staff and citizens are shut out, as through
//! the API) and resumes it; the county centre supervises a case sent up, whose county
//! deadline is enforced by timers (a reminder before, the overdue mark after, notices
//! to the township centre and the handler, replaced by a new deadline, stopped by the
//! case's end); the centre searches another township's cases, opens one only with a
//! reason, sees it read-only with the phone masked, and every view is recorded. Each
//! county role reaches what the matrix gives it, township roles none of it.

use std::time::Duration;

use chrono::{FixedOffset, Utc};
use mashang_domain::PhoneNumber;
use mashang_domain::role::Role;
use mashang_tests::browser::{Browser, Page};
use mashang_tests::cases::case_id;
use mashang_tests::intake::{post_report, upload_ok};
use mashang_tests::{Client, Fixture, PASSWORD, TestApp, TestEnv, eventually, seed_tenant};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

/// A county person with a password, signed in through the form.
async fn county_browser(env: &TestEnv, app: &TestApp, phone: &str, role: Role) -> Browser {
    let phone = PhoneNumber::parse(phone).expect("a phone");
    let user = mashang_routing::directory::county::create_county_user(
        env.db(),
        "县里的人",
        &phone,
        &[role],
    )
    .await
    .expect("a county user");
    let password = mashang_auth::Password::new(PASSWORD).expect("a password");
    mashang_auth::set_county_password(env.db(), user, &password)
        .await
        .expect("a password set");
    let b = Browser::new(&app.routing.base);
    assert_eq!(sign_in(&b, phone.expose(), PASSWORD).await, "/county");
    b
}

/// Signs the browser in; where it is sent.
async fn sign_in(b: &Browser, login: &str, password: &str) -> String {
    let token = b.get("/login").await.expect(200).csrf();
    b.post(
        "/login",
        &[("_csrf", &token), ("login", login), ("password", password)],
    )
    .await
    .see_other()
}

/// A township person's browser.
async fn township_browser(app: &TestApp, login: &str) -> Browser {
    let b = Browser::new(&app.routing.base);
    sign_in(&b, login, PASSWORD).await;
    b
}

/// The session's CSRF token, from any page with a form.
async fn csrf(b: &Browser) -> String {
    b.get("/county/views").await.csrf()
}

/// The text of the one-time code on the page that shows it.
fn code_on(page: &Page) -> String {
    let (_, rest) = page
        .html
        .split_once(r#"id="code">"#)
        .expect("the code is shown");
    rest.split('<').next().expect("a code").trim().to_owned()
}

/// A report through the fixture's QR code; its tracking number.
async fn report(app: &TestApp, fx: &Fixture, body: Value) -> String {
    let mut body = body;
    body["qr_token"] = json!(fx.qr_token);
    post_report(&app.intake, &body, Some(&uuid::Uuid::new_v4().to_string()))
        .await
        .expect(201)
        .body["tracking_number"]
        .as_str()
        .expect("a tracking number")
        .to_owned()
}

/// A time in the township's zone (Asia/Shanghai, which keeps no summer time) as a
/// `datetime-local` field sends it.
fn local(at: chrono::DateTime<Utc>) -> String {
    let zone = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    at.with_timezone(&zone).format("%Y-%m-%dT%H:%M").to_string()
}

async fn case(client: &Client, id: &str) -> Value {
    client
        .get(&format!("/api/v1/cases/{id}"))
        .await
        .expect(200)
        .body
}

fn actions(case: &Value) -> Vec<String> {
    case["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .filter_map(|t| t["action"].as_str().map(str::to_owned))
        .collect()
}

/// Waits for a notice about `id` whose title contains `title`.
async fn notice(person: &Client, id: &str, title: &str) -> Value {
    eventually(title, WAIT, || async {
        let inbox = person.get("/api/v1/inbox").await.expect(200).body;
        inbox["notices"]
            .as_array()?
            .iter()
            .find(|n| n["case_id"] == id && n["title"].as_str().is_some_and(|t| t.contains(title)))
            .cloned()
    })
    .await
}

/// The case's county timers: (point, due, fired).
async fn county_timers(env: &TestEnv, id: &str) -> Vec<(String, chrono::DateTime<Utc>, bool)> {
    let mut owner = env.database.owner().await;
    sqlx::query_as(
        "SELECT point, due_at, fired_at IS NOT NULL FROM routing.timers \
         WHERE case_id = $1::uuid AND target = 'county' ORDER BY due_at",
    )
    .bind(id)
    .fetch_all(&mut owner)
    .await
    .expect("reading the timers")
}

/// Makes a pending county timer due now, as time passing would.
async fn due_now(env: &TestEnv, id: &str, point: &str) {
    let mut owner = env.database.owner().await;
    let moved = sqlx::query(
        "UPDATE routing.timers SET due_at = now() \
         WHERE case_id = $1::uuid AND target = 'county' AND point = $2 AND fired_at IS NULL",
    )
    .bind(id)
    .bind(point)
    .execute(&mut owner)
    .await
    .expect("arranging");
    assert_eq!(moved.rows_affected(), 1, "a pending {point} timer");
}

/// The county's JSON line of a case sent up.
async fn sent_up_line(county: &Client, id: &str) -> Value {
    let listed = county.get("/api/v1/county/cases").await.expect(200).body;
    listed["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
        .expect("the case is listed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_county_creates_suspends_and_resumes_a_township_through_its_pages() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "cpsusp").await;
    let app = TestApp::monolith(&env).await;
    let county = county_browser(&env, &app, "13600000011", Role::CountyAdmin).await;

    let home = county.get("/county").await.expect(200);
    assert!(
        home.has("cpsusp镇") && home.has("新建乡镇"),
        "{}",
        home.html
    );
    assert!(
        !home.has(r#"href="/county/supervision""#),
        "no supervision for the administrator"
    );
    let token = home.csrf();

    // Bad input comes back with what was typed and why.
    let refused = county
        .post(
            "/county/townships",
            &[
                ("_csrf", &token),
                ("code", "Bad Code"),
                ("name", "草滩镇"),
                ("admin_name", "周镇管"),
                ("admin_phone", "12345"),
                ("admin_username", ""),
            ],
        )
        .await
        .expect(422);
    assert!(refused.has(r#"value="草滩镇""#) && refused.has(r#"value="Bad Code""#));
    assert!(refused.has("编码为2到16位小写字母") && refused.has(r#"aria-invalid="true""#));
    // Nothing was created.
    let row = r#"<td data-label="名称">草滩镇</td>"#;
    assert!(!county.get("/county").await.expect(200).has(row));

    // A township and its administrator, whose one-time code is shown once.
    let created = county
        .post(
            "/county/townships",
            &[
                ("_csrf", &token),
                ("code", "caotan"),
                ("name", "草滩镇"),
                ("contact_phone", "029-86000000"),
                ("admin_name", "周镇管"),
                ("admin_phone", "13512345678"),
                ("admin_username", "zhou.admin"),
            ],
        )
        .await
        .expect(200);
    let code = code_on(&created);
    assert!(created.has("只显示这一次") && created.has("13512345678") && created.has("zhou.admin"));
    let home = county.get("/county").await.expect(200);
    assert!(home.has(row) && !home.has(&code));
    // The same code again is refused, in words.
    let taken = county
        .post(
            "/county/townships",
            &[
                ("_csrf", &token),
                ("code", "caotan"),
                ("name", "重复"),
                ("admin_name", "某人"),
                ("admin_phone", "13512345679"),
            ],
        )
        .await
        .expect(422);
    assert!(taken.has("已存在"));
    // So is a phone someone already signs in with; nothing half-made is left.
    let phone_taken = county
        .post(
            "/county/townships",
            &[
                ("_csrf", &token),
                ("code", "xinji"),
                ("name", "新集镇"),
                ("admin_name", "某人"),
                ("admin_phone", "13512345678"),
            ],
        )
        .await
        .expect(422);
    assert!(phone_taken.has("已是别人的登录名"));
    assert!(
        !county
            .get("/county")
            .await
            .expect(200)
            .has(r#"<td data-label="名称">新集镇</td>"#)
    );

    // The code sets the administrator's password at /login/reset.
    let newcomer = Browser::new(&app.routing.base);
    let form = newcomer.get("/login/reset").await.expect(200).csrf();
    let to = newcomer
        .post(
            "/login/reset",
            &[
                ("_csrf", &form),
                ("login", "zhou.admin"),
                ("code", &code),
                ("password", "caotan-admin-1"),
                ("password2", "caotan-admin-1"),
            ],
        )
        .await
        .see_other();
    assert_eq!(to, "/login?ok=reset");
    assert_eq!(
        sign_in(&newcomer, "13512345678", "caotan-admin-1").await,
        "/admin"
    );
    assert!(newcomer.get("/admin/grid").await.expect(200).has("草滩镇"));

    // Suspension asks first, then shuts the township's staff and citizens out.
    let admin = township_browser(&app, &fx.logins.admin).await;
    admin.get("/admin").await.expect(200);
    let confirm = county
        .get("/county/townships/cpsusp/suspend")
        .await
        .expect(200);
    assert!(confirm.has("暂停 cpsusp镇") && confirm.has("数据不会删除"));
    let back = county
        .post("/county/townships/cpsusp/suspend", &[("_csrf", &token)])
        .await
        .see_other();
    assert_eq!(back, "/county?ok=suspended");
    let home = county.get(&back).await.expect(200);
    assert!(home.has("已暂停") && home.has("/county/townships/cpsusp/resume"));
    assert!(admin.get("/admin").await.see_other().starts_with("/login"));
    let again = Browser::new(&app.routing.base);
    let form = again.get("/login").await.expect(200).csrf();
    let refused = again
        .post(
            "/login",
            &[
                ("_csrf", &form),
                ("login", &fx.logins.admin),
                ("password", PASSWORD),
            ],
        )
        .await
        .expect(403);
    assert!(refused.has("暂停"));
    app.routing
        .post_json(
            "/api/v1/auth/login",
            &json!({"login": fx.logins.admin, "password": PASSWORD}),
        )
        .await
        .expect_problem(403);
    let body = json!({"qr_token": fx.qr_token, "category": "roads", "description": "路灯坏了"});
    post_report(&app.intake, &body, None)
        .await
        .expect_problem(403);
    assert!(
        app.intake
            .get(&format!("/q/{}", fx.qr_token))
            .await
            .expect(403)
            .body
            .as_str()
            .is_some_and(|h| h.contains("暂时停用"))
    );

    // Resumed, everything works again.
    assert!(
        county
            .get("/county/townships/cpsusp/resume")
            .await
            .expect(200)
            .has("确认恢复")
    );
    let back = county
        .post("/county/townships/cpsusp/resume", &[("_csrf", &token)])
        .await
        .see_other();
    assert_eq!(back, "/county?ok=resumed");
    let admin = township_browser(&app, &fx.logins.admin).await;
    assert!(admin.get("/admin/grid").await.expect(200).has("cpsusp镇"));
    post_report(&app.intake, &body, None).await.expect(201);
    // Unknown townships and changes are not there.
    county
        .get("/county/townships/nosuch/suspend")
        .await
        .expect(404);
    county
        .get("/county/townships/cpsusp/delete")
        .await
        .expect(404);
    county
        .post("/county/townships/nosuch/suspend", &[("_csrf", &token)])
        .await
        .expect(404);
    // Without the session's token, nothing changes.
    county
        .post("/county/townships/cpsusp/suspend", &[])
        .await
        .expect(403);

    // The county centre sees the townships but changes none of them.
    let centre = county_browser(&env, &app, "13600000012", Role::CountyCentre).await;
    let seen = centre.get("/county").await.expect(200);
    assert!(seen.has(row) && !seen.has("新建乡镇") && !seen.has("/suspend"));
    let centre_token = csrf(&centre).await;
    centre
        .post(
            "/county/townships",
            &[("_csrf", &centre_token), ("code", "x1"), ("name", "x")],
        )
        .await
        .expect(403);
    centre
        .get("/county/townships/cpsusp/suspend")
        .await
        .expect(403);
    centre
        .post(
            "/county/townships/cpsusp/suspend",
            &[("_csrf", &centre_token)],
        )
        .await
        .expect(403);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_sent_up_is_supervised_and_its_county_deadline_enforced() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "cpduban").await;
    let app = TestApp::monolith(&env).await;
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;
    let tracking = report(
        &app,
        &fx,
        json!({"category": "dispute", "description": "两村争水"}),
    )
    .await;
    let id = case_id(&worker, &tracking).await;
    let county = county_browser(&env, &app, "13600000021", Role::CountyCentre).await;
    let county_api = app.routing.signed_in("13600000021", PASSWORD).await;
    let page_path = format!("/county/supervision/{}/{id}", fx.code);

    // Not sent up: not listed, not reachable.
    assert!(
        !county
            .get("/county/supervision")
            .await
            .expect(200)
            .has(&tracking)
    );
    county.get(&page_path).await.expect(404);

    centre
        .post_json(
            &format!("/api/v1/cases/{id}/county-request"),
            &json!({"note": "涉及两个村，请县里协调"}),
        )
        .await
        .expect(204);
    let list = county.get("/county/supervision").await.expect(200);
    assert!(list.has(&tracking) && list.has("cpduban镇") && list.has(&page_path));
    let page = county.get(&page_path).await.expect(200);
    assert!(page.has("涉及两个村，请县里协调") && page.has("还没有设定县级期限"));
    let token = page.csrf();

    // A deadline in the past is refused, with the note kept.
    let past = local(Utc::now() - chrono::Duration::hours(2));
    let refused = county
        .post(
            &page_path,
            &[
                ("_csrf", &token),
                ("body", "请尽快办结"),
                ("deadline", &past),
            ],
        )
        .await
        .expect(422);
    assert!(refused.has("期限须晚于现在") && refused.has("请尽快办结"));
    let refused = county
        .post(
            &page_path,
            &[("_csrf", &token), ("body", " "), ("deadline", "")],
        )
        .await
        .expect(422);
    assert!(refused.has("批示内容为1到2000字"));

    // The note with a deadline three days ahead: on the township's timeline, with a
    // reminder a day before it and the overdue mark at it.
    let deadline = Utc::now() + chrono::Duration::days(3);
    let sent = county
        .post(
            &page_path,
            &[
                ("_csrf", &token),
                ("body", "请三日内办结并报县中心"),
                ("deadline", &local(deadline)),
            ],
        )
        .await
        .see_other();
    assert_eq!(sent, format!("{page_path}?ok=noted"));
    let page = county.get(&sent).await.expect(200);
    assert!(page.has("批示已发出") && page.has("请三日内办结并报县中心") && page.has("还剩 2 天"));
    let seen = case(&worker, &id).await;
    assert!(
        seen["timeline"]
            .as_array()
            .expect("a timeline")
            .iter()
            .any(|t| {
                t["action"] == "county_note"
                    && t["details"]["county_note"] == "请三日内办结并报县中心"
            })
    );
    let timers = county_timers(&env, &id).await;
    assert_eq!(timers.len(), 2, "{timers:?}");
    let (reminder, overdue) = (&timers[0], &timers[1]);
    assert_eq!(
        (reminder.0.as_str(), overdue.0.as_str()),
        ("reminder", "overdue")
    );
    assert_eq!((overdue.1 - reminder.1).num_minutes(), 24 * 60);
    assert!(
        (overdue.1 - deadline).num_seconds().abs() < 60,
        "the deadline, to the minute"
    );
    // The township's case page shows the county's deadline and note.
    let centre_browser = township_browser(&app, &fx.logins.centre).await;
    let township_page = centre_browser
        .get(&format!("/console/cases/{id}"))
        .await
        .expect(200);
    assert!(township_page.has("县级督办时限") && township_page.has("请三日内办结并报县中心"));
    for person in [&worker, &centre] {
        notice(person, &id, "县级督办").await;
    }
    assert_eq!(sent_up_line(&county_api, &id).await["overdue"], false);

    // The reminder: on the timeline, a notice to the centre and the handler.
    due_now(&env, &id, "reminder").await;
    eventually("the county's reminder", WAIT, || async {
        actions(&case(&worker, &id).await)
            .contains(&"county_reminder".to_owned())
            .then_some(())
    })
    .await;
    for person in [&worker, &centre] {
        let n = notice(person, &id, "县级督办催办").await;
        assert_eq!(n["kind"], "case_reminded");
    }
    let line = sent_up_line(&county_api, &id).await;
    assert!(line["county_reminded_at"].is_string() && line["overdue"] == false);
    assert!(
        county
            .get("/county/supervision")
            .await
            .expect(200)
            .has("已催办")
    );

    // The deadline passes: the overdue mark, on the county's list and in the API.
    due_now(&env, &id, "overdue").await;
    eventually("the overdue mark", WAIT, || async {
        actions(&case(&worker, &id).await)
            .contains(&"county_overdue".to_owned())
            .then_some(())
    })
    .await;
    for person in [&worker, &centre] {
        let n = notice(person, &id, "县级督办已超期").await;
        assert_eq!(n["kind"], "case_escalated");
    }
    assert_eq!(sent_up_line(&county_api, &id).await["overdue"], true);
    let list = county.get("/county/supervision").await.expect(200);
    assert!(list.has("已超期") && list.has(r#"class="late""#));
    assert!(county.get(&page_path).await.expect(200).has("已超期"));
    let home = county.get("/county").await.expect(200);
    assert!(
        home.has(r#"<tr class="late">"#),
        "the township counts an overdue case"
    );

    // A new deadline replaces the timers and clears the marks.
    let later = Utc::now() + chrono::Duration::hours(10);
    county
        .post(
            &page_path,
            &[
                ("_csrf", &token),
                ("body", "延至今晚前办结"),
                ("deadline", &local(later)),
            ],
        )
        .await
        .see_other();
    let timers = county_timers(&env, &id).await;
    let pending: Vec<_> = timers.iter().filter(|t| !t.2).collect();
    assert_eq!(pending.len(), 2, "{timers:?}");
    // Less than two days ahead: reminded halfway.
    let (remind, due) = (pending[0].1, pending[1].1);
    assert!(
        ((due - remind).num_minutes() - 5 * 60).abs() <= 1,
        "{remind} {due}"
    );
    let line = sent_up_line(&county_api, &id).await;
    assert!(line["overdue"] == false && line["county_reminded_at"].is_null());

    // Resolved, the deadline is met: a timer firing now says nothing.
    for (action, body) in [
        (
            "acknowledge",
            json!({"contacted_at": Utc::now(), "method": "phone", "summary": "已联系"}),
        ),
        ("start", json!({})),
        ("resolve", json!({"measures": "两村协商分时用水"})),
    ] {
        worker
            .post_json(&format!("/api/v1/cases/{id}/{action}"), &body)
            .await
            .expect(200);
    }
    due_now(&env, &id, "reminder").await;
    eventually("the reminder taken", WAIT, || async {
        county_timers(&env, &id)
            .await
            .iter()
            .any(|t| t.0 == "reminder" && t.2 && (t.1 - remind).num_seconds().abs() > 60)
            .then_some(())
    })
    .await;
    let reminders = actions(&case(&worker, &id).await)
        .iter()
        .filter(|a| *a == "county_reminder")
        .count();
    assert_eq!(reminders, 1, "no reminder of a met deadline");
    // Closed, its pending county timer is gone.
    centre
        .post_json(
            &format!("/api/v1/cases/{id}/follow-up"),
            &json!({"method": "phone", "resolved": true, "satisfaction": "satisfied"}),
        )
        .await
        .expect(200);
    centre
        .post_json(&format!("/api/v1/cases/{id}/close"), &json!({}))
        .await
        .expect(200);
    assert!(
        county_timers(&env, &id).await.iter().all(|t| t.2),
        "no pending county timer"
    );
    assert!(
        county
            .get("/county/supervision")
            .await
            .expect(200)
            .has("已办结")
    );
    app.stop().await;
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn township_roles_are_refused_every_county_page() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "cprefuse").await;
    let app = TestApp::monolith(&env).await;
    let paths = [
        "/county".to_owned(),
        "/county/supervision".to_owned(),
        "/county/search".to_owned(),
        "/county/views".to_owned(),
        "/county/dashboard".to_owned(),
        format!("/county/townships/{}/suspend", fx.code),
        format!("/county/cases/{}/{}", fx.code, uuid::Uuid::now_v7()),
        format!("/county/supervision/{}/{}", fx.code, uuid::Uuid::now_v7()),
    ];
    for login in [
        &fx.logins.worker,
        &fx.logins.leader,
        &fx.logins.centre,
        &fx.logins.admin,
    ] {
        let b = township_browser(&app, login).await;
        for path in &paths {
            let page = b.get(path).await.expect(403);
            assert!(page.has("县综治中心"), "{login} {path}: {}", page.html);
        }
        let token = b.get("/console/notices").await.expect(200).csrf();
        b.post(
            &format!("/county/townships/{}/suspend", fx.code),
            &[("_csrf", &token)],
        )
        .await
        .expect(403);
        // Nor does the header offer the county's links.
        let header = b.get("/console/notices").await.expect(200);
        assert!(!header.has(r#"href="/county"#), "{login}");
    }
    // Signed out, the pages send the browser to sign in and back.
    let b = Browser::new(&app.routing.base);
    assert_eq!(
        b.get("/county/supervision").await.see_other(),
        "/login?next=/county/supervision"
    );
    assert_eq!(
        b.get("/county/dashboard").await.see_other(),
        "/login?next=/county/dashboard"
    );
    // The county's staff have the county's links and the dashboard's place.
    let county = county_browser(&env, &app, "13600000041", Role::CountyCentre).await;
    let home = county.get("/county").await.expect(200);
    for link in [
        "/county/supervision",
        "/county/search",
        "/county/views",
        "/county/dashboard",
    ] {
        assert!(home.has(&format!(r#"href="{link}""#)), "{link}");
    }
    let dashboard = county.get("/county/dashboard").await.expect(200);
    assert!(dashboard.has("统计") && dashboard.has("随统计功能一起上线"));
    app.stop().await;
}
