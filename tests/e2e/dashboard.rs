//! The dashboards through the real services: the township centre sees the period's
//! figures with every number leading to its cases, a bad period is said and replaced,
//! a worker is refused; the county centre sees every township in the league table, opens
//! one township's figures and the cases behind a number, and each of its reads is
//! recorded; township people are refused the county's page.

use mashang_domain::role::Role;
use mashang_tests::browser::Browser;
use mashang_tests::cases::case_id;
use mashang_tests::{Fixture, TestApp, TestEnv, eventually, seed_tenant};
use serde_json::json;

use crate::county_pages::{WAIT, county_browser, township_browser};

async fn report(app: &TestApp, fx: &Fixture) -> String {
    let created = app
        .intake
        .post_json(
            "/api/v1/reports",
            &json!({"qr_token": fx.qr_token, "category": "roads", "description": "村口的桥栏杆松了"}),
        )
        .await
        .expect(201);
    created.body["tracking_number"]
        .as_str()
        .expect("a number")
        .to_owned()
}

fn today() -> String {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .to_string()
}

/// The `href` of the first link whose URL contains `needle`, as a path.
fn link(html: &str, needle: &str) -> String {
    html.split("href=\"")
        .skip(1)
        .map(|rest| {
            rest.split('"')
                .next()
                .unwrap_or_default()
                .replace("&amp;", "&")
                .replace("&#38;", "&")
        })
        .find(|href| href.contains(needle))
        .unwrap_or_else(|| panic!("no link with {needle} in {html}"))
}

/// The text of the table row headed `name` (tags dropped, spaces squeezed).
fn row(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("<th scope=\"row\">{name}"))
        .unwrap_or_else(|| panic!("no row {name} in {html}"));
    let end = html[at..].find("</tr>").map_or(html.len(), |e| at + e);
    let mut text = String::new();
    let mut in_tag = false;
    for c in html[at..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboards_show_the_figures_and_the_cases_behind_them() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "dasha").await;
    let other = seed_tenant(env.db(), "dashb").await;
    let app = TestApp::monolith(&env).await;
    let admin = app
        .routing
        .signed_in(&fx.logins.centre, mashang_tests::PASSWORD)
        .await;
    let ours = [report(&app, &fx).await, report(&app, &fx).await];
    let theirs = report(&app, &other).await;
    // Analytics has folded all three once the county sees three reports.
    let day = today();
    for number in &ours {
        case_id(&admin, number).await;
    }

    let centre = township_browser(&app, &fx.logins.centre)
        .await
        .at(&app.analytics.base);
    let page = eventually("the dashboard to count both reports", WAIT, || async {
        let page = centre.get("/dashboard").await.expect(200);
        row(&page.html, "受理量")
            .contains("受理量 Reports received 2 2 2")
            .then_some(page)
    })
    .await;
    assert!(page.html.contains("主要指标"), "the headline figures");
    assert!(page.html.contains("<svg"), "the trend charts are drawn");
    assert!(
        page.html.contains("<table class=\"chart-data\">"),
        "each with its data"
    );
    assert!(
        page.html.contains("href=\"/dashboard\""),
        "the header links the dashboard"
    );
    // The number leads to the cases behind it: ours, not the other township's.
    let cases = centre
        .get(&link(&page.html, "figure=reports&part=numerator"))
        .await
        .expect(200);
    for number in &ours {
        assert!(cases.html.contains(number.as_str()), "{number} is listed");
    }
    assert!(
        !cases.html.contains(theirs.as_str()),
        "no other township's case"
    );
    assert!(
        cases.html.contains("/console/cases/"),
        "each opens in the console"
    );

    // A period chosen; a bad one is said, and the last 30 days are shown instead.
    let chosen = centre
        .get(&format!("/dashboard?from={day}&to={day}"))
        .await
        .expect(200);
    assert!(row(&chosen.html, "受理量").contains(" 2 2 2"));
    let bad = centre
        .get("/dashboard?from=2026-13-01&to=2026-12-01")
        .await
        .expect(200);
    assert!(bad.html.contains("class=\"err\""), "the mistake is said");
    assert!(
        bad.html.contains("value=\"2026-13-01\""),
        "what was typed is kept"
    );
    let long = centre
        .get("/dashboard?from=2024-01-01&to=2026-01-01")
        .await
        .expect(200);
    assert!(long.html.contains("366"));
    // A worker has no figures to read; signed out is sent to sign in.
    let worker = township_browser(&app, &fx.logins.worker)
        .await
        .at(&app.analytics.base);
    worker.get("/dashboard").await.expect(403);
    let nobody = Browser::new(&app.analytics.base);
    assert!(
        nobody
            .get("/dashboard")
            .await
            .redirect(303)
            .starts_with("/login")
    );
    // Township people are refused the county's page.
    centre.get("/county/dashboard").await.expect(403);

    // The county: both townships ranked, one opened, the cases behind a number.
    let county = county_browser(&env, &app, "13600000151", Role::CountyCentre)
        .await
        .at(&app.analytics.base);
    let reads = || async {
        let mut owner = env.database.owner().await;
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM analytics.county_reads")
            .fetch_one(&mut owner)
            .await
            .expect("counting");
        n
    };
    let before = reads().await;
    let league = county
        .get(&format!("/county/dashboard?from={day}&to={day}"))
        .await
        .expect(200);
    assert!(league.html.contains("乡镇排名"));
    let (a_name, b_name) = (format!("{}镇", fx.code), format!("{}镇", other.code));
    assert!(league.html.contains(&a_name) && league.html.contains(&b_name));
    let opened = county
        .get(&link(&league.html, "township=dasha"))
        .await
        .expect(200);
    assert!(
        opened.html.contains("id=\"township\""),
        "the township opened"
    );
    assert!(row(&opened.html, "受理量").contains("受理量 Reports received 2 2 2"));
    let behind = county
        .get(&link(
            &opened.html,
            "figure=reports&part=numerator&tenant=dasha",
        ))
        .await
        .expect(200);
    for number in &ours {
        assert!(behind.html.contains(number.as_str()));
    }
    assert!(!behind.html.contains(theirs.as_str()));
    assert!(
        behind.html.contains("/county/search?q="),
        "found through the search"
    );
    assert_eq!(reads().await, before + 3, "each county read is recorded");
}
