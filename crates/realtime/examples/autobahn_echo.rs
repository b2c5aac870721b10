//! An echo server on the realtime server's own WebSocket stack ([`accept_websocket`]: the same
//! handshake, codec, limits and socket), for the Autobahn conformance cases
//! (`tests/autobahn/run.sh`). Prints `listening on http://ADDR` and echoes every text and binary
//! message.

use std::{ops::ControlFlow, sync::Arc, time::Duration};

use axum::{extract::Request, response::Response, Router};
use hyper_util::{rt::TokioIo, service::TowerToHyperService};
use parley_realtime::{
    outbox::{Flush, Flusher},
    websocket::{
        accept_websocket,
        frame::{self, OpCode},
        Limits, Message, Read,
    },
};

/// Autobahn's largest cases send 16 MiB messages; the echo must accept them to judge framing.
const LIMITS: Limits = Limits {
    max_message_bytes: 20 * 1024 * 1024,
    send_queue_frames: 1024,
};

async fn echo(flusher: Arc<Flusher>, mut request: Request) -> Response {
    let (response, pending) = match accept_websocket(&mut request, LIMITS) {
        Ok(accepted) => accepted,
        Err(response) => return *response,
    };
    tokio::spawn(async move {
        let Some(mut ws) = pending.ready(&flusher).await else {
            return;
        };
        let outbox = ws.outbox().clone();
        loop {
            tokio::select! {
                readable = ws.readable() => {
                    if readable.is_err() {
                        break;
                    }
                    let read = ws.read(|message| {
                        let frame = match message {
                            Message::Text(text) => frame::text(text),
                            Message::Binary(bytes) => frame::encode(OpCode::Binary, bytes),
                        };
                        outbox.push(&frame);
                        ControlFlow::<()>::Continue(())
                    });
                    if let Read::Ended(_) = read {
                        break;
                    }
                }
                _ = outbox.ready() => {
                    if outbox.flush() == Flush::Broken {
                        break;
                    }
                }
            }
        }
        ws.finish(Duration::from_secs(5)).await;
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
    let flusher = Arc::new(Flusher::per_core());
    let router = Router::new().fallback(move |request| echo(flusher.clone(), request));
    // HTTP/1 on the bare TCP stream, as the realtime server serves it: the socket takes the
    // stream back after the upgrade (axum::serve's HTTP-version sniffing would wrap it).
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}
