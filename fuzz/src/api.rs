//! The realtime server's HTTP API (`/apps/{id}/…`), driven through its real router in the
//! fuzzing process: the query is parsed and the signature checked by the server's own extractor.
//! With `sign` set the request is signed with the app's secret (as an SDK would), so the fuzzer
//! reaches the handlers' body and `info` parsing.

use std::sync::OnceLock;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
    Router,
};
use parley_protocol::signature;
use parley_realtime::{AppConfig, Realtime, RealtimeConfig};
use serde_json::Value;
use tower::ServiceExt as _;

const APP_ID: &str = "1";
const KEY: &str = "fuzz-key";
const SECRET: &str = "fuzz-secret";

struct Api {
    runtime: tokio::runtime::Runtime,
    router: Router,
}

fn api() -> &'static Api {
    static API: OnceLock<Api> = OnceLock::new();
    API.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let router = runtime.block_on(async {
            Realtime::new(RealtimeConfig {
                apps: vec![AppConfig::new(APP_ID, KEY, SECRET)],
                ..RealtimeConfig::default()
            })
            .expect("a valid config")
            .router()
        });
        Api { runtime, router }
    })
}

/// One request: never a 5xx, errors are JSON `{"error": "…"}`, and a signed request to one of
/// the API's routes is never refused for its signature.
///
/// The input is `METHOD PATH?QUERY`, a line break, and the body (sent as JSON). A first line
/// starting `signed ` is signed as an SDK would sign it: the query's `auth_*` parameters are
/// replaced with a valid key, timestamp, body MD5 and signature.
pub fn http_api(data: &[u8]) {
    let (signed, data) = match data.strip_prefix(b"signed ") {
        Some(rest) => (true, rest),
        None => (false, data),
    };
    let Some((method, path, query, body)) = crate::protocol::split_request(data) else {
        return;
    };
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return;
    };
    let query = if signed {
        let extra: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .filter(|(k, _)| !k.starts_with("auth_") && k != "body_md5")
            .collect();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        let params =
            signature::sign_api_request(KEY, SECRET, method.as_str(), path, &extra, body, now);
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish()
    } else {
        query.to_string()
    };
    let Ok(request) = Request::builder()
        .method(method)
        .uri(format!("{path}?{query}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
    else {
        return;
    };
    // The router sees the path as parsed from the URI; the signature covered the same text.
    let routed_path = request.uri().path().to_string();
    let api = api();
    let (status, body) = api.runtime.block_on(async {
        let response = api
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        (status, body)
    });
    assert!(!status.is_server_error(), "{status}: {body:?}");
    // `/app/{key}` is the WebSocket endpoint, whose refusals are plain HTTP.
    if status.is_client_error() && !routed_path.starts_with("/app/") {
        let value: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| panic!("{status} without a JSON body: {body:?}"));
        assert!(value["error"].is_string(), "{status}: {value}");
    }
    if signed && routed_path == path {
        assert_ne!(
            status,
            StatusCode::UNAUTHORIZED,
            "a signed request was refused: {body:?}"
        );
    }
}
