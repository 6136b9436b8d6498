//! `bifrost serve`: the same gateway, long-lived, for other clients.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::signal::unix::{SignalKind, signal};

use crate::cli::{Cli, LogFormat, ServeArgs};
use crate::config::{ConfigPath, Loaded, bifrost_home};
use crate::error::{Error, Result};
use crate::gateway::Gateway;
use crate::store::{self, SessionRecord, Writer};

/// Runs until SIGTERM or SIGINT, then drains and exits 0.
pub async fn serve(cli: &Cli, args: &ServeArgs) -> Result<u8> {
    let loaded = Loaded::read(&ConfigPath::locate(cli.config.as_deref())?)?;
    let config = loaded.resolve(&|k| std::env::var(k).ok())?;
    let host = args
        .host
        .clone()
        .unwrap_or_else(|| config.server.host.clone());
    let port = args.port.unwrap_or(config.server.port);
    let ip: IpAddr = host.parse().map_err(|_| {
        Error::Usage(format!(
            "--host `{host}` is not an IP address; write e.g. --host 127.0.0.1"
        ))
    })?;
    if !ip.is_loopback() && config.server.keys.is_empty() && config.server.admin_keys.is_empty() {
        return Err(Error::Usage(format!(
            "refusing to serve on non-loopback {ip} without a configured key; add `[server] keys = [\"env:BIFROST_SERVER_KEY\"]` (or admin_keys for virtual keys) to the config"
        )));
    }
    let (keys, generated) = if config.server.keys.is_empty() {
        (vec![crate::secret::generate_key()?], true)
    } else {
        (config.server.keys.clone(), false)
    };
    let home = bifrost_home()?;
    crate::telemetry::init(&home, true, cli.log_format);
    let location = store::Location::resolve(config.store_url.as_ref(), &home)?;
    let (writer, _thread) = Writer::open(&location)?;
    let session_id = store::new_id();
    writer.session_start(SessionRecord {
        id: session_id.clone(),
        kind: "serve".into(),
        started_at_ms: store::now_ms(),
        argv: std::env::args().collect(),
        cwd: std::env::current_dir()
            .ok()
            .map(|p| p.display().to_string()),
    });
    let mut sigterm = signal(SignalKind::terminate()).map_err(|e| Error::io("signals", e))?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(|e| Error::io("signals", e))?;
    let team = if config.server.virtual_keys {
        let team = crate::team::Team::open(&config, &home).await?;
        Some(crate::team::Gate::new(Arc::new(team)))
    } else {
        None
    };
    let config = Arc::new(config);
    let gateway = Gateway::start_with_team(
        SocketAddr::new(ip, port),
        config.clone(),
        writer.clone(),
        Some(session_id.clone()),
        keys.clone(),
        None,
        team,
    )
    .await?;
    let json = cli.log_format == Some(LogFormat::Json);
    notice(json, &format!("request log: {}", location.shown()));
    notice(
        json,
        &format!("listening on {}/openai/v1 (also /v1)", gateway.url()),
    );
    notice(
        json,
        &format!(
            "dashboard: {} (works once; metrics at {}/metrics with the key)",
            gateway.dashboard_url()?,
            gateway.url()
        ),
    );
    if generated {
        // The one place a key is printed: the user must learn it to use the server.
        notice(
            json,
            &format!("generated key for this run: {}", keys[0].expose()),
        );
    }
    tokio::select! {
        _ = sigterm.recv() => {}
        _ = sigint.recv() => {}
    }
    notice(
        json,
        &format!(
            "draining in-flight requests (up to {:?})",
            config.gateway.drain_timeout
        ),
    );
    let cut = gateway.shutdown(config.gateway.drain_timeout).await;
    writer.session_end(&session_id, Some(0));
    // Commits what is queued; with the store unreachable, retries for a bounded time.
    writer.flush().await;
    if cut > 0 {
        notice(json, &format!("{cut} request(s) cut at shutdown"));
    }
    Ok(0)
}

/// A line for the operator on stderr only (never the log file: the dashboard link and a
/// generated key are in these): `bifrost serve: ...`, or with `--log-format json` a JSON
/// object shaped like the tracing lines around it.
fn notice(json: bool, message: &str) {
    if json {
        let line = serde_json::json!({
            "timestamp": jiff::Timestamp::now().to_string(),
            "level": "INFO",
            "message": message,
            "target": "bifrost::serve",
        });
        eprintln!("{line}");
    } else {
        eprintln!("bifrost serve: {message}");
    }
}
