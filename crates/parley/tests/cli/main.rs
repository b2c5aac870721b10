//! The `parley` command, run as a process: its data directory, and its account, privacy and
//! webhook commands.

mod admin;
mod data_dir;
mod identity;
mod limits;
mod privacy;
mod support;
mod webhooks;
