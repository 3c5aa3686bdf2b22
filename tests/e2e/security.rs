//! Staff access, secrets and event contents under attack: a citizen's submission from
//! a browser holding a staff cookie, sign-in throttling that nobody can turn into a
//! lock-out and that concurrent bursts cannot pass, roles that add up to exactly
//! their union, tree moves that cannot make a cycle, keyed reset codes, sealed phones
//! that open only in their own row, and events without contact details.

use std::time::Duration;

use mashang_auth::{AuthError, Keys, Password, SigninThrottle};
use mashang_domain::grid::NodeKind;
use mashang_domain::role::Role;
use mashang_domain::{GridNodeId, PhoneNumber};
use mashang_routing::directory::nodes::{self, NewNode};
use mashang_routing::directory::staff::{PersonInput, create_person, grant_role};
use mashang_tests::cases::case_id;
use mashang_tests::infra::pii_key;
use mashang_tests::{PASSWORD, TestApp, TestEnv, eventually, seed_tenant};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_report_is_accepted_from_a_browser_holding_a_staff_cookie() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "secookie").await;
    let app = TestApp::monolith(&env).await;
    // One browser: a worker signed in on it (cookie), then a villager uses it.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("an HTTP client");
    let login = browser
        .post(app.routing.url("/api/v1/auth/login"))
        .json(&json!({"login": fx.logins.worker, "password": PASSWORD}))
        .send()
        .await
        .expect("POST");
    assert_eq!(login.status(), 200);
    // The page's script posts without any CSRF header: the report is a citizen's.
    let report = browser
        .post(app.intake.url("/api/v1/reports"))
        .json(&json!({"qr_token": fx.qr_token, "category": "roads", "description": "路灯坏了"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(
        report.status(),
        201,
        "{}",
        report.text().await.unwrap_or_default()
    );
    // The same holds for a photo uploaded ahead of the report.
    let form = reqwest::multipart::Form::new()
        .text("qr_token", fx.qr_token.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(tiny_png())
                .file_name("a.png")
                .mime_str("image/png")
                .expect("a MIME type"),
        );
    let upload = browser
        .post(app.intake.url("/api/v1/attachments"))
        .multipart(form)
        .send()
        .await
        .expect("POST");
    assert_eq!(
        upload.status(),
        201,
        "{}",
        upload.text().await.unwrap_or_default()
    );
    app.stop().await;
}

/// A 1×1 PNG.
fn tiny_png() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, 1, 1);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().expect("a header");
        writer.write_image_data(&[200, 10, 10]).expect("pixels");
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_from_elsewhere_never_keep_the_right_password_out() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "selock").await;
    let limits = SigninThrottle::default();
    // Someone tries wrong passwords on the worker's account from many addresses.
    for i in 0..(limits.per_login + 3) {
        let refused = mashang_auth::sign_in(
            env.db(),
            &fx.logins.worker,
            "wrong-password",
            &format!("198.51.100.{i}"),
            limits,
        )
        .await;
        assert!(
            matches!(refused, Err(AuthError::BadCredentials)),
            "{refused:?}"
        );
    }
    // The worker, from their own phone, still signs in (after the account's delay).
    let started = std::time::Instant::now();
    let signed_in =
        mashang_auth::sign_in(env.db(), &fx.logins.worker, PASSWORD, "203.0.113.7", limits).await;
    assert!(signed_in.is_ok(), "{:?}", signed_in.err());
    assert!(started.elapsed() <= limits.max_login_delay + Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_burst_of_failures_stays_within_the_address_limit() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "seburst").await;
    let limits = SigninThrottle {
        per_address: 4,
        ..SigninThrottle::default()
    };
    let attempts = (0..24).map(|i| {
        let db = env.db().clone();
        // Different accounts, so only the address limit applies.
        let login = if i % 2 == 0 {
            fx.logins.centre.clone()
        } else {
            format!("nobody{i}")
        };
        tokio::spawn(async move {
            mashang_auth::sign_in(&db, &login, "wrong-password", "192.0.2.99", limits).await
        })
    });
    let mut checked = 0;
    let mut throttled = 0;
    for attempt in futures::future::join_all(attempts).await {
        match attempt.expect("the task") {
            Err(AuthError::BadCredentials) => checked += 1,
            Err(AuthError::Throttled(_)) => throttled += 1,
            other => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!(checked, 4, "passwords checked: no more than the limit");
    assert_eq!(throttled, 20);
}

/// A person of the fixture's township with these roles and the test password.
async fn person(
    env: &TestEnv,
    fx: &mashang_tests::Fixture,
    phone: &str,
    roles: &[(Role, GridNodeId)],
) {
    let mut tx = env.db().tenant(fx.tenant).await.expect("a transaction");
    let user = create_person(
        &mut tx,
        &PersonInput {
            name: "两职人".into(),
            phone: PhoneNumber::parse(phone).expect("a phone"),
            username: None,
            active: true,
        },
    )
    .await
    .expect("a person");
    for (role, node) in roles {
        grant_role(&mut tx, user, *role, *node)
            .await
            .expect("a role");
    }
    mashang_auth::set_staff_password(&mut tx, user, &Password::new(PASSWORD).expect("ok"))
        .await
        .expect("a password");
    tx.commit().await.expect("commit");
}

async fn node(env: &TestEnv, fx: &mashang_tests::Fixture, code: &str) -> GridNodeId {
    let mut tx = env.db().tenant(fx.tenant).await.expect("a transaction");
    let id = nodes::insert_node(
        &mut tx,
        &NewNode {
            parent: Some(fx.root),
            kind: NodeKind::Village,
            code: code.into(),
            name: code.into(),
        },
    )
    .await
    .expect("a node");
    tx.commit().await.expect("commit");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_own_role_and_a_subtree_role_show_exactly_their_union_of_cases() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "seunion").await;
    let app = TestApp::monolith(&env).await;
    let elsewhere = node(&env, &fx, "seunion-v2").await;
    // A report at the fixture's grid: its case goes to the fixture's worker.
    let created = app
        .intake
        .post_json(
            "/api/v1/reports",
            &json!({"qr_token": fx.qr_token, "category": "roads", "description": "路灯坏了"}),
        )
        .await
        .expect(201);
    let tracking = created.body["tracking_number"]
        .as_str()
        .expect("a number")
        .to_owned();
    let leader = app.routing.signed_in(&fx.logins.leader, PASSWORD).await;
    eventually("the case", WAIT, || async {
        let list = leader.get("/api/v1/cases").await.expect(200).body;
        list["cases"]
            .as_array()?
            .iter()
            .find(|c| c["tracking_number"] == tracking.as_str())
            .map(|_| ())
    })
    .await;
    // A grid worker role at the village (own: their own cases there) and a grid leader
    // role at another village (subtree): neither reaches the fixture worker's case.
    person(
        &env,
        &fx,
        "13900007001",
        &[
            (Role::GridWorker, fx.village),
            (Role::GridLeader, elsewhere),
        ],
    )
    .await;
    let both = app.routing.signed_in("13900007001", PASSWORD).await;
    let seen = both.get("/api/v1/cases").await.expect(200).body;
    assert_eq!(
        seen["cases"],
        json!([]),
        "an own role is not a subtree role"
    );
    // A grid leader role at the village does reach it.
    person(
        &env,
        &fx,
        "13900007002",
        &[(Role::GridWorker, fx.grid), (Role::GridLeader, fx.village)],
    )
    .await;
    let leads = app.routing.signed_in("13900007002", PASSWORD).await;
    let seen = leads.get("/api/v1/cases").await.expect(200).body;
    assert_eq!(seen["cases"].as_array().map(Vec::len), Some(1));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_crossing_moves_cannot_make_a_cycle() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "secycle").await;
    let a = node(&env, &fx, "secycle-a").await;
    let b = node(&env, &fx, "secycle-b").await;
    // A goes under B, not yet committed; meanwhile B is moved under A.
    let mut first = env.db().tenant(fx.tenant).await.expect("a transaction");
    nodes::move_node(&mut first, a, b).await.expect("A under B");
    let db = env.db().clone();
    let tenant = fx.tenant;
    let mut second = tokio::spawn(async move {
        let mut tx = db.tenant(tenant).await.expect("a transaction");
        let moved = nodes::move_node(&mut tx, b, a).await;
        if moved.is_ok() {
            tx.commit().await.expect("commit");
        }
        moved
    });
    // The second move waits for the first (the tree is locked), rather than checking
    // a tree about to change.
    let early = tokio::time::timeout(Duration::from_millis(500), &mut second).await;
    assert!(early.is_err(), "the crossing move did not wait: {early:?}");
    first.commit().await.expect("commit");
    let second = second.await.expect("the task");
    assert!(second.is_err(), "B under A would close a cycle");
    let mut tx = env.db().tenant(fx.tenant).await.expect("a transaction");
    let line = nodes::ancestry(&mut tx, a).await.expect("the line");
    assert_eq!(line, vec![a, b, fx.root], "A under B under the township");
    tx.commit().await.expect("commit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_codes_are_kept_as_a_keyed_hash() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "sereset").await;
    let app = TestApp::monolith(&env).await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    let issued = admin
        .post_json(
            &format!("/api/v1/admin/people/{}/reset-code", fx.worker),
            &json!({}),
        )
        .await
        .expect(200);
    let code = issued.body["code"].as_str().expect("a code").to_owned();
    let mut owner = env.database.owner().await;
    let (stored,): (Vec<u8>,) =
        sqlx::query_as("SELECT code_hash FROM routing.reset_codes WHERE user_id = $1")
            .bind(fx.worker.as_uuid())
            .fetch_one(&mut owner)
            .await
            .expect("the code's row");
    // Not a plain hash anyone can recompute for the 10^8 codes: it needs the key.
    let keys = Keys::derive(&pii_key());
    assert_eq!(
        stored,
        keys.reset_codes
            .mac(&[fx.worker.as_uuid().as_bytes(), code.as_bytes()])
            .to_vec()
    );
    let other = Keys::derive(
        &mashang_auth::PiiKey::from_base64(&mashang_auth::PiiKey::generate_base64().expect("r"))
            .expect("a key"),
    );
    assert_ne!(
        stored,
        other
            .reset_codes
            .mac(&[fx.worker.as_uuid().as_bytes(), code.as_bytes()])
            .to_vec()
    );
    // And it still works.
    app.routing
        .post_json(
            "/api/v1/auth/reset",
            &json!({"login": fx.logins.worker, "code": code, "new_password": "a-new-password-1"}),
        )
        .await
        .expect(204);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_details_stay_off_the_bus_and_a_sealed_phone_opens_only_in_its_row() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "sepii").await;
    let app = TestApp::monolith(&env).await;
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let mut ids = Vec::new();
    for phone in ["13811110001", "13811110002"] {
        let created = app
            .intake
            .post_json(
                "/api/v1/reports",
                &json!({"qr_token": fx.qr_token, "category": "roads", "description": "路灯坏了",
                        "contact_phone": phone, "contact_name": "王大妈"}),
            )
            .await
            .expect(201);
        let tracking = created.body["tracking_number"]
            .as_str()
            .expect("a number")
            .to_owned();
        let case = case_id(&worker, &tracking).await;
        ids.push((created.body["id"].as_str().expect("an id").to_owned(), case));
    }
    // The assignee sees the name and the full number, read from intake's row.
    let view = worker
        .get(&format!("/api/v1/cases/{}", ids[0].1))
        .await
        .expect(200)
        .body;
    assert_eq!(view["contact_phone"], "13811110001");
    assert_eq!(view["contact_name"], "王大妈");
    // Nothing about the citizen's contact travelled in the event.
    let mut owner = env.database.owner().await;
    let envelopes: Vec<(serde_json::Value,)> = sqlx::query_as(
        "SELECT envelope FROM intake.outbox WHERE tenant_id = $1 AND event_type = 'report.submitted'",
    )
    .bind(fx.tenant.as_uuid())
    .fetch_all(&mut owner)
    .await
    .expect("the events");
    assert_eq!(envelopes.len(), 2);
    for (envelope,) in &envelopes {
        let text = envelope.to_string();
        assert!(
            !text.contains("contact") && !text.contains("1381111") && !text.contains("王大妈"),
            "{text}"
        );
    }
    // A sealed number copied into another report's row does not open there.
    sqlx::query(
        "UPDATE intake.reports SET contact_phone_sealed = \
             (SELECT contact_phone_sealed FROM intake.reports WHERE id = $1::uuid) \
         WHERE id = $2::uuid",
    )
    .bind(&ids[0].0)
    .bind(&ids[1].0)
    .execute(&mut owner)
    .await
    .expect("moving the sealed value");
    let moved = worker
        .get(&format!("/api/v1/cases/{}", ids[1].1))
        .await
        .expect(200)
        .body;
    assert_ne!(moved["contact_phone"], "13811110001", "{moved}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_cannot_lock_themselves_out_through_the_api() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "seself").await;
    let app = TestApp::monolith(&env).await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    let path = format!("/api/v1/admin/people/{}", fx.admin);
    let own_role = json!([{"role": "township_admin", "node_id": fx.root.to_string()}]);
    let deactivated = admin
        .patch_json(
            &path,
            &json!({"name": "镇管理员", "phone": fx.logins.admin, "active": false, "roles": own_role}),
        )
        .await
        .expect_problem(422);
    assert_eq!(deactivated, ["active"]);
    let demoted = admin
        .patch_json(
            &path,
            &json!({"name": "镇管理员", "phone": fx.logins.admin, "active": true,
                    "roles": [{"role": "grid_leader", "node_id": fx.village.to_string()}]}),
        )
        .await
        .expect_problem(422);
    assert_eq!(demoted, ["roles"]);
    // Still an administrator, still signed in.
    admin.get("/api/v1/admin/people").await.expect(200);
    app.stop().await;
}
