//! The county centre's pages as a browser without JavaScript uses them: the county's
//! administrator creates a township with its first administrator (whose one-time code
//! works at /login/reset), suspends it (its staff and citizens are shut out, as through
//! the API) and resumes it; the county centre supervises a case sent up, whose county
//! deadline is enforced by timers (a reminder before, the overdue mark after, notices
//! to the township centre and the handler, replaced by a new deadline, stopped by the
//! case's end); the centre searches another township's cases, opens one only with a
//! reason, sees it read-only with the phone masked, and every view is recorded. Each
//! county role reaches what the matrix gives it, township roles none of it.

mod search;
mod supervision;
mod townships;

use std::time::Duration;

use chrono::{FixedOffset, Utc};
use mashang_domain::PhoneNumber;
use mashang_domain::role::Role;
use mashang_tests::browser::{Browser, Page};
use mashang_tests::intake::post_report;
use mashang_tests::{Client, Fixture, PASSWORD, TestApp, TestEnv, eventually};
use serde_json::{Value, json};

pub(super) const WAIT: Duration = Duration::from_secs(30);

/// A county person with a password, signed in through the form.
pub(super) async fn county_browser(
    env: &TestEnv,
    app: &TestApp,
    phone: &str,
    role: Role,
) -> Browser {
    let phone = PhoneNumber::parse(phone).expect("a phone");
    let user = mashang_routing::directory::county::create_county_user(
        env.db(),
        "县里的人",
        &phone,
        &[role],
    )
    .await
    .expect("a county user");
    let password = mashang_auth::Password::new(PASSWORD).expect("a password");
    mashang_auth::set_county_password(env.db(), user, &password)
        .await
        .expect("a password set");
    let b = Browser::new(&app.routing.base);
    assert_eq!(sign_in(&b, phone.expose(), PASSWORD).await, "/county");
    b
}

/// Signs the browser in; where it is sent.
pub(super) async fn sign_in(b: &Browser, login: &str, password: &str) -> String {
    let token = b.get("/login").await.expect(200).csrf();
    b.post(
        "/login",
        &[("_csrf", &token), ("login", login), ("password", password)],
    )
    .await
    .see_other()
}

/// A township person's browser.
pub(super) async fn township_browser(app: &TestApp, login: &str) -> Browser {
    let b = Browser::new(&app.routing.base);
    sign_in(&b, login, PASSWORD).await;
    b
}

/// The session's CSRF token, from any page with a form.
pub(super) async fn csrf(b: &Browser) -> String {
    b.get("/county/views").await.csrf()
}

/// The text of the one-time code on the page that shows it.
pub(super) fn code_on(page: &Page) -> String {
    let (_, rest) = page
        .html
        .split_once(r#"id="code">"#)
        .expect("the code is shown");
    rest.split('<').next().expect("a code").trim().to_owned()
}

/// A report through the fixture's QR code; its tracking number.
pub(super) async fn report(app: &TestApp, fx: &Fixture, body: Value) -> String {
    let mut body = body;
    body["qr_token"] = json!(fx.qr_token);
    post_report(&app.intake, &body, Some(&uuid::Uuid::new_v4().to_string()))
        .await
        .expect(201)
        .body["tracking_number"]
        .as_str()
        .expect("a tracking number")
        .to_owned()
}

/// A time in the township's zone (Asia/Shanghai, which keeps no summer time) as a
/// `datetime-local` field sends it.
pub(super) fn local(at: chrono::DateTime<Utc>) -> String {
    let zone = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    at.with_timezone(&zone).format("%Y-%m-%dT%H:%M").to_string()
}

pub(super) async fn case(client: &Client, id: &str) -> Value {
    client
        .get(&format!("/api/v1/cases/{id}"))
        .await
        .expect(200)
        .body
}

pub(super) fn actions(case: &Value) -> Vec<String> {
    case["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .filter_map(|t| t["action"].as_str().map(str::to_owned))
        .collect()
}

/// Waits for a notice about `id` whose title contains `title`.
pub(super) async fn notice(person: &Client, id: &str, title: &str) -> Value {
    eventually(title, WAIT, || async {
        let inbox = person.get("/api/v1/inbox").await.expect(200).body;
        inbox["notices"]
            .as_array()?
            .iter()
            .find(|n| n["case_id"] == id && n["title"].as_str().is_some_and(|t| t.contains(title)))
            .cloned()
    })
    .await
}

/// The case's county timers: (point, due, fired).
pub(super) async fn county_timers(
    env: &TestEnv,
    id: &str,
) -> Vec<(String, chrono::DateTime<Utc>, bool)> {
    let mut owner = env.database.owner().await;
    sqlx::query_as(
        "SELECT point, due_at, fired_at IS NOT NULL FROM routing.timers \
         WHERE case_id = $1::uuid AND target = 'county' ORDER BY due_at",
    )
    .bind(id)
    .fetch_all(&mut owner)
    .await
    .expect("reading the timers")
}

/// Makes a pending county timer due now, as time passing would.
pub(super) async fn due_now(env: &TestEnv, id: &str, point: &str) {
    let mut owner = env.database.owner().await;
    let moved = sqlx::query(
        "UPDATE routing.timers SET due_at = now() \
         WHERE case_id = $1::uuid AND target = 'county' AND point = $2 AND fired_at IS NULL",
    )
    .bind(id)
    .bind(point)
    .execute(&mut owner)
    .await
    .expect("arranging");
    assert_eq!(moved.rows_affected(), 1, "a pending {point} timer");
}

/// The county's JSON line of a case sent up.
pub(super) async fn sent_up_line(county: &Client, id: &str) -> Value {
    let listed = county.get("/api/v1/county/cases").await.expect(200).body;
    listed["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
        .expect("the case is listed")
}
