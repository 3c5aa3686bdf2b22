//! The administrator's pages for who gets which case, as a browser without JavaScript
//! uses them: assignment rules, a person's duty, leave and substitute, and the reply
//! templates; each change seen where it matters (the next case's assignee, the
//! console's phrase chips), bad input refused with the input kept, other roles
//! refused and other townships' ids not found.

mod duty;
mod phrases;
mod rules;

use chrono::{FixedOffset, Utc};
use mashang_tests::browser::Browser;
use mashang_tests::cases::case_id;
use mashang_tests::intake::{post_report, report};
use mashang_tests::{Client, Fixture, PASSWORD, TestApp};

/// Signs in through the form; returns the CSRF token of the session.
pub(super) async fn sign_in(b: &Browser, login: &str) -> String {
    let token = b.get("/login").await.expect(200).csrf();
    b.post(
        "/login",
        &[("_csrf", &token), ("login", login), ("password", PASSWORD)],
    )
    .await
    .see_other();
    b.get("/admin").await.expect(200).csrf()
}

/// Submits a report of `category` at the fixture's grid; returns who got its case.
pub(super) async fn next_case(
    app: &TestApp,
    fx: &Fixture,
    centre: &Client,
    category: &str,
) -> String {
    let mut body = report(&fx.qr_token, "村口路灯坏了，晚上看不见路");
    body["category"] = category.into();
    let created = post_report(&app.intake, &body, None).await.expect(201);
    let tracking = created.body["tracking_number"].as_str().expect("a number");
    let id = case_id(centre, tracking).await;
    let case = centre
        .get(&format!("/api/v1/cases/{id}"))
        .await
        .expect(200)
        .body;
    case["assignee_id"].as_str().unwrap_or_default().to_owned()
}

/// A moment as a `datetime-local` field in the fixtures' zone (Asia/Shanghai) holds it.
pub(super) fn local(at: chrono::DateTime<Utc>) -> String {
    let zone = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    at.with_timezone(&zone).format("%Y-%m-%dT%H:%M").to_string()
}

/// A mobile number no other test uses.
pub(super) fn phone() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 100_000_000;
    format!("137{n:08}")
}
