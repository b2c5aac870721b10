//! The pages served next to the chat API: the embeddable script (`/chatbot-widget.js`), the
//! seed's test page (`/chatbot-test.html`, wired to this server and the demo widget, when
//! enabled), and the agents' dashboard (`/dashboard` and its script `/dashboard.js`). The built
//! widget and dashboard are compiled into the binary, so a release binary needs no files.

use axum::{
    http::{header, HeaderValue},
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
    Router,
};

const WIDGET_JS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../web/widget/dist/chatbot-widget.js"
));
const TEST_PAGE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../web/widget/dist/chatbot-test.html"
));
const DASHBOARD_JS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../web/dashboard/dist/dashboard.js"
));
const DASHBOARD_PAGE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../web/dashboard/dist/dashboard.html"
));

/// The dashboard holds an agent's token, so its page allows only its own script (no inline
/// script), talks only to this origin and to realtime sockets, and cannot be framed.
const DASHBOARD_CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; \
    object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The test page is a demo host page: it may run its inline snippet and load the widget from
/// anywhere, but it cannot be framed or grow plugins and a `<base>`.
const TEST_PAGE_CSP: &str = "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// What the pages are served with.
#[derive(Debug, Clone)]
pub struct PagesConfig {
    /// Fills the test page ("" when there is no demo widget).
    pub demo_token: String,
    /// Where browsers reach this server (`PARLEY_PUBLIC_URL`, else the bound address), without a
    /// trailing slash: the test page loads the widget from there, whatever `Host` a request names.
    pub public_url: String,
    /// Whether `/chatbot-test.html` is served (`PARLEY_TEST_PAGE`).
    pub test_page: bool,
}

/// The routes.
pub fn router(config: PagesConfig) -> Router {
    let home = if config.test_page {
        "/chatbot-test.html"
    } else {
        "/dashboard"
    };
    let mut router = Router::new()
        .route("/chatbot-widget.js", get(widget_js))
        .route("/dashboard", get(dashboard_page))
        .route(
            "/dashboard/",
            get(|| async { Redirect::permanent("/dashboard") }),
        )
        .route("/dashboard.js", get(dashboard_js))
        .route("/", get(move || async move { Redirect::temporary(home) }));
    if config.test_page {
        let page = test_page(&config);
        router = router.route(
            "/chatbot-test.html",
            get(move || {
                let page = page.clone();
                async move { page_response(page) }
            }),
        );
    }
    router.layer(axum::middleware::from_fn(
        parley_chat::api::security_headers,
    ))
}

/// The test page with its placeholders filled: built once, from settings only.
fn test_page(config: &PagesConfig) -> String {
    TEST_PAGE
        .replace("__PARLEY_DEMO_TOKEN__", &config.demo_token)
        .replace("__PARLEY_BASE_URL__", &config.public_url)
}

fn page_response(page: String) -> Response {
    let mut response = Html(page).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(TEST_PAGE_CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
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

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// Serves the pages on 127.0.0.1:0 and sends one raw request naming `host`; returns the
    /// whole response (status line, headers, body).
    async fn get(config: PagesConfig, path: &str, host: &str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(parley_chat::http_server::serve(
            listener,
            router(config),
            parley_chat::http_server::HttpLimits::default(),
            std::future::pending(),
        ));
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    fn config(test_page: bool) -> PagesConfig {
        PagesConfig {
            demo_token: "cbw_demo".into(),
            public_url: "https://chat.example.com".into(),
            test_page,
        }
    }

    #[tokio::test]
    async fn the_test_page_loads_the_widget_from_the_public_url_whatever_the_host_header() {
        let page = get(config(true), "/chatbot-test.html", "evil.example").await;
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(
            page.contains("src=\"https://chat.example.com/chatbot-widget.js\""),
            "{page}"
        );
        assert!(page.contains("'cbw_demo'"));
        assert!(
            !page.contains("evil.example"),
            "the Host header reached the page"
        );
        let head = page.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
        assert!(head.contains("frame-ancestors 'none'"), "{head}");
        assert!(head.contains("x-content-type-options: nosniff"), "{head}");
        assert!(head.contains("referrer-policy: no-referrer"), "{head}");
    }

    #[tokio::test]
    async fn the_test_page_is_served_only_when_enabled() {
        let page = get(config(false), "/chatbot-test.html", "localhost").await;
        assert!(page.starts_with("HTTP/1.1 404"), "{page}");
        let home = get(config(false), "/", "localhost")
            .await
            .to_ascii_lowercase();
        assert!(home.contains("location: /dashboard\r\n"), "{home}");
        let home = get(config(true), "/", "localhost")
            .await
            .to_ascii_lowercase();
        assert!(home.contains("location: /chatbot-test.html\r\n"), "{home}");
    }

    #[tokio::test]
    async fn the_widget_script_still_loads_from_other_sites() {
        let script = get(config(false), "/chatbot-widget.js", "localhost").await;
        let head = script
            .split("\r\n\r\n")
            .next()
            .unwrap()
            .to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(head.contains("access-control-allow-origin: *"), "{head}");
        assert!(
            head.contains("content-type: application/javascript"),
            "{head}"
        );
        assert!(!head.contains("cross-origin-resource-policy"), "{head}");
    }
}
