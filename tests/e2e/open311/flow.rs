//! A request filed, found by its token and id, and followed to closure.

use super::*;

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
