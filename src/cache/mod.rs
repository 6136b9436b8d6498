//! The exact-match response cache (`[cache] enabled = true`): a successful, complete answer
//! is stored under a hash of its normalised request and replayed byte for byte (streams event
//! by event) to the next identical request, at no cost. Entries live in the log store
//! (SQLite or PostgreSQL, the `cache_entries` table), or in Redis when `[cache] redis_url` is set, and expire after `ttl_secs`.
//!
//! Lookups are on the request path (one indexed read); writes never are: [`Fill`] collects the
//! client-facing bytes as they stream and hands the finished entry to a background task.

mod key;

pub use key::{canonical, complete, is_agent, key, normalise};

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;

use crate::config::CacheConfig;
use crate::error::{Error, Result};

/// One stored answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The response's content type (`text/event-stream` or JSON).
    pub content_type: String,
    /// Exactly the bytes the client received.
    pub body: Bytes,
}

enum Backend {
    /// The `cache_entries` table of the log store (SQLite or PostgreSQL).
    Store(Arc<crate::store::Pool>),
    Redis {
        conn: redis::aio::ConnectionManager,
        prefix: String,
    },
}

/// An open cache.
pub struct Cache {
    backend: Backend,
    ttl: Duration,
    max_entry_bytes: usize,
    agent_models: Vec<String>,
    puts: AtomicU64,
    /// Provider keys: an answer holding one (an upstream echoing it) is never stored.
    secrets: Arc<crate::secret::KeyScrubber>,
}

/// Why a request was not looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Agent traffic for a model not in `agent_models`.
    Agent,
    /// The body is not a JSON object.
    NotJson,
}

impl Cache {
    /// Opens the cache `config` describes, next to the store at `db`; `None` when it is off.
    /// `secrets` (provider keys) are never stored: an answer containing one is not cached.
    pub async fn open(
        config: &CacheConfig,
        store: &Arc<crate::store::Pool>,
        secrets: Arc<crate::secret::KeyScrubber>,
    ) -> Result<Option<Arc<Cache>>> {
        if !config.enabled {
            return Ok(None);
        }
        let backend = match &config.redis_url {
            Some(url) => Backend::Redis {
                conn: connect_redis(url.expose()).await?,
                prefix: config.redis_prefix.clone(),
            },
            // The table comes with the store's migrations.
            None => Backend::Store(store.clone()),
        };
        Ok(Some(Arc::new(Cache {
            backend,
            ttl: config.ttl,
            max_entry_bytes: config.max_entry_bytes,
            agent_models: config.agent_models.clone(),
            puts: AtomicU64::new(0),
            secrets,
        })))
    }

    /// The key for a request, or why it is not cached. `models` are the names the request
    /// goes by (as requested, and `provider/model` as routed) for the `agent_models` globs.
    pub fn plan(
        &self,
        route: &str,
        provider: &str,
        upstream_model: &str,
        models: &[&str],
        body: &[u8],
    ) -> std::result::Result<String, Skip> {
        let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| Skip::NotJson)?;
        if !v.is_object() {
            return Err(Skip::NotJson);
        }
        if is_agent(&v)
            && !self
                .agent_models
                .iter()
                .any(|g| models.iter().any(|m| crate::providers::glob(g, m)))
        {
            return Err(Skip::Agent);
        }
        Ok(key(route, provider, upstream_model, &v))
    }

    /// The largest response stored.
    pub fn max_entry_bytes(&self) -> usize {
        self.max_entry_bytes
    }

    /// The live entry for `key`. Backend errors are logged and count as a miss.
    pub async fn get(&self, key: &str) -> Option<Entry> {
        let got = match &self.backend {
            Backend::Store(pool) => {
                let key = key.to_string();
                pool.read(move |db| store_get(db, &key)).await
            }
            Backend::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                redis::cmd("GET")
                    .arg(format!("{prefix}{key}"))
                    .query_async::<Option<Vec<u8>>>(&mut conn)
                    .await
                    .map(|v| v.and_then(|b| decode(&b)))
                    .map_err(|e| Error::Internal(format!("redis GET: {e}")))
            }
        };
        got.unwrap_or_else(|e| {
            tracing::warn!("cache lookup failed (served as a miss): {e}");
            None
        })
    }

    /// Stores `entry` in the background; never waits.
    pub fn put(self: &Arc<Self>, key: String, entry: Entry) {
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.write(&key, &entry).await {
                tracing::warn!("cache write failed: {e}");
            }
        });
    }

    /// Stores `entry` and waits for it.
    pub async fn write(&self, key: &str, entry: &Entry) -> Result<()> {
        let ttl_ms = i64::try_from(self.ttl.as_millis())
            .unwrap_or(i64::MAX)
            .max(1);
        match &self.backend {
            Backend::Store(pool) => {
                // The store keeps text; a body that is not UTF-8 is simply not cached.
                let Ok(body) = std::str::from_utf8(&entry.body).map(str::to_string) else {
                    return Ok(());
                };
                let key = key.to_string();
                let content_type = entry.content_type.clone();
                let sweep = self.puts.fetch_add(1, Ordering::Relaxed).is_multiple_of(64);
                pool.read(move |db| store_put(db, &key, &content_type, body, ttl_ms, sweep))
                    .await
            }
            Backend::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                redis::cmd("SET")
                    .arg(format!("{prefix}{key}"))
                    .arg(encode(entry))
                    .arg("PX")
                    .arg(ttl_ms)
                    .query_async::<()>(&mut conn)
                    .await
                    .map_err(|e| Error::Internal(format!("redis SET: {e}")))
            }
        }
    }
}

async fn connect_redis(url: &str) -> Result<redis::aio::ConnectionManager> {
    let shown = without_credentials(url);
    let fail = |e: redis::RedisError| {
        Error::Usage(format!(
            "cannot connect to the cache's Redis at {shown} ({}); check [cache] redis_url and that Redis runs",
            crate::secret::scrub(&e.to_string(), &[url])
        ))
    };
    let client = redis::Client::open(url).map_err(fail)?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(3)))
        .set_response_timeout(Some(Duration::from_secs(2)))
        .set_number_of_retries(1);
    redis::aio::ConnectionManager::new_with_config(client, config)
        .await
        .map_err(fail)
}

/// A URL as it may be shown: user and password removed.
fn without_credentials(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_password(None);
            let _ = u.set_username("");
            u.to_string()
        }
        Err(_) => "(an unparsable URL)".into(),
    }
}

/// Redis value: content type, a newline, the body.
fn encode(e: &Entry) -> Vec<u8> {
    let mut v = Vec::with_capacity(e.content_type.len() + 1 + e.body.len());
    v.extend_from_slice(e.content_type.as_bytes());
    v.push(b'\n');
    v.extend_from_slice(&e.body);
    v
}

fn decode(b: &[u8]) -> Option<Entry> {
    let nl = memchr::memchr(b'\n', b)?;
    Some(Entry {
        content_type: String::from_utf8_lossy(&b[..nl]).into_owned(),
        body: Bytes::copy_from_slice(&b[nl + 1..]),
    })
}

fn store_get(db: &(impl crate::store::Sql + ?Sized), key: &str) -> Result<Option<Entry>> {
    crate::store::query_opt(
        db,
        "SELECT content_type, body FROM cache_entries WHERE key = ?1 AND expires_at > ?2",
        &[key.into(), crate::store::now_ms().into()],
        |r| {
            Ok(Entry {
                content_type: r.get(0)?,
                body: Bytes::from(r.get::<String>(1)?),
            })
        },
    )
}

fn store_put(
    db: &(impl crate::store::Sql + ?Sized),
    key: &str,
    content_type: &str,
    body: String,
    ttl_ms: i64,
    sweep: bool,
) -> Result<()> {
    let now = crate::store::now_ms();
    db.execute(
        "INSERT INTO cache_entries (key, created_at, expires_at, content_type, body) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (key) DO UPDATE SET created_at = excluded.created_at,
             expires_at = excluded.expires_at, content_type = excluded.content_type, body = excluded.body",
        &[
            key.into(),
            now.into(),
            now.saturating_add(ttl_ms).into(),
            content_type.into(),
            body.into(),
        ],
    )?;
    if sweep {
        db.execute(
            "DELETE FROM cache_entries WHERE expires_at <= ?1",
            &[now.into()],
        )?;
    }
    Ok(())
}

type DataStream = Pin<Box<dyn Stream<Item = std::result::Result<Bytes, axum::Error>> + Send>>;

/// A response body on its way to the client after a miss: every chunk passes through
/// unchanged while a copy is kept (up to `max_entry_bytes`); when the body ends complete and
/// successful, the copy is stored in the background. A client that leaves early, an error
/// in the body or an incomplete stream stores nothing.
pub struct Fill {
    inner: DataStream,
    cache: Arc<Cache>,
    key: Option<String>,
    content_type: String,
    buf: Vec<u8>,
}

impl Fill {
    /// Wraps `body` (the response to a request with `key`).
    pub fn new(
        body: axum::body::Body,
        cache: Arc<Cache>,
        key: String,
        content_type: String,
    ) -> Fill {
        Fill {
            inner: Box::pin(body.into_data_stream()),
            cache,
            key: Some(key),
            content_type,
            buf: Vec::new(),
        }
    }
}

impl Stream for Fill {
    type Item = std::result::Result<Bytes, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let next = this.inner.as_mut().poll_next(cx);
        match &next {
            Poll::Ready(Some(Ok(chunk))) if this.key.is_some() => {
                if this.buf.len() + chunk.len() > this.cache.max_entry_bytes {
                    this.key = None;
                    this.buf = Vec::new();
                } else {
                    this.buf.extend_from_slice(chunk);
                }
            }
            Poll::Ready(Some(Err(_))) => this.key = None,
            Poll::Ready(None) => {
                if let Some(key) = this.key.take()
                    && complete(&this.content_type, &this.buf)
                    && !this.cache.secrets.found_in(&this.buf)
                {
                    let body = Bytes::from(std::mem::take(&mut this.buf));
                    this.cache.put(
                        key,
                        Entry {
                            content_type: this.content_type.clone(),
                            body,
                        },
                    );
                }
            }
            _ => {}
        }
        next
    }
}

/// A stored body as the client gets it: a stream event by event (SSE), else one chunk.
pub fn replay(entry: &Entry) -> axum::body::Body {
    if !entry.content_type.starts_with("text/event-stream") {
        return axum::body::Body::from(entry.body.clone());
    }
    let body = entry.body.clone();
    let mut chunks = Vec::new();
    let mut start = 0;
    while let Some(i) = memchr::memmem::find(&body[start..], b"\n\n") {
        let end = start + i + 2;
        chunks.push(Ok::<_, std::io::Error>(body.slice(start..end)));
        start = end;
    }
    if start < body.len() {
        chunks.push(Ok(body.slice(start..)));
    }
    axum::body::Body::from_stream(futures::stream::iter(chunks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_values_round_trip() {
        let e = Entry {
            content_type: "text/event-stream; charset=utf-8".into(),
            body: Bytes::from_static(b"data: a\n\ndata: b\n\n"),
        };
        assert_eq!(decode(&encode(&e)), Some(e));
        assert_eq!(decode(b"no newline"), None);
    }

    #[test]
    fn redis_urls_are_shown_without_credentials() {
        let shown = without_credentials("redis://user:hunter2@127.0.0.1:6379/0");
        assert!(
            !shown.contains("hunter2") && !shown.contains("user"),
            "{shown}"
        );
        assert!(shown.contains("127.0.0.1:6379"));
    }
}
