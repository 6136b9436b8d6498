//! The embedded OpenAI-compatible gateway: binds a loopback port in-process, authenticates
//! each request, routes it to a provider, streams the answer back and logs it.
//!
//! [`Gateway::start`] returns once the socket is listening, so a child spawned afterwards can
//! connect at once: no daemon, no polling. [`Gateway::shutdown`] stops accepting, waits a
//! bounded time for in-flight requests, and reports how many were cut.

mod auth;
mod body;
mod error;
mod inflight;
mod observe;
mod routes;
mod translate;

pub(crate) use auth::presented as presented_key;
pub use error::ApiError;

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::dashboard::{self, Access, Dashboard};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::secret::Secret;
use crate::store::Writer;

/// Everything a request handler needs, shared by all requests.
pub(crate) struct AppState {
    pub config: Arc<Config>,
    pub client: LazyClient,
    pub writer: Writer,
    pub session_id: Option<String>,
    pub keys: Vec<Secret>,
    pub inflight: Arc<inflight::Inflight>,
    pub seq: AtomicU64,
    pub mcp: Option<Arc<crate::mcp::Hub>>,
    /// Set when `[budget] enforce` is on with a limit.
    pub budget: Option<Arc<crate::budget::Guard>>,
    pub metrics: Arc<Metrics>,
}

/// A running gateway.
pub struct Gateway {
    addr: SocketAddr,
    inflight: Arc<inflight::Inflight>,
    access: Arc<Access>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

/// Builds the shared HTTP client for upstream calls: no total timeout (streams may run for
/// minutes), a connect timeout, pooled keep-alive connections.
pub fn http_client() -> Result<reqwest::Client> {
    // Installing twice is harmless; the first provider wins.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(concat!("bifrost/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))
}

/// The upstream client, built on a helper thread: loading the system's root certificates
/// takes milliseconds (one file per certificate), and neither the listening socket nor the
/// child spawned after it should wait for that. The first request that needs the client
/// waits for the build if it is still running; it derefs to [`reqwest::Client`].
pub(crate) struct LazyClient {
    cell: Arc<OnceLock<reqwest::Client>>,
}

impl LazyClient {
    fn start() -> Self {
        let cell: Arc<OnceLock<reqwest::Client>> = Arc::new(OnceLock::new());
        let warm = cell.clone();
        let spawned = std::thread::Builder::new()
            .name("bifrost-http-init".into())
            .spawn(move || {
                warm.get_or_init(build_client);
            });
        if spawned.is_err() {
            cell.get_or_init(build_client);
        }
        Self { cell }
    }
}

impl std::ops::Deref for LazyClient {
    type Target = reqwest::Client;

    fn deref(&self) -> &reqwest::Client {
        self.cell.get_or_init(build_client)
    }
}

/// [`http_client`], or, if the platform's TLS roots cannot be loaded, a client without them
/// (HTTPS upstreams then fail with a TLS error naming the certificate, logged per request).
fn build_client() -> reqwest::Client {
    http_client().unwrap_or_else(|e| {
        tracing::error!("{e}; continuing without the system's root certificates");
        reqwest::Client::builder()
            .tls_certs_only(std::iter::empty())
            .tcp_nodelay(true)
            .build()
            .unwrap_or_default()
    })
}

impl Gateway {
    /// Binds `addr` (use port 0 for a free port) and starts serving.
    pub async fn start(
        addr: SocketAddr,
        config: Arc<Config>,
        writer: Writer,
        session_id: Option<String>,
        keys: Vec<Secret>,
    ) -> Result<Gateway> {
        Self::start_with_mcp(addr, config, writer, session_id, keys, None).await
    }

    /// [`Gateway::start`] with MCP servers whose tools are injected into requests.
    pub async fn start_with_mcp(
        addr: SocketAddr,
        config: Arc<Config>,
        writer: Writer,
        session_id: Option<String>,
        keys: Vec<Secret>,
        mcp: Option<Arc<crate::mcp::Hub>>,
    ) -> Result<Gateway> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| Error::io(format!("binding the gateway to {addr}"), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("reading the gateway address", e))?;
        let inflight = Arc::new(inflight::Inflight::default());
        if let Some(days) = config.logs.retention_days {
            writer.prune(crate::store::now_ms() - i64::from(days) * 86_400_000);
        }
        let budget = crate::budget::Guard::start(&config.budget, writer.path())?;
        let access = Arc::new(Access::new(keys.clone(), addr.port())?);
        let dashboard = Dashboard::new(
            access.clone(),
            writer.path().to_path_buf(),
            dashboard::provider_secrets(&config),
        );
        let state = Arc::new(AppState {
            config,
            client: LazyClient::start(),
            writer,
            session_id,
            keys,
            inflight: inflight.clone(),
            seq: AtomicU64::new(0),
            mcp: mcp.filter(|h| !h.tools().is_empty()),
            budget,
            metrics: Arc::new(Metrics::default()),
        });
        let app = routes::router(state, Arc::new(dashboard));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // Small SSE writes must leave at once: without TCP_NODELAY, Nagle's algorithm holds
            // each one until the client's delayed ACK (up to 40 ms) on a stream.
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!("gateway server error: {e}");
            }
        });
        tracing::info!("gateway listening on http://{addr}");
        Ok(Gateway {
            addr,
            inflight,
            access,
            stop: Some(stop),
            task,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The base URL OpenAI clients use: `http://127.0.0.1:PORT/openai/v1`.
    pub fn openai_base_url(&self) -> String {
        format!("http://{}/openai/v1", self.addr)
    }

    /// A one-time dashboard link, `http://127.0.0.1:PORT/logs?token=...`: the first visit
    /// trades the token for a cookie, so the link works once.
    pub fn dashboard_url(&self) -> Result<String> {
        Ok(format!(
            "http://{}/logs?token={}",
            self.addr,
            self.access.mint()?
        ))
    }

    /// Requests currently being served.
    pub fn in_flight(&self) -> usize {
        self.inflight.count()
    }

    /// Stops accepting connections, waits up to `drain` for in-flight requests, then stops.
    /// Returns the number of requests still running when the wait ended.
    pub async fn shutdown(mut self, drain: Duration) -> usize {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let left = self.inflight.wait_idle(drain).await;
        if left > 0 {
            tracing::warn!("{left} request(s) still in flight after {drain:?}; cutting them");
        }
        let _ = tokio::time::timeout(Duration::from_millis(200), &mut self.task).await;
        self.task.abort();
        left
    }
}
