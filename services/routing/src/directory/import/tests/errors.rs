//! Every row error, each in its own small file: the right kind at the right row, and
//! nothing written. Then a file with many errors reports them all.

use super::super::RowErrorKind as K;
use super::super::Table::{Nodes as N, People as P};
use super::{
    Fixture, add_tenant, csv, import_into, node, person, refs, row_errors, small_township,
};
use crate::directory::county::create_county_user;
use crate::directory::import::ImportFormat;
use mashang_domain::PhoneNumber;
use mashang_domain::role::Role;

/// Imports the small township, then `rows` (which must be refused with `expected`).
async fn expect(rows: &[&str], expected: &[(super::Table, u32, K)]) -> super::ImportRejection {
    let fx = Fixture::new().await;
    fx.import_csv(&csv(&refs(&small_township())))
        .await
        .expect("the base township imports");
    let rejection = fx.refused(&csv(rows)).await;
    assert_eq!(row_errors(&rejection), expected, "{rejection:#?}");
    assert_eq!(rejection.http_status(), 422);
    rejection
}

#[tokio::test]
async fn missing_parent() {
    expect(
        &[
            &node("V02", "西沟村", "村", "caotan"),
            &node("V02-01", "一组", "网格", "V09"),
        ],
        &[(N, 3, K::MissingParent)],
    )
    .await;
}

#[tokio::test]
async fn duplicate_code() {
    let r = expect(
        &[
            &node("V02", "西沟村", "村", "caotan"),
            &node("V02", "西沟村", "村", "caotan"),
        ],
        &[(N, 3, K::DuplicateCode)],
    )
    .await;
    assert!(
        r.row_errors[0].message.contains("第2行"),
        "{}",
        r.row_errors[0].message
    );
    assert_eq!(r.row_errors[0].column, Some("编码"));
}

#[tokio::test]
async fn cycle_within_the_file() {
    expect(
        &[
            &node("A", "甲", "村", "B"),
            &node("B", "乙", "网格", "A"),
            &node("C", "丙", "网格", "A"),
        ],
        &[(N, 2, K::Cycle), (N, 3, K::Cycle)],
    )
    .await;
}

#[tokio::test]
async fn moving_a_node_under_its_own_descendant() {
    // V01-01 is stored under V01; putting V01 under V01-01 closes a loop through the
    // stored tree.
    let r = expect(
        &[&node("V01", "东湾村", "村", "V01-01")],
        &[(N, 2, K::Cycle)],
    )
    .await;
    assert!(
        r.row_errors[0].message.contains("V01 → V01-01 → V01"),
        "{}",
        r.row_errors[0].message
    );
    expect(&[&node("V01", "东湾村", "村", "V01")], &[(N, 2, K::Cycle)]).await;
}

#[tokio::test]
async fn second_root() {
    expect(
        &[
            &node("other", "另一个镇", "乡镇", ""),
            &node("V02", "西沟村", "村", ""),
        ],
        &[(N, 2, K::SecondRoot), (N, 3, K::SecondRoot)],
    )
    .await;
}

#[tokio::test]
async fn township_under_something_or_root_moved() {
    expect(
        &[
            &node("T2", "另一个镇", "乡镇", "V01"),
            &node("caotan", "草滩镇", "乡镇", "V01"),
            &node("caotan", "草滩镇", "村", ""),
        ],
        &[
            (N, 2, K::TownshipNotRoot),
            (N, 3, K::TownshipNotRoot),
            (N, 4, K::DuplicateCode),
        ],
    )
    .await;
    expect(
        &[&node("caotan", "草滩镇", "村", "")],
        &[(N, 2, K::TownshipNotRoot)],
    )
    .await;
}

#[tokio::test]
async fn unknown_kind() {
    expect(
        &[&node("V02", "西沟村", "县", "caotan")],
        &[(N, 2, K::UnknownKind)],
    )
    .await;
}

#[tokio::test]
async fn unknown_role() {
    expect(
        &[&person("王芳", "13900000003", "村长", "V01", "")],
        &[(P, 2, K::UnknownRole)],
    )
    .await;
}

#[tokio::test]
async fn role_at_an_unknown_node() {
    expect(
        &[&person("王芳", "13900000003", "网格员", "V09", "")],
        &[(P, 2, K::UnknownNode)],
    )
    .await;
}

#[tokio::test]
async fn county_role() {
    expect(
        &[
            &person("王芳", "13900000003", "县综治中心", "caotan", ""),
            &person("王芳", "13900000003", "county_admin", "caotan", ""),
        ],
        &[(P, 2, K::CountyRole), (P, 3, K::CountyRole)],
    )
    .await;
}

#[tokio::test]
async fn bad_phone() {
    expect(
        &[
            &person("王芳", "1390000000", "网格员", "V01", ""),
            &person("赵强", "0931-8123456", "网格员", "V01", ""),
        ],
        &[(P, 2, K::InvalidPhone), (P, 3, K::InvalidPhone)],
    )
    .await;
}

#[tokio::test]
async fn bad_username() {
    expect(
        &[
            &person("王芳", "13900000003", "网格员", "V01", "王芳"),
            &person("赵强", "13900000004", "网格员", "V01", "1abc"),
        ],
        &[(P, 2, K::InvalidUsername), (P, 3, K::InvalidUsername)],
    )
    .await;
}

#[tokio::test]
async fn same_person_rows_disagree() {
    expect(
        &[
            &person("王芳", "13900000003", "网格员", "V01-01", "wangfang"),
            "人员,,,,,,王 芳,139 0000 0003,网格长,V01,wfang,否",
            &person("王芳", "13900000003", "网格员", "V01-01", "wangfang"),
        ],
        &[
            (P, 3, K::PersonMismatch),
            (P, 3, K::PersonMismatch),
            (P, 3, K::PersonMismatch),
            (P, 4, K::DuplicateRole),
        ],
    )
    .await;
}

#[tokio::test]
async fn the_same_username_for_two_people() {
    expect(
        &[
            &person("王芳", "13900000003", "网格员", "V01", "wfang"),
            &person("赵强", "13900000004", "网格员", "V01", "wfang"),
        ],
        &[(P, 3, K::DuplicateUsername)],
    )
    .await;
    // …or one another person of the township keeps.
    expect(
        &[&person("王芳", "13900000003", "网格员", "V01", "zhangwei")],
        &[(P, 2, K::LoginTaken)],
    )
    .await;
}

#[tokio::test]
async fn empty_required_cells() {
    expect(
        &[
            "网格,,西沟村,村,caotan,,,,,,,",
            "网格,V02,,,caotan,,,,,,,",
            "人员,,,,,,,13900000003,网格员,V01,,",
            "人员,,,,,,王芳,,网格员,,,",
        ],
        &[
            (N, 2, K::Required),
            (N, 3, K::Required),
            (N, 3, K::Required),
            (P, 4, K::Required),
            (P, 5, K::Required),
            (P, 5, K::Required),
        ],
    )
    .await;
}

#[tokio::test]
async fn overlong_names_and_codes() {
    let code = "C".repeat(65);
    let node_name = "村".repeat(101);
    let person_name = "王".repeat(51);
    let r = expect(
        &[
            &node(&code, "西沟村", "村", "caotan"),
            &node("V02", &node_name, "村", "caotan"),
            &person(&person_name, "13900000003", "网格员", "V01", ""),
        ],
        &[(N, 2, K::TooLong), (N, 3, K::TooLong), (P, 4, K::TooLong)],
    )
    .await;
    assert!(r.row_errors[0].message.contains("64"));
    // At the limits, they are fine.
    let fx = Fixture::new().await;
    let rows = [
        node(&"C".repeat(64), &"村".repeat(100), "村", "caotan"),
        person(
            &"王".repeat(50),
            "13900000003",
            "网格员",
            &"C".repeat(64),
            "",
        ),
    ];
    fx.import_csv(&csv(&refs(&rows)))
        .await
        .expect("names at the limits import");
}

#[tokio::test]
async fn sign_in_names_of_another_township() {
    let fx = Fixture::new().await;
    let other = add_tenant(&fx.db, "heping", "和平镇").await;
    let theirs = csv(&[
        &node("H01", "和平村", "村", "heping"),
        &person("赵强", "13900000009", "网格员", "H01", "zhaoqiang"),
    ]);
    import_into(&fx.db, other, theirs.as_bytes(), ImportFormat::Csv)
        .await
        .expect("the other township imports");
    let ours = csv(&[
        &node("V01", "东湾村", "村", "caotan"),
        &person("赵强", "13900000009", "网格员", "V01", ""),
        &person("王芳", "13900000003", "网格员", "V01", "zhaoqiang"),
    ]);
    let rejection = fx.refused(&ours).await;
    assert_eq!(
        row_errors(&rejection),
        [(P, 3, K::LoginTaken), (P, 4, K::LoginTaken)]
    );
    let message = &rejection.row_errors[0].message;
    assert!(
        message.contains("139****0009") && !message.contains("13900000009"),
        "masked: {message}"
    );
    assert_eq!(
        message,
        "手机号139****0009已是其他乡镇或县级人员的登录名; \
         the phone 139****0009 is already a sign-in name of another township's or the county's staff"
    );
    // A county user's phone is taken too.
    let phone = PhoneNumber::parse("13900000008").expect("phone");
    create_county_user(&fx.db.db, "县管理员", &phone, &[Role::CountyAdmin])
        .await
        .expect("county user");
    let ours = csv(&[
        &node("V01", "东湾村", "村", "caotan"),
        &person("钱明", "13900000008", "网格员", "V01", ""),
    ]);
    assert_eq!(
        row_errors(&fx.refused(&ours).await),
        [(P, 3, K::LoginTaken)]
    );
}

#[tokio::test]
async fn another_townships_nodes_are_not_visible() {
    // Row-level security: as the application role in caotan's transaction, a code that
    // exists only in heping is a missing parent and an unknown node.
    let fx = Fixture::new().await;
    let other = add_tenant(&fx.db, "heping", "和平镇").await;
    let theirs = csv(&[&node("H01", "和平村", "村", "heping")]);
    import_into(&fx.db, other, theirs.as_bytes(), ImportFormat::Csv)
        .await
        .expect("heping imports");
    let theirs_before = super::snapshot(&fx.db, other).await;
    let rejection = fx
        .refused(&csv(&[
            &node("H01-01", "一组", "网格", "H01"),
            &person("王芳", "13900000003", "网格员", "H01", ""),
            &node("X", "乙", "村", "heping"),
        ]))
        .await;
    assert_eq!(
        row_errors(&rejection),
        [
            (N, 2, K::MissingParent),
            (P, 3, K::UnknownNode),
            (N, 4, K::MissingParent)
        ]
    );
    assert_eq!(super::snapshot(&fx.db, other).await, theirs_before);
    // The same code may exist in both townships.
    fx.import_csv(&csv(&[&node("H01", "和平村", "村", "caotan")]))
        .await
        .expect("codes are per township");
    assert_eq!(super::snapshot(&fx.db, other).await, theirs_before);
}

#[tokio::test]
async fn bad_cells_of_every_kind_at_once() {
    let (v05, wang) = (
        node("V05", "X", "乡镇", "V09"),
        person("王芳", "12345", "村长", "V09", "王"),
    );
    let rows: [&str; 7] = [
        "网格,V02,西沟村,村,caotan,第一,,,,,,也许",
        "网格,V03,北岭村,村,caotan,,,,,,,",
        "网格,V03-01,一组,网格,V03,,13900000003,,,,,",
        "备注,V04,南坪村,村,caotan,,,,,,,",
        &v05,
        &wang,
        "人员,,,,,,赵强,13900000004,网格员,,,",
    ];
    let r = expect(
        &rows,
        &[
            (N, 2, K::InvalidPosition),
            (N, 2, K::InvalidActive),
            (N, 4, K::WrongTable),
            (N, 5, K::WrongTable),
            (N, 6, K::TownshipNotRoot),
            (N, 6, K::MissingParent),
            (P, 7, K::InvalidPhone),
            (P, 7, K::UnknownRole),
            (P, 7, K::InvalidUsername),
            (P, 8, K::Required),
        ],
    )
    .await;
    assert_eq!(r.row_error_count, 10);
    let json = serde_json::to_value(&r).expect("serialises");
    assert_eq!(json["row_errors"][0]["table"], "网格");
    assert_eq!(json["row_errors"][0]["column"], "排序");
    assert_eq!(json["row_errors"][0]["kind"], "invalid_position");
}
