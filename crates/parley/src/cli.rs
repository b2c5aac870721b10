//! The command line: `parley serve`, `parley realtime`, `parley check-config`, `parley migrate`,
//! and the widget, agent, admin, visitor and webhook commands.

use std::process::ExitCode;

use anyhow::Context as _;
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
    /// Export or erase everything stored about one visitor or verified user.
    #[command(subcommand)]
    Visitor(VisitorCommand),
    /// Manage outbound webhooks (signed POSTs of conversations' events).
    #[command(subcommand)]
    Webhook(WebhookCommand),
}

#[derive(Debug, Subcommand)]
enum WebhookCommand {
    /// Create a webhook and print its signing secret (shown only once).
    Create {
        /// Where to POST events (http:// or https://).
        #[arg(long)]
        url: String,
        /// The events wanted, comma-separated: conversation.created, message.created,
        /// conversation.status_changed, conversation.assigned, conversation.rated (default:
        /// every event).
        #[arg(long, value_name = "EVENTS")]
        events: Vec<String>,
        /// Only this widget's conversations (default: every widget's).
        #[arg(long, value_name = "ID")]
        widget: Option<i64>,
        /// Print `{"id":…,"secret":"whsec_…"}`.
        #[arg(long)]
        json: bool,
    },
    /// List webhooks.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a webhook with its delivery log; what it had not sent is dropped.
    Delete {
        /// The webhook id.
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
enum VisitorCommand {
    /// Print everything stored about them as JSON: conversations, messages, attachments'
    /// details, reactions, read marks and ratings.
    Export {
        #[command(flatten)]
        who: Who,
        /// Write the JSON to this file (readable by its owner only) instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
    },
    /// Erase everything stored about them, files included, each conversation whole or not at
    /// all. Without --yes, only says what would be erased.
    Erase {
        #[command(flatten)]
        who: Who,
        /// Really erase.
        #[arg(long)]
        yes: bool,
        /// Print the counts as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Who a privacy request is about: one of --conversation, --email, --user.
#[derive(Debug, clap::Args)]
#[group(skip)]
#[command(group(
    clap::ArgGroup::new("who")
        .required(true)
        .multiple(false)
        .args(["conversation", "email", "user"])
))]
struct Who {
    /// One conversation, by id.
    #[arg(long, value_name = "ID")]
    conversation: Option<i64>,
    /// Every conversation whose visitor gave this email (letters in any case); with --widget,
    /// only that widget's.
    #[arg(long)]
    email: Option<String>,
    /// A verified user's conversations (the user token's `sub`) on the --widget whose site
    /// signed it.
    #[arg(long, value_name = "SUB", requires = "widget")]
    user: Option<String>,
    /// The widget to look on (needed with --user).
    #[arg(long, value_name = "ID", conflicts_with = "conversation")]
    widget: Option<i64>,
}

impl Who {
    fn selector(self) -> anyhow::Result<parley_store::VisitorSelector> {
        use parley_store::VisitorSelector;
        let text = |option: &str, value: String| -> anyhow::Result<String> {
            let value = value.trim().to_string();
            if value.is_empty() {
                anyhow::bail!("{option} must not be empty");
            }
            if let Some(c) = parley_chat::text::first_refused(&value) {
                anyhow::bail!(
                    "{option} contains the control character U+{:04X}",
                    u32::from(c)
                );
            }
            Ok(value)
        };
        Ok(match (self.conversation, self.email, self.user) {
            (Some(id), _, _) => VisitorSelector::Conversation(id),
            (_, Some(email), _) => VisitorSelector::Email {
                email: text("--email", email)?,
                widget_id: self.widget,
            },
            (_, _, Some(user)) => VisitorSelector::User {
                user_id: text("--user", user)?,
                widget_id: self.widget.context("--user needs --widget")?,
            },
            (None, None, None) => anyhow::bail!("give --conversation, --email or --user"),
        })
    }
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
        /// Print `{"id":…,"token":"cbw_…","identity_secret":"cbi_…"}`.
        #[arg(long)]
        json: bool,
    },
    /// Give a widget a new identity secret (shown only once), which the site's backend uses to
    /// sign user tokens; tokens signed with the old one stop verifying at once.
    IdentitySecret {
        /// The widget id.
        id: i64,
        /// Print `{"id":…,"identity_secret":"cbi_…"}`.
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
                    Command::Widget(WidgetCommand::IdentitySecret { id, json }) => {
                        commands::new_identity_secret(&settings, id, json).await
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
                    Command::Visitor(VisitorCommand::Export { who, output }) => {
                        crate::visitor::export(&settings, who.selector()?, output.as_deref()).await
                    }
                    Command::Visitor(VisitorCommand::Erase { who, yes, json }) => {
                        crate::visitor::erase(&settings, who.selector()?, yes, json).await
                    }
                    Command::Webhook(WebhookCommand::Create {
                        url,
                        events,
                        widget,
                        json,
                    }) => crate::webhook::create(&settings, &url, &events, widget, json).await,
                    Command::Webhook(WebhookCommand::List { json }) => {
                        crate::webhook::list(&settings, json).await
                    }
                    Command::Webhook(WebhookCommand::Delete { id }) => {
                        crate::webhook::delete(&settings, id).await
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
