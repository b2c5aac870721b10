//! `poll`: many widgets polling their conversation the way the widget does when it has no
//! WebSocket (or gap-fills): `GET /api/chatbot/conversation/{id}?after={last id seen}` every
//! `--interval-secs`, with the visitor's token. Meanwhile a few messages are posted
//! (`--message-rate`), so that some polls find something new, as in a live site.
//!
//! Each widget polls on its own schedule, the first polls spread evenly over one interval, and
//! sends its next poll an interval after the previous one was due (or at once, when the answer
//! came later than that: a widget never has two polls out). By default every widget has its
//! own keep-alive connection, as browsers do; `--connections N` shares N connections instead,
//! each taking its widgets' polls in turn, as a reverse proxy's upstream pool would.
//!
//! Measures polls answered per second against the rate offered (widgets ÷ interval), and the
//! poll round trip (request written → whole answer read). The requests are written by a small
//! HTTP/1.1 client on a plain socket, so that ten thousand connections cost little memory.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::chat::start_conversations;
use super::server_rss;
use crate::chat_api::{ChatApi, Visitor};
use crate::cli::{PollArgs, Target, CREATE_PARALLELISM};
use crate::payload::{now_ns, Payload};
use crate::report::Report;
use crate::stats::{Errors, Latency};
use crate::system::CpuWindow;

/// What every poller shares.
struct Shared {
    authority: String,
    authorization: String,
    /// Polls are counted only while this is set.
    measuring: AtomicBool,
    stop: AtomicBool,
    latency: Mutex<Latency>,
    polls: AtomicU64,
    /// Polls that found at least one new message.
    news: AtomicU64,
    errors: Errors,
    reconnects: AtomicU64,
    /// Messages posted meanwhile (accepted).
    posted: AtomicU64,
}

pub async fn run(target: &Target, args: &PollArgs) -> anyhow::Result<Report> {
    anyhow::ensure!(args.interval_secs > 0.0, "--interval-secs must be above 0");
    let url = reqwest::Url::parse(&args.api).context("--api")?;
    let host = url.host_str().context("--api has no host")?.to_string();
    let port = url.port_or_known_default().context("--api has no port")?;
    let api = Arc::new(ChatApi::new(&args.api, &args.token, CREATE_PARALLELISM)?);
    eprintln!("  starting {} conversations", args.widgets);
    let server_before = server_rss(target);
    let (visitors, creation_errors, create) = start_conversations(&api, args.widgets).await;
    anyhow::ensure!(
        !visitors.is_empty(),
        "no conversation could be started: {:?}",
        creation_errors.first().map(|e| &e.detail)
    );

    let shared = Arc::new(Shared {
        authority: format!("{host}:{port}"),
        authorization: format!("Bearer {}", args.token),
        measuring: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        latency: Mutex::new(Latency::new()),
        polls: AtomicU64::new(0),
        news: AtomicU64::new(0),
        errors: Errors::default(),
        reconnects: AtomicU64::new(0),
        posted: AtomicU64::new(0),
    });
    for e in &creation_errors {
        shared.errors.count(e.kind, &e.detail);
    }
    let interval = Duration::from_secs_f64(args.interval_secs);
    let widgets = visitors.len();
    let connections = args.connections.unwrap_or(widgets).clamp(1, widgets);
    eprintln!(
        "  {widgets} widgets polling every {} s over {connections} connections; {} s to settle, \
         then {} s measured",
        args.interval_secs, args.warmup_secs, args.duration
    );
    let start = tokio::time::Instant::now() + Duration::from_millis(200);
    let mut groups: Vec<Vec<(usize, Visitor)>> = vec![Vec::new(); connections];
    for (i, visitor) in visitors.iter().enumerate() {
        groups[i % connections].push((i, visitor.clone()));
    }
    let pollers: Vec<_> = groups
        .into_iter()
        .map(|group| {
            let shared = Arc::clone(&shared);
            let phases = group
                .into_iter()
                .map(|(i, visitor)| (interval.mul_f64(i as f64 / widgets as f64), visitor))
                .collect();
            tokio::spawn(poller(
                shared,
                host_port(&host, port),
                phases,
                start,
                interval,
            ))
        })
        .collect();

    let writer = (args.message_rate > 0.0).then(|| {
        let api = Arc::clone(&api);
        let shared = Arc::clone(&shared);
        let visitors = visitors.clone();
        let rate = args.message_rate;
        tokio::spawn(post_messages(api, shared, visitors, rate))
    });

    tokio::time::sleep_until(start + Duration::from_secs_f64(args.warmup_secs)).await;
    let cpu = CpuWindow::start(target);
    let measure_start = Instant::now();
    shared.measuring.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    shared.measuring.store(false, Ordering::Relaxed);
    let measured = measure_start.elapsed().as_secs_f64();
    let cpu = cpu.finish();
    let server_end = server_rss(target);
    shared.stop.store(true, Ordering::Relaxed);
    for poller in pollers {
        poller.abort();
    }
    if let Some(writer) = writer {
        writer.abort();
    }
    let posted = shared.posted.load(Ordering::Relaxed);

    let polls = shared.polls.load(Ordering::Relaxed);
    let latency = shared
        .latency
        .lock()
        .map(|l| l.summary())
        .unwrap_or_default();
    let api_target = Target {
        host,
        port,
        ..target.clone()
    };
    let mut report = Report::new("poll", &api_target);
    report
        .text("api", "chat API", &args.api)
        .int("widgets", "widgets polling", widgets as u64, "")
        .int(
            "conversations_failed",
            "conversations not started",
            (args.widgets - widgets) as u64,
            "",
        )
        .float(
            "create_p50_ms",
            "start conversation p50",
            create.p50_ms,
            "ms",
        )
        .int("connections", "HTTP connections", connections as u64, "")
        .float("interval_secs", "poll interval", args.interval_secs, "s")
        .float(
            "offered_per_sec",
            "polls offered / s",
            widgets as f64 / args.interval_secs,
            "/s",
        )
        .float("measured_secs", "measured for", measured, "s")
        .int("polls", "polls answered (200)", polls, "")
        .float(
            "polls_per_sec",
            "polls answered / s",
            polls as f64 / measured,
            "/s",
        )
        .int(
            "polls_with_news",
            "polls that found a new message",
            shared.news.load(Ordering::Relaxed),
            "",
        )
        .latency("poll", "poll round trip", &latency)
        .float(
            "message_rate",
            "messages posted / s (target)",
            args.message_rate,
            "/s",
        )
        .int("messages_posted", "messages posted (whole run)", posted, "")
        .int(
            "reconnects",
            "connections re-made",
            shared.reconnects.load(Ordering::Relaxed),
            "",
        )
        .opt_int(
            "server_rss_before_kb",
            "server RSS before",
            server_before,
            "KiB",
        )
        .opt_int("server_rss_end_kb", "server RSS after", server_end, "KiB")
        .cpu(cpu)
        .errors(&shared.errors);
    Ok(report)
}

fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// One connection and the widgets that poll through it, each `(phase, visitor)`: widget `w`'s
/// `k`th poll is due at `start + phase + k × interval`; they are sent in turn.
async fn poller(
    shared: Arc<Shared>,
    address: String,
    widgets: Vec<(Duration, Visitor)>,
    start: tokio::time::Instant,
    interval: Duration,
) {
    let mut after = vec![0_i64; widgets.len()];
    let mut connection: Option<Http> = None;
    let mut round: u32 = 0;
    while !shared.stop.load(Ordering::Relaxed) {
        for (w, (phase, visitor)) in widgets.iter().enumerate() {
            tokio::time::sleep_until(start + *phase + interval * round).await;
            let path = format!(
                "/api/chatbot/conversation/{}?after={}",
                visitor.conversation, after[w]
            );
            if connection.is_none() {
                match TcpStream::connect(&address).await {
                    Ok(stream) => {
                        let _ = stream.set_nodelay(true);
                        connection = Some(Http::new(stream));
                    }
                    Err(e) => {
                        shared.errors.count("connect_failed", e);
                        continue;
                    }
                }
            }
            let Some(http) = connection.as_mut() else {
                continue;
            };
            let request = format!(
                "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nX-Visitor-Token: {}\r\n\
                 Accept: application/json\r\n\r\n",
                shared.authority, shared.authorization, visitor.token
            );
            let sent = now_ns();
            match http.get(request.as_bytes()).await {
                Ok((200, body)) => {
                    let took = now_ns().saturating_sub(sent);
                    let newest = newest_id(body);
                    if shared.measuring.load(Ordering::Relaxed) {
                        shared.polls.fetch_add(1, Ordering::Relaxed);
                        if newest.is_some_and(|id| id > after[w]) {
                            shared.news.fetch_add(1, Ordering::Relaxed);
                        }
                        if let Ok(mut latency) = shared.latency.lock() {
                            latency.record_ns(took);
                        }
                    }
                    if let Some(id) = newest {
                        after[w] = after[w].max(id);
                    }
                }
                Ok((status, body)) => {
                    let kind = if status >= 500 {
                        "poll_server_error"
                    } else {
                        "poll_rejected"
                    };
                    shared.errors.count(
                        kind,
                        format!("HTTP {status}: {}", String::from_utf8_lossy(body)),
                    );
                }
                Err(e) => {
                    shared.errors.count("poll_failed", format!("{e:#}"));
                    connection = None;
                    shared.reconnects.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        round += 1;
    }
}

/// The newest message id in a poll's answer, if it has messages.
fn newest_id(body: &[u8]) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Page {
        #[serde(default)]
        messages: Vec<Id>,
    }
    #[derive(serde::Deserialize)]
    struct Id {
        id: i64,
    }
    let page: Page = serde_json::from_slice(body).ok()?;
    page.messages.iter().map(|m| m.id).max()
}

/// Posts messages at `rate` per second to random conversations until aborted, counting those
/// accepted.
async fn post_messages(api: Arc<ChatApi>, shared: Arc<Shared>, visitors: Vec<Visitor>, rate: f64) {
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut seq = 0_u64;
    loop {
        ticks.tick().await;
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        let c = (seq.wrapping_mul(2_654_435_761) % visitors.len() as u64) as usize;
        let payload = Payload {
            c: c as u32,
            s: seq,
            t: now_ns(),
        };
        seq += 1;
        match api.send_message(&visitors[c], &payload, 0).await {
            Ok(()) => {
                shared.posted.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => shared.errors.count(e.kind, e.detail),
        }
    }
}

/// A keep-alive HTTP/1.1 connection that sends one request at a time and reads answers with a
/// `Content-Length` (what Parley's API sends). One buffer per connection, reused.
struct Http {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Http {
    fn new(stream: TcpStream) -> Http {
        Http {
            stream,
            buffer: Vec::with_capacity(2048),
        }
    }

    /// Writes `request` and reads its answer: status and body.
    async fn get(&mut self, request: &[u8]) -> anyhow::Result<(u16, &[u8])> {
        self.stream.write_all(request).await?;
        self.buffer.clear();
        let (head_len, status, body_len) = loop {
            if let Some(head) = parse_head(&self.buffer)? {
                break head;
            }
            self.read_more().await?;
        };
        while self.buffer.len() < head_len + body_len {
            self.read_more().await?;
        }
        anyhow::ensure!(
            self.buffer.len() == head_len + body_len,
            "more bytes than the answer's length"
        );
        Ok((status, &self.buffer[head_len..]))
    }

    async fn read_more(&mut self) -> anyhow::Result<()> {
        if self.buffer.capacity() - self.buffer.len() < 1024 {
            self.buffer.reserve(4096);
        }
        let read = self.stream.read_buf(&mut self.buffer).await?;
        anyhow::ensure!(read > 0, "the server closed the connection");
        Ok(())
    }
}

/// The head of an answer in `buffer`, once complete: its length, the status and the body's
/// `Content-Length`.
fn parse_head(buffer: &[u8]) -> anyhow::Result<Option<(usize, u16, usize)>> {
    let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
        anyhow::ensure!(buffer.len() < 64 * 1024, "no end of headers in 64 KiB");
        return Ok(None);
    };
    let head = std::str::from_utf8(&buffer[..end]).context("headers are not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .trim()
                    .parse::<usize>()
                    .context("bad Content-Length")?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            anyhow::bail!("chunked answers are not supported by this client");
        }
    }
    let length = length.context("an answer without Content-Length")?;
    Ok(Some((end + 4, status, length)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_answers_head() {
        let answer =
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(
            parse_head(answer).unwrap(),
            Some((answer.len() - 2, 200, 2))
        );
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\ncontent-le").unwrap(), None);
        assert!(parse_head(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
    }

    #[test]
    fn finds_the_newest_message() {
        let page = br#"{"messages":[{"id":4,"message":"a"},{"id":9}],"success":true}"#;
        assert_eq!(newest_id(page), Some(9));
        assert_eq!(newest_id(br#"{"messages":[]}"#), None);
        assert_eq!(newest_id(b"oops"), None);
    }
}
