//! Outside channels against local fakes of the providers: a township's WeCom robot,
//! DingTalk robot and webhook each hear of a new case within seconds, @-mentioning the
//! worker, signed as each provider documents (the webhook verified by an independent
//! Standard Webhooks library); a redelivered event sends nothing twice; the
//! providers' errors are told apart (rate limits retried, revoked keys and mismatched
//! signatures failed); a channel to a private address is refused.

use std::time::Duration;

use mashang_tests::fakes::Fakes;
use mashang_tests::intake::{post_report, report};
use mashang_tests::{Client, PASSWORD, TestApp, TestEnv, eventually, seed_tenant};
use serde_json::{Value, json};

async fn channel(admin: &Client, body: Value) -> Value {
    admin
        .post_json("/api/v1/admin/channels", &body)
        .await
        .expect(201)
        .body
}

async fn deliveries(admin: &Client, channel: &str) -> Vec<Value> {
    admin
        .get(&format!("/api/v1/admin/deliveries?channel_id={channel}"))
        .await
        .expect(200)
        .body["deliveries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_case_reaches_the_groups_and_the_webhook_once_each() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "chan").await;
    let app = TestApp::monolith(&env).await;
    let fakes = Fakes::start().await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;

    let wecom = channel(
        &admin,
        json!({"kind": "wecom", "name": "第一网格群", "settings": {"url": fakes.wecom_robot("wk-0001-abcdefgh")}}),
    )
    .await;
    let ding = channel(
        &admin,
        json!({"kind": "dingtalk", "name": "村委钉钉群",
               "settings": {"url": fakes.dingtalk_robot("dt-0001-abcdefgh", "SECsecret1"), "secret": "SECsecret1"},
               "events": ["case.assigned"]}),
    )
    .await;
    let hook = channel(
        &admin,
        json!({"kind": "webhook", "name": "12345热线", "settings": {"url": fakes.webhook("hotline", &[])}}),
    )
    .await;
    // The webhook's signing secret is answered once; the robot's key never.
    let secret = hook["secret"].as_str().expect("a whsec_ secret").to_owned();
    assert!(secret.starts_with("whsec_"));
    let listed = admin.get("/api/v1/admin/channels").await.expect(200).body;
    let text = listed.to_string();
    assert!(
        !text.contains("wk-0001-abcdefgh")
            && !text.contains("SECsecret1")
            && !text.contains("whsec_"),
        "{text}"
    );
    assert_eq!(listed["channels"].as_array().map(Vec::len), Some(3));
    assert!(
        wecom["url_hint"]
            .as_str()
            .is_some_and(|h| h.starts_with("127.0.0.1"))
    );

    // A report: each channel hears of the case within seconds.
    post_report(&app.intake, &report(&fx.qr_token, "村口路灯坏了"), None)
        .await
        .expect(201);
    let sent = eventually(
        "the robots and the webhook",
        Duration::from_secs(20),
        || async {
            let (w, d, h) = (
                fakes.received("wk-0001-abcdefgh"),
                fakes.received("dt-0001-abcdefgh"),
                fakes.received("hotline"),
            );
            (!w.is_empty() && !d.is_empty() && !h.is_empty()).then_some((w, d, h))
        },
    )
    .await;
    let w = sent.0[0].json();
    assert_eq!(w["msgtype"], "text");
    assert_eq!(
        w["text"]["mentioned_mobile_list"],
        json!([fx.logins.worker])
    );
    let content = w["text"]["content"].as_str().expect("content");
    assert!(
        content.contains("新案件") && content.contains("/console/cases/"),
        "{content}"
    );
    let d = sent.1[0].json();
    assert_eq!(d["at"]["atMobiles"], json!([fx.logins.worker]));
    assert!(
        d["text"]["content"]
            .as_str()
            .is_some_and(|c| c.contains(&format!("@{}", fx.logins.worker)))
    );

    // The webhook verifies with an independent Standard Webhooks implementation.
    let got = &sent.2[0];
    let verifier = standardwebhooks::Webhook::new(&secret).expect("the secret loads");
    verifier
        .verify(&got.body, &got.headers)
        .expect("the signature verifies");
    let payload = got.json();
    assert_eq!(payload["type"], "case.assigned");
    assert!(payload["data"]["tracking_number"].is_string(), "{payload}");
    // Tampered, it does not.
    let mut forged = got.body.to_vec();
    forged.push(b' ');
    assert!(verifier.verify(&forged, &got.headers).is_err());

    // Recorded as sent, one delivery each.
    let wecom_id = wecom["id"].as_str().expect("an id");
    let list = deliveries(&admin, wecom_id).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["state"], "sent");
    assert_eq!(
        list[0]["tries"][0]["answer"],
        r#"{"errcode":0,"errmsg":"ok"}"#
    );

    // The same event again (a redelivery): nothing new is planned or sent.
    let mut owner = env.database.owner().await;
    let (envelope,): (Value,) = sqlx::query_as(
        "SELECT envelope FROM routing.outbox WHERE event_type = 'case.assigned' ORDER BY id LIMIT 1",
    )
    .fetch_one(&mut owner)
    .await
    .expect("the event");
    let envelope: mashang_domain::events::Envelope =
        serde_json::from_value(envelope).expect("an envelope");
    let planner = mashang_notification::delivery::plan::Planner::new(
        env.db().clone(),
        app.notification_delivery(),
    );
    assert_eq!(planner.plan(&envelope).await.expect("planned"), 0);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(fakes.received("wk-0001-abcdefgh").len(), 1);
    assert_eq!(fakes.received("hotline").len(), 1);
    assert_eq!(deliveries(&admin, wecom_id).await.len(), 1);
    // The DingTalk channel listens to case.assigned only: a reminder would not go there.
    assert_eq!(ding["events"], json!(["case.assigned"]));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_errors_are_retried_or_failed_as_they_say_and_tests_show_the_answer() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "chanerr").await;
    let app = TestApp::monolith(&env).await;
    let fakes = Fakes::start().await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;

    // A robot whose key was removed (93000), a DingTalk robot given the wrong secret
    // (310000), a webhook that is down twice before it answers.
    let gone = format!("http://{}/cgi-bin/webhook/send?key=removed", fakes.addr);
    let revoked = channel(
        &admin,
        json!({"kind": "wecom", "name": "旧群", "settings": {"url": gone}}),
    )
    .await;
    let mismatched = channel(
        &admin,
        json!({"kind": "dingtalk", "name": "钉钉群",
               "settings": {"url": fakes.dingtalk_robot("dt-2", "SECright"), "secret": "SECwrong"}}),
    )
    .await;
    let flaky = channel(
        &admin,
        json!({"kind": "webhook", "name": "县平台", "settings": {"url": fakes.webhook("county", &[503, 503])}}),
    )
    .await;

    // "Send a test message" answers with what the provider said.
    let test = admin
        .post_json(
            &format!(
                "/api/v1/admin/channels/{}/test",
                revoked["id"].as_str().expect("id")
            ),
            &json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(test["outcome"], "failed", "{test}");
    assert!(test["answer"].as_str().is_some_and(|a| a.contains("93000")));
    let test = admin
        .post_json(
            &format!(
                "/api/v1/admin/channels/{}/test",
                mismatched["id"].as_str().expect("id")
            ),
            &json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(test["outcome"], "failed", "{test}");
    assert!(
        test["reason"]
            .as_str()
            .is_some_and(|r| r.contains("310000"))
    );

    post_report(&app.intake, &report(&fx.qr_token, "水渠堵了"), None)
        .await
        .expect(201);
    let by_state = |list: &[Value]| {
        list.first()
            .map(|d| d["state"].as_str().unwrap_or("").to_owned())
    };
    let id = |c: &Value| c["id"].as_str().expect("an id").to_owned();
    let failed = eventually(
        "the revoked robot's delivery fails",
        Duration::from_secs(20),
        || async {
            let list = deliveries(&admin, &id(&revoked)).await;
            (by_state(&list).as_deref() == Some("failed")).then_some(list)
        },
    )
    .await;
    assert!(
        failed[0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("93000"))
    );
    assert_eq!(
        failed[0]["attempts"], 1,
        "a permanent answer is not retried"
    );
    eventually(
        "the mismatched robot's delivery fails",
        Duration::from_secs(20),
        || async {
            (by_state(&deliveries(&admin, &id(&mismatched)).await).as_deref() == Some("failed"))
                .then_some(())
        },
    )
    .await;
    // The webhook: 503 (Retry-After: 1) twice, then delivered on the third attempt.
    let sent = eventually(
        "the flaky webhook's delivery is sent",
        Duration::from_secs(30),
        || async {
            let list = deliveries(&admin, &id(&flaky)).await;
            (by_state(&list).as_deref() == Some("sent")).then_some(list)
        },
    )
    .await;
    assert_eq!(sent[0]["attempts"], 3, "{sent:?}");
    let outcomes: Vec<_> = sent[0]["tries"]
        .as_array()
        .expect("tries")
        .iter()
        .map(|t| {
            (
                t["outcome"].as_str().unwrap_or("").to_owned(),
                t["http_status"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("retry".to_owned(), Some(503)),
            ("retry".to_owned(), Some(503)),
            ("sent".to_owned(), Some(204))
        ]
    );
    assert_eq!(fakes.received("county").len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_robots_rate_limit_is_kept_and_bad_channels_are_refused() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "chanrate").await;
    let app = TestApp::monolith(&env).await;
    let fakes = Fakes::start().await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;

    // Our bucket allows two a minute; the provider would allow twenty: the third
    // message waits in the queue instead of being refused by the provider.
    let limited = channel(
        &admin,
        json!({"kind": "wecom", "name": "限速群", "per_minute": 2,
               "settings": {"url": fakes.wecom_robot("wk-rate")}}),
    )
    .await;
    for text in ["路灯坏了", "水渠堵了", "护栏断了"] {
        post_report(&app.intake, &report(&fx.qr_token, text), None)
            .await
            .expect(201);
    }
    eventually("two sent", Duration::from_secs(20), || async {
        (fakes.received("wk-rate").len() == 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(fakes.received("wk-rate").len(), 2, "the third waits");
    let list = deliveries(&admin, limited["id"].as_str().expect("an id")).await;
    let waiting: Vec<_> = list.iter().filter(|d| d["state"] == "queued").collect();
    assert_eq!(waiting.len(), 1, "{list:?}");
    assert_eq!(
        waiting[0]["attempts"], 0,
        "waiting for the bucket spends no attempt"
    );

    // The provider's own limit (45009) is a retry, not a failure.
    fakes.set_per_minute(0);
    let test = admin
        .post_json(
            &format!(
                "/api/v1/admin/channels/{}/test",
                limited["id"].as_str().expect("id")
            ),
            &json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(test["outcome"], "retry", "{test}");

    // Refused channels: a private address, a missing secret, an unknown kind, an
    // unknown node; a grid worker may not configure channels at all.
    for (body, field) in [
        (
            json!({"kind": "webhook", "name": "内网", "settings": {"url": "http://10.1.2.3/hook"}}),
            "settings.url",
        ),
        (
            json!({"kind": "webhook", "name": "元数据", "settings": {"url": "http://169.254.169.254/"}}),
            "settings.url",
        ),
        (
            json!({"kind": "dingtalk", "name": "钉钉", "settings": {"url": fakes.dingtalk_robot("dt-3", "SECx")}}),
            "settings.secret",
        ),
        (
            json!({"kind": "fax", "name": "传真", "settings": {}}),
            "kind",
        ),
        (
            json!({"kind": "wecom", "name": "群", "settings": {"url": fakes.wecom_robot("k")}, "node_id": uuid::Uuid::now_v7()}),
            "node_id",
        ),
        (
            json!({"kind": "wecom", "name": "", "settings": {"url": fakes.wecom_robot("k")}}),
            "name",
        ),
        (
            json!({"kind": "wecom", "name": "群", "settings": {"url": fakes.wecom_robot("k")}, "events": ["case.exploded"]}),
            "events",
        ),
    ] {
        let fields = admin
            .post_json("/api/v1/admin/channels", &body)
            .await
            .expect_problem(422);
        assert!(fields.iter().any(|f| f == field), "{body}: {fields:?}");
    }
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    worker.get("/api/v1/admin/channels").await.expect(403);
    let other = seed_tenant(env.db(), "chanrateb").await;
    let theirs = app.routing.signed_in(&other.logins.admin, PASSWORD).await;
    theirs
        .get(&format!(
            "/api/v1/admin/channels/{}",
            limited["id"].as_str().expect("id")
        ))
        .await
        .expect(404);
    app.stop().await;
}

async fn page_sign_in(base: &str, login: &str) -> mashang_tests::browser::Browser {
    let b = mashang_tests::browser::Browser::new(base);
    let token = b.get("/login").await.expect(200).csrf();
    b.post(
        "/login",
        &[("_csrf", &token), ("login", login), ("password", PASSWORD)],
    )
    .await
    .see_other();
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_administrator_sets_tests_and_removes_channels_on_the_page() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "chanpage").await;
    let app = TestApp::monolith(&env).await;
    let fakes = Fakes::start().await;
    let b = page_sign_in(&app.notification.base, &fx.logins.admin).await;

    let page = b.get("/admin/channels").await.expect(200);
    assert!(page.has("通知渠道") && page.has("还没有渠道"));
    let csrf = page.csrf();

    // A WeCom robot: added, listed without its key.
    let robot = fakes.wecom_robot("wk-page-0001-abcdefgh");
    let to = b
        .post(
            "/admin/channels",
            &[
                ("_csrf", &csrf),
                ("kind", "wecom"),
                ("name", "第一网格群"),
                ("url", &robot),
                ("per_minute", "20"),
                ("events", "case.assigned"),
                ("events", "case.reminded"),
            ],
        )
        .await
        .see_other();
    assert_eq!(to, "/admin/channels?ok=added");
    let page = b.get(&to).await.expect(200);
    assert!(page.has("渠道已添加") && page.has("第一网格群") && page.has("…efgh"));
    assert!(!page.has("wk-page-0001"), "the key is never shown");
    assert!(
        page.has("新案件 (new case)、催办 (reminder)"),
        "{}",
        page.html
    );

    // A refused one comes back with what was typed and the reason.
    let refused = b
        .post(
            "/admin/channels",
            &[
                ("_csrf", &csrf),
                ("kind", "webhook"),
                ("name", "内网平台"),
                ("url", "http://10.1.2.3/hook"),
            ],
        )
        .await
        .expect(422);
    assert!(refused.has("不允许发送到内网") && refused.has(r#"value="内网平台""#));

    // A webhook: its signing secret is shown once, on the page after adding.
    let added = b
        .post(
            "/admin/channels",
            &[
                ("_csrf", &csrf),
                ("kind", "webhook"),
                ("name", "12345热线"),
                ("url", &fakes.webhook("page", &[])),
            ],
        )
        .await
        .expect(200);
    assert!(added.has("请保存签名密钥") && added.has("whsec_"));
    let again = b.get("/admin/channels").await.expect(200);
    assert!(!again.has("whsec_"), "shown once only");

    // Send a test: the provider's answer on the page, and the robot got it.
    let id = again
        .html
        .split("/admin/channels/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("a channel's forms")
        .to_owned();
    let tested = b
        .post(&format!("/admin/channels/{id}/test"), &[("_csrf", &csrf)])
        .await
        .expect(200);
    assert!(
        tested.has("对方已接收") && tested.has("errcode"),
        "{}",
        tested.html
    );
    assert_eq!(fakes.received("wk-page-0001-abcdefgh").len(), 1);

    // Switched off, then removed.
    let to = b
        .post(
            &format!("/admin/channels/{id}/active"),
            &[("_csrf", &csrf), ("active", "false")],
        )
        .await
        .see_other();
    assert!(b.get(&to).await.expect(200).has("已停用"));
    let to = b
        .post(&format!("/admin/channels/{id}/delete"), &[("_csrf", &csrf)])
        .await
        .see_other();
    let page = b.get(&to).await.expect(200);
    assert!(page.has("渠道已删除"));
    assert!(!page.has("第一网格群 <span"), "{}", page.html);

    // Others: a grid worker is refused; another township's channel is not found.
    let worker = page_sign_in(&app.notification.base, &fx.logins.worker).await;
    assert_eq!(worker.get("/admin/channels").await.status.as_u16(), 403);
    let other = seed_tenant(env.db(), "chanpageb").await;
    let theirs = page_sign_in(&app.notification.base, &other.logins.admin).await;
    let their_csrf = theirs.get("/admin/channels").await.expect(200).csrf();
    let remaining = b.get("/admin/channels").await.expect(200);
    let hook_id = remaining
        .html
        .split("/admin/channels/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("the webhook's forms")
        .to_owned();
    assert_eq!(
        theirs
            .post(
                &format!("/admin/channels/{hook_id}/delete"),
                &[("_csrf", &their_csrf)]
            )
            .await
            .status
            .as_u16(),
        404
    );
    // Signed out: to sign in and back to the page.
    let anonymous = mashang_tests::browser::Browser::new(&app.notification.base);
    assert_eq!(
        anonymous.get("/admin/channels").await.see_other(),
        "/login?next=/admin/channels"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_townships_own_words_go_out_and_are_previewed_first() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "chanwords").await;
    let app = TestApp::monolith(&env).await;
    let fakes = Fakes::start().await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    channel(
        &admin,
        json!({"kind": "wecom", "name": "网格群", "settings": {"url": fakes.wecom_robot("wk-words-0001")}}),
    )
    .await;

    // A placeholder that does not exist is refused; a preview fills the sample case.
    let fields = admin
        .put_json(
            "/api/v1/admin/message-templates/case_assigned",
            &json!({"title": "新案 {case_no}", "text_zh": "快", "text_en": ""}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["title"]);
    let shown = admin
        .post_json(
            "/api/v1/admin/message-templates/case_assigned/preview",
            &json!({"title": "【{tracking_number}】请速联系", "text_zh": "务必在{deadline}前回电。", "text_en": ""}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(shown["title"], "【CT-20261204-0042】请速联系");
    assert_eq!(shown["text"], "务必在12月4日 10:30前回电。");

    // Saved on the page: the next case's message uses it.
    let b = page_sign_in(&app.notification.base, &fx.logins.admin).await;
    let page = b.get("/admin/message-templates").await.expect(200);
    assert!(page.has("消息模板") && page.has("{tracking_number}"));
    let csrf = page.csrf();
    let previewed = b
        .post(
            "/admin/message-templates/case_assigned",
            &[
                ("_csrf", csrf.as_str()),
                ("title", "【{tracking_number}】请速联系"),
                ("text_zh", "务必在{deadline}前回电。"),
                ("text_en", ""),
                ("do", "preview"),
            ],
        )
        .await
        .expect(200);
    assert!(previewed.has("预览") && previewed.has("【CT-20261204-0042】请速联系"));
    let to = b
        .post(
            "/admin/message-templates/case_assigned",
            &[
                ("_csrf", csrf.as_str()),
                ("title", "【{tracking_number}】请速联系"),
                ("text_zh", "务必在{deadline}前回电。"),
                ("text_en", ""),
                ("do", "save"),
            ],
        )
        .await
        .see_other();
    assert!(b.get(&to).await.expect(200).has("已保存"));
    let number = post_report(&app.intake, &report(&fx.qr_token, "井盖丢了"), None)
        .await
        .expect(201)
        .body["tracking_number"]
        .as_str()
        .expect("a number")
        .to_owned();
    let got = eventually("the robot's message", Duration::from_secs(20), || async {
        fakes.received("wk-words-0001").into_iter().next()
    })
    .await;
    let content = got.json()["text"]["content"]
        .as_str()
        .expect("content")
        .to_owned();
    assert!(
        content.contains(&format!("【{number}】请速联系")),
        "{content}"
    );
    assert!(
        content.contains("务必在") && content.contains("前回电。"),
        "{content}"
    );

    // Back to the default.
    let to = b
        .post(
            "/admin/message-templates/case_assigned/reset",
            &[("_csrf", csrf.as_str())],
        )
        .await
        .see_other();
    assert!(b.get(&to).await.expect(200).has("已恢复默认"));
    let list = admin
        .get("/api/v1/admin/message-templates")
        .await
        .expect(200)
        .body;
    assert_eq!(list["templates"][0]["custom"], false, "{list}");
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    worker
        .get("/api/v1/admin/message-templates")
        .await
        .expect(403);
    app.stop().await;
}
