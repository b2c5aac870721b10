//! The `parley` command. Parses the command line and hands over to the library; nothing else.

use clap::Parser;

fn main() -> std::process::ExitCode {
    parley::cli::Cli::parse().run()
}
