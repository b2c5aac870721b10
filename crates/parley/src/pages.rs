//! Pages and health served next to the chat API.

use axum::{routing::get, Json, Router};

/// `/up` for load balancers.
pub fn router() -> Router {
    Router::new().route(
        "/up",
        get(|| async { Json(serde_json::json!({ "health": "OK" })) }),
    )
}
