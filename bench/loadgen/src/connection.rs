//! One Pusher client connection: the WebSocket handshake, `connection_established`,
//! subscribing, and reading frames while keeping the connection alive (answering `pusher:ping`,
//! pinging when the line goes quiet).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_websockets::{ClientBuilder, MaybeTlsStream, Message, WebSocketStream};

use crate::wire::{self, Frame};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Used until the server announces its own; Pusher's default.
const DEFAULT_ACTIVITY_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a connection failed. `kind()` is the label errors are counted under.
#[derive(Debug)]
pub enum ConnError {
    /// TCP connect or the HTTP upgrade failed.
    Connect(String),
    /// The connection ended (close frame, EOF or I/O error).
    Closed(String),
    /// The server answered with `pusher:error` or `pusher:subscription_error`.
    Rejected(String),
    /// A text frame that is not a Pusher frame. Not fatal: the connection still works.
    Garbled(String),
}

impl ConnError {
    pub fn kind(&self) -> &'static str {
        match self {
            ConnError::Connect(_) => "connect",
            ConnError::Closed(_) => "closed",
            ConnError::Rejected(_) => "rejected",
            ConnError::Garbled(_) => "garbled_frame",
        }
    }

    pub fn is_fatal(&self) -> bool {
        !matches!(self, ConnError::Garbled(_))
    }
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnError::Connect(e) | ConnError::Closed(e) | ConnError::Rejected(e) => f.write_str(e),
            ConnError::Garbled(e) => write!(f, "unparseable frame {e}"),
        }
    }
}

/// A TCP connection to `host:port` from the local address `source`. The port is chosen when
/// binding, so each source address has its own range of ephemeral ports.
async fn connect_from(source: IpAddr, host: &str, port: u16) -> io::Result<TcpStream> {
    let mut last_error = None;
    for addr in tokio::net::lookup_host((host, port)).await? {
        if addr.is_ipv4() != source.is_ipv4() {
            continue;
        }
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.bind(SocketAddr::new(source, 0))?;
        match socket.connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::other(format!(
            "{host} has no address of the same family as {source}"
        ))
    }))
}

/// An established, not yet subscribed, Pusher connection.
pub struct Conn {
    ws: Ws,
    pub socket_id: String,
    activity_timeout: Duration,
}

impl Conn {
    /// Connects to `url`, the WebSocket endpoint at `host:port`, from `source` if given (else
    /// from whatever address the kernel picks), and waits for `pusher:connection_established`.
    pub async fn open(
        url: &str,
        (host, port): (&str, u16),
        source: Option<IpAddr>,
    ) -> Result<Conn, ConnError> {
        let builder = ClientBuilder::new()
            .uri(url)
            .map_err(|e| ConnError::Connect(format!("bad url {url}: {e}")))?;
        let tcp = match source {
            None => TcpStream::connect((host, port)).await,
            Some(source) => connect_from(source, host, port).await,
        }
        .map_err(|e| {
            let from = source.map(|s| format!(" from {s}")).unwrap_or_default();
            ConnError::Connect(format!("TCP connect to {host}:{port}{from}: {e}"))
        })?;
        // As browsers do: without it, a frame written right after another (an unsubscribe then
        // a subscribe) waits for the server's delayed ACK, 40 ms on Linux.
        let _ = tcp.set_nodelay(true);
        let (ws, _response) = builder
            .connect_on(MaybeTlsStream::Plain(tcp))
            .await
            .map_err(|e| ConnError::Connect(e.to_string()))?;
        let mut conn = Conn {
            ws,
            socket_id: String::new(),
            activity_timeout: DEFAULT_ACTIVITY_TIMEOUT,
        };
        loop {
            let step = conn
                .next(|frame, text| match frame.event.as_ref() {
                    "pusher:connection_established" => match wire::established(frame) {
                        Some(est) => Some(Ok(est)),
                        None => Some(Err(ConnError::Rejected(format!(
                            "connection_established without socket_id: {}",
                            wire::excerpt(text)
                        )))),
                    },
                    "pusher:error" => Some(Err(ConnError::Rejected(wire::excerpt(text)))),
                    _ => None,
                })
                .await;
            match step {
                Ok(Some(Ok(est))) => {
                    conn.socket_id = est.socket_id;
                    if let Some(secs) = est.activity_timeout.filter(|s| *s > 0) {
                        conn.activity_timeout = Duration::from_secs(secs);
                    }
                    return Ok(conn);
                }
                Ok(Some(Err(e))) => return Err(e),
                Ok(None) => continue,
                Err(e) if e.is_fatal() => return Err(e),
                Err(_) => continue,
            }
        }
    }

    /// Subscribes to `channel` (with `auth` for private channels, empty otherwise) and waits for
    /// `pusher_internal:subscription_succeeded`.
    pub async fn subscribe(&mut self, channel: &str, auth: &str) -> Result<(), ConnError> {
        self.send(wire::subscribe(channel, auth)).await?;
        self.subscribed(channel).await
    }

    /// Waits for `pusher_internal:subscription_succeeded` on `channel` (a subscribe sent
    /// already), or the refusal.
    pub async fn subscribed(&mut self, channel: &str) -> Result<(), ConnError> {
        loop {
            let step = self
                .next(|frame, text| match frame.event.as_ref() {
                    "pusher_internal:subscription_succeeded"
                        if frame.channel.as_deref() == Some(channel) =>
                    {
                        Some(Ok(()))
                    }
                    "pusher:subscription_error" | "pusher:error" => {
                        Some(Err(ConnError::Rejected(wire::excerpt(text))))
                    }
                    _ => None,
                })
                .await;
            match step {
                Ok(Some(result)) => return result,
                Ok(None) => continue,
                Err(e) if e.is_fatal() => return Err(e),
                Err(_) => continue,
            }
        }
    }

    pub async fn send(&mut self, text: String) -> Result<(), ConnError> {
        self.ws
            .send(Message::text(text))
            .await
            .map_err(|e| ConnError::Closed(format!("send failed: {e}")))
    }

    /// Reads until the next Pusher frame other than `pusher:ping` (which is answered here) and
    /// hands it, with its raw text, to `handle`. Cancel-safe between frames.
    pub async fn next<T>(
        &mut self,
        mut handle: impl FnMut(&Frame<'_>, &str) -> T,
    ) -> Result<T, ConnError> {
        loop {
            let message = match tokio::time::timeout(self.activity_timeout, self.ws.next()).await {
                // Quiet line: ping as pusher-js does, or the server would time the socket out.
                Err(_elapsed) => {
                    self.send(wire::PING.to_string()).await?;
                    continue;
                }
                Ok(None) => return Err(ConnError::Closed("server closed the TCP stream".into())),
                Ok(Some(Err(e))) => return Err(ConnError::Closed(e.to_string())),
                Ok(Some(Ok(message))) => message,
            };
            if let Some((code, reason)) = message.as_close() {
                return Err(ConnError::Closed(format!(
                    "close frame {} {reason:?}",
                    u16::from(code)
                )));
            }
            // WebSocket-level pings are answered by tokio-websockets itself.
            let Some(text) = message.as_text() else {
                continue;
            };
            let Some(frame) = Frame::parse(text) else {
                return Err(ConnError::Garbled(wire::excerpt(text)));
            };
            if frame.event == "pusher:ping" {
                self.send(wire::PONG.to_string()).await?;
                continue;
            }
            if frame.event == "pusher:pong" {
                continue;
            }
            return Ok(handle(&frame, text));
        }
    }

    /// The TCP socket under the connection, for the receive loop to read directly, and the
    /// activity timeout the server announced. Whatever the WebSocket layer had buffered is
    /// dropped with it, so this is only for the moment after subscribing, before a run sends
    /// anything.
    pub fn into_socket(self) -> std::io::Result<(std::net::TcpStream, Duration)> {
        // The generator is built without TLS, so every stream is plain; should TLS be enabled,
        // those connections get an error here and stay on their task.
        #[allow(irrefutable_let_patterns)]
        let MaybeTlsStream::Plain(tcp) = self.ws.into_inner() else {
            return Err(std::io::Error::other(
                "a TLS connection cannot be read directly",
            ));
        };
        Ok((tcp.into_std()?, self.activity_timeout))
    }

    /// Closes politely, but never waits long: at the end of a run thousands close at once.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.ws.close()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connects_from_the_source_address_asked_for() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let source: IpAddr = "127.0.0.2".parse().unwrap();
        let (client, accepted) =
            tokio::join!(connect_from(source, "127.0.0.1", port), listener.accept());
        let client = client.unwrap();
        let (_server_side, peer) = accepted.unwrap();
        assert_eq!(peer.ip(), source);
        assert_eq!(client.local_addr().unwrap(), peer);
    }

    #[tokio::test]
    async fn a_source_of_the_wrong_family_is_an_error() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let error = connect_from("::1".parse().unwrap(), "127.0.0.1", port)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("same family"), "{error}");
    }
}
