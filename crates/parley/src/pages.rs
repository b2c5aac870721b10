//! The pages served next to the chat API: the embeddable script (`/chatbot-widget.js`), the
//! seed's test page (`/chatbot-test.html`, wired to this server and the demo widget), the agents'
//! dashboard (`/dashboard` and its script `/dashboard.js`), and `/up`. The built widget and
//! dashboard are compiled into the binary, so a release binary needs no files.

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
const DASHBOARD_JS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../dashboard/dist/dashboard.js"
));
const DASHBOARD_PAGE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../dashboard/dist/dashboard.html"
));

/// The dashboard holds an agent's token, so its page allows only its own script (no inline
/// script), talks only to this origin and to realtime sockets, and cannot be framed.
const DASHBOARD_CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; \
    object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

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
        .route("/dashboard", get(dashboard_page))
        .route(
            "/dashboard/",
            get(|| async { Redirect::permanent("/dashboard") }),
        )
        .route("/dashboard.js", get(dashboard_js))
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

async fn dashboard_page() -> Response {
    let mut response = Html(DASHBOARD_PAGE).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DASHBOARD_CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Always the page of the running release, so it matches its script.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

async fn dashboard_js() -> Response {
    let mut response = DASHBOARD_JS.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/javascript; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
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
