//! The request log: an embedded SQLite file in WAL mode by default, or a PostgreSQL database
//! shared by a team's gateways (`[store] url`), written off the request path.
//!
//! Handlers hand finished [`RequestRecord`]s to a [`Writer`], whose own thread commits them in
//! small batches (one transaction per burst), so a crash loses at most the requests still in
//! flight and no request waits on the database. Readers use their own connections: [`open`]
//! (SQLite file), [`connect`] (either backend), or a [`Pool`] from async code. Every query is
//! written once against [`Sql`] (see `db.rs`); `schema.rs` holds the migrations for both.

mod chunks;
mod db;
mod filter;
mod location;
mod query;
mod schema;
mod writer;

pub use db::{
    Db, Dialect, FromValue, PgHandle, Row, Sql, Value, query_map, query_one, query_opt,
    to_pg_placeholders,
};
pub use filter::{Where, like_contains, like_escape};
pub use location::{Location, PgUrl, STORE_URL_VAR, pg_error_text, redact_url};
pub use query::{
    AttemptRow, LogFilter, LogRow, SessionRow, StoredBodies, ToolCallRow, attempts, bodies,
    count_requests, each_request, last_session_id, max_rowid, prune, request, requests,
    requests_after, session_reliability, session_tool_stats, sessions, spend_since, tool_calls,
};
pub use schema::{MIGRATIONS, Migration};
pub use writer::{MAX_PENDING, SHUTDOWN_GRACE, Writer, WriterThread};

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::usage::Usage;

/// One finished request, as stored.
#[derive(Debug, Clone, Default)]
pub struct RequestRecord {
    /// Time-ordered id (UUID v7).
    pub id: String,
    /// The session it belongs to.
    pub session_id: Option<String>,
    /// Unix milliseconds when the request arrived.
    pub started_at_ms: i64,
    /// The route, e.g. `/openai/v1/responses`.
    pub route: String,
    /// Provider name, once routed.
    pub provider: Option<String>,
    /// The model the client asked for.
    pub model: Option<String>,
    /// The model sent upstream.
    pub upstream_model: Option<String>,
    /// Which key served it (its alias, never the key).
    pub key_alias: Option<String>,
    /// Whether the response streamed.
    pub stream: bool,
    /// HTTP status sent to the client.
    pub http_status: u16,
    /// Error message, when the request failed.
    pub error: Option<String>,
    /// Tokens.
    pub usage: Usage,
    /// Cost in micro-USD; `None` when the price is unknown.
    pub cost_micro_usd: Option<i64>,
    /// Arrival to last byte.
    pub latency_us: i64,
    /// Arrival to the first output token (streams).
    pub ttft_us: Option<i64>,
    /// Upstream send to upstream last byte.
    pub upstream_us: Option<i64>,
    /// `latency_us - upstream_us`: time spent in the gateway.
    pub overhead_us: Option<i64>,
    /// What translation dropped or warned about.
    pub notes: Option<String>,
    /// Time spent running MCP tools inside this request.
    pub tool_us: Option<i64>,
    /// MCP tool calls the gateway ran for it.
    pub tool_calls: Vec<ToolCallRecord>,
    /// Every upstream attempt (retries, fallbacks).
    pub attempts: Vec<AttemptRecord>,
    /// Redacted request headers as JSON.
    pub request_headers: Option<String>,
    /// Request body (capped), when capture is on.
    pub request_body: Option<String>,
    /// Response body or raw stream (capped), when capture is on.
    pub response_body: Option<String>,
    /// The virtual key's name (never the key) when one authenticated the request.
    pub virtual_key: Option<String>,
    /// The response cache's verdict: `hit`, `miss`, or `None` when it was not consulted.
    pub cache: Option<&'static str>,
}

impl RequestRecord {
    /// Adds a note for `notes`, after any already there (`; `-separated).
    pub fn add_note(&mut self, note: &str) {
        self.notes = Some(match self.notes.take() {
            Some(n) => format!("{n}; {note}"),
            None => note.to_string(),
        });
    }
}

/// One upstream attempt, as stored.
#[derive(Debug, Clone, Default)]
pub struct AttemptRecord {
    /// Provider name.
    pub provider: String,
    /// Upstream model.
    pub model: String,
    /// Key alias (never the key).
    pub key_alias: Option<String>,
    /// HTTP status; 0 when no answer came.
    pub status: u16,
    /// What went wrong.
    pub error: Option<String>,
    /// How long it took.
    pub latency_us: i64,
}

/// One MCP tool call, as stored.
#[derive(Debug, Clone, Default)]
pub struct ToolCallRecord {
    /// Unix ms when it started.
    pub started_at_ms: i64,
    /// The server.
    pub server: String,
    /// The tool.
    pub tool: String,
    /// Arguments (capped).
    pub arguments: String,
    /// Duration.
    pub duration_us: i64,
    /// It failed.
    pub is_error: bool,
    /// The start of its result.
    pub result: String,
}

/// A `bifrost codex|run|serve` invocation.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// Time-ordered id.
    pub id: String,
    /// `codex`, `run` or `serve`.
    pub kind: String,
    /// Unix milliseconds.
    pub started_at_ms: i64,
    /// The command line as a JSON array.
    pub argv: Vec<String>,
    /// Working directory.
    pub cwd: Option<String>,
}

/// Opens (creating if needed) the SQLite store at `path` and brings its schema up to date.
pub fn open(path: &Path) -> Result<Connection> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    }
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    schema::migrate_sqlite(&mut conn)?;
    Ok(conn)
}

/// Opens either store and brings its schema up to date. Blocking: call it off the async
/// threads (the PostgreSQL client panics on one). An unreachable or refusing server is a
/// [`Error::Usage`] naming the URL without its password.
pub fn connect(location: &Location) -> Result<Db> {
    match location {
        Location::Sqlite(p) => Ok(Db::Sqlite(open(p)?)),
        Location::Postgres(url) => {
            let mut client = url.connect()?;
            schema::migrate_postgres(&mut client).map_err(|e| match e {
                Error::Postgres(pg) => Error::Usage(format!(
                    "cannot migrate the PostgreSQL store {}: {}; the role needs CREATE on the database",
                    url.shown(),
                    url.scrub(&pg_error_text(&pg))
                )),
                other => other,
            })?;
            Ok(Db::Postgres(Box::new(PgHandle::new(client))))
        }
    }
}

/// Reusable read connections to one store, for async code: [`Pool::read`] runs a closure on a
/// blocking thread with a connection (opened on first use, kept for the next call unless it
/// broke).
pub struct Pool {
    location: Location,
    idle: Mutex<Vec<Db>>,
}

impl Drop for Pool {
    /// A PostgreSQL client owns a runtime, which may not be dropped on an async thread (where
    /// the last handle to a pool usually goes): idle connections are closed on a thread.
    fn drop(&mut self) {
        let idle = self.idle.get_mut().map(std::mem::take).unwrap_or_default();
        if idle.iter().any(|db| matches!(db, Db::Postgres(_))) {
            let _ = std::thread::Builder::new()
                .name("bifrost-store-close".into())
                .spawn(move || drop(idle));
        }
    }
}

/// Idle connections a pool keeps.
const POOL_IDLE: usize = 4;

impl Pool {
    /// A pool over `location`; nothing is opened yet.
    pub fn new(location: Location) -> Arc<Pool> {
        Arc::new(Pool {
            location,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// The store it reads.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Runs `f` with a connection on the calling thread (which must not be an async one).
    pub fn with<T>(&self, f: impl FnOnce(&Db) -> Result<T>) -> Result<T> {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let db = match idle {
            Some(db) if !db.is_broken() => db,
            _ => connect(&self.location)?,
        };
        let out = f(&db);
        if !db.is_broken()
            && let Ok(mut v) = self.idle.lock()
            && v.len() < POOL_IDLE
        {
            v.push(db);
        }
        out
    }

    /// Runs `f` with a connection on a blocking thread.
    pub async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Db) -> Result<T> + Send + 'static,
    {
        let pool = self.clone();
        tokio::task::spawn_blocking(move || pool.with(f))
            .await
            .map_err(|e| Error::Internal(format!("store read task: {e}")))?
    }

    /// Whether the store answers `SELECT 1` (for a readiness probe).
    pub async fn ping(self: &Arc<Self>) -> Result<()> {
        self.read(|db| db.ping()).await
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// A new time-ordered id.
pub fn new_id() -> String {
    crate::ids::uuid_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_add_up() {
        let mut r = RequestRecord::default();
        r.add_note("served by fallback a/b");
        r.add_note("bodies not captured");
        assert_eq!(
            r.notes.as_deref(),
            Some("served by fallback a/b; bodies not captured")
        );
    }

    #[test]
    fn migrations_are_idempotent() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", e))?;
        let p = dir.path().join("logs.db");
        drop(open(&p)?);
        let conn = open(&p)?;
        let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        assert_eq!(v, schema::latest());
        let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
        assert_eq!(mode, "wal");
        Ok(())
    }
}
