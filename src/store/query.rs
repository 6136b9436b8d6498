//! Reading the store: the rows behind `bifrost logs`, `logs show` and the session summary.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};
use serde::Serialize;

use crate::error::Result;

/// Which requests to read. Every condition given must hold; values are bound, never spliced.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Only this session.
    pub session_id: Option<String>,
    /// At most this many, newest first before re-ordering.
    pub limit: Option<usize>,
    /// Only requests that arrived at or after this Unix millisecond.
    pub since_ms: Option<i64>,
    /// Only requests that arrived before this Unix millisecond.
    pub before_ms: Option<i64>,
    /// The requested model, or `provider/upstream_model`.
    pub model: Option<String>,
    /// Only this provider.
    pub provider: Option<String>,
    /// Only failed requests.
    pub errors_only: bool,
    /// Only rows inserted after this store rowid (`--follow`).
    pub after_rowid: Option<i64>,
}

impl LogFilter {
    /// The `WHERE` clause (empty or starting with ` WHERE`) and its bound values.
    fn clause(&self) -> (String, Vec<Value>) {
        let mut conds: Vec<&str> = Vec::new();
        let mut args: Vec<Value> = Vec::new();
        if let Some(s) = &self.session_id {
            conds.push("session_id = ?");
            args.push(Value::Text(s.clone()));
        }
        if let Some(t) = self.since_ms {
            conds.push("started_at >= ?");
            args.push(Value::Integer(t));
        }
        if let Some(t) = self.before_ms {
            conds.push("started_at < ?");
            args.push(Value::Integer(t));
        }
        if let Some(m) = &self.model {
            conds.push("(model = ? OR provider || '/' || upstream_model = ?)");
            args.push(Value::Text(m.clone()));
            args.push(Value::Text(m.clone()));
        }
        if let Some(p) = &self.provider {
            conds.push("provider = ?");
            args.push(Value::Text(p.clone()));
        }
        if self.errors_only {
            conds.push("(error IS NOT NULL OR http_status >= 400)");
        }
        if let Some(r) = self.after_rowid {
            conds.push("rowid > ?");
            args.push(Value::Integer(r));
        }
        if conds.is_empty() {
            (String::new(), args)
        } else {
            (format!(" WHERE {}", conds.join(" AND ")), args)
        }
    }
}

/// One request row as `bifrost logs --json` prints it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LogRow {
    /// Request id.
    pub id: String,
    /// Session id.
    pub session_id: Option<String>,
    /// RFC 3339 arrival time.
    pub time: String,
    /// Provider name.
    pub provider: Option<String>,
    /// Requested model.
    pub model: Option<String>,
    /// `ok` or `error`.
    pub status: &'static str,
    /// HTTP status sent to the client.
    pub http_status: u16,
    /// Whether it streamed.
    pub stream: bool,
    /// Input tokens (cached included).
    pub input_tokens: i64,
    /// Cached input tokens.
    pub cached_input_tokens: i64,
    /// Output tokens (reasoning included).
    pub output_tokens: i64,
    /// Reasoning tokens.
    pub reasoning_tokens: i64,
    /// USD, or null when the price is unknown.
    pub cost_usd: Option<f64>,
    /// Total latency.
    pub latency_ms: f64,
    /// Time to first token; null for non-streams.
    pub ttft_ms: Option<f64>,
    /// Error message.
    pub error: Option<String>,
    /// The route.
    #[serde(skip)]
    pub route: String,
    /// Upstream time.
    #[serde(skip)]
    pub upstream_ms: Option<f64>,
    /// Gateway overhead.
    #[serde(skip)]
    pub overhead_ms: Option<f64>,
    /// Key alias.
    #[serde(skip)]
    pub key_alias: Option<String>,
    /// Upstream model.
    #[serde(skip)]
    pub upstream_model: Option<String>,
    /// What translation dropped or warned about.
    #[serde(skip)]
    pub notes: Option<String>,
    /// The response cache's verdict (`hit`, `miss`), null when not consulted.
    pub cache: Option<String>,
}

/// Captured headers and bodies of one request.
#[derive(Debug, Clone, Default)]
pub struct StoredBodies {
    /// Redacted request headers (JSON object).
    pub request_headers: Option<String>,
    /// Request body.
    pub request: Option<String>,
    /// Response body or stream.
    pub response: Option<String>,
}

const COLUMNS: &str = "id, session_id, started_at, provider, model, http_status, stream, error,
    input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, cost_micro_usd,
    latency_us, ttft_us, route, upstream_us, overhead_us, key_alias, upstream_model, notes, cache";

fn us_to_ms(us: i64) -> f64 {
    (us as f64 / 1000.0 * 1000.0).round() / 1000.0
}

fn row(r: &Row<'_>) -> rusqlite::Result<LogRow> {
    row_at(r, 0)
}

/// Reads a [`LogRow`] whose [`COLUMNS`] start at column `o`.
fn row_at(r: &Row<'_>, o: usize) -> rusqlite::Result<LogRow> {
    let started: i64 = r.get(o + 2)?;
    let error: Option<String> = r.get(o + 7)?;
    let http_status: u16 = r.get(o + 5)?;
    Ok(LogRow {
        id: r.get(o)?,
        session_id: r.get(o + 1)?,
        time: jiff::Timestamp::from_millisecond(started)
            .map(|t| t.to_string())
            .unwrap_or_default(),
        provider: r.get(o + 3)?,
        model: r.get(o + 4)?,
        status: if error.is_none() && http_status < 400 {
            "ok"
        } else {
            "error"
        },
        http_status,
        stream: r.get(o + 6)?,
        error,
        input_tokens: r.get(o + 8)?,
        cached_input_tokens: r.get(o + 9)?,
        output_tokens: r.get(o + 10)?,
        reasoning_tokens: r.get(o + 11)?,
        cost_usd: r.get::<_, Option<i64>>(o + 12)?.map(|m| m as f64 / 1e6),
        latency_ms: us_to_ms(r.get(o + 13)?),
        ttft_ms: r.get::<_, Option<i64>>(o + 14)?.map(us_to_ms),
        route: r.get(o + 15)?,
        upstream_ms: r.get::<_, Option<i64>>(o + 16)?.map(us_to_ms),
        overhead_ms: r.get::<_, Option<i64>>(o + 17)?.map(us_to_ms),
        key_alias: r.get(o + 18)?,
        upstream_model: r.get(o + 19)?,
        notes: r.get(o + 20)?,
        cache: r.get(o + 21)?,
    })
}

/// The id of the most recent session that made requests, or of the most recent session.
pub fn last_session_id(conn: &Connection) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT id FROM sessions WHERE kind != 'serve' ORDER BY started_at DESC, id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?)
}

/// Requests matching `filter`, oldest first (the newest `limit` of them).
pub fn requests(conn: &Connection, filter: &LogFilter) -> Result<Vec<LogRow>> {
    let mut rows = Vec::new();
    each_request(conn, filter, |_, r| {
        rows.push(r);
        Ok(())
    })?;
    Ok(rows)
}

/// Streams the requests matching `filter` to `f`, oldest first (the newest `limit` of them),
/// one row at a time, with each row's store rowid (insertion order, for `--follow`).
pub fn each_request(
    conn: &Connection,
    filter: &LogFilter,
    mut f: impl FnMut(i64, LogRow) -> Result<()>,
) -> Result<()> {
    let (clause, mut args) = filter.clause();
    let sql = match filter.limit {
        // The newest N through the (started_at, id) index, then re-ordered; SQLite sorts the
        // N rows, never the table.
        Some(n) => {
            args.push(Value::Integer(i64::try_from(n).unwrap_or(i64::MAX)));
            format!(
                "SELECT * FROM (SELECT rowid AS rid, {COLUMNS} FROM requests{clause}
                 ORDER BY started_at DESC, id DESC LIMIT ?) ORDER BY started_at, id"
            )
        }
        None => {
            format!("SELECT rowid AS rid, {COLUMNS} FROM requests{clause} ORDER BY started_at, id")
        }
    };
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(args.iter()))?;
    while let Some(r) = rows.next()? {
        let rid: i64 = r.get(0)?;
        f(rid, row_at(r, 1)?)?;
    }
    Ok(())
}

/// Rows inserted after `after_rowid` that match `filter` (its limit ignored), in insertion
/// order: what `logs --follow` prints next. Insertion order, not arrival time, so a long
/// stream that finishes after a short later one is still seen.
pub fn requests_after(
    conn: &Connection,
    filter: &LogFilter,
    after_rowid: i64,
) -> Result<Vec<(i64, LogRow)>> {
    let f = LogFilter {
        after_rowid: Some(after_rowid),
        limit: None,
        ..filter.clone()
    };
    let (clause, args) = f.clause();
    let mut stmt = conn.prepare(&format!(
        "SELECT rowid AS rid, {COLUMNS} FROM requests{clause} ORDER BY rowid"
    ))?;
    let mut rows = stmt.query(params_from_iter(args.iter()))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push((r.get(0)?, row_at(r, 1)?));
    }
    Ok(out)
}

/// The highest rowid in `requests` (0 when empty).
pub fn max_rowid(conn: &Connection) -> Result<i64> {
    Ok(
        conn.query_row("SELECT COALESCE(MAX(rowid), 0) FROM requests", [], |r| {
            r.get(0)
        })?,
    )
}

/// How many requests match `filter`, capped at its limit.
pub fn count_requests(conn: &Connection, filter: &LogFilter) -> Result<u64> {
    let (clause, args) = filter.clause();
    let n: i64 = conn.query_row(
        &format!("SELECT COUNT(*) FROM requests{clause}"),
        params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    let n = u64::try_from(n).unwrap_or(0);
    Ok(match filter.limit {
        Some(l) => n.min(l as u64),
        None => n,
    })
}

/// Deletes requests (and their bodies) that arrived before `before_ms`, and sessions that
/// ended before it with no request left; returns the number of requests deleted.
pub fn prune(conn: &mut Connection, before_ms: i64) -> Result<usize> {
    let tx = conn.transaction()?;
    let n = prune_rows(&tx, before_ms)?;
    tx.commit()?;
    Ok(n)
}

/// [`prune`] inside the caller's transaction (the writer thread's batch).
pub(super) fn prune_rows(tx: &Connection, before_ms: i64) -> Result<usize> {
    tx.execute(
        "DELETE FROM request_bodies WHERE request_id IN (SELECT id FROM requests WHERE started_at < ?1)",
        [before_ms],
    )?;
    let n = tx.execute("DELETE FROM requests WHERE started_at < ?1", [before_ms])?;
    tx.execute(
        "DELETE FROM sessions WHERE COALESCE(ended_at, started_at) < ?1
           AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.session_id = sessions.id)",
        [before_ms],
    )?;
    Ok(n)
}

/// One request by id, or by a unique prefix of it.
pub fn request(conn: &Connection, id: &str) -> Result<Vec<LogRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM requests WHERE id = ?1 OR id LIKE ?2 ESCAPE '\\' ORDER BY started_at LIMIT 2"
    ))?;
    let like = format!(
        "{}%",
        id.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let rows = stmt
        .query_map([id, like.as_str()], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// A session's reliability events: (requests served by a fallback, extra upstream attempts).
pub fn session_reliability(conn: &Connection, session_id: &str) -> Result<(u64, u64)> {
    let fallbacks: i64 = conn.query_row(
        "SELECT COUNT(*) FROM requests WHERE session_id = ?1 AND notes LIKE '%served by fallback%'",
        [session_id],
        |r| r.get(0),
    )?;
    let retries: i64 = conn.query_row(
        "SELECT COUNT(*) - COUNT(DISTINCT a.request_id) FROM attempts a JOIN requests r ON r.id = a.request_id WHERE r.session_id = ?1",
        [session_id],
        |r| r.get(0),
    )?;
    Ok((fallbacks.max(0) as u64, retries.max(0) as u64))
}

/// One stored upstream attempt.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AttemptRow {
    /// 1-based order.
    pub n: i64,
    /// Provider.
    pub provider: String,
    /// Upstream model.
    pub model: String,
    /// Key alias.
    pub key_alias: Option<String>,
    /// HTTP status (0: no answer).
    pub status: u16,
    /// What went wrong.
    pub error: Option<String>,
    /// Duration.
    pub latency_ms: f64,
}

/// The upstream attempts of a request that needed more than one.
pub fn attempts(conn: &Connection, request_id: &str) -> Result<Vec<AttemptRow>> {
    let mut stmt = conn.prepare("SELECT n, provider, model, key_alias, status, error, latency_us FROM attempts WHERE request_id = ?1 ORDER BY n")?;
    let rows = stmt
        .query_map([request_id], |r| {
            Ok(AttemptRow {
                n: r.get(0)?,
                provider: r.get(1)?,
                model: r.get(2)?,
                key_alias: r.get(3)?,
                status: r.get(4)?,
                error: r.get(5)?,
                latency_ms: us_to_ms(r.get(6)?),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// One stored MCP tool call.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ToolCallRow {
    /// The server.
    pub server: String,
    /// The tool.
    pub tool: String,
    /// Arguments (capped).
    pub arguments: Option<String>,
    /// Duration.
    pub duration_ms: f64,
    /// It failed.
    pub is_error: bool,
    /// The start of its result.
    pub result: Option<String>,
}

/// The MCP tool calls a request made, in order.
pub fn tool_calls(conn: &Connection, request_id: &str) -> Result<Vec<ToolCallRow>> {
    let mut stmt = conn.prepare(
        "SELECT server, tool, arguments, duration_us, is_error, result FROM tool_calls WHERE request_id = ?1 ORDER BY started_at, id",
    )?;
    let rows = stmt
        .query_map([request_id], |r| {
            Ok(ToolCallRow {
                server: r.get(0)?,
                tool: r.get(1)?,
                arguments: r.get(2)?,
                duration_ms: us_to_ms(r.get(3)?),
                is_error: r.get(4)?,
                result: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// A session's MCP tool calls: (count, failed, total duration in ms).
pub fn session_tool_stats(conn: &Connection, session_id: &str) -> Result<(u64, u64, f64)> {
    Ok(conn.query_row(
        "SELECT COUNT(*), COALESCE(SUM(is_error), 0), COALESCE(SUM(duration_us), 0) FROM tool_calls WHERE session_id = ?1",
        [session_id],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64, us_to_ms(r.get(2)?))),
    )?)
}

/// The captured bodies of a request.
pub fn bodies(conn: &Connection, id: &str) -> Result<StoredBodies> {
    Ok(conn
        .query_row(
            "SELECT request_headers, request, response FROM request_bodies WHERE request_id = ?1",
            [id],
            |r| {
                Ok(StoredBodies {
                    request_headers: r.get(0)?,
                    request: r.get(1)?,
                    response: r.get(2)?,
                })
            },
        )
        .optional()?
        .unwrap_or_default())
}

/// One session as `bifrost sessions` prints it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SessionRow {
    /// Session id.
    pub id: String,
    /// `codex`, `run` or `serve`.
    pub kind: String,
    /// RFC 3339 start.
    pub started: String,
    /// RFC 3339 end; null while running (or when bifrost died).
    pub ended: Option<String>,
    /// End minus start.
    pub duration_ms: Option<i64>,
    /// The command line.
    pub argv: Vec<String>,
    /// The child's exit code.
    pub exit_code: Option<i32>,
    /// `provider/model` of every model used, sorted.
    pub models: Vec<String>,
    /// Requests.
    pub requests: u64,
    /// Input tokens (cached included).
    pub input_tokens: i64,
    /// Cached input tokens.
    pub cached_input_tokens: i64,
    /// Output tokens (reasoning included).
    pub output_tokens: i64,
    /// Reasoning tokens.
    pub reasoning_tokens: i64,
    /// USD of the priced requests; null when none is priced.
    pub cost_usd: Option<f64>,
    /// Requests with tokens but no known price.
    pub unpriced_requests: u64,
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// The newest `limit` sessions, newest first, with their requests aggregated.
pub fn sessions(conn: &Connection, limit: usize) -> Result<Vec<SessionRow>> {
    let mut stmt = conn.prepare(
        "SELECT s.id, s.kind, s.started_at, s.ended_at, s.argv, s.exit_code,
                COUNT(r.id), COALESCE(SUM(r.input_tokens), 0), COALESCE(SUM(r.cached_input_tokens), 0),
                COALESCE(SUM(r.output_tokens), 0), COALESCE(SUM(r.reasoning_tokens), 0),
                SUM(r.cost_micro_usd),
                COALESCE(SUM(r.id IS NOT NULL AND r.cost_micro_usd IS NULL AND r.input_tokens + r.output_tokens > 0), 0),
                GROUP_CONCAT(DISTINCT COALESCE(r.provider || '/' || r.upstream_model, r.model))
         FROM (SELECT * FROM sessions ORDER BY started_at DESC, id DESC LIMIT ?1) s
         LEFT JOIN requests r ON r.session_id = s.id
         GROUP BY s.id
         ORDER BY s.started_at DESC, s.id DESC",
    )?;
    let rows = stmt
        .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            let started: i64 = r.get(2)?;
            let ended: Option<i64> = r.get(3)?;
            let argv: String = r.get(4)?;
            let models: Option<String> = r.get(13)?;
            let mut models: Vec<String> = models
                .map(|m| m.split(',').map(str::to_string).collect())
                .unwrap_or_default();
            models.sort();
            Ok(SessionRow {
                id: r.get(0)?,
                kind: r.get(1)?,
                started: rfc3339(started),
                ended: ended.map(rfc3339),
                duration_ms: ended.map(|e| e - started),
                argv: serde_json::from_str(&argv).unwrap_or_else(|_| vec![argv]),
                exit_code: r.get(5)?,
                models,
                requests: u64::try_from(r.get::<_, i64>(6)?).unwrap_or(0),
                input_tokens: r.get(7)?,
                cached_input_tokens: r.get(8)?,
                output_tokens: r.get(9)?,
                reasoning_tokens: r.get(10)?,
                cost_usd: r.get::<_, Option<i64>>(11)?.map(|m| m as f64 / 1e6),
                unpriced_requests: u64::try_from(r.get::<_, i64>(12)?).unwrap_or(0),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Micro-USD spent by requests that arrived at or after `since_ms` (unpriced ones count 0).
pub fn spend_since(conn: &Connection, since_ms: i64) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COALESCE(SUM(cost_micro_usd), 0) FROM requests WHERE started_at >= ?1",
        [since_ms],
        |r| r.get(0),
    )?)
}
