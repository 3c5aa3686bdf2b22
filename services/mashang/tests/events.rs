//! `mashang events dead` and `mashang events replay` as an operator runs them: the real
//! binary, as the application role, against a database with parked events.

use std::process::{Command, Output};

use mashang_db::testing::TestDatabase;
use uuid::Uuid;

fn mashang(database: &TestDatabase, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mashang"))
        .args(["--log-format", "pretty", "--log", "warn", "events"])
        .args(args)
        .env("MASHANG_DATABASE_URL", &database.app_url)
        .output()
        .expect("running mashang")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn an_operator_lists_parked_events_and_asks_for_their_replay() {
    let database = TestDatabase::create().await;
    let (event, tenant) = (Uuid::now_v7(), Uuid::now_v7());
    let mut owner = database.owner().await;
    sqlx::query(
        "INSERT INTO routing.dead_letters \
         (consumer, event_id, event_type, tenant_id, raw, first_error, last_error, count) \
         VALUES ('routing', $1, 'report.submitted', $2, '\\x7b7d', 'unknown tenant', 'unknown tenant', 2)",
    )
    .bind(event)
    .bind(tenant)
    .execute(&mut owner)
    .await
    .expect("a parked event");

    let listed = mashang(&database, &["dead"]);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let out = text(&listed.stdout);
    let line = out
        .lines()
        .find(|l| l.contains(&event.to_string()))
        .unwrap_or_else(|| panic!("the event is listed: {out}"));
    for part in [
        "routing",
        "report.submitted",
        &tenant.to_string(),
        "unknown tenant",
        "\t2\t",
    ] {
        assert!(line.contains(part), "{part:?} missing from {line:?}");
    }
    let other = mashang(&database, &["dead", "--service", "intake"]);
    assert!(
        !text(&other.stdout).contains(&event.to_string()),
        "filtered by service"
    );

    let unknown = mashang(&database, &["replay", "--id", &Uuid::now_v7().to_string()]);
    assert!(!unknown.status.success(), "an unknown id is an error");

    let replay = mashang(&database, &["replay", "--id", &event.to_string()]);
    assert!(replay.status.success(), "{}", text(&replay.stderr));
    assert!(
        text(&replay.stdout).starts_with("1 event(s) marked"),
        "{}",
        text(&replay.stdout)
    );
    let (requested,): (bool,) = sqlx::query_as(
        "SELECT replay_requested_at IS NOT NULL FROM routing.dead_letters WHERE event_id = $1",
    )
    .bind(event)
    .fetch_one(&mut owner)
    .await
    .expect("the row");
    assert!(requested, "marked for the running consumer to take");
    let listed = mashang(&database, &["dead"]);
    assert!(text(&listed.stdout).contains("pending"));
}
