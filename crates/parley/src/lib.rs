//! Parley's command-line program: reads the environment (and `.env`), builds typed settings,
//! and runs the realtime server alone or as part of the whole product.

pub mod cli;
mod commands;
mod embedded;
mod pages;
pub(crate) mod serve;
pub mod settings;
mod visitor;
mod webhook;
