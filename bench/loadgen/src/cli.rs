//! Command-line interface: where the server under test is, its app credentials, and one
//! subcommand per scenario with its sizes.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Load generator for any Pusher Channels protocol v7 server (Parley, Laravel Reverb, soketi…).
#[derive(Debug, Parser)]
#[command(name = "parley-loadgen", version)]
pub struct Cli {
    #[command(flatten)]
    pub target: Target,

    #[command(flatten)]
    pub tuning: Tuning,

    #[command(subcommand)]
    pub scenario: Scenario,
}

/// The server under test and the app to use on it.
#[derive(Debug, Clone, Args)]
pub struct Target {
    #[arg(long, global = true, default_value = "127.0.0.1")]
    pub host: String,
    #[arg(
        long,
        global = true,
        default_value_t = 8080,
        env = "REVERB_SERVER_PORT"
    )]
    pub port: u16,
    /// Where HTTP API publishes go, when not to `--port`: another node of a cluster, to measure
    /// delivery across nodes.
    #[arg(long, global = true)]
    pub api_port: Option<u16>,
    #[arg(long, global = true, default_value = "bench", env = "REVERB_APP_ID")]
    pub app_id: String,
    #[arg(
        long,
        global = true,
        default_value = "bench-key",
        env = "REVERB_APP_KEY"
    )]
    pub key: String,
    #[arg(
        long,
        global = true,
        default_value = "bench-secret",
        env = "REVERB_APP_SECRET"
    )]
    pub secret: String,
    /// PID of the server process, to report its resident memory (VmRSS) before and after.
    #[arg(long, global = true)]
    pub server_pid: Option<u32>,
    /// Process name (`comm`) of a database server the server under test uses, e.g. `postgres`:
    /// its CPU is reported as `db_cpu_pct` instead of being counted with other processes'.
    #[arg(long, global = true)]
    pub db_process: Option<String>,
}

impl Target {
    pub fn ws_url(&self) -> String {
        format!(
            "ws://{}:{}/app/{}?protocol=7&client=js&version=8.4.0&flash=false",
            self.host, self.port, self.key
        )
    }

    pub fn http_base(&self) -> String {
        format!(
            "http://{}:{}",
            self.host,
            self.api_port.unwrap_or(self.port)
        )
    }
}

/// Knobs common to every scenario.
#[derive(Debug, Clone, Args)]
pub struct Tuning {
    /// Connections handshaking at once; more would flood the server's accept/handshake path and
    /// measure that instead of steady state.
    #[arg(long, global = true, default_value_t = 200)]
    pub connect_parallelism: usize,
    /// Give up on a connection that has not subscribed within this many seconds.
    #[arg(long, global = true, default_value_t = 15)]
    pub connect_timeout_secs: u64,
    /// After the last send, wait at most this long for outstanding deliveries.
    #[arg(long, global = true, default_value_t = 5)]
    pub drain_secs: u64,
    /// Extra filler bytes in every benchmark payload.
    #[arg(long, global = true, default_value_t = 0)]
    pub pad: usize,
    /// Source addresses for the WebSocket connections, taken in turn (e.g.
    /// `127.0.0.2,127.0.0.3`; all of 127.0.0.0/8 is loopback on Linux). Each address has its
    /// own range of ephemeral ports (`net.ipv4.ip_local_port_range`), so more addresses, or
    /// several generators on different ones, open more connections than one address can.
    #[arg(long, global = true, value_delimiter = ',')]
    pub bind: Vec<IpAddr>,
    /// WebSocket ports the connections take in turn, instead of all using `--port`: the nodes of
    /// a cluster (e.g. `8080,8081,8082`), so that subscribers are spread over them.
    #[arg(long, global = true, value_delimiter = ',')]
    pub ws_ports: Vec<u16>,
    /// Once every connection has subscribed or failed, write the setup figures to this file as
    /// one JSON line (whole or not at all), so that a script driving several generators knows
    /// when all of them are connected.
    #[arg(long, global = true)]
    pub ready_file: Option<PathBuf>,
    /// After setup (and after `--ready-file`), wait until this file exists before going on:
    /// before publishing or sending, or, for `idle`, before idling. With `idle` it holds the
    /// connections open while another generator measures.
    #[arg(long, global = true)]
    pub release_file: Option<PathBuf>,
}

impl Tuning {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }

    pub fn drain(&self) -> Duration {
        Duration::from_secs(self.drain_secs)
    }
}

#[derive(Debug, Clone, Subcommand)]
pub enum Scenario {
    /// Memory per idle subscribed connection (needs --server-pid).
    Idle(IdleArgs),
    /// One channel, many subscribers, events published over the HTTP API.
    Fanout(FanoutArgs),
    /// Many channels with a few subscribers each, publishes spread over them.
    Channels(ChannelsArgs),
    /// Client events (`client-*`) between members of private channels.
    ClientEvents(ClientEventsArgs),
    /// Parley's chat API end to end: visitors POST messages, each conversation's subscriber
    /// receives them (the realtime server's host, port and key come from the widget's config).
    Chat(ChatArgs),
    /// Parley's chat API polled: many widgets each `GET` their conversation's new messages
    /// (`?after=`) every few seconds, as the widget does without a WebSocket.
    Poll(PollArgs),
    /// Presence channels joined and left in a loop, with watching members checking that every
    /// `member_added`/`member_removed` arrives exactly once (across nodes with several ports).
    PresenceChurn(crate::scenarios::presence_churn::PresenceChurnArgs),
}

impl Scenario {
    pub fn name(&self) -> &'static str {
        match self {
            Scenario::Idle(_) => "idle",
            Scenario::Fanout(a) if a.burst.is_some() => "fanout-burst",
            Scenario::Fanout(_) => "fanout",
            Scenario::Channels(_) => "channels",
            Scenario::ClientEvents(_) => "client-events",
            Scenario::Chat(a) if a.burst_secs.is_some() => "chat-burst",
            Scenario::Chat(_) => "chat",
            Scenario::Poll(_) => "poll",
            Scenario::PresenceChurn(_) => "presence-churn",
        }
    }

    /// Sockets the generator will hold open, to check the file-descriptor limit up front.
    pub fn sockets_needed(&self) -> u64 {
        match self {
            Scenario::Idle(a) => a.connections as u64,
            Scenario::Fanout(a) => (a.subscribers + a.publishers) as u64,
            Scenario::Channels(a) => (a.connections + a.publishers) as u64,
            Scenario::ClientEvents(a) => a.groups as u64 * a.group_size,
            Scenario::Chat(a) => (a.conversations + a.senders + CREATE_PARALLELISM) as u64,
            Scenario::Poll(a) => {
                (a.connections.unwrap_or(a.widgets) + 2 * CREATE_PARALLELISM) as u64
            }
            Scenario::PresenceChurn(a) => a.sockets_needed(),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct IdleArgs {
    #[arg(long, default_value_t = 10_000)]
    pub connections: usize,
    /// Public channels the connections are spread over.
    #[arg(long, default_value_t = 100)]
    pub channels: usize,
    /// How long all connections sit idle before memory is read.
    #[arg(long, default_value_t = 5)]
    pub idle_secs: u64,
}

#[derive(Debug, Clone, Args)]
pub struct FanoutArgs {
    #[arg(long, default_value_t = 5_000)]
    pub subscribers: usize,
    /// Publishes per second.
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Seconds of publishing.
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// Instead of a steady rate, publish this many events as fast as possible.
    #[arg(long)]
    pub burst: Option<u64>,
    /// Concurrent HTTP publishers.
    #[arg(long, default_value_t = 4)]
    pub publishers: usize,
    #[arg(long, default_value = "bench-fanout")]
    pub channel: String,
}

#[derive(Debug, Clone, Args)]
pub struct ChannelsArgs {
    #[arg(long, default_value_t = 5_000)]
    pub connections: usize,
    #[arg(long, default_value_t = 500)]
    pub channels: usize,
    /// Publishes per second over all channels, round-robin.
    #[arg(long, default_value_t = 500.0)]
    pub rate: f64,
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    #[arg(long, default_value_t = 16)]
    pub publishers: usize,
}

#[derive(Debug, Clone, Args)]
pub struct ClientEventsArgs {
    /// Private channels, one group of connections each.
    #[arg(long, default_value_t = 500)]
    pub groups: usize,
    /// Connections per group: one sender, the rest receive.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(2..))]
    pub group_size: u64,
    /// Client events per second per sender. Pusher allows 10 per connection; servers drop or
    /// disconnect above it, which would be measured as loss.
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
}

/// Conversations being created at once during a chat run's setup.
pub const CREATE_PARALLELISM: usize = 16;

#[derive(Debug, Clone, Args)]
pub struct ChatArgs {
    /// Parley's HTTP address (what `parley serve` prints as `Parley listening on`).
    #[arg(long, default_value = "http://127.0.0.1:8000", env = "PARLEY_API_URL")]
    pub api: String,
    /// The widget token (`cbw_…`), e.g. the demo widget's.
    #[arg(long, env = "PARLEY_WIDGET_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Conversations, each with one subscriber on its private channel.
    #[arg(long, default_value_t = 200)]
    pub conversations: usize,
    /// Messages per second over all conversations, round-robin.
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    /// Seconds of sending at `--rate`.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    /// Instead of a steady rate, send as fast as the senders allow for this many seconds.
    #[arg(long)]
    pub burst_secs: Option<u64>,
    /// Message requests in flight at most (a pool of HTTP clients).
    #[arg(long, default_value_t = 16)]
    pub senders: usize,
}

#[derive(Debug, Clone, Args)]
pub struct PollArgs {
    /// Parley's HTTP address (what `parley serve` prints as `Parley listening on`).
    #[arg(long, default_value = "http://127.0.0.1:8000", env = "PARLEY_API_URL")]
    pub api: String,
    /// The widget token (`cbw_…`), e.g. the demo widget's.
    #[arg(long, env = "PARLEY_WIDGET_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Widgets, each with its own conversation, polling it.
    #[arg(long, default_value_t = 10_000)]
    pub widgets: usize,
    /// Seconds between a widget's polls.
    #[arg(long, default_value_t = 2.0)]
    pub interval_secs: f64,
    /// HTTP connections the widgets share, each taking its widgets' polls in turn (default:
    /// one per widget, as browsers have).
    #[arg(long)]
    pub connections: Option<usize>,
    /// Messages posted per second to random conversations meanwhile, so some polls find news.
    #[arg(long, default_value_t = 10.0)]
    pub message_rate: f64,
    /// Seconds of polling before measuring (connections made, first polls done).
    #[arg(long, default_value_t = 4.0)]
    pub warmup_secs: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_fanout_with_global_flags_anywhere() {
        let cli = Cli::try_parse_from([
            "loadgen",
            "--host",
            "127.0.0.1",
            "--port",
            "9000",
            "fanout",
            "--subscribers",
            "10",
            "--key",
            "k",
        ])
        .unwrap();
        assert_eq!(cli.target.port, 9000);
        assert_eq!(cli.target.key, "k");
        assert_eq!(
            cli.target.ws_url(),
            "ws://127.0.0.1:9000/app/k?protocol=7&client=js&version=8.4.0&flash=false"
        );
        match cli.scenario {
            Scenario::Fanout(a) => {
                assert_eq!(a.subscribers, 10);
                assert_eq!(a.rate, 10.0);
                assert_eq!(a.channel, "bench-fanout");
            }
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn parses_chat_with_defaults_and_burst_name() {
        let cli = Cli::try_parse_from([
            "loadgen",
            "chat",
            "--api",
            "http://127.0.0.1:9001",
            "--token",
            "cbw_x",
        ])
        .unwrap();
        assert_eq!(cli.scenario.name(), "chat");
        match &cli.scenario {
            Scenario::Chat(a) => {
                assert_eq!(a.conversations, 200);
                assert_eq!(a.rate, 200.0);
                assert_eq!(a.burst_secs, None);
                assert_eq!(a.token, "cbw_x");
            }
            other => panic!("parsed as {other:?}"),
        }
        let burst =
            Cli::try_parse_from(["loadgen", "chat", "--token", "t", "--burst-secs", "5"]).unwrap();
        assert_eq!(burst.scenario.name(), "chat-burst");
    }

    #[test]
    fn parses_source_addresses_and_hand_off_files() {
        let cli = Cli::try_parse_from([
            "loadgen",
            "idle",
            "--bind",
            "127.0.0.2,127.0.0.3",
            "--ready-file",
            "/tmp/r",
            "--release-file",
            "/tmp/go",
        ])
        .unwrap();
        let bind: Vec<String> = cli.tuning.bind.iter().map(|a| a.to_string()).collect();
        assert_eq!(bind, ["127.0.0.2", "127.0.0.3"]);
        assert_eq!(cli.tuning.ready_file.as_deref(), Some("/tmp/r".as_ref()));
        assert_eq!(cli.tuning.release_file.as_deref(), Some("/tmp/go".as_ref()));
        assert!(Cli::try_parse_from(["loadgen", "idle", "--bind", "nope"]).is_err());
    }

    #[test]
    fn group_size_below_two_is_rejected() {
        let parsed = Cli::try_parse_from(["loadgen", "client-events", "--group-size", "1"]);
        assert!(parsed.is_err());
    }
}
