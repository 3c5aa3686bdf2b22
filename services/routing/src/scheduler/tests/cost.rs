//! Cost: with many timers pending and few due, a poll reads the due rows through
//! `timers_due` and nothing else, with the plan the server really runs (custom and
//! generic: sqlx prepares statements, and after a few runs PostgreSQL may switch a
//! prepared statement to its generic plan).

use mashang_db::testing::TestDatabase;
use mashang_db::{Db, SystemScope};
use serde_json::Value;

use super::super::CLAIM_SQL;
use super::super::claim::NEXT_DUE_SQL;
use super::{tenant_with_cases, timers};

/// What a plan read.
#[derive(Debug, Default)]
struct Read {
    /// Whether any node scans `timers_due`.
    timers_due: bool,
    /// Whether any node scans `routing.timers` sequentially.
    seq_scan: bool,
    /// Rows read by the scans of `routing.timers` (returned plus filtered out).
    rows: f64,
    /// Shared buffers touched finding the rows: the whole plan for a query, the input
    /// of the update for the claim (writing the leases costs the same per row however
    /// many are pending, and is not what this measures).
    buffers: i64,
}

fn buffers(node: &Value) -> i64 {
    node["Shared Hit Blocks"].as_i64().unwrap_or(0)
        + node["Shared Read Blocks"].as_i64().unwrap_or(0)
}

fn walk(node: &Value, read: &mut Read) {
    let field = |name: &str| node.get(name).and_then(Value::as_f64).unwrap_or(0.0);
    let relation = node.get("Relation Name").and_then(Value::as_str);
    let kind = node.get("Node Type").and_then(Value::as_str).unwrap_or("");
    if node.get("Index Name").and_then(Value::as_str) == Some("timers_due") {
        read.timers_due = true;
    }
    if relation == Some("timers") && kind.contains("Scan") {
        read.seq_scan |= kind == "Seq Scan";
        read.rows +=
            (field("Actual Rows") + field("Rows Removed by Filter")) * field("Actual Loops");
    }
    for child in node
        .get("Plans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        walk(child, read);
    }
}

/// `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` of `sql` as the application role in a
/// scheduler transaction that is rolled back, with the custom or the generic plan.
async fn explain(db: &Db, sql: &str, args: &str, generic: bool) -> Read {
    let mut tx = db
        .system(SystemScope::TimerScheduler)
        .await
        .expect("a scheduler transaction");
    let mode = if generic {
        "force_generic_plan"
    } else {
        "force_custom_plan"
    };
    sqlx::query("SELECT set_config('plan_cache_mode', $1, true)")
        .bind(mode)
        .execute(&mut *tx)
        .await
        .expect("setting the plan mode");
    let types = if args.is_empty() {
        ""
    } else {
        "(bigint, float8)"
    };
    // Statement text from this module's constants, no values.
    let prepare = format!("PREPARE cost_probe{types} AS {sql}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(prepare))
        .execute(&mut *tx)
        .await
        .expect("preparing");
    let explain = format!("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE cost_probe{args}");
    let (plan,): (Value,) = sqlx::query_as(sqlx::AssertSqlSafe(explain))
        .fetch_one(&mut *tx)
        .await
        .expect("explaining");
    sqlx::raw_sql("DEALLOCATE cost_probe")
        .execute(&mut *tx)
        .await
        .expect("deallocating");
    drop(tx); // rolls back: EXPLAIN ANALYZE really leased the rows
    let root = &plan[0]["Plan"];
    let finding = if root["Node Type"] == "ModifyTable" {
        &root["Plans"][0]
    } else {
        root
    };
    let mut read = Read {
        buffers: buffers(finding),
        ..Read::default()
    };
    walk(root, &mut read);
    read
}

async fn analyze(test: &TestDatabase) {
    let mut conn = test.owner().await;
    sqlx::raw_sql("VACUUM ANALYZE routing.timers")
        .execute(&mut conn)
        .await
        .expect("analysing");
}

#[tokio::test]
async fn a_poll_reads_the_due_rows_not_the_pending_ones() {
    let test = TestDatabase::create().await;
    let (tenant, cases) = tenant_with_cases(&test.db, 100).await;
    const DUE: f64 = 50.0;
    timers(&test.db, tenant, &cases, DUE as i64, -60_000, "due").await;
    // Pending: spread over the year ahead, in one statement.
    let pending = |count: i64| {
        let (db, cases) = (&test.db, &cases);
        async move {
            let mut tx = db.tenant(tenant).await.expect("a tenant transaction");
            sqlx::query(
                "INSERT INTO routing.timers (id, tenant_id, case_id, kind, due_at, target, point) \
                 SELECT gen_random_uuid(), $1, ($2::uuid[])[1 + i % 100], 'pending', \
                     now() + interval '1 minute' + random() * interval '365 days', 'resolution', gen_random_uuid()::text \
                 FROM generate_series(1, $3) AS i",
            )
            .bind(tenant.as_uuid())
            .bind(cases)
            .bind(count)
            .execute(&mut *tx)
            .await
            .expect("inserting pending timers");
            tx.commit().await.expect("committing");
        }
    };

    pending(1_000).await;
    analyze(&test).await;
    let mut small = Vec::new();
    for generic in [false, true] {
        small.push(explain(&test.db, CLAIM_SQL, "(1000, 30)", generic).await);
    }

    pending(99_000).await;
    analyze(&test).await;
    for (generic, few) in [false, true].into_iter().zip(&small) {
        let many = explain(&test.db, CLAIM_SQL, "(1000, 30)", generic).await;
        let plan = if generic { "generic" } else { "custom" };
        assert!(many.timers_due, "{plan} plan reads timers_due: {many:?}");
        assert!(
            !many.seq_scan,
            "{plan} plan scans no timers sequentially: {many:?}"
        );
        // The due rows, found through timers_due, then fetched by id for the update.
        assert!(
            many.rows <= 2.0 * DUE,
            "{plan} plan read {} rows for {DUE} due",
            many.rows
        );
        // 100 times the pending rows, about the same pages touched.
        assert!(
            (many.buffers as f64) <= 1.5 * few.buffers as f64 + 50.0,
            "{plan} plan: {} buffers with 100 000 pending, {} with 1 000",
            many.buffers,
            few.buffers
        );
    }

    // The look-ahead for the next wake-up is one probe at the front of the index.
    for generic in [false, true] {
        let next = explain(&test.db, NEXT_DUE_SQL, "", generic).await;
        assert!(next.timers_due && !next.seq_scan, "{next:?}");
        assert!(next.rows <= 2.0 && next.buffers < 20, "{next:?}");
    }
}
