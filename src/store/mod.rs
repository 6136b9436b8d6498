//! The request log: an embedded SQLite file in WAL mode, written off the request path.
//!
//! Handlers hand finished [`RequestRecord`]s to a [`Writer`], whose own thread commits them in
//! small batches (one transaction per burst), so a crash loses at most the requests still in
//! flight and no request waits on disk. Readers open their own connection.

mod query;
mod schema;
mod writer;

pub use query::{
    AttemptRow, LogFilter, LogRow, SessionRow, StoredBodies, ToolCallRow, attempts, bodies,
    count_requests, each_request, last_session_id, max_rowid, prune, request, requests,
    requests_after, session_reliability, session_tool_stats, sessions, spend_since, tool_calls,
};
pub use writer::{Writer, WriterThread};

use std::path::Path;

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
    /// The response cache's verdict: `hit`, `miss`, or `None` when it was not consulted.
    pub cache: Option<&'static str>,
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

/// Opens (creating if needed) the store at `path` and brings its schema up to date.
pub fn open(path: &Path) -> Result<Connection> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    }
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = schema::MIGRATIONS.len() as i64;
    if version > known {
        return Err(Error::Usage(format!(
            "the log store was written by a newer bifrost (schema {version}, this one knows {known}); upgrade bifrost or set BIFROST_HOME elsewhere"
        )));
    }
    for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_idempotent() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", e))?;
        let p = dir.path().join("logs.db");
        drop(open(&p)?);
        let conn = open(&p)?;
        let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        assert_eq!(v, schema::MIGRATIONS.len() as i64);
        let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
        assert_eq!(mode, "wal");
        Ok(())
    }
}
