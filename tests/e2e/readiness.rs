//! Health, readiness and metrics.

use mashang::{BusConfig, Components, StorageConfig};
use mashang_tests::{Client, TestEnv};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_on_their_own_listener() {
    let env = TestEnv::new().await;
    let mut config = env.app_config(
        Components::ALL,
        BusConfig::InProcess,
        StorageConfig::Local(env.dir.path().join("blobs")),
    );
    config.metrics_listen = Some("127.0.0.1:0".parse().expect("an address"));
    let running = mashang::start(config).await.expect("starting");
    let client = Client::new(running.base_url());
    client.wait_ready().await;
    client.get("/api/v1/qr/nothing").await.expect(404);
    let metrics = Client::new(format!(
        "http://{}",
        running.metrics_addr.expect("a metrics listener")
    ));
    let page = metrics.get("/metrics").await.expect(200);
    let text = page.body.as_str().expect("text").to_owned();
    assert!(
        text.contains("mashang_http_requests_total")
            && text.contains("route=\"/api/v1/qr/{token}\""),
        "requests are counted by matched route: {text}"
    );
    client.get("/metrics").await.expect(404);
    running.stop().await.expect("a clean shutdown");
}
