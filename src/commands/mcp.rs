//! MCP at the command line: starting the configured servers before a launch (with progress on
//! stderr), and `bifrost mcp list` / `bifrost mcp call` for debugging a server.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tabled::settings::Style;

use crate::cli::{Cli, McpCommand};
use crate::config::{Config, ConfigPath, Loaded};
use crate::error::{Error, Result};
use crate::mcp::{Hub, Status};

/// Starts the servers the flags select; `None` when there are none or `--no-mcp`.
pub async fn start_hub(cli: &Cli, config: &Config, quiet: bool) -> Result<Option<Arc<Hub>>> {
    if cli.no_mcp || config.mcp.servers.is_empty() {
        return Ok(None);
    }
    if let Some(only) = &cli.mcp {
        for name in only {
            if !config.mcp.servers.iter().any(|s| &s.name == name) {
                let known: Vec<&str> = config.mcp.servers.iter().map(|s| s.name.as_str()).collect();
                return Err(Error::Usage(format!(
                    "--mcp names `{name}`, which is not a configured MCP server; configured: {}",
                    known.join(", ")
                )));
            }
        }
    }
    let tty = std::io::stderr().is_terminal() && !quiet;
    let multi = indicatif::MultiProgress::new();
    let bars: Arc<Mutex<Vec<(String, indicatif::ProgressBar)>>> = Arc::new(Mutex::new(Vec::new()));
    let on_change = |name: &str, state: &str| {
        if !tty {
            return;
        }
        let Ok(mut bars) = bars.lock() else { return };
        match bars.iter().find(|(n, _)| n == name) {
            Some((_, bar)) => bar.set_message(format!("{name}: {state}")),
            None => {
                let bar = multi.add(indicatif::ProgressBar::new_spinner());
                bar.enable_steady_tick(Duration::from_millis(100));
                bar.set_message(format!("MCP {name}: {state}"));
                bars.push((name.to_string(), bar));
            }
        }
    };
    let hub = Hub::start(
        &config.mcp,
        cli.mcp.as_deref(),
        &config.key_vars,
        &on_change,
    )
    .await;
    if let Ok(bars) = bars.lock() {
        for (_, bar) in bars.iter() {
            bar.finish_and_clear();
        }
    }
    let mut line = Vec::new();
    for (name, status) in hub.statuses() {
        match status {
            Status::Ready(n) => line.push(format!("{name} ({n} tools)")),
            Status::Failed(why) => {
                let required = config
                    .mcp
                    .servers
                    .iter()
                    .any(|s| &s.name == name && s.required);
                if required {
                    hub.shutdown().await;
                    return Err(Error::Usage(format!(
                        "required MCP server `{name}` failed to start: {why}; fix the server or set `required = false` under [mcp.servers.{name}]"
                    )));
                }
                eprintln!(
                    "bifrost: warning: MCP server `{name}` failed to start and is skipped: {why}"
                );
            }
        }
    }
    if !quiet && !line.is_empty() {
        eprintln!("bifrost: MCP: {}", line.join(", "));
    }
    Ok(Some(Arc::new(hub)))
}

/// `bifrost mcp list|call`.
pub async fn mcp(cli: &Cli, cmd: &McpCommand) -> Result<u8> {
    let loaded = Loaded::read(&ConfigPath::locate(cli.config.as_deref())?)?;
    let config = loaded.resolve(&|k| std::env::var(k).ok())?;
    if config.mcp.servers.is_empty() {
        return Err(Error::Usage("no MCP servers are configured; add [mcp.servers.NAME] with `command` or `url` to the config".into()));
    }
    match cmd {
        McpCommand::List => {
            let Some(hub) = start_hub(cli, &config, true).await? else {
                return Ok(0);
            };
            let mut rows = vec![vec![
                "server".to_string(),
                "state".into(),
                "tool (as the model sees it)".into(),
                "description".into(),
            ]];
            for (name, status) in hub.statuses() {
                match status {
                    Status::Failed(why) => rows.push(vec![
                        name.clone(),
                        "failed".into(),
                        "-".into(),
                        why.chars().take(80).collect(),
                    ]),
                    Status::Ready(_) => {
                        for t in hub.tools().iter().filter(|t| &t.server == name) {
                            let d: String = t
                                .description
                                .lines()
                                .next()
                                .unwrap_or_default()
                                .chars()
                                .take(60)
                                .collect();
                            rows.push(vec![name.clone(), "ready".into(), t.flat.clone(), d]);
                        }
                    }
                }
            }
            let mut t = tabled::builder::Builder::from_iter(rows).build();
            t.with(Style::sharp());
            println!("{t}");
            hub.shutdown().await;
            Ok(0)
        }
        McpCommand::Call {
            server,
            tool,
            arguments,
        } => {
            let only = Cli {
                mcp: Some(vec![server.clone()]),
                ..cli_clone(cli)
            };
            let Some(hub) = start_hub(&only, &config, true).await? else {
                return Ok(0);
            };
            if let Some((_, Status::Failed(why))) = hub.statuses().first() {
                return Err(Error::Usage(format!(
                    "MCP server `{server}` failed to start: {why}"
                )));
            }
            if !hub.tools().iter().any(|t| &t.name == tool) {
                let names: Vec<&str> = hub.tools().iter().map(|t| t.name.as_str()).collect();
                return Err(Error::Usage(format!(
                    "server `{server}` has no tool `{tool}`; it has: {}",
                    names.join(", ")
                )));
            }
            let out = hub
                .call_direct(server, tool, arguments.as_deref().unwrap_or("{}"))
                .await;
            for c in &out.content {
                match c {
                    crate::canonical::ResultContent::Text(t) => println!("{t}"),
                    crate::canonical::ResultContent::Image(_) => println!("[image]"),
                }
            }
            eprintln!(
                "bifrost: {}/{} {} in {:?}",
                out.server,
                out.tool,
                if out.is_error { "failed" } else { "ok" },
                out.duration
            );
            hub.shutdown().await;
            Ok(u8::from(out.is_error))
        }
    }
}

fn cli_clone(cli: &Cli) -> Cli {
    Cli {
        config: cli.config.clone(),
        codex_bin: cli.codex_bin.clone(),
        summary: cli.summary,
        mcp: cli.mcp.clone(),
        no_mcp: cli.no_mcp,
        gateway: cli.gateway.clone(),
        key: cli.key.clone(),
        log_format: cli.log_format,
        command: crate::cli::Command::Mcp(McpCommand::List),
    }
}
