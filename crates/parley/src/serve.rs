//! The composition root. `parley serve`: the store, the realtime server (embedded unless told
//! otherwise), the broadcaster `BROADCAST_CONNECTION` names, the chat API and pages, all in one
//! process; `parley realtime`: the Pusher-protocol server alone. Both stop on Ctrl-C or SIGTERM.

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context as _;
use parley_chat::{
    broadcast::{Broadcaster, LogBroadcaster, NullBroadcaster, PusherHttp},
    AppState, ChatConfig, ChatService, Provider, RealtimeApp,
};
use parley_realtime::Realtime;
use parley_store::{NewAgent, NewWidget, Store};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    embedded::Embedded,
    settings::{BroadcastConnection, Settings},
};

/// Lifts the soft limit on open files to the hard one. Every WebSocket is a file, and the soft
/// limit a shell or a supervisor hands down (often 1 024) would refuse visitors long before the
/// machine runs short; the hard limit is the operator's (`LimitNOFILE`, `ulimit -Hn`).
fn raise_open_files_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open files: this process may hold {limit}"),
        Err(error) => tracing::warn!(%error, "could not raise the open-files limit"),
    }
}

/// `parley realtime`: the Pusher-protocol server alone (a drop-in for `reverb:start`), until
/// Ctrl-C or SIGTERM.
pub async fn realtime(settings: Settings) -> anyhow::Result<()> {
    raise_open_files_limit();
    let config = settings.realtime()?;
    let listener = bind(&settings.realtime_bind).await?;
    let address: SocketAddr = listener.local_addr()?;
    let realtime = Realtime::new(config)?;
    join_cluster(&realtime, &settings).await?;
    spawn_metrics(&realtime, &settings).await?;
    // Tests and scripts read this line to find the port when they asked for port 0.
    println!("Parley realtime server listening on http://{address} (WebSocket at ws://{address}/app/{{key}})");
    tracing::info!(%address, "realtime server started");
    realtime.serve(listener, shutdown_signal()).await?;
    tracing::info!("realtime server stopped");
    Ok(())
}

/// Runs everything until Ctrl-C or SIGTERM.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    raise_open_files_limit();
    settings.prepare_data_dir()?;
    let realtime_config = settings.realtime()?;
    let app = realtime_config.apps[0].clone();
    let store = crate::commands::open_store(&settings).await?;

    let shutdown = CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();

    let realtime = if settings.embedded_realtime {
        let listener = bind(&settings.realtime_bind).await?;
        let address = listener.local_addr()?;
        let realtime = Realtime::new(realtime_config)?;
        join_cluster(&realtime, &settings).await?;
        spawn_metrics(&realtime, &settings).await?;
        println!("Parley realtime server listening on http://{address} (WebSocket at ws://{address}/app/{{key}})");
        tasks.spawn(
            realtime
                .clone()
                .serve(listener, shutdown.clone().cancelled_owned()),
        );
        Some((realtime, address))
    } else {
        None
    };

    let broadcaster: Arc<dyn Broadcaster> = match (settings.broadcast, &realtime) {
        (BroadcastConnection::Reverb, Some((realtime, _))) => {
            Arc::new(Embedded::new(realtime.clone(), app.id.clone()))
        }
        (BroadcastConnection::Reverb, None) => {
            let client = &settings.reverb_client;
            let host = client.host.clone().unwrap_or_else(|| "127.0.0.1".into());
            Arc::new(PusherHttp::new(
                "reverb",
                &client.scheme,
                &host,
                client.port,
                &app.id,
                &app.key,
                &app.secret,
            ))
        }
        (BroadcastConnection::Pusher, _) => {
            let pusher = settings
                .pusher
                .as_ref()
                .expect("settings require PUSHER_APP_* for the pusher driver");
            let api_host = pusher
                .host
                .clone()
                .unwrap_or_else(|| format!("api-{}.pusher.com", pusher.cluster));
            Arc::new(PusherHttp::new(
                "pusher",
                &pusher.scheme,
                &api_host,
                pusher.port,
                &pusher.app_id,
                &pusher.key,
                &pusher.secret,
            ))
        }
        (BroadcastConnection::Log, _) => Arc::new(LogBroadcaster),
        (BroadcastConnection::Null, _) => Arc::new(NullBroadcaster),
    };

    let chat_config = chat_config(
        &settings,
        &app,
        realtime.as_ref().map(|(_, address)| *address),
    )?;
    let service = ChatService::new(store.clone(), broadcaster, chat_config);
    if let Some((realtime, _)) = &realtime {
        // Each node closes the sockets it signed channels for, wherever they are connected.
        parley_chat::revocation::spawn_watcher(
            store.clone(),
            service.signed_sockets.clone(),
            std::time::Duration::from_secs(2),
            Embedded::new(realtime.clone(), app.id.clone()),
            shutdown.clone(),
        )
        .await;
    }
    let knowledge_dir = service.config.knowledge_dir.clone();
    service.watch_presence(std::time::Duration::from_secs(5), shutdown.clone());
    // Every node assigns queued conversations and takes back unanswered ones now and then, in
    // case a trigger was missed; the store keeps nodes from assigning the same one twice.
    parley_chat::assignment::spawn_sweep(
        service.clone(),
        parley_chat::assignment::SWEEP_EVERY,
        shutdown.clone(),
    );
    // Every node expires conversations past their widget's retention; nodes share the work.
    parley_chat::privacy::spawn_retention(
        service.clone(),
        parley_chat::privacy::RETENTION_EVERY,
        shutdown.clone(),
    );
    if settings.bot_worker {
        parley_chat::bot_runner::start(
            service.clone(),
            parley_chat::bot_runner::RunnerConfig::new(knowledge_dir),
            shutdown.clone(),
        );
    }
    // Every node with email on sends queued mail; claims keep two nodes off the same job.
    parley_chat::mail::start(
        service.clone(),
        parley_chat::mail::RunnerConfig::default(),
        shutdown.clone(),
    );
    // Every node sends webhook deliveries; claims keep two nodes off the same one and each
    // conversation's in order.
    let webhooks = parley_chat::webhooks::start(
        service.clone(),
        parley_chat::webhooks::RunnerConfig::default(),
        shutdown.clone(),
    );
    let listener = bind(&settings.http_bind).await?;
    let http_address = listener.local_addr()?;
    println!("Parley listening on http://{http_address}");
    let demo_token = announce_demo_widget(&settings, store.as_ref(), http_address).await?;
    let public_url = settings
        .http
        .public_url
        .clone()
        .unwrap_or_else(|| local_url(http_address));
    let state = AppState::new(service.clone());
    announce_setup_link(&state, &public_url).await?;
    announce_demo_agent(&settings, store.as_ref(), http_address).await?;
    let mut health = parley_chat::health::Health::new(service);
    if let Some(cluster) = &settings.cluster {
        health = health.with_redis(&cluster.redis_url)?;
    }
    let pages = crate::pages::PagesConfig {
        demo_token,
        public_url,
        test_page: settings.http.test_page,
    };
    let router = parley_chat::router(state)
        .merge(health.router())
        .merge(crate::pages::router(pages));

    let http_shutdown = shutdown.clone();
    let limits = settings.http.limits;
    tasks.spawn(async move {
        parley_chat::http_server::serve(listener, router, limits, http_shutdown.cancelled_owned())
            .await
    });

    tokio::select! {
        _ = shutdown_signal() => {}
        Some(ended) = tasks.join_next() => {
            // A server stopping on its own is an error worth reporting.
            ended?.context("a server stopped")?;
        }
    }
    shutdown.cancel();
    while let Some(ended) = tasks.join_next().await {
        ended??;
    }
    // Webhook POSTs under way are finished and recorded rather than left to end `unknown`.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(15), webhooks).await;
    Ok(())
}

fn chat_config(
    settings: &Settings,
    app: &parley_realtime::AppConfig,
    embedded: Option<SocketAddr>,
) -> anyhow::Result<ChatConfig> {
    let provider = match settings.broadcast {
        BroadcastConnection::Reverb => Provider::Reverb,
        BroadcastConnection::Pusher => Provider::Pusher,
        BroadcastConnection::Log | BroadcastConnection::Null => Provider::Polling,
    };
    let mut config = ChatConfig::new(
        settings.data_dir.clone(),
        provider,
        settings.local_secret("link-secret")?,
    );
    let client = &settings.reverb_client;
    config.reverb = Some(RealtimeApp {
        key: app.key.clone(),
        secret: app.secret.clone(),
        host: client.host.clone(),
        // With REVERB_PORT unset and an embedded server on port 0, tell browsers the real port.
        port: match embedded {
            Some(address) if std::env::var("REVERB_PORT").is_err() => address.port(),
            _ => client.port,
        },
        scheme: client.scheme.clone(),
        cluster: String::new(),
        path: client.path.clone(),
    });
    config.pusher = settings.pusher.as_ref().map(|pusher| RealtimeApp {
        key: pusher.key.clone(),
        secret: pusher.secret.clone(),
        host: pusher.host.clone(),
        port: pusher.port,
        scheme: pusher.scheme.clone(),
        cluster: pusher.cluster.clone(),
        path: String::new(),
    });
    if let Some(dir) = std::env::var_os("PARLEY_KNOWLEDGE_DIR") {
        config.knowledge_dir = dir.into();
    }
    // The site's name, what visitors see a widget called unless its display name says otherwise.
    config.app_name = std::env::var("PARLEY_APP_NAME")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty());
    config.public_url = settings.http.public_url.clone();
    config.mail = settings.mail.clone();
    // A cookie marked Secure is sent over https only: right when the public address is https.
    config.secure_cookies = settings
        .http
        .public_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"));
    if let Some(max) = settings.max_upload_bytes {
        config.max_upload_bytes = max;
    }
    if let Some(max) = settings.max_message_chars {
        config.max_message_chars = max;
    }
    // An event the realtime app would refuse goes out small instead.
    config.max_event_bytes = config.max_event_bytes.min(app.max_event_payload_bytes);
    let [conversations_ip, conversations_widget, messages_ip, messages_widget] =
        settings.rate_limits;
    config.conversations_per_ip_per_minute =
        conversations_ip.unwrap_or(config.conversations_per_ip_per_minute);
    config.conversations_per_widget_per_minute =
        conversations_widget.unwrap_or(config.conversations_per_widget_per_minute);
    config.messages_per_ip_per_minute = messages_ip.unwrap_or(config.messages_per_ip_per_minute);
    config.messages_per_widget_per_minute =
        messages_widget.unwrap_or(config.messages_per_widget_per_minute);
    if let Some(failures) = settings.http.auth_failures_per_ip {
        config.auth_failures_per_ip_per_minute = failures;
    }
    // Nodes sharing a Redis share the limits too, under the cluster channel's name.
    if let Some(cluster) = &settings.cluster {
        let prefix = format!("{}:ratelimit", cluster.channel);
        config.shared_rate_limits = Some(
            parley_chat::ratelimit::SharedLimits::new(&cluster.redis_url, &prefix)
                // The URL is not repeated: it may hold a password.
                .context("sharing the rate limits through REDIS_URL")?,
        );
    }
    config.agent_allowed_origins = settings.http.agent_allowed_origins.clone();
    config.trusted_proxies = settings.http.trusted_proxies.clone();
    // The dashboard served at the public address calls the agents' API from there.
    if let Some(url) = &settings.http.public_url {
        config.agent_allowed_origins.push(origin_of(url));
    }
    Ok(config)
}

/// `scheme://host[:port]` of a URL that may have a path.
fn origin_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or("")),
        None => url.to_string(),
    }
}

/// The address browsers on this machine use for a bound one (`0.0.0.0` is not an address a
/// browser can load a script from).
fn local_url(address: SocketAddr) -> String {
    let ip = match address.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, address.port()))
}

/// With no widget yet, creates the demo widget and keeps its token in the data directory (the
/// test page needs it); prints how to use it either way. Returns the demo token ("" if the demo
/// widget was not created by this data directory).
async fn announce_demo_widget(
    settings: &Settings,
    store: &dyn Store,
    http_address: SocketAddr,
) -> anyhow::Result<String> {
    let token_path = settings.data_dir.join("demo-widget-token");
    if store.widgets().await?.is_empty() {
        let token = parley_chat::tokens::new_widget_token();
        store
            .create_widget(NewWidget {
                name: "Demo".into(),
                token_hash: parley_chat::tokens::hash_token(&token),
                allowed_origins: Vec::new(),
                settings: serde_json::json!({ "greeting": "Hi! How can we help?" }),
                identity_secret: Some(parley_chat::tokens::new_identity_secret()),
            })
            .await?;
        crate::settings::write_private(&token_path, &token)
            .with_context(|| format!("writing {}", token_path.display()))?;
    }
    let token = std::fs::read_to_string(&token_path)
        .map(|t| t.trim().to_string())
        .unwrap_or_default();
    if !token.is_empty() {
        println!("Demo widget token: {token}");
        if settings.http.test_page {
            println!("Test page: http://{http_address}/chatbot-test.html");
        }
    }
    Ok(token)
}

/// On a store with no agents, creates a demo agent so the dashboard works out of the box and
/// prints its token, that once (it is a credential; it stays in the data directory, 0600); prints
/// the dashboard's address every time.
async fn announce_demo_agent(
    settings: &Settings,
    store: &dyn Store,
    http_address: SocketAddr,
) -> anyhow::Result<()> {
    let token_path = settings.data_dir.join("demo-agent-token");
    if store.agents().await?.is_empty() {
        let token = parley_chat::tokens::new_agent_token();
        store
            .create_agent(NewAgent {
                name: "Demo Agent".into(),
                email: "demo-agent@parley.invalid".into(),
                token_hash: parley_chat::tokens::hash_token(&token),
                role: parley_store::Role::Agent,
            })
            .await?;
        crate::settings::write_private(&token_path, &token)
            .with_context(|| format!("writing {}", token_path.display()))?;
        println!("Demo agent token: {token}");
    } else if token_path.exists() {
        println!("The demo agent's token is in {}", token_path.display());
    }
    println!("Dashboard: http://{http_address}/dashboard");
    Ok(())
}

/// While nobody can sign in with a password, prints the one-time link that creates the first
/// admin (the demo agent's token keeps working for the demo data).
async fn announce_setup_link(state: &AppState, public_url: &str) -> anyhow::Result<()> {
    if state.service.store.any_password_set().await? {
        return Ok(());
    }
    let token = state.setup.offer();
    println!(
        "Create the first admin (this link works once): {}/dashboard#setup={token}",
        public_url.trim_end_matches('/')
    );
    println!("  or from the shell: parley admin create --email you@example.com");
    Ok(())
}

/// Serves the realtime server's `/metrics` on `PARLEY_METRICS_ADDR`, when set, for as long as
/// the process runs (the realtime port then does not serve it). Printed before the realtime
/// server's line, which scripts wait for.
pub(crate) async fn spawn_metrics(realtime: &Realtime, settings: &Settings) -> anyhow::Result<()> {
    let Some(address) = &settings.metrics_bind else {
        return Ok(());
    };
    let listener = bind(address).await?;
    println!(
        "Parley metrics served at http://{}/metrics",
        listener.local_addr()?
    );
    let realtime = realtime.clone();
    tokio::spawn(async move {
        if let Err(error) = realtime
            .serve_metrics(listener, std::future::pending())
            .await
        {
            tracing::error!(%error, "metrics listener failed");
        }
    });
    Ok(())
}

/// Binds a listener with a deep accept backlog: the default (128) overflows when thousands of
/// clients reconnect at once after a deploy, and each overflowed client waits a second or more
/// to retry.
pub(crate) async fn bind(address: &str) -> anyhow::Result<TcpListener> {
    let resolved = tokio::net::lookup_host(address)
        .await
        .with_context(|| format!("cannot resolve {address}"))?
        .next()
        .with_context(|| format!("{address} resolves to nothing"))?;
    let socket = if resolved.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket
        .bind(resolved)
        .with_context(|| format!("cannot listen on {address}"))?;
    Ok(socket.listen(4096)?)
}

/// Joins the other nodes when `REDIS_URL` is set; a Redis that cannot be reached stops start-up
/// rather than leaving this node silently on its own.
pub(crate) async fn join_cluster(realtime: &Realtime, settings: &Settings) -> anyhow::Result<()> {
    let Some(cluster) = &settings.cluster else {
        return Ok(());
    };
    realtime
        .join_cluster(&cluster.redis_url, &cluster.channel)
        .await
        // The URL is not repeated: it may hold a password.
        .context("joining the other nodes through REDIS_URL")?;
    tracing::info!(channel = %cluster.channel, "joined the cluster through Redis");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
