//! E-mail and digests against a local SMTP server: an e-mail channel's test message
//! arrives with its Chinese subject and body properly encoded, through the server's
//! login; the server's 4xx is retried and its 5xx fails with its own words; the
//! township centre's morning digest reaches the centre in the app, its group robot and
//! its people's mailboxes once, however many passes or replicas run it; the county's
//! digest lists every township to each county user who gave an address.

use std::time::Duration;

use chrono::Utc;
use mashang_domain::role::Role;
use mashang_notification::NotificationState;
use mashang_notification::digest::{county, township};
use mashang_tests::fakes::Fakes;
use mashang_tests::intake::{post_report, report};
use mashang_tests::smtp::{FakeSmtp, Stage};
use mashang_tests::{
    Client, Fixture, PASSWORD, TestApp, TestEnv, county_user, eventually, seed_tenant,
};
use serde_json::{Value, json};

const LOGIN: &str = "zz@example.com";
const APP_CODE: &str = "app-code-0001";

/// A mail server's settings pointing at the fake.
fn server(smtp: &FakeSmtp) -> Value {
    json!({"host": "127.0.0.1", "port": smtp.addr.port(), "tls": "none",
           "from": "城关镇综治中心 <zz@example.com>", "user": LOGIN, "password": APP_CODE})
}

/// Gives a person of the township an e-mail address through the people API.
async fn set_email(admin: &Client, fx: &Fixture, who: mashang_domain::UserId, email: &str) {
    let person = admin
        .get(&format!("/api/v1/admin/people/{who}"))
        .await
        .expect(200)
        .body;
    let mut body = json!({
        "name": person["name"], "phone": person["phone"], "roles": person["roles"], "email": email,
    });
    admin
        .patch_json(&format!("/api/v1/admin/people/{who}"), &body)
        .await
        .expect(200);
    // Bounded and checked; left out, it stays.
    body["email"] = json!("not an address");
    let fields = admin
        .patch_json(&format!("/api/v1/admin/people/{who}"), &body)
        .await
        .expect_problem(422);
    assert_eq!(fields, ["email"]);
    body.as_object_mut().expect("an object").remove("email");
    let kept = admin
        .patch_json(&format!("/api/v1/admin/people/{who}"), &body)
        .await
        .expect(200)
        .body;
    // Stored with its domain in lowercase.
    assert!(
        kept["email"]
            .as_str()
            .is_some_and(|e| e.eq_ignore_ascii_case(email)),
        "{}: {kept}",
        fx.code
    );
}

/// Notification's state as another replica would have it.
fn replica(env: &TestEnv, app: &TestApp) -> NotificationState {
    let d = app.notification_delivery();
    NotificationState::new(env.db().clone()).with_delivery(d.outbound, d.key, d.public_url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_channels_test_message_arrives_in_chinese_and_the_servers_errors_are_told_apart() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "mail").await;
    let app = TestApp::monolith(&env).await;
    let smtp = FakeSmtp::start().await;
    smtp.require_login(LOGIN, APP_CODE);
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    set_email(&admin, &fx, fx.admin, "Admin@Example.com").await;

    let made = admin
        .post_json(
            "/api/v1/admin/channels",
            &json!({"kind": "email", "name": "镇综治中心邮箱", "settings": server(&smtp)}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(made["settings"]["host"], "127.0.0.1");
    assert_eq!(made["settings"]["user"], LOGIN);
    assert_eq!(made["settings"]["has_password"], true);
    let listed = admin.get("/api/v1/admin/channels").await.expect(200).body;
    assert!(!listed.to_string().contains(APP_CODE), "{listed}");
    let id = made["id"].as_str().expect("an id").to_owned();
    let test = |admin: Client, id: String| async move {
        admin
            .post_json(&format!("/api/v1/admin/channels/{id}/test"), &json!({}))
            .await
            .expect(200)
            .body
    };

    // The test message: to the administrator's own address, through the login.
    let sent = test(admin.clone(), id.clone()).await;
    assert_eq!(sent["outcome"], "sent", "{sent}");
    assert_eq!(sent["http_status"], 250);
    let mails = smtp.mails_to("Admin@example.com");
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.from, "zz@example.com");
    assert_eq!(mail.login.as_deref(), Some(LOGIN));
    assert!(
        mail.data.is_ascii(),
        "8-bit text on the wire: {}",
        mail.data
    );
    assert_eq!(mail.subject(), "测试消息");
    assert!(
        mail.header("From")
            .is_some_and(|f| f.contains("城关镇综治中心") && f.contains("<zz@example.com>")),
        "{:?}",
        mail.header("From")
    );
    assert!(
        mail.header("Content-Type")
            .is_some_and(|c| c.to_ascii_lowercase().contains("charset=utf-8"))
    );
    let text = mail.text();
    assert!(
        text.contains("这是来自码上反映的测试消息，渠道「镇综治中心邮箱」已接通。")
            && text.contains("http://public.test/console"),
        "{text}"
    );
    assert!(
        smtp.commands()
            .iter()
            .all(|c| !c.contains(APP_CODE) && !c.contains("YXBw")),
        "the password is not kept by the fake"
    );

    // 550 to the recipient: failed, with the server's words. 421: retried.
    smtp.answer_once(
        Stage::Rcpt,
        550,
        "5.1.1 <admin@example.com>: Recipient address rejected: User unknown",
    );
    let refused = test(admin.clone(), id.clone()).await;
    assert_eq!(refused["outcome"], "failed", "{refused}");
    assert_eq!(refused["http_status"], 550);
    assert!(
        refused["reason"]
            .as_str()
            .is_some_and(|r| r.contains("Recipient address rejected: User unknown")),
        "{refused}"
    );
    smtp.answer_once(
        Stage::Mail,
        421,
        "4.7.0 Too many connections, try again later",
    );
    let later = test(admin.clone(), id.clone()).await;
    assert_eq!(later["outcome"], "retry", "{later}");
    assert_eq!(later["http_status"], 421);
    smtp.answer_once(Stage::Greeting, 554, "5.7.1 No service for you");
    let closed = test(admin.clone(), id.clone()).await;
    assert_eq!(closed["outcome"], "failed", "{closed}");
    assert_eq!(smtp.mails().len(), 1, "nothing more was accepted");

    // A wrong password is the server's permanent refusal; a password is kept when
    // the same login is sent without it.
    let mut wrong = server(&smtp);
    wrong["password"] = json!("wrong");
    admin
        .put_json(
            &format!("/api/v1/admin/channels/{id}"),
            &json!({"settings": wrong}),
        )
        .await
        .expect(200);
    let denied = test(admin.clone(), id.clone()).await;
    assert_eq!(denied["http_status"], 535, "{denied}");
    let mut same = server(&smtp);
    same.as_object_mut().expect("an object").remove("password");
    same["password"] = Value::Null;
    admin
        .put_json(
            &format!("/api/v1/admin/channels/{id}"),
            &json!({"settings": server(&smtp)}),
        )
        .await
        .expect(200);
    admin
        .put_json(
            &format!("/api/v1/admin/channels/{id}"),
            &json!({"settings": same}),
        )
        .await
        .expect(200);
    assert_eq!(
        test(admin.clone(), id.clone()).await["outcome"],
        "sent",
        "the password was kept"
    );

    // Refused settings, each by its field.
    for (settings, field) in [
        (
            json!({"host": "10.1.2.3", "from": "zz@example.com"}),
            "settings.host",
        ),
        (json!({"host": "smtp.example.com"}), "settings.from"),
        (
            json!({"host": "smtp.example.com", "from": "zz@example.com", "tls": "ssl3"}),
            "settings.tls",
        ),
        (
            json!({"host": "smtp.example.com", "from": "zz@example.com", "port": 0}),
            "settings.port",
        ),
        (
            json!({"host": "smtp.example.com", "from": "zz@example.com", "user": "zz"}),
            "settings.password",
        ),
        (
            json!({"host": "bad host!", "from": "zz@example.com"}),
            "settings.host",
        ),
    ] {
        let fields = admin
            .post_json(
                "/api/v1/admin/channels",
                &json!({"kind": "email", "name": "邮箱", "settings": settings}),
            )
            .await
            .expect_problem(422);
        assert!(fields.iter().any(|f| f == field), "{settings}: {fields:?}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_morning_digest_reaches_the_centre_once_in_the_app_the_group_and_by_email() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "morning").await;
    let app = TestApp::monolith(&env).await;
    let smtp = FakeSmtp::start().await;
    let fakes = Fakes::start().await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;

    // The centre's address, given on the person page (a bad one is kept and refused).
    let b = mashang_tests::browser::Browser::new(&app.routing.base);
    let token = b.get("/login").await.expect(200).csrf();
    b.post(
        "/login",
        &[
            ("_csrf", &token),
            ("login", &fx.logins.admin),
            ("password", PASSWORD),
        ],
    )
    .await
    .see_other();
    let page = b
        .get(&format!("/admin/people/{}", fx.centre))
        .await
        .expect(200);
    assert!(page.has("电子邮箱"));
    let csrf = page.csrf();
    let form = |email: &'static str| {
        vec![
            ("_csrf", csrf.clone()),
            ("name", "综治中心".to_owned()),
            ("phone", fx.logins.centre.clone()),
            ("email", email.to_owned()),
            ("active", "true".to_owned()),
        ]
    };
    let pairs = form("centre@");
    let fields: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = b
        .post(&format!("/admin/people/{}", fx.centre), &fields)
        .await
        .expect(422);
    assert!(refused.has("电子邮箱格式不对") && refused.has("value=\"centre@\""));
    let pairs = form("centre@example.com");
    let fields: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post(&format!("/admin/people/{}", fx.centre), &fields)
        .await
        .see_other();
    assert!(
        b.get(&format!("/admin/people/{}", fx.centre))
            .await
            .expect(200)
            .has("value=\"centre@example.com\"")
    );

    // The digest at midnight, a robot that takes everything and a mail server that
    // takes the digest only.
    let set = admin
        .put_json("/api/v1/admin/digest", &json!({"morning_at": "00:00"}))
        .await
        .expect(200)
        .body;
    assert_eq!(set, json!({"morning_at": "00:00", "active": true}));
    admin
        .put_json("/api/v1/admin/digest", &json!({"morning_at": "7:30"}))
        .await
        .expect_problem(422);
    let mut settings = server(&smtp);
    settings.as_object_mut().expect("an object").remove("user");
    settings
        .as_object_mut()
        .expect("an object")
        .remove("password");
    let mail_channel = admin
        .post_json(
            "/api/v1/admin/channels",
            &json!({"kind": "email", "name": "中心邮箱", "settings": settings, "events": ["digest.morning"]}),
        )
        .await
        .expect(201)
        .body;
    admin
        .post_json(
            "/api/v1/admin/channels",
            &json!({"kind": "wecom", "name": "镇工作群", "settings": {"url": fakes.wecom_robot("wk-morning")}}),
        )
        .await
        .expect(201);

    // Three reports: one left overdue, one awaiting its follow-up.
    for text in ["村口路灯坏了", "水渠堵了", "垃圾没人清"] {
        post_report(&app.intake, &report(&fx.qr_token, text), None)
            .await
            .expect(201);
    }
    let mut owner = env.database.owner().await;
    let numbers: Vec<(String,)> = eventually("three cases", Duration::from_secs(20), || async {
        let mut owner = env.database.owner().await;
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT tracking_number FROM routing.cases WHERE tenant_id = $1 ORDER BY created_at",
        )
        .bind(fx.tenant.as_uuid())
        .fetch_all(&mut owner)
        .await
        .expect("cases");
        (rows.len() == 3).then_some(rows)
    })
    .await;
    sqlx::query(
        "UPDATE routing.cases SET first_response_due = now() - interval '1 hour' \
         WHERE tenant_id = $1 AND tracking_number = $2",
    )
    .bind(fx.tenant.as_uuid())
    .bind(&numbers[0].0)
    .execute(&mut owner)
    .await
    .expect("arranging an overdue case");
    sqlx::query(
        "UPDATE routing.cases SET state = 'resolved', responded_at = now(), follow_up_due = now() + interval '3 days' \
         WHERE tenant_id = $1 AND tracking_number = $2",
    )
    .bind(fx.tenant.as_uuid())
    .bind(&numbers[1].0)
    .execute(&mut owner)
    .await
    .expect("arranging a resolved case");
    sqlx::query(
        "UPDATE routing.cases SET state = 'in_progress', responded_at = now(), resolution_due = now() + interval '10 days' \
         WHERE tenant_id = $1 AND tracking_number = $2",
    )
    .bind(fx.tenant.as_uuid())
    .bind(&numbers[2].0)
    .execute(&mut owner)
    .await
    .expect("arranging a case in hand");
    // The mail server is busy at the first try.
    smtp.answer_once(Stage::Mail, 421, "4.3.2 Service busy, try again later");

    // Tomorrow at 08:00 in the township (whatever the hour the test runs, so that three
    // hours later is still the same local day): two replicas at once, then a second
    // pass: one digest.
    let tomorrow = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        + chrono::Duration::days(1);
    let now = tomorrow
        .and_hms_opt(8, 0, 0)
        .expect("08:00")
        .and_local_timezone(chrono_tz::Asia::Shanghai)
        .single()
        .expect("Shanghai has no gaps")
        .with_timezone(&Utc);
    let (one, two) = (replica(&env, &app), replica(&env, &app));
    let (a, b2) = tokio::join!(township::pass(&one, now), township::pass(&two, now));
    assert_eq!(a.expect("a pass") + b2.expect("a pass"), 1);
    assert_eq!(township::pass(&one, now).await.expect("a pass"), 0);
    assert_eq!(
        township::pass(&one, now + chrono::Duration::hours(3))
            .await
            .expect("a pass"),
        0
    );

    // In the app: one notice for the centre, with the counts.
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;
    let inbox = centre.get("/api/v1/inbox").await.expect(200).body;
    let digests: Vec<&Value> = inbox["notices"]
        .as_array()
        .expect("notices")
        .iter()
        .filter(|n| n["kind"] == "digest_morning")
        .collect();
    assert_eq!(digests.len(), 1, "{inbox}");
    let title = digests[0]["title"].as_str().expect("a title");
    assert!(
        title.contains("晨报") && title.contains("新案件 3 件，超时 1 件，待回访 1 件"),
        "{title}"
    );
    assert!(
        digests[0]["body"]
            .as_str()
            .is_some_and(|b| b.contains(&numbers[0].0))
    );

    // By e-mail: the full list, once, after the server's 421 was retried.
    let mails = eventually("the digest by e-mail", Duration::from_secs(40), || async {
        let m = smtp.mails_to("centre@example.com");
        (!m.is_empty()).then_some(m)
    })
    .await;
    let mail = &mails[0];
    assert!(mail.data.is_ascii());
    assert!(
        mail.subject().starts_with("晨报 · morning镇 "),
        "{}",
        mail.subject()
    );
    let text = mail.text();
    for (number,) in &numbers {
        assert!(text.contains(number.as_str()), "{number} in {text}");
    }
    assert!(
        text.contains("二、已超时 (overdue)：1 件")
            && text.contains("三、待回访 (awaiting follow-up)：1 件")
            && text.contains("http://public.test/console/cases/"),
        "{text}"
    );
    let list = admin
        .get(&format!(
            "/api/v1/admin/deliveries?channel_id={}",
            mail_channel["id"].as_str().expect("an id")
        ))
        .await
        .expect(200)
        .body;
    let list = list["deliveries"].as_array().expect("deliveries");
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["state"], "sent");
    assert_eq!(list[0]["attempts"], 2);
    assert_eq!(list[0]["tries"][0]["outcome"], "retry");
    assert_eq!(list[0]["tries"][0]["http_status"], 421);
    assert_eq!(list[0]["tries"][1]["http_status"], 250);

    // The group: a short text, once.
    let robot = eventually(
        "the digest in the group",
        Duration::from_secs(20),
        || async {
            let said: Vec<String> = fakes
                .received("wk-morning")
                .iter()
                .filter_map(|r| r.json()["text"]["content"].as_str().map(str::to_owned))
                .filter(|c| c.contains("晨报"))
                .collect();
            (!said.is_empty()).then_some(said)
        },
    )
    .await;
    assert!(
        robot[0].contains("新案件 3 件，超时 1 件，待回访 1 件"),
        "{}",
        robot[0]
    );
    assert!(!robot[0].contains(&numbers[2].0), "a robot gets no list");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(smtp.mails_to("centre@example.com").len(), 1);
    assert_eq!(
        fakes
            .received("wk-morning")
            .iter()
            .filter(|r| r.json().to_string().contains("晨报"))
            .count(),
        1
    );
    // Switched off, no digest the day after.
    admin
        .put_json("/api/v1/admin/digest", &json!({"active": false}))
        .await
        .expect(200);
    assert_eq!(
        township::pass(&one, now + chrono::Duration::days(1))
            .await
            .expect("a pass"),
        0
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_countys_digest_lists_every_township_to_each_county_user_with_an_address() {
    let env = TestEnv::new().await;
    let east = seed_tenant(env.db(), "east").await;
    let west = seed_tenant(env.db(), "west").await;
    let app = TestApp::monolith(&env).await;
    let smtp = FakeSmtp::start().await;
    let county = county_user(
        env.db(),
        &app.routing,
        "县管理员",
        "13800000031",
        &[Role::CountyAdmin],
    )
    .await;
    county_user(
        env.db(),
        &app.routing,
        "县中心",
        "13800000032",
        &[Role::CountyCentre],
    )
    .await;
    county_user(
        env.db(),
        &app.routing,
        "没有邮箱",
        "13800000033",
        &[Role::CountyCentre],
    )
    .await;
    let people = county.get("/api/v1/county/people").await.expect(200).body;
    let id_of = |phone: &str| {
        people["people"]
            .as_array()
            .expect("people")
            .iter()
            .find(|p| p["phone"] == phone)
            .and_then(|p| p["id"].as_str())
            .expect("a person")
            .to_owned()
    };
    for (phone, email) in [
        ("13800000031", "county-admin@example.com"),
        ("13800000032", "county-centre@example.com"),
    ] {
        let set = county
            .patch_json(
                &format!("/api/v1/county/people/{}", id_of(phone)),
                &json!({"email": email}),
            )
            .await
            .expect(200)
            .body;
        assert_eq!(set["email"], email);
    }
    county
        .patch_json(
            &format!("/api/v1/county/people/{}", id_of("13800000033")),
            &json!({"email": "no-at-sign"}),
        )
        .await
        .expect_problem(422);

    // The county's server; a township administrator may not touch it.
    let township_admin = app.routing.signed_in(&east.logins.admin, PASSWORD).await;
    township_admin.get("/api/v1/county/mail").await.expect(403);
    township_admin
        .get("/api/v1/county/people")
        .await
        .expect(403);
    county.get("/api/v1/county/mail").await.expect(404);
    let mut settings = server(&smtp);
    settings["from"] = json!("县综治中心 <county@example.com>");
    let set = county
        .put_json(
            "/api/v1/county/mail",
            &json!({"settings": settings, "digest_at": "00:00"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(set["settings"]["digest_at"], "00:00");
    assert!(!set.to_string().contains(APP_CODE));
    let test = county
        .post_json("/api/v1/county/mail/test", &json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(test["outcome"], "sent", "{test}");
    assert_eq!(smtp.mails_to("county-admin@example.com").len(), 1);

    // Cases in both townships; one of east's sent up to the county.
    for fx in [&east, &west] {
        post_report(&app.intake, &report(&fx.qr_token, "路灯坏了"), None)
            .await
            .expect(201);
    }
    let centre = app.routing.signed_in(&east.logins.centre, PASSWORD).await;
    let case: (uuid::Uuid, String) = eventually("east's case", Duration::from_secs(20), || async {
        let mut owner = env.database.owner().await;
        sqlx::query_as("SELECT id, tracking_number FROM routing.cases WHERE tenant_id = $1")
            .bind(east.tenant.as_uuid())
            .fetch_optional(&mut owner)
            .await
            .expect("a case")
    })
    .await;
    centre
        .post_json(
            &format!("/api/v1/cases/{}/county-request", case.0),
            &json!({"note": "请县里协调"}),
        )
        .await
        .expect(204);
    smtp.refuse(
        "county-centre@example.com",
        550,
        "5.1.1 <county-centre@example.com>: Mailbox unavailable",
    );

    // Tomorrow: two replicas at once make one digest.
    let now = Utc::now() + chrono::Duration::days(1);
    let (one, two) = (replica(&env, &app), replica(&env, &app));
    let (a, b) = tokio::join!(county::pass(&one, now), county::pass(&two, now));
    assert_eq!(
        u8::from(a.expect("a pass")) + u8::from(b.expect("a pass")),
        1
    );
    assert!(!county::pass(&one, now).await.expect("a pass"));

    let mails = eventually("the county's digest", Duration::from_secs(20), || async {
        let m: Vec<_> = smtp
            .mails_to("county-admin@example.com")
            .into_iter()
            .filter(|m| m.subject().contains("县级日报"))
            .collect();
        (!m.is_empty()).then_some(m)
    })
    .await;
    assert_eq!(mails.len(), 1);
    let text = mails[0].text();
    assert!(
        text.contains("【east镇】新案件 1 件")
            && text.contains("【west镇】新案件 1 件")
            && text.contains("报县督办未结 1 件")
            && text.contains(&case.1),
        "{text}"
    );
    // The refused mailbox: failed with the server's words, not retried.
    let failed = eventually(
        "the refused county mail fails",
        Duration::from_secs(20),
        || async {
            let list = county
                .get("/api/v1/county/mail/deliveries")
                .await
                .expect(200)
                .body;
            list["deliveries"]
                .as_array()
                .expect("deliveries")
                .iter()
                .find(|d| d["state"] == "failed")
                .cloned()
        },
    )
    .await;
    assert_eq!(failed["attempts"], 1);
    assert!(
        failed["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("Mailbox unavailable")),
        "{failed}"
    );
    assert_eq!(failed["tries"][0]["code"], 550);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        smtp.mails()
            .iter()
            .filter(|m| m.subject().contains("县级日报"))
            .count(),
        1,
        "one digest, to the one address that takes it"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_administrator_adds_an_email_channel_on_the_page() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "mailpage").await;
    let app = TestApp::monolith(&env).await;
    let smtp = FakeSmtp::start().await;
    let b = mashang_tests::browser::Browser::new(&app.notification.base);
    let token = b.get("/login").await.expect(200).csrf();
    b.post(
        "/login",
        &[
            ("_csrf", &token),
            ("login", &fx.logins.admin),
            ("password", PASSWORD),
        ],
    )
    .await
    .see_other();
    let page = b.get("/admin/channels").await.expect(200);
    assert!(page.has("<option value=\"email\">电子邮件</option>") && page.has("每日晨报"));
    let csrf = page.csrf();
    let port = smtp.addr.port().to_string();
    let mut form = vec![
        ("_csrf", csrf.as_str()),
        ("kind", "email"),
        ("name", "中心邮箱"),
        ("smtp_host", "127.0.0.1"),
        ("smtp_tls", "none"),
        ("smtp_port", port.as_str()),
        ("smtp_user", LOGIN),
        ("smtp_password", APP_CODE),
        ("events", "digest.morning"),
    ];
    // No sender: refused, the input kept, the password not echoed.
    let refused = b.post("/admin/channels", &form).await.expect(422);
    assert!(refused.has("请填写发件人地址") && refused.has("value=\"127.0.0.1\""));
    assert!(!refused.has(APP_CODE));
    form.push(("smtp_from", "综治中心 <zz@example.com>"));
    let to = b.post("/admin/channels", &form).await.see_other();
    assert_eq!(to, "/admin/channels?ok=added");
    let page = b.get("/admin/channels").await.expect(200);
    assert!(
        page.has("中心邮箱") && page.has(&format!("127.0.0.1:{port}")) && page.has("每日晨报"),
        "the channel is listed with its server and the digest"
    );
    assert!(!page.has(APP_CODE));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_county_administrator_sets_tests_and_removes_the_county_mail_on_the_page() {
    let env = TestEnv::new().await;
    let east = seed_tenant(env.db(), "cmailpage").await;
    let app = TestApp::monolith(&env).await;
    let smtp = FakeSmtp::start().await;
    let admin = county_user(
        env.db(),
        &app.routing,
        "县管理员",
        "13800000041",
        &[Role::CountyAdmin],
    )
    .await;
    let people = admin.get("/api/v1/county/people").await.expect(200).body;
    let me = people["people"]
        .as_array()
        .expect("people")
        .iter()
        .find(|p| p["phone"] == "13800000041")
        .and_then(|p| p["id"].as_str())
        .expect("the administrator")
        .to_owned();
    admin
        .patch_json(
            &format!("/api/v1/county/people/{me}"),
            &json!({"email": "county-admin@example.com"}),
        )
        .await
        .expect(200);
    county_user(
        env.db(),
        &app.routing,
        "县中心",
        "13800000042",
        &[Role::CountyCentre],
    )
    .await;
    let sign_in = |login: String| {
        let base = app.notification.base.clone();
        async move {
            let b = mashang_tests::browser::Browser::new(&base);
            let token = b.get("/login").await.expect(200).csrf();
            b.post(
                "/login",
                &[("_csrf", &token), ("login", &login), ("password", PASSWORD)],
            )
            .await
            .see_other();
            b
        }
    };

    // Only the county's administrators: the centre and a township are refused.
    let centre = sign_in("13800000042".to_owned()).await;
    assert_eq!(centre.get("/county/mail").await.status.as_u16(), 403);
    let township = sign_in(east.logins.admin.clone()).await;
    assert_eq!(township.get("/county/mail").await.status.as_u16(), 403);

    let b = sign_in("13800000041".to_owned()).await;
    let page = b.get("/county/mail").await.expect(200);
    assert!(page.has("县级邮件") && page.has("未设置") && page.has("还没有发过邮件"));
    assert!(
        page.has(r#"href="/county/mail""#),
        "the header links the page"
    );
    let csrf = page.csrf();
    let port = smtp.addr.port().to_string();
    let mut form = vec![
        ("_csrf", csrf.as_str()),
        ("host", "127.0.0.1"),
        ("tls", "none"),
        ("port", port.as_str()),
        ("from", "县综治中心 <county@example.com>"),
        ("user", LOGIN),
        ("password", APP_CODE),
        ("digest_at", "25:00"),
        ("time_zone", "Asia/Nowhere"),
        ("active", "true"),
    ];
    // A wrong time and zone: refused with both reasons, what was typed kept, the
    // password not echoed.
    let refused = b.post("/county/mail", &form).await.expect(422);
    assert!(refused.has("时间应为 HH:MM") && refused.has("不是有效的时区"));
    assert!(refused.has(r#"value="Asia/Nowhere""#) && !refused.has(APP_CODE));
    form[7] = ("digest_at", "07:45");
    form[8] = ("time_zone", "Asia/Shanghai");
    assert_eq!(
        b.post("/county/mail", &form).await.see_other(),
        "/county/mail?ok=saved"
    );
    let page = b.get("/county/mail?ok=saved").await.expect(200);
    assert!(page.has("已保存") && page.has(r#"value="07:45""#) && page.has("已保存，不改可不填"));
    assert!(!page.has(APP_CODE), "the password is never shown");
    let stored = admin.get("/api/v1/county/mail").await.expect(200).body;
    assert_eq!(stored["settings"]["digest_at"], "07:45");
    assert_eq!(stored["settings"]["has_password"], true);

    // Saved again without the password: it is kept, and the test mail goes through.
    form.retain(|(k, _)| *k != "password");
    b.post("/county/mail", &form).await.see_other();
    let tested = b
        .post("/county/mail/test", &[("_csrf", csrf.as_str())])
        .await
        .expect(200);
    assert!(tested.has("邮件服务器已接收测试邮件"), "{}", tested.html);
    assert_eq!(smtp.mails_to("county-admin@example.com").len(), 1);

    // The server refusing the login is shown with its answer.
    smtp.require_login(LOGIN, "another-code");
    let tested = b
        .post("/county/mail/test", &[("_csrf", csrf.as_str())])
        .await
        .expect(200);
    assert!(
        tested.has("没有发出") && tested.has("535"),
        "{}",
        tested.html
    );

    // Removed: the API has none, the page says so.
    assert_eq!(
        b.post("/county/mail/delete", &[("_csrf", csrf.as_str())])
            .await
            .see_other(),
        "/county/mail?ok=removed"
    );
    admin.get("/api/v1/county/mail").await.expect(404);
    assert!(b.get("/county/mail").await.expect(200).has("未设置"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalated_case_is_mailed_to_the_centre_and_the_administrators_once() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "mailalert").await;
    let app = TestApp::monolith(&env).await;
    let smtp = FakeSmtp::start().await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    set_email(&admin, &fx, fx.centre, "centre@example.com").await;
    set_email(&admin, &fx, fx.admin, "admin@example.com").await;
    // One channel naming no events (the alerts), one naming only new cases.
    let alerts = admin
        .post_json(
            "/api/v1/admin/channels",
            &json!({"kind": "email", "name": "督办邮件", "settings": server(&smtp)}),
        )
        .await
        .expect(201)
        .body;
    admin
        .post_json(
            "/api/v1/admin/channels",
            &json!({"kind": "email", "name": "新案件邮件", "settings": server(&smtp),
                    "events": ["case.assigned"]}),
        )
        .await
        .expect(201);

    post_report(&app.intake, &report(&fx.qr_token, "路灯坏了"), None)
        .await
        .expect(201);
    // The new case: mailed by the second channel only, to both readers.
    eventually("the new case's mail", Duration::from_secs(20), || async {
        (smtp.mails_to("admin@example.com").len() == 1
            && smtp.mails_to("centre@example.com").len() == 1)
            .then_some(())
    })
    .await;
    let first = &smtp.mails_to("centre@example.com")[0];
    assert!(first.subject().contains("新案件"), "{}", first.subject());
    assert!(first.text().contains("/console/cases/"), "{}", first.text());

    // An escalation of that case reaches both through the alert channel, once,
    // however often the event comes.
    let mut owner = env.database.owner().await;
    let (envelope,): (Value,) = sqlx::query_as(
        "SELECT envelope FROM routing.outbox WHERE event_type = 'case.assigned' AND tenant_id = $1 \
         ORDER BY id LIMIT 1",
    )
    .bind(fx.tenant.as_uuid())
    .fetch_one(&mut owner)
    .await
    .expect("the event");
    let envelope: mashang_domain::events::Envelope =
        serde_json::from_value(envelope).expect("an envelope");
    let assigned: mashang_domain::events::CaseAssigned = envelope.decode().expect("case.assigned");
    let update = mashang_domain::events::CaseUpdate {
        case_id: assigned.case_id,
        case_version: assigned.case_version + 1,
        report_id: assigned.report_id,
        tracking_number: assigned.tracking_number.clone(),
        state: "assigned".to_owned(),
        action: "escalation".to_owned(),
        actor_id: None,
        assignee_id: Some(assigned.assignee_id),
        details: json!({"target": "first_response", "due_at": assigned.first_response_due}),
        notify: vec![fx.leader],
        handler_level: None,
        first_response_due: None,
        resolution_due: None,
    };
    let escalated = mashang_domain::events::Envelope::of_type(
        fx.tenant,
        Utc::now(),
        mashang_domain::events::EventType::CaseEscalated,
        &update,
    )
    .expect("an envelope");
    let planner = mashang_notification::delivery::plan::Planner::new(
        env.db().clone(),
        app.notification_delivery(),
    );
    assert_eq!(
        planner.plan(&escalated).await.expect("planned"),
        2,
        "one mail to each reader on the alert channel"
    );
    assert_eq!(planner.plan(&escalated).await.expect("planned"), 0);
    eventually("the escalation's mail", Duration::from_secs(20), || async {
        (smtp.mails_to("admin@example.com").len() == 2
            && smtp.mails_to("centre@example.com").len() == 2)
            .then_some(())
    })
    .await;
    let alert = &smtp.mails_to("admin@example.com")[1];
    assert!(
        alert.subject().contains(&assigned.tracking_number) && alert.text().contains("超时"),
        "{}: {}",
        alert.subject(),
        alert.text()
    );
    let listed = admin
        .get(&format!(
            "/api/v1/admin/deliveries?channel_id={}",
            alerts["id"].as_str().expect("an id")
        ))
        .await
        .expect(200)
        .body;
    assert_eq!(listed["deliveries"].as_array().map(Vec::len), Some(2));
    // Nobody else got anything.
    assert_eq!(smtp.mails().len(), 4);
    app.stop().await;
}
