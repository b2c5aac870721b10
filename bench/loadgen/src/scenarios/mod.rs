//! The scenarios, one module each, and what they share: picking the scenario from the command
//! line and reporting the server's memory.

mod chat;
mod client_events;
mod idle;
mod poll;
pub mod presence_churn;
mod publish;

use crate::cli::{Cli, Scenario, Target};
use crate::publisher::Schedule;
use crate::report::Report;
use crate::system;

pub async fn run(cli: &Cli) -> anyhow::Result<Report> {
    let (target, tuning) = (&cli.target, &cli.tuning);
    match &cli.scenario {
        Scenario::Idle(args) => idle::run(target, tuning, args).await,
        Scenario::Fanout(args) => {
            let schedule = match args.burst {
                Some(count) => Schedule::Burst { count },
                None => Schedule::Steady {
                    rate: args.rate,
                    duration: std::time::Duration::from_secs(args.duration),
                },
            };
            let plan = publish::Plan {
                name: cli.scenario.name(),
                channels: vec![args.channel.clone()],
                connections: args.subscribers,
                schedule,
                publishers: args.publishers,
            };
            publish::run(target, tuning, plan).await
        }
        Scenario::Channels(args) => {
            let plan = publish::Plan {
                name: cli.scenario.name(),
                channels: (0..args.channels.max(1))
                    .map(|i| format!("bench-ch-{i}"))
                    .collect(),
                connections: args.connections,
                schedule: Schedule::Steady {
                    rate: args.rate,
                    duration: std::time::Duration::from_secs(args.duration),
                },
                publishers: args.publishers,
            };
            publish::run(target, tuning, plan).await
        }
        Scenario::ClientEvents(args) => client_events::run(target, tuning, args).await,
        Scenario::Chat(args) => chat::run(target, tuning, args, cli.scenario.name()).await,
        Scenario::Poll(args) => poll::run(target, args).await,
        Scenario::PresenceChurn(args) => presence_churn::run(target, tuning, args).await,
    }
}

/// The server's RSS now, if its pid was given.
fn server_rss(target: &Target) -> Option<u64> {
    target.server_pid.and_then(system::rss_kb)
}

/// KiB per connection between two RSS readings; `None` without both readings or connections.
fn kb_per_connection(before: Option<u64>, after: Option<u64>, connections: usize) -> Option<f64> {
    let (before, after) = (before?, after?);
    (connections > 0).then(|| (after as f64 - before as f64) / connections as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kb_per_connection_needs_both_readings() {
        assert_eq!(
            kb_per_connection(Some(10_000), Some(30_000), 1000),
            Some(20.0)
        );
        assert_eq!(kb_per_connection(None, Some(30_000), 1000), None);
        assert_eq!(kb_per_connection(Some(1), Some(2), 0), None);
        // Memory can shrink (allocator returning pages); that is reported, not hidden.
        assert_eq!(kb_per_connection(Some(3000), Some(2000), 100), Some(-10.0));
    }
}
