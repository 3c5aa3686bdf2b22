//! The load generator of `tests/bench/analytics-pages`: seeds a county of townships
//! (100 by default), each with 3 villages of 4 grids, a worker and a QR code per grid,
//! then bulk-loads a year of analytics facts (10 000 000 by default) and the roll-ups
//! the figures read (`analytics-seed.sql`, as the owner), and times the county's league
//! and dashboard and one township's figures and dashboard, one request at a time, as a
//! county centre user and as the township centre. It prints how long loading took and
//! p50/p95/max of each request; it asserts nothing (timings are for people to read).
//!
//! ```text
//! analytics-load --base-url http://127.0.0.1:18083 --database-url postgres://app@…/db \
//!     --owner-url postgres://owner@…/db [--facts 10000000] [--townships 100] \
//!     [--requests 200] [--prefix ban]
//! ```
//!
//! Timings are taken on the client, on the same machine: from sending the request to
//! the last byte of the body, over a kept-alive connection.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use mashang_db::{Db, DbConfig};
use mashang_domain::grid::NodeKind;
use mashang_domain::role::Role;
use mashang_domain::{GridNodeId, PhoneNumber, TenantCode};
use mashang_routing::directory::nodes::{NewNode, insert_node};
use mashang_routing::directory::{qr, staff, tenants};
use mashang_tests::{PASSWORD, seed_tenant};
use sqlx::Connection as _;
use uuid::Uuid;

/// Villages per township and grids per village.
const VILLAGES: usize = 3;
const GRIDS: usize = 4;

/// Command-line settings.
struct Settings {
    base_url: String,
    database_url: String,
    owner_url: String,
    facts: u64,
    townships: usize,
    requests: usize,
    prefix: String,
    /// Measure on a database a former run loaded and kept (`KEEP_DB=1`).
    reuse: bool,
}

fn settings() -> anyhow::Result<Settings> {
    let mut given: HashMap<String, String> = HashMap::new();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let name = flag
            .strip_prefix("--")
            .with_context(|| format!("unexpected argument {flag:?}"))?;
        let value = args
            .next()
            .with_context(|| format!("--{name} needs a value"))?;
        given.insert(name.to_owned(), value);
    }
    let mut take = |name: &str| given.remove(name);
    let number = |value: Option<String>, default: u64| -> anyhow::Result<u64> {
        value.map_or(Ok(default), |v| v.parse().context("a number"))
    };
    Ok(Settings {
        base_url: take("base-url")
            .context("--base-url is required")?
            .trim_end_matches('/')
            .to_owned(),
        database_url: take("database-url").context("--database-url is required")?,
        owner_url: take("owner-url").context("--owner-url is required")?,
        facts: number(take("facts"), 10_000_000)?.max(1),
        townships: usize::try_from(number(take("townships"), 100)?)?.clamp(1, 999),
        requests: usize::try_from(number(take("requests"), 200)?)?.max(1),
        prefix: take("prefix").unwrap_or_else(|| "ban".to_owned()),
        reuse: take("reuse").is_some_and(|v| v == "1" || v == "true"),
    })
}

/// Phone numbers for seeded people, consecutive from a random start so that they are
/// unique in the deployment and among themselves.
struct Phones(u128);

impl Phones {
    fn next(&mut self) -> PhoneNumber {
        self.0 += 1;
        PhoneNumber::parse(&format!("135{:08}", self.0 % 100_000_000)).expect("a valid number")
    }
}

/// Grows a township to [`VILLAGES`] villages of [`GRIDS`] grids, each grid with a grid
/// worker and a QR code. `first` is an existing village and grid (with its worker and
/// code) to count as the first ones.
async fn grow(
    db: &Db,
    tenant: mashang_domain::TenantId,
    root: GridNodeId,
    code: &str,
    first: Option<(GridNodeId, GridNodeId)>,
    phones: &mut Phones,
) -> anyhow::Result<()> {
    let mut tx = db.tenant(tenant).await?;
    for v in 1..=VILLAGES {
        let village = match first {
            Some((village, _)) if v == 1 => village,
            _ => {
                insert_node(
                    &mut tx,
                    &NewNode {
                        parent: Some(root),
                        kind: NodeKind::Village,
                        code: format!("{code}-v{v}"),
                        name: format!("第{v}村"),
                    },
                )
                .await?
            }
        };
        for g in 1..=GRIDS {
            if v == 1 && g == 1 && first.is_some() {
                continue;
            }
            let grid = insert_node(
                &mut tx,
                &NewNode {
                    parent: Some(village),
                    kind: NodeKind::Grid,
                    code: format!("{code}-v{v}-g{g}"),
                    name: format!("第{v}村第{g}网格"),
                },
            )
            .await?;
            let worker =
                staff::insert_user(&mut tx, &format!("网格员{v}{g}"), &phones.next()).await?;
            staff::grant_role(&mut tx, worker, Role::GridWorker, grid).await?;
            qr::issue(&mut tx, grid).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// A browser session signed in through the sign-in form (pages), and a bearer-token
/// client for the JSON API, of one person.
struct Session {
    pages: reqwest::Client,
    api: reqwest::Client,
}

async fn sign_in(base: &str, login: &str) -> anyhow::Result<Session> {
    let pages = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()?;
    let form = pages
        .get(format!("{base}/login"))
        .send()
        .await?
        .text()
        .await?;
    let csrf = form
        .split_once(r#"name="_csrf" value=""#)
        .and_then(|(_, rest)| rest.split('"').next())
        .context("the sign-in form has no CSRF token")?
        .to_owned();
    let r = pages
        .post(format!("{base}/login"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("login", login),
            ("password", PASSWORD),
        ])
        .send()
        .await?;
    anyhow::ensure!(
        r.status() == reqwest::StatusCode::SEE_OTHER,
        "signing in {login} gave {}",
        r.status()
    );
    let token: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "login": login, "password": PASSWORD }))
        .send()
        .await?
        .json()
        .await?;
    let token = token["token"].as_str().context("a session token")?;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse()?,
    );
    let api = reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()?;
    Ok(Session { pages, api })
}

/// What one target measured.
struct Measured {
    latencies_us: Vec<u64>,
    bytes_max: usize,
    status: u16,
}

/// GETs `path` `requests` times (after a warm-up of 10), one at a time. Stops at the
/// first answer that is not 200.
async fn measure(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    requests: usize,
) -> anyhow::Result<Measured> {
    let mut m = Measured {
        latencies_us: Vec::with_capacity(requests),
        bytes_max: 0,
        status: 200,
    };
    for n in 0..requests + 10 {
        let sent = Instant::now();
        let r = client.get(format!("{base}{path}")).send().await?;
        let status = r.status().as_u16();
        let body = r.bytes().await?;
        let took = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
        if status != 200 {
            m.status = status;
            return Ok(m);
        }
        if n >= 10 {
            m.latencies_us.push(took);
            m.bytes_max = m.bytes_max.max(body.len());
        }
    }
    m.latencies_us.sort_unstable();
    Ok(m)
}

fn percentile_ms(sorted_us: &[u64], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted_us.len() as f64).ceil() as usize;
    sorted_us[rank.clamp(1, sorted_us.len()) - 1] as f64 / 1000.0
}

/// Creates the townships and the county user and loads the facts; answers the county
/// user's and the township centre's sign-ins, when loading began, and the owner's
/// connection.
async fn load(
    s: &Settings,
    db: &Db,
) -> anyhow::Result<(String, String, Instant, sqlx::PgConnection)> {
    // The directory: townships through the product's own functions.
    let started = Instant::now();
    let mut phones = Phones(Uuid::new_v4().as_u128() % 100_000_000);
    let fx = seed_tenant(db, &format!("{}000", s.prefix)).await;
    grow(
        db,
        fx.tenant,
        fx.root,
        &fx.code,
        Some((fx.village, fx.grid)),
        &mut phones,
    )
    .await?;
    for t in 1..s.townships {
        let code = format!("{}{t:03}", s.prefix);
        let created = tenants::create_tenant(
            db,
            &TenantCode::parse(&code).context("a tenant code")?,
            &format!("第{t}镇"),
            "Asia/Shanghai",
        )
        .await?;
        grow(
            db,
            created.tenant.id,
            created.root,
            &code,
            None,
            &mut phones,
        )
        .await?;
    }
    let county_phone = phones.next();
    let county = mashang_routing::directory::county::create_county_user(
        db,
        "县综治中心",
        &county_phone,
        &[Role::CountyCentre],
    )
    .await?;
    let password = mashang_auth::Password::new(PASSWORD).expect("a valid password");
    mashang_auth::set_county_password(db, county, &password).await?;
    db.close().await;
    println!(
        "DIRECTORY {} townships of {VILLAGES} villages × {GRIDS} grids in {:.1} s",
        s.townships,
        started.elapsed().as_secs_f64()
    );

    // The facts and roll-ups, step by step (the script's `-- step:` lines).
    let mut owner = sqlx::PgConnection::connect(&s.owner_url)
        .await
        .context("connecting as the owner")?;
    sqlx::query(
        "SELECT set_config('bench.prefix', $1, false), set_config('bench.facts', $2, false)",
    )
    .bind(&s.prefix)
    .bind(s.facts.to_string())
    .execute(&mut owner)
    .await?;
    let loading = Instant::now();
    // What comes before the first step is the header.
    for step in include_str!("analytics-seed.sql")
        .split("\n-- step: ")
        .skip(1)
    {
        let name = step.lines().next().unwrap_or_default();
        let at = Instant::now();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("-- {step}")))
            .execute(&mut owner)
            .await
            .with_context(|| format!("analytics-seed.sql, step {name}"))?;
        println!("LOAD {:>7.1} s  {name}", at.elapsed().as_secs_f64());
    }
    Ok((
        county_phone.expose().to_owned(),
        fx.logins.centre.clone(),
        loading,
        owner,
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    mashang_notification::delivery::outbound::install_tls();
    let s = settings()?;
    let mut config = DbConfig::new(s.database_url.clone());
    config.max_connections = 2;
    let db = Db::connect(&config)
        .await
        .context("connecting as the application role")?;

    let (county_login, centre_login, loading, mut owner) = if s.reuse {
        let mut owner = sqlx::PgConnection::connect(&s.owner_url)
            .await
            .context("connecting as the owner")?;
        let (county,): (String,) = sqlx::query_as(
            "SELECT phone FROM routing.county_users WHERE 'county_centre' = ANY(roles) \
             ORDER BY created_at LIMIT 1",
        )
        .fetch_one(&mut owner)
        .await
        .context("the kept database's county user")?;
        let (centre,): (String,) = sqlx::query_as(
            "SELECT l.login FROM routing.logins l \
             JOIN routing.staff_roles r ON r.user_id = l.user_id \
             JOIN routing.tenants t ON t.id = r.tenant_id \
             WHERE t.code = $1 AND r.role = 'township_centre' LIMIT 1",
        )
        .bind(format!("{}000", s.prefix))
        .fetch_one(&mut owner)
        .await
        .context("the kept database's township centre")?;
        println!("REUSING the facts a former run loaded");
        (county, centre, Instant::now(), owner)
    } else {
        load(&s, &db).await?
    };
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT 'case_facts', count(*) FROM analytics.case_facts \
         UNION ALL SELECT 'daily_rollups', count(*) FROM analytics.daily_rollups \
         UNION ALL SELECT 'daily_totals', count(*) FROM analytics.daily_totals \
         UNION ALL SELECT 'daily_durations', count(*) FROM analytics.daily_durations \
         UNION ALL SELECT 'daily_total_durations', count(*) FROM analytics.daily_total_durations \
         UNION ALL SELECT 'qr_daily', count(*) FROM analytics.qr_daily \
         UNION ALL SELECT 'open', count(*) FROM analytics.case_facts \
                   WHERE status NOT IN ('resolved', 'followed_up', 'closed', 'invalid')",
    )
    .fetch_all(&mut owner)
    .await?;
    let (size,): (String,) = sqlx::query_as(
        "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))::bigint) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'analytics' AND c.relkind = 'r'",
    )
    .fetch_one(&mut owner)
    .await?;
    let (from30, from365, today): (String, String, String) = sqlx::query_as(
        "SELECT ((now() AT TIME ZONE 'Asia/Shanghai')::date - 29)::text, \
                ((now() AT TIME ZONE 'Asia/Shanghai')::date - 365)::text, \
                (now() AT TIME ZONE 'Asia/Shanghai')::date::text",
    )
    .fetch_one(&mut owner)
    .await?;
    owner.close().await?;
    println!(
        "LOADED in {:.0} s ({size} in schema analytics): {}",
        loading.elapsed().as_secs_f64(),
        counts
            .iter()
            .map(|(table, n)| format!("{table}={n}"))
            .collect::<Vec<_>>()
            .join(" ")
    );

    let county = sign_in(&s.base_url, &county_login).await?;
    let centre = sign_in(&s.base_url, &centre_login).await?;
    let month = format!("from={from30}&to={today}");
    let year = format!("from={from365}&to={today}");
    // (who, client, label, path, target p95 in ms)
    let targets: Vec<(&str, &reqwest::Client, &str, String, f64)> = vec![
        (
            "county",
            &county.api,
            "GET /api/v1/county/league (30 days)",
            format!("/api/v1/county/league?{month}"),
            200.0,
        ),
        (
            "county",
            &county.api,
            "GET /api/v1/county/league (a year)",
            format!("/api/v1/county/league?{year}"),
            200.0,
        ),
        (
            "county",
            &county.pages,
            "GET /county/dashboard",
            "/county/dashboard".to_owned(),
            200.0,
        ),
        (
            "centre",
            &centre.api,
            "GET /api/v1/stats/township (30 days)",
            format!("/api/v1/stats/township?{month}"),
            50.0,
        ),
        (
            "centre",
            &centre.api,
            "GET /api/v1/stats/township (a year)",
            format!("/api/v1/stats/township?{year}"),
            50.0,
        ),
        (
            "centre",
            &centre.pages,
            "GET /dashboard",
            "/dashboard".to_owned(),
            50.0,
        ),
    ];
    println!(
        "{} requests each, one at a time, after 10 not counted; times in ms from the client on this machine",
        s.requests
    );
    println!(
        "{:<7} {:<38} {:>7} {:>7} {:>7} {:>9}  target p95",
        "as", "request", "p50", "p95", "max", "bytes"
    );
    for (who, client, label, path, target) in &targets {
        let m = measure(client, &s.base_url, path, s.requests).await?;
        if m.status != 200 {
            println!(
                "{who:<7} {label:<38} not measured: the server answered {}",
                m.status
            );
            continue;
        }
        let p95 = percentile_ms(&m.latencies_us, 95.0);
        let verdict = if p95 < *target { "met" } else { "missed" };
        println!(
            "{who:<7} {label:<38} {:>7.1} {:>7.1} {:>7.1} {:>9}  < {target:.0} ms {verdict}",
            percentile_ms(&m.latencies_us, 50.0),
            p95,
            m.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0,
            m.bytes_max,
        );
    }
    Ok(())
}
