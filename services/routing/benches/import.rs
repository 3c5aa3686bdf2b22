//! Import benchmark: a generated township of 30 villages, 300 grids and 500 people,
//! as XLSX and as CSV, imported into a fresh tenant (parse + check + write), then
//! imported again (nothing to change), then exported. Target: each import under 2 s.
//!
//! Needs a PostgreSQL cluster like the tests (`MASHANG_TEST_DATABASE_URL`):
//!
//! ```text
//! infra/test-services up && source target/test-env/env
//! cargo bench -p mashang-routing --bench import
//! ```
//!
//! Prints timings only; it asserts nothing about them.

use std::time::{Duration, Instant};

use mashang_db::testing::TestDatabase;
use mashang_domain::TenantCode;
use mashang_routing::directory::import::sample::{SampleSpec, township};
use mashang_routing::directory::import::{ImportFormat, apply, export, parse, write_file};
use mashang_routing::directory::tenants::create_tenant;

const TARGET: Duration = Duration::from_secs(2);

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run());
}

fn verdict(took: Duration) -> &'static str {
    if took < TARGET { "within" } else { "OVER" }
}

async fn run() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this unoptimised,
    // as a smoke test whose timings mean little.
    if !std::env::args().any(|a| a == "--bench") {
        println!("(test mode: an unoptimised smoke run; use `cargo bench` for figures)");
    }
    let db = TestDatabase::create().await;
    println!(
        "import benchmark: 30 villages, 300 grids, 500 people; target < {TARGET:?} per import"
    );
    for (block, format) in [(10, ImportFormat::Xlsx), (11, ImportFormat::Csv)] {
        let code = format!("bench{}", format.extension());
        let tenant = create_tenant(
            &db.db,
            &TenantCode::parse(&code).expect("a valid tenant code"),
            "基准镇",
            "Asia/Shanghai",
        )
        .await
        .expect("creating the tenant")
        .tenant
        .id;
        let (nodes, people) = township(&code, "基准镇", SampleSpec::standard(block));
        let started = Instant::now();
        let bytes = write_file(format, &nodes, &people).expect("writing the file");
        println!(
            "\n{format:?}: {} node rows, {} person rows, {} KiB, written in {:?}",
            nodes.len(),
            people.len(),
            bytes.len() / 1024,
            started.elapsed()
        );
        for round in [
            "first import (creates everything)",
            "second import (changes nothing)",
        ] {
            let started = Instant::now();
            let file = parse(&bytes, format).expect("the file parses");
            let parsed = started.elapsed();
            let mut tx = db.db.tenant(tenant).await.expect("a tenant transaction");
            let summary = apply(&mut tx, &file, false)
                .await
                .expect("the import applies");
            tx.commit().await.expect("commit");
            let took = started.elapsed();
            println!(
                "  {round}: {took:?} ({} the target; parse {parsed:?}, check + write + commit {:?})\n    {summary:?}",
                verdict(took),
                took - parsed,
            );
        }
        let started = Instant::now();
        let mut tx = db.db.tenant(tenant).await.expect("a tenant transaction");
        let exported = export(&mut tx, format).await.expect("export");
        drop(tx);
        println!(
            "  export: {:?} ({} KiB)",
            started.elapsed(),
            exported.len() / 1024
        );
    }
}
