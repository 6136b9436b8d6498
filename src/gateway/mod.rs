//! The embedded OpenAI-compatible gateway: binds a loopback port in-process, authenticates
//! each request, routes it to a provider, streams the answer back and logs it.
//!
//! [`Gateway::start`] returns once the socket is listening, so a child spawned afterwards can
//! connect at once: no daemon, no polling. [`Gateway::shutdown`] stops accepting, waits a
//! bounded time for in-flight requests, and reports how many were cut.
//!
//! The server is hyper's HTTP/1 connection builder driven by [`serve`] (not `axum::serve`),
//! so hostile clients meet limits: headers must arrive within `header_read_timeout_secs`
//! (slowloris), and headers past `max_header_bytes` get 431 in OpenAI's format (hyper's own
//! bare 431 past twice that).

mod auth;
mod body;
mod direct;
mod error;
mod inflight;
mod observe;
mod routes;
mod scan;
mod shards;
mod translate;
mod upstream;

pub(crate) use auth::presented as presented_key;
pub use body::Peeked;
pub use error::ApiError;
pub use routes::App;

/// Reads what routing needs from a request body (`model`, `stream`, `stream_options`,
/// `tools`), as the gateway does before anything else; the message names the problem for a
/// 400. Public for the fuzz targets and property tests.
pub fn peek(body: &[u8]) -> std::result::Result<Peeked, String> {
    body::peek(body)
}

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::dashboard::{Access, Dashboard};
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
    pub health: crate::reliability::Health,
    pub limits: crate::reliability::Limits,
    /// Set when `[budget] enforce` is on with a limit.
    pub budget: Option<Arc<crate::budget::Guard>>,
    pub metrics: Arc<Metrics>,
    /// Virtual keys (`bifrost serve`), when on.
    pub team: Option<Arc<crate::team::Gate>>,
    /// Sessions of remote launchers (`x-bifrost-session`), with their owners.
    pub remote: Arc<routes::RemoteSessions>,
    /// The exact-match response cache, when `[cache] enabled`.
    pub cache: Option<Arc<crate::cache::Cache>>,
    /// Removes echoed provider keys from upstream bytes; built once from the config.
    pub scrubber: Arc<crate::secret::KeyScrubber>,
}

/// The connection limits [`serve`] applies.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// A client must send a request's whole head within this time.
    pub header_read_timeout: Duration,
    /// Total header bytes (start line included) answered with an OpenAI-style 431.
    pub max_header_bytes: usize,
}

impl From<&crate::config::GatewayConfig> for ServeLimits {
    fn from(g: &crate::config::GatewayConfig) -> Self {
        Self {
            header_read_timeout: g.header_read_timeout,
            max_header_bytes: g.max_header_bytes,
        }
    }
}

/// Serves `app` on `listener` until `stop` resolves, then lets open connections finish
/// their requests. Connections get `limits`: a header read timeout, and a 431 in OpenAI's
/// format for headers past `max_header_bytes` (hyper itself answers a bare 431, and closes,
/// past twice that or past 100 headers).
pub async fn serve(
    listener: TcpListener,
    app: impl Into<App>,
    limits: ServeLimits,
    stop: impl std::future::Future<Output = ()> + Send,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let app: App = app.into();
    let hard = limits.max_header_bytes.saturating_mul(2).max(16 * 1024);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(hard);
    if hard > 400 * 1024 {
        builder.max_buf_size(hard.saturating_add(8192));
    }
    let shards = match shards::Shards::start(shards::count()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("{e}; the gateway cannot serve");
            return;
        }
    };
    // Connections still open, and the signal that asks them to finish (graceful shutdown).
    let (open_tx, mut open_rx) = tokio::sync::watch::channel(0usize);
    let (closing_tx, closing_rx) = tokio::sync::watch::channel(false);
    let mut stop = std::pin::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    // Each connection runs on one shard thread (see `shards`).
                    let service = app.service(limits.max_header_bytes);
                    let builder = builder.clone();
                    let mut closing = closing_rx.clone();
                    let open = Open::new(&open_tx);
                    let spawned = shards.spawn(stream, move |stream| async move {
                        let _open = open;
                        let conn = builder.serve_connection(TokioIo::new(stream), service);
                        let mut conn = std::pin::pin!(conn);
                        let closed = async move {
                            let _ = closing.wait_for(|c| *c).await;
                        };
                        let ended = tokio::select! {
                            ended = conn.as_mut() => ended,
                            () = closed => {
                                conn.as_mut().graceful_shutdown();
                                conn.await
                            }
                        };
                        if let Err(e) = ended {
                            tracing::debug!("connection ended: {e}");
                        }
                    });
                    if let Err(e) = spawned {
                        tracing::warn!("{e}");
                    }
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = &mut stop => break,
        }
    }
    drop(listener);
    let _ = closing_tx.send(true);
    let _ = open_rx.wait_for(|n| *n == 0).await;
}

/// One open connection in the count [`serve`] waits on at shutdown.
struct Open(tokio::sync::watch::Sender<usize>);

impl Open {
    fn new(count: &tokio::sync::watch::Sender<usize>) -> Self {
        count.send_modify(|n| *n += 1);
        Open(count.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
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

/// The upstream clients, built on a helper thread: loading the system's root certificates
/// takes milliseconds (one file per certificate), and neither the listening socket nor the
/// child spawned after it should wait for that. Each gateway thread (see `shards`) gets its
/// own client, so its pooled upstream connections are driven where they are used; other
/// threads share one more. The first request that needs a client waits for its build if it
/// is still running; it derefs to [`reqwest::Client`].
pub(crate) struct LazyClient {
    clients: Arc<Clients>,
}

/// One client per shard, and one for every other thread.
struct Clients {
    shards: Vec<OnceLock<reqwest::Client>>,
    shared: OnceLock<reqwest::Client>,
}

impl Clients {
    fn all(&self) -> impl Iterator<Item = &OnceLock<reqwest::Client>> {
        self.shards.iter().chain(std::iter::once(&self.shared))
    }
}

impl LazyClient {
    fn start() -> Self {
        // The crypto provider is process-wide and cheap to install: do it now, so any other
        // client built right after the gateway starts (tests, the launcher) finds it.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let clients = Arc::new(Clients {
            shards: (0..shards::count()).map(|_| OnceLock::new()).collect(),
            shared: OnceLock::new(),
        });
        let warm = clients.clone();
        let spawned = std::thread::Builder::new()
            .name("bifrost-http-init".into())
            .spawn(move || {
                for cell in warm.all() {
                    cell.get_or_init(build_client);
                }
            });
        if spawned.is_err() {
            for cell in clients.all() {
                cell.get_or_init(build_client);
            }
        }
        Self { clients }
    }
}

impl std::ops::Deref for LazyClient {
    type Target = reqwest::Client;

    fn deref(&self) -> &reqwest::Client {
        shards::current()
            .and_then(|i| self.clients.shards.get(i))
            .unwrap_or(&self.clients.shared)
            .get_or_init(build_client)
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
        Self::start_with_team(addr, config, writer, session_id, keys, mcp, None).await
    }

    /// [`Gateway::start_with_mcp`] that also accepts virtual keys checked by `team`, and
    /// serves `/admin/keys`.
    pub async fn start_with_team(
        addr: SocketAddr,
        config: Arc<Config>,
        writer: Writer,
        session_id: Option<String>,
        keys: Vec<Secret>,
        mcp: Option<Arc<crate::mcp::Hub>>,
        team: Option<Arc<crate::team::Gate>>,
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
        let budget = crate::budget::Guard::start(&config.budget, writer.pool()).await?;
        let scrubber = Arc::new(crate::secret::KeyScrubber::for_config(&config));
        let cache =
            crate::cache::Cache::open(&config.cache, writer.pool(), scrubber.clone()).await?;
        let access = Arc::new(Access::new(keys.clone(), addr.port())?);
        let dashboard = Dashboard::new(access.clone(), writer.pool().clone(), scrubber.clone());
        let breaker = (
            config.gateway.breaker_failures,
            config.gateway.breaker_cooldown,
        );
        let state_config = config.gateway.clone();
        let state = Arc::new(AppState {
            config,
            client: LazyClient::start(),
            writer,
            session_id,
            keys,
            inflight: inflight.clone(),
            seq: AtomicU64::new(0),
            mcp: mcp.filter(|h| !h.tools().is_empty()),
            health: crate::reliability::Health::new(breaker.0, breaker.1),
            limits: crate::reliability::Limits::default(),
            budget,
            metrics: Arc::new(Metrics::default()),
            team,
            remote: Arc::default(),
            cache,
            scrubber,
        });
        let app = App::gateway(routes::router(state.clone(), Arc::new(dashboard)), state);
        let (stop, stopped) = oneshot::channel::<()>();
        let limits = ServeLimits::from(&state_config);
        let task = tokio::spawn(serve(listener, app, limits, async {
            let _ = stopped.await;
        }));
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

    /// Waits up to `limit` until no request is in flight, so every finished request's row is
    /// queued (a row is queued just after its response's last bytes are flushed, not before);
    /// a [`Writer::flush`] after it then covers them. Returns the requests still running.
    pub async fn settled(&self, limit: Duration) -> usize {
        self.inflight.wait_idle(limit).await
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
