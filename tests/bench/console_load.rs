//! The load generator of `tests/bench/console-pages`: seeds one township with a year
//! of cases (100 000 by default) in the database a running `mashang serve` uses, then
//! times the staff console's lists, overdue board and case pages, and the JSON case
//! list, one request at a time, as a grid worker and as the township centre. It
//! prints p50/p95/max and each page's size; it asserts nothing (timings are for
//! people to read), except that a worker's page over 100 KB is flagged.
//!
//! ```text
//! console-load --base-url http://127.0.0.1:18082 --database-url postgres://app@…/db \
//!     --owner-url postgres://owner@…/db [--cases 100000] [--requests 300] [--code benchcon]
//! ```
//!
//! The township: the test fixture's tree (a village, a grid, its worker, a grid leader,
//! the centre) grown to 3 villages of 4 grids, each grid with its worker and each
//! village with its grid leader. One report goes through the API so that a case made by
//! the workflow exists; then `console-seed.sql` (as the owner) adds the bulk, copying
//! that case's deadline policy. Timings are taken on the client, on the same machine:
//! from sending the request to the last byte of the body, over a kept-alive connection.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use mashang_db::{Db, DbConfig};
use mashang_domain::grid::NodeKind;
use mashang_domain::role::Role;
use mashang_domain::{GridNodeId, PhoneNumber, UserId};
use mashang_routing::directory::nodes::{NewNode, insert_node};
use mashang_routing::directory::staff;
use mashang_tests::{PASSWORD, seed_tenant};
use sqlx::Connection as _;
use uuid::Uuid;

/// Command-line settings.
struct Settings {
    base_url: String,
    database_url: String,
    owner_url: String,
    cases: u64,
    requests: usize,
    code: String,
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
        cases: number(take("cases"), 100_000)?.max(1),
        requests: usize::try_from(number(take("requests"), 300)?)?.max(1),
        code: take("code").unwrap_or_else(|| "benchcon".to_owned()),
    })
}

/// A phone number for a seeded person, unique in the deployment.
fn phone() -> PhoneNumber {
    let n = Uuid::new_v4().as_u128() % 100_000_000;
    PhoneNumber::parse(&format!("135{n:08}")).expect("a valid number")
}

/// A person with a password and one role at `node`.
async fn person(
    tx: &mut mashang_db::TenantTx,
    name: &str,
    role: Role,
    node: GridNodeId,
) -> anyhow::Result<UserId> {
    let id = staff::insert_user(tx, name, &phone()).await?;
    staff::grant_role(tx, id, role, node).await?;
    let password = mashang_auth::Password::new(PASSWORD).expect("a valid password");
    mashang_auth::set_staff_password(tx, id, &password).await?;
    Ok(id)
}

/// Grows the fixture's tree to `villages` villages of `grids` grids, each grid with a
/// worker and each new village with a grid leader.
async fn grow(
    db: &Db,
    fx: &mashang_tests::Fixture,
    villages: usize,
    grids: usize,
) -> anyhow::Result<()> {
    let mut tx = db.tenant(fx.tenant).await?;
    for v in 1..=villages {
        let village = if v == 1 {
            fx.village
        } else {
            let id = insert_node(
                &mut tx,
                &NewNode {
                    parent: Some(fx.root),
                    kind: NodeKind::Village,
                    code: format!("{}-v{v}", fx.code),
                    name: format!("第{v}村"),
                },
            )
            .await?;
            person(&mut tx, &format!("网格长{v}"), Role::GridLeader, id).await?;
            id
        };
        for g in 1..=grids {
            if v == 1 && g == 1 {
                continue; // the fixture's grid and worker
            }
            let grid = insert_node(
                &mut tx,
                &NewNode {
                    parent: Some(village),
                    kind: NodeKind::Grid,
                    code: format!("{}-v{v}-g{g}", fx.code),
                    name: format!("第{v}村第{g}网格"),
                },
            )
            .await?;
            person(&mut tx, &format!("网格员{v}{g}"), Role::GridWorker, grid).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Reports one case through the API and waits until routing has opened it, so the
/// bulk rows can copy a real deadline policy.
async fn one_real_case(
    http: &reqwest::Client,
    base: &str,
    db: &Db,
    fx: &mashang_tests::Fixture,
) -> anyhow::Result<()> {
    let r = http
        .post(format!("{base}/api/v1/reports"))
        .json(&serde_json::json!({
            "qr_token": fx.qr_token,
            "category": "other",
            "description": "基准测试的第一件案件",
        }))
        .send()
        .await?;
    anyhow::ensure!(
        r.status() == reqwest::StatusCode::CREATED,
        "the report was refused: {}",
        r.status()
    );
    for _ in 0..300 {
        let mut tx = db.tenant(fx.tenant).await?;
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM routing.cases")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        if n > 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("routing did not open a case for the report within 30 s")
}

/// Gives the reports of `cases` the citizen's name and phone, sealed as intake seals
/// them (with the server's `MASHANG_PII_KEY`), so that their pages open the number and
/// record the worker's view as they would in use. Skipped without the key.
async fn seal_phones(
    owner: &mut sqlx::PgConnection,
    fx: &mashang_tests::Fixture,
    cases: &[(Uuid,)],
) -> anyhow::Result<()> {
    let Ok(encoded) = std::env::var("MASHANG_PII_KEY") else {
        return Ok(());
    };
    let key = mashang_auth::PiiKey::from_base64(&encoded).context("MASHANG_PII_KEY")?;
    let ids: Vec<Uuid> = cases.iter().map(|(id,)| *id).collect();
    let reports: Vec<(Uuid,)> =
        sqlx::query_as("SELECT report_id FROM routing.cases WHERE tenant_id = $1 AND id = ANY($2)")
            .bind(fx.tenant.as_uuid())
            .bind(&ids)
            .fetch_all(&mut *owner)
            .await?;
    for (n, (report,)) in reports.iter().enumerate() {
        let phone = format!("1380013{:04}", n % 10_000);
        let sealed = key.seal_bound(&phone, fx.tenant.as_uuid(), *report, "contact_phone")?;
        sqlx::query(
            "UPDATE intake.reports SET contact_name = '张大爷', contact_phone_sealed = $3, \
             contact_phone_last4 = right($4, 4) WHERE tenant_id = $1 AND id = $2",
        )
        .bind(fx.tenant.as_uuid())
        .bind(report)
        .bind(sealed)
        .bind(&phone)
        .execute(&mut *owner)
        .await?;
    }
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
        .timeout(Duration::from_secs(30))
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
        .timeout(Duration::from_secs(30))
        .build()?;
    Ok(Session { pages, api })
}

/// What one target measured.
struct Measured {
    latencies_us: Vec<u64>,
    bytes_max: usize,
    status: u16,
}

/// GETs each of `paths` in turn, `requests` times in all (after a warm-up of 20), one
/// at a time. Stops at the first answer that is not 200.
async fn measure(
    client: &reqwest::Client,
    base: &str,
    paths: &[String],
    requests: usize,
) -> anyhow::Result<Measured> {
    let mut m = Measured {
        latencies_us: Vec::with_capacity(requests),
        bytes_max: 0,
        status: 200,
    };
    for n in 0..requests + 20 {
        let path = &paths[n % paths.len()];
        let sent = Instant::now();
        let r = client.get(format!("{base}{path}")).send().await?;
        let status = r.status().as_u16();
        let body = r.bytes().await?;
        let took = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
        if status != 200 {
            m.status = status;
            return Ok(m);
        }
        if n >= 20 {
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    mashang_notification::delivery::outbound::install_tls();
    let s = settings()?;
    let mut config = DbConfig::new(s.database_url.clone());
    config.max_connections = 2;
    let db = Db::connect(&config)
        .await
        .context("connecting as the application role")?;
    let fx = seed_tenant(&db, &s.code).await;
    grow(&db, &fx, 3, 4).await?;
    let http = reqwest::Client::new();
    one_real_case(&http, &s.base_url, &db, &fx).await?;

    let started = Instant::now();
    let mut owner = sqlx::PgConnection::connect(&s.owner_url)
        .await
        .context("connecting as the owner")?;
    sqlx::query(
        "SELECT set_config('bench.tenant', $1, false), set_config('bench.cases', $2, false)",
    )
    .bind(fx.tenant.to_string())
    .bind(s.cases.to_string())
    .execute(&mut owner)
    .await?;
    sqlx::raw_sql(include_str!("console-seed.sql"))
        .execute(&mut owner)
        .await
        .context("console-seed.sql")?;
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT state, count(*) FROM routing.cases WHERE tenant_id = $1 GROUP BY state ORDER BY count(*) DESC",
    )
    .bind(fx.tenant.as_uuid())
    .fetch_all(&mut owner)
    .await?;
    let (overdue, timeline): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM routing.cases WHERE tenant_id = $1 AND list_deadline < now()), \
                (SELECT count(*) FROM routing.case_timeline WHERE tenant_id = $1)",
    )
    .bind(fx.tenant.as_uuid())
    .fetch_one(&mut owner)
    .await?;
    // Case pages to open: the worker's own (open ones first, as a worker opens them)
    // and any of the township's for the centre.
    let worker_cases: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT id FROM routing.cases WHERE tenant_id = $1 AND assignee_id = $2 \
         ORDER BY list_deadline, id LIMIT 100",
    )
    .bind(fx.tenant.as_uuid())
    .bind(fx.worker.as_uuid())
    .fetch_all(&mut owner)
    .await?;
    seal_phones(&mut owner, &fx, &worker_cases).await?;
    let any_cases: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT id FROM routing.cases WHERE tenant_id = $1 ORDER BY md5(id::text) LIMIT 200",
    )
    .bind(fx.tenant.as_uuid())
    .fetch_all(&mut owner)
    .await?;
    owner.close().await?;
    db.close().await;
    println!(
        "SEEDED tenant={} cases={} in {:.0} s: overdue={overdue} timeline_rows={timeline} by state: {}",
        fx.tenant,
        counts.iter().map(|(_, n)| n).sum::<i64>(),
        started.elapsed().as_secs_f64(),
        counts
            .iter()
            .map(|(state, n)| format!("{state}={n}"))
            .collect::<Vec<_>>()
            .join(" ")
    );

    let worker = sign_in(&s.base_url, &fx.logins.worker).await?;
    let centre = sign_in(&s.base_url, &fx.logins.centre).await?;
    let one = |p: &str| vec![p.to_owned()];
    let pages_of = |ids: &[(Uuid,)]| -> Vec<String> {
        ids.iter()
            .map(|(id,)| format!("/console/cases/{id}"))
            .collect()
    };
    // (who, on a phone, client, label, paths)
    let targets: Vec<(&str, bool, &reqwest::Client, &str, Vec<String>)> = vec![
        (
            "worker",
            true,
            &worker.pages,
            "GET /console",
            one("/console"),
        ),
        (
            "worker",
            true,
            &worker.pages,
            "GET /console/cases/{id}",
            pages_of(&worker_cases),
        ),
        (
            "worker",
            false,
            &worker.api,
            "GET /api/v1/cases?mine=true",
            one("/api/v1/cases?mine=true"),
        ),
        (
            "centre",
            false,
            &centre.pages,
            "GET /console/queue",
            one("/console/queue"),
        ),
        (
            "centre",
            false,
            &centre.pages,
            "GET /console/cases",
            one("/console/cases"),
        ),
        (
            "centre",
            false,
            &centre.pages,
            "GET /console/overdue",
            one("/console/overdue"),
        ),
        (
            "centre",
            false,
            &centre.pages,
            "GET /console/cases/{id}",
            pages_of(&any_cases),
        ),
        (
            "centre",
            false,
            &centre.api,
            "GET /api/v1/cases",
            one("/api/v1/cases"),
        ),
        (
            "centre",
            false,
            &centre.pages,
            "GET /console/cases?q=第13号",
            one("/console/cases?q=%E7%AC%AC13%E5%8F%B7"),
        ),
        (
            "centre",
            false,
            &centre.api,
            "GET /api/v1/cases?state=closed",
            one("/api/v1/cases?state=closed"),
        ),
        (
            "centre",
            false,
            &centre.api,
            "GET /api/v1/cases?q=第13号",
            one("/api/v1/cases?q=%E7%AC%AC13%E5%8F%B7"),
        ),
        (
            "centre",
            false,
            &centre.api,
            "GET /api/v1/cases?overdue=true",
            one("/api/v1/cases?overdue=true"),
        ),
    ];
    println!(
        "{} requests each, one at a time, after 20 not counted; times in ms from the client on this machine",
        s.requests
    );
    println!(
        "{:<7} {:<32} {:>7} {:>7} {:>7} {:>9}",
        "as", "request", "p50", "p95", "max", "bytes"
    );
    for (who, phone, client, label, paths) in &targets {
        let m = measure(client, &s.base_url, paths, s.requests).await?;
        if m.status != 200 {
            println!(
                "{who:<7} {label:<32} not measured: the server answered {}",
                m.status
            );
            continue;
        }
        let flag = if *phone && m.bytes_max > 100 * 1024 {
            "  over 100 KB"
        } else {
            ""
        };
        println!(
            "{who:<7} {label:<32} {:>7.1} {:>7.1} {:>7.1} {:>9}{flag}",
            percentile_ms(&m.latencies_us, 50.0),
            percentile_ms(&m.latencies_us, 95.0),
            m.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0,
            m.bytes_max,
        );
    }
    Ok(())
}
