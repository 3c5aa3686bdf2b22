//! The schema as the planner sees it on a newly migrated, empty database: the state a
//! county's database is in when it goes live, and in which each pooled connection
//! plans, and keeps, its foreign-key checks.

use mashang_db::testing::TestDatabase;
use serde_json::Value;
use sqlx::{AssertSqlSafe, Connection, Row};

/// One foreign key: the referenced table and its columns, in key order.
struct ForeignKey {
    name: String,
    table: String,
    columns: Vec<String>,
    types: Vec<String>,
}

/// Every index scan in an `EXPLAIN (FORMAT JSON)` plan: (index, condition).
fn index_scans(node: &Value, found: &mut Vec<(String, String)>) {
    if let Some(index) = node.get("Index Name").and_then(Value::as_str) {
        let cond = node
            .get("Index Cond")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        found.push((index.to_owned(), cond));
    }
    if let Some(children) = node.get("Plans").and_then(Value::as_array) {
        for child in children {
            index_scans(child, found);
        }
    }
}

/// A foreign-key check runs `SELECT 1 FROM ONLY <table> x WHERE <key> = $n … FOR KEY
/// SHARE OF x` as a generic plan each connection keeps. On an empty table every index
/// estimates one row, so a secondary index sharing only the key's first column can win
/// the tie and turn each check into a scan of the whole township's rows. Every check
/// must find its row through a unique index whose columns are all in the key.
#[tokio::test]
async fn foreign_key_checks_look_rows_up_by_their_key_on_a_new_database() {
    let database = TestDatabase::create().await;
    let mut owner = database.owner().await;
    let keys: Vec<ForeignKey> = sqlx::query(
        "SELECT c.conname::text, c.confrelid::regclass::text, \
                array_agg(a.attname::text ORDER BY k.ord), \
                array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY k.ord) \
         FROM pg_constraint c \
         CROSS JOIN LATERAL unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord) \
         JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum \
         WHERE c.contype = 'f' \
         GROUP BY c.conname, c.confrelid ORDER BY 1",
    )
    .fetch_all(&mut owner)
    .await
    .expect("listing foreign keys")
    .into_iter()
    .map(|row| ForeignKey {
        name: row.get(0),
        table: row.get(1),
        columns: row.get(2),
        types: row.get(3),
    })
    .collect();
    assert!(
        keys.iter().any(|k| k.table == "intake.reports") && keys.len() > 10,
        "the schema's foreign keys were found: {}",
        keys.len()
    );
    sqlx::raw_sql("SET plan_cache_mode = force_generic_plan")
        .execute(&mut owner)
        .await
        .expect("generic plans");
    let mut wrong = Vec::new();
    for (n, key) in keys.iter().enumerate() {
        let cond = key
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", i + 1))
            .collect::<Vec<_>>()
            .join(" AND ");
        sqlx::raw_sql(AssertSqlSafe(format!(
            "PREPARE fk{n}({}) AS SELECT 1 FROM ONLY {} x WHERE {cond} FOR KEY SHARE OF x",
            key.types.join(", "),
            key.table,
        )))
        .execute(&mut owner)
        .await
        .expect("preparing a foreign-key check");
        let nulls = vec!["NULL"; key.columns.len()].join(", ");
        let plan: Value = sqlx::query_scalar(AssertSqlSafe(format!(
            "EXPLAIN (FORMAT JSON) EXECUTE fk{n}({nulls})"
        )))
        .fetch_one(&mut owner)
        .await
        .expect("explaining a foreign-key check");
        let mut scans = Vec::new();
        index_scans(&plan[0]["Plan"], &mut scans);
        let by_key = match scans.as_slice() {
            [(index, _)] => {
                let row = sqlx::query(
                    "SELECT i.indisunique, \
                            array(SELECT a.attname::text FROM unnest(i.indkey) AS k(attnum) \
                                  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) \
                     FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                     JOIN pg_namespace s ON s.oid = c.relnamespace \
                     WHERE c.relname = $1 AND s.nspname = split_part($2, '.', 1)",
                )
                .bind(index)
                .bind(&key.table)
                .fetch_one(&mut owner)
                .await
                .expect("reading the index");
                let unique: bool = row.get(0);
                let columns: Vec<String> = row.get(1);
                unique && columns.iter().all(|c| key.columns.contains(c))
            }
            _ => false,
        };
        if !by_key {
            wrong.push(format!("{} → {}: {scans:?}", key.name, key.table));
        }
    }
    owner.close().await.ok();
    assert!(
        wrong.is_empty(),
        "foreign-key checks not planned as a lookup by the referenced key:\n{}",
        wrong.join("\n")
    );
}

/// Whether a plan reads `reports` only by walking `reports_code_day`: no scan of the
/// table, no bitmap of another index's entries.
fn walks_code_day_only(node: &Value) -> bool {
    let kind = node.get("Node Type").and_then(Value::as_str).unwrap_or("");
    let relation = node.get("Relation Name").and_then(Value::as_str);
    let index = node.get("Index Name").and_then(Value::as_str);
    let here = if kind.starts_with("Bitmap") {
        false
    } else if relation == Some("reports") || index.is_some() {
        matches!(kind, "Index Scan" | "Index Only Scan") && index == Some("reports_code_day")
    } else {
        true
    };
    here && node
        .get("Plans")
        .and_then(Value::as_array)
        .is_none_or(|children| children.iter().all(walks_code_day_only))
}

/// The burst count runs in every submission. Before the table is analysed the planner
/// guesses a dozen rows and may combine indexes and sort what they find; after, with
/// every report today's and from one code (a township's first busy day), a scan of
/// the table that stops at the cap looks as cheap as the index, and reads every row
/// for a quiet code. It must walk the code's own index entries in both states, with
/// generic and custom plans, for a busy code and for a quiet one. (The report's insert
/// runs this count as a common table expression it reads twice, so PostgreSQL plans
/// it as this query on its own.)
#[tokio::test]
async fn the_burst_count_reads_the_codes_own_entries_whatever_the_statistics() {
    let database = TestDatabase::create().await;
    let mut owner = database.owner().await;
    let tenant = uuid::Uuid::now_v7();
    let busy = uuid::Uuid::now_v7();
    let quiet = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO intake.reports (id, tenant_id, tracking_number, status_secret_hash, qr_code_id, \
             grid_node_id, category, description, channel, submitted_at, updated_at) \
         SELECT gen_random_uuid(), $1, 'T-' || g, '\\x00', $2, gen_random_uuid(), 'roads', '路灯', 'qr', \
                now() - make_interval(secs => g), now() \
         FROM generate_series(1, 5000) AS g",
    )
    .bind(tenant)
    .bind(busy)
    .execute(&mut owner)
    .await
    .expect("a busy code's reports");
    check_burst_count(&database, tenant, busy, quiet).await;
    sqlx::raw_sql("ANALYZE intake.reports")
        .execute(&mut owner)
        .await
        .expect("analysing");
    owner.close().await.ok();
    check_burst_count(&database, tenant, busy, quiet).await;
}

/// Plans and runs the burst count for `busy` (over the cap) and `quiet` (no reports).
async fn check_burst_count(
    database: &TestDatabase,
    tenant: uuid::Uuid,
    busy: uuid::Uuid,
    quiet: uuid::Uuid,
) {
    let mut tx = database
        .db
        .tenant(mashang_domain::TenantId::from_uuid(tenant))
        .await
        .expect("a tenant transaction");
    let midnight = chrono::Utc::now() - chrono::Duration::hours(3);
    sqlx::raw_sql(AssertSqlSafe(format!(
        "PREPARE burst(uuid, uuid, timestamptz, bigint) AS {}",
        mashang_intake::BURST_COUNT
    )))
    .execute(&mut *tx)
    .await
    .expect("preparing the burst count");
    for mode in ["force_generic_plan", "force_custom_plan"] {
        sqlx::raw_sql(AssertSqlSafe(format!("SET LOCAL plan_cache_mode = {mode}")))
            .execute(&mut *tx)
            .await
            .expect("choosing the plan mode");
        for (code, expected) in [(busy, mashang_intake::BURST_PER_DAY), (quiet, 0)] {
            let args = format!(
                "'{tenant}', '{code}', '{}', {}",
                midnight.to_rfc3339(),
                mashang_intake::BURST_PER_DAY
            );
            let plan: Value = sqlx::query_scalar(AssertSqlSafe(format!(
                "EXPLAIN (FORMAT JSON) EXECUTE burst({args})"
            )))
            .fetch_one(&mut *tx)
            .await
            .expect("explaining the burst count");
            assert!(walks_code_day_only(&plan[0]["Plan"]), "{mode}: {plan:#}");
            let count: i64 = sqlx::query_scalar(AssertSqlSafe(format!("EXECUTE burst({args})")))
                .fetch_one(&mut *tx)
                .await
                .expect("counting");
            assert_eq!(count, expected, "{mode}");
        }
    }
    sqlx::raw_sql("DEALLOCATE burst")
        .execute(&mut *tx)
        .await
        .expect("deallocating");
    tx.commit().await.expect("committing");
}

/// Every row-level security policy reads its setting in a sub-select: PostgreSQL then
/// evaluates it once per statement (an InitPlan) instead of once per row, and a
/// township's id from it can still be an index condition.
#[tokio::test]
async fn row_level_security_reads_each_setting_once_per_statement() {
    let database = TestDatabase::create().await;
    let mut owner = database.owner().await;
    let policies: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT schemaname || '.' || tablename, policyname, \
                coalesce(qual, '') || ' ' || coalesce(with_check, '') FROM pg_policies",
    )
    .fetch_all(&mut owner)
    .await
    .expect("the policies");
    // Each setting is read by a sub-select of its own (`( SELECT … current_setting(…`).
    let per_row: Vec<&(String, String, String)> = policies
        .iter()
        .filter(|(_, _, text)| {
            text.matches("current_setting(").count() > text.matches("( SELECT ").count()
        })
        .collect();
    assert!(
        per_row.is_empty(),
        "policies reading a setting per row: {per_row:?}"
    );
    assert!(policies.len() > 50, "{} policies", policies.len());

    owner.close().await.ok();

    // As the application role, a township's read without any WHERE of its own is
    // narrowed by the policy, whose setting is read once (an InitPlan).
    let mut app = sqlx::PgConnection::connect(&database.app_url)
        .await
        .expect("the application role");
    sqlx::query("SELECT set_config('app.tenant_id', gen_random_uuid()::text, false)")
        .execute(&mut app)
        .await
        .expect("a township");
    let plan: (Value,) = sqlx::query_as("EXPLAIN (FORMAT JSON) SELECT * FROM routing.cases")
        .fetch_one(&mut app)
        .await
        .expect("a plan");
    let text = plan.0.to_string();
    assert!(text.contains("InitPlan"), "{text}");
    app.close().await.ok();
}
