//! The API's HTTP edge, around every route: CORS (open for the widget's routes, closed to all but
//! the dashboard's own origin and configured ones for the agents'), security headers on every
//! answer, the client's address (through trusted proxies), and the per-IP throttle on refused
//! tokens.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{
    extract::{client_ip, ClientAddress},
    AppState,
};
use crate::error::ApiError;

/// What API answers (JSON, files) may do when a browser renders them: nothing, and never inside
/// a frame. Routes that set their own policy (attachments) keep it.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Adds `nosniff`, a referrer policy and (unless the response has one) a CSP to every answer.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    add_security_headers(response.headers_mut(), API_CSP);
    response
}

/// Inserts the headers every Parley answer carries, keeping any the handler chose itself.
pub fn add_security_headers(headers: &mut HeaderMap, csp: &'static str) {
    let defaults = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, csp),
    ];
    for (name, value) in defaults {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
}

/// CORS. The widget is embedded on other sites: its preflight cannot say which widget is asking
/// (browsers send no Authorization on it), so it reflects the origin and the real request then
/// enforces the widget's allowed origins (403). The agents' API holds agents' tokens, so only
/// the dashboard's own origin (the API's host, or the configured public address) and configured
/// origins may call it from a browser; others are refused before any handler runs, and so are
/// the sign-in calls (`/api/auth/…`). The session cookie is for the dashboard's own origin, so
/// credentials are never allowed cross-origin.
pub async fn cors(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    if let Some(origin) = &origin {
        let path = request.uri().path();
        let dashboard_only = ["/api/agent/", "/api/auth/", "/api/admin/"];
        if dashboard_only.iter().any(|prefix| path.starts_with(prefix))
            && !agent_origin_allowed(&state, request.headers(), origin)
        {
            let shown = origin.to_str().unwrap_or("(not text)");
            return ApiError::Forbidden(format!(
                "origin {shown} may not use the agents' API (PARLEY_AGENT_ALLOWED_ORIGINS)"
            ))
            .into_response();
        }
    }
    let mut response = if request.method() == Method::OPTIONS {
        let mut preflight = StatusCode::NO_CONTENT.into_response();
        let headers = preflight.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type, Accept, X-Visitor-Token, X-User-Token, X-User-Id, X-User-Hash, X-Socket-ID, X-Requested-With, X-CSRF-Token"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        preflight
    } else {
        next.run(request).await
    };
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Retry-After"),
        );
    }
    response
}

/// Whether a browser page at `origin` may call the agents' API: the page came from this server
/// (its origin names the host the request was sent to), or the operator listed it.
fn agent_origin_allowed(state: &AppState, headers: &HeaderMap, origin: &HeaderValue) -> bool {
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim_end_matches('/');
    let authority = origin.split_once("://").map(|(_, rest)| rest);
    let same_host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .zip(authority)
        .is_some_and(|(host, authority)| host.eq_ignore_ascii_case(authority));
    // An empty list means "none besides the dashboard" here, not "any" as for widgets.
    let listed = &state.service.config.agent_allowed_origins;
    same_host || (!listed.is_empty() && parley_protocol::origin::origin_matches(listed, origin))
}

/// Records who the request is from, for every per-IP limit after it: the connecting address, or
/// what a trusted proxy says in `X-Forwarded-For`.
pub async fn client_address(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    if let Some(peer) = peer {
        let forwarded: Vec<&str> = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        let client = state
            .service
            .config
            .trusted_proxies
            .client(peer, &forwarded);
        request.extensions_mut().insert(ClientAddress(client));
    }
    next.run(request).await
}

/// Throttles guessing: a request that presents a token (Authorization or X-Visitor-Token) and is
/// answered with a refused token ([`crate::error::RefusedToken`]) counts against its client IP; past the configured number per minute,
/// that IP's token-bearing requests get 429 with Retry-After without being checked.
pub async fn throttle_refused_tokens(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let presents_token = request.headers().contains_key(header::AUTHORIZATION)
        || request.headers().contains_key("x-visitor-token");
    if !presents_token || request.method() == Method::OPTIONS {
        return next.run(request).await;
    }
    let ip = client_ip(request.extensions());
    if let Err(wait) = state.auth_failures.peek(&ip).await {
        return ApiError::RateLimited(super::retry_after_secs(wait)).into_response();
    }
    let response = next.run(request).await;
    if response
        .extensions()
        .get::<crate::error::RefusedToken>()
        .is_some()
    {
        let _ = state.auth_failures.check(&ip).await;
    }
    response
}
