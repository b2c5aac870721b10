//! The HTTP API: signatures, validation, channel queries, batches.

use serde_json::json;

use crate::support::*;

fn events_path() -> String {
    format!("/apps/{APP_ID}/events")
}

#[tokio::test]
async fn signatures_are_checked() {
    let server = TestServer::default().await;
    let body = Some(json!({"name": "e", "channel": "c", "data": "x"}));
    let (status, _) = server
        .api_as(
            KEY,
            "wrong-secret",
            "POST",
            &events_path(),
            &[],
            body.clone(),
            now(),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = server
        .api_as(
            "wrong-key",
            SECRET,
            "POST",
            &events_path(),
            &[],
            body.clone(),
            now(),
        )
        .await;
    assert_eq!(status, 401);
    let (status, error) = server
        .api_as(
            KEY,
            SECRET,
            "POST",
            &events_path(),
            &[],
            body.clone(),
            now() - 601,
        )
        .await;
    assert_eq!(status, 401);
    assert!(error["error"].as_str().unwrap().contains("600"), "{error}");
    let (status, _) = server
        .api_as(
            KEY,
            SECRET,
            "POST",
            &events_path(),
            &[],
            body.clone(),
            now() - 599,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = server
        .api("POST", "/apps/999/events", &[], body.clone())
        .await;
    assert_eq!(status, 404);
    // Unsigned.
    let response = reqwest_client()
        .post(server.http(&events_path()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn a_tampered_body_fails_the_md5_check() {
    let server = TestServer::default().await;
    let body = serde_json::to_vec(&json!({"name": "e", "channel": "c", "data": "x"})).unwrap();
    let params = parley_protocol::signature::sign_api_request(
        KEY,
        SECRET,
        "POST",
        &events_path(),
        &[],
        &body,
        now(),
    );
    let url = format!("{}?{}", server.http(&events_path()), form_query(&params));
    let tampered = serde_json::to_vec(&json!({"name": "e", "channel": "c", "data": "y"})).unwrap();
    let response = reqwest_client()
        .post(url)
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn event_limits_are_enforced_and_nothing_is_half_published() {
    let server = TestServer::default().await;
    let mut client = server.connect().await;
    client.subscribe("c0").await;
    let big = "x".repeat(10 * 1024 + 1);
    let (status, _) = server
        .api(
            "POST",
            &events_path(),
            &[],
            Some(json!({"name": "e", "channel": "c0", "data": big})),
        )
        .await;
    assert_eq!(status, 413);
    let channels: Vec<String> = (0..101).map(|i| format!("c{i}")).collect();
    let (status, _) = server
        .api(
            "POST",
            &events_path(),
            &[],
            Some(json!({"name": "e", "channels": channels, "data": "x"})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = server
        .api(
            "POST",
            &events_path(),
            &[],
            Some(json!({"name": "e", "channels": ["c0", "bad name"], "data": "x"})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = server
        .api(
            "POST",
            &events_path(),
            &[],
            Some(json!({"name": "e", "channel": "c0", "data": "x", "socket_id": "nope"})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = server
        .api("POST", &events_path(), &[], Some(json!({"nonsense": true})))
        .await;
    assert_eq!(status, 400);
    // A batch with one bad event publishes none of them.
    let batch = json!({"batch": [
        {"name": "ok", "channel": "c0", "data": "1"},
        {"name": "bad", "channel": "bad name", "data": "2"},
    ]});
    let (status, _) = server
        .api(
            "POST",
            &format!("/apps/{APP_ID}/batch_events"),
            &[],
            Some(batch),
        )
        .await;
    assert_eq!(status, 400);
    let eleven: Vec<_> = (0..11)
        .map(|i| json!({"name": "e", "channel": "c0", "data": i.to_string()}))
        .collect();
    let (status, _) = server
        .api(
            "POST",
            &format!("/apps/{APP_ID}/batch_events"),
            &[],
            Some(json!({"batch": eleven})),
        )
        .await;
    assert_eq!(status, 400);
    // An `info` the server cannot answer refuses the whole batch before anything goes out.
    for info in ["user_count", "nonsense"] {
        let batch = json!({"batch": [
            {"name": "ok", "channel": "c0", "data": "1"},
            {"name": "asks", "channel": "c0", "data": "2", "info": info},
        ]});
        let (status, body) = server
            .api(
                "POST",
                &format!("/apps/{APP_ID}/batch_events"),
                &[],
                Some(batch),
            )
            .await;
        assert_eq!(status, 400, "{info}: {body}");
    }
    assert!(
        client.sync().await.is_empty(),
        "a refused request published something"
    );
}

#[tokio::test]
async fn batches_publish_every_event_in_order() {
    let server = TestServer::default().await;
    let mut client = server.connect().await;
    client.subscribe("a").await;
    client.subscribe("b").await;
    let batch = json!({"batch": [
        {"name": "one", "channel": "a", "data": "1"},
        {"name": "two", "channel": "b", "data": "2"},
        {"name": "three", "channel": "a", "data": "3", "info": "subscription_count"},
    ]});
    let (status, body) = server
        .api(
            "POST",
            &format!("/apps/{APP_ID}/batch_events"),
            &[],
            Some(batch),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["batch"][2]["subscription_count"], 1);
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(client.recv().await["event"].as_str().unwrap().to_string());
    }
    assert_eq!(got, ["one", "two", "three"]);
}

#[tokio::test]
async fn channel_queries_report_occupancy_and_members() {
    let server = TestServer::default().await;
    let mut ann = server.connect().await;
    ann.subscribe("news").await;
    ann.subscribe_presence("presence-room", "ann").await;
    let mut ann_tab = server.connect().await;
    ann_tab.subscribe_presence("presence-room", "ann").await;

    let (status, all) = server
        .api("GET", &format!("/apps/{APP_ID}/channels"), &[], None)
        .await;
    assert_eq!(status, 200);
    let names: std::collections::BTreeSet<_> = all["channels"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        names,
        ["news".to_string(), "presence-room".to_string()].into()
    );

    let (status, presence) = server
        .api(
            "GET",
            &format!("/apps/{APP_ID}/channels"),
            &[("filter_by_prefix", "presence-"), ("info", "user_count")],
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        presence,
        json!({"channels": {"presence-room": {"user_count": 1}}})
    );
    let (status, _) = server
        .api(
            "GET",
            &format!("/apps/{APP_ID}/channels"),
            &[("info", "user_count")],
            None,
        )
        .await;
    assert_eq!(status, 400, "user_count needs a presence- filter");

    let (_, info) = server
        .api(
            "GET",
            &format!("/apps/{APP_ID}/channels/presence-room"),
            &[("info", "user_count,subscription_count")],
            None,
        )
        .await;
    assert_eq!(
        info,
        json!({"occupied": true, "user_count": 1, "subscription_count": 2})
    );
    let (_, empty) = server
        .api("GET", &format!("/apps/{APP_ID}/channels/empty"), &[], None)
        .await;
    assert_eq!(empty, json!({"occupied": false}));
    let (status, _) = server
        .api(
            "GET",
            &format!("/apps/{APP_ID}/channels/news/users"),
            &[],
            None,
        )
        .await;
    assert_eq!(status, 400);
    let (_, users) = server
        .api(
            "GET",
            &format!("/apps/{APP_ID}/channels/presence-room/users"),
            &[],
            None,
        )
        .await;
    assert_eq!(users, json!({"users": [{"id": "ann"}]}));
}

#[tokio::test]
async fn python_style_get_with_body_md5_is_accepted() {
    let server = TestServer::default().await;
    let md5 = parley_protocol::signature::body_md5(b"");
    let (status, body) = server
        .api(
            "GET",
            &format!("/apps/{APP_ID}/channels"),
            &[("body_md5", &md5)],
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn publishing_in_process_to_an_unknown_app_says_so() {
    let realtime = parley_realtime::Realtime::new(config_with(app())).unwrap();
    let error = realtime
        .publish("404404", &["news".to_string()], "e", "{}".into(), None)
        .unwrap_err();
    assert_eq!(
        error,
        parley_realtime::PublishError::UnknownApp("404404".into())
    );
    assert_eq!(error.status(), 404);
    assert_eq!(error.to_string(), "unknown app \"404404\"");
}

#[tokio::test]
async fn a_path_that_cannot_be_decoded_gets_a_json_error() {
    let server = TestServer::default().await;
    // %FF is not UTF-8 once decoded: refused as this API refuses anything, in JSON.
    for path in [
        "channels/%FF",
        "channels/presence-%FF/users",
        "users/%FF/terminate_connections",
    ] {
        let method = if path.ends_with("terminate_connections") {
            "POST"
        } else {
            "GET"
        };
        let (status, body) = server
            .api(method, &format!("/apps/{APP_ID}/{path}"), &[], None)
            .await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body["error"].is_string(), "{path}: {body}");
    }
}
