//! Import and export against a real PostgreSQL, as the application role (row-level
//! security in force). Each test makes its own database.

mod errors;
mod files;
mod people;
mod round_trip;

use mashang_db::TenantTx;
use mashang_db::testing::TestDatabase;
use mashang_domain::{TenantCode, TenantId};
use sqlx::Row;

use super::{
    ImportError, ImportFormat, ImportRejection, ImportSummary, RowErrorKind, Table, apply, parse,
};
use crate::directory::tenants::create_tenant;

/// A fresh database with one township, `caotan` (草滩镇).
pub(super) struct Fixture {
    pub db: TestDatabase,
    pub tenant: TenantId,
}

impl Fixture {
    pub async fn new() -> Self {
        let db = TestDatabase::create().await;
        let tenant = add_tenant(&db, "caotan", "草滩镇").await;
        Self { db, tenant }
    }

    pub async fn tx(&self) -> TenantTx {
        self.db
            .db
            .tenant(self.tenant)
            .await
            .expect("tenant transaction")
    }

    /// Parses and applies `bytes`, committing when it succeeds.
    pub async fn import(
        &self,
        bytes: &[u8],
        format: ImportFormat,
    ) -> Result<ImportSummary, ImportError> {
        import_into(&self.db, self.tenant, bytes, format).await
    }

    /// Imports CSV text.
    pub async fn import_csv(&self, text: &str) -> Result<ImportSummary, ImportError> {
        self.import(text.as_bytes(), ImportFormat::Csv).await
    }

    /// Every stored row of the township's directory and of the sign-in table, as
    /// JSON text (timestamps included, so an unchanged snapshot means no write).
    pub async fn snapshot(&self) -> Vec<String> {
        snapshot(&self.db, self.tenant).await
    }

    /// Imports CSV text that must be refused; checks that nothing was written.
    pub async fn refused(&self, text: &str) -> ImportRejection {
        self.refused_file(text.as_bytes(), ImportFormat::Csv).await
    }

    /// Imports a file that must be refused; checks that nothing was written.
    pub async fn refused_file(&self, bytes: &[u8], format: ImportFormat) -> ImportRejection {
        let before = self.snapshot().await;
        let err = self
            .import(bytes, format)
            .await
            .expect_err("the file must be refused");
        assert_eq!(
            self.snapshot().await,
            before,
            "a refused import wrote something"
        );
        rejection(err)
    }
}

pub(super) async fn add_tenant(db: &TestDatabase, code: &str, name: &str) -> TenantId {
    let code = TenantCode::parse(code).expect("tenant code");
    create_tenant(&db.db, &code, name, "Asia/Shanghai")
        .await
        .expect("creating a tenant")
        .tenant
        .id
}

pub(super) async fn import_into(
    db: &TestDatabase,
    tenant: TenantId,
    bytes: &[u8],
    format: ImportFormat,
) -> Result<ImportSummary, ImportError> {
    let file = parse(bytes, format)?;
    let mut tx = db.db.tenant(tenant).await.expect("tenant transaction");
    let summary = apply(&mut tx, &file, false).await?;
    tx.commit().await.expect("commit");
    Ok(summary)
}

pub(super) async fn snapshot(db: &TestDatabase, tenant: TenantId) -> Vec<String> {
    let mut owner = db.owner().await;
    let mut rows = Vec::new();
    for sql in [
        "SELECT row_to_json(t)::text FROM routing.grid_nodes t WHERE tenant_id = $1 ORDER BY id",
        "SELECT row_to_json(t)::text FROM routing.staff_users t WHERE tenant_id = $1 ORDER BY id",
        "SELECT row_to_json(t)::text FROM routing.staff_roles t WHERE tenant_id = $1 \
         ORDER BY user_id, role, node_id",
        "SELECT row_to_json(t)::text FROM routing.logins t WHERE tenant_id = $1 ORDER BY login",
    ] {
        for row in sqlx::query(sql)
            .bind(tenant.as_uuid())
            .fetch_all(&mut owner)
            .await
            .expect("reading as the owner")
        {
            rows.push(row.get::<String, _>(0));
        }
    }
    rows
}

/// Counts of (nodes, people, roles, logins) of one township, read as the owner.
pub(super) async fn counts(db: &TestDatabase, tenant: TenantId) -> [i64; 4] {
    let mut owner = db.owner().await;
    let mut out = [0; 4];
    for (i, sql) in [
        "SELECT count(*) FROM routing.grid_nodes WHERE tenant_id = $1",
        "SELECT count(*) FROM routing.staff_users WHERE tenant_id = $1",
        "SELECT count(*) FROM routing.staff_roles WHERE tenant_id = $1",
        "SELECT count(*) FROM routing.logins WHERE tenant_id = $1",
    ]
    .into_iter()
    .enumerate()
    {
        out[i] = sqlx::query_scalar(sql)
            .bind(tenant.as_uuid())
            .fetch_one(&mut owner)
            .await
            .expect("counting");
    }
    out
}

pub(super) fn rejection(err: ImportError) -> ImportRejection {
    match err {
        ImportError::Rejected(rejection) => rejection,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// The row errors as (table, row, kind).
pub(super) fn row_errors(rejection: &ImportRejection) -> Vec<(Table, u32, RowErrorKind)> {
    rejection
        .row_errors
        .iter()
        .map(|e| (e.table, e.row, e.kind))
        .collect()
}

/// The CSV header of the full layout.
pub(super) const HEADER: &str =
    "表,编码,名称,类型,上级编码,排序,姓名,手机号,角色,所在节点编码,登录名,启用";

/// A CSV file: the full header and these rows.
pub(super) fn csv(rows: &[&str]) -> String {
    let mut text = String::from(HEADER);
    for row in rows {
        text.push('\n');
        text.push_str(row);
    }
    text.push('\n');
    text
}

/// A node row of the full CSV layout.
pub(super) fn node(code: &str, name: &str, kind: &str, parent: &str) -> String {
    format!("网格,{code},{name},{kind},{parent},,,,,,,")
}

/// A person row of the full CSV layout.
pub(super) fn person(name: &str, phone: &str, role: &str, at: &str, username: &str) -> String {
    format!("人员,,,,,,{name},{phone},{role},{at},{username},")
}

/// A small valid township: a village with two grids and two people.
pub(super) fn small_township() -> Vec<String> {
    vec![
        node("V01", "东湾村", "村", "caotan"),
        node("V01-01", "东湾村一组", "网格", "V01"),
        node("V01-02", "东湾村二组", "网格", "V01"),
        person("张伟", "13900000001", "网格员", "V01-01", "zhangwei"),
        person("李娜", "13900000002", "网格长", "V01", ""),
        person("李娜", "13900000002", "村负责人", "V01", ""),
    ]
}

pub(super) fn refs(rows: &[String]) -> Vec<&str> {
    rows.iter().map(String::as_str).collect()
}
