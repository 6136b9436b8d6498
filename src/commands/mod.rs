//! One module per subcommand. Each takes the parsed CLI and returns the process exit code.

mod assets;
mod config;
mod keys;
mod launch;
mod logs;
mod mcp;
mod models;
mod pricing;
mod serve;
mod sessions;
mod stats;
mod ui;

pub use assets::{completions, generate_assets, render_assets};

use crate::cli::{Cli, Command};
use crate::error::Result;

/// Runs the parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<u8> {
    match &cli.command {
        Command::Codex { args } => runtime()?.block_on(launch::codex(&cli, args)),
        Command::Run { command } => runtime()?.block_on(launch::run(&cli, command)),
        Command::Serve(args) => runtime()?.block_on(serve::serve(&cli, args)),
        Command::Logs(args) => logs::logs(&cli, args),
        Command::Stats(args) => stats::stats(&cli, args),
        Command::Sessions(args) => sessions::sessions(&cli, args),
        Command::Pricing(args) => pricing::pricing(&cli, args),
        Command::Ui(args) => runtime()?.block_on(ui::ui(&cli, args)),
        Command::Models { json } => runtime()?.block_on(models::models(&cli, *json)),
        Command::Config(c) => config::config(&cli, c),
        Command::Keys(c) => runtime()?.block_on(keys::keys(&cli, c)),
        Command::Mcp(c) => runtime()?.block_on(mcp::mcp(&cli, c)),
        Command::Completions { shell } => completions(*shell),
        Command::GenerateAssets { dir } => generate_assets(dir),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| crate::Error::io("starting the async runtime", e))
}
