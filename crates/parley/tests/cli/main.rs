//! The `parley` command, run as a process: its data directory and its account commands.

mod admin;
mod data_dir;
mod support;
