//! Reading the store: the rows behind `bifrost logs`, `logs show` and the session summary.

use serde::Serialize;

use super::db::{Dialect, Row, Sql, Value, query_map, query_one, query_opt};
use super::filter::Where;
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
    /// Only rows committed after this insertion number (SQLite `rowid`, PostgreSQL `seq`;
    /// `--follow`).
    pub after_rowid: Option<i64>,
}

impl LogFilter {
    /// The `WHERE` clause (empty or starting with ` WHERE`) and its bound values.
    fn clause(&self, d: Dialect) -> (String, Vec<Value>) {
        Where::new(d)
            .session(self.session_id.as_deref())
            .since(self.since_ms)
            .before(self.before_ms)
            .model(self.model.as_deref(), false)
            .provider(self.provider.as_deref())
            .ok((self.errors_only).then_some(false))
            .seq_after(self.after_rowid)
            .build()
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
    /// The virtual key (its name) that made the request, on a team gateway.
    pub virtual_key: Option<String>,
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
    latency_us, ttft_us, route, upstream_us, overhead_us, key_alias, upstream_model, notes, cache, virtual_key";

fn us_to_ms(us: i64) -> f64 {
    (us as f64 / 1000.0 * 1000.0).round() / 1000.0
}

fn row(r: &Row) -> Result<LogRow> {
    row_at(r, 0)
}

/// Reads a [`LogRow`] whose [`COLUMNS`] start at column `o`.
fn row_at(r: &Row, o: usize) -> Result<LogRow> {
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
        cost_usd: r.get::<Option<i64>>(o + 12)?.map(|m| m as f64 / 1e6),
        latency_ms: us_to_ms(r.get(o + 13)?),
        ttft_ms: r.get::<Option<i64>>(o + 14)?.map(us_to_ms),
        route: r.get(o + 15)?,
        upstream_ms: r.get::<Option<i64>>(o + 16)?.map(us_to_ms),
        overhead_ms: r.get::<Option<i64>>(o + 17)?.map(us_to_ms),
        key_alias: r.get(o + 18)?,
        upstream_model: r.get(o + 19)?,
        notes: r.get(o + 20)?,
        cache: r.get(o + 21)?,
        virtual_key: r.get(o + 22)?,
    })
}

/// The id of the most recent session that made requests, or of the most recent session.
pub fn last_session_id(db: &(impl Sql + ?Sized)) -> Result<Option<String>> {
    query_opt(
        db,
        "SELECT id FROM sessions WHERE kind != 'serve' ORDER BY started_at DESC, id DESC LIMIT 1",
        &[],
        |r| r.get(0),
    )
}

/// Requests matching `filter`, oldest first (the newest `limit` of them).
pub fn requests(db: &(impl Sql + ?Sized), filter: &LogFilter) -> Result<Vec<LogRow>> {
    let mut rows = Vec::new();
    each_request(db, filter, |_, r| {
        rows.push(r);
        Ok(())
    })?;
    Ok(rows)
}

/// Streams the requests matching `filter` to `f`, oldest first (the newest `limit` of them),
/// one row at a time, with each row's insertion number (SQLite `rowid`, PostgreSQL `seq`,
/// for `--follow`).
pub fn each_request(
    db: &(impl Sql + ?Sized),
    filter: &LogFilter,
    mut f: impl FnMut(i64, LogRow) -> Result<()>,
) -> Result<()> {
    let d = db.dialect();
    let seq = d.seq();
    let (clause, mut args) = filter.clause(d);
    let sql = match filter.limit {
        // The newest N through the (started_at, id) index, then re-ordered; the database sorts
        // the N rows, never the table.
        Some(n) => {
            args.push(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)));
            format!(
                "SELECT * FROM (SELECT {seq} AS rid, {COLUMNS} FROM requests{clause}
                 ORDER BY started_at DESC, id DESC LIMIT ?) AS newest ORDER BY started_at, id"
            )
        }
        None => {
            format!("SELECT {seq} AS rid, {COLUMNS} FROM requests{clause} ORDER BY started_at, id")
        }
    };
    db.each_row(&sql, &args, &mut |r| {
        let rid: i64 = r.get(0)?;
        f(rid, row_at(r, 1)?)
    })
}

/// Rows committed after `after_rowid` that match `filter` (its limit ignored), in commit
/// order: what `logs --follow` prints next. Commit order, not arrival time, so a long stream
/// that finishes after a short later one is still seen.
pub fn requests_after(
    db: &(impl Sql + ?Sized),
    filter: &LogFilter,
    after_rowid: i64,
) -> Result<Vec<(i64, LogRow)>> {
    let f = LogFilter {
        after_rowid: Some(after_rowid),
        limit: None,
        ..filter.clone()
    };
    let d = db.dialect();
    let seq = d.seq();
    let (clause, args) = f.clause(d);
    query_map(
        db,
        &format!("SELECT {seq} AS rid, {COLUMNS} FROM requests{clause} ORDER BY {seq}"),
        &args,
        |r| Ok((r.get(0)?, row_at(r, 1)?)),
    )
}

/// The highest insertion number in `requests` (0 when empty).
pub fn max_rowid(db: &(impl Sql + ?Sized)) -> Result<i64> {
    let seq = db.dialect().seq();
    query_one(
        db,
        &format!("SELECT COALESCE(MAX({seq}), 0) FROM requests"),
        &[],
        |r| r.get(0),
    )
}

/// How many requests match `filter`, capped at its limit.
pub fn count_requests(db: &(impl Sql + ?Sized), filter: &LogFilter) -> Result<u64> {
    let (clause, args) = filter.clause(db.dialect());
    let n: i64 = query_one(
        db,
        &format!("SELECT COUNT(*) FROM requests{clause}"),
        &args,
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
pub fn prune(db: &mut super::Db, before_ms: i64) -> Result<usize> {
    db.transaction(|tx| prune_rows(tx, before_ms))
}

/// [`prune`] inside the caller's transaction (the writer thread's batch).
pub(super) fn prune_rows(tx: &(impl Sql + ?Sized), before_ms: i64) -> Result<usize> {
    let t = [Value::Int(before_ms)];
    let bodies = tx.execute(
        "DELETE FROM request_bodies WHERE request_id IN (SELECT id FROM requests WHERE started_at < ?1)",
        &t,
    )?;
    if bodies > 0 {
        if tx.dialect() == super::Dialect::Postgres {
            // The writers' commit lock: a gateway's batch that found a piece already stored
            // commits before this looks for unreferenced pieces, or starts after it.
            tx.execute(
                "SELECT pg_advisory_xact_lock(?1)",
                &[Value::Int(super::writer::COMMIT_LOCK)],
            )?;
        }
        super::chunks::sweep(tx)?;
    }
    let n = tx.execute("DELETE FROM requests WHERE started_at < ?1", &t)?;
    tx.execute(
        "DELETE FROM sessions WHERE COALESCE(ended_at, started_at) < ?1
           AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.session_id = sessions.id)",
        &t,
    )?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// One request by id, or by a unique prefix of it.
pub fn request(db: &(impl Sql + ?Sized), id: &str) -> Result<Vec<LogRow>> {
    let like = format!("{}%", super::filter::like_escape(id));
    query_map(
        db,
        &format!(
            "SELECT {COLUMNS} FROM requests WHERE id = ?1 OR id LIKE ?2 ESCAPE '\\' ORDER BY started_at LIMIT 2"
        ),
        &[Value::from(id), Value::Text(like)],
        row,
    )
}

/// A session's reliability events: (requests served by a fallback, extra upstream attempts).
pub fn session_reliability(db: &(impl Sql + ?Sized), session_id: &str) -> Result<(u64, u64)> {
    let s = [Value::from(session_id)];
    let fallbacks: i64 = query_one(
        db,
        "SELECT COUNT(*) FROM requests WHERE session_id = ?1 AND notes LIKE '%served by fallback%'",
        &s,
        |r| r.get(0),
    )?;
    let retries: i64 = query_one(
        db,
        "SELECT COUNT(*) - COUNT(DISTINCT a.request_id) FROM attempts a JOIN requests r ON r.id = a.request_id WHERE r.session_id = ?1",
        &s,
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
pub fn attempts(db: &(impl Sql + ?Sized), request_id: &str) -> Result<Vec<AttemptRow>> {
    query_map(
        db,
        "SELECT n, provider, model, key_alias, status, error, latency_us FROM attempts WHERE request_id = ?1 ORDER BY n",
        &[Value::from(request_id)],
        |r| {
            Ok(AttemptRow {
                n: r.get(0)?,
                provider: r.get(1)?,
                model: r.get(2)?,
                key_alias: r.get(3)?,
                status: r.get(4)?,
                error: r.get(5)?,
                latency_ms: us_to_ms(r.get(6)?),
            })
        },
    )
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
pub fn tool_calls(db: &(impl Sql + ?Sized), request_id: &str) -> Result<Vec<ToolCallRow>> {
    query_map(
        db,
        "SELECT server, tool, arguments, duration_us, is_error, result FROM tool_calls WHERE request_id = ?1 ORDER BY started_at, id",
        &[Value::from(request_id)],
        |r| {
            Ok(ToolCallRow {
                server: r.get(0)?,
                tool: r.get(1)?,
                arguments: r.get(2)?,
                duration_ms: us_to_ms(r.get(3)?),
                is_error: r.get(4)?,
                result: r.get(5)?,
            })
        },
    )
}

/// A session's MCP tool calls: (count, failed, total duration in ms).
pub fn session_tool_stats(db: &(impl Sql + ?Sized), session_id: &str) -> Result<(u64, u64, f64)> {
    query_one(
        db,
        "SELECT COUNT(*), CAST(COALESCE(SUM(is_error), 0) AS BIGINT), CAST(COALESCE(SUM(duration_us), 0) AS BIGINT) FROM tool_calls WHERE session_id = ?1",
        &[Value::from(session_id)],
        |r| {
            Ok((
                r.get::<i64>(0)?.max(0) as u64,
                r.get::<i64>(1)?.max(0) as u64,
                us_to_ms(r.get(2)?),
            ))
        },
    )
}

/// The captured bodies of a request.
pub fn bodies(db: &(impl Sql + ?Sized), id: &str) -> Result<StoredBodies> {
    Ok(query_opt(
        db,
        "SELECT request_headers, request, response, request_chunks FROM request_bodies WHERE request_id = ?1",
        &[Value::from(id)],
        |r| {
            Ok((
                StoredBodies {
                    request_headers: r.get(0)?,
                    request: r.get(1)?,
                    response: r.get(2)?,
                },
                r.get::<Option<String>>(3)?,
            ))
        },
    )?
    .map(|(mut b, pieces)| {
        if let Some(list) = pieces {
            b.request = Some(super::chunks::load(db, &list)?);
        }
        Ok::<_, crate::error::Error>(b)
    })
    .transpose()?
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
pub fn sessions(db: &(impl Sql + ?Sized), limit: usize) -> Result<Vec<SessionRow>> {
    let models = db
        .dialect()
        .concat_distinct("COALESCE(r.provider || '/' || r.upstream_model, r.model)");
    let sql = format!(
        "SELECT s.id, s.kind, s.started_at, s.ended_at, s.argv, s.exit_code,
                COUNT(r.id), CAST(COALESCE(SUM(r.input_tokens), 0) AS BIGINT),
                CAST(COALESCE(SUM(r.cached_input_tokens), 0) AS BIGINT),
                CAST(COALESCE(SUM(r.output_tokens), 0) AS BIGINT),
                CAST(COALESCE(SUM(r.reasoning_tokens), 0) AS BIGINT),
                CAST(SUM(r.cost_micro_usd) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN r.id IS NOT NULL AND r.cost_micro_usd IS NULL
                                        AND r.input_tokens + r.output_tokens > 0 THEN 1 ELSE 0 END), 0) AS BIGINT),
                {models}
         FROM (SELECT * FROM sessions ORDER BY started_at DESC, id DESC LIMIT ?1) s
         LEFT JOIN requests r ON r.session_id = s.id
         GROUP BY s.id, s.kind, s.started_at, s.ended_at, s.argv, s.exit_code
         ORDER BY s.started_at DESC, s.id DESC"
    );
    query_map(
        db,
        &sql,
        &[Value::Int(i64::try_from(limit).unwrap_or(i64::MAX))],
        |r| {
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
                requests: u64::try_from(r.get::<i64>(6)?).unwrap_or(0),
                input_tokens: r.get(7)?,
                cached_input_tokens: r.get(8)?,
                output_tokens: r.get(9)?,
                reasoning_tokens: r.get(10)?,
                cost_usd: r.get::<Option<i64>>(11)?.map(|m| m as f64 / 1e6),
                unpriced_requests: u64::try_from(r.get::<i64>(12)?).unwrap_or(0),
            })
        },
    )
}

/// Micro-USD spent by requests that arrived at or after `since_ms` (unpriced ones count 0).
pub fn spend_since(db: &(impl Sql + ?Sized), since_ms: i64) -> Result<i64> {
    query_one(
        db,
        "SELECT CAST(COALESCE(SUM(cost_micro_usd), 0) AS BIGINT) FROM requests WHERE started_at >= ?1",
        &[Value::Int(since_ms)],
        |r| r.get(0),
    )
}
