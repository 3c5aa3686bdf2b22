//! Open311 GeoReport v2 at `/open311/v2`, as a third-party client uses it: services
//! listed, a request filed with a key, found by its token and by its id, followed to
//! closure through `servicerequestupdates`; both formats of every answer (the XML read
//! with a real parser), the specification's error lists, the 90-day default and the
//! 1000 cap, two townships, and keys issued and revoked by the administrator.

use std::time::Duration;

use chrono::Utc;
use mashang_tests::browser::Browser;
use mashang_tests::{Client, Fixture, TestApp, TestEnv, eventually, seed_tenant};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

/// An answer read as text, with its status and content type.
struct Raw {
    status: StatusCode,
    content_type: String,
    text: String,
}

impl Raw {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("JSON ({e}): {}", self.text))
    }

    /// The XML document, after checking the declaration and the content type.
    fn xml(&self) -> roxmltree::Document<'_> {
        assert!(
            self.content_type.starts_with("text/xml"),
            "content type {}",
            self.content_type
        );
        assert!(
            self.text
                .starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
            "declaration: {}",
            self.text
        );
        roxmltree::Document::parse(&self.text)
            .unwrap_or_else(|e| panic!("XML ({e}): {}", self.text))
    }

    fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        self
    }
}

async fn read(response: reqwest::Response) -> Raw {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    Raw {
        status,
        content_type,
        text: response.text().await.expect("a body"),
    }
}

async fn get(client: &Client, path: &str) -> Raw {
    read(client.http.get(client.url(path)).send().await.expect("GET")).await
}

async fn post_form(client: &Client, path: &str, form: &[(&str, &str)]) -> Raw {
    read(
        client
            .http
            .post(client.url(path))
            .form(form)
            .send()
            .await
            .expect("POST"),
    )
    .await
}

/// The text of the child `name` of `node`.
fn child<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> &'a str {
    node.children()
        .find(|c| c.has_tag_name(name))
        .unwrap_or_else(|| panic!("no <{name}> in <{}>", node.tag_name().name()))
        .text()
        .unwrap_or("")
}

fn elements<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    node.children().filter(|c| c.has_tag_name(name)).collect()
}

/// Asserts the specification's error list in both formats, with `status`.
fn assert_errors(raw: &Raw, status: u16) {
    assert_eq!(raw.status.as_u16(), status, "body: {}", raw.text);
    if raw.content_type.starts_with("text/xml") {
        let doc = raw.xml();
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "errors");
        let errors = elements(root, "error");
        assert!(!errors.is_empty());
        for e in errors {
            assert_eq!(child(e, "code"), status.to_string());
            assert!(!child(e, "description").is_empty());
        }
    } else {
        let body = raw.json();
        let errors = body.as_array().expect("a list of errors");
        assert!(!errors.is_empty());
        for e in errors {
            assert_eq!(e["code"], status);
            assert!(e["description"].as_str().is_some_and(|d| !d.is_empty()));
        }
    }
}

/// The township administrator, signed in.
async fn admin(app: &TestApp, fx: &Fixture) -> Client {
    app.routing
        .signed_in(&fx.logins.admin, mashang_tests::PASSWORD)
        .await
}

/// A key issued through the admin API: (id, key).
async fn issue(admin: &Client, name: &str) -> (String, String) {
    let body = admin
        .post_json("/api/v1/admin/open311-keys", &json!({"name": name}))
        .await
        .expect(201)
        .body;
    (
        body["id"].as_str().expect("an id").to_owned(),
        body["key"].as_str().expect("a key").to_owned(),
    )
}

/// Files a `roads` request with `key`; returns the answer.
async fn file(app: &TestApp, key: &str, extra: &[(&str, &str)]) -> Raw {
    let mut form = vec![
        ("api_key", key),
        ("service_code", "roads"),
        ("description", "路面塌陷，有坑"),
        ("lat", "34.2611"),
        ("long", "108.9423"),
    ];
    form.extend_from_slice(extra);
    post_form(&app.intake, "/open311/v2/requests.json", &form).await
}

#[tokio::test]
async fn discovery_services_and_definitions_answer_in_json_and_xml() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "kaifa").await;
    let app = TestApp::monolith(&env).await;

    let discovery = get(&app.intake, "/open311/v2/discovery.json")
        .await
        .expect(200)
        .json();
    assert_eq!(
        discovery["endpoints"][0]["url"],
        "http://public.test/open311/v2"
    );
    assert_eq!(discovery["endpoints"][0]["type"], "production");
    let raw = get(&app.intake, "/open311/v2/discovery.xml")
        .await
        .expect(200);
    let doc = raw.xml();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "discovery");
    let endpoint = elements(
        root.children()
            .find(|c| c.has_tag_name("endpoints"))
            .expect("endpoints"),
        "endpoint",
    )[0];
    assert_eq!(
        child(endpoint, "specification"),
        "http://wiki.open311.org/GeoReport_v2"
    );
    let formats: Vec<&str> = elements(
        endpoint
            .children()
            .find(|c| c.has_tag_name("formats"))
            .expect("formats"),
        "format",
    )
    .into_iter()
    .filter_map(|f| f.text())
    .collect();
    assert_eq!(formats, ["text/xml", "application/json"]);

    // One township: jurisdiction_id may be left out, or given.
    let services = get(&app.intake, "/open311/v2/services.json")
        .await
        .expect(200)
        .json();
    let services = services.as_array().expect("a list");
    let roads = services
        .iter()
        .find(|s| s["service_code"] == "roads")
        .expect("the roads category");
    assert_eq!(roads["metadata"], false);
    assert_eq!(roads["type"], "realtime");
    assert!(
        roads["service_name"]
            .as_str()
            .is_some_and(|n| !n.is_empty())
    );
    let raw = get(
        &app.intake,
        &format!("/open311/v2/services.xml?jurisdiction_id={}", fx.code),
    )
    .await
    .expect(200);
    let doc = raw.xml();
    assert_eq!(doc.root_element().tag_name().name(), "services");
    let listed = elements(doc.root_element(), "service");
    assert_eq!(listed.len(), services.len());
    let codes: Vec<&str> = listed.iter().map(|s| child(*s, "service_code")).collect();
    assert!(codes.contains(&"roads"));
    assert_eq!(child(listed[0], "metadata"), "false");

    // A category an administrator switched off is no longer a service.
    let admin = admin(&app, &fx).await;
    admin
        .put_json(
            "/api/v1/admin/categories/roads",
            &json!({"name_zh": "道路", "name_en": "Roads", "active": false}),
        )
        .await
        .expect(200);
    let services = get(&app.intake, "/open311/v2/services.json")
        .await
        .expect(200)
        .json();
    assert!(
        !services
            .as_array()
            .expect("a list")
            .iter()
            .any(|s| s["service_code"] == "roads")
    );

    let definition = get(&app.intake, "/open311/v2/services/dispute.json")
        .await
        .expect(200)
        .json();
    assert_eq!(definition["service_code"], "dispute");
    assert_eq!(definition["attributes"], json!([]));
    let raw = get(&app.intake, "/open311/v2/services/dispute.xml")
        .await
        .expect(200);
    let doc = raw.xml();
    assert_eq!(doc.root_element().tag_name().name(), "service_definition");
    assert_eq!(child(doc.root_element(), "service_code"), "dispute");
    assert_errors(
        &get(&app.intake, "/open311/v2/services/roads.json").await,
        404,
    );
    assert_errors(
        &get(&app.intake, "/open311/v2/services/nothing.xml").await,
        404,
    );
    assert_errors(&get(&app.intake, "/open311/v2/services.csv").await, 404);
    assert_errors(&get(&app.intake, "/open311/v2/nothing.json").await, 404);
    assert_errors(
        &get(
            &app.intake,
            "/open311/v2/services.json?jurisdiction_id=nowhere",
        )
        .await,
        404,
    );
    app.stop().await;
}

/// The case of `number`, as the township centre sees it, once routing has it.
async fn case_of(centre: &Client, number: &str) -> Value {
    let id = mashang_tests::cases::case_id(centre, number).await;
    centre
        .get(&format!("/api/v1/cases/{id}"))
        .await
        .expect(200)
        .body
}

#[tokio::test]
async fn a_filed_request_is_found_by_token_and_id_and_followed_to_closure() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "liucun").await;
    let app = TestApp::monolith(&env).await;
    let admin = admin(&app, &fx).await;
    let (key_id, key) = issue(&admin, "12345热线").await;
    let before = Utc::now() - chrono::Duration::seconds(1);

    // List services, then file one.
    let services = get(&app.intake, "/open311/v2/services.json")
        .await
        .expect(200)
        .json();
    assert!(
        services
            .as_array()
            .expect("a list")
            .iter()
            .any(|s| s["service_code"] == "roads")
    );
    let filed = file(
        &app,
        &key,
        &[
            ("first_name", "三"),
            ("last_name", "张"),
            ("phone", "13912345678"),
            ("email", "zhang@example.cn"),
            ("device_id", "device-1"),
            ("account_id", "acct-9"),
            ("address_string", "新庄村东口"),
            ("media_url", "https://img.example.cn/hole.jpg"),
        ],
    )
    .await
    .expect(201)
    .json();
    let filed = &filed.as_array().expect("a list of one")[0];
    let number = filed["service_request_id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let token = filed["token"].as_str().expect("a token").to_owned();
    assert!(number.starts_with("LIUCUN-"), "{number}");
    assert!(filed["service_notice"].is_string());

    // The token leads to the id, in both formats.
    let found = get(
        &app.intake,
        &format!("/open311/v2/tokens/{token}.json?api_key={key}"),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(
        found,
        json!([{"service_request_id": number, "token": token}])
    );
    let raw = get(
        &app.intake,
        &format!("/open311/v2/tokens/{token}.xml?api_key={key}"),
    )
    .await
    .expect(200);
    let doc = raw.xml();
    assert_eq!(doc.root_element().tag_name().name(), "service_requests");
    let request = elements(doc.root_element(), "request")[0];
    assert_eq!(child(request, "service_request_id"), number);

    // By id: a list of one, open, with what was sent and nothing personal.
    let raw = get(
        &app.intake,
        &format!("/open311/v2/requests/{number}.json?api_key={key}"),
    )
    .await
    .expect(200);
    assert!(!raw.text.contains("13912345678") && !raw.text.contains("zhang@example.cn"));
    let one = raw.json();
    let one = one.as_array().expect("a list");
    assert_eq!(one.len(), 1);
    let r = &one[0];
    assert_eq!(r["service_request_id"], number);
    assert_eq!(r["status"], "open");
    assert_eq!(r["service_code"], "roads");
    assert_eq!(r["address"], "新庄村东口");
    assert_eq!(r["media_url"], "https://img.example.cn/hole.jpg");
    assert_eq!(r["lat"], 34.2611);
    assert_eq!(r["long"], 108.9423);
    assert_eq!(r["agency_responsible"], "liucun镇");
    assert!(
        r["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("路面塌陷，有坑"))
    );
    let requested =
        chrono::DateTime::parse_from_rfc3339(r["requested_datetime"].as_str().expect("a time"))
            .expect("a W3C date-time");
    assert!(requested.to_rfc3339().ends_with("+08:00"), "{requested}");
    assert!(requested >= before);
    let raw = get(
        &app.intake,
        &format!("/open311/v2/requests/{number}.xml?api_key={key}"),
    )
    .await
    .expect(200);
    let doc = raw.xml();
    let request = elements(doc.root_element(), "request")[0];
    assert_eq!(child(request, "status"), "open");
    assert_eq!(child(request, "long"), "108.9423");
    assert_eq!(child(request, "zipcode"), "");

    // Attributed to its integration; the contact details sealed like a citizen's phone.
    let mut owner = env.database.owner().await;
    let (channel, flags, last4, sealed): (String, Vec<String>, Option<String>, Option<Vec<u8>>) =
        sqlx::query_as(
            "SELECT channel, flags, contact_phone_last4, contact_phone_sealed FROM intake.reports \
             WHERE tenant_id = $1 AND tracking_number = $2",
        )
        .bind(fx.tenant.as_uuid())
        .bind(&number)
        .fetch_one(&mut owner)
        .await
        .expect("the report");
    assert_eq!(channel, "api");
    assert_eq!(flags, ["unplaced"]);
    assert_eq!(last4.as_deref(), Some("5678"));
    assert!(sealed.is_some_and(|s| !String::from_utf8_lossy(&s).contains("13912345678")));
    let (attributed, email): (uuid::Uuid, Vec<u8>) = sqlx::query_as(
        "SELECT o.key_id, o.email_sealed FROM intake.open311_requests o \
         JOIN intake.reports r ON r.id = o.report_id WHERE r.tracking_number = $1",
    )
    .bind(&number)
    .fetch_one(&mut owner)
    .await
    .expect("the attribution");
    assert_eq!(attributed.to_string(), key_id);
    assert!(!String::from_utf8_lossy(&email).contains("example.cn"));

    // The case waits in the township centre's triage (no grid area holds the point),
    // with the phone masked and the channel recorded.
    let centre = app
        .routing
        .signed_in(&fx.logins.centre, mashang_tests::PASSWORD)
        .await;
    let case = case_of(&centre, &number).await;
    assert_eq!(case["in_triage"], true, "{case}");
    assert_eq!(case["channel"], "api");
    assert_eq!(case["contact_name"], "张三");
    assert_eq!(case["contact_phone"], "139****5678");
    let case_id = case["id"].as_str().expect("an id").to_owned();
    let queue = Browser::new(&app.routing.base);
    let login = queue.get("/login").await.expect(200).csrf();
    queue
        .post(
            "/login",
            &[
                ("_csrf", login.as_str()),
                ("login", fx.logins.centre.as_str()),
                ("password", mashang_tests::PASSWORD),
            ],
        )
        .await
        .see_other();
    let page = queue.get("/console/queue").await.expect(200);
    assert!(page.has(&number) && page.has("接口 (Open311)"));

    // The centre dispatches; the worker calls back and resolves.
    let act = |client: Client, action: &'static str, body: Value| {
        let case_id = case_id.clone();
        async move {
            client
                .post_json(&format!("/api/v1/cases/{case_id}/{action}"), &body)
                .await
                .expect(200);
        }
    };
    act(centre.clone(), "dispatch", json!({"to": fx.worker})).await;
    let worker = app
        .routing
        .signed_in(&fx.logins.worker, mashang_tests::PASSWORD)
        .await;
    act(
        worker.clone(),
        "acknowledge",
        json!({"contacted_at": Utc::now(), "method": "phone", "summary": "已电话联系"}),
    )
    .await;
    act(worker, "resolve", json!({"measures": "已回填路面"})).await;

    // The request shows closed, and the updates name each step up to it.
    eventually("the request to show closed", WAIT, || async {
        let list = get(
            &app.intake,
            &format!("/open311/v2/requests.json?api_key={key}&status=closed"),
        )
        .await
        .expect(200)
        .json();
        list.as_array()?
            .iter()
            .any(|r| r["service_request_id"] == number.as_str())
            .then_some(())
    })
    .await;
    let start = before.to_rfc3339();
    let updates = get(
        &app.intake,
        &format!(
            "/open311/v2/servicerequestupdates.json?api_key={key}&start_date={}",
            urlencode(&start)
        ),
    )
    .await
    .expect(200)
    .json();
    let updates = updates.as_array().expect("a list");
    let mine: Vec<&Value> = updates
        .iter()
        .filter(|u| u["service_request_id"] == number.as_str())
        .collect();
    assert!(
        mine.len() >= 3,
        "assigned, contacted, resolved: {updates:?}"
    );
    let last = mine.last().expect("an update");
    assert_eq!(last["status"], "closed");
    assert!(
        last["description"]
            .as_str()
            .is_some_and(|d| d.contains("已办结"))
    );
    let ids: std::collections::HashSet<&str> = mine
        .iter()
        .filter_map(|u| u["update_id"].as_str())
        .collect();
    assert_eq!(ids.len(), mine.len(), "update ids are unique");
    assert!(mine.iter().all(|u| u["status"] == "open" || u == last));
    // The same in FixMyStreet's XML.
    let raw = get(
        &app.intake,
        &format!(
            "/open311/v2/servicerequestupdates.xml?api_key={key}&start_date={}&end_date={}",
            urlencode(&start),
            urlencode(&(Utc::now() + chrono::Duration::minutes(1)).to_rfc3339())
        ),
    )
    .await
    .expect(200);
    let doc = raw.xml();
    assert_eq!(
        doc.root_element().tag_name().name(),
        "service_requests_updates"
    );
    let xml_updates = elements(doc.root_element(), "request_update");
    let closed = xml_updates
        .iter()
        .filter(|u| child(**u, "service_request_id") == number && child(**u, "status") == "closed")
        .count();
    assert_eq!(closed, 1);
    for u in &xml_updates {
        for name in ["update_id", "updated_datetime", "description", "media_url"] {
            child(*u, name);
        }
    }
    assert_errors(
        &get(
            &app.intake,
            &format!("/open311/v2/servicerequestupdates.json?api_key={key}"),
        )
        .await,
        400,
    );
    app.stop().await;
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn bad_requests_are_refused_in_the_specifications_error_lists() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "cuowu").await;
    let app = TestApp::monolith(&env).await;
    let admin = admin(&app, &fx).await;
    let (_, key) = issue(&admin, "县平台").await;

    // No key, a wrong key: 403, in the format asked for.
    for path in ["/open311/v2/requests.json", "/open311/v2/requests.xml"] {
        let raw = post_form(
            &app.intake,
            path,
            &[
                ("service_code", "roads"),
                ("description", "x"),
                ("lat", "34"),
                ("long", "108"),
            ],
        )
        .await;
        assert_errors(&raw, 403);
        let raw = post_form(
            &app.intake,
            path,
            &[
                ("api_key", "mso_wrong"),
                ("service_code", "roads"),
                ("description", "x"),
                ("lat", "34"),
                ("long", "108"),
            ],
        )
        .await;
        assert_errors(&raw, 403);
    }
    assert_errors(&get(&app.intake, "/open311/v2/requests.json").await, 403);
    assert_errors(
        &get(&app.intake, "/open311/v2/requests.xml?api_key=nope").await,
        403,
    );

    // Each bad field: 400, naming it.
    let long_text = "很".repeat(1501);
    let long_url = format!("https://e.cn/{}", "a".repeat(300));
    let cases: [(&[(&str, &str)], &str); 9] = [
        (&[("service_code", "")], "service_code"),
        (&[("service_code", "flying_cars")], "service_code"),
        (&[("lat", "91")], "lat"),
        (&[("long", "abc")], "long"),
        (&[("description", long_text.as_str())], "description"),
        (&[("media_url", "javascript:alert(1)")], "media_url"),
        (&[("media_url", long_url.as_str())], "media_url"),
        (&[("phone", "12345")], "phone"),
        (&[("email", "not an address")], "email"),
    ];
    for (change, field) in cases {
        let mut form: Vec<(&str, &str)> = vec![
            ("api_key", key.as_str()),
            ("service_code", "roads"),
            ("description", "路灯不亮"),
            ("lat", "34.1"),
            ("long", "108.2"),
        ];
        for (name, value) in change {
            form.retain(|(n, _)| n != name);
            form.push((name, value));
        }
        let raw = post_form(&app.intake, "/open311/v2/requests.json", &form).await;
        assert_errors(&raw, 400);
        assert!(raw.text.contains(field), "{field}: {}", raw.text);
    }
    // Neither a point nor an address.
    let raw = post_form(
        &app.intake,
        "/open311/v2/requests.xml",
        &[
            ("api_key", key.as_str()),
            ("service_code", "roads"),
            ("description", "路灯不亮"),
        ],
    )
    .await;
    assert_errors(&raw, 400);
    // An address alone is a place.
    let raw = post_form(
        &app.intake,
        "/open311/v2/requests.xml",
        &[
            ("api_key", key.as_str()),
            ("service_code", "roads"),
            ("description", "路灯不亮"),
            ("address_string", "镇政府门口"),
        ],
    )
    .await
    .expect(201);
    let doc = raw.xml();
    assert_eq!(doc.root_element().tag_name().name(), "service_requests");
    let request = elements(doc.root_element(), "request")[0];
    assert!(!child(request, "service_request_id").is_empty());
    assert_eq!(child(request, "account_id"), "");
    // Not a form; a body over the limit.
    let raw = read(
        app.intake
            .http
            .post(app.intake.url("/open311/v2/requests.json"))
            .json(&json!({"api_key": key}))
            .send()
            .await
            .expect("POST"),
    )
    .await;
    assert_errors(&raw, 400);
    let huge = "a".repeat(30 * 1024);
    let raw = post_form(
        &app.intake,
        "/open311/v2/requests.json",
        &[("api_key", key.as_str()), ("description", huge.as_str())],
    )
    .await;
    assert_errors(&raw, 413);
    assert!(raw.text.contains("24 KiB"), "{}", raw.text);

    // Reads: unknown ids and tokens, bad dates, spans, lists and statuses.
    let k = format!("api_key={key}");
    assert_errors(
        &get(
            &app.intake,
            &format!("/open311/v2/requests/CUOWU-20260101-0001.json?{k}"),
        )
        .await,
        404,
    );
    assert_errors(
        &get(&app.intake, &format!("/open311/v2/requests/x.xml?{k}")).await,
        404,
    );
    assert_errors(
        &get(
            &app.intake,
            &format!("/open311/v2/tokens/{}.json?{k}", uuid::Uuid::now_v7()),
        )
        .await,
        404,
    );
    assert_errors(
        &get(&app.intake, &format!("/open311/v2/tokens/nothing.xml?{k}")).await,
        404,
    );
    assert_errors(
        &get(
            &app.intake,
            &format!("/open311/v2/requests.json?{k}&start_date=2026-12-01T00:00:00"),
        )
        .await,
        400,
    );
    assert_errors(&get(&app.intake, &format!("/open311/v2/requests.json?{k}&start_date=2026-01-01T00:00:00Z&end_date=2026-12-01T00:00:00Z")).await, 400);
    assert_errors(&get(&app.intake, &format!("/open311/v2/requests.json?{k}&start_date=2026-12-02T00:00:00Z&end_date=2026-12-01T00:00:00Z")).await, 400);
    assert_errors(
        &get(
            &app.intake,
            &format!("/open311/v2/requests.json?{k}&status=pending"),
        )
        .await,
        400,
    );
    let ids = vec!["X"; 101].join(",");
    assert_errors(
        &get(
            &app.intake,
            &format!("/open311/v2/requests.xml?{k}&service_request_id={ids}"),
        )
        .await,
        400,
    );
    app.stop().await;
}

#[tokio::test]
async fn revoked_keys_are_refused_and_requests_keep_their_integration() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "miyao").await;
    let app = TestApp::monolith(&env).await;
    let admin = admin(&app, &fx).await;
    let (hotline_id, hotline) = issue(&admin, "12345热线").await;
    let (county_id, county) = issue(&admin, "县平台").await;
    assert_ne!(hotline, county);
    assert!(hotline.starts_with("mso_"));

    let a = file(&app, &hotline, &[]).await.expect(201).json()[0]["service_request_id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let b = file(&app, &county, &[]).await.expect(201).json()[0]["service_request_id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let mut owner = env.database.owner().await;
    for (number, key_id) in [(&a, &hotline_id), (&b, &county_id)] {
        let (attributed,): (uuid::Uuid,) = sqlx::query_as(
            "SELECT o.key_id FROM intake.open311_requests o JOIN intake.reports r ON r.id = o.report_id \
             WHERE r.tracking_number = $1",
        )
        .bind(number)
        .fetch_one(&mut owner)
        .await
        .expect("an attribution");
        assert_eq!(&attributed.to_string(), key_id);
    }

    // The list names both, shows no key, and only to the administrator.
    let listed = admin.get("/api/v1/admin/open311-keys").await.expect(200);
    let text = listed.body.to_string();
    assert!(!text.contains(&hotline) && !text.contains(&county) && !text.contains("key_hash"));
    assert_eq!(listed.body.as_array().map(Vec::len), Some(2));
    assert!(
        listed
            .body
            .as_array()
            .expect("a list")
            .iter()
            .any(|k| k["last_used_at"].is_string())
    );
    let worker = app
        .routing
        .signed_in(&fx.logins.worker, mashang_tests::PASSWORD)
        .await;
    worker
        .get("/api/v1/admin/open311-keys")
        .await
        .expect_problem(403);
    worker
        .post_json("/api/v1/admin/open311-keys", &json!({"name": "x"}))
        .await
        .expect_problem(403);
    admin
        .post_json("/api/v1/admin/open311-keys", &json!({"name": ""}))
        .await
        .expect_problem(422);
    admin
        .post_json(
            "/api/v1/admin/open311-keys",
            &json!({"name": "名".repeat(61)}),
        )
        .await
        .expect_problem(422);

    // Revoked: refused at once for filing and reading; the other key still works, and
    // the revoked key's requests keep naming it.
    let revoked = admin
        .http
        .delete(admin.url(&format!("/api/v1/admin/open311-keys/{hotline_id}")))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(revoked.status(), 204);
    assert_errors(&file(&app, &hotline, &[]).await, 403);
    assert_errors(
        &get(
            &app.intake,
            &format!("/open311/v2/requests/{a}.json?api_key={hotline}"),
        )
        .await,
        403,
    );
    get(
        &app.intake,
        &format!("/open311/v2/requests/{a}.json?api_key={county}"),
    )
    .await
    .expect(200);
    file(&app, &county, &[]).await.expect(201);
    let listed = admin
        .get("/api/v1/admin/open311-keys")
        .await
        .expect(200)
        .body;
    let revoked = listed
        .as_array()
        .expect("a list")
        .iter()
        .find(|k| k["id"] == hotline_id.as_str())
        .expect("the revoked key");
    assert!(revoked["revoked_at"].is_string());
    // Issuing and revoking are in the township's change log, the hash hidden.
    let log = admin
        .get("/api/v1/admin/audit?entity=open311_keys")
        .await
        .expect(200)
        .body;
    let entries = log["entries"].as_array().expect("entries");
    assert!(
        entries
            .iter()
            .any(|e| e["operation"] == "insert" && e["entity_key"] == "12345热线")
    );
    assert!(
        entries
            .iter()
            .any(|e| e["operation"] == "update" && e["entity_key"] == "12345热线")
    );
    assert!(!log.to_string().contains(&hotline));
    assert!(
        entries
            .iter()
            .all(|e| e["after"]["key_hash"] == "***" || e["after"].is_null())
    );
    let gone = admin
        .http
        .delete(admin.url(&format!(
            "/api/v1/admin/open311-keys/{}",
            uuid::Uuid::now_v7()
        )))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(gone.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn two_townships_each_answer_for_their_own() {
    let env = TestEnv::new().await;
    let a = seed_tenant(env.db(), "dongxiang").await;
    let b = seed_tenant(env.db(), "xixiang").await;
    let app = TestApp::monolith(&env).await;
    let (_, key_a) = issue(&admin(&app, &a).await, "热线").await;
    let (_, key_b) = issue(&admin(&app, &b).await, "热线").await;

    // Several townships: the jurisdiction must be named.
    assert_errors(&get(&app.intake, "/open311/v2/services.json").await, 400);
    assert_errors(&get(&app.intake, "/open311/v2/services.xml").await, 400);
    assert_errors(&file(&app, &key_a, &[]).await, 400);
    get(
        &app.intake,
        "/open311/v2/services.json?jurisdiction_id=xixiang",
    )
    .await
    .expect(200);

    let filed = file(&app, &key_a, &[("jurisdiction_id", "dongxiang")])
        .await
        .expect(201)
        .json();
    let number = filed[0]["service_request_id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let token = filed[0]["token"].as_str().expect("a token").to_owned();
    // A's key is no key in B, and B's jurisdiction does not hold A's request.
    assert_errors(
        &file(&app, &key_a, &[("jurisdiction_id", "xixiang")]).await,
        403,
    );
    assert_errors(
        &get(
            &app.intake,
            &format!("/open311/v2/requests/{number}.json?jurisdiction_id=xixiang&api_key={key_a}"),
        )
        .await,
        403,
    );
    assert_errors(
        &get(
            &app.intake,
            &format!("/open311/v2/requests/{number}.json?jurisdiction_id=xixiang&api_key={key_b}"),
        )
        .await,
        404,
    );
    assert_errors(
        &get(
            &app.intake,
            &format!("/open311/v2/tokens/{token}.json?jurisdiction_id=xixiang&api_key={key_b}"),
        )
        .await,
        404,
    );
    let listed = get(
        &app.intake,
        &format!("/open311/v2/requests.json?jurisdiction_id=xixiang&api_key={key_b}"),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(listed, json!([]));
    let listed = get(
        &app.intake,
        &format!("/open311/v2/requests.json?jurisdiction_id=dongxiang&api_key={key_a}"),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(listed[0]["service_request_id"], number);
    assert_eq!(listed[0]["agency_responsible"], "dongxiang镇");
    app.stop().await;
}

#[tokio::test]
async fn listing_defaults_to_ninety_days_and_stops_at_a_thousand() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "qianjian").await;
    let app = TestApp::monolith(&env).await;
    let (_, key) = issue(&admin(&app, &fx).await, "热线").await;
    // 1005 reports of the last days (one closed of every five), and three of 100 days ago.
    let mut owner = env.database.owner().await;
    sqlx::query(
        "INSERT INTO intake.reports (id, tenant_id, tracking_number, status_secret_hash, grid_node_id, \
             category, description, channel, status, submitted_at, updated_at) \
         SELECT gen_random_uuid(), $1, 'QIANJIAN-BULK-' || i, '\\x00'::bytea, $2, 'roads', '路灯', 'qr', \
             CASE WHEN i % 5 = 0 THEN 'closed' ELSE 'assigned' END, \
             now() - i * interval '1 minute', now() - i * interval '1 minute' \
         FROM generate_series(1, 1005) AS i \
         UNION ALL \
         SELECT gen_random_uuid(), $1, 'QIANJIAN-OLD-' || i, '\\x00'::bytea, $2, 'dispute', '纠纷', 'qr', 'closed', \
             now() - interval '100 days', now() - interval '100 days' \
         FROM generate_series(1, 3) AS i",
    )
    .bind(fx.tenant.as_uuid())
    .bind(fx.grid.as_uuid())
    .execute(&mut owner)
    .await
    .expect("arranging the reports");

    let all = get(
        &app.intake,
        &format!("/open311/v2/requests.json?api_key={key}"),
    )
    .await
    .expect(200)
    .json();
    let all = all.as_array().expect("a list");
    assert_eq!(all.len(), 1000);
    assert_eq!(
        all[0]["service_request_id"], "QIANJIAN-BULK-1",
        "newest first"
    );
    assert!(all.iter().all(|r| r["service_code"] == "roads"));
    let raw = get(
        &app.intake,
        &format!("/open311/v2/requests.xml?api_key={key}"),
    )
    .await
    .expect(200);
    assert_eq!(elements(raw.xml().root_element(), "request").len(), 1000);

    let closed = get(
        &app.intake,
        &format!("/open311/v2/requests.json?api_key={key}&status=closed"),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(closed.as_array().map(Vec::len), Some(201));
    let open = get(
        &app.intake,
        &format!("/open311/v2/requests.json?api_key={key}&status=open&service_code=roads"),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(open.as_array().map(Vec::len), Some(804));
    let none = get(
        &app.intake,
        &format!("/open311/v2/requests.json?api_key={key}&service_code=dispute"),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(none, json!([]), "100 days ago is outside the default span");

    // Asked for, the old ones are there; by id too, whatever the dates.
    let from = (Utc::now() - chrono::Duration::days(120)).to_rfc3339();
    let until = (Utc::now() - chrono::Duration::days(95)).to_rfc3339();
    let old = get(
        &app.intake,
        &format!(
            "/open311/v2/requests.json?api_key={key}&start_date={}&end_date={}",
            urlencode(&from),
            urlencode(&until)
        ),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(old.as_array().map(Vec::len), Some(3));
    assert!(
        old.as_array()
            .expect("a list")
            .iter()
            .all(|r| r["status"] == "closed")
    );
    let picked = get(
        &app.intake,
        &format!("/open311/v2/requests.json?api_key={key}&service_request_id=QIANJIAN-OLD-1,QIANJIAN-BULK-7,NOPE"),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(picked.as_array().map(Vec::len), Some(2));
    app.stop().await;
}

#[tokio::test]
async fn the_administrator_issues_and_revokes_keys_on_the_page() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "yemian").await;
    let app = TestApp::monolith(&env).await;
    let b = Browser::new(&app.routing.base);
    let login = b.get("/login").await.expect(200).csrf();
    b.post(
        "/login",
        &[
            ("_csrf", login.as_str()),
            ("login", fx.logins.admin.as_str()),
            ("password", mashang_tests::PASSWORD),
        ],
    )
    .await
    .see_other();
    let home = b.get("/admin").await.expect(200);
    assert!(home.has("/admin/open311-keys"));
    let page = b.get("/admin/open311-keys").await.expect(200);
    assert!(page.has("接口密钥") && page.has("还没有密钥"));
    let csrf = page.csrf();
    let refused = b
        .post(
            "/admin/open311-keys",
            &[("_csrf", csrf.as_str()), ("name", "  ")],
        )
        .await
        .expect(422);
    assert!(refused.has("没有生成"));
    let issued = b
        .post(
            "/admin/open311-keys",
            &[("_csrf", csrf.as_str()), ("name", "12345热线")],
        )
        .await
        .expect(200);
    assert!(issued.has("离开本页后不会再显示"));
    let key = issued
        .html
        .split("id=\"issued-key\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the key on the page")
        .to_owned();
    assert!(key.starts_with("mso_"));
    file(&app, &key, &[]).await.expect(201);
    // Shown once: the list has the name, never the key.
    let page = b.get("/admin/open311-keys").await.expect(200);
    assert!(page.has("12345热线") && !page.has(&key));
    let id = page
        .html
        .split("/admin/open311-keys/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("a revoke form")
        .to_owned();
    let back = b
        .post(
            &format!("/admin/open311-keys/{id}/revoke"),
            &[("_csrf", csrf.as_str())],
        )
        .await
        .see_other();
    assert_eq!(back, "/admin/open311-keys?ok=revoked");
    assert!(b.get(&back).await.expect(200).has("已停用"));
    assert_errors(&file(&app, &key, &[]).await, 403);
    // A grid worker may not open the page.
    let w = Browser::new(&app.routing.base);
    let login = w.get("/login").await.expect(200).csrf();
    w.post(
        "/login",
        &[
            ("_csrf", login.as_str()),
            ("login", fx.logins.worker.as_str()),
            ("password", mashang_tests::PASSWORD),
        ],
    )
    .await
    .see_other();
    w.get("/admin/open311-keys").await.expect(403);
    app.stop().await;
}
