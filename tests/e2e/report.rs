//! The self-assessment report through the running services: a small period of real
//! reports, call-backs, a resolution and a rating, then both reports downloaded and
//! read back with python-docx, whose figures must be the stats API's.

use std::time::Duration;

use chrono::{FixedOffset, NaiveDate, Utc};
use mashang_domain::role::Role;
use mashang_tests::cases::case_id;
use mashang_tests::docx::{read_docx, styled, table};
use mashang_tests::{
    Client, Fixture, PASSWORD, TestApp, TestEnv, county_user, eventually, seed_tenant,
};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

/// The figures' names in the report and their keys in the stats API (docs/metrics.md).
const NAMES: [(&str, &str); 21] = [
    ("受理量", "reports"),
    ("扫码次数", "qr_scans"),
    ("扫码报件数", "qr_reports"),
    ("扫码转化率", "qr_conversion"),
    ("及时响应率", "timely_response_rate"),
    ("按时办结率", "on_time_resolution_rate"),
    ("办结率", "resolution_rate"),
    ("解决率", "solved_rate"),
    ("满意率", "satisfaction_rate"),
    ("回访率", "follow_up_rate"),
    ("退单率", "return_rate"),
    ("重办率", "reopen_rate"),
    ("超时率", "overdue_rate"),
    ("升级率", "escalation_rate"),
    ("无效率", "invalid_rate"),
    ("小事不出村率", "village_rate"),
    ("首次响应时长中位数", "first_response_median"),
    ("首次响应时长P90", "first_response_p90"),
    ("办结时长中位数", "resolution_median"),
    ("办结时长P90", "resolution_p90"),
    ("人均案件数", "cases_per_worker"),
];

fn key_of(name: &str) -> &'static str {
    NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, k)| *k)
        .unwrap_or_else(|| panic!("the report names a figure the test does not know: {name}"))
}

/// The figure as the report should write it, from the stats API's JSON.
fn written(key: &str, f: &Value) -> String {
    let Some(v) = f["value"].as_f64() else {
        return "—".to_owned();
    };
    match key {
        "reports" | "qr_scans" | "qr_reports" => format!("{v:.0}"),
        k if k.ends_with("_median") || k.ends_with("_p90") => format!("{v:.0} 分钟"),
        "cases_per_worker" => format!("{v:.1}"),
        _ => format!("{:.1}%", v * 100.0),
    }
}

/// Checks a figures table row (`[name, value, numerator, denominator]`) against `stats`.
fn check_row(row: &[String], stats: &Value) {
    let key = key_of(&row[0]);
    let f = &stats[key];
    assert!(f.is_object(), "the stats API has no {key}: {stats}");
    assert_eq!(row[1], written(key, f), "{} ({key}): {f}", row[0]);
    if row[2] != "—" {
        assert_eq!(row[2], f["numerator"].to_string(), "{key}'s numerator");
        assert_eq!(row[3], f["denominator"].to_string(), "{key}'s denominator");
    } else {
        assert!(
            matches!(key, "reports" | "qr_scans" | "qr_reports"),
            "{key} has its parts"
        );
    }
}

fn today() -> NaiveDate {
    let china = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    Utc::now().with_timezone(&china).date_naive()
}

async fn download(client: &Client, path: &str) -> reqwest::Response {
    client
        .http
        .get(client.url(path))
        .send()
        .await
        .expect("GET the report")
}

/// A QR report through intake; returns the case id and the status link.
async fn report(app: &TestApp, fx: &Fixture, worker: &Client, text: &str) -> (String, String) {
    let created = app
        .intake
        .post_json(
            "/api/v1/reports",
            &json!({"qr_token": fx.qr_token, "category": "roads", "description": text, "contact_phone": "13811112222"}),
        )
        .await
        .expect(201);
    let status_url = created.body["status_url"]
        .as_str()
        .expect("a URL")
        .replace("http://public.test", &app.intake.base);
    let tracking = created.body["tracking_number"].as_str().expect("a number");
    (case_id(worker, tracking).await, status_url)
}

fn ack() -> Value {
    json!({"contacted_at": Utc::now() - chrono::Duration::seconds(5), "method": "phone", "summary": "已电话联系群众"})
}

/// A period in one township: scans, three reports, two call-backs, one resolution
/// rated by the citizen.
async fn period_of_work(app: &TestApp, fx: &Fixture) {
    for _ in 0..4 {
        let page = app
            .intake
            .http
            .get(app.intake.url(&format!("/q/{}", fx.qr_token)))
            .send()
            .await
            .expect("GET");
        assert_eq!(page.status(), 200);
    }
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let (done, status_url) = report(app, fx, &worker, "路灯坏了").await;
    let (called, _) = report(app, fx, &worker, "井盖松动").await;
    let _untouched = report(app, fx, &worker, "垃圾没人清").await;
    for case in [&done, &called] {
        worker
            .post_json(&format!("/api/v1/cases/{case}/acknowledge"), &ack())
            .await
            .expect(200);
    }
    worker
        .post_json(&format!("/api/v1/cases/{done}/start"), &json!({}))
        .await
        .expect(200);
    worker
        .post_json(
            &format!("/api/v1/cases/{done}/resolve"),
            &json!({"measures": "已更换灯泡"}),
        )
        .await
        .expect(200);
    eventually("the status to say resolved", WAIT, || async {
        let s = app.intake.get_json_url(&status_url).await.expect(200).body;
        (s["status"] == "resolved").then_some(())
    })
    .await;
    let (base, secret) = status_url.split_once("?s=").expect("a secret");
    let rating = format!(
        "{}/rating?s={secret}",
        base.replacen("/r/", "/api/v1/reports/", 1)
    );
    let rated = app
        .intake
        .http
        .post(rating)
        .json(&json!({"resolved": true, "satisfaction": "satisfied"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(rated.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_township_report_says_what_the_stats_api_says() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "rpta").await;
    let app = TestApp::monolith(&env).await;
    // A second code for the grid, posted but never scanned.
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    admin
        .post_json(
            "/api/v1/admin/qr-codes",
            &json!({"node_id": fx.grid.to_string()}),
        )
        .await
        .expect(201);
    period_of_work(&app, &fx).await;

    // One process serves every service here, so one signed-in client reaches them all.
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;
    let day = today();
    let query = format!("from={day}&to={day}");
    // The figures once analytics has folded every event of the period.
    let stats = eventually("the figures of the period", WAIT, || async {
        let s = centre
            .get(&format!("/api/v1/stats/township?{query}"))
            .await
            .expect(200)
            .body;
        let f = &s["figures"];
        (f["reports"]["value"] == 3.0
            && f["satisfaction_rate"]["denominator"] == 1
            && f["timely_response_rate"]["numerator"] == 2
            && f["qr_scans"]["value"] == 4.0)
            .then(|| f.clone())
    })
    .await;

    let response = download(
        &centre,
        &format!("/api/v1/reports/self-assessment.docx?{query}"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(
        headers["content-type"],
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    let ymd = day.format("%Y%m%d");
    let disposition = headers["content-disposition"].to_str().expect("ASCII");
    assert!(
        disposition.starts_with(&format!(
            "attachment; filename=\"self-assessment-rpta-{ymd}-{ymd}.docx\""
        )),
        "{disposition}"
    );
    // rpta镇自查自评报告（…）.docx, percent-encoded as RFC 5987 says.
    assert!(
        disposition.contains(
            "filename*=UTF-8''rpta%E9%95%87%E8%87%AA%E6%9F%A5%E8%87%AA%E8%AF%84%E6%8A%A5%E5%91%8A"
        ),
        "{disposition}"
    );
    let doc = read_docx(&response.bytes().await.expect("the body"));

    assert_eq!(styled(&doc, "Title"), ["rpta镇“码上反映”工作自查自评报告"]);
    assert_eq!(
        styled(&doc, "Heading 1"),
        [
            "一、基本情况",
            "二、工作成效",
            "三、现存问题",
            "四、下一步工作"
        ]
    );
    assert_eq!(
        doc["page"],
        json!({"width_mm": 210, "height_mm": 297}),
        "A4"
    );

    // Every figure the document gives is the stats API's, numerator and denominator too.
    let header = ["指标", "数值", "分子", "分母"];
    let basics = table(&doc, &header);
    assert_eq!(basics[0], ["张贴二维码（个）", "2", "—", "—"]);
    assert_eq!(basics[1], ["本期被扫码的二维码（个）", "1", "—", "—"]);
    let mut checked = 0;
    let tables: Vec<Vec<Vec<String>>> =
        serde_json::from_value(doc["tables"].clone()).expect("tables");
    for t in tables
        .iter()
        .filter(|t| t.first().is_some_and(|h| h == &header))
    {
        for row in t.iter().skip(1).filter(|r| !r[0].contains("二维码（个）")) {
            check_row(row, &stats);
            checked += 1;
        }
    }
    assert_eq!(checked, NAMES.len(), "every figure is in the report once");

    // Charts are pictures in the document, each followed by its data.
    let pictures = doc["pictures"].as_array().expect("pictures");
    assert!(pictures.len() >= 2, "{pictures:?}");
    assert!(
        pictures
            .iter()
            .all(|p| p["content_type"] == "image/png" && p["bytes"].as_u64() > Some(1000))
    );
    assert_eq!(styled(&doc, "Caption").len(), pictures.len());

    // 现存问题 is drafted from the data: here only the code nobody scanned stands out
    // (both call-backs were in time, the one rating was satisfied, nothing was late).
    assert_eq!(styled(&doc, "Heading 2"), ["（一）部分二维码未被扫码"]);
    let text: Vec<String> = styled(&doc, "Body Text");
    assert!(
        text.iter()
            .any(|t| t.contains("已张贴的2个二维码中，有1个本期无人扫码")),
        "{text:?}"
    );
    // The next steps are left to the township, marked.
    let marked: Vec<&Value> = doc["paragraphs"]
        .as_array()
        .expect("paragraphs")
        .iter()
        .filter(|p| p["highlighted"] == true)
        .collect();
    assert_eq!(marked.len(), 1);
    assert!(
        marked[0]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("【待填写】"))
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reports_refuse_bad_periods_and_the_wrong_people() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "rptb").await;
    let app = TestApp::monolith(&env).await;
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;
    let path = "/api/v1/reports/self-assessment.docx";
    // The period is checked as the stats API checks it.
    for query in [
        "from=2026-11-31&to=2026-12-01",
        "from=2026-12-02&to=2026-12-01",
        "from=2025-01-01&to=2026-01-02",
        "to=2026-12-01",
        "from=20261101&to=2026-12-01",
    ] {
        centre
            .get(&format!("{path}?{query}"))
            .await
            .expect_problem(400);
    }
    let ok = "from=2026-11-01&to=2026-11-30";
    // A grid worker does not see the township's figures; the county has its own report.
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    worker
        .get(&format!("{path}?{ok}"))
        .await
        .expect_problem(403);
    let county = county_user(
        env.db(),
        &app.routing,
        "县中心",
        "13900007711",
        &[Role::CountyCentre],
    )
    .await;
    county
        .get(&format!("{path}?{ok}"))
        .await
        .expect_problem(403);
    centre
        .get(&format!("/api/v1/county/reports/self-assessment.docx?{ok}"))
        .await
        .expect_problem(403);
    county
        .get("/api/v1/county/reports/self-assessment.docx?from=2026-12-02&to=2026-12-01")
        .await
        .expect_problem(400);
    app.analytics
        .get(&format!("{path}?{ok}"))
        .await
        .expect_problem(401);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_county_report_ranks_the_townships_as_the_county_stats_say() {
    let env = TestEnv::new().await;
    let a = seed_tenant(env.db(), "rpca").await;
    let b = seed_tenant(env.db(), "rpcb").await;
    let app = TestApp::monolith(&env).await;
    period_of_work(&app, &a).await;
    let worker = app.routing.signed_in(&b.logins.worker, PASSWORD).await;
    report(&app, &b, &worker, "路面塌陷").await;

    let county = county_user(
        env.db(),
        &app.routing,
        "县中心",
        "13900007712",
        &[Role::CountyCentre],
    )
    .await;
    let day = today();
    let query = format!("from={day}&to={day}");
    let stats = eventually("both townships' figures", WAIT, || async {
        let s = county
            .get(&format!("/api/v1/county/stats?{query}"))
            .await
            .expect(200)
            .body;
        let rows = s["townships"].as_array()?.clone();
        let reports = |code: &str| {
            rows.iter()
                .find(|r| r["code"] == code)
                .map(|r| r["figures"]["reports"]["value"].clone())
        };
        let a_stats = rows.iter().find(|r| r["code"] == "rpca")?;
        (reports("rpca") == Some(json!(3.0))
            && reports("rpcb") == Some(json!(1.0))
            && a_stats["figures"]["satisfaction_rate"]["denominator"] == 1)
            .then_some(rows)
    })
    .await;
    let league = county
        .get(&format!("/api/v1/county/league?{query}"))
        .await
        .expect(200)
        .body;

    let response = download(
        &county,
        &format!("/api/v1/county/reports/self-assessment.docx?{query}"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let doc = read_docx(&response.bytes().await.expect("the body"));
    assert_eq!(
        styled(&doc, "Heading 1"),
        [
            "一、基本情况",
            "二、工作成效",
            "三、现存问题",
            "四、下一步工作"
        ]
    );
    // The league table: our two townships in the league's order, with its scores.
    let tables: Vec<Vec<Vec<String>>> =
        serde_json::from_value(doc["tables"].clone()).expect("tables");
    let ranked = tables
        .iter()
        .find(|t| {
            t.first()
                .is_some_and(|h| h.first().is_some_and(|c| c == "排名"))
        })
        .expect("the league table");
    let names: Vec<&str> = ranked
        .iter()
        .skip(1)
        .map(|r| r[1].as_str())
        .filter(|n| n.starts_with("rpc"))
        .collect();
    let expected: Vec<String> = league["league"]
        .as_array()
        .expect("the league")
        .iter()
        .filter(|l| l["code"].as_str().is_some_and(|c| c.starts_with("rpc")))
        .map(|l| l["name"].as_str().expect("a name").to_owned())
        .collect();
    assert_eq!(names, expected);
    // Every component of every township is the county stats' figure.
    let detail = table(&doc, &["乡镇", "指标", "数值", "分子", "分母"]);
    let mut checked = 0;
    for row in detail.iter().filter(|r| r[0].starts_with("rpc")) {
        let code = row[0].trim_end_matches('镇');
        let figures = &stats
            .iter()
            .find(|s| s["code"] == code)
            .expect("the township")["figures"];
        check_row(&row[1..], figures);
        checked += 1;
    }
    assert_eq!(checked, 12, "six components for each of the two townships");
    assert!(
        !doc["pictures"].as_array().expect("pictures").is_empty(),
        "the scores chart"
    );
    // The download is recorded like every county read.
    let mut owner = env.database.owner().await;
    let (recorded,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM analytics.county_reads WHERE path = '/api/v1/county/reports/self-assessment.docx'",
    )
    .fetch_one(&mut owner)
    .await
    .expect("counting the county's reads");
    assert_eq!(recorded, 1);
    app.stop().await;
}
