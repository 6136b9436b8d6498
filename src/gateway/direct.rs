//! Upstreams on this machine over plain HTTP (Ollama, vLLM, llama.cpp and other local model
//! servers) are sent on HTTP/1 connections that each gateway thread keeps itself.
//!
//! reqwest serves every other upstream. For a loopback server its layers only cost time:
//! - it parses the URL twice per request, in its redirect policy and in its response future;
//! - then come the redirect middleware, the pool checkout and the connector service;
//! - TLS and proxy lookup do not apply to loopback.
//!
//! Sampled with perf (cpu-clock, one pinned CPU, the 17 KB Codex request), those layers were
//! about 8.6 % of a passthrough request's time on the gateway thread. The answer is handed back as a [`reqwest::Response`], so retries, errors, the tee and translation are
//! the same on both paths.
//!
//! Connections are pooled per thread, and a shard's connections are driven by that shard's
//! runtime (see `shards`). A pooled connection that the server closed before the request was
//! written is replaced, and the request goes again; one that fails after the request was
//! written is reported, since a POST may not be repeated.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

/// How long an idle connection is kept: reqwest's pool setting for the other upstreams.
const IDLE: Duration = Duration::from_secs(90);
/// How long connecting may take: the same as reqwest's for the other upstreams.
const CONNECT: Duration = Duration::from_secs(10);
/// Connections kept per upstream and thread; busy ones count too.
const MAX_KEPT: usize = 256;

type Conn = SendRequest<reqwest::Body>;

thread_local! {
    /// This thread's connections by `host:port`, with the time each was last checked in.
    static POOL: RefCell<HashMap<String, Vec<(Conn, Instant)>>> = RefCell::new(HashMap::new());
}

/// Whether `url` is served here: `http://` to a loopback address or `localhost`.
pub(crate) fn serves(url: &reqwest::Url) -> bool {
    if url.scheme() != "http" {
        return false;
    }
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// Sends `req` (whose URL [`serves`] accepted) on a kept connection or a new one.
pub(crate) async fn send(req: reqwest::Request) -> Result<reqwest::Response, String> {
    let mut req = req;
    let url = req.url();
    // `host_str` keeps an IPv6 address's brackets, so `key` is also the address to connect to.
    let host = url.host_str().unwrap_or("localhost");
    let key = format!("{host}:{}", url.port_or_known_default().unwrap_or(80));
    let authority = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let method = req.method().clone();
    let headers = std::mem::take(req.headers_mut());
    let body = req.body_mut().take().unwrap_or_else(|| Vec::new().into());
    let mut out = http::Request::builder()
        .method(method)
        .uri(target)
        .body(body)
        .map_err(|e| format!("cannot build the upstream request: {e}"))?;
    *out.headers_mut() = headers;
    let h = out.headers_mut();
    if let Ok(v) = http::HeaderValue::from_str(&authority) {
        h.insert(http::header::HOST, v);
    }
    if !h.contains_key(http::header::USER_AGENT) {
        h.insert(
            http::header::USER_AGENT,
            http::HeaderValue::from_static(concat!("bifrost/", env!("CARGO_PKG_VERSION"))),
        );
    }

    let mut req = out;
    loop {
        let (mut conn, reused) = match checkout(&key) {
            Some(c) => (c, true),
            None => (connect(&key).await?, false),
        };
        match conn.try_send_request(req).await {
            Ok(resp) => {
                checkin(key, conn);
                return Ok(reqwest::Response::from(resp.map(reqwest::Body::wrap)));
            }
            Err(mut e) => match e.take_message() {
                // The kept connection was closed before the request went out: use a new one.
                Some(back) if reused => req = back,
                _ => {
                    return Err(format!(
                        "error sending request to {key}: {}",
                        describe(e.error())
                    ));
                }
            },
        }
    }
}

/// A ready connection to `key` from this thread's pool, dropping closed and stale ones.
fn checkout(key: &str) -> Option<Conn> {
    POOL.with_borrow_mut(|pool| {
        let conns = pool.get_mut(key)?;
        let now = Instant::now();
        conns.retain(|(c, at)| !c.is_closed() && (now - *at < IDLE || !c.is_ready()));
        let i = conns.iter().rposition(|(c, _)| c.is_ready())?;
        Some(conns.swap_remove(i).0)
    })
}

/// Keeps `conn` for the next request to `key`; it is handed out again once it is ready.
fn checkin(key: String, conn: Conn) {
    POOL.with_borrow_mut(|pool| {
        let conns = pool.entry(key).or_default();
        if conns.len() < MAX_KEPT {
            conns.push((conn, Instant::now()));
        }
    });
}

/// Connects to `addr` (`host:port`; tokio reads an address literal without a DNS lookup).
async fn connect(addr: &str) -> Result<Conn, String> {
    let tcp = match tokio::time::timeout(CONNECT, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return Err(format!("error connecting to {addr}: {e}")),
        Err(_) => return Err(format!("connecting to {addr} timed out after {CONNECT:?}")),
    };
    let _ = tcp.set_nodelay(true);
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| format!("error connecting to {addr}: {}", describe(&e)))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("upstream connection ended: {e}");
        }
    });
    Ok(send)
}

/// hyper's error with its causes, as reqwest writes them.
fn describe(e: &hyper::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn url(s: &str) -> reqwest::Url {
        reqwest::Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn only_plain_http_to_this_machine_is_served() {
        for yes in [
            "http://127.0.0.1:11434/v1/responses",
            "http://127.9.9.9/v1",
            "http://[::1]:8000/v1",
            "http://localhost:8000/v1",
            "http://LocalHost/v1",
        ] {
            assert!(serves(&url(yes)), "{yes}");
        }
        for no in [
            "https://127.0.0.1:8443/v1",
            "https://api.openai.com/v1",
            "http://10.0.0.5:8000/v1",
            "http://example.com/v1",
            "http://localhost.example.com/v1",
        ] {
            assert!(!serves(&url(no)), "{no}");
        }
    }

    /// A server that counts connections, answers each request with its method, path, host
    /// and body length, and closes after `per_conn` requests on a connection.
    async fn server(per_conn: usize) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
        server_on("127.0.0.1:0", per_conn).await
    }

    /// [`server`] bound to `bind`.
    async fn server_on(bind: &str, per_conn: usize) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
        use hyper::service::service_fn;
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let conns = Arc::new(AtomicUsize::new(0));
        let counted = conns.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let served = Arc::new(AtomicUsize::new(0));
                tokio::spawn(async move {
                    let svc = service_fn(move |r: http::Request<hyper::body::Incoming>| {
                        let served = served.clone();
                        async move {
                            use http_body_util::BodyExt;
                            let (parts, body) = r.into_parts();
                            let len = body.collect().await.map(|c| c.to_bytes().len())?;
                            let host = parts
                                .headers
                                .get("host")
                                .and_then(|h| h.to_str().ok())
                                .unwrap_or("")
                                .to_string();
                            let text = format!("{} {} {host} {len}", parts.method, parts.uri);
                            let mut resp = http::Response::new(http_body_util::Full::new(
                                bytes::Bytes::from(text),
                            ));
                            if served.fetch_add(1, Ordering::SeqCst) + 1 >= per_conn {
                                resp.headers_mut()
                                    .insert("connection", http::HeaderValue::from_static("close"));
                            }
                            Ok::<_, hyper::Error>(resp)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), svc)
                        .await;
                });
            }
        });
        (addr, conns)
    }

    async fn post(client: &reqwest::Client, u: &str, body: &'static str) -> String {
        let req = client
            .post(u)
            .body(body)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let resp = send(req).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resp.status(), 200);
        resp.text().await.unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test(flavor = "current_thread")]
    async fn requests_in_a_row_share_one_connection_over_ipv4_and_ipv6() {
        let client = crate::gateway::http_client().unwrap_or_else(|e| panic!("{e}"));
        for (bind, prefix) in [
            ("127.0.0.1:0", "http://127.0.0.1:"),
            ("[::1]:0", "http://[::1]:"),
        ] {
            let (addr, conns) = server_on(bind, usize::MAX).await;
            let u = format!("http://{addr}/v1/responses?x=1");
            assert!(u.starts_with(prefix), "{u}");
            for _ in 0..5 {
                let text = post(&client, &u, "hello").await;
                assert_eq!(text, format!("POST /v1/responses?x=1 {addr} 5"));
            }
            assert_eq!(conns.load(Ordering::SeqCst), 1, "{bind}");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_connection_the_server_closed_is_replaced() {
        let (addr, conns) = server(1).await;
        let client = crate::gateway::http_client().unwrap_or_else(|e| panic!("{e}"));
        let u = format!("http://{addr}/v1/chat/completions");
        for _ in 0..3 {
            // Let the previous connection's close be seen, or not: both must work.
            tokio::task::yield_now().await;
            assert_eq!(
                post(&client, &u, "{}").await,
                format!("POST /v1/chat/completions {addr} 2")
            );
        }
        assert_eq!(conns.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_server_that_is_not_there_is_named() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        drop(listener);
        let req = crate::gateway::http_client()
            .unwrap_or_else(|e| panic!("{e}"))
            .post(format!("http://{addr}/v1/responses"))
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let err = send(req).await.err().unwrap_or_default();
        assert!(err.contains(&addr.to_string()), "{err}");
    }
}
