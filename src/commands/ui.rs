//! `bifrost ui`: the `/logs` dashboard over the log store, without a gateway or providers, for
//! looking at past sessions (a session's own gateway, and its dashboard, end with it).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::response::Redirect;
use tokio::signal::unix::{SignalKind, signal};

use crate::cli::{Cli, UiArgs};
use crate::config::{ConfigPath, Loaded, bifrost_home};
use crate::dashboard::{self, Access, Dashboard};
use crate::error::{Error, Result};
use crate::store::{Location, Pool};

/// Serves until SIGINT or SIGTERM; prints `dashboard: URL` on stdout first.
pub async fn ui(cli: &Cli, args: &UiArgs) -> Result<u8> {
    let home = bifrost_home()?;
    crate::telemetry::init(&home, true, cli.log_format);
    let store = Pool::new(Location::for_command(cli.config.as_deref())?);
    let config = config(cli)?;
    // Opened (and migrated) once before serving, so a bad store is an error now, not per page.
    store.ping().await?;
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)))
            .await
            .map_err(|e| Error::io(format!("binding 127.0.0.1:{}", args.port), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("reading the dashboard address", e))?;
    // Nobody needs the key: the browser gets in with the one-time link's cookie.
    let access = Arc::new(Access::new(
        vec![crate::secret::generate_key()?],
        addr.port(),
    )?);
    let app = dashboard::router(Arc::new(Dashboard::new(
        access.clone(),
        store,
        Arc::new(crate::secret::KeyScrubber::for_config(&config)),
    )))
    .route("/", axum::routing::get(|| async { Redirect::to("/logs") }));
    let mut sigterm = signal(SignalKind::terminate()).map_err(|e| Error::io("signals", e))?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(|e| Error::io("signals", e))?;
    println!("dashboard: http://{addr}/logs?token={}", access.mint()?);
    eprintln!("bifrost ui: the link works once; Ctrl-C stops the server");
    // The gateway's server: a header read timeout (slowloris) and the header size limit,
    // from `[gateway]` when a config says so.
    let limits = crate::gateway::ServeLimits::from(&config.gateway);
    crate::gateway::serve(listener, app, limits, async move {
        tokio::select! {
            _ = sigterm.recv() => {}
            _ = sigint.recv() => {}
        }
    })
    .await;
    Ok(0)
}

/// The config, resolved; a missing, broken or incomplete one counts as empty (`ui` needs no
/// providers): its keys are scrubbed from API responses, its `[gateway]` limits apply.
fn config(cli: &Cli) -> Result<crate::config::Config> {
    ConfigPath::locate(cli.config.as_deref())
        .and_then(|p| Loaded::read(&p))
        .and_then(|l| l.resolve(&|k| std::env::var(k).ok()))
        .or_else(|_| Loaded::default().resolve(&|_| None))
}
