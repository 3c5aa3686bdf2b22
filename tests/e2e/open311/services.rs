//! Discovery, services and service definitions, in both formats.

use super::*;

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
