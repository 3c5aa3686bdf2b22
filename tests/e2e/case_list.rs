//! The staff case list: every filter the township centre works with, and keyset pages
//! that together hold every case once, soonest deadline first.

use std::collections::HashSet;
use std::time::Duration;

use mashang_tests::intake::post_report;
use mashang_tests::{Client, PASSWORD, TestApp, TestEnv, eventually, seed_tenant};
use serde_json::{Value, json};

const REPORTS: [(&str, &str); 7] = [
    ("roads", "路灯坏了三盏"),
    ("sanitation", "垃圾两天没清运"),
    ("roads", "护栏被撞断了"),
    ("sanitation", "水沟堵了，50%_的路面积水"),
    ("roads", "路面塌陷一个大坑"),
    ("sanitation", "公厕没人打扫"),
    ("roads", "桥边护栏松动"),
];

async fn page(client: &Client, query: &str) -> Value {
    client
        .get(&format!("/api/v1/cases?{query}"))
        .await
        .expect(200)
        .body
}

fn numbers(page: &Value) -> Vec<String> {
    page["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| c["tracking_number"].as_str().expect("a number").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_centre_filters_and_pages_through_every_case_once() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "listing").await;
    let app = TestApp::monolith(&env).await;
    let mut submitted = Vec::new();
    for (i, (category, text)) in REPORTS.iter().enumerate() {
        let body = json!({"qr_token": fx.qr_token, "category": category, "description": text});
        let reply = post_report(&app.intake, &body, Some(&format!("list-{i}")))
            .await
            .expect(201);
        submitted.push(
            reply.body["tracking_number"]
                .as_str()
                .expect("a number")
                .to_owned(),
        );
    }
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;
    eventually(
        "every report to become a case",
        Duration::from_secs(30),
        || async {
            (numbers(&page(&centre, "limit=200").await).len() == REPORTS.len()).then_some(())
        },
    )
    .await;

    // One case is an hour late; the others are due within the half hour.
    let late = &submitted[4];
    let mut owner = env.database.owner().await;
    sqlx::query(
        "UPDATE routing.cases SET first_response_due = now() - interval '1 hour' \
         WHERE tenant_id = $1 AND tracking_number = $2",
    )
    .bind(fx.tenant.as_uuid())
    .bind(late)
    .execute(&mut owner)
    .await
    .expect("backdating a case");

    // Pages of three hold every case once, in deadline order, and say when they end.
    let mut seen = Vec::new();
    let mut deadlines = Vec::new();
    let mut cursor = String::new();
    loop {
        let p = page(&centre, &format!("limit=3&cursor={cursor}")).await;
        for c in p["cases"].as_array().expect("cases") {
            deadlines.push(c["next_deadline"].as_str().expect("a deadline").to_owned());
        }
        seen.extend(numbers(&p));
        match p["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen.len(), REPORTS.len(), "{seen:?}");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), REPORTS.len());
    assert_eq!(&seen[0], late, "the late case comes first");
    let parsed: Vec<chrono::DateTime<chrono::Utc>> = deadlines
        .iter()
        .map(|d| d.parse().expect("RFC 3339"))
        .collect();
    assert!(parsed.windows(2).all(|w| w[0] <= w[1]), "{deadlines:?}");

    // Filters.
    assert_eq!(
        numbers(&page(&centre, "overdue=true").await),
        std::slice::from_ref(late)
    );
    let soon = numbers(&page(&centre, "due_within_minutes=60").await);
    assert_eq!(soon.len(), REPORTS.len() - 1);
    assert!(!soon.contains(late));
    assert_eq!(
        numbers(&page(&centre, &format!("q={}", submitted[2].to_lowercase())).await),
        [submitted[2].clone()],
        "a tracking number, whatever its case"
    );
    let mut guardrails = numbers(&page(&centre, "q=%E6%8A%A4%E6%A0%8F").await); // 护栏
    guardrails.sort();
    assert_eq!(guardrails, [submitted[2].clone(), submitted[6].clone()]);
    assert_eq!(
        numbers(&page(&centre, "q=50%25_").await),
        [submitted[3].clone()],
        "wildcards are taken literally"
    );
    assert!(numbers(&page(&centre, "q=5%25x").await).is_empty());
    assert_eq!(
        numbers(&page(&centre, "category=sanitation").await).len(),
        3
    );
    // The township's calendar day (Asia/Shanghai, UTC+8 all year).
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let yesterday = today.pred_opt().expect("a day before");
    assert_eq!(
        numbers(&page(&centre, &format!("from={today}&to={today}")).await).len(),
        7
    );
    assert!(numbers(&page(&centre, &format!("to={yesterday}")).await).is_empty());

    // States, after the worker has called one citizen back.
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let first = page(&worker, "mine=true&limit=1").await;
    let id = first["cases"][0]["id"].as_str().expect("an id").to_owned();
    worker
        .post_json(
            &format!("/api/v1/cases/{id}/acknowledge"),
            &json!({"contacted_at": chrono::Utc::now(), "method": "phone", "summary": "已电话联系"}),
        )
        .await
        .expect(200);
    assert_eq!(numbers(&page(&centre, "state=acknowledged").await).len(), 1);
    assert_eq!(
        numbers(&page(&centre, "state=assigned,acknowledged").await).len(),
        REPORTS.len()
    );

    // Bad input is named, field by field, before any query runs.
    let fields = centre
        .get(&format!(
            "/api/v1/cases?limit=500&state=flying&cursor=zzz&from={today}&to={yesterday}"
        ))
        .await
        .expect_problem(422);
    assert_eq!(fields, ["limit", "state", "to", "cursor"]);
    app.stop().await;
}
