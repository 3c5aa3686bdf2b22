//! Local servers that behave like the providers' documented APIs, errors included,
//! for the notification channels: a WeCom group robot, a DingTalk custom robot with
//! the signed-timestamp security setting, a webhook receiver, and the SMS APIs of
//! Alibaba Cloud and Tencent Cloud (each on its own port, verifying signatures as the
//! provider does: see [`crate::fakes_sms`]). Each records what it accepted; each can
//! be told to answer as the provider does when things go wrong.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::{Value, json};

pub use crate::fakes_sms::Sms;
use crate::fakes_sms::SmsState;

/// What a fake received and accepted.
#[derive(Clone, Debug)]
pub struct Received {
    /// The robot's key, token or the webhook path's name.
    pub to: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Shared {
    accepted: Vec<Received>,
    /// WeCom keys and DingTalk tokens that exist, with a DingTalk token's secret.
    robots: HashMap<String, Option<String>>,
    /// Messages per robot in the current minute window.
    sent: HashMap<String, VecDeque<Instant>>,
    /// The most messages a robot takes a minute (both providers: 20).
    per_minute: usize,
    /// Statuses a webhook path answers before 2xx, in order.
    webhook_script: HashMap<String, VecDeque<u16>>,
    /// The SMS providers' accounts, approved signatures and templates, and sends.
    pub(crate) sms: SmsState,
}

/// The fake providers, on one local port.
#[derive(Clone, Debug)]
pub struct Fakes {
    pub addr: SocketAddr,
    /// Alibaba Cloud's SMS API (`POST /` with the parameters in the query).
    pub aliyun: SocketAddr,
    /// Tencent Cloud's SMS API (`POST /` with a JSON body).
    pub tencent: SocketAddr,
    pub(crate) shared: Arc<Mutex<Shared>>,
}

impl Fakes {
    /// Starts them.
    pub async fn start() -> Self {
        let shared = Arc::new(Mutex::new(Shared {
            per_minute: 20,
            ..Shared::default()
        }));
        let app = Router::new()
            .route("/cgi-bin/webhook/send", post(wecom))
            .route("/robot/send", post(dingtalk))
            .route("/hooks/{name}", post(hook))
            .with_state(shared.clone());
        let addr = serve(app).await;
        let aliyun = serve(
            Router::new()
                .route("/", post(crate::fakes_sms::aliyun))
                .with_state(shared.clone()),
        )
        .await;
        let tencent = serve(
            Router::new()
                .route("/", post(crate::fakes_sms::tencent))
                .with_state(shared.clone()),
        )
        .await;
        Self {
            addr,
            aliyun,
            tencent,
            shared,
        }
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A WeCom robot with `key`; its webhook URL.
    pub fn wecom_robot(&self, key: &str) -> String {
        self.lock().robots.insert(key.to_owned(), None);
        format!("http://{}/cgi-bin/webhook/send?key={key}", self.addr)
    }

    /// A DingTalk robot with `token` and signing `secret`; its webhook URL.
    pub fn dingtalk_robot(&self, token: &str, secret: &str) -> String {
        self.lock()
            .robots
            .insert(token.to_owned(), Some(secret.to_owned()));
        format!("http://{}/robot/send?access_token={token}", self.addr)
    }

    /// A webhook receiver at `name` answering `statuses` first, then 204.
    pub fn webhook(&self, name: &str, statuses: &[u16]) -> String {
        self.lock()
            .webhook_script
            .insert(name.to_owned(), statuses.iter().copied().collect());
        format!("http://{}/hooks/{name}", self.addr)
    }

    /// Sets how many messages a robot takes a minute.
    pub fn set_per_minute(&self, n: usize) {
        self.lock().per_minute = n;
    }

    /// What was accepted for `to`.
    pub fn received(&self, to: &str) -> Vec<Received> {
        self.lock()
            .accepted
            .iter()
            .filter(|r| r.to == to)
            .cloned()
            .collect()
    }
}

/// Serves `app` on a fresh local port.
async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn errcode(code: i64, message: &str) -> Response {
    // Both robots answer HTTP 200 with the error in the body.
    (
        StatusCode::OK,
        axum::Json(json!({"errcode": code, "errmsg": message})),
    )
        .into_response()
}

/// A robot's minute window: whether one more message fits.
fn admit(shared: &mut Shared, robot: &str) -> bool {
    let limit = shared.per_minute;
    let window = shared.sent.entry(robot.to_owned()).or_default();
    let now = Instant::now();
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
    {
        window.pop_front();
    }
    if window.len() >= limit {
        return false;
    }
    window.push_back(now);
    true
}

/// `POST /cgi-bin/webhook/send?key=…`, as WeCom documents its group robot.
async fn wecom(
    State(shared): State<Arc<Mutex<Shared>>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = q.get("key").cloned().unwrap_or_default();
    let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
    if !s.robots.contains_key(&key) {
        return errcode(93000, "invalid webhook url, hint: [1700000000_1_abc]");
    }
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return errcode(40035, "invalid parameter, hint: json body");
    };
    let content = match message["msgtype"].as_str() {
        Some("text") => message["text"]["content"].as_str(),
        Some("markdown") => message["markdown"]["content"].as_str(),
        _ => return errcode(40008, "invalid message type"),
    };
    match content {
        None | Some("") => return errcode(44004, "empty content"),
        Some(c) if c.len() > 2048 => return errcode(45002, "content size out of limit"),
        Some(_) => {}
    }
    if !admit(&mut s, &key) {
        return errcode(45009, "api freq out of limit");
    }
    s.accepted.push(Received {
        to: key,
        headers,
        body,
    });
    errcode(0, "ok")
}

/// `POST /robot/send?access_token=…&timestamp=…&sign=…`, as DingTalk documents its
/// custom robot with 加签: the sign is base64 HMAC-SHA256 of "timestamp\nsecret" under
/// the secret, and the timestamp within an hour of now.
async fn dingtalk(
    State(shared): State<Arc<Mutex<Shared>>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = q.get("access_token").cloned().unwrap_or_default();
    let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
    let Some(secret) = s.robots.get(&token).cloned() else {
        return errcode(300001, "token is not exist");
    };
    if let Some(secret) = secret {
        let timestamp: i64 = q.get("timestamp").and_then(|t| t.parse().ok()).unwrap_or(0);
        let now = chrono::Utc::now().timestamp_millis();
        let expected = {
            use hmac::Mac;
            let mut mac =
                hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("a key");
            mac.update(format!("{timestamp}\n{secret}").as_bytes());
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        };
        let fresh = (now - timestamp).abs() < 3_600_000;
        if !fresh || q.get("sign").map(String::as_str) != Some(expected.as_str()) {
            return errcode(
                310000,
                "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]",
            );
        }
    }
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return errcode(43004, "无效的HTTP HEADER Content-Type");
    };
    if message["msgtype"] != "text" && message["msgtype"] != "markdown" {
        return errcode(40035, "缺少参数 msgtype");
    }
    if !admit(&mut s, &token) {
        return errcode(130101, "send too fast, exceed 20 times per minute");
    }
    s.accepted.push(Received {
        to: token,
        headers,
        body,
    });
    errcode(0, "ok")
}

/// `POST /hooks/{name}`: answers its script's statuses first (with `Retry-After: 1`
/// on 429 and 503), then 204, recording what it accepted.
async fn hook(
    State(shared): State<Arc<Mutex<Shared>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(status) = s
        .webhook_script
        .get_mut(&name)
        .and_then(VecDeque::pop_front)
    {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return if matches!(status, 429 | 503) {
            (code, [("retry-after", "1")], "try later").into_response()
        } else {
            (code, "no").into_response()
        };
    }
    s.accepted.push(Received {
        to: name,
        headers,
        body,
    });
    StatusCode::NO_CONTENT.into_response()
}
