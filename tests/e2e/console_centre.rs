//! The township centre's pages as a browser uses them: the triage queue dispatches to
//! the grid's worker, approvals decide a worker's invalid request (never one's own),
//! follow-ups record a call (不满意 reopens the case) and leave out the viewer's own
//! cases, all cases filters and pages on, the overdue board groups by grid; a grid
//! worker is refused the pages and another township's ids are unknown.

use mashang_tests::browser::{Browser, Page};
use mashang_tests::cases::case_id;
use mashang_tests::intake::post_report;
use mashang_tests::{Client, Fixture, PASSWORD, TestApp, TestEnv, seed_tenant};
use serde_json::{Value, json};

/// Signs the browser in; the session's CSRF token.
async fn sign_in(b: &Browser, login: &str) -> String {
    let token = b.get("/login").await.expect(200).csrf();
    b.post(
        "/login",
        &[("_csrf", &token), ("login", login), ("password", PASSWORD)],
    )
    .await
    .see_other();
    b.get("/console/cases").await.csrf_or(&token)
}

trait PageExt {
    fn csrf_or(self, fallback: &str) -> String;
    /// The `href` of the link with `rel`, unescaped.
    fn link(&self, rel: &str) -> Option<String>;
}

impl PageExt for Page {
    fn csrf_or(self, fallback: &str) -> String {
        if self.has(r#"name="_csrf""#) {
            self.csrf()
        } else {
            fallback.to_owned()
        }
    }

    fn link(&self, rel: &str) -> Option<String> {
        let (before, _) = self.html.split_once(&format!(r#"rel="{rel}""#))?;
        let (_, href) = before.rsplit_once(r#"href=""#)?;
        Some(
            href.split('"')
                .next()?
                .replace("&amp;", "&")
                .replace("&#38;", "&")
                .replace("&#x2f;", "/")
                .replace("&#47;", "/")
                .replace("&#x3d;", "="),
        )
    }
}

async fn report(app: &TestApp, fx: &Fixture, text: &str) -> String {
    let body = json!({"qr_token": fx.qr_token, "category": "roads", "description": text});
    post_report(&app.intake, &body, Some(&uuid::Uuid::new_v4().to_string()))
        .await
        .expect(201)
        .body["tracking_number"]
        .as_str()
        .expect("a number")
        .to_owned()
}

async fn case(client: &Client, id: &str) -> Value {
    client
        .get(&format!("/api/v1/cases/{id}"))
        .await
        .expect(200)
        .body
}

async fn version(client: &Client, id: &str) -> String {
    case(client, id).await["version"].to_string()
}

/// Contacts the citizen, starts and resolves the case as `handler`.
async fn resolve(handler: &Client, id: &str, measures: &str) {
    for (action, body) in [
        (
            "acknowledge",
            json!({"contacted_at": chrono::Utc::now(), "method": "phone", "summary": "已联系"}),
        ),
        ("start", json!({})),
        ("resolve", json!({"measures": measures})),
    ] {
        handler
            .post_json(&format!("/api/v1/cases/{id}/{action}"), &body)
            .await
            .expect(200);
    }
}

/// A township in triage mode with its clients.
struct Township {
    fx: Fixture,
    centre: Client,
    worker: Client,
}

async fn township(env: &TestEnv, app: &TestApp, code: &str) -> Township {
    let fx = seed_tenant(env.db(), code).await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    admin
        .put_json("/api/v1/admin/settings", &json!({"triage_mode": "triage"}))
        .await
        .expect(200);
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    Township { fx, centre, worker }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_centre_dispatches_decides_and_follows_up_from_its_pages() {
    let env = TestEnv::new().await;
    let app = TestApp::monolith(&env).await;
    let t = township(&env, &app, "centrepg").await;
    let (fx, centre, worker) = (&t.fx, &t.centre, &t.worker);
    let texts = ["路灯坏了三盏", "垃圾两天没清运", "水渠堵塞", "护栏被撞断"];
    let mut numbers = Vec::new();
    let mut ids = Vec::new();
    for text in texts {
        let number = report(&app, fx, text).await;
        ids.push(case_id(centre, &number).await);
        numbers.push(number);
    }
    let b = Browser::new(&app.routing.base);
    let csrf = sign_in(&b, &fx.logins.centre).await;

    // The queue shows the first case in line with the grid's worker chosen; a dispatch
    // lands back on the queue at the next case.
    let queue = b.get("/console/queue").await.expect(200);
    assert!(
        queue.has(&numbers[0]) && queue.has("待受理 4 件"),
        "{}",
        queue.html
    );
    assert!(queue.has(&format!(r#"<option value="{}" selected>"#, fx.worker)));
    let back = format!("/console/queue?case={}", ids[1]);
    for (i, id) in ids.iter().enumerate().take(3) {
        let v = version(centre, id).await;
        let here = format!("/console/queue?case={id}");
        let next = b.get(&here).await.expect(200);
        assert!(next.has(&numbers[i]));
        let to = b
            .post(
                &format!("/console/cases/{id}/dispatch"),
                &[
                    ("_csrf", &csrf),
                    ("version", &v),
                    ("back", &back),
                    ("to", &fx.worker.to_string()),
                ],
            )
            .await
            .see_other();
        assert_eq!(to, back);
        assert_eq!(case(centre, id).await["state"], "assigned");
    }
    let queue = b.get("/console/queue").await.expect(200);
    assert!(
        queue.has("待受理 1 件") && queue.has(&numbers[3]),
        "{}",
        queue.html
    );

    // A request-invalid for a duplicate names the other case by its tracking number;
    // an unknown number is said next to the form.
    let v = version(centre, &ids[3]).await;
    let refused = b
        .post(
            &format!("/console/cases/{}/request-invalid", ids[3]),
            &[
                ("_csrf", &csrf),
                ("version", &v),
                ("back", "/console/queue"),
                ("reason", "duplicate"),
                ("of", "NOPE-20260101-0001"),
            ],
        )
        .await
        .expect(422);
    assert!(refused.has("NOPE-20260101-0001"), "{}", refused.html);
    let to = b
        .post(
            &format!("/console/cases/{}/request-invalid", ids[3]),
            &[
                ("_csrf", &csrf),
                ("version", &v),
                ("back", "/console/queue"),
                ("reason", "duplicate"),
                ("of", &numbers[0].to_lowercase()),
            ],
        )
        .await
        .see_other();
    assert_eq!(to, "/console/queue");

    // The worker asks to invalidate one of theirs: the centre may decide it, not its own.
    worker
        .post_json(
            &format!("/api/v1/cases/{}/request-invalid", ids[0]),
            &json!({"reason": {"code": "spam"}, "note": "广告信息"}),
        )
        .await
        .expect(200);
    let approvals = b.get("/console/approvals").await.expect(200);
    assert!(approvals.has(&format!("/console/cases/{}/approve-invalid", ids[0])));
    assert!(approvals.has(&numbers[3]) && approvals.has("这是您提出的申请"));
    assert!(!approvals.has(&format!("/console/cases/{}/approve-invalid", ids[3])));
    assert!(!approvals.has(&format!("/console/cases/{}/reject-invalid", ids[3])));
    let v = version(centre, &ids[0]).await;
    let to = b
        .post(
            &format!("/console/cases/{}/approve-invalid", ids[0]),
            &[
                ("_csrf", &csrf),
                ("version", &v),
                ("back", "/console/approvals"),
                ("note", "确认为广告"),
            ],
        )
        .await
        .see_other();
    assert_eq!(to, "/console/approvals");
    assert_eq!(case(centre, &ids[0]).await["state"], "invalid");

    // The worker resolves one; the centre calls back, unsatisfied: the case reopens.
    resolve(worker, &ids[2], "已清理水渠").await;
    let follow_ups = b.get("/console/follow-ups").await.expect(200);
    assert!(follow_ups.has(&numbers[2]), "{}", follow_ups.html);
    assert!(follow_ups.has(r#"name="resolved" value="no""#));
    let v = version(centre, &ids[2]).await;
    let to = b
        .post(
            &format!("/console/cases/{}/follow-up", ids[2]),
            &[
                ("_csrf", &csrf),
                ("version", &v),
                ("back", "/console/follow-ups"),
                ("method", "phone"),
                ("resolved", "no"),
                ("satisfaction", "unsatisfied"),
                ("note", "水还是不通"),
            ],
        )
        .await
        .see_other();
    assert_eq!(to, "/console/follow-ups");
    assert_eq!(case(centre, &ids[2]).await["state"], "reopened");
    assert!(
        !b.get("/console/follow-ups")
            .await
            .expect(200)
            .has(&numbers[2])
    );

    // A case the centre worked on itself is left to someone else's follow-up.
    resolve(centre, &ids[2], "综治中心协调重新清理了水渠").await;
    assert_eq!(case(centre, &ids[2]).await["state"], "resolved");
    assert!(
        !b.get("/console/follow-ups")
            .await
            .expect(200)
            .has(&numbers[2])
    );
    // All cases: a state filter, a bad filter said on the form with the input kept,
    // and the next page by keyset.
    let invalid = b.get("/console/cases?state=invalid").await.expect(200);
    assert!(invalid.has(&numbers[0]) && !invalid.has(&numbers[1]));
    let bad = b.get("/console/cases?from=yesterday").await.expect(200);
    assert!(
        bad.has("筛选条件有误") && bad.has(r#"value="yesterday""#),
        "{}",
        bad.html
    );
    let first = b.get("/console/cases?limit=3").await.expect(200);
    let next = first.link("next").expect("a next page");
    assert!(
        next.contains("cursor=") && next.contains("limit=3"),
        "{next}"
    );
    let second = b.get(&next).await.expect(200);
    for n in &numbers {
        assert!(
            first.has(n) != second.has(n),
            "{n} is on exactly one page: {:?} / {:?}",
            first.html.split("<tbody>").nth(1),
            second.html.split("<tbody>").nth(1)
        );
    }

    // The overdue board: a case past its deadline, under its village › grid.
    let mut owner = env.database.owner().await;
    sqlx::query(
        "UPDATE routing.cases SET resolution_due = now() - interval '5 minutes' \
         WHERE tenant_id = $1 AND id = $2::uuid",
    )
    .bind(fx.tenant.as_uuid())
    .bind(&ids[1])
    .execute(&mut owner)
    .await
    .expect("arranging");
    let overdue = b.get("/console/overdue").await.expect(200);
    let (_, group) = overdue
        .html
        .split_once("新庄村 › 第一网格")
        .expect("the grid's group");
    assert!(group.contains(&numbers[1]), "{}", overdue.html);
    assert!(!overdue.has(&numbers[0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grid_worker_is_refused_and_another_townships_cases_are_unknown() {
    let env = TestEnv::new().await;
    let app = TestApp::monolith(&env).await;
    let here = township(&env, &app, "centrehere").await;
    let there = township(&env, &app, "centrethere").await;
    let number = report(&app, &there.fx, "别的乡镇的案件").await;
    let theirs = case_id(&there.centre, &number).await;

    let worker = Browser::new(&app.routing.base);
    sign_in(&worker, &here.fx.logins.worker).await;
    for page in [
        "/console/queue",
        "/console/cases",
        "/console/overdue",
        "/console/approvals",
        "/console/follow-ups",
    ] {
        let refused = worker.get(page).await.expect(403);
        assert!(refused.has("<h1") && !refused.has(&number), "{page}");
    }

    let centre = Browser::new(&app.routing.base);
    let csrf = sign_in(&centre, &here.fx.logins.centre).await;
    centre
        .get(&format!("/console/queue?case={theirs}"))
        .await
        .expect(404);
    centre
        .post(
            &format!("/console/cases/{theirs}/dispatch"),
            &[
                ("_csrf", &csrf),
                ("version", "1"),
                ("to", &here.fx.worker.to_string()),
            ],
        )
        .await
        .expect(404);
    assert!(!centre.get("/console/queue").await.expect(200).has(&number));
    assert_eq!(case(&there.centre, &theirs).await["state"], "created");
}
