//! The `parley` command, run as a process: its data directory, its account commands and its
//! privacy commands.

mod admin;
mod data_dir;
mod identity;
mod privacy;
mod support;
