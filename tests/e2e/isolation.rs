//! Row-level security, checked as the application role against every tenant table.

use std::time::Duration;

use mashang_domain::TenantId;
use mashang_domain::role::Role;
use mashang_tests::browser::Browser;
use mashang_tests::photo::jpeg;
use mashang_tests::{Client, Fixture, TestApp, TestEnv, eventually, seed_tenant};
use reqwest::multipart::{Form, Part};
use serde_json::json;
use sqlx::AssertSqlSafe;

/// Global lookup tables: they answer only "which tenant, which row" before the tenant
/// is known, and hold nothing else (DESIGN.md, Data).
const GLOBAL_LOOKUPS: [&str; 7] = [
    "routing.qr_tokens",
    "intake.tracking_numbers",
    "routing.logins",
    "routing.sessions",
    "routing.api_token_lookup",
    "routing.reset_codes",
    "routing.case_link_lookup",
];

/// Routing's settings, each through its admin API, so their tables have rows.
async fn configure_routing(admin: &Client) {
    admin
        .put_json("/api/v1/admin/settings", &json!({"triage_mode": "auto"}))
        .await
        .expect(200);
    admin
        .put_json(
            "/api/v1/admin/calendar",
            &json!({"weekly": {"saturday": "09:00-12:00"}}),
        )
        .await
        .expect(200);
    admin
        .put_json(
            "/api/v1/admin/calendar/overrides/2026-12-31",
            &json!({"kind": "off", "name": "镇庆"}),
        )
        .await
        .expect(204);
    // A resolution target long enough to reach into 2027, whose schedule is not
    // published: the case's deadline is provisional and the admins are alerted.
    admin
        .put_json(
            "/api/v1/admin/sla-policies/dispute/normal",
            &json!({
                "first_response": {"length": {"wall_minutes": 30}, "reminders": [50, 80]},
                "resolution": {"length": {"working_days": 40}, "reminders": [50, 80]},
                "follow_up": {"length": {"working_days": 2}, "reminders": []},
            }),
        )
        .await
        .expect(200);
    admin
        .post_json(
            "/api/v1/admin/assignment-rules",
            &json!({"category": "health", "target_role": "township_centre"}),
        )
        .await
        .expect(201);
}

async fn count(env: &TestEnv, sql: &str, fx: &Fixture) -> i64 {
    let mut owner = env.database.owner().await;
    let (n,): (i64,) = sqlx::query_as(AssertSqlSafe(sql.to_owned()))
        .bind(fx.tenant.as_uuid())
        .fetch_one(&mut owner)
        .await
        .expect("counting");
    n
}

async fn fill(app: &TestApp, env: &TestEnv, fx: &Fixture, county: &Client) {
    let admin = app
        .routing
        .signed_in(&fx.logins.admin, mashang_tests::PASSWORD)
        .await;
    configure_routing(&admin).await;
    // The morning digest at midnight, so the test's digest pass makes one.
    admin
        .put_json("/api/v1/admin/digest", &json!({"morning_at": "00:00"}))
        .await
        .expect(200);
    // A webhook channel, so the report's case makes a delivery and its attempt.
    let fakes = mashang_tests::fakes::Fakes::start().await;
    admin
        .post_json(
            "/api/v1/admin/channels",
            &json!({"kind": "webhook", "name": "hook", "settings": {"url": fakes.webhook("iso", &[])}}),
        )
        .await
        .expect(201);
    admin
        .put_json(
            "/api/v1/admin/channels/settings",
            &json!({"sms_fallback_minutes": 15, "quiet_hours": {"from": "22:00", "until": "07:00"}}),
        )
        .await
        .expect(200);
    admin
        .put_json("/api/v1/inbox/settings", &json!({"sms": true}))
        .await
        .expect(200);
    admin
        .put_json(
            "/api/v1/admin/message-templates/case_closed",
            &json!({"title": "办结 {tracking_number}", "text_zh": "已办结。"}),
        )
        .await
        .expect(200);
    let form = Form::new()
        .text("qr_token", fx.qr_token.clone())
        .text("category", "dispute")
        .text("description", "邻里纠纷")
        .text("contact_phone", "13912345678")
        .part("photo", Part::bytes(jpeg(2_000, 1)).file_name("a.jpg"));
    let reply = app
        .intake
        .http
        .post(app.intake.url("/api/v1/reports"))
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .multipart(form)
        .send()
        .await
        .expect("POST");
    assert_eq!(reply.status(), 201);
    let submitted: serde_json::Value = reply.json().await.expect("JSON");
    let status_url = submitted["status_url"]
        .as_str()
        .expect("a status URL")
        .replace("http://public.test", &app.intake.base);
    // A scan of the landing page, and an API token, so those tables have rows too.
    app.intake
        .get(&format!("/q/{}", fx.qr_token))
        .await
        .expect(200);
    admin
        .post_json(
            "/api/v1/admin/api-tokens",
            &serde_json::json!({"name": "tests", "role": "grid_worker", "node_id": fx.grid}),
        )
        .await
        .expect(201);
    eventually("the report's effects in every service", Duration::from_secs(30), || async {
        let mut owner = env.database.owner().await;
        let (n,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM analytics.tenant_counters WHERE tenant_id = $1 AND metric = 'case.assigned'",
        )
        .bind(fx.tenant.as_uuid())
        .fetch_one(&mut owner)
        .await
        .expect("counting");
        let (m,): (i64,) = sqlx::query_as("SELECT count(*) FROM intake.inbox WHERE tenant_id = $1")
            .bind(fx.tenant.as_uuid())
            .fetch_one(&mut owner)
            .await
            .expect("counting");
        let (a,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM notification.delivery_attempts WHERE tenant_id = $1",
        )
        .bind(fx.tenant.as_uuid())
        .fetch_one(&mut owner)
        .await
        .expect("counting");
        (n == 1 && m == 1 && a >= 1).then_some(())
    })
    .await;
    // The assignee opens the case (an audited view of the citizen's phone).
    let worker = app
        .routing
        .signed_in(&fx.logins.worker, mashang_tests::PASSWORD)
        .await;
    let inbox = worker.get("/api/v1/inbox").await.expect(200).body;
    let case_id = inbox["notices"][0]["case_id"]
        .as_str()
        .expect("a case")
        .to_owned();
    worker
        .get(&format!("/api/v1/cases/{case_id}"))
        .await
        .expect(200);
    // A photo the worker took of the measures.
    let part = reqwest::multipart::Part::bytes(mashang_tests::photo::jpeg(20_000, 9))
        .file_name("measures.jpg")
        .mime_str("image/jpeg")
        .expect("a MIME type");
    worker
        .post_multipart(
            &format!("/api/v1/cases/{case_id}/attachments"),
            reqwest::multipart::Form::new().part("file", part),
        )
        .await
        .expect(201);
    // A sign-in link to the case, as a message to the worker would carry.
    mashang_auth::mint_case_link(
        env.db(),
        &mashang_auth::Keys::derive(&mashang_tests::infra::pii_key()),
        fx.tenant,
        fx.worker,
        mashang_domain::CaseId::from_uuid(case_id.parse().expect("a case id")),
        None,
    )
    .await
    .expect("a sign-in link");
    // The first-response deadline passes: the grid leader is added as supervisor.
    let mut owner = env.database.owner().await;
    sqlx::query(
        "UPDATE routing.timers SET due_at = now() \
         WHERE case_id = $1::uuid AND target = 'first_response' AND point = 'breach' AND fired_at IS NULL",
    )
    .bind(&case_id)
    .execute(&mut owner)
    .await
    .expect("arranging");
    // The worker asks for more time (arranged directly: this case's 40-working-day
    // resolution target is beyond what a request may ask for).
    sqlx::query(
        "INSERT INTO routing.extension_requests (id, tenant_id, case_id, requested_by, reason, requested_until) \
         VALUES (gen_random_uuid(), $1, $2::uuid, $3, '等待材料', now() + interval '90 days')",
    )
    .bind(fx.tenant.as_uuid())
    .bind(&case_id)
    .bind(fx.worker.as_uuid())
    .execute(&mut owner)
    .await
    .expect("arranging");
    // The township centre sends the case to the county, which comments on it.
    let centre = app
        .routing
        .signed_in(&fx.logins.centre, mashang_tests::PASSWORD)
        .await;
    centre
        .post_json(
            &format!("/api/v1/cases/{case_id}/county-request"),
            &json!({"note": "请县里督办"}),
        )
        .await
        .expect(204);
    county
        .post_json(
            &format!("/api/v1/county/tenants/{}/cases/{case_id}/notes", fx.code),
            &json!({"body": "请本周内办结"}),
        )
        .await
        .expect(201);
    // The county opens the case through its search, with a reason: a recorded view.
    let reader = Browser::new(&app.routing.base);
    let form = reader.get("/login").await.expect(200).csrf();
    reader
        .post(
            "/login",
            &[
                ("_csrf", form.as_str()),
                ("login", COUNTY_CENTRE_PHONE),
                ("password", mashang_tests::PASSWORD),
            ],
        )
        .await
        .see_other();
    let open = format!("/county/cases/{}/{case_id}", fx.code);
    let token = reader.get(&open).await.expect(200).csrf();
    reader
        .post(
            &open,
            &[("_csrf", token.as_str()), ("reason", "verification")],
        )
        .await
        .see_other();
    // With the grid worker off duty, the next case falls to the grid leader: a vacancy.
    admin
        .put_json(
            &format!("/api/v1/admin/people/{}/duty", fx.worker),
            &json!({"on_duty": false}),
        )
        .await
        .expect(204);
    app.intake
        .post_json(
            "/api/v1/reports",
            &json!({"qr_token": fx.qr_token, "category": "roads", "description": "路灯坏了"}),
        )
        .await
        .expect(201);
    eventually(
        "a supervisor, a vacancy and an alert",
        Duration::from_secs(30),
        || async {
            let supervisors = count(
                env,
                "SELECT count(*) FROM routing.case_supervisors WHERE tenant_id = $1",
                fx,
            )
            .await;
            let vacancies = count(
                env,
                "SELECT count(*) FROM routing.vacancies WHERE tenant_id = $1",
                fx,
            )
            .await;
            let alerts = count(
                env,
                "SELECT count(*) FROM routing.tenant_alerts WHERE tenant_id = $1",
                fx,
            )
            .await;
            (supervisors > 0 && vacancies > 0 && alerts > 0).then_some(())
        },
    )
    .await;
    // The call back, so analytics has a duration to keep.
    worker
        .post_json(
            &format!("/api/v1/cases/{case_id}/acknowledge"),
            &json!({"contacted_at": chrono::Utc::now(), "method": "phone", "summary": "已联系"}),
        )
        .await
        .expect(200);
    // Resolved (arranged directly: the workflow is routing's), then rated by the citizen.
    sqlx::query("UPDATE intake.reports SET status = 'resolved' WHERE tenant_id = $1")
        .bind(fx.tenant.as_uuid())
        .execute(&mut owner)
        .await
        .expect("arranging");
    let (path, secret) = status_url.split_once("?s=").expect("a secret");
    let rating_url = format!(
        "{}/rating?s={secret}",
        path.replacen("/r/", "/api/v1/reports/", 1)
    );
    let rated = app
        .intake
        .http
        .post(rating_url)
        .json(&serde_json::json!({"resolved": true, "satisfaction": "satisfied"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(rated.status(), 201);
    // Analytics' facts, roll-ups, durations and QR counts of this township.
    eventually("analytics' tables", Duration::from_secs(30), || async {
        for table in [
            "analytics.events",
            "analytics.case_facts",
            "analytics.daily_rollups",
            "analytics.daily_totals",
            "analytics.daily_durations",
            "analytics.daily_total_durations",
            "analytics.qr_daily",
        ] {
            let sql = format!("SELECT count(*) FROM {table} WHERE tenant_id = $1");
            if count(env, &sql, fx).await == 0 {
                return None;
            }
        }
        Some(())
    })
    .await;
    // An Open311 key, and a request filed with it (its attribution row).
    let issued = admin
        .post_json("/api/v1/admin/open311-keys", &json!({"name": "12345热线"}))
        .await
        .expect(201)
        .body;
    let key = issued["key"].as_str().expect("a key").to_owned();
    app.intake
        .http
        .post(app.intake.url("/open311/v2/requests.json"))
        .form(&[
            ("api_key", key.as_str()),
            ("jurisdiction_id", fx.code.as_str()),
            ("service_code", "roads"),
            ("description", "桥栏杆松动"),
            ("address_string", "新庄村桥头"),
            ("email", "caller@example.cn"),
        ])
        .send()
        .await
        .map(|r| assert_eq!(r.status(), 201))
        .expect("POST");
}

/// The county centre's person, who signs in with this phone.
const COUNTY_CENTRE_PHONE: &str = "13600000009";

async fn county_centre(env: &TestEnv, client: &Client) -> Client {
    mashang_tests::county_user(
        env.db(),
        client,
        "县指挥中心",
        COUNTY_CENTRE_PHONE,
        &[Role::CountyCentre],
    )
    .await
}

/// Notification and analytics emit no events yet, and no event is parked; give their
/// outboxes and every dead-letter table a row each (with the services stopped) so that
/// every tenant table is covered.
async fn cover_silent_outboxes(env: &TestEnv, fx: &Fixture) {
    let mut owner = env.database.owner().await;
    for table in ["notification.outbox", "analytics.outbox"] {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {table} (id, tenant_id, event_type, envelope) VALUES (gen_random_uuid(), $1, 'case.closed', '{{}}')"
        )))
        .bind(fx.tenant.as_uuid())
        .execute(&mut owner)
        .await
        .expect("an outbox row");
    }
    // Nothing is poison in a healthy run: park one event of the tenant per service.
    for schema in ["intake", "routing", "notification", "analytics"] {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {schema}.dead_letters (consumer, event_id, event_type, tenant_id, raw, first_error, last_error) \
             VALUES ('{schema}', gen_random_uuid(), 'case.closed', $1, '\\x7b7d', 'test', 'test')"
        )))
        .bind(fx.tenant.as_uuid())
        .execute(&mut owner)
        .await
        .expect("a dead letter");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_tenant_can_read_or_write_another_tenants_rows() {
    let env = TestEnv::new().await;
    let a = seed_tenant(env.db(), "tena").await;
    let b = seed_tenant(env.db(), "tenb").await;
    let app = TestApp::monolith(&env).await;
    let county = county_centre(&env, &app.routing).await;
    fill(&app, &env, &a, &county).await;
    fill(&app, &env, &b, &county).await;
    // Tomorrow's morning digests, one per township.
    let d = app.notification_delivery();
    let state = mashang_notification::NotificationState::new(env.db().clone()).with_delivery(
        d.outbound,
        d.key,
        d.public_url,
    );
    let made = mashang_notification::digest::township::pass(
        &state,
        chrono::Utc::now() + chrono::Duration::days(1),
    )
    .await
    .expect("the digests");
    assert_eq!(made, 2);
    app.stop().await;
    for fx in [&a, &b] {
        cover_silent_outboxes(&env, fx).await;
    }

    let mut owner = env.database.owner().await;
    // The services' role is neither superuser, nor BYPASSRLS, nor owner of any table.
    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'mashang_app'")
            .fetch_one(&mut owner)
            .await
            .expect("the application role");
    assert!(!superuser && !bypass);
    let (owned,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM pg_tables WHERE tableowner = 'mashang_app'")
            .fetch_one(&mut owner)
            .await
            .expect("counting");
    assert_eq!(owned, 0);

    let tables: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT n.nspname || '.' || c.relname, c.relrowsecurity, c.relforcerowsecurity \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped \
         WHERE n.nspname IN ('routing', 'intake', 'notification', 'analytics') AND c.relkind = 'r' \
         ORDER BY 1",
    )
    .fetch_all(&mut owner)
    .await
    .expect("the catalogue");
    let tenant_tables: Vec<&str> = tables
        .iter()
        .filter(|(name, ..)| !GLOBAL_LOOKUPS.contains(&name.as_str()))
        .map(|(name, ..)| name.as_str())
        .collect();
    assert!(
        tenant_tables.len() >= 20,
        "expected every tenant table, found {tenant_tables:?}"
    );
    for (name, rls, force) in &tables {
        if GLOBAL_LOOKUPS.contains(&name.as_str()) {
            continue;
        }
        assert!(
            *rls && *force,
            "{name} must ENABLE and FORCE row-level security"
        );
    }

    for table in tenant_tables {
        check_table(&env, &mut owner, table, a.tenant, b.tenant).await;
    }
}

async fn check_table(
    env: &TestEnv,
    owner: &mut sqlx::PgConnection,
    table: &str,
    a: TenantId,
    b: TenantId,
) {
    let count_of = |tenant: TenantId| {
        sqlx::query_as::<_, (i64,)>(AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} WHERE tenant_id = $1"
        )))
        .bind(tenant.as_uuid())
    };
    let (in_a,) = count_of(a).fetch_one(&mut *owner).await.expect("counting");
    let (in_b,) = count_of(b).fetch_one(&mut *owner).await.expect("counting");
    assert!(
        in_a > 0 && in_b > 0,
        "{table}: the fixture must give both tenants rows ({in_a}, {in_b})"
    );

    // As the application role, inside tenant A's transaction: only A's rows.
    let mut tx = env.db().tenant(a).await.expect("a tenant transaction");
    let seen: Vec<(uuid::Uuid,)> =
        sqlx::query_as(AssertSqlSafe(format!("SELECT tenant_id FROM {table}")))
            .fetch_all(&mut *tx)
            .await
            .expect("selecting");
    assert_eq!(
        seen.len() as i64,
        in_a,
        "{table}: A must see all of its own rows"
    );
    assert!(
        seen.iter().all(|(t,)| *t == a.as_uuid()),
        "{table}: A sees B's rows"
    );

    // A copy of one of B's rows, inserted in A's transaction, is refused by the policy.
    let (row,): (serde_json::Value,) = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT to_jsonb(t) FROM {table} t WHERE tenant_id = $1 LIMIT 1"
    )))
    .bind(b.as_uuid())
    .fetch_one(&mut *owner)
    .await
    .expect("one of B's rows");
    // Every column but generated ones, which take no value.
    let (columns,): (String,) = sqlx::query_as(
        "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute \
         WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''",
    )
    .bind(table)
    .fetch_one(&mut *owner)
    .await
    .expect("the table's columns");
    let refused = sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO {table} ({columns}) SELECT {columns} FROM jsonb_populate_record(NULL::{table}, $1)"
    )))
    .bind(&row)
    .execute(&mut *tx)
    .await
    .expect_err("inserting B's row inside A's transaction must fail");
    let code = match &refused {
        sqlx::Error::Database(e) => e.code().map(|c| c.to_string()),
        _ => None,
    };
    assert_eq!(
        code.as_deref(),
        Some("42501"),
        "{table}: refused for the wrong reason: {refused}"
    );
    drop(tx);

    // With no tenant set, nothing at all.
    let mut global = env.db().global().await.expect("a transaction");
    let (none,): (i64,) = sqlx::query_as(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(&mut *global)
        .await
        .expect("counting");
    assert_eq!(
        none, 0,
        "{table}: a transaction without a tenant must see nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_message_transaction_is_scoped_to_its_tenant_and_leaves_nothing_behind() {
    use sqlx::Row;
    let env = TestEnv::new().await;
    let a = seed_tenant(env.db(), "onea").await;
    let b = seed_tenant(env.db(), "oneb").await;
    let db = env.db();
    let rows = db
        .tenant_one_trip(
            a.tenant,
            "SELECT DISTINCT tenant_id FROM routing.categories",
        )
        .await
        .expect("reading");
    let seen: Vec<uuid::Uuid> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(seen, [a.tenant.as_uuid()], "only the tenant's own rows");

    // A row of another tenant is refused by the policy.
    let refused = db
        .tenant_one_trip(
            a.tenant,
            &format!(
                "INSERT INTO intake.tracking_sequences (tenant_id, day, last_value) VALUES ('{}', DATE '2026-01-02', 1)",
                b.tenant.as_uuid()
            ),
        )
        .await
        .expect_err("B's row inside A's transaction");
    assert!(
        format!("{refused:?}").contains("row-level security"),
        "{refused:?}"
    );

    // A failure after a write rolls the write back.
    let statement = format!(
        "WITH w AS (INSERT INTO intake.tracking_sequences (tenant_id, day, last_value) \
         VALUES ('{}', DATE '2026-01-03', 1) RETURNING last_value) SELECT 1 / (last_value - 1) FROM w",
        a.tenant.as_uuid()
    );
    db.tenant_one_trip(a.tenant, &statement)
        .await
        .expect_err("division by zero");
    let mut owner = env.database.owner().await;
    let (kept,): (i64,) = sqlx::query_as("SELECT count(*) FROM intake.tracking_sequences")
        .fetch_one(&mut owner)
        .await
        .expect("counting");
    assert_eq!(kept, 0, "nothing of the failed transaction stays");

    // The setting ends with the transaction: the pooled connection carries no tenant.
    for _ in 0..3 {
        let mut global = db.global().await.expect("a transaction");
        let (visible,): (i64,) = sqlx::query_as("SELECT count(*) FROM routing.categories")
            .fetch_one(&mut *global)
            .await
            .expect("counting");
        assert_eq!(visible, 0);
    }
}

/// `intake.qr_context` sets the tenant itself, from the token, for its own statement:
/// it reads that tenant's rows only, and the connection it ran on carries no tenant
/// afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_qr_look_up_reads_its_tokens_tenant_and_leaves_no_tenant_behind() {
    let env = TestEnv::new().await;
    let a = seed_tenant(env.db(), "qrla").await;
    let b = seed_tenant(env.db(), "qrlb").await;
    let mut owner = env.database.owner().await;
    let done = sqlx::query(
        "UPDATE routing.categories SET active = false WHERE tenant_id = $1 AND code = 'policy'",
    )
    .bind(b.tenant.as_uuid())
    .execute(&mut owner)
    .await
    .expect("deactivating one of B's categories");
    assert_eq!(done.rows_affected(), 1);
    // One connection, so the check afterwards runs where the look-up ran.
    let mut config = mashang_db::DbConfig::new(env.database.app_url.clone());
    config.max_connections = 1;
    let db = mashang_db::Db::connect(&config).await.expect("connecting");
    type Row = (uuid::Uuid, Option<uuid::Uuid>, Option<serde_json::Value>);
    let sql = "SELECT tenant_id, node_id, categories FROM intake.qr_context($1)";
    for (fx, categories) in [(&a, 8), (&b, 7)] {
        let (tenant, node, found): Row = db
            .global_one_trip(sqlx::query_as(sql).bind(&fx.qr_token))
            .await
            .expect("looking up")
            .expect("a known token");
        assert_eq!(tenant, fx.tenant.as_uuid());
        assert_eq!(node, Some(fx.grid.as_uuid()));
        let found = found.expect("categories");
        assert_eq!(
            found.as_array().map(Vec::len),
            Some(categories),
            "the token's tenant's active categories: {found}"
        );
        let mut global = db.global().await.expect("a transaction");
        let (setting, visible): (Option<String>, i64) = sqlx::query_as(
            "SELECT nullif(current_setting('app.tenant_id', true), ''), \
                    (SELECT count(*) FROM routing.categories)",
        )
        .fetch_one(&mut *global)
        .await
        .expect("reading");
        global.commit().await.expect("committing");
        assert_eq!(setting, None, "no tenant after the look-up");
        assert_eq!(visible, 0, "no tenant rows after the look-up");
    }
    let unknown: Option<Row> = db
        .global_one_trip(sqlx::query_as(sql).bind("no-such-token"))
        .await
        .expect("looking up");
    assert!(unknown.is_none());
    db.close().await;
}
