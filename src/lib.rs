//! bifrost: an embedded, ephemeral LLM gateway for the Codex CLI and other OpenAI clients.
//!
//! `bifrost codex ...` binds a loopback gateway, spawns codex pointed at it with a per-launch
//! key, proxies and logs every request, and prints a token / cost / latency summary when codex
//! exits. See ARCHITECTURE.md for the path of one request.

pub mod budget;
pub mod cache;
pub mod canonical;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod gateway;
pub mod ids;
pub mod json_text;
pub mod launcher;
pub mod mcp;
pub mod metrics;
pub mod pricing;
pub mod protocols;
pub mod providers;
pub mod reliability;
pub mod sched;
pub mod secret;
pub mod since;
pub mod sse;
pub mod stats;
pub mod store;
pub mod summary;
pub mod team;
pub mod telemetry;
pub mod usage;

pub use error::{Error, Result};

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: cli::Cli) -> Result<u8> {
    commands::run(cli)
}
