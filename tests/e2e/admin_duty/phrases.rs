//! The reply-template library edited on its page and through the admin API; the
//! console's API and phrase chips follow.

use mashang_tests::browser::Browser;
use mashang_tests::cases::case_id;
use mashang_tests::intake::{post_report, report};
use mashang_tests::{Client, PASSWORD, TestApp, TestEnv, seed_tenant};
use serde_json::{Value, json};

use super::sign_in;

/// The texts of a kind in order, as the console's API gives them.
async fn phrases(client: &Client, kind: &str) -> Vec<String> {
    client
        .get(&format!("/api/v1/reply-templates?kind={kind}"))
        .await
        .expect(200)
        .body["templates"]
        .as_array()
        .expect("templates")
        .iter()
        .map(|t| t["text"].as_str().expect("a text").to_owned())
        .collect()
}

/// The admin API's phrases of a kind: (id, text).
async fn admin_phrases(admin: &Client, kind: &str) -> Vec<(String, String)> {
    admin
        .get(&format!("/api/v1/admin/reply-templates?kind={kind}"))
        .await
        .expect(200)
        .body["templates"]
        .as_array()
        .expect("templates")
        .iter()
        .map(|t: &Value| {
            (
                t["id"].as_str().expect("an id").to_owned(),
                t["text"].as_str().expect("a text").to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_templates_edited_on_the_page_reach_the_api_and_the_case_chips() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "phrasepg").await;
    let other = seed_tenant(env.db(), "phrasepgb").await;
    let app = TestApp::monolith(&env).await;
    let admin = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let b = Browser::new(&app.routing.base);
    let csrf = sign_in(&b, &fx.logins.admin).await;

    // Every township starts with zh-CN defaults of each kind.
    for kind in ["first_call", "reply", "answer", "follow_up"] {
        let mine = admin_phrases(&admin, kind).await;
        assert!(mine.len() >= 3, "{kind}: {mine:?}");
    }
    let page = b.get("/admin/reply-templates").await.expect(200);
    for heading in ["联系群众（首次电话回复）", "回复与说明", "办结答复", "回访"]
    {
        assert!(page.has(heading), "{heading}");
    }
    assert!(!page.has("补回"), "nothing to bring back");

    // Add one, edit another, move the new one to the top.
    let added = "您好，我是新庄村网格员，已收到您的反映，半小时内到现场。";
    let to = b
        .post(
            "/admin/reply-templates",
            &[("_csrf", &csrf), ("kind", "first_call"), ("text", added)],
        )
        .await
        .see_other();
    assert_eq!(to, "/admin/reply-templates?ok=added#kind-first_call");
    let first_calls = admin_phrases(&admin, "first_call").await;
    let (old_id, old_text) = first_calls[1].clone();
    let new_id = first_calls.last().expect("the new phrase").0.clone();
    let edited = "已电话联系群众，约定今天下午上门处理。";
    b.post(
        &format!("/admin/reply-templates/{old_id}"),
        &[("_csrf", &csrf), ("text", &format!("  {edited}\r\n"))],
    )
    .await
    .see_other();
    for _ in 0..first_calls.len() {
        b.post(
            &format!("/admin/reply-templates/{new_id}/up"),
            &[("_csrf", &csrf), ("text", added)],
        )
        .await
        .see_other();
    }
    let seen = phrases(&worker, "first_call").await;
    assert_eq!(seen[0], added, "moved to the top: {seen:?}");
    assert!(seen.contains(&edited.to_owned()) && !seen.contains(&old_text));

    // The case page's chips offer them.
    let body = report(&fx.qr_token, "路灯不亮");
    let created = post_report(&app.intake, &body, None).await.expect(201);
    let case = case_id(
        &worker,
        created.body["tracking_number"].as_str().expect("a number"),
    )
    .await;
    let w = Browser::new(&app.routing.base);
    let token = w.get("/login").await.expect(200).csrf();
    w.post(
        "/login",
        &[
            ("_csrf", &token),
            ("login", &fx.logins.worker),
            ("password", PASSWORD),
        ],
    )
    .await
    .see_other();
    let case_page = w.get(&format!("/console/cases/{case}")).await.expect(200);
    assert!(case_page.has(&format!(r#"data-text="{added}""#)));
    assert!(case_page.has(&format!(r#"data-text="{edited}""#)));
    assert!(!case_page.has(&format!(r#"data-text="{old_text}""#)));

    // Bad input: the page again with what was typed and the reason.
    let long = "长".repeat(501);
    let refused = b
        .post(
            "/admin/reply-templates",
            &[("_csrf", &csrf), ("kind", "reply"), ("text", &long)],
        )
        .await
        .expect(422);
    assert!(refused.has("最多 500 个字") && refused.has(&format!(">{long}</textarea>")));
    let refused = b
        .post(
            &format!("/admin/reply-templates/{old_id}"),
            &[("_csrf", &csrf), ("text", "   ")],
        )
        .await
        .expect(422);
    assert!(refused.has("请填写常用语的内容") && refused.has(&format!("e-{old_id}")));
    let refused = b
        .post(
            "/admin/reply-templates",
            &[("_csrf", &csrf), ("kind", "first_call"), ("text", added)],
        )
        .await
        .expect(422);
    assert!(refused.has("这一类里已经有这句常用语"));
    b.post(
        "/admin/reply-templates",
        &[("_csrf", &csrf), ("kind", "gossip"), ("text", "你好")],
    )
    .await
    .expect(422);
    let fields = admin
        .post_json(
            "/api/v1/admin/reply-templates",
            &json!({"kind": "reply", "text": "长".repeat(5000)}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["text"]);
    assert_eq!(
        phrases(&worker, "first_call").await,
        seen,
        "nothing changed"
    );

    // Bounded: at most 20 of a kind, on the page and through the API alike.
    let have = admin_phrases(&admin, "reply").await.len();
    for n in have..20 {
        admin
            .post_json(
                "/api/v1/admin/reply-templates",
                &json!({"kind": "reply", "text": format!("第{n}条回复")}),
            )
            .await
            .expect(201);
    }
    let full = b
        .post(
            "/admin/reply-templates",
            &[("_csrf", &csrf), ("kind", "reply"), ("text", "再多一条")],
        )
        .await
        .expect(422);
    assert!(full.has("每一类最多 20 条常用语") && full.has("再多一条"));
    let fields = admin
        .post_json(
            "/api/v1/admin/reply-templates",
            &json!({"kind": "reply", "text": "再多一条"}),
        )
        .await
        .expect_problem(422);
    assert_eq!(fields, ["text"]);

    // The JSON API: edit and move, delete; another township's phrase is not there.
    let (id, _) = admin_phrases(&admin, "answer").await[0].clone();
    let moved = admin
        .put_json(
            &format!("/api/v1/admin/reply-templates/{id}"),
            &json!({"text": "经现场核实，已处理完毕。", "position": 2}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(moved["position"], 2);
    assert_eq!(
        phrases(&worker, "answer").await[1],
        "经现场核实，已处理完毕。"
    );
    let theirs = admin_phrases(
        &app.routing.signed_in(&other.logins.admin, PASSWORD).await,
        "answer",
    )
    .await[0]
        .0
        .clone();
    admin
        .put_json(
            &format!("/api/v1/admin/reply-templates/{theirs}"),
            &json!({"text": "改掉"}),
        )
        .await
        .expect(404);
    b.post(
        &format!("/admin/reply-templates/{theirs}"),
        &[("_csrf", &csrf), ("text", "改掉")],
    )
    .await
    .expect(404);
    b.post(
        &format!("/admin/reply-templates/{theirs}/delete"),
        &[("_csrf", &csrf)],
    )
    .await
    .expect(404);
    b.post(
        &format!("/admin/reply-templates/{id}/sideways"),
        &[("_csrf", &csrf)],
    )
    .await
    .expect(404);
    worker
        .post_json(
            "/api/v1/admin/reply-templates",
            &json!({"kind": "reply", "text": "网格员自己加的"}),
        )
        .await
        .expect(403);
    assert_eq!(
        delete_status(&admin, &format!("/api/v1/admin/reply-templates/{theirs}")).await,
        404
    );

    // Deleting every follow-up phrase on the page, then bringing the defaults back.
    for (id, _) in admin_phrases(&admin, "follow_up").await {
        let to = b
            .post(
                &format!("/admin/reply-templates/{id}/delete"),
                &[("_csrf", &csrf)],
            )
            .await
            .see_other();
        assert_eq!(to, "/admin/reply-templates?ok=deleted#kind-follow_up");
    }
    assert!(phrases(&worker, "follow_up").await.is_empty());
    let page = b.get("/admin/reply-templates").await.expect(200);
    assert!(page.has("补回 3 条默认常用语"));
    b.post(
        "/admin/reply-templates/defaults",
        &[("_csrf", &csrf), ("kind", "follow_up")],
    )
    .await
    .see_other();
    let back = phrases(&worker, "follow_up").await;
    assert_eq!(back.len(), 3, "{back:?}");
    assert!(back[0].starts_with("回访群众"));

    // A grid worker may not open the page.
    w.get("/admin/reply-templates").await.expect(403);
    app.stop().await;
}

/// DELETE with the client's session; the status.
async fn delete_status(client: &Client, path: &str) -> u16 {
    client
        .http
        .delete(client.url(path))
        .send()
        .await
        .expect("DELETE")
        .status()
        .as_u16()
}
