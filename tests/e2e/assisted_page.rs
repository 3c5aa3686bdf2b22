//! 代为上报 (`/console/report`, served by intake): a worker files a villager's report
//! through the page, and it becomes a case assigned by the usual rules.

use std::time::Duration;

use mashang_domain::role::Role;
use mashang_tests::browser::{Browser, Page};
use mashang_tests::{PASSWORD, TestApp, TestEnv, county_user, eventually, seed_tenant};
use reqwest::multipart::{Form, Part};

use crate::console_notices::sign_in;

const WAIT: Duration = Duration::from_secs(30);

/// The value of the hidden field `name` of the page's form.
fn hidden(page: &Page, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let (_, rest) = page.html.split_once(&marker).expect("the field");
    rest.split('"').next().expect("its value").to_owned()
}

/// The form as a browser sends it: the token first, then the fields in page order.
fn form(page: &Page, fields: &[(&str, &str)], with_token: bool) -> Form {
    let mut form = Form::new();
    if with_token {
        form = form.text("_csrf", page.csrf());
    }
    form = form.text("form_key", hidden(page, "form_key"));
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    form
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_files_a_report_that_becomes_their_case_once_however_often_it_is_sent() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "aspage").await;
    let app = TestApp::monolith(&env).await;

    let signed_out = Browser::new(&app.intake.base);
    assert_eq!(
        signed_out.get("/console/report").await.see_other(),
        "/login?next=/console/report"
    );

    let b = Browser::new(&app.routing.base);
    sign_in(&b, &fx.logins.worker).await;
    let intake = b.at(&app.intake.base);
    let page = intake.get("/console/report").await.expect(200);
    let grid = fx.grid.to_string();
    // The worker's one grid is chosen already.
    assert!(
        page.has(&format!(
            r#"<option value="{grid}" selected>新庄村 · 第一网格</option>"#
        )),
        "{}",
        page.html
    );
    assert!(page.has(r#"<option value="roads""#));

    let fields = [
        ("grid", grid.as_str()),
        ("category", "roads"),
        ("description", "村口路灯坏了，张大爷打电话说的"),
        ("contact_name", "张大爷"),
        ("contact_phone", "13800138000"),
    ];
    // Without the token: refused, nothing filed.
    intake
        .upload("/console/report", form(&page, &fields, false))
        .await
        .expect(403);
    let photo = || {
        Part::bytes(mashang_tests::photo::jpeg(2000, 7))
            .file_name("lamp.jpg")
            .mime_str("image/jpeg")
            .expect("a type")
    };
    let to = intake
        .upload(
            "/console/report",
            form(&page, &fields, true).part("photo", photo()),
        )
        .await
        .see_other();
    assert!(to.starts_with("/console/report/"), "{to}");
    // The same form again (a double tap, a reload): the same report.
    let again = intake
        .upload(
            "/console/report",
            form(&page, &fields, true).part("photo", photo()),
        )
        .await;
    assert_eq!(again.status.as_u16(), 303, "{}", again.html);
    assert_eq!(again.header("location"), to);
    // The form sent back with other words (the back button): said plainly, and a new
    // form to file another.
    let changed = intake
        .upload(
            "/console/report",
            form(
                &page,
                &[
                    ("grid", grid.as_str()),
                    ("category", "roads"),
                    ("description", "另一件事"),
                ],
                true,
            ),
        )
        .await
        .expect(422);
    assert!(changed.has("这份表单已经提交过"), "{}", changed.html);
    assert_ne!(hidden(&changed, "form_key"), hidden(&page, "form_key"));

    // The page gives the tracking number, then the case once routing made it.
    let done = eventually("the case link", WAIT, || async {
        let done = intake.get(&to).await.expect(200);
        done.has("/console/cases/").then_some(done)
    })
    .await;
    let tracking = done
        .html
        .split(r#"<p class="bigcode">"#)
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("a tracking number")
        .to_owned();
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let list = worker.get("/api/v1/cases").await.expect(200).body;
    let cases: Vec<_> = list["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter(|c| c["tracking_number"] == tracking.as_str())
        .collect();
    assert_eq!(cases.len(), 1, "one case for the two posts");
    let case = worker
        .get(&format!(
            "/api/v1/cases/{}",
            cases[0]["id"].as_str().expect("id")
        ))
        .await
        .expect(200)
        .body;
    assert_eq!(case["assignee_id"], fx.worker.to_string(), "{case}");
    assert!(done.has(&format!(
        "/console/cases/{}",
        cases[0]["id"].as_str().expect("id")
    )));
    let mut owner = env.database.owner().await;
    let (channel, photos): (String, i64) = sqlx::query_as(
        "SELECT r.channel, (SELECT count(*) FROM intake.attachments a WHERE a.report_id = r.id) \
         FROM intake.reports r WHERE r.tracking_number = $1 AND r.submitted_by = $2",
    )
    .bind(&tracking)
    .bind(fx.worker.as_uuid())
    .fetch_one(&mut owner)
    .await
    .expect("the report");
    assert_eq!((channel.as_str(), photos), ("assisted", 1));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_explained_next_to_what_was_typed_and_strangers_are_refused() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "asbad").await;
    let other = seed_tenant(env.db(), "asother").await;
    let app = TestApp::monolith(&env).await;

    let b = Browser::new(&app.routing.base);
    sign_in(&b, &fx.logins.worker).await;
    let intake = b.at(&app.intake.base);
    let page = intake.get("/console/report").await.expect(200);
    let grid = fx.grid.to_string();
    let typed = [
        ("grid", grid.as_str()),
        ("category", ""),
        ("description", "<b>井盖</b>丢了"),
        ("contact_name", "李四"),
        ("contact_phone", "12345"),
    ];
    let refused = intake
        .upload("/console/report", form(&page, &typed, true))
        .await
        .expect(422);
    assert!(refused.has("请选择问题类别"), "{}", refused.html);
    assert!(refused.has("请填写11位手机号"));
    assert!(
        refused.has("&#60;b&#62;井盖&#60;/b&#62;丢了</textarea>"),
        "kept, escaped"
    );
    assert!(refused.has(r#"value="李四""#) && refused.has(r#"value="12345""#));
    assert!(refused.has(r#"id="contact_phone" "#) && refused.has(r#"aria-invalid="true""#));
    assert_eq!(hidden(&refused, "form_key"), hidden(&page, "form_key"));

    // Another township's grid is not one of the worker's.
    let theirs = other.grid.to_string();
    let refused = intake
        .upload(
            "/console/report",
            form(
                &page,
                &[
                    ("grid", theirs.as_str()),
                    ("category", "roads"),
                    ("description", "别的镇"),
                ],
                true,
            ),
        )
        .await
        .expect(422);
    assert!(refused.has("请选择您负责的网格"), "{}", refused.html);
    let mut owner = env.database.owner().await;
    let (filed,): (i64,) = sqlx::query_as("SELECT count(*) FROM intake.reports")
        .fetch_one(&mut owner)
        .await
        .expect("a count");
    assert_eq!(filed, 0, "nothing was filed");

    // Accounts that do not work cases are refused.
    let admin = Browser::new(&app.routing.base);
    sign_in(&admin, &fx.logins.admin).await;
    admin
        .at(&app.intake.base)
        .get("/console/report")
        .await
        .expect(403);
    let county = county_user(
        env.db(),
        &app.routing,
        "县里的人",
        "13600136124",
        &[Role::CountyCentre],
    )
    .await;
    county.get("/console/report").await.expect(403);
    app.stop().await;
}
