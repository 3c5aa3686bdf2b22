//! The edge of every process: time limits that answer 503 instead of hanging, the
//! database role the services refuse to run as, and the client address behind
//! trusted proxies.

use std::time::{Duration, Instant};

use mashang::{BusConfig, Components, StorageConfig};
use mashang_http::TrustedProxies;
use mashang_tests::intake::{post_report, report};
use mashang_tests::{Client, TestEnv, seed_tenant};
use serde_json::json;
use sqlx::{ConnectOptions, Connection};

fn monolith_config(env: &TestEnv) -> mashang::AppConfig {
    env.app_config(
        Components::ALL,
        BusConfig::InProcess,
        StorageConfig::Local(env.dir.path().join("blobs")),
    )
}

/// Holds an exclusive lock on intake's reports table until dropped (rolled back), as
/// a long migration or a stuck session would.
async fn lock_reports(env: &TestEnv) -> sqlx::PgConnection {
    let mut owner = env.database.owner().await;
    sqlx::raw_sql("BEGIN; LOCK TABLE intake.reports IN ACCESS EXCLUSIVE MODE")
        .execute(&mut owner)
        .await
        .expect("locking the reports table");
    owner
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_elsewhere_gives_a_503_problem_within_the_lock_timeout() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "lockwait").await;
    let mut config = monolith_config(&env);
    config.db.limits.lock = Duration::from_millis(300);
    let running = mashang::start(config).await.expect("starting");
    let client = Client::new(running.base_url());
    client.wait_ready().await;

    // The pool's connections carry the limits.
    let mut conn = sqlx::PgConnection::connect(&env.database.app_url)
        .await
        .expect("connecting as the app role");
    let (default_timeout,): (String,) = sqlx::query_as("SHOW statement_timeout")
        .fetch_one(&mut conn)
        .await
        .expect("a setting");
    assert_eq!(default_timeout, "0", "a plain connection has no limit");

    let owner = lock_reports(&env).await;
    let started = Instant::now();
    let reply = post_report(&client, &report(&fx.qr_token, "路灯坏了"), Some("lock-1")).await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.content_type, "application/problem+json");
    assert_eq!(reply.body["type"], "urn:mashang:problem:unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered in {:?}",
        started.elapsed()
    );
    owner.close().await.expect("releasing the lock");

    // Nothing half-done: the same submission goes through once the lock is gone.
    post_report(&client, &report(&fx.qr_token, "路灯坏了"), Some("lock-1"))
        .await
        .expect(201);
    running.stop().await.expect("a clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_its_time_limit_gets_a_503_problem_and_the_process_keeps_serving() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "slowreq").await;
    let mut config = monolith_config(&env);
    config.edge.timeouts.request = Duration::from_millis(700);
    config.db.limits.lock = Duration::from_secs(30);
    let running = mashang::start(config).await.expect("starting");
    let client = Client::new(running.base_url());
    client.wait_ready().await;

    let owner = lock_reports(&env).await;
    let started = Instant::now();
    let reply = post_report(&client, &report(&fx.qr_token, "井盖丢了"), Some("slow-1")).await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.content_type, "application/problem+json");
    assert!(
        reply.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("took longer")),
        "{}",
        reply.body
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // Other requests are answered meanwhile.
    client.get("/healthz").await.expect(200);
    owner.close().await.expect("releasing the lock");

    post_report(&client, &report(&fx.qr_token, "井盖丢了"), Some("slow-1"))
        .await
        .expect(201);
    running.stop().await.expect("a clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_names_what_is_down_but_not_its_error_text() {
    let env = TestEnv::new().await;
    let mut config = monolith_config(&env);
    // Nothing listens on port 1.
    config.db = mashang_db::DbConfig::new("postgres://mashang_app:x@127.0.0.1:1/none");
    config.db.acquire_timeout = Duration::from_millis(500);
    let running = mashang::start(config)
        .await
        .expect("starting without a database");
    let client = Client::new(running.base_url());
    client.get("/healthz").await.expect(200);
    let ready = client.get("/readyz").await.expect(503);
    assert_eq!(ready.content_type, "application/problem+json");
    assert_eq!(ready.body["detail"], "unavailable: database");
    assert_eq!(
        ready.body["checks"],
        json!([{"name": "database", "status": "down"}])
    );
    let text = ready.body.to_string();
    for leak in ["127.0.0.1", "refused", "mashang_app", "error"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
    running.stop().await.expect("a clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_a_superuser_a_bypassrls_role_and_a_table_owner() {
    let env = TestEnv::new().await;

    // The owner URL of the test database is a superuser's.
    let mut config = monolith_config(&env);
    config.db = mashang_db::DbConfig::new(env.database.owner_url.clone());
    let err = mashang::start(config).await.expect_err("refused");
    let text = format!("{err:#}");
    assert!(text.contains("is a superuser"), "{text}");
    assert!(text.contains("MASHANG_DATABASE_URL"), "{text}");

    let mut owner = env.database.owner().await;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let bypass = format!("mashang_t_bypass_{}", &suffix[..8]);
    let holder = format!("mashang_t_owner_{}", &suffix[..8]);
    for statement in [
        format!("CREATE ROLE {bypass} LOGIN BYPASSRLS PASSWORD 'x'"),
        format!("CREATE ROLE {holder} LOGIN PASSWORD 'x'"),
        format!("GRANT USAGE ON SCHEMA intake TO {holder}"),
        format!("ALTER TABLE intake.ratings OWNER TO {holder}"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut owner)
            .await
            .expect("arranging roles");
    }
    let url_as = |role: &str| {
        let opts: sqlx::postgres::PgConnectOptions = env.database.app_url.parse().expect("a URL");
        opts.username(role).password("x").to_url_lossy().to_string()
    };
    let outcome = async {
        let mut config = monolith_config(&env);
        config.db = mashang_db::DbConfig::new(url_as(&bypass));
        let bypass_err = format!("{:#}", mashang::start(config).await.expect_err("refused"));
        let mut config = monolith_config(&env);
        config.db = mashang_db::DbConfig::new(url_as(&holder));
        let owner_err = format!("{:#}", mashang::start(config).await.expect_err("refused"));
        (bypass_err, owner_err)
    }
    .await;
    for statement in [
        "ALTER TABLE intake.ratings OWNER TO CURRENT_USER".to_owned(),
        format!("REVOKE ALL ON SCHEMA intake FROM {holder}"),
        format!("DROP ROLE {holder}"),
        format!("DROP ROLE {bypass}"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut owner)
            .await
            .expect("removing the roles");
    }
    let (bypass_err, owner_err) = outcome;
    assert!(bypass_err.contains("has BYPASSRLS"), "{bypass_err}");
    assert!(
        owner_err.contains("owns 1 of the services' tables"),
        "{owner_err}"
    );

    // The application role itself is accepted.
    let running = mashang::start(monolith_config(&env))
        .await
        .expect("the app role starts");
    running.stop().await.expect("a clean shutdown");
}

/// The addresses recorded for failed sign-ins from one login.
async fn failure_addresses(env: &TestEnv, login: &str) -> Vec<String> {
    let mut owner = env.database.owner().await;
    sqlx::query_scalar(
        "SELECT address FROM routing.signin_failures WHERE login = $1 ORDER BY failed_at",
    )
    .bind(login)
    .fetch_all(&mut owner)
    .await
    .expect("reading sign-in failures")
}

async fn fail_signin(client: &Client, login: &str, forwarded_for: &str) {
    let reply = reqwest::Client::new()
        .post(client.url("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"login": login, "password": "wrong-password"}))
        .send()
        .await
        .expect("a reply");
    assert_eq!(reply.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_right_most_untrusted_address_is_the_client() {
    let env = TestEnv::new().await;

    // No trusted proxy: the header is ignored, the peer is the client.
    let running = mashang::start(monolith_config(&env))
        .await
        .expect("starting");
    let client = Client::new(running.base_url());
    client.wait_ready().await;
    fail_signin(&client, "nobody-a", "6.6.6.6").await;
    assert_eq!(failure_addresses(&env, "nobody-a").await, ["127.0.0.1"]);
    running.stop().await.expect("a clean shutdown");

    // Loopback is the ingress: the entry it appended counts, not what the client wrote.
    let mut config = monolith_config(&env);
    config.edge.trusted_proxies = TrustedProxies::parse("127.0.0.0/8").expect("a range");
    let running = mashang::start(config).await.expect("starting");
    let client = Client::new(running.base_url());
    client.wait_ready().await;
    fail_signin(&client, "nobody-b", "6.6.6.6, 198.51.100.7").await;
    fail_signin(&client, "nobody-b", "7.7.7.7, 198.51.100.8, 127.0.0.9").await;
    assert_eq!(
        failure_addresses(&env, "nobody-b").await,
        ["198.51.100.7", "198.51.100.8"]
    );
    running.stop().await.expect("a clean shutdown");
}

async fn post_from(client: &Client, token: &str, forwarded_for: &str) -> u16 {
    reqwest::Client::new()
        .post(client.url("/api/v1/reports"))
        .header("x-forwarded-for", forwarded_for)
        .json(&report(token, "垃圾堆在路口"))
        .send()
        .await
        .expect("a reply")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizens_behind_one_trusted_ingress_each_get_their_own_quota() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "ingress").await;
    let limits = mashang_intake::LimitConfig {
        posts_per_address_per_minute: 2,
        ..Default::default()
    };

    let mut config = monolith_config(&env);
    config.intake_limits = limits;
    config.edge.trusted_proxies = TrustedProxies::parse("127.0.0.1").expect("a range");
    let running = mashang::start(config).await.expect("starting");
    let client = Client::new(running.base_url());
    client.wait_ready().await;
    // A spoofed left-most entry does not give a client a fresh quota.
    let a = [
        "1.1.1.1, 198.51.100.1",
        "2.2.2.2, 198.51.100.1",
        "3.3.3.3, 198.51.100.1",
    ];
    let mut statuses = Vec::new();
    for xff in a {
        statuses.push(post_from(&client, &fx.qr_token, xff).await);
    }
    assert_eq!(statuses, [201, 201, 429]);
    // Another villager behind the same ingress is not held up by the first.
    assert_eq!(post_from(&client, &fx.qr_token, "198.51.100.2").await, 201);
    running.stop().await.expect("a clean shutdown");

    // Without trusted proxies the header means nothing: everyone here is 127.0.0.1.
    let mut config = monolith_config(&env);
    config.intake_limits = limits;
    let running = mashang::start(config).await.expect("starting");
    let client = Client::new(running.base_url());
    client.wait_ready().await;
    let mut statuses = Vec::new();
    for xff in ["198.51.100.3", "198.51.100.4", "198.51.100.5"] {
        statuses.push(post_from(&client, &fx.qr_token, xff).await);
    }
    assert_eq!(statuses, [201, 201, 429]);
    running.stop().await.expect("a clean shutdown");
}
