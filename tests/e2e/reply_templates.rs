//! Reply templates (常用语): every township starts with standard phrases of each kind,
//! sees only its own, and asks for one kind at a time.

use std::collections::HashSet;

use mashang_tests::{PASSWORD, TestApp, TestEnv, seed_tenant};
use serde_json::Value;

fn texts(reply: &Value) -> Vec<(String, String)> {
    reply["templates"]
        .as_array()
        .expect("templates")
        .iter()
        .map(|t| {
            (
                t["kind"].as_str().expect("a kind").to_owned(),
                t["id"].as_str().expect("an id").to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_township_starts_with_its_own_standard_phrases() {
    let env = TestEnv::new().await;
    let a = seed_tenant(env.db(), "phrasea").await;
    let b = seed_tenant(env.db(), "phraseb").await;
    let app = TestApp::monolith(&env).await;
    let worker_a = app.routing.signed_in(&a.logins.worker, PASSWORD).await;
    let worker_b = app.routing.signed_in(&b.logins.worker, PASSWORD).await;

    let all_a = texts(
        &worker_a
            .get("/api/v1/reply-templates")
            .await
            .expect(200)
            .body,
    );
    let kinds: Vec<&str> = all_a.iter().map(|(k, _)| k.as_str()).collect();
    let mut order = kinds.clone();
    order.dedup();
    assert_eq!(
        order,
        ["first_call", "reply", "answer", "follow_up"],
        "grouped by kind, in order"
    );
    assert!(all_a.len() >= 8, "{all_a:?}");

    let first_calls = worker_a
        .get("/api/v1/reply-templates?kind=first_call")
        .await
        .expect(200)
        .body;
    let phrases: Vec<&str> = first_calls["templates"]
        .as_array()
        .expect("templates")
        .iter()
        .map(|t| t["text"].as_str().expect("a phrase"))
        .collect();
    assert!(!phrases.is_empty());
    assert!(phrases.iter().all(|p| !p.is_empty()));
    assert!(phrases[0].contains("网格员"), "{phrases:?}");

    // B has the same defaults as rows of its own; neither sees the other's.
    let all_b = texts(
        &worker_b
            .get("/api/v1/reply-templates")
            .await
            .expect(200)
            .body,
    );
    assert_eq!(all_b.len(), all_a.len());
    let ids_a: HashSet<_> = all_a.iter().map(|(_, id)| id).collect();
    assert!(all_b.iter().all(|(_, id)| !ids_a.contains(id)));

    let fields = worker_a
        .get("/api/v1/reply-templates?kind=gossip")
        .await
        .expect_problem(422);
    assert_eq!(fields, ["kind"]);
    app.stop().await;
}
