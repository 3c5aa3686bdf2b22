//! Upsert semantics: what a second file changes, what it leaves alone.

use mashang_domain::PhoneNumber;
use sqlx::Row;

use super::super::{ImportFormat, RowCounts, export};
use super::{Fixture, counts, csv, node, person, refs, small_township};
use crate::directory::staff::person_by_phone;

/// (name, username, active) and the sorted (role, node code) of a person, as stored.
async fn person_state(fx: &Fixture, phone: &str) -> (String, Option<String>, bool, Vec<String>) {
    let mut tx = fx.tx().await;
    let phone = PhoneNumber::parse(phone).expect("phone");
    let id = person_by_phone(&mut tx, &phone)
        .await
        .expect("lookup")
        .expect("person exists");
    let row = sqlx::query("SELECT name, username, active FROM routing.staff_users WHERE id = $1")
        .bind(id.as_uuid())
        .fetch_one(&mut *tx)
        .await
        .expect("person row");
    let roles: Vec<String> = sqlx::query_scalar(
        "SELECT r.role || '@' || n.code FROM routing.staff_roles r JOIN routing.grid_nodes n ON n.id = r.node_id \
         WHERE r.user_id = $1 ORDER BY 1",
    )
    .bind(id.as_uuid())
    .fetch_all(&mut *tx)
    .await
    .expect("roles");
    (row.get(0), row.get(1), row.get(2), roles)
}

async fn node_state(fx: &Fixture, code: &str) -> (String, Option<String>, bool, i32) {
    let mut tx = fx.tx().await;
    let row = sqlx::query(
        "SELECT n.name, p.code, n.active, n.position FROM routing.grid_nodes n \
         LEFT JOIN routing.grid_nodes p ON p.id = n.parent_id WHERE n.code = $1",
    )
    .bind(code)
    .fetch_one(&mut *tx)
    .await
    .expect("node row");
    (row.get(0), row.get(1), row.get(2), row.get(3))
}

#[tokio::test]
async fn a_second_file_updates_moves_and_counts() {
    let fx = Fixture::new().await;
    let first = fx
        .import_csv(&csv(&refs(&small_township())))
        .await
        .expect("first import");
    assert_eq!(
        first.nodes,
        RowCounts {
            created: 3,
            updated: 0,
            unchanged: 0
        }
    );
    assert_eq!(
        first.people,
        RowCounts {
            created: 2,
            updated: 0,
            unchanged: 0
        }
    );
    assert_eq!(first.roles_added, 3);

    let second = csv(&[
        &node("V01", "东湾村", "村", "caotan"),
        &node("V01-01", "东湾村一组", "网格", "V01"),
        "网格,V02,西沟村,village,caotan,2,,,,,,",
        // Renamed and moved to the new village, with its order.
        "网格,V01-02,西沟村一组,grid,V02,5,,,,,,否",
        "人员,,,,,,张伟,13900000001,网格员,V01-01,zhang.wei,否",
        &person("李娜", "13900000002", "网格长", "V01", ""),
    ]);
    let summary = fx.import_csv(&second).await.expect("second import");
    assert_eq!(
        summary.nodes,
        RowCounts {
            created: 1,
            updated: 1,
            unchanged: 2
        }
    );
    assert_eq!(
        summary.people,
        RowCounts {
            created: 0,
            updated: 2,
            unchanged: 0
        }
    );
    assert_eq!((summary.roles_added, summary.roles_removed), (0, 1));

    assert_eq!(
        node_state(&fx, "V01-02").await,
        ("西沟村一组".into(), Some("V02".into()), false, 5)
    );
    assert_eq!(
        node_state(&fx, "V02").await,
        ("西沟村".into(), Some("caotan".into()), true, 2)
    );
    assert_eq!(
        person_state(&fx, "13900000001").await,
        (
            "张伟".into(),
            Some("zhang.wei".into()),
            false,
            vec!["grid_worker@V01-01".into()]
        )
    );
    assert_eq!(
        person_state(&fx, "13900000002").await.3,
        vec!["grid_leader@V01".to_owned()]
    );
    let mut owner = fx.db.owner().await;
    let logins: Vec<String> =
        sqlx::query_scalar("SELECT login FROM routing.logins WHERE kind = 'username' ORDER BY 1")
            .fetch_all(&mut owner)
            .await
            .expect("logins");
    assert_eq!(
        logins,
        vec!["zhang.wei".to_owned()],
        "the old username is released"
    );
    assert!(fx.import_csv(&second).await.expect("again").is_noop());
}

#[tokio::test]
async fn what_the_file_does_not_list_is_left_alone() {
    let fx = Fixture::new().await;
    fx.import_csv(&csv(&refs(&small_township())))
        .await
        .expect("first import");
    let before = counts(&fx.db, fx.tenant).await;
    // Only the columns that are required, and only a new grid and a new person.
    let text = "表,编码,名称,类型,上级编码,姓名,手机号,角色,所在节点编码\n\
                网格,V01-03,东湾村三组,网格,V01,,,,\n\
                人员,,,,,王芳,13900000003,网格员,V01-03\n";
    let summary = fx.import_csv(text).await.expect("import");
    assert_eq!(summary.nodes.created, 1);
    assert_eq!(summary.people.created, 1);
    let after = counts(&fx.db, fx.tenant).await;
    assert_eq!(
        after,
        [before[0] + 1, before[1] + 1, before[2] + 1, before[3] + 1]
    );
    assert_eq!(
        person_state(&fx, "13900000002").await.3.len(),
        2,
        "others keep their roles"
    );
    // Without the optional columns, a listed person keeps their username and state.
    let text = "表,姓名,手机号,角色,所在节点编码\n人员,张伟,13900000001,网格员,V01-01\n";
    assert!(fx.import_csv(text).await.expect("import").is_noop());
    assert_eq!(
        person_state(&fx, "13900000001").await.1,
        Some("zhangwei".into())
    );
}

#[tokio::test]
async fn two_people_can_swap_usernames() {
    let fx = Fixture::new().await;
    let rows = [
        node("V01", "东湾村", "村", "caotan"),
        person("张伟", "13900000001", "网格员", "V01", "alpha"),
        person("李娜", "13900000002", "网格员", "V01", "bravo"),
    ];
    fx.import_csv(&csv(&refs(&rows)))
        .await
        .expect("first import");
    let swapped = [
        person("张伟", "13900000001", "网格员", "V01", "bravo"),
        person("李娜", "13900000002", "网格员", "V01", "alpha"),
    ];
    let summary = fx.import_csv(&csv(&refs(&swapped))).await.expect("swap");
    assert_eq!(summary.people.updated, 2);
    assert_eq!(
        person_state(&fx, "13900000001").await.1,
        Some("bravo".into())
    );
    assert_eq!(
        person_state(&fx, "13900000002").await.1,
        Some("alpha".into())
    );
}

#[tokio::test]
async fn a_person_without_roles_is_listed_and_round_trips() {
    let fx = Fixture::new().await;
    fx.import_csv(&csv(&refs(&small_township())))
        .await
        .expect("first import");
    // An empty role and node: 李娜 keeps her row but loses both roles.
    let text = csv(&["人员,,,,,,李娜,13900000002,,,,"]);
    let summary = fx.import_csv(&text).await.expect("import");
    assert_eq!((summary.people.updated, summary.roles_removed), (1, 2));
    assert!(person_state(&fx, "13900000002").await.3.is_empty());
    let stored = fx.snapshot().await;
    let mut tx = fx.tx().await;
    let exported = export(&mut tx, ImportFormat::Csv).await.expect("export");
    drop(tx);
    let text = String::from_utf8(exported.clone()).expect("utf-8");
    assert!(
        text.starts_with('\u{feff}'),
        "Excel needs the BOM to read UTF-8"
    );
    assert!(text.contains("人员,,,,,,李娜,13900000002,,,,是"), "{text}");
    assert!(
        fx.import(&exported, ImportFormat::Csv)
            .await
            .expect("import")
            .is_noop()
    );
    assert_eq!(fx.snapshot().await, stored);
}
