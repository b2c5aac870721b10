//! The pages served next to the chat API: the embeddable script (`/chatbot-widget.js`), the
//! seed's test page (`/chatbot-test.html`, wired to this server and the demo widget), and
//! `/up`. The built widget is compiled into the binary, so a release binary needs no files.

use axum::{
    http::{header, HeaderMap, HeaderValue},
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
    Json, Router,
};

const WIDGET_JS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../widget/dist/chatbot-widget.js"
));
const TEST_PAGE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../widget/dist/chatbot-test.html"
));

/// The routes; `demo_token` fills the test page (empty when there is no demo widget).
pub fn router(demo_token: String) -> Router {
    Router::new()
        .route(
            "/up",
            get(|| async { Json(serde_json::json!({ "health": "OK" })) }),
        )
        .route("/chatbot-widget.js", get(widget_js))
        .route(
            "/chatbot-test.html",
            get(move |headers: HeaderMap| test_page(headers, demo_token.clone())),
        )
        .route(
            "/",
            get(|| async { Redirect::temporary("/chatbot-test.html") }),
        )
}

async fn widget_js() -> Response {
    let mut response = WIDGET_JS.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/javascript; charset=utf-8"),
    );
    // Short, so a new release reaches visitors within minutes.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

async fn test_page(headers: HeaderMap, demo_token: String) -> Html<String> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8000");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    // Only characters a host header may hold reach the page.
    let host: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(*c))
        .collect();
    Html(
        TEST_PAGE
            .replace("__PARLEY_DEMO_TOKEN__", &demo_token)
            .replace("__PARLEY_BASE_URL__", &format!("{scheme}://{host}")),
    )
}
