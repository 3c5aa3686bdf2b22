//! Who may open which console page: every route (GET and POST) as every township role,
//! as a signed-out browser and with another township's case. A role that may not use a
//! route gets the 403 page, another township's case answers 404, and a signed-out
//! browser is sent to sign in and come back. A new route is one line of [`ROUTES`].

use mashang_tests::browser::{Browser, Page};
use mashang_tests::cases::case_id;
use mashang_tests::intake::{post_report, report};
use mashang_tests::{Fixture, PASSWORD, TestApp, TestEnv, seed_tenant};

/// The fixture's township roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    /// 网格员, the case's handler.
    Worker,
    /// 网格长 of the case's village.
    Leader,
    /// 镇综治中心.
    Centre,
    /// 镇管理员.
    Admin,
}
use Who::{Admin, Centre, Leader, Worker};

const EVERYONE: &[Who] = &[Worker, Leader, Centre, Admin];

/// Every console route: method, path and the roles that may use it; the others get the
/// 403 page. `{case}` is a case of the township assigned to the worker, `{extension}`
/// a pending extension request on it. A POST (`MULTIPART`: a form with photos) carries
/// the session's CSRF token and no other field: a role that may use the route is told
/// what is missing, never refused.
const ROUTES: &[(&str, &str, &[Who])] = &[
    ("GET", "/console", &[Worker, Leader, Centre]),
    ("GET", "/console?tab=done", &[Worker, Leader, Centre]),
    ("GET", "/console/cases/{case}", &[Worker, Leader, Centre]),
    ("GET", "/console/queue", &[Centre]),
    ("GET", "/console/cases", &[Leader, Centre]),
    ("GET", "/console/overdue", &[Leader, Centre]),
    ("GET", "/console/approvals", &[Centre]),
    ("GET", "/console/follow-ups", &[Centre]),
    ("GET", "/console/notices", EVERYONE),
    ("POST", "/console/notices/read-all", EVERYONE),
    ("GET", "/console/report", &[Worker, Leader, Centre]),
    ("MULTIPART", "/console/report", &[Worker, Leader, Centre]),
    (
        "POST",
        "/console/cases/{case}/acknowledge",
        &[Worker, Leader, Centre],
    ),
    (
        "POST",
        "/console/cases/{case}/start",
        &[Worker, Leader, Centre],
    ),
    (
        "POST",
        "/console/cases/{case}/pause",
        &[Worker, Leader, Centre],
    ),
    (
        "POST",
        "/console/cases/{case}/resume",
        &[Worker, Leader, Centre],
    ),
    (
        "POST",
        "/console/cases/{case}/resolve",
        &[Worker, Leader, Centre],
    ),
    (
        "POST",
        "/console/cases/{case}/return",
        &[Worker, Leader, Centre],
    ),
    (
        "POST",
        "/console/cases/{case}/request-invalid",
        &[Worker, Leader, Centre],
    ),
    (
        "POST",
        "/console/cases/{case}/note",
        &[Worker, Leader, Centre],
    ),
    (
        "POST",
        "/console/cases/{case}/escalate",
        &[Worker, Leader, Centre],
    ),
    ("POST", "/console/cases/{case}/dispatch", &[Centre]),
    ("POST", "/console/cases/{case}/transfer", &[Centre]),
    ("POST", "/console/cases/{case}/approve-invalid", &[Centre]),
    ("POST", "/console/cases/{case}/reject-invalid", &[Centre]),
    ("POST", "/console/cases/{case}/follow-up", &[Leader, Centre]),
    ("POST", "/console/cases/{case}/reopen", &[Leader, Centre]),
    ("POST", "/console/cases/{case}/close", &[Leader, Centre]),
    (
        "POST",
        "/console/cases/{case}/extension",
        &[Worker, Leader, Centre],
    ),
    (
        "POST",
        "/console/extension-requests/{extension}/reject",
        &[Centre],
    ),
    // The administrator's rules, people's duty, phrases and the change log.
    ("GET", "/admin/settings", &[Admin]),
    ("POST", "/admin/settings", &[Admin]),
    ("GET", "/admin/sla-policies", &[Admin]),
    ("GET", "/admin/sla-policies/roads/normal", &[Admin]),
    ("POST", "/admin/sla-policies/roads/normal", &[Admin]),
    ("GET", "/admin/calendar", &[Admin]),
    ("POST", "/admin/calendar/overrides", &[Admin]),
    ("GET", "/admin/categories", &[Admin]),
    ("GET", "/admin/categories/roads", &[Admin]),
    ("POST", "/admin/categories", &[Admin]),
    ("GET", "/admin/assignment-rules", &[Admin]),
    ("POST", "/admin/assignment-rules", &[Admin]),
    ("GET", "/admin/people/{person}/duty", &[Admin]),
    ("POST", "/admin/people/{person}/duty", &[Admin]),
    ("GET", "/admin/reply-templates", &[Admin]),
    ("POST", "/admin/reply-templates", &[Admin]),
    ("POST", "/admin/reply-templates/defaults", &[Admin]),
    ("GET", "/admin/audit", &[Admin]),
];

/// The objects a route's path names.
struct Ids {
    case: String,
    extension: String,
    /// The township's grid worker.
    person: String,
}

/// A route's path for `ids`.
fn path(pattern: &str, ids: &Ids) -> String {
    pattern
        .replace("{case}", &ids.case)
        .replace("{extension}", &ids.extension)
        .replace("{person}", &ids.person)
}

/// A signed-in browser of `login`, with its session's CSRF token.
async fn signed_in(base: &str, login: &str) -> (Browser, String) {
    let b = Browser::new(base);
    let form = b.get("/login").await.expect(200);
    let to = b
        .post(
            "/login",
            &[
                ("_csrf", &form.csrf()),
                ("login", login),
                ("password", PASSWORD),
            ],
        )
        .await
        .see_other();
    let home = b.get(&to).await.expect(200);
    let csrf = home.csrf();
    (b, csrf)
}

/// GET, or POST with the session's token and no other field.
async fn call(b: &Browser, method: &str, path: &str, csrf: &str) -> Page {
    match method {
        "GET" => b.get(path).await,
        "POST" => b.post(path, &[("_csrf", csrf)]).await,
        "MULTIPART" => {
            let form = reqwest::multipart::Form::new().text("_csrf", csrf.to_owned());
            b.upload(path, form).await
        }
        other => panic!("no method {other}"),
    }
}

/// A case reported at the fixture's QR code, as the centre sees it, and a pending
/// extension request on it (written straight to the table: the request's own rules
/// are not what is tested here).
async fn a_case(env: &TestEnv, app: &TestApp, fx: &Fixture) -> Ids {
    let reply = post_report(&app.intake, &report(&fx.qr_token, "路灯不亮"), None)
        .await
        .expect(201);
    let tracking = reply.body["tracking_number"].as_str().expect("a number");
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;
    let case = case_id(&centre, tracking).await;
    let extension = uuid::Uuid::now_v7();
    let mut owner = env.database.owner().await;
    sqlx::query(
        "INSERT INTO routing.extension_requests (id, tenant_id, case_id, requested_by, reason, requested_until) \
         VALUES ($1, $2, $3::uuid, $4, '等待配件', now() + interval '10 days')",
    )
    .bind(extension)
    .bind(fx.tenant.as_uuid())
    .bind(&case)
    .bind(fx.worker.as_uuid())
    .execute(&mut owner)
    .await
    .expect("an extension request");
    Ids {
        case,
        extension: extension.to_string(),
        person: fx.worker.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_console_route_refuses_the_roles_that_may_not_use_it() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "cperm").await;
    let other = seed_tenant(env.db(), "cpermo").await;
    let app = TestApp::monolith(&env).await;
    let base = app.routing.base.clone();
    let ours = a_case(&env, &app, &fx).await;
    let theirs = a_case(&env, &app, &other).await;

    let mut wrong = Vec::new();
    for (who, login) in [
        (Worker, &fx.logins.worker),
        (Leader, &fx.logins.leader),
        (Centre, &fx.logins.centre),
        (Admin, &fx.logins.admin),
    ] {
        let (b, csrf) = signed_in(&base, login).await;
        for (method, pattern, allowed) in ROUTES {
            let at = path(pattern, &ours);
            let page = call(&b, method, &at, &csrf).await;
            let status = page.status.as_u16();
            if allowed.contains(&who) {
                if matches!(status, 403 | 404) || status >= 500 {
                    wrong.push(format!(
                        "{who:?} {method} {at}: {status}, expected the page"
                    ));
                }
                if pattern.contains('{') {
                    let foreign = path(pattern, &theirs);
                    let status = call(&b, method, &foreign, &csrf).await.status.as_u16();
                    if status != 404 {
                        wrong.push(format!(
                            "{who:?} {method} {foreign} (another township's): {status}, expected 404"
                        ));
                    }
                }
            } else if status != 403 || !page.has("<main") || !page.has("<h1") {
                wrong.push(format!(
                    "{who:?} {method} {at}: {status}, expected the 403 page"
                ));
            }
        }
    }

    // Signed out: to the sign-in page, which comes back to the page after (a form
    // posted signed out comes back to a page, where the service knows one).
    let anonymous = Browser::new(&base);
    for (method, pattern, _) in ROUTES {
        let at = path(pattern, &ours);
        let page = call(&anonymous, method, &at, "").await;
        let to = page.header("location").to_owned();
        let expected = format!("/login?next={}", at.replace('?', "%3F").replace('=', "%3D"));
        let fine = page.status.as_u16() == 303
            && if *method == "GET" {
                to == expected
            } else {
                to == "/login" || to.starts_with("/login?next=/console")
            };
        if !fine {
            wrong.push(format!(
                "signed out {method} {at}: {} to {to:?}, expected 303 to {expected}",
                page.status
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
