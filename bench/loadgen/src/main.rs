//! `parley-loadgen`: benchmarks any Pusher Channels protocol v7 server. Parses the command line,
//! checks the descriptor limit, runs one scenario and prints its report.

mod cli;
mod connection;
mod fleet;
mod payload;
mod publisher;
mod report;
mod scenarios;
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
    eprintln!(
        "parley-loadgen: {} against {}:{} (app {})",
        cli.scenario.name(),
        cli.target.host,
        cli.target.port,
        cli.target.app_id
    );
    let report = scenarios::run(cli).await?;
    report.print();
    if report.measured_nothing() {
        anyhow::bail!(
            "no connection could subscribe to {}:{}: is the server running there, with this key?",
            cli.target.host,
            cli.target.port
        );
    }
    Ok(())
}
