//! An echo server on the realtime server's own WebSocket stack ([`accept_websocket`]: the same
//! handshake, limits and library), for the Autobahn conformance cases (`tests/autobahn/run.sh`).
//! Prints `listening on http://ADDR` and echoes every text and binary message.

use axum::{extract::Request, response::Response, Router};
use futures_util::{SinkExt, StreamExt};
use parley_realtime::server::accept_websocket;

/// Autobahn's largest cases send 16 MiB messages; the echo must accept them to judge framing.
const MAX_MESSAGE: usize = 20 * 1024 * 1024;

async fn echo(mut request: Request) -> Response {
    let (response, pending) = match accept_websocket(&mut request, MAX_MESSAGE) {
        Ok(accepted) => accepted,
        Err(response) => return *response,
    };
    tokio::spawn(async move {
        let Some(mut ws) = pending.ready().await else {
            return;
        };
        while let Some(Ok(message)) = ws.next().await {
            if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                break;
            }
        }
    });
    response
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, Router::new().fallback(echo)).await
}
