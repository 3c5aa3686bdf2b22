//! A realistic township: import, import again, export and import the export; each
//! later step changes nothing.

use std::collections::{HashMap, HashSet};

use mashang_domain::grid::NodeKind;

use super::super::sample::{SampleSpec, township};
use super::super::{ImportFormat, RowCounts, apply, export, parse, write_file};
use super::{Fixture, counts};

async fn round_trip(format: ImportFormat) {
    let fx = Fixture::new().await;
    let (nodes, people) = township("caotan", "草滩镇", SampleSpec::standard(1));
    let kinds = |kind| nodes.iter().filter(|n| n.kind == kind).count();
    assert!(kinds(NodeKind::Village) + kinds(NodeKind::Community) >= 30);
    assert!(kinds(NodeKind::Grid) >= 300);
    let mut roles_of: HashMap<&str, usize> = HashMap::new();
    for p in &people {
        *roles_of.entry(p.phone.as_str()).or_default() += 1;
    }
    assert!(roles_of.len() >= 500, "{} people", roles_of.len());
    assert!(
        roles_of.values().filter(|&&n| n == 2).count() >= 5,
        "several people hold two roles"
    );

    let bytes = write_file(format, &nodes, &people).expect("writing the file");
    let first = fx.import(&bytes, format).await.expect("first import");
    let total_nodes = u32::try_from(nodes.len()).expect("small");
    // The root exists already (created with the tenant) and the file agrees with it.
    assert_eq!(
        first.nodes,
        RowCounts {
            created: total_nodes - 1,
            updated: 0,
            unchanged: 1
        }
    );
    assert_eq!(
        first.people.created,
        u32::try_from(roles_of.len()).expect("small")
    );
    assert_eq!(
        first.roles_added,
        u32::try_from(people.len()).expect("small")
    );
    let logins = roles_of.len()
        + people
            .iter()
            .filter(|p| p.username.is_some())
            .map(|p| &p.phone)
            .collect::<HashSet<_>>()
            .len();
    assert_eq!(
        counts(&fx.db, fx.tenant).await,
        [
            nodes.len() as i64,
            roles_of.len() as i64,
            people.len() as i64,
            logins as i64
        ]
    );
    let mut owner = fx.db.owner().await;
    let with_password: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM routing.staff_users WHERE password_hash IS NOT NULL",
    )
    .fetch_one(&mut owner)
    .await
    .expect("counting");
    assert_eq!(with_password, 0, "imported people get no password");

    let stored = fx.snapshot().await;
    let unchanged = |summary: super::super::ImportSummary| {
        assert!(summary.is_noop(), "{summary:?}");
        assert_eq!(summary.nodes.unchanged, total_nodes);
        assert_eq!(
            summary.people.unchanged,
            u32::try_from(roles_of.len()).expect("small")
        );
    };
    unchanged(fx.import(&bytes, format).await.expect("second import"));
    assert_eq!(
        fx.snapshot().await,
        stored,
        "the second import wrote something"
    );

    let mut tx = fx.tx().await;
    let exported = export(&mut tx, format).await.expect("export");
    tx.commit().await.expect("commit");
    let reread = parse(&exported, format).expect("the export parses");
    assert_eq!(reread.row_counts(), (nodes.len(), people.len()));
    assert!(reread.cell_errors().is_empty());
    unchanged(
        fx.import(&exported, format)
            .await
            .expect("importing the export"),
    );
    assert_eq!(
        fx.snapshot().await,
        stored,
        "importing the export wrote something"
    );
}

#[tokio::test]
async fn xlsx_round_trip_changes_nothing() {
    round_trip(ImportFormat::Xlsx).await;
}

#[tokio::test]
async fn csv_round_trip_changes_nothing() {
    round_trip(ImportFormat::Csv).await;
}

#[tokio::test]
async fn an_export_in_one_format_imports_in_the_other() {
    let fx = Fixture::new().await;
    let (nodes, people) = township(
        "caotan",
        "草滩镇",
        SampleSpec {
            villages: 4,
            grids: 12,
            people: 30,
            phone_block: 2,
        },
    );
    let csv = write_file(ImportFormat::Csv, &nodes, &people).expect("csv");
    fx.import(&csv, ImportFormat::Csv).await.expect("import");
    let stored = fx.snapshot().await;
    let mut tx = fx.tx().await;
    let xlsx = export(&mut tx, ImportFormat::Xlsx).await.expect("export");
    drop(tx);
    assert!(
        fx.import(&xlsx, ImportFormat::Xlsx)
            .await
            .expect("import")
            .is_noop()
    );
    assert_eq!(fx.snapshot().await, stored);
}

#[tokio::test]
async fn a_dry_run_reports_the_same_summary_and_writes_nothing() {
    let fx = Fixture::new().await;
    let (nodes, people) = township(
        "caotan",
        "草滩镇",
        SampleSpec {
            villages: 5,
            grids: 20,
            people: 40,
            phone_block: 3,
        },
    );
    let bytes = write_file(ImportFormat::Xlsx, &nodes, &people).expect("xlsx");
    let file = parse(&bytes, ImportFormat::Xlsx).expect("parse");
    let before = fx.snapshot().await;
    let mut tx = fx.tx().await;
    let dry = apply(&mut tx, &file, true).await.expect("dry run");
    tx.commit().await.expect("commit");
    assert!(dry.dry_run);
    assert_eq!(fx.snapshot().await, before, "a dry run wrote something");
    let real = fx.import(&bytes, ImportFormat::Xlsx).await.expect("import");
    assert!(!real.dry_run);
    assert_eq!(
        (dry.nodes, dry.people, dry.roles_added),
        (real.nodes, real.people, real.roles_added)
    );
}
