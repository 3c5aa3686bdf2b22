//! For the intake tests: uploads ahead of a report, JSON reports, status links, case
//! events arranged the way routing emits them, and a look at what was stored.

use std::path::{Path, PathBuf};

use mashang_domain::TenantId;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, PgConnection};
use uuid::Uuid;

use crate::client::{Client, Reply};

/// The start of an Ogg Opus recording, as a browser's recorder writes it.
const OGG_OPUS_HEAD: &[u8] = b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\
    \x00\x00\x00\x00\x00\x00\x00\x00\x01\x13OpusHead\x01\x01";

/// A voice note of `len` bytes: an Ogg Opus header, then filler (enough for sniffing;
/// nobody plays it).
pub fn ogg_voice(len: usize) -> Vec<u8> {
    let mut out = OGG_OPUS_HEAD.to_vec();
    out.extend((0..len.saturating_sub(out.len())).map(|i| (i % 239) as u8));
    out
}

/// `POST /api/v1/attachments` the way the landing page sends it: `qr_token`, then
/// `file` with the given name and declared type.
pub async fn upload(
    client: &Client,
    token: &str,
    bytes: Vec<u8>,
    file_name: &str,
    mime: &str,
) -> Reply {
    let part = Part::bytes(bytes)
        .file_name(file_name.to_owned())
        .mime_str(mime)
        .expect("a MIME type");
    let form = Form::new()
        .text("qr_token", token.to_owned())
        .part("file", part);
    client.post_multipart("/api/v1/attachments", form).await
}

/// Uploads a file and returns its attachment id, asserting the 201.
pub async fn upload_ok(
    client: &Client,
    token: &str,
    bytes: Vec<u8>,
    file_name: &str,
    mime: &str,
) -> String {
    let reply = upload(client, token, bytes, file_name, mime)
        .await
        .expect(201);
    reply.body["id"]
        .as_str()
        .expect("the upload's id")
        .to_owned()
}

/// A minimal valid JSON report through `token`.
pub fn report(token: &str, description: &str) -> Value {
    json!({"qr_token": token, "category": "roads", "description": description})
}

/// `POST /api/v1/reports` with a JSON body and, if given, an `Idempotency-Key`.
pub async fn post_report(client: &Client, body: &Value, key: Option<&str>) -> Reply {
    let mut request = client.http.post(client.url("/api/v1/reports")).json(body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    Reply::read(request.send().await.expect("POST")).await
}

/// The status link of a submission (`status_url` of its answer), pointed at `client`
/// rather than the public URL the test apps announce.
pub fn status_url(client: &Client, submitted: &Value) -> String {
    submitted["status_url"]
        .as_str()
        .expect("a status URL")
        .replace("http://public.test", &client.base)
}

/// The rating URL that goes with a status link (`…/r/{n}?s=…`).
pub fn rating_url(status_url: &str) -> String {
    let (path, secret) = status_url.split_once("?s=").expect("a status secret");
    format!(
        "{}/rating?s={secret}",
        path.replacen("/r/", "/api/v1/reports/", 1)
    )
}

/// The rows of `table` (a schema-qualified name written in the test) for `tenant`,
/// counted as the owner.
pub async fn count(owner: &mut PgConnection, table: &str, tenant: TenantId) -> i64 {
    let (n,): (i64,) = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT count(*) FROM {table} WHERE tenant_id = $1"
    )))
    .bind(tenant.as_uuid())
    .fetch_one(owner)
    .await
    .expect("counting");
    n
}

/// What one tenant has in intake's tables, to show a refusal stored nothing.
pub async fn intake_rows(owner: &mut PgConnection, tenant: TenantId) -> [i64; 5] {
    let mut out = [0; 5];
    for (slot, table) in out.iter_mut().zip([
        "intake.reports",
        "intake.attachments",
        "intake.outbox",
        "intake.tracking_numbers",
        "intake.idempotency_keys",
    ]) {
        *slot = count(owner, table, tenant).await;
    }
    out
}

/// Records a case event in routing's outbox, as routing's workflow does in the
/// transaction that changes the case; routing's relay then publishes it.
pub async fn emit_case_event(
    owner: &mut PgConnection,
    tenant: TenantId,
    event_type: &str,
    case: Uuid,
    report: Uuid,
    case_version: i64,
) {
    let id = Uuid::now_v7();
    let envelope = json!({
        "id": id,
        "type": event_type,
        "version": 1,
        "tenant_id": tenant,
        "occurred_at": chrono::Utc::now(),
        "payload": {
            "case_id": case,
            "case_version": case_version,
            "report_id": report,
            "tracking_number": "",
            "state": "resolved",
            "action": "resolve",
            "actor_id": null,
            "assignee_id": null,
            "details": {},
            "notify": [],
        },
    });
    sqlx::query(
        "INSERT INTO routing.outbox (id, tenant_id, event_type, envelope) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(tenant.as_uuid())
    .bind(event_type)
    .bind(envelope)
    .execute(owner)
    .await
    .expect("recording a case event");
}

/// Every file under a local blob store's folder.
pub fn stored_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(stored_files(&path));
        } else {
            out.push(path);
        }
    }
    out
}
