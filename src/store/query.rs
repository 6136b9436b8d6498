//! Reading the store: the rows behind `bifrost logs`, `logs show` and the session summary.

use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};
use serde::Serialize;

use crate::error::Result;

/// Which requests to read.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Only this session.
    pub session_id: Option<String>,
    /// At most this many, newest first before re-ordering.
    pub limit: Option<usize>,
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
    latency_us, ttft_us, route, upstream_us, overhead_us, key_alias, upstream_model, notes";

fn us_to_ms(us: i64) -> f64 {
    (us as f64 / 1000.0 * 1000.0).round() / 1000.0
}

fn row(r: &Row<'_>) -> rusqlite::Result<LogRow> {
    let started: i64 = r.get(2)?;
    let error: Option<String> = r.get(7)?;
    let http_status: u16 = r.get(5)?;
    Ok(LogRow {
        id: r.get(0)?,
        session_id: r.get(1)?,
        time: jiff::Timestamp::from_millisecond(started)
            .map(|t| t.to_string())
            .unwrap_or_default(),
        provider: r.get(3)?,
        model: r.get(4)?,
        status: if error.is_none() && http_status < 400 {
            "ok"
        } else {
            "error"
        },
        http_status,
        stream: r.get(6)?,
        error,
        input_tokens: r.get(8)?,
        cached_input_tokens: r.get(9)?,
        output_tokens: r.get(10)?,
        reasoning_tokens: r.get(11)?,
        cost_usd: r.get::<_, Option<i64>>(12)?.map(|m| m as f64 / 1e6),
        latency_ms: us_to_ms(r.get(13)?),
        ttft_ms: r.get::<_, Option<i64>>(14)?.map(us_to_ms),
        route: r.get(15)?,
        upstream_ms: r.get::<_, Option<i64>>(16)?.map(us_to_ms),
        overhead_ms: r.get::<_, Option<i64>>(17)?.map(us_to_ms),
        key_alias: r.get(18)?,
        upstream_model: r.get(19)?,
        notes: r.get(20)?,
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
    let mut sql = format!("SELECT {COLUMNS} FROM requests");
    let mut args: Vec<String> = Vec::new();
    if let Some(s) = &filter.session_id {
        sql.push_str(" WHERE session_id = ?1");
        args.push(s.clone());
    }
    sql.push_str(" ORDER BY started_at DESC, id DESC");
    if let Some(n) = filter.limit {
        sql.push_str(&format!(" LIMIT {n}"));
    }
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt
        .query_map(params_from_iter(args.iter()), row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.reverse();
    Ok(rows)
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
