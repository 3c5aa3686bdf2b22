//! The notices page, served by notification under the staff header every service
//! draws the same way, as a browser uses it.

use std::time::Duration;

use mashang_domain::role::Role;
use mashang_tests::browser::{Browser, Page};
use mashang_tests::cases::case_id;
use mashang_tests::intake::{post_report, report};
use mashang_tests::{Client, PASSWORD, TestApp, TestEnv, county_user, eventually, seed_tenant};

const WAIT: Duration = Duration::from_secs(30);

/// Signs `b` in through the form at routing; returns where it was sent.
pub(crate) async fn sign_in(b: &Browser, login: &str) -> String {
    let token = b.get("/login").await.expect(200).csrf();
    b.post(
        "/login",
        &[("_csrf", &token), ("login", login), ("password", PASSWORD)],
    )
    .await
    .see_other()
}

/// The page's staff header, without the script tag after it (whose URL names the
/// serving service's own copy of the file).
pub(crate) fn header(page: &Page) -> &str {
    let start = page.html.find(r#"<header class="bar">"#).expect("a header");
    let end = page.html[start..].find("</header>").expect("its end") + start;
    &page.html[start..end]
}

/// The id of the first notice the page lists (from its form's action).
fn first_notice(page: &Page) -> String {
    page.html
        .split(r#"action="/console/notices/"#)
        .find_map(|rest| rest.split_once(r#"/open""#))
        .map(|(id, _)| id.to_owned())
        .expect("a notice's form")
}

/// Files a report through the worker's grid and returns its tracking number.
async fn file(intake: &Client, token: &str, text: &str) -> String {
    post_report(intake, &report(token, text), None)
        .await
        .expect(201)
        .body["tracking_number"]
        .as_str()
        .expect("a tracking number")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_services_draw_one_header_and_the_notices_open_their_cases() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "cnsplit").await;
    let app = TestApp::split(&env, mashang_tests::infra::nats_config()).await;
    let worker_api = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let first = file(&app.intake, &fx.qr_token, "路灯不亮").await;
    let second = file(&app.intake, &fx.qr_token, "水沟堵了").await;

    let b = Browser::new(&app.routing.base);
    assert_eq!(sign_in(&b, &fx.logins.worker).await, "/console");
    let notices = b.at(&app.notification.base);
    // Both cases reach the worker's notices, unread.
    let page = eventually("both notices", WAIT, || async {
        let page = notices.get("/console/notices").await.expect(200);
        (page.has(&first) && page.has(&second)).then_some(page)
    })
    .await;
    assert!(page.has("<strong>2</strong> 条未读"), "{}", page.html);
    assert!(page.has("/static/notification/"), "its own files");

    // The header is the same whichever service draws it.
    let console = b.get("/console").await.expect(200);
    let report_page = b
        .at(&app.intake.base)
        .get("/console/report")
        .await
        .expect(200);
    assert_eq!(header(&page), header(&console));
    assert_eq!(header(&report_page), header(&console));
    assert!(header(&page).contains("王网格") && header(&page).contains("cnsplit镇"));
    assert!(header(&page).contains(r#"href="/console/report""#));

    // Opening a notice needs the form's token, marks it read and leads to its case.
    let id = first_notice(&page);
    let open = format!("/console/notices/{id}/open");
    notices.post(&open, &[]).await.expect(403);
    let to = notices
        .post(&open, &[("_csrf", &page.csrf())])
        .await
        .see_other();
    let cases = [
        case_id(&worker_api, &first).await,
        case_id(&worker_api, &second).await,
    ];
    assert!(
        cases.iter().any(|c| to == format!("/console/cases/{c}")),
        "{to}"
    );
    let page = notices.get("/console/notices").await.expect(200);
    assert!(page.has("<strong>1</strong> 条未读"), "{}", page.html);

    // All read at once.
    notices
        .post("/console/notices/read-all", &[])
        .await
        .expect(403);
    let to = notices
        .post("/console/notices/read-all", &[("_csrf", &page.csrf())])
        .await
        .see_other();
    assert_eq!(to, "/console/notices?ok=read");
    let page = notices.get(&to).await.expect(200);
    assert!(page.has("没有未读通知") && page.has("已全部标为已读"));
    assert!(!page.has(r#"class="unread""#));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_come_a_page_at_a_time_and_only_to_their_own_township_person() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "cnpages").await;
    let other = seed_tenant(env.db(), "cnother").await;
    // 25 notices for the worker, one a minute, and one for someone else.
    let mut tx = env.db().tenant(fx.tenant).await.expect("a transaction");
    for (n, user) in (0..26).map(|n| (n, if n < 25 { fx.worker } else { fx.leader })) {
        sqlx::query(
            "INSERT INTO notification.notices (id, tenant_id, user_id, event_id, kind, title, body, created_at) \
             VALUES ($1, $2, $3, $4, 'tenant_alerted', $5, '正文', now() - make_interval(mins => $6))",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(fx.tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(uuid::Uuid::now_v7())
        .bind(format!("通知第{n:02}条"))
        .bind(n)
        .execute(&mut *tx)
        .await
        .expect("a notice");
    }
    tx.commit().await.expect("commit");
    let app = TestApp::monolith(&env).await;

    let signed_out = Browser::new(&app.notification.base);
    assert_eq!(
        signed_out.get("/console/notices").await.see_other(),
        "/login?next=/console/notices"
    );

    let b = Browser::new(&app.routing.base);
    sign_in(&b, &fx.logins.worker).await;
    let first = b.get("/console/notices").await.expect(200);
    assert!(first.has("通知第00条") && first.has("通知第19条"));
    assert!(!first.has("通知第20条") && !first.has("通知第25条"));
    let older = first
        .html
        .split(r#"<a href=""#)
        .find_map(|a| a.strip_prefix("/console/notices?before="))
        .and_then(|rest| rest.split('"').next())
        .expect("a link to older notices");
    let second = b
        .get(&format!("/console/notices?before={older}"))
        .await
        .expect(200);
    for n in 20..25 {
        assert!(second.has(&format!("通知第{n}条")), "{n}");
    }
    assert!(!second.has("通知第19条") && !second.has("通知第25条"));
    assert!(!second.has("rel=\"next\""), "the last page");
    // A notice about no case, opened: read, and back to the list.
    let id = first_notice(&first);
    let open = format!("/console/notices/{id}/open");
    assert_eq!(
        b.post(&open, &[("_csrf", &first.csrf())]).await.see_other(),
        "/console/notices"
    );
    // Someone else cannot open it.
    let intruder = Browser::new(&app.routing.base);
    sign_in(&intruder, &other.logins.worker).await;
    let theirs = intruder.get("/console/notices").await.expect(200);
    assert!(!theirs.has("通知第"));
    intruder
        .post(&open, &[("_csrf", &theirs.csrf())])
        .await
        .expect(404);

    // County staff get no inbox.
    let county = county_user(
        env.db(),
        &app.routing,
        "县里的人",
        "13600136123",
        &[Role::CountyCentre],
    )
    .await;
    county.get("/console/notices").await.expect(403);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_turns_sms_off_and_sets_quiet_hours_on_a_page() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "noticeset").await;
    let app = TestApp::monolith(&env).await;
    let b = Browser::new(&app.notification.base);
    sign_in(&b, &fx.logins.worker).await;
    let page = b.get("/console/notices").await.expect(200);
    assert!(page.has(r#"href="/console/notices/settings""#));
    let page = b.get("/console/notices/settings").await.expect(200);
    assert!(page.has("接收短信") && page.has(r#"name="sms" value="1" checked"#));
    let csrf = page.csrf();

    // One time without the other: refused in words, what was typed kept.
    let refused = b
        .post(
            "/console/notices/settings",
            &[
                ("_csrf", csrf.as_str()),
                ("sms", "1"),
                ("quiet_from", "22:00"),
                ("quiet_until", ""),
            ],
        )
        .await
        .expect(422);
    assert!(refused.has("开始和结束都要填") && refused.has(r#"value="22:00""#));

    // SMS off, quiet from 22:00 to 07:00: saved, and the API says the same.
    let to = b
        .post(
            "/console/notices/settings",
            &[
                ("_csrf", csrf.as_str()),
                ("quiet_from", "22:00"),
                ("quiet_until", "07:00"),
            ],
        )
        .await
        .see_other();
    let page = b.get(&to).await.expect(200);
    assert!(page.has("已保存") && !page.has(r#"name="sms" value="1" checked"#));
    let api = app
        .notification
        .signed_in(&fx.logins.worker, PASSWORD)
        .await;
    let mine = api.get("/api/v1/inbox/settings").await.expect(200).body;
    assert_eq!(mine["sms"], false);
    assert_eq!(mine["quiet_hours"]["from"], "22:00");
    assert_eq!(mine["quiet_hours"]["until"], "07:00");

    // Signed out: to sign in first.
    let anonymous = Browser::new(&app.notification.base);
    assert!(
        anonymous
            .get("/console/notices/settings")
            .await
            .see_other()
            .starts_with("/login")
    );
    app.stop().await;
}
