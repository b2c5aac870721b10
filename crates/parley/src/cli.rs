//! The command line: `parley serve`, `parley realtime`, `parley check-config`, `parley migrate`,
//! and the widget, agent and admin commands.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::{commands, settings::Settings};

/// Parley: a self-hosted chatbot and live-chat widget with a Pusher-compatible realtime server.
#[derive(Debug, Parser)]
#[command(name = "parley", version, about)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run everything with the configured (or default) settings.
    Serve,
    /// Run only the Pusher-protocol realtime server (a drop-in for `php artisan reverb:start`).
    Realtime,
    /// Load and validate the configuration, print it with secrets redacted, and exit.
    CheckConfig,
    /// Create or update the database tables.
    Migrate,
    /// Manage widgets.
    #[command(subcommand)]
    Widget(WidgetCommand),
    /// Manage agents.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Manage the people who administer Parley.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an admin who signs in to /dashboard with this email and a password read from
    /// standard input (asked twice, unechoed, on a terminal; one line when piped).
    Create {
        /// Login email.
        #[arg(long)]
        email: String,
        /// Display name (default: the part of the email before the @).
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum WidgetCommand {
    /// Create a widget and print its token (shown only once).
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// An origin allowed to embed the widget, e.g. https://shop.example (repeatable; none
        /// allows any).
        #[arg(long = "allowed-origin")]
        allowed_origins: Vec<String>,
        /// Settings as JSON: greeting, colors, position, bot (see the README).
        #[arg(long)]
        settings: Option<String>,
        /// Print `{"id":…,"token":"cbw_…"}`.
        #[arg(long)]
        json: bool,
    },
    /// Replace a widget's settings (greeting, colours, bot…).
    Configure {
        /// The widget id.
        id: i64,
        /// Settings as JSON.
        #[arg(long)]
        settings: String,
    },
    /// List widgets.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a widget: its token stops working at once.
    Revoke {
        /// The widget id.
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
enum AgentCommand {
    /// Create an agent and print their token (shown only once).
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Login email.
        #[arg(long)]
        email: String,
        /// Print `{"id":…,"token":"…"}`.
        #[arg(long)]
        json: bool,
    },
    /// List agents.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an agent: their token stops working at once.
    Revoke {
        /// The agent id.
        id: i64,
    },
}

impl Cli {
    /// Runs the chosen command; the exit code reports failure.
    pub fn run(self) -> ExitCode {
        // A missing .env is fine; a malformed one is an error worth stopping for.
        if let Err(error) = dotenvy::dotenv() {
            if !error.not_found() {
                eprintln!("error: .env: {error}");
                return ExitCode::FAILURE;
            }
        }
        init_logging();
        let settings = match Settings::from_env(|name| std::env::var(name).ok()) {
            Ok(settings) => settings,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        };
        let result = match self.command {
            Command::CheckConfig => check_config(&settings),
            Command::Realtime => run_realtime(settings),
            command => block_on(async move {
                match command {
                    Command::Serve => crate::serve::serve(settings).await,
                    Command::Migrate => commands::migrate(&settings).await,
                    Command::Widget(WidgetCommand::Create {
                        name,
                        allowed_origins,
                        settings: widget_settings,
                        json,
                    }) => {
                        let widget_settings = widget_settings.as_deref();
                        commands::create_widget(
                            &settings,
                            &name,
                            allowed_origins,
                            widget_settings,
                            json,
                        )
                        .await
                    }
                    Command::Widget(WidgetCommand::Configure {
                        id,
                        settings: widget_settings,
                    }) => commands::configure_widget(&settings, id, &widget_settings).await,
                    Command::Widget(WidgetCommand::List { json }) => {
                        commands::list_widgets(&settings, json).await
                    }
                    Command::Widget(WidgetCommand::Revoke { id }) => {
                        commands::revoke_widget(&settings, id).await
                    }
                    Command::Agent(AgentCommand::Create { name, email, json }) => {
                        commands::create_agent(&settings, &name, &email, json).await
                    }
                    Command::Agent(AgentCommand::List { json }) => {
                        commands::list_agents(&settings, json).await
                    }
                    Command::Agent(AgentCommand::Revoke { id }) => {
                        commands::revoke_agent(&settings, id).await
                    }
                    Command::Admin(AdminCommand::Create { email, name }) => {
                        let password = commands::read_password()?;
                        commands::create_admin(&settings, &email, name.as_deref(), password).await
                    }
                    Command::CheckConfig | Command::Realtime => unreachable!("handled above"),
                }
            }),
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        }
    }
}

fn init_logging() {
    use tracing_subscriber::{fmt, EnvFilter};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("PARLEY_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn check_config(settings: &Settings) -> anyhow::Result<()> {
    let realtime = settings.realtime()?;
    realtime.validate()?;
    println!("configuration is valid");
    println!("realtime server binds {}", settings.realtime_bind);
    if let Some(cluster) = &settings.cluster {
        println!(
            "joins the nodes on Redis pub/sub channel {:?} (REDIS_URL)",
            cluster.channel
        );
    }
    for app in &realtime.apps {
        println!("app {app:?}");
    }
    Ok(())
}

fn block_on(future: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(future)
}

fn run_realtime(settings: Settings) -> anyhow::Result<()> {
    block_on(crate::serve::realtime(settings))
}
