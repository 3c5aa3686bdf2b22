//! The grid worker's console as a browser without JavaScript uses it: my cases by
//! deadline in tabs, one case with only the actions it allows, and each action a plain
//! form that lands in the timeline; bad input, stale forms, other townships and roles
//! that may not answer in words.

use std::time::Duration;

use mashang_tests::browser::{Browser, Page};
use mashang_tests::intake::{post_report, report};
use mashang_tests::photo::jpeg;
use mashang_tests::{PASSWORD, TestApp, TestEnv, eventually, seed_tenant};
use reqwest::multipart::{Form, Part};

async fn sign_in(b: &Browser, login: &str) {
    let token = b.get("/login").await.expect(200).csrf();
    b.post(
        "/login",
        &[("_csrf", &token), ("login", login), ("password", PASSWORD)],
    )
    .await
    .see_other();
}

/// The case version a page's forms carry.
fn version(page: &Page) -> String {
    let (_, rest) = page
        .html
        .split_once(r#"name="version" value=""#)
        .expect("a form with the case's version");
    rest.split('"').next().expect("a version").to_owned()
}

/// Posts one of the case page's forms as the browser would.
async fn act(b: &Browser, case: &str, slug: &str, fields: &[(&str, &str)]) -> Page {
    let page = b.get(&format!("/console/cases/{case}")).await.expect(200);
    let (csrf, v) = (page.csrf(), version(&page));
    let mut form = vec![("_csrf", csrf.as_str()), ("version", v.as_str())];
    form.extend_from_slice(fields);
    b.post(&format!("/console/cases/{case}/{slug}"), &form)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_lists_their_cases_and_works_one_through_the_forms() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "wconsole").await;
    let other = seed_tenant(env.db(), "wconsoleb").await;
    let app = TestApp::monolith(&env).await;
    for text in ["村口路灯坏了", "水渠堵了"] {
        let mut body = report(&fx.qr_token, text);
        body["contact_phone"] = "13912345678".into();
        post_report(&app.intake, &body, None).await.expect(201);
    }
    let api = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let lines = eventually("two cases", Duration::from_secs(30), || async {
        let list = api.get("/api/v1/cases?mine=true").await.expect(200).body;
        let cases = list["cases"].as_array()?.clone();
        (cases.len() == 2).then_some(cases)
    })
    .await;
    let first = lines[0]["tracking_number"].as_str().expect("a number");
    let second = lines[1]["tracking_number"].as_str().expect("a number");
    let case = lines[0]["id"].as_str().expect("an id").to_owned();

    let b = Browser::new(&app.routing.base);
    sign_in(&b, &fx.logins.worker).await;

    // My cases: both, the soonest deadline first, with the time left in words.
    let list = b.get("/console").await.expect(200);
    let (at_first, at_second) = (
        list.html.find(first).expect("the first case"),
        list.html.find(second).expect("the second case"),
    );
    assert!(at_first < at_second, "ordered by deadline");
    assert!(list.has("还剩"), "time left in words");
    assert!(list.has("data-due="), "the countdown's deadline");
    assert!(!b.get("/console?tab=waiting").await.expect(200).has(first));

    // The case page offers what an assigned case allows a worker, and nothing else.
    let page = b.get(&format!("/console/cases/{case}")).await.expect(200);
    assert!(page.has("村口路灯坏了") || page.has("水渠堵了"));
    for allowed in [
        "acknowledge",
        "escalate",
        "return",
        "request-invalid",
        "note",
    ] {
        assert!(
            page.has(&format!(r#"action="/console/cases/{case}/{allowed}""#)),
            "{allowed} offered"
        );
    }
    for refused in [
        "start",
        "resolve",
        "dispatch",
        "transfer",
        "follow-up",
        "close",
    ] {
        assert!(
            !page.has(&format!(r#"action="/console/cases/{case}/{refused}""#)),
            "{refused} not offered"
        );
    }
    assert!(
        page.has(r#"href="tel:13912345678""#),
        "the assignee gets the call button"
    );
    let stale_version = version(&page);

    // A standard phrase tapped without JavaScript comes back in the text field.
    let (_, rest) = page
        .html
        .split_once(r#"name="use_template" value=""#)
        .expect("a phrase chip");
    let phrase_id = rest.split('"').next().expect("an id").to_owned();
    let phrase_text = rest
        .split_once(r#"data-text=""#)
        .and_then(|(_, r)| r.split('"').next())
        .expect("the phrase")
        .to_owned();
    let filled = act(
        &b,
        &case,
        "acknowledge",
        &[
            ("method", "phone"),
            ("summary", ""),
            ("use_template", &phrase_id),
        ],
    )
    .await
    .expect(200);
    assert!(
        filled.has(&format!(">{phrase_text}</textarea>")),
        "the phrase fills the summary"
    );

    // Bad input: said next to the form, with what was typed kept.
    let refused = act(
        &b,
        &case,
        "acknowledge",
        &[
            ("method", "phone"),
            ("summary", "已和群众通话，约好明天上门"),
            ("contacted_at", "2099-01-01T10:00"),
        ],
    )
    .await
    .expect(422);
    assert!(refused.has("已和群众通话，约好明天上门"), "typed text kept");
    assert!(refused.has("不能晚于现在"), "{}", refused.html);

    // Acknowledged: back to the case with a confirmation, and in the timeline.
    let to = act(
        &b,
        &case,
        "acknowledge",
        &[
            ("method", "phone"),
            ("summary", "已和群众通话，约好明天上门"),
        ],
    )
    .await
    .see_other();
    assert_eq!(to, format!("/console/cases/{case}?ok=acknowledge"));
    let page = b.get(&to).await.expect(200);
    assert!(page.has("已记录联系群众"));
    assert!(page.has("方式：电话"));
    assert!(
        !page.has("响应时限"),
        "a met deadline no longer counts down"
    );
    assert!(page.has("办结时限"));
    assert!(page.has(r#"action="/console/cases/"#) && page.has("/start\""));

    // A form from before that: the case moved on, said plainly with what happened.
    let stale = b
        .post(
            &format!("/console/cases/{case}/note"),
            &[
                ("_csrf", &page.csrf()),
                ("version", &stale_version),
                ("text", "迟到的备注"),
            ],
        )
        .await
        .expect(409);
    assert!(stale.has("案件已有变化"));
    assert!(stale.has("已响应"), "the current state");
    assert!(stale.has("已和群众通话"), "what happened since");
    // An action the state no longer allows, with the current version, is stale too.
    act(
        &b,
        &case,
        "acknowledge",
        &[("method", "phone"), ("summary", "再次")],
    )
    .await
    .expect(409);

    // Start, wait on the citizen (the waiting tab), resume, note with a way back.
    act(&b, &case, "start", &[]).await.see_other();
    act(&b, &case, "pause", &[("reason", "等群众发来现场照片")])
        .await
        .see_other();
    let waiting = b.get("/console?tab=waiting").await.expect(200);
    assert!(waiting.has(first), "waiting on the citizen");
    act(&b, &case, "resume", &[]).await.see_other();
    let back = act(
        &b,
        &case,
        "note",
        &[("text", "已联系电工"), ("back", "/console")],
    )
    .await
    .see_other();
    assert_eq!(back, "/console");
    let elsewhere = act(
        &b,
        &case,
        "note",
        &[("text", "再记一笔"), ("back", "//evil.example/")],
    )
    .await
    .see_other();
    assert!(elsewhere.starts_with(&format!("/console/cases/{case}")));

    // A worker may not dispatch: a 403 page.
    let dispatch = act(&b, &case, "dispatch", &[("to", &fx.worker.to_string())]).await;
    assert_eq!(dispatch.status.as_u16(), 403, "{}", dispatch.html);

    // Resolved with a photo from the file input: in the timeline as a thumbnail.
    let page = b.get(&format!("/console/cases/{case}")).await.expect(200);
    let photo = Part::bytes(jpeg(30_000, 7))
        .file_name("done.jpg")
        .mime_str("image/jpeg")
        .expect("a type");
    let form = Form::new()
        .text("_csrf", page.csrf())
        .text("version", version(&page))
        .text("measures", "更换了三盏路灯")
        .part("photos", photo)
        .part(
            "photos",
            Part::bytes(Vec::new())
                .file_name("")
                .mime_str("application/octet-stream")
                .expect("a type"),
        );
    let to = b
        .upload(&format!("/console/cases/{case}/resolve"), form)
        .await
        .see_other();
    let page = b.get(&to).await.expect(200);
    assert!(page.has("处理措施：更换了三盏路灯"));
    let (_, rest) = page
        .html
        .split_once(&format!(r#"<img src="/api/v1/cases/{case}/attachments/"#))
        .expect("the photo in the timeline");
    let photo_id = rest.split('"').next().expect("an id");
    let shown = api
        .http
        .get(api.url(&format!("/api/v1/cases/{case}/attachments/{photo_id}")))
        .send()
        .await
        .expect("GET");
    assert_eq!(shown.status().as_u16(), 200);
    assert!(
        b.get("/console?tab=done").await.expect(200).has(first),
        "done"
    );

    // A form posted after the session ended: sign-in comes back to the case's page,
    // not to the form's address (which answers only POST); nothing is recorded.
    let signed_out = Browser::new(&app.routing.base);
    let page = format!("/console/cases/{case}");
    let to = signed_out
        .post_from(
            &page,
            &format!("/console/cases/{case}/note"),
            &[("text", "签退后的备注")],
        )
        .await
        .see_other();
    assert_eq!(to, format!("/login?next=/console/cases/{case}"));
    assert!(!b.get(&page).await.expect(200).has("签退后的备注"));

    // Another township's worker finds nothing.
    let stranger = Browser::new(&app.routing.base);
    sign_in(&stranger, &other.logins.worker).await;
    stranger
        .get(&format!("/console/cases/{case}"))
        .await
        .expect(404);
    let token = stranger.get("/console").await.expect(200).csrf();
    stranger
        .post(
            &format!("/console/cases/{case}/note"),
            &[("_csrf", &token), ("version", "1"), ("text", "x")],
        )
        .await
        .expect(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_centre_sees_dispatch_and_follow_up_but_never_follows_up_its_own_case() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "wcentre").await;
    let app = TestApp::monolith(&env).await;
    post_report(&app.intake, &report(&fx.qr_token, "护栏断了"), None)
        .await
        .expect(201);
    let api = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let case = eventually("the case", Duration::from_secs(30), || async {
        let list = api.get("/api/v1/cases?mine=true").await.expect(200).body;
        list["cases"][0]["id"].as_str().map(str::to_owned)
    })
    .await;
    let worker = Browser::new(&app.routing.base);
    sign_in(&worker, &fx.logins.worker).await;
    act(
        &worker,
        &case,
        "acknowledge",
        &[("method", "visit"), ("summary", "上门看过")],
    )
    .await
    .see_other();
    let page = worker
        .get(&format!("/console/cases/{case}"))
        .await
        .expect(200);
    assert!(
        !page.has(&format!(r#"action="/console/cases/{case}/follow-up""#)),
        "no follow-up of one's own case"
    );
    assert!(!page.has("拨打电话") || page.has("tel:"));
    act(&worker, &case, "resolve", &[("measures", "修好了")])
        .await
        .see_other();

    // The centre follows it up with the same forms, and transfers are theirs to do.
    let centre = Browser::new(&app.routing.base);
    sign_in(&centre, &fx.logins.centre).await;
    let page = centre
        .get(&format!("/console/cases/{case}"))
        .await
        .expect(200);
    assert!(page.has(&format!(r#"action="/console/cases/{case}/follow-up""#)));
    assert!(!page.has("tel:"), "only the handler sees the full number");
    let to = act(
        &centre,
        &case,
        "follow-up",
        &[
            ("method", "phone"),
            ("resolved", "yes"),
            ("satisfaction", "satisfied"),
            ("note", "群众表示满意"),
            ("back", "/console/follow-ups"),
        ],
    )
    .await
    .see_other();
    assert_eq!(to, "/console/follow-ups");
    let page = centre
        .get(&format!("/console/cases/{case}"))
        .await
        .expect(200);
    assert!(page.has("满意度：满意"));
    assert!(page.has(&format!(r#"action="/console/cases/{case}/close""#)));

    // 申请督办 goes through the same endpoint, once.
    let sent = act(&centre, &case, "county-request", &[("note", "请县里督办")])
        .await
        .see_other();
    let page = centre.get(&sent).await.expect(200);
    assert!(page.has("已申请县级督办"), "{}", page.html);
    assert!(page.has("说明：请县里督办"));
    assert!(!page.has(&format!(r#"action="/console/cases/{case}/county-request""#)));
    act(&centre, &case, "county-request", &[]).await.expect(409);
}
