//! The pages served next to the chat API: the embeddable script (`/chatbot-widget.js`, the
//! widget's loader) and the full widget it fetches when needed (`/chatbot-widget/app.<hash>.js`),
//! the seed's test page (`/chatbot-test.html`, wired to this server and the demo widget, when
//! enabled), and the agents' dashboard (`/dashboard` and its script `/dashboard.js`). The built
//! widget and dashboard are compiled into the binary, so a release binary needs no files.
//!
//! The widget's two scripts go gzip- or brotli-compressed to browsers that accept it (compressed
//! at build time). The loader's address is fixed, so it is cached for five minutes and then
//! revalidated (its ETag); the full widget's name changes with its bytes, so it is cached for a
//! year.

use axum::{
    extract::Path,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
    Router,
};

/// A file embedded as built and in its compressed forms.
struct Asset {
    plain: &'static [u8],
    gzip: &'static [u8],
    brotli: &'static [u8],
}

/// The widget's loader, what `<script src=".../chatbot-widget.js">` loads.
const LOADER: Asset = Asset {
    plain: include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../web/widget/dist/chatbot-widget.js"
    )),
    gzip: include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../web/widget/dist/chatbot-widget.js.gz"
    )),
    brotli: include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../web/widget/dist/chatbot-widget.js.br"
    )),
};

// APP_NAME and APP: the full widget (build.rs finds its hashed name).
include!(concat!(env!("OUT_DIR"), "/widget_app.rs"));

/// The loader's ETag: its bytes' FNV-1a hash, worked out while compiling.
const LOADER_ETAG: &str = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    const fn fnv(bytes: &[u8]) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut i = 0;
        while i < bytes.len() {
            h ^= bytes[i] as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
            i += 1;
        }
        h
    }
    const TAG: [u8; 20] = {
        let h = fnv(LOADER.plain);
        let mut tag = *b"W/\"0000000000000000\"";
        let mut i = 0;
        while i < 16 {
            tag[3 + i] = HEX[((h >> (60 - 4 * i)) & 0xf) as usize];
            i += 1;
        }
        tag
    };
    match std::str::from_utf8(&TAG) {
        Ok(tag) => tag,
        Err(_) => panic!("the ETag is ASCII"),
    }
};
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
        .route("/chatbot-widget/{file}", get(widget_app))
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

/// The loader: five minutes in caches (a new release reaches visitors within minutes), then
/// revalidated with its ETag (a 304 while it has not changed).
async fn widget_js(request: HeaderMap) -> Response {
    let fresh = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|tag| {
            tag == "*" || tag.trim_start_matches("W/") == LOADER_ETAG.trim_start_matches("W/")
        });
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        script(&LOADER, &request)
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, HeaderValue::from_static(LOADER_ETAG));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    script_headers(headers);
    response
}

/// The full widget, under its hashed name: cached for a year, never revalidated. A name this
/// release does not have (a loader cached from the release before, or another node's during a
/// rolling upgrade) is sent to this release's file, uncached.
async fn widget_app(Path(file): Path<String>, request: HeaderMap) -> Response {
    let mut response = if file == APP_NAME {
        let mut response = script(&APP, &request);
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
        response
    } else if file.starts_with("app.") && file.ends_with(".js") {
        let mut response =
            Redirect::temporary(&format!("/chatbot-widget/{APP_NAME}")).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    script_headers(response.headers_mut());
    response
}

/// A script's bytes in the best encoding the browser accepts (brotli, gzip, or none).
fn script(asset: &Asset, request: &HeaderMap) -> Response {
    let (body, encoding) = if accepts(request, "br") {
        (asset.brotli, Some("br"))
    } else if accepts(request, "gzip") {
        (asset.gzip, Some("gzip"))
    } else {
        (asset.plain, None)
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/javascript; charset=utf-8"),
    );
    if let Some(encoding) = encoding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    response
}

/// What both widget scripts carry: loadable from any site, and cached per encoding.
fn script_headers(headers: &mut HeaderMap) {
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// Whether `Accept-Encoding` names `coding` without `q=0`.
fn accepts(request: &HeaderMap, coding: &str) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let named = parts
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case(coding);
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            named && !refused
        })
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
        get_with(config, path, host, "").await
    }

    /// As `get`, with more request header lines (each ending in `\r\n`); the body as bytes.
    async fn get_raw(config: PagesConfig, path: &str, more: &str) -> (String, Vec<u8>) {
        let raw = request(config, path, "localhost", more).await;
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8(raw[..split].to_vec()).unwrap();
        (head.to_ascii_lowercase(), raw[split + 4..].to_vec())
    }

    async fn get_with(config: PagesConfig, path: &str, host: &str, more: &str) -> String {
        String::from_utf8(request(config, path, host, more).await).unwrap()
    }

    async fn request(config: PagesConfig, path: &str, host: &str, more: &str) -> Vec<u8> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(parley_chat::http_server::serve(
            listener,
            router(config),
            parley_chat::http_server::HttpLimits::default(),
            std::future::pending(),
        ));
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{more}Connection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
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

    #[tokio::test]
    async fn the_loader_is_compressed_and_revalidated_by_its_etag() {
        let (head, body) = get_raw(
            config(false),
            "/chatbot-widget.js",
            "Accept-Encoding: gzip, deflate, br\r\n",
        )
        .await;
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(head.contains("content-encoding: br"), "{head}");
        assert!(head.contains("vary: accept-encoding"), "{head}");
        assert!(
            head.contains("cache-control: public, max-age=300"),
            "{head}"
        );
        assert_eq!(body, LOADER.brotli);
        // The loader names the full widget's file.
        let plain = String::from_utf8(LOADER.plain.to_vec()).unwrap();
        assert!(plain.contains(&format!("chatbot-widget/{APP_NAME}")));

        let (head, body) = get_raw(
            config(false),
            "/chatbot-widget.js",
            "Accept-Encoding: gzip;q=1, br;q=0\r\n",
        )
        .await;
        assert!(head.contains("content-encoding: gzip"), "{head}");
        assert_eq!(body, LOADER.gzip);
        let (head, body) = get_raw(config(false), "/chatbot-widget.js", "").await;
        assert!(!head.contains("content-encoding"), "{head}");
        assert_eq!(body, LOADER.plain);

        let etag = head
            .lines()
            .find_map(|l| l.strip_prefix("etag: "))
            .unwrap()
            .to_string();
        assert_eq!(etag, LOADER_ETAG.to_ascii_lowercase());
        let (head, body) = get_raw(
            config(false),
            "/chatbot-widget.js",
            &format!("If-None-Match: {LOADER_ETAG}\r\n"),
        )
        .await;
        assert!(head.starts_with("http/1.1 304"), "{head}");
        assert!(body.is_empty());
        assert!(
            head.contains("cache-control: public, max-age=300"),
            "{head}"
        );
        let (head, _) = get_raw(
            config(false),
            "/chatbot-widget.js",
            "If-None-Match: W/\"0000\"\r\n",
        )
        .await;
        assert!(head.starts_with("http/1.1 200"), "{head}");
    }

    #[tokio::test]
    async fn the_full_widget_is_cached_for_a_year_under_its_hashed_name() {
        let path = format!("/chatbot-widget/{APP_NAME}");
        let (head, body) = get_raw(config(false), &path, "Accept-Encoding: gzip\r\n").await;
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(
            head.contains("cache-control: public, max-age=31536000, immutable"),
            "{head}"
        );
        assert!(
            head.contains("content-type: application/javascript"),
            "{head}"
        );
        assert!(head.contains("access-control-allow-origin: *"), "{head}");
        assert!(head.contains("content-encoding: gzip"), "{head}");
        assert_eq!(body, APP.gzip);
        assert!(APP.plain.len() > 10 * LOADER.plain.len());

        // Another release's name: this release's file, never cached.
        let (head, _) = get_raw(config(false), "/chatbot-widget/app.0123456789ab.js", "").await;
        assert!(head.starts_with("http/1.1 307"), "{head}");
        assert!(head.contains(&format!("location: {path}")), "{head}");
        assert!(head.contains("cache-control: no-store"), "{head}");
        let (head, _) = get_raw(config(false), "/chatbot-widget/other.js", "").await;
        assert!(head.starts_with("http/1.1 404"), "{head}");
    }
}
