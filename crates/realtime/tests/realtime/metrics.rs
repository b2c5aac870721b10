//! `/metrics`: one declaration per family (what OpenMetrics parsers require), the bearer token,
//! and serving it on a listen address of its own.

use parley_realtime::{config::Secret, Realtime};

use crate::support::*;

/// The metric family names declared by `# TYPE` lines, in order.
fn declared_families(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split(' ').next())
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn every_family_is_declared_once_in_openmetrics_text() {
    let server = TestServer::default().await;
    let mut client = server.connect().await;
    client.subscribe("news").await;
    server.publish("news", "e", "1").await;
    let response = reqwest_client()
        .get(server.http("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    let mut families = declared_families(&text);
    let declared = families.len();
    families.sort();
    families.dedup();
    assert_eq!(
        families.len(),
        declared,
        "a family is declared twice:\n{text}"
    );
    assert!(
        text.contains(&format!(
            "parley_realtime_connections{{app=\"{APP_ID}\"}} 1"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "parley_realtime_connections_accepted_total{{app=\"{APP_ID}\"}} 1"
        )),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[tokio::test]
async fn a_metrics_token_refuses_requests_without_it() {
    let mut config = config_with(app());
    config.metrics_token = Some(Secret("s3cret-token".into()));
    let server = TestServer::start(config).await;
    let http = reqwest_client();
    let url = server.http("/metrics");
    let anonymous = http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    for wrong in [
        "Bearer s3cret-tokeN",
        "Bearer s3cret-token-and-more",
        "s3cret-token",
    ] {
        let refused = http
            .get(&url)
            .header("authorization", wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401, "{wrong}");
    }
    let allowed = http
        .get(&url)
        .bearer_auth("s3cret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    assert!(allowed.text().await.unwrap().contains("parley_realtime_"));
    // Health and the protocol are not behind the token.
    assert_eq!(
        http.get(server.http("/up")).send().await.unwrap().status(),
        200
    );
    server.connect().await;
}

#[tokio::test]
async fn metrics_on_a_separate_listener_are_not_on_the_main_port() {
    let mut config = config_with(app());
    config.metrics_separate = true;
    config.metrics_token = Some(Secret("ops".into()));
    let realtime = Realtime::new(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_addr = listener.local_addr().unwrap();
    let metrics = realtime.clone();
    tokio::spawn(async move {
        metrics
            .serve_metrics(listener, std::future::pending())
            .await
            .unwrap()
    });
    let server = TestServer::serve(realtime).await;
    let http = reqwest_client();
    let main = http
        .get(server.http("/metrics"))
        .bearer_auth("ops")
        .send()
        .await
        .unwrap();
    assert_eq!(main.status(), 404);
    let url = format!("http://{metrics_addr}/metrics");
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    let text = http
        .get(&url)
        .bearer_auth("ops")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("parley_realtime_connections"), "{text}");
    let elsewhere = http
        .get(format!("http://{metrics_addr}/up"))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 404);
}
