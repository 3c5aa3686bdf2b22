//! Case exports read back by independent readers: a township's cases as CSV (UTF-8
//! with its mark, and GB18030) and as an XLSX workbook, with Chinese-first headers,
//! the citizen's formula-like words made harmless in the CSV and kept as text in the
//! workbook, no phone number, filters, a village head's export limited to their
//! village, the county's export across townships (recorded), and every refusal.

use std::collections::BTreeSet;
use std::io::Cursor;
use std::time::Duration;

use calamine::{Data, Reader, Xlsx};
use chrono::{Days, Utc};
use mashang_domain::grid::NodeKind;
use mashang_domain::role::Role;
use mashang_domain::{PhoneNumber, TenantId};
use mashang_routing::directory::nodes::{NewNode, insert_node};
use mashang_routing::directory::{qr, staff};
use mashang_tests::{
    Client, Fixture, PASSWORD, TestApp, TestEnv, county_user, eventually, seed_tenant,
};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);
const PHONE: &str = "13811112222";
const FORMULA: &str = "=HYPERLINK(\"http://evil.test\",\"点我\")";
const TRICKY: &str = "桥断了, \"很危险\"\n请尽快处理";

/// A period around today that holds every report of the test, in the township's days.
fn period() -> String {
    let today = Utc::now().date_naive();
    let from = today.checked_sub_days(Days::new(1)).expect("a day");
    let to = today.checked_add_days(Days::new(1)).expect("a day");
    format!("from={from}&to={to}")
}

/// Submits a report through `token` and returns its tracking number.
async fn submit(app: &TestApp, token: &str, category: &str, description: &str) -> String {
    let reply = app
        .intake
        .post_json(
            "/api/v1/reports",
            &json!({"qr_token": token, "category": category, "description": description, "contact_phone": PHONE}),
        )
        .await
        .expect(201);
    reply.body["tracking_number"]
        .as_str()
        .expect("a tracking number")
        .to_owned()
}

/// Waits until analytics holds `n` case facts of `tenant`.
async fn facts(env: &TestEnv, tenant: TenantId, n: i64) {
    eventually("the case facts", WAIT, || async {
        let mut owner = env.database.owner().await;
        let (count,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM analytics.case_facts WHERE tenant_id = $1")
                .bind(tenant.as_uuid())
                .fetch_one(&mut owner)
                .await
                .expect("counting");
        (count == n).then_some(())
    })
    .await;
}

/// A download: status, content type and bytes.
async fn download(client: &Client, path: &str) -> (u16, String, Vec<u8>) {
    let response = client.http.get(client.url(path)).send().await.expect("GET");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = response.bytes().await.expect("the body").to_vec();
    (status, content_type, bytes)
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| {
            r.expect("an RFC 4180 record")
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

fn xlsx_rows(bytes: Vec<u8>) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("an XLSX workbook");
    assert_eq!(book.sheet_names(), ["案件"]);
    let range = book.worksheet_range("案件").expect("the sheet");
    range.rows().map(<[Data]>::to_vec).collect()
}

fn column(rows: &[Vec<String>], title: &str) -> usize {
    rows[0]
        .iter()
        .position(|t| t == title)
        .unwrap_or_else(|| panic!("no column {title} in {:?}", rows[0]))
}

fn numbers_in(rows: &[Vec<String>]) -> BTreeSet<String> {
    let at = column(rows, "受理编号 Tracking number");
    rows[1..].iter().map(|r| r[at].clone()).collect()
}

/// A second village with a grid and a QR code, and a village head at the first.
async fn second_village(env: &TestEnv, fx: &Fixture) -> (String, String) {
    let mut tx = env.db().tenant(fx.tenant).await.expect("a transaction");
    let village = insert_node(
        &mut tx,
        &NewNode {
            parent: Some(fx.root),
            kind: NodeKind::Village,
            code: format!("{}-v2", fx.code),
            name: "河口村".into(),
        },
    )
    .await
    .expect("a village");
    let grid = insert_node(
        &mut tx,
        &NewNode {
            parent: Some(village),
            kind: NodeKind::Grid,
            code: format!("{}-v2-g1", fx.code),
            name: "河口一组".into(),
        },
    )
    .await
    .expect("a grid");
    let (_, token) = qr::issue(&mut tx, grid).await.expect("a QR code");
    let n = uuid::Uuid::new_v4().as_u128() % 100_000_000;
    let phone = PhoneNumber::parse(&format!("137{n:08}")).expect("a phone");
    let head = staff::insert_user(&mut tx, "赵书记", &phone)
        .await
        .expect("a person");
    staff::grant_role(&mut tx, head, Role::VillageHead, fx.village)
        .await
        .expect("a role");
    let password = mashang_auth::Password::new(PASSWORD).expect("a password");
    mashang_auth::set_staff_password(&mut tx, head, &password)
        .await
        .expect("a password");
    tx.commit().await.expect("committing");
    (token, phone.expose().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_townships_cases_read_back_from_csv_gb18030_and_xlsx() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "expa").await;
    let other = seed_tenant(env.db(), "expb").await;
    let (far_token, head_login) = second_village(&env, &fx).await;
    let app = TestApp::monolith(&env).await;

    let mut ours = BTreeSet::new();
    ours.insert(submit(&app, &fx.qr_token, "roads", FORMULA).await);
    ours.insert(submit(&app, &fx.qr_token, "roads", TRICKY).await);
    ours.insert(submit(&app, &fx.qr_token, "dispute", "+1 邻居占道").await);
    let far = submit(&app, &far_token, "dispute", "@河口 垃圾没人清").await;
    ours.insert(far.clone());
    let theirs = submit(&app, &other.qr_token, "roads", "另一个镇的路灯").await;
    facts(&env, fx.tenant, 4).await;
    facts(&env, other.tenant, 1).await;

    let centre = app.analytics.signed_in(&fx.logins.centre, PASSWORD).await;
    let path = format!("/api/v1/exports/cases.csv?{}", period());
    let (status, content_type, bytes) = download(&centre, &path).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(content_type, "text/csv; charset=utf-8");
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with its mark");
    let text = std::str::from_utf8(&bytes[3..]).expect("UTF-8");
    assert!(
        !text.contains(PHONE) && !text.contains("138****2222"),
        "no phone number"
    );
    let rows = csv_rows(text);
    assert_eq!(rows[0][0], "受理编号 Tracking number");
    assert_eq!(rows.len(), 1 + 4, "a header and our four cases");
    assert_eq!(numbers_in(&rows), ours);
    assert!(
        !numbers_in(&rows).contains(&theirs),
        "never another township's"
    );
    let words = column(&rows, "诉求内容 Description");
    let said: BTreeSet<&str> = rows[1..].iter().map(|r| r[words].as_str()).collect();
    let formula_guarded = format!("'{FORMULA}");
    for expected in [
        formula_guarded.as_str(),
        TRICKY,
        "'+1 邻居占道",
        "'@河口 垃圾没人清",
    ] {
        assert!(said.contains(expected), "{expected:?} in {said:?}");
    }
    let village = column(&rows, "村/社区 Village");
    assert!(rows[1..].iter().any(|r| r[village] == "河口村"));
    let state = column(&rows, "状态 Status");
    assert!(rows[1..].iter().all(|r| !r[state].is_empty()));

    // GB18030: no mark, the same rows once decoded.
    let (status, content_type, bytes) =
        download(&centre, &format!("{path}&encoding=gb18030")).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/csv; charset=gb18030");
    assert_eq!(&bytes[..4], &[0xCA, 0xDC, 0xC0, 0xED], "受理 in GB18030");
    assert!(std::str::from_utf8(&bytes).is_err());
    let (decoded, _, errors) = encoding_rs::GB18030.decode(&bytes);
    assert!(!errors);
    assert_eq!(csv_rows(&decoded), rows);

    // XLSX: the same cases; the citizen's words stored as text, unguarded.
    let (status, content_type, bytes) =
        download(&centre, &format!("/api/v1/exports/cases.xlsx?{}", period())).await;
    assert_eq!(status, 200);
    assert_eq!(
        content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let sheet = xlsx_rows(bytes);
    assert_eq!(sheet[0][0], Data::String("受理编号 Tracking number".into()));
    assert_eq!(sheet.len(), 1 + 4);
    let numbers: BTreeSet<String> = sheet[1..].iter().map(|r| r[0].to_string()).collect();
    assert_eq!(numbers, ours);
    let words_at = sheet[0]
        .iter()
        .position(|t| *t == Data::String("诉求内容 Description".into()))
        .expect("the description column");
    assert!(
        sheet[1..]
            .iter()
            .any(|r| r[words_at] == Data::String(FORMULA.into()))
    );
    assert!(
        sheet[1..].iter().all(|r| matches!(r[1], Data::DateTime(_))),
        "the submission time is a date cell"
    );

    // Filters.
    let (_, _, bytes) = download(&centre, &format!("{path}&category=dispute")).await;
    assert_eq!(
        csv_rows(std::str::from_utf8(&bytes[3..]).expect("UTF-8")).len(),
        1 + 2
    );
    let (_, _, bytes) = download(&centre, &format!("{path}&node_id={}", fx.village)).await;
    let in_village = numbers_in(&csv_rows(std::str::from_utf8(&bytes[3..]).expect("UTF-8")));
    assert_eq!(in_village.len(), 3);
    assert!(!in_village.contains(&far));

    // A village head: their village only. The administrator: no citizen's words.
    let head = app.analytics.signed_in(&head_login, PASSWORD).await;
    let (status, _, bytes) = download(&head, &path).await;
    assert_eq!(status, 200);
    assert_eq!(
        numbers_in(&csv_rows(std::str::from_utf8(&bytes[3..]).expect("UTF-8"))),
        in_village
    );
    let admin = app.analytics.signed_in(&fx.logins.admin, PASSWORD).await;
    let (status, _, bytes) = download(&admin, &path).await;
    assert_eq!(status, 200);
    let rows = csv_rows(std::str::from_utf8(&bytes[3..]).expect("UTF-8"));
    assert_eq!(rows.len(), 1 + 4);
    assert!(!rows[0].iter().any(|t| t == "诉求内容 Description"));

    // The other township sees its own case only.
    let theirs_centre = app
        .analytics
        .signed_in(&other.logins.centre, PASSWORD)
        .await;
    let (_, _, bytes) = download(&theirs_centre, &path).await;
    let rows = csv_rows(std::str::from_utf8(&bytes[3..]).expect("UTF-8"));
    assert_eq!(numbers_in(&rows), BTreeSet::from([theirs]));

    // A grid worker has no figures to export.
    let worker = app.analytics.signed_in(&fx.logins.worker, PASSWORD).await;
    worker.get(&path).await.expect_problem(403);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_county_exports_across_townships_and_refuses_township_roles() {
    let env = TestEnv::new().await;
    let a = seed_tenant(env.db(), "cxa").await;
    let b = seed_tenant(env.db(), "cxb").await;
    let app = TestApp::monolith(&env).await;
    let in_a = submit(&app, &a.qr_token, "roads", "-1 县里看看").await;
    let in_b = submit(&app, &b.qr_token, "roads", "路面塌陷").await;
    facts(&env, a.tenant, 1).await;
    facts(&env, b.tenant, 1).await;

    let centre = county_user(
        env.db(),
        &app.analytics,
        "县中心",
        "13700000871",
        &[Role::CountyCentre],
    )
    .await;
    let path = format!("/api/v1/county/exports/cases.csv?{}", period());
    let (status, _, bytes) = download(&centre, &path).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    let rows = csv_rows(std::str::from_utf8(&bytes[3..]).expect("UTF-8"));
    assert_eq!(rows[0][0], "乡镇 Township");
    assert_eq!(rows[0][1], "受理编号 Tracking number");
    let seen: BTreeSet<(String, String)> = rows[1..]
        .iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(
        seen,
        BTreeSet::from([
            ("cxa镇".to_owned(), in_a.clone()),
            ("cxb镇".to_owned(), in_b.clone())
        ])
    );
    assert!(
        rows[1..]
            .iter()
            .any(|r| r.last().map(String::as_str) == Some("'-1 县里看看"))
    );

    // One township, as a workbook.
    let (status, _, bytes) = download(
        &centre,
        &format!(
            "/api/v1/county/exports/cases.xlsx?{}&township=cxb",
            period()
        ),
    )
    .await;
    assert_eq!(status, 200);
    let sheet = xlsx_rows(bytes);
    assert_eq!(sheet.len(), 2);
    assert_eq!(sheet[1][0], Data::String("cxb镇".into()));
    assert_eq!(sheet[1][1], Data::String(in_b.clone()));

    // Each export is recorded with who asked and what for.
    let mut owner = env.database.owner().await;
    let recorded: Vec<(String, String)> = sqlx::query_as(
        "SELECT path, query FROM analytics.county_reads WHERE path LIKE '/api/v1/county/exports/%' ORDER BY read_at",
    )
    .fetch_all(&mut owner)
    .await
    .expect("the record");
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    assert_eq!(recorded[1].0, "/api/v1/county/exports/cases.xlsx");
    assert!(recorded[1].1.contains("township=cxb"));

    // The county's administrators: the rows without the citizen's words.
    let county_admin = county_user(
        env.db(),
        &app.analytics,
        "县管理员",
        "13700000872",
        &[Role::CountyAdmin],
    )
    .await;
    let (status, _, bytes) = download(&county_admin, &path).await;
    assert_eq!(status, 200);
    let rows = csv_rows(std::str::from_utf8(&bytes[3..]).expect("UTF-8"));
    assert_eq!(rows.len(), 3);
    assert!(!rows[0].iter().any(|t| t == "诉求内容 Description"));

    // Township roles never reach the county's export, nor the county a township's.
    for login in [&a.logins.centre, &a.logins.admin] {
        let township = app.analytics.signed_in(login, PASSWORD).await;
        township.get(&path).await.expect_problem(403);
    }
    centre
        .get(&format!("/api/v1/exports/cases.csv?{}", period()))
        .await
        .expect_problem(403);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_exports_are_refused_naming_each_field() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "expbad").await;
    let app = TestApp::monolith(&env).await;
    let anonymous = app
        .analytics
        .get("/api/v1/exports/cases.csv?from=2026-01-01&to=2026-01-31")
        .await;
    assert_eq!(anonymous.status.as_u16(), 401);
    let centre = app.analytics.signed_in(&fx.logins.centre, PASSWORD).await;
    // Malformed: a 400 whose detail names each bad field.
    for (query, fields) in [
        ("", vec!["from", "to"]),
        ("from=2026-01-01&to=2027-01-02", vec!["to"]),
        ("from=2026-02-01&to=2026-01-01", vec!["to"]),
        (
            "from=2026-1-1&to=2026-01-31&encoding=latin1",
            vec!["from", "encoding"],
        ),
        (
            "from=2026-01-01&to=2026-01-31&status=lost&channel=fax&node_id=x",
            vec!["node_id", "status", "channel"],
        ),
        (
            "from=2026-01-01&to=2026-01-31&township=cxa",
            vec!["township"],
        ),
    ] {
        for ext in ["csv", "xlsx"] {
            let reply = centre
                .get(&format!("/api/v1/exports/cases.{ext}?{query}"))
                .await;
            assert_eq!(reply.status.as_u16(), 400, "{query}: {}", reply.body);
            assert_eq!(reply.content_type, "application/problem+json");
            let detail = reply.body["detail"].as_str().expect("a detail");
            let named: Vec<&str> = detail
                .split("; ")
                .filter_map(|part| part.split_once(": ").map(|(field, _)| field))
                .collect();
            assert_eq!(named, fields, "{query}");
        }
    }
    // Well formed, but no such node in the township: 422 naming it.
    let named = centre
        .get("/api/v1/exports/cases.csv?from=2026-01-01&to=2026-01-31&node_id=0192b5a0-0000-7000-8000-000000000001")
        .await
        .expect_problem(422);
    assert_eq!(named, ["node_id"]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_longer_than_a_page_holds_every_case_once_in_order() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "exppage").await;
    let app = TestApp::monolith(&env).await;
    // 2 500 facts over three days, written as the owner (the projection's table).
    let mut owner = env.database.owner().await;
    sqlx::query(
        "INSERT INTO analytics.case_facts (tenant_id, report_id, tracking_number, category, channel, status, submitted_at, submitted_day) \
         SELECT $1, gen_random_uuid(), 'P-' || lpad(i::text, 5, '0'), 'roads', 'qr', 'closed', \
                now() - (i % 3) * interval '1 day', ((now() - (i % 3) * interval '1 day') AT TIME ZONE 'Asia/Shanghai')::date \
         FROM generate_series(1, 2500) AS i",
    )
    .bind(fx.tenant.as_uuid())
    .execute(&mut owner)
    .await
    .expect("facts");
    let today = Utc::now().date_naive();
    let from = today.checked_sub_days(Days::new(3)).expect("a day");
    let to = today.checked_add_days(Days::new(1)).expect("a day");
    let centre = app.analytics.signed_in(&fx.logins.centre, PASSWORD).await;
    for ext in ["csv", "xlsx"] {
        let (status, _, bytes) = download(
            &centre,
            &format!("/api/v1/exports/cases.{ext}?from={from}&to={to}"),
        )
        .await;
        assert_eq!(status, 200);
        let (numbers, days): (Vec<String>, Vec<String>) = if ext == "csv" {
            let rows = csv_rows(std::str::from_utf8(&bytes[3..]).expect("UTF-8"));
            rows[1..]
                .iter()
                .map(|r| (r[0].clone(), r[1][..10].to_owned()))
                .unzip()
        } else {
            let sheet = xlsx_rows(bytes);
            sheet[1..]
                .iter()
                .map(|r| (r[0].to_string(), format!("{:?}", r[1])))
                .unzip()
        };
        assert_eq!(numbers.len(), 2500, "{ext}");
        assert_eq!(
            numbers.iter().collect::<BTreeSet<_>>().len(),
            2500,
            "{ext}: each once"
        );
        if ext == "csv" {
            assert!(days.windows(2).all(|w| w[0] <= w[1]), "oldest day first");
        }
    }
    app.stop().await;
}
