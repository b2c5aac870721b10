//! `parley-loadgen`: benchmarks any Pusher Channels protocol v7 server. Parses the command line,
//! checks the descriptor limit, runs one scenario and prints its report.

mod chat_api;
mod cli;
mod connection;
mod fleet;
mod payload;
mod publisher;
mod reactor;
mod report;
mod scenarios;
mod schedule;
mod seq;
mod stats;
mod system;
mod wire;

use std::process::ExitCode;

use clap::Parser as _;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // Fix the latency epoch before anything is sent.
    let _ = payload::now_ns();
    match run(&cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Printed by hand: returning the error would add a backtrace under RUST_BACKTRACE.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: &cli::Cli) -> anyhow::Result<()> {
    system::ensure_fd_limit(cli.scenario.sockets_needed())?;
    let server = match &cli.scenario {
        cli::Scenario::Chat(args) => format!("the chat API at {}", args.api),
        cli::Scenario::Poll(args) => format!("the chat API at {}", args.api),
        _ => format!(
            "{}:{} (app {})",
            cli.target.host, cli.target.port, cli.target.app_id
        ),
    };
    eprintln!("parley-loadgen: {} against {server}", cli.scenario.name());
    let report = scenarios::run(cli).await?;
    report.print();
    if report.measured_nothing() {
        anyhow::bail!("no connection could subscribe on {server}: is the server running there, with this key?");
    }
    Ok(())
}
