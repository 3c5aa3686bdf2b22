//! SMS channels against local fakes of Alibaba Cloud's and Tencent Cloud's SendSms,
//! which check each request's signature as the provider does: a new case reaches its
//! worker's phone through each provider with the approved template and its parameters,
//! once, even when the event comes again; the providers' delivery receipts mark the
//! deliveries, and only at the channel's own secret URL; wrong keys, unapproved
//! templates and a number's rate limit are told apart; a kind without a template is
//! skipped with its reason.

use std::time::Duration;

use mashang_domain::events::{CaseAssigned, CaseUpdate, Envelope, EventType};
use mashang_tests::fakes::{Fakes, Sms};
use mashang_tests::intake::{post_report, report};
use mashang_tests::{Client, Fixture, PASSWORD, TestApp, TestEnv, eventually, seed_tenant};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);
const SIGN: &str = "码上反映";
const ALIYUN_KEY: (&str, &str) = ("LTAI5tSmsTest0001", "aliyun-secret-0001");
const TENCENT_KEY: (&str, &str, &str) = ("AKIDsmsTest0001", "tencent-key-0001", "1400006666");

/// The fakes with the township's accounts, its approved signature and templates.
async fn providers() -> Fakes {
    let fakes = Fakes::start().await;
    fakes.aliyun_key(ALIYUN_KEY.0, ALIYUN_KEY.1);
    fakes.tencent_key(TENCENT_KEY.0, TENCENT_KEY.1, TENCENT_KEY.2);
    fakes.sms_sign(SIGN);
    fakes.sms_template("SMS_465100", &["number", "deadline", "link"]);
    fakes.sms_template("2046001", &["number", "deadline", "link"]);
    fakes
}

fn aliyun(fakes: &Fakes, name: &str, templates: Value, secret: &str) -> Value {
    json!({"kind": "sms_aliyun", "name": name, "settings": {
        "sign_name": SIGN, "templates": templates, "endpoint": fakes.aliyun_endpoint(),
        "access_key_id": ALIYUN_KEY.0, "access_key_secret": secret}})
}

fn tencent(fakes: &Fakes, name: &str, templates: Value, key: &str) -> Value {
    json!({"kind": "sms_tencent", "name": name, "settings": {
        "sign_name": SIGN, "templates": templates, "endpoint": fakes.tencent_endpoint(),
        "region": "ap-guangzhou", "sdk_app_id": TENCENT_KEY.2,
        "secret_id": TENCENT_KEY.0, "secret_key": key}})
}

async fn channel(admin: &Client, body: Value) -> Value {
    admin
        .post_json("/api/v1/admin/channels", &body)
        .await
        .expect(201)
        .body
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
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

/// The channel's only delivery once it is in `state`.
async fn one_in(admin: &Client, channel: &str, state: &str) -> Value {
    eventually(&format!("a delivery {state}"), WAIT, || async {
        let list = deliveries(admin, channel).await;
        list.iter().find(|d| d["state"] == state).cloned()
    })
    .await
}

/// The path of a receipt URL (the apps announce http://public.test).
fn path(receipt_url: &Value) -> String {
    receipt_url
        .as_str()
        .expect("a receipt URL")
        .trim_start_matches("http://public.test")
        .to_owned()
}

async fn new_case(app: &TestApp, fx: &Fixture, text: &str) -> String {
    let reply = post_report(&app.intake, &report(&fx.qr_token, text), None)
        .await
        .expect(201);
    reply.body["tracking_number"]
        .as_str()
        .expect("a tracking number")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_case_texts_its_worker_through_each_provider_once_and_receipts_mark_it() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "sms").await;
    let app = TestApp::monolith(&env).await;
    let fakes = providers().await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;

    let ali = channel(
        &admin,
        aliyun(
            &fakes,
            "阿里云短信",
            json!({"case_assigned": "SMS_465100"}),
            ALIYUN_KEY.1,
        ),
    )
    .await;
    let tc = channel(
        &admin,
        tencent(
            &fakes,
            "腾讯云短信",
            json!({"case_assigned": {"code": "2046001", "params": ["number", "deadline", "link"]}}),
            TENCENT_KEY.1,
        ),
    )
    .await;
    // Keys are sealed (a hint shows), templates shown; the receipt URL comes once.
    assert_eq!(ali["key_hint"], "LTAI…0001");
    assert_eq!(
        ali["settings"]["templates"]["case_assigned"]["code"],
        "SMS_465100"
    );
    let (ali_receipt, tc_receipt) = (path(&ali["receipt_url"]), path(&tc["receipt_url"]));
    assert!(ali_receipt.starts_with("/api/v1/notification/receipts/aliyun/"));
    let listed = admin
        .get("/api/v1/admin/channels")
        .await
        .expect(200)
        .body
        .to_string();
    for secret in [
        ALIYUN_KEY.1,
        TENCENT_KEY.1,
        ali_receipt.rsplit('/').next().unwrap_or("?"),
    ] {
        assert!(!listed.contains(secret), "{secret} in {listed}");
    }

    let number = new_case(&app, &fx, "村口路灯坏了").await;
    let sent = eventually("an SMS through each provider", WAIT, || async {
        let got = fakes.sms(&fx.logins.worker);
        (got.len() >= 2).then_some(got)
    })
    .await;
    let by = |p: &str| -> Sms {
        sent.iter()
            .find(|m| m.provider == p)
            .cloned()
            .expect("an SMS")
    };
    let (a, t) = (by("aliyun"), by("tencent"));
    assert_eq!(a.phone, fx.logins.worker);
    assert_eq!(t.phone, format!("+86{}", fx.logins.worker));
    assert_eq!(
        (a.sign_name.as_str(), a.template.as_str()),
        (SIGN, "SMS_465100")
    );
    assert_eq!(a.param("number"), Some(number.as_str()));
    assert_eq!(t.param("1"), Some(number.as_str()));
    for (deadline, link) in [
        (a.param("deadline"), a.param("link")),
        (t.param("2"), t.param("3")),
    ] {
        // The call-back deadline in the township's time, and the case's link.
        let deadline = deadline.expect("a deadline");
        assert!(
            deadline.contains('月') && deadline.contains('日') && deadline.contains(':'),
            "{deadline}"
        );
        // The worker's own sign-in link: it opens the case without a password, once.
        let link = link.expect("a link");
        assert!(link.starts_with("http://public.test/l/"), "{link}");
        let path = link.trim_start_matches("http://public.test");
        let phone = mashang_tests::browser::Browser::new(&app.routing.base);
        let to = phone.post(path, &[]).await.see_other();
        assert!(to.starts_with("/console/cases/"), "{to}");
        assert_eq!(
            phone.post(path, &[]).await.status.as_u16(),
            410,
            "used once"
        );
    }

    // One delivery each, to the worker, with the provider's id; the out-id and
    // session context are the delivery's id.
    let ad = one_in(&admin, &id(&ali), "sent").await;
    let td = one_in(&admin, &id(&tc), "sent").await;
    assert_eq!(ad["provider_message_id"], a.id.as_str());
    assert_eq!(td["provider_message_id"], t.id.as_str());
    assert_eq!(ad["user_id"], json!(fx.worker));
    let simple = |d: &Value| d["id"].as_str().unwrap_or_default().replace('-', "");
    assert_eq!(a.context, simple(&ad));
    assert_eq!(t.context, simple(&td));

    // A receipt at a wrong token is refused and changes nothing.
    let (base, _) = ali_receipt.rsplit_once('/').expect("a token");
    let refused = app
        .notification
        .post_json(
            &format!("{base}/not-the-token"),
            &Fakes::aliyun_report(&a, false),
        )
        .await
        .expect(403)
        .body;
    assert_ne!(refused["code"], 0);
    // Another township's channel, with its own valid URL, cannot reach ours.
    let other = seed_tenant(env.db(), "smsb").await;
    let theirs = app.routing.signed_in(&other.logins.admin, PASSWORD).await;
    let foreign = channel(
        &theirs,
        aliyun(
            &fakes,
            "别的乡镇",
            json!({"case_assigned": "SMS_465100"}),
            ALIYUN_KEY.1,
        ),
    )
    .await;
    app.notification
        .post_json(
            &path(&foreign["receipt_url"]),
            &Fakes::aliyun_report(&a, false),
        )
        .await
        .expect(200);
    assert_eq!(deliveries(&admin, &id(&ali)).await[0]["state"], "sent");

    // The providers' reports at the right URLs, answered as each expects.
    let answer = app
        .notification
        .post_json(&ali_receipt, &Fakes::aliyun_report(&a, true))
        .await
        .expect(200)
        .body;
    assert_eq!(answer, json!({"code": 0, "msg": "成功"}));
    let answer = app
        .notification
        .post_json(&tc_receipt, &Fakes::tencent_report(&t, false))
        .await
        .expect(200)
        .body;
    assert_eq!(answer, json!({"result": 0, "errmsg": "OK"}));
    let ad = &deliveries(&admin, &id(&ali)).await[0];
    assert_eq!(ad["state"], "delivered", "{ad}");
    assert!(ad["delivered_at"].is_string());
    let tries = ad["tries"].as_array().expect("tries");
    assert_eq!(tries.last().map(|t| &t["outcome"]), Some(&json!("receipt")));
    assert!(
        !tries.iter().any(|t| t["answer"]
            .as_str()
            .is_some_and(|a| a.contains(&fx.logins.worker))),
        "the phone number is not kept with the receipt"
    );
    let td = &deliveries(&admin, &id(&tc)).await[0];
    assert_eq!(td["state"], "failed", "{td}");
    assert!(
        td["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("UNDELIV")),
        "{td}"
    );
    // A report over the bounds is refused whole.
    let flood = Value::Array(vec![Fakes::aliyun_report(&a, true)[0].clone(); 501]);
    app.notification
        .post_json(&ali_receipt, &flood)
        .await
        .expect(413);

    // The same event again (a redelivery): nothing new is planned or sent.
    let mut owner = env.database.owner().await;
    let (envelope,): (Value,) = sqlx::query_as(
        "SELECT envelope FROM routing.outbox WHERE event_type = 'case.assigned' AND tenant_id = $1",
    )
    .bind(fx.tenant.as_uuid())
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
    assert_eq!(fakes.sms(&fx.logins.worker).len(), 2);
    assert_eq!(deliveries(&admin, &id(&ali)).await.len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_keys_unapproved_templates_rate_limits_and_missing_templates_are_told_apart() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "smserr").await;
    let app = TestApp::monolith(&env).await;
    let fakes = providers().await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    let test = |c: Value| {
        let admin = admin.clone();
        async move {
            admin
                .post_json(
                    &format!("/api/v1/admin/channels/{}/test", id(&c)),
                    &json!({}),
                )
                .await
                .expect(200)
                .body
        }
    };

    // A wrong secret: each provider refuses the signature, in its own way.
    let ali_wrong = channel(
        &admin,
        aliyun(
            &fakes,
            "错密钥",
            json!({"case_assigned": "SMS_465100"}),
            "not-the-secret",
        ),
    )
    .await;
    let answer = test(ali_wrong.clone()).await;
    assert_eq!(answer["outcome"], "failed", "{answer}");
    assert_eq!(answer["http_status"], 400);
    assert!(
        answer["answer"]
            .as_str()
            .is_some_and(|a| a.contains("SignatureDoesNotMatch")),
        "{answer}"
    );
    let tc_wrong = channel(
        &admin,
        tencent(
            &fakes,
            "错密钥",
            json!({"case_assigned": "2046001"}),
            "not-the-key",
        ),
    )
    .await;
    let answer = test(tc_wrong.clone()).await;
    assert_eq!(answer["outcome"], "failed", "{answer}");
    assert_eq!(
        answer["http_status"], 200,
        "Tencent answers errors with 200"
    );
    assert!(
        answer["reason"]
            .as_str()
            .is_some_and(|r| r.contains("AuthFailure.SignatureFailure")),
        "{answer}"
    );
    // Right keys: the test message reaches the administrator's own phone.
    let ali = channel(
        &admin,
        aliyun(
            &fakes,
            "阿里云短信",
            json!({"case_assigned": "SMS_465100"}),
            ALIYUN_KEY.1,
        ),
    )
    .await;
    assert_eq!(test(ali.clone()).await["outcome"], "sent");
    assert_eq!(fakes.sms(&fx.logins.admin).len(), 1);
    for c in [&ali_wrong, &tc_wrong] {
        admin
            .put_json(
                &format!("/api/v1/admin/channels/{}", id(c)),
                &json!({"active": false}),
            )
            .await
            .expect(200);
    }

    // An unapproved template, and a channel without a template for new cases.
    let unapproved = channel(
        &admin,
        tencent(
            &fakes,
            "未审核模板",
            json!({"case_assigned": "9999999"}),
            TENCENT_KEY.1,
        ),
    )
    .await;
    let reminders_only = channel(
        &admin,
        aliyun(
            &fakes,
            "只发催办",
            json!({"case_reminded": "SMS_465100"}),
            ALIYUN_KEY.1,
        ),
    )
    .await;

    fakes.sms_per_number(Some(1));
    new_case(&app, &fx, "水渠堵了").await;
    one_in(&admin, &id(&ali), "sent").await;
    let failed = one_in(&admin, &id(&unapproved), "failed").await;
    assert!(
        failed["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("FailedOperation.TemplateIncorrectOrUnapproved")),
        "{failed}"
    );
    assert_eq!(failed["attempts"], 1, "a permanent answer is not retried");
    let skipped = one_in(&admin, &id(&reminders_only), "skipped").await;
    assert!(
        skipped["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("case_assigned")),
        "{skipped}"
    );
    assert_eq!(skipped["attempts"], 0, "nothing was sent");

    // A second case within the number's window: the provider's rate limit is retried.
    new_case(&app, &fx, "护栏断了").await;
    let limited = eventually("the second SMS is held back", WAIT, || async {
        deliveries(&admin, &id(&ali))
            .await
            .into_iter()
            .find(|d| d["state"] == "queued" && d["attempts"] == 1)
    })
    .await;
    assert!(
        limited["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("isv.BUSINESS_LIMIT_CONTROL")),
        "{limited}"
    );
    assert_eq!(limited["tries"][0]["outcome"], "retry");
    assert_eq!(limited["tries"][0]["http_status"], 200);
    // The window passes (the test moves the retry's time to now).
    fakes.sms_per_number(None);
    let mut owner = env.database.owner().await;
    let delivery: uuid::Uuid = limited["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("an id");
    sqlx::query("UPDATE notification.deliveries SET next_attempt_at = now() WHERE id = $1")
        .bind(delivery)
        .execute(&mut owner)
        .await
        .expect("due now");
    let sent = eventually("the held SMS goes", WAIT, || async {
        deliveries(&admin, &id(&ali))
            .await
            .into_iter()
            .find(|d| d["id"] == limited["id"] && d["state"] == "sent")
    })
    .await;
    assert_eq!(sent["attempts"], 2);
    // The admin's test, then one SMS per case to the worker.
    assert_eq!(fakes.sms(&fx.logins.worker).len(), 2);

    // A reminder goes to each person routing names, once each, on their own phone,
    // with the deadline it is about; channels without a reminder template skip it.
    let (envelope,): (Value,) = sqlx::query_as(
        "SELECT envelope FROM routing.outbox WHERE event_type = 'case.assigned' AND tenant_id = $1 \
         ORDER BY id LIMIT 1",
    )
    .bind(fx.tenant.as_uuid())
    .fetch_one(&mut owner)
    .await
    .expect("the event");
    let envelope: Envelope = serde_json::from_value(envelope).expect("an envelope");
    let assigned: CaseAssigned = envelope.decode().expect("case.assigned");
    let (state,): (String,) = sqlx::query_as("SELECT state FROM routing.cases WHERE id = $1")
        .bind(assigned.case_id.as_uuid())
        .fetch_one(&mut owner)
        .await
        .expect("the case");
    let update = CaseUpdate {
        case_id: assigned.case_id,
        case_version: assigned.case_version + 1,
        report_id: assigned.report_id,
        tracking_number: assigned.tracking_number.clone(),
        state,
        action: "reminder".to_owned(),
        actor_id: None,
        assignee_id: Some(assigned.assignee_id),
        details: json!({"target": "first_response", "percent": 80, "due_at": assigned.first_response_due}),
        notify: vec![fx.worker, fx.leader, fx.worker],
        handler_level: None,
        first_response_due: None,
        resolution_due: None,
    };
    let reminder = Envelope::of_type(
        fx.tenant,
        chrono::Utc::now(),
        EventType::CaseReminded,
        &update,
    )
    .expect("an envelope");
    let planner = mashang_notification::delivery::plan::Planner::new(
        env.db().clone(),
        app.notification_delivery(),
    );
    assert_eq!(
        planner.plan(&reminder).await.expect("planned"),
        6,
        "two people on each of the three active SMS channels"
    );
    assert_eq!(planner.plan(&reminder).await.expect("planned"), 0);
    let to_leader = eventually("the reminder reaches the leader", WAIT, || async {
        fakes.sms(&fx.logins.leader).into_iter().next()
    })
    .await;
    assert_eq!(
        to_leader.param("number"),
        Some(assigned.tracking_number.as_str())
    );
    assert!(
        to_leader
            .param("deadline")
            .is_some_and(|d| d.contains('月'))
    );
    eventually("the reminder reaches the worker", WAIT, || async {
        (fakes.sms(&fx.logins.worker).len() == 3).then_some(())
    })
    .await;
    let reminded: Vec<Value> = deliveries(&admin, &id(&reminders_only))
        .await
        .into_iter()
        .filter(|d| d["event_type"] == "case.reminded")
        .collect();
    assert_eq!(reminded.len(), 2, "{reminded:?}");
    let skipped = eventually("the other channels skip the reminder", WAIT, || async {
        let list = deliveries(&admin, &id(&ali)).await;
        let skipped: Vec<Value> = list
            .into_iter()
            .filter(|d| d["event_type"] == "case.reminded" && d["state"] == "skipped")
            .collect();
        (skipped.len() == 2).then_some(skipped)
    })
    .await;
    assert!(
        skipped[0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("case_reminded"))
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_channels_are_checked_and_their_receipt_url_can_be_renewed() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "smsset").await;
    let app = TestApp::monolith(&env).await;
    let fakes = providers().await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;

    let good = aliyun(&fakes, "短信", json!({"case_assigned": "SMS_465100"}), "s");
    let with = |mut body: Value, key: &str, value: Value| {
        body["settings"][key] = value;
        body
    };
    let without = |mut body: Value, key: &str| {
        body["settings"].as_object_mut().map(|s| s.remove(key));
        body
    };
    for (body, field) in [
        (without(good.clone(), "sign_name"), "settings.sign_name"),
        (
            with(good.clone(), "sign_name", json!("签".repeat(21))),
            "settings.sign_name",
        ),
        (
            with(good.clone(), "templates", json!({"case_exploded": "SMS_1"})),
            "settings.templates",
        ),
        (
            with(
                good.clone(),
                "templates",
                json!({"case_assigned": {"code": "SMS_1", "params": ["phone"]}}),
            ),
            "settings.templates",
        ),
        (
            without(good.clone(), "access_key_secret"),
            "settings.access_key_secret",
        ),
        (
            with(good.clone(), "endpoint", json!("http://10.1.2.3/")),
            "settings.endpoint",
        ),
        (
            with(good.clone(), "secret_key", json!("x")),
            "settings.secret_key",
        ),
        (
            without(
                tencent(&fakes, "腾讯", json!({"case_assigned": "1"}), "k"),
                "sdk_app_id",
            ),
            "settings.sdk_app_id",
        ),
    ] {
        let fields = admin
            .post_json("/api/v1/admin/channels", &body)
            .await
            .expect_problem(422);
        assert!(fields.iter().any(|f| f == field), "{body}: {fields:?}");
    }

    // A new receipt token: the old URL stops working, the new one is shown once.
    let made = channel(&admin, good).await;
    let old = path(&made["receipt_url"]);
    let renewed = admin
        .put_json(
            &format!("/api/v1/admin/channels/{}", id(&made)),
            &json!({"rotate_receipt_token": true}),
        )
        .await
        .expect(200)
        .body;
    let new = path(&renewed["receipt_url"]);
    assert_ne!(old, new);
    let shown = admin
        .get(&format!("/api/v1/admin/channels/{}", id(&made)))
        .await
        .expect(200)
        .body;
    assert!(shown.get("receipt_url").is_none(), "{shown}");
    app.notification
        .post_json(&old, &json!([]))
        .await
        .expect(403);
    app.notification
        .post_json(&new, &json!([]))
        .await
        .expect(200);
    app.notification
        .post_raw(&new, "application/json", b"not json".to_vec())
        .await
        .expect(400);
    // New keys keep the receipt URL; the settings can change without the keys.
    admin
        .put_json(
            &format!("/api/v1/admin/channels/{}", id(&made)),
            &json!({"settings": {"sign_name": SIGN, "templates": {"case_reminded": "SMS_465100"},
                                  "access_key_id": "LTAInew00000042", "access_key_secret": "n"}}),
        )
        .await
        .expect(200);
    app.notification
        .post_json(&new, &json!([]))
        .await
        .expect(200);
    let changed = admin
        .put_json(
            &format!("/api/v1/admin/channels/{}", id(&made)),
            &json!({"settings": {"sign_name": "新签名", "templates": {"case_closed": "SMS_9"}}}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(changed["settings"]["sign_name"], "新签名");
    assert_eq!(changed["key_hint"], "LTAI…0042");
    app.stop().await;
}

/// Makes a queued delivery due now, as if its wait had passed.
async fn due_now(env: &TestEnv, delivery: &str) {
    let mut owner = env.database.owner().await;
    sqlx::query("UPDATE notification.deliveries SET next_attempt_at = now() WHERE id = $1::uuid")
        .bind(delivery)
        .execute(&mut owner)
        .await
        .expect("made due");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_group_hears_first_and_sms_follows_only_if_nobody_acts() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "fallback").await;
    let app = TestApp::monolith(&env).await;
    let fakes = providers().await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    admin
        .put_json(
            "/api/v1/admin/channels/settings",
            &json!({"sms_fallback_minutes": 10}),
        )
        .await
        .expect(200);
    channel(
        &admin,
        json!({"kind": "wecom", "name": "网格群", "settings": {"url": fakes.wecom_robot("wk-fallback-0001")}}),
    )
    .await;
    let sms = channel(
        &admin,
        aliyun(
            &fakes,
            "短信",
            json!({"case_assigned": "SMS_465100"}),
            ALIYUN_KEY.1,
        ),
    )
    .await;

    // The group hears at once; the SMS waits ten minutes.
    new_case(&app, &fx, "路灯坏了").await;
    eventually("the group's message", WAIT, || async {
        (!fakes.received("wk-fallback-0001").is_empty()).then_some(())
    })
    .await;
    let waiting = one_in(&admin, &id(&sms), "queued").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(fakes.sms(&fx.logins.worker).is_empty(), "no SMS yet");

    // Nobody acted in time: when the wait is over the SMS goes.
    due_now(&env, waiting["id"].as_str().expect("an id")).await;
    eventually("the fallback SMS", WAIT, || async {
        (!fakes.sms(&fx.logins.worker).is_empty()).then_some(())
    })
    .await;

    // A second case the worker answers in time: its SMS is skipped, never sent.
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let number = new_case(&app, &fx, "水渠堵了").await;
    let case = mashang_tests::cases::case_id(&worker, &number).await;
    let second = eventually("the second SMS waiting", WAIT, || async {
        deliveries(&admin, &id(&sms))
            .await
            .into_iter()
            .find(|d| d["state"] == "queued" && d["case_id"] == case.as_str())
    })
    .await;
    worker
        .post_json(
            &format!("/api/v1/cases/{case}/acknowledge"),
            &json!({"contacted_at": chrono::Utc::now(), "method": "phone", "summary": "已联系"}),
        )
        .await
        .expect(200);
    due_now(&env, second["id"].as_str().expect("an id")).await;
    let skipped = eventually("the second SMS skipped", WAIT, || async {
        deliveries(&admin, &id(&sms))
            .await
            .into_iter()
            .find(|d| d["id"] == second["id"] && d["state"] == "skipped")
    })
    .await;
    assert_eq!(skipped["attempts"], 0, "{skipped}");
    assert_eq!(
        fakes.sms(&fx.logins.worker).len(),
        1,
        "only the first case's"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_hold_an_sms_and_a_person_may_turn_sms_off() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "quiet").await;
    let app = TestApp::monolith(&env).await;
    let fakes = providers().await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    let worker = app
        .notification
        .signed_in(&fx.logins.worker, PASSWORD)
        .await;
    let sms = channel(
        &admin,
        aliyun(
            &fakes,
            "短信",
            json!({"case_assigned": "SMS_465100"}),
            ALIYUN_KEY.1,
        ),
    )
    .await;

    // The worker's quiet hours cover the whole day but a minute: a normal case's SMS waits.
    let now =
        chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("+8"));
    let from = (now - chrono::Duration::minutes(1))
        .format("%H:%M")
        .to_string();
    let until = (now - chrono::Duration::minutes(2))
        .format("%H:%M")
        .to_string();
    let fields = worker
        .put_json(
            "/api/v1/inbox/settings",
            &json!({"quiet_hours": {"from": "25:00", "until": "07:00"}}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["quiet_hours"]);
    worker
        .put_json(
            "/api/v1/inbox/settings",
            &json!({"sms": true, "quiet_hours": {"from": from, "until": until}}),
        )
        .await
        .expect(200);
    new_case(&app, &fx, "路灯坏了").await;
    let held = one_in(&admin, &id(&sms), "queued").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        fakes.sms(&fx.logins.worker).is_empty(),
        "held for the quiet hours"
    );
    let mut owner = env.database.owner().await;
    let (wait,): (f64,) = sqlx::query_as(
        "SELECT extract(epoch FROM next_attempt_at - now())::float8 FROM notification.deliveries WHERE id = $1::uuid",
    )
    .bind(held["id"].as_str().expect("an id"))
    .fetch_one(&mut owner)
    .await
    .expect("the wait");
    assert!(
        wait > 23.0 * 3600.0,
        "held until the quiet hours end: {wait} s"
    );

    // SMS off: the next case makes no SMS for them at all (the in-app notice still comes).
    worker
        .put_json("/api/v1/inbox/settings", &json!({"sms": false}))
        .await
        .expect(200);
    let mine = worker.get("/api/v1/inbox/settings").await.expect(200).body;
    assert_eq!(mine["sms"], false);
    new_case(&app, &fx, "井盖丢了").await;
    eventually("the in-app notice", WAIT, || async {
        let n = worker.get("/api/v1/inbox").await.expect(200).body["notices"]
            .as_array()
            .map_or(0, Vec::len);
        (n == 2).then_some(())
    })
    .await;
    assert_eq!(
        deliveries(&admin, &id(&sms)).await.len(),
        1,
        "no SMS planned for the second case"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_who_asked_is_texted_on_receipt_and_for_a_rating_others_never() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "citizensms").await;
    let app = TestApp::monolith(&env).await;
    let fakes = providers().await;
    fakes.sms_template("SMS_465200", &["number", "link"]);
    fakes.sms_template("SMS_465201", &["number", "link"]);
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    channel(
        &admin,
        aliyun(
            &fakes,
            "短信",
            json!({
                "citizen_received": {"code": "SMS_465200", "params": ["number", "link"]},
                "citizen_rating": {"code": "SMS_465201", "params": ["number", "link"]},
            }),
            ALIYUN_KEY.1,
        ),
    )
    .await;

    // Asking for SMS without a number is refused by name.
    let mut body = report(&fx.qr_token, "路灯坏了");
    body["sms_consent"] = json!(true);
    let fields = post_report(&app.intake, &body, None)
        .await
        .expect_problem(422);
    assert_eq!(fields, ["contact_phone"]);

    // With a number and the box ticked: the tracking number and its status link.
    body["contact_phone"] = json!("13912340001");
    let number = post_report(&app.intake, &body, None).await.expect(201).body["tracking_number"]
        .as_str()
        .expect("a number")
        .to_owned();
    let got = eventually("the citizen's receipt SMS", WAIT, || async {
        fakes.sms("13912340001").into_iter().next()
    })
    .await;
    assert_eq!(got.template, "SMS_465200");
    assert_eq!(got.param("number"), Some(number.as_str()));
    assert_eq!(
        got.param("link"),
        Some(format!("http://public.test/r/{number}").as_str())
    );

    // Without the box: never texted.
    let mut quiet = report(&fx.qr_token, "水渠堵了");
    quiet["contact_phone"] = json!("13912340002");
    post_report(&app.intake, &quiet, None).await.expect(201);

    // Solved: the citizen who asked is asked for a rating.
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let case = mashang_tests::cases::case_id(&worker, &number).await;
    for (action, body) in [
        (
            "acknowledge",
            json!({"contacted_at": chrono::Utc::now(), "method": "phone", "summary": "已联系"}),
        ),
        ("resolve", json!({"measures": "已修好"})),
    ] {
        worker
            .post_json(&format!("/api/v1/cases/{case}/{action}"), &body)
            .await
            .expect(200);
    }
    let rating = eventually("the rating request", WAIT, || async {
        fakes
            .sms("13912340001")
            .into_iter()
            .find(|s| s.template == "SMS_465201")
    })
    .await;
    assert_eq!(rating.param("number"), Some(number.as_str()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(fakes.sms("13912340002").is_empty(), "no consent, no SMS");
    // The citizen's number is never stored beside the delivery.
    let mut owner = env.database.owner().await;
    let (leaks,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM notification.deliveries WHERE message::text LIKE '%13912340001%'",
    )
    .fetch_one(&mut owner)
    .await
    .expect("counting");
    assert_eq!(leaks, 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_forms_sms_box_needs_a_number_and_is_kept_when_refused() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "smsbox").await;
    let app = TestApp::monolith(&env).await;
    let landing = app
        .intake
        .get(&format!("/q/{}", fx.qr_token))
        .await
        .expect(200);
    let html = landing.body.as_str().unwrap_or_default().to_owned();
    assert!(
        html.contains(r#"name="sms_consent""#),
        "the box is on the form"
    );
    assert!(
        !html.contains(r#"value="1" checked"#),
        "and off unless ticked"
    );
    let form = reqwest::multipart::Form::new()
        .text("category", "roads")
        .text("description", "路灯坏了")
        .text("sms_consent", "1");
    let page = app
        .intake
        .post_multipart(&format!("/q/{}", fx.qr_token), form)
        .await
        .expect(422);
    let text = page.body.as_str().unwrap_or_default();
    assert!(text.contains("要收短信，请填写手机号"), "{text}");
    assert!(
        text.contains(r#"value="1" checked"#),
        "the box stays ticked"
    );
    app.stop().await;
}

/// A browser signed in to the notification service as `login`.
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
async fn the_administrator_adds_sms_channels_and_sets_the_sending_rules_on_the_page() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "smspage").await;
    let app = TestApp::monolith(&env).await;
    let fakes = providers().await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    let b = page_sign_in(&app.notification.base, &fx.logins.admin).await;
    let page = b.get("/admin/channels").await.expect(200);
    assert!(page.has(r#"<option value="sms_aliyun">阿里云短信</option>"#));
    assert!(page.has(r#"<option value="sms_tencent">腾讯云短信</option>"#));
    let csrf = page.csrf();
    let aliyun_endpoint = fakes.aliyun_endpoint();
    let mut form = vec![
        ("_csrf", csrf.as_str()),
        ("kind", "sms_aliyun"),
        ("name", "阿里云短信"),
        ("sms_sign_name", SIGN),
        ("sms_key_id", ALIYUN_KEY.0),
        ("sms_key_secret", ALIYUN_KEY.1),
        ("sms_endpoint", aliyun_endpoint.as_str()),
    ];
    // No template: refused, what was typed kept, the secret not echoed.
    let refused = b.post("/admin/channels", &form).await.expect(422);
    assert!(
        refused.has("请至少为一类消息填写模板编号"),
        "{}",
        refused.html
    );
    assert!(refused.has(&format!(r#"value="{}""#, ALIYUN_KEY.0)) && !refused.has(ALIYUN_KEY.1));
    assert!(
        refused.has(r#"<details class="sms" open>"#),
        "the SMS part stays open"
    );

    // With a template: added, its receipt URL shown once.
    form.push(("tpl.case_assigned", "SMS_465100"));
    let added = b.post("/admin/channels", &form).await.expect(200);
    assert!(
        added.has("渠道已添加") && added.has("请保存回执地址"),
        "{}",
        added.html
    );
    assert!(
        added.has("/api/v1/notification/"),
        "the receipt URL is on the page"
    );
    assert!(added.has(&format!("【{SIGN}】 · 密钥 LTAI…0001 · 1 个模板")));
    assert!(!added.has(ALIYUN_KEY.1), "the secret is never shown");
    let again = b.get("/admin/channels").await.expect(200);
    assert!(!again.has("请保存回执地址"), "shown once");

    // Its test message reaches the provider, which accepts it.
    let listed = admin.get("/api/v1/admin/channels").await.expect(200).body;
    let made = listed["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .find(|c| c["kind"] == "sms_aliyun")
        .cloned()
        .expect("the SMS channel");
    let tested = b
        .post(
            &format!("/admin/channels/{}/test", id(&made)),
            &[("_csrf", csrf.as_str())],
        )
        .await
        .expect(200);
    assert!(tested.has("对方已接收"), "{}", tested.html);

    // A new receipt URL, on the page.
    let renewed = b
        .post(
            &format!("/admin/channels/{}/receipt", id(&made)),
            &[("_csrf", csrf.as_str())],
        )
        .await
        .expect(200);
    assert!(renewed.has("请保存回执地址") && renewed.has("/api/v1/notification/"));

    // Tencent's, with a template taking two parameters in its own order.
    let tencent_endpoint = fakes.tencent_endpoint();
    let to = b
        .post(
            "/admin/channels",
            &[
                ("_csrf", csrf.as_str()),
                ("kind", "sms_tencent"),
                ("name", "腾讯云短信"),
                ("sms_sign_name", SIGN),
                ("sms_key_id", TENCENT_KEY.0),
                ("sms_key_secret", TENCENT_KEY.1),
                ("sms_app_id", TENCENT_KEY.2),
                ("sms_region", "ap-guangzhou"),
                ("sms_endpoint", tencent_endpoint.as_str()),
                ("tpl.case_reminded", "2046001"),
                ("tplp.case_reminded", "number，link"),
            ],
        )
        .await
        .expect(200);
    assert!(to.has("请保存回执地址"), "{}", to.html);
    let listed = admin.get("/api/v1/admin/channels").await.expect(200).body;
    let tencent = listed["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .find(|c| c["kind"] == "sms_tencent")
        .cloned()
        .expect("Tencent's channel");
    assert_eq!(
        tencent["settings"]["templates"]["case_reminded"],
        json!({"code": "2046001", "params": ["number", "link"]})
    );
    assert_eq!(tencent["settings"]["region"], "ap-guangzhou");

    // The sending rules: wrong values refused with their reasons and kept.
    let refused = b
        .post(
            "/admin/channels/rules",
            &[
                ("_csrf", csrf.as_str()),
                ("sms_fallback_minutes", "0"),
                ("quiet_from", "22:00"),
                ("quiet_until", "22:00"),
                ("morning_at", "7点"),
            ],
        )
        .await
        .expect(422);
    assert!(refused.has("没有保存") && refused.has("1到240分钟"));
    assert!(refused.has("开始和结束不能相同") && refused.has("时间应为 HH:MM"));
    assert!(refused.has(r#"value="7点""#));
    let before = admin
        .get("/api/v1/admin/channels/settings")
        .await
        .expect(200)
        .body;
    assert_eq!(before["sms_fallback_minutes"], Value::Null, "nothing saved");

    let to = b
        .post(
            "/admin/channels/rules",
            &[
                ("_csrf", csrf.as_str()),
                ("sms_fallback_minutes", "15"),
                ("quiet_from", "22:00"),
                ("quiet_until", "07:00"),
                ("morning_at", "06:45"),
            ],
        )
        .await
        .see_other();
    assert_eq!(to, "/admin/channels?ok=rules#rules");
    let settings = admin
        .get("/api/v1/admin/channels/settings")
        .await
        .expect(200)
        .body;
    assert_eq!(settings["sms_fallback_minutes"], 15);
    assert_eq!(
        settings["quiet_hours"],
        json!({"from": "22:00", "until": "07:00"})
    );
    let digest = admin.get("/api/v1/admin/digest").await.expect(200).body;
    assert_eq!(digest, json!({"morning_at": "06:45", "active": false}));
    let page = b.get("/admin/channels?ok=rules").await.expect(200);
    assert!(
        page.has("发送规则已保存") && page.has(r#"value="15""#) && page.has(r#"value="06:45""#)
    );

    // Cleared: SMS at once, no quiet hours.
    b.post(
        "/admin/channels/rules",
        &[
            ("_csrf", csrf.as_str()),
            ("sms_fallback_minutes", ""),
            ("quiet_from", ""),
            ("quiet_until", ""),
            ("morning_at", "07:30"),
            ("morning_active", "true"),
        ],
    )
    .await
    .see_other();
    let settings = admin
        .get("/api/v1/admin/channels/settings")
        .await
        .expect(200)
        .body;
    assert_eq!(
        settings,
        json!({"sms_fallback_minutes": null, "quiet_hours": null})
    );
    app.stop().await;
}

/// The SMS's personal sign-in link is made in the planning transaction, on the
/// connection the planner already holds: with a pool of one connection (as when every
/// connection of a busy pool is held by a planner) the link is still made at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planner_holding_the_last_connection_still_gives_the_sms_its_sign_in_link() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "smslink").await;
    let app = TestApp::monolith(&env).await;
    let fakes = providers().await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    // The case first, with no SMS channel: the running service plans no SMS for it.
    let number = new_case(&app, &fx, "村口路灯坏了").await;
    let mut owner = env.database.owner().await;
    let deadline = std::time::Instant::now() + WAIT;
    let envelope: Envelope = loop {
        let row: Option<(Value,)> = sqlx::query_as(
            "SELECT envelope FROM routing.outbox WHERE event_type = 'case.assigned' AND tenant_id = $1",
        )
        .bind(fx.tenant.as_uuid())
        .fetch_optional(&mut owner)
        .await
        .expect("the outbox");
        if let Some((e,)) = row {
            break serde_json::from_value(e).expect("an envelope");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no case.assigned event"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The running service plans outside channels before it writes the in-app notice:
    // once the notice is there, adding the SMS channel cannot race with its planning.
    loop {
        let (notices,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM notification.notices WHERE event_id = $1")
                .bind(envelope.id.as_uuid())
                .fetch_one(&mut owner)
                .await
                .expect("the notices");
        if notices > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the running service never handled case.assigned"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ali = channel(
        &admin,
        aliyun(
            &fakes,
            "阿里云短信",
            json!({"case_assigned": "SMS_465100"}),
            ALIYUN_KEY.1,
        ),
    )
    .await;
    let links = async |owner: &mut sqlx::PgConnection| -> i64 {
        sqlx::query_as::<_, (i64,)>("SELECT count(*) FROM routing.case_links WHERE tenant_id = $1")
            .bind(fx.tenant.as_uuid())
            .fetch_one(owner)
            .await
            .expect("counting links")
            .0
    };
    let before = links(&mut owner).await;

    let mut config = mashang_db::DbConfig::new(env.database.app_url.clone());
    config.max_connections = 1;
    config.acquire_timeout = Duration::from_secs(2);
    let one = mashang_db::Db::connect(&config)
        .await
        .expect("a pool of one");
    let planner =
        mashang_notification::delivery::plan::Planner::new(one, app.notification_delivery());
    let started = std::time::Instant::now();
    assert_eq!(planner.plan(&envelope).await.expect("planned"), 1);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the planner waited for a second connection: {:?}",
        started.elapsed()
    );
    let (message,): (Value,) =
        sqlx::query_as("SELECT message FROM notification.deliveries WHERE channel_id = $1::uuid")
            .bind(id(&ali))
            .fetch_one(&mut owner)
            .await
            .expect("the SMS delivery");
    let link = message["params"]["link"].as_str().unwrap_or_default();
    assert!(link.starts_with("http://public.test/l/"), "{message}");
    assert_eq!(message["params"]["number"], number.as_str());
    assert_eq!(links(&mut owner).await, before + 1);
    app.stop().await;
}
