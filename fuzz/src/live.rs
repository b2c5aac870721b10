//! A real realtime server in the fuzzing process, and a WebSocket client that sends it the
//! fuzzer's frames: what `connection/inbound.rs` does with a client's frames, driven through the
//! server's own socket, decoder and session, not a copy of its parsing.
//!
//! Each input is one connection: its frames (separated by NUL bytes, which JSON text cannot
//! hold raw), then a `pusher:ping`, then a close. The server must answer the ping (or close with
//! a code the protocol gives for what was sent), send only JSON with an `event`, and end with a
//! close frame, never a dropped connection. With the input's first byte odd, the client signs
//! its subscriptions and sign-ins with the app's secret, as an auth endpoint would, so the
//! fuzzer reaches presence members, sign-in and client events past the signature checks.

use std::{
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpStream},
    sync::OnceLock,
    time::Duration,
};

use parley_protocol::signature;
use parley_realtime::{
    websocket::frame::{self, client_frame},
    AppConfig, Realtime, RealtimeConfig,
};
use serde_json::Value;

const APP_ID: &str = "1";
const KEY: &str = "fuzz-key";
const SECRET: &str = "fuzz-secret";

struct Server {
    _runtime: tokio::runtime::Runtime,
    addr: SocketAddr,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let addr = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a loopback port");
            let addr = listener.local_addr().expect("bound");
            let realtime = Realtime::new(RealtimeConfig {
                apps: vec![AppConfig::new(APP_ID, KEY, SECRET)],
                ..RealtimeConfig::default()
            })
            .expect("a valid config");
            tokio::spawn(realtime.serve(listener, std::future::pending()));
            addr
        });
        Server {
            _runtime: runtime,
            addr,
        }
    })
}

/// A frame from the server.
enum ServerFrame {
    Text(String),
    Close(Option<u16>),
    Other,
}

struct Client {
    stream: TcpStream,
    buffer: Vec<u8>,
    socket_id: String,
}

impl Client {
    fn connect(addr: SocketAddr) -> Self {
        let mut stream = TcpStream::connect(addr).expect("the server accepts");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("a timeout");
        stream.set_nodelay(true).expect("nodelay");
        write!(
            stream,
            "GET /app/{KEY}?protocol=7&client=js&version=8.4.0 HTTP/1.1\r\nHost: {addr}\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .expect("the upgrade request is sent");
        let mut client = Self {
            stream,
            buffer: Vec::new(),
            socket_id: String::new(),
        };
        let head_end = loop {
            if let Some(end) = client.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            assert!(client.fill(), "the server closed during the handshake");
        };
        assert!(
            client.buffer.starts_with(b"HTTP/1.1 101"),
            "no 101: {}",
            String::from_utf8_lossy(&client.buffer[..head_end])
        );
        client.buffer.drain(..head_end);
        let ServerFrame::Text(established) = client.next_frame().expect("a first frame") else {
            panic!("the first frame is not connection_established");
        };
        let established: Value = serde_json::from_str(&established).expect("JSON");
        let data: Value =
            serde_json::from_str(established["data"].as_str().expect("string data")).expect("JSON");
        client.socket_id = data["socket_id"].as_str().expect("a socket id").to_string();
        client
    }

    /// Reads more bytes; false at the end of the stream.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    self.buffer.extend_from_slice(&chunk[..n]);
                    return true;
                }
                // libFuzzer's own timers interrupt a blocked read now and then: read again.
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => return false,
                Err(error) => panic!("the server went silent: {error}"),
            }
        }
    }

    /// The next frame, or `None` when the connection ended without one.
    fn next_frame(&mut self) -> Option<ServerFrame> {
        loop {
            if let Some((header, size)) = frame::parse_header(&self.buffer) {
                assert!(header.mask.is_none(), "server frames are never masked");
                assert!(header.fin && header.rsv == 0, "server frames are whole");
                let end = size + usize::try_from(header.len).expect("a sane length");
                if self.buffer.len() >= end {
                    let payload: Vec<u8> = self.buffer.drain(..end).skip(size).collect();
                    return Some(match header.opcode {
                        0x1 => ServerFrame::Text(String::from_utf8(payload).expect("UTF-8 text")),
                        0x8 => ServerFrame::Close(
                            (payload.len() >= 2)
                                .then(|| u16::from_be_bytes([payload[0], payload[1]])),
                        ),
                        _ => ServerFrame::Other,
                    });
                }
            }
            if !self.fill() {
                return None;
            }
        }
    }

    fn send(&mut self, opcode: u8, payload: &[u8]) {
        // The server may already have closed; what it did is judged from what it sent.
        let _ = self.stream.write_all(&client_frame(
            0x80 | opcode,
            payload,
            [0x5a, 0x11, 0xc3, 0x07],
        ));
    }
}

/// Signs a subscription or sign-in in `frame` for `socket_id`, as an auth endpoint would.
fn sign(frame: &str, socket_id: &str) -> Option<String> {
    let mut value: Value = serde_json::from_str(frame).ok()?;
    let event = value.get("event")?.as_str()?.to_string();
    let data = value.get_mut("data")?;
    if let Value::String(encoded) = data {
        *data = serde_json::from_str(encoded).ok()?;
    }
    let data = data.as_object_mut()?;
    let auth = match event.as_str() {
        "pusher:subscribe" => {
            let channel = data.get("channel")?.as_str()?;
            let channel_data = data.get("channel_data").and_then(Value::as_str);
            signature::channel_auth(KEY, SECRET, socket_id, channel, channel_data)
        }
        "pusher:signin" => {
            let user_data = data.get("user_data")?.as_str()?;
            signature::user_auth(KEY, SECRET, socket_id, user_data)
        }
        _ => return None,
    };
    data.insert("auth".into(), Value::String(auth));
    Some(value.to_string())
}

/// One connection's worth of client frames; see the module's documentation.
pub fn inbound_frames(data: &[u8]) {
    let [mode, frames @ ..] = data else {
        return;
    };
    let mut client = Client::connect(server().addr);
    for frame in frames.split(|b| *b == 0) {
        match std::str::from_utf8(frame) {
            Ok(text) => {
                let signed = (mode & 1 == 1)
                    .then(|| sign(text, &client.socket_id))
                    .flatten();
                client.send(0x1, signed.as_deref().unwrap_or(text).as_bytes());
            }
            Err(_) => client.send(0x2, frame),
        }
    }
    client.send(0x1, br#"{"event":"pusher:ping","data":{}}"#);
    client.send(0x8, &1000u16.to_be_bytes());
    let mut ponged = false;
    loop {
        match client.next_frame() {
            Some(ServerFrame::Text(text)) => {
                let value: Value = serde_json::from_str(&text).expect("the server sends JSON");
                let event = value["event"].as_str().expect("every frame has an event");
                ponged |= event == "pusher:pong";
            }
            Some(ServerFrame::Close(code)) => {
                // 4009: a sign-in the server refused; 1009: a message over the size limit.
                // Otherwise the server echoes the client's 1000 after answering the ping.
                match code {
                    Some(1000) => assert!(ponged, "closed without answering the ping"),
                    Some(4009 | 1009) => {}
                    other => panic!("unexpected close code {other:?}"),
                }
                return;
            }
            Some(ServerFrame::Other) => {}
            None => panic!("the connection ended without a close frame"),
        }
    }
}
