//! The dashboard's reads: filtered, paginated request rows, one request with its bodies, the
//! aggregates behind the charts, and the sessions list, on either store backend. The rows and
//! shapes are the dashboard's own; the `WHERE` clause comes from the builder it shares with
//! `store::query` ([`crate::store::Where`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Result;
use crate::store::{Dialect, Row, Sql, Value as SqlValue, Where, query_map, query_one, query_opt};

/// Query-string filters shared by `/api/logs` and `/api/stats`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Filter {
    /// Requested model, upstream model or `provider/upstream_model`.
    pub model: Option<String>,
    /// Provider name.
    pub provider: Option<String>,
    /// `ok` or `error`.
    pub status: Option<String>,
    /// Free text over model, upstream model, error and id.
    pub q: Option<String>,
    /// Unix milliseconds or RFC 3339: only requests that arrived at or after it.
    pub since: Option<String>,
    /// Only this session.
    pub session: Option<String>,
    /// Page size (default 100, at most 1000).
    pub limit: Option<usize>,
    /// Rows to skip.
    pub offset: Option<usize>,
    /// Only requests older than this request id (ids are time-ordered UUID v7).
    pub before: Option<String>,
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Parses `since`: integer milliseconds, or an RFC 3339 time.
fn since_ms(s: &str) -> Option<i64> {
    s.parse::<i64>().ok().or_else(|| {
        s.parse::<jiff::Timestamp>()
            .ok()
            .map(|t| t.as_millisecond())
    })
}

impl Filter {
    /// ` WHERE ...` (or empty) and its parameters; `with_cursor` adds `before`.
    fn clause(&self, d: Dialect, with_cursor: bool) -> (String, Vec<SqlValue>) {
        let mut w = Where::new(d);
        w.model(nonempty(&self.model), true)
            .provider(nonempty(&self.provider))
            .ok(match nonempty(&self.status) {
                Some("ok") => Some(true),
                Some("error") => Some(false),
                _ => None,
            })
            .text(nonempty(&self.q))
            .since(nonempty(&self.since).and_then(since_ms))
            .session(nonempty(&self.session));
        if with_cursor {
            w.id_before(nonempty(&self.before));
        }
        w.build()
    }
}

/// One request as the dashboard shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Entry {
    pub id: String,
    pub session_id: Option<String>,
    pub started_at_ms: i64,
    pub time: String,
    pub route: String,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub upstream_model: Option<String>,
    pub stream: bool,
    pub http_status: u16,
    /// `ok` or `error`.
    pub status: &'static str,
    pub error: Option<String>,
    pub input_tokens: i64,
    pub cached_input_tokens: i64,
    pub output_tokens: i64,
    pub reasoning_tokens: i64,
    pub cost_usd: Option<f64>,
    pub latency_ms: f64,
    pub ttft_ms: Option<f64>,
    pub upstream_ms: Option<f64>,
    pub overhead_ms: Option<f64>,
    pub key_alias: Option<String>,
    pub notes: Option<String>,
}

const COLUMNS: &str = "id, session_id, started_at, route, provider, model, upstream_model, stream,
    http_status, error, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens,
    cost_micro_usd, latency_us, ttft_us, upstream_us, overhead_us, key_alias, notes";

fn ms(us: i64) -> f64 {
    (us as f64 / 1000.0 * 1000.0).round() / 1000.0
}

fn row(r: &Row) -> Result<Entry> {
    let started: i64 = r.get(2)?;
    let http_status: u16 = r.get(8)?;
    let error: Option<String> = r.get(9)?;
    Ok(Entry {
        id: r.get(0)?,
        session_id: r.get(1)?,
        started_at_ms: started,
        time: jiff::Timestamp::from_millisecond(started)
            .map(|t| t.to_string())
            .unwrap_or_default(),
        route: r.get(3)?,
        provider: r.get(4)?,
        model: r.get(5)?,
        upstream_model: r.get(6)?,
        stream: r.get(7)?,
        http_status,
        status: if error.is_none() && http_status < 400 {
            "ok"
        } else {
            "error"
        },
        error,
        input_tokens: r.get(10)?,
        cached_input_tokens: r.get(11)?,
        output_tokens: r.get(12)?,
        reasoning_tokens: r.get(13)?,
        cost_usd: r.get::<Option<i64>>(14)?.map(|m| m as f64 / 1e6),
        latency_ms: ms(r.get(15)?),
        ttft_ms: r.get::<Option<i64>>(16)?.map(ms),
        upstream_ms: r.get::<Option<i64>>(17)?.map(ms),
        overhead_ms: r.get::<Option<i64>>(18)?.map(ms),
        key_alias: r.get(19)?,
        notes: r.get(20)?,
    })
}

/// A page of `/api/logs`.
#[derive(Debug, Serialize)]
pub struct Page {
    /// Newest first.
    pub rows: Vec<Entry>,
    /// Rows matching the filters (ignoring pagination).
    pub total: i64,
    pub limit: usize,
    pub offset: usize,
    /// Every model label and provider in the store, for the filter menus.
    pub models: Vec<String>,
    pub providers: Vec<String>,
}

/// Requests matching `f`, newest first.
pub fn list(conn: &(impl Sql + ?Sized), f: &Filter) -> Result<Page> {
    let d = conn.dialect();
    let limit = f.limit.unwrap_or(100).clamp(1, 1000);
    let offset = f.offset.unwrap_or(0);
    let (w, mut args) = f.clause(d, true);
    let total: i64 = {
        let (cw, cargs) = f.clause(d, false);
        query_one(
            conn,
            &format!("SELECT COUNT(*) FROM requests{cw}"),
            &cargs,
            |r| r.get(0),
        )?
    };
    args.push(SqlValue::Int(i64::try_from(limit).unwrap_or(1000)));
    args.push(SqlValue::Int(i64::try_from(offset).unwrap_or(0)));
    let rows = query_map(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM requests{w} ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?"
        ),
        &args,
        row,
    )?;
    let models = distinct(
        conn,
        "SELECT DISTINCT COALESCE(model, '') FROM requests WHERE model IS NOT NULL ORDER BY 1",
    )?;
    let providers = distinct(
        conn,
        "SELECT DISTINCT provider FROM requests WHERE provider IS NOT NULL ORDER BY 1",
    )?;
    Ok(Page {
        rows,
        total,
        limit,
        offset,
        models,
        providers,
    })
}

fn distinct(conn: &(impl Sql + ?Sized), sql: &str) -> Result<Vec<String>> {
    query_map(conn, sql, &[], |r| r.get::<String>(0))
}

/// One request with its captured headers and bodies.
#[derive(Debug, Serialize)]
pub struct Detail {
    #[serde(flatten)]
    pub row: Entry,
    /// Redacted request headers.
    pub request_headers: Value,
    /// The stored request body (the prompt).
    pub request_body: Option<String>,
    /// The stored response body or stream.
    pub response_body: Option<String>,
    /// Tool calls found in the request and response bodies.
    pub tool_calls: Vec<ToolCall>,
}

/// A tool call found in a body.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ToolCall {
    /// `request` (earlier turns) or `response` (this turn).
    pub source: &'static str,
    pub name: String,
    pub call_id: Option<String>,
    /// Arguments or input, as text.
    pub arguments: String,
}

/// Header names whose values are never shown, whatever the store holds.
fn secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "authorization",
        "key",
        "cookie",
        "token",
        "secret",
        "signature",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// A request by exact id.
pub fn detail(conn: &(impl Sql + ?Sized), id: &str) -> Result<Option<Detail>> {
    let key = [SqlValue::from(id)];
    let Some(r) = query_opt(
        conn,
        &format!("SELECT {COLUMNS} FROM requests WHERE id = ?1"),
        &key,
        row,
    )?
    else {
        return Ok(None);
    };
    let crate::store::StoredBodies {
        request_headers: headers,
        request: req,
        response: resp,
    } = crate::store::bodies(conn, id)?;
    let mut request_headers = headers
        .as_deref()
        .and_then(|h| serde_json::from_str::<Value>(h).ok())
        .unwrap_or(Value::Object(serde_json::Map::new()));
    if let Value::Object(m) = &mut request_headers {
        for (k, v) in m.iter_mut() {
            if secret_header(k) {
                *v = Value::String("[redacted]".into());
            }
        }
    }
    let mut tool_calls = Vec::new();
    if let Some(b) = &req {
        tool_calls_in(b, "request", &mut tool_calls);
    }
    if let Some(b) = &resp {
        tool_calls_in(b, "response", &mut tool_calls);
    }
    Ok(Some(Detail {
        row: r,
        request_headers,
        request_body: req,
        response_body: resp,
        tool_calls,
    }))
}

/// Finds tool calls in a JSON body or an SSE stream (each `data:` line a JSON document), in the
/// Responses (`function_call`, `custom_tool_call`), Chat (`tool_calls`) and Anthropic
/// (`tool_use`) shapes. Stream fragments (argument deltas) are skipped: the complete item
/// arrives in `output_item.done`.
pub fn tool_calls_in(body: &str, source: &'static str, out: &mut Vec<ToolCall>) {
    let mut seen = std::collections::HashSet::new();
    let mut visit = |v: &Value, out: &mut Vec<ToolCall>| walk(v, source, out, &mut seen);
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        visit(&v, out);
        return;
    }
    for line in body.lines() {
        if let Some(data) = line.strip_prefix("data:")
            && let Ok(v) = serde_json::from_str::<Value>(data.trim())
        {
            visit(&v, out);
        }
    }
}

fn walk(
    v: &Value,
    source: &'static str,
    out: &mut Vec<ToolCall>,
    seen: &mut std::collections::HashSet<String>,
) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| walk(x, source, out, seen)),
        Value::Object(o) => {
            let ty = o.get("type").and_then(Value::as_str).unwrap_or("");
            let text = |k: &str| match o.get(k) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Null) | None => None,
                Some(other) => Some(other.to_string()),
            };
            let call = match ty {
                "function_call" | "custom_tool_call" | "tool_use" => Some((
                    text("name"),
                    text("call_id").or_else(|| text("id")),
                    text("arguments").or_else(|| text("input")),
                )),
                "function" if o.contains_key("function") => {
                    let f = o.get("function");
                    let g = |k: &str| {
                        f.and_then(|f| f.get(k)).map(|x| match x {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                    };
                    Some((g("name"), text("id"), g("arguments")))
                }
                _ => None,
            };
            if let Some((Some(name), id, args)) = call {
                let key = format!(
                    "{}|{}|{}",
                    id.clone().unwrap_or_default(),
                    name,
                    args.clone().unwrap_or_default()
                );
                if seen.insert(key) {
                    out.push(ToolCall {
                        source,
                        name,
                        call_id: id,
                        arguments: args.unwrap_or_default(),
                    });
                }
                return;
            }
            for x in o.values() {
                walk(x, source, out, seen);
            }
        }
        _ => {}
    }
}

/// Aggregates behind the charts.
#[derive(Debug, Serialize, Default)]
pub struct Stats {
    pub totals: Totals,
    /// Per model label, most requests first.
    pub models: Vec<ModelStat>,
    /// Width of one time bucket.
    pub bucket_ms: i64,
    /// Requests, tokens and cost per time bucket, oldest first.
    pub series: Vec<Bucket>,
    /// Latency histogram: upper bounds in ms (the last is null: +Inf) and counts.
    pub latency_histogram: Vec<HistBucket>,
    /// Time-to-first-token histogram, same bounds.
    pub ttft_histogram: Vec<HistBucket>,
}

#[derive(Debug, Serialize, Default, Clone)]
pub struct Totals {
    pub requests: i64,
    pub errors: i64,
    pub input_tokens: i64,
    pub cached_input_tokens: i64,
    pub output_tokens: i64,
    pub reasoning_tokens: i64,
    pub cost_usd: f64,
}

#[derive(Debug, Serialize, Default, Clone)]
pub struct ModelStat {
    pub model: String,
    pub requests: i64,
    pub errors: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
}

#[derive(Debug, Serialize, Default, Clone)]
pub struct Bucket {
    pub t: i64,
    pub requests: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
}

#[derive(Debug, Serialize, Clone)]
pub struct HistBucket {
    pub le_ms: Option<f64>,
    pub count: i64,
}

const HIST_MS: &[f64] = &[
    50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0, 60000.0,
];
const BUCKETS_MS: &[i64] = &[
    1_000, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000, 21_600_000, 86_400_000,
];

fn hist(values: &[f64]) -> Vec<HistBucket> {
    let mut counts = vec![0i64; HIST_MS.len() + 1];
    for v in values {
        let i = HIST_MS.iter().position(|b| v <= b).unwrap_or(HIST_MS.len());
        if let Some(c) = counts.get_mut(i) {
            *c += 1;
        }
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, count)| HistBucket {
            le_ms: HIST_MS.get(i).copied(),
            count,
        })
        .collect()
}

/// Aggregates over the (newest 100,000) requests matching `f`; pagination is ignored.
pub fn stats(conn: &(impl Sql + ?Sized), f: &Filter) -> Result<Stats> {
    let (w, args) = f.clause(conn.dialect(), false);
    let sql = format!(
        "SELECT started_at, COALESCE(provider || '/' || upstream_model, model, '(no model)'),
                CASE WHEN error IS NOT NULL OR http_status >= 400 THEN 1 ELSE 0 END,
                input_tokens, cached_input_tokens,
                output_tokens, reasoning_tokens, cost_micro_usd, latency_us, ttft_us
         FROM requests{w} ORDER BY started_at DESC LIMIT 100000"
    );
    struct R {
        t: i64,
        model: String,
        error: bool,
        input: i64,
        cached: i64,
        output: i64,
        reasoning: i64,
        cost: Option<i64>,
        latency: i64,
        ttft: Option<i64>,
    }
    let rows = query_map(conn, &sql, &args, |r| {
        Ok(R {
            t: r.get(0)?,
            model: r.get(1)?,
            error: r.get(2)?,
            input: r.get(3)?,
            cached: r.get(4)?,
            output: r.get(5)?,
            reasoning: r.get(6)?,
            cost: r.get(7)?,
            latency: r.get(8)?,
            ttft: r.get(9)?,
        })
    })?;
    let mut s = Stats::default();
    let mut models: BTreeMap<String, ModelStat> = BTreeMap::new();
    let (lo, hi) = rows.iter().fold((i64::MAX, i64::MIN), |(lo, hi), r| {
        (lo.min(r.t), hi.max(r.t))
    });
    let span = if rows.is_empty() { 0 } else { hi - lo };
    s.bucket_ms = BUCKETS_MS
        .iter()
        .copied()
        .find(|b| span / b < 60)
        .unwrap_or(86_400_000);
    let mut series: BTreeMap<i64, Bucket> = BTreeMap::new();
    let mut lat = Vec::with_capacity(rows.len());
    let mut ttft = Vec::new();
    let mut cost_total = 0i64;
    for r in &rows {
        let t = &mut s.totals;
        t.requests += 1;
        t.errors += i64::from(r.error);
        t.input_tokens += r.input;
        t.cached_input_tokens += r.cached;
        t.output_tokens += r.output;
        t.reasoning_tokens += r.reasoning;
        cost_total += r.cost.unwrap_or(0);
        let m = models.entry(r.model.clone()).or_insert_with(|| ModelStat {
            model: r.model.clone(),
            ..ModelStat::default()
        });
        m.requests += 1;
        m.errors += i64::from(r.error);
        m.input_tokens += r.input;
        m.output_tokens += r.output;
        m.cost_usd += r.cost.unwrap_or(0) as f64 / 1e6;
        let start = r.t - r.t.rem_euclid(s.bucket_ms);
        let b = series.entry(start).or_insert_with(|| Bucket {
            t: start,
            ..Bucket::default()
        });
        b.requests += 1;
        b.input_tokens += r.input;
        b.output_tokens += r.output;
        b.cost_usd += r.cost.unwrap_or(0) as f64 / 1e6;
        lat.push(r.latency as f64 / 1000.0);
        ttft.extend(r.ttft.map(|v| v as f64 / 1000.0));
    }
    s.totals.cost_usd = cost_total as f64 / 1e6;
    let mut models: Vec<ModelStat> = models.into_values().collect();
    models.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.model.cmp(&b.model)));
    s.models = models;
    s.series = series.into_values().collect();
    s.latency_histogram = hist(&lat);
    s.ttft_histogram = hist(&ttft);
    Ok(s)
}

/// One session for `/api/sessions`.
#[derive(Debug, Serialize)]
pub struct Session {
    pub id: String,
    pub kind: String,
    pub started_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    pub exit_code: Option<i64>,
    pub cwd: Option<String>,
    pub requests: i64,
    pub errors: i64,
    pub cost_usd: f64,
}

/// The newest `limit` sessions with their request counts and cost.
pub fn sessions(conn: &(impl Sql + ?Sized), limit: usize) -> Result<Vec<Session>> {
    query_map(
        conn,
        "SELECT s.id, s.kind, s.started_at, s.ended_at, s.exit_code, s.cwd,
                COUNT(r.id),
                CAST(COALESCE(SUM(CASE WHEN r.error IS NOT NULL OR r.http_status >= 400 THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(COALESCE(SUM(r.cost_micro_usd), 0) AS BIGINT)
         FROM sessions s LEFT JOIN requests r ON r.session_id = s.id
         GROUP BY s.id, s.kind, s.started_at, s.ended_at, s.exit_code, s.cwd
         ORDER BY s.started_at DESC, s.id DESC LIMIT ?1",
        &[SqlValue::Int(
            i64::try_from(limit.clamp(1, 1000)).unwrap_or(100),
        )],
        |r| {
            Ok(Session {
                id: r.get(0)?,
                kind: r.get(1)?,
                started_at_ms: r.get(2)?,
                ended_at_ms: r.get(3)?,
                exit_code: r.get(4)?,
                cwd: r.get(5)?,
                requests: r.get(6)?,
                errors: r.get(7)?,
                cost_usd: r.get::<i64>(8)? as f64 / 1e6,
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tool_calls_in_responses_chat_and_anthropic_shapes() {
        let mut out = Vec::new();
        tool_calls_in(
            r#"{"input":[{"type":"function_call","name":"exec_command","call_id":"c1","arguments":"{\"cmd\":\"ls\"}"}]}"#,
            "request",
            &mut out,
        );
        tool_calls_in(
            "event: x\ndata: {\"type\":\"response.output_item.done\",\"item\":{\"type\":\"custom_tool_call\",\"name\":\"apply_patch\",\"call_id\":\"c2\",\"input\":\"*** Begin\"}}\n\ndata: [DONE]\n",
            "response",
            &mut out,
        );
        tool_calls_in(
            r#"{"choices":[{"message":{"tool_calls":[{"id":"c3","type":"function","function":{"name":"f","arguments":"{}"}}]}}]}"#,
            "response",
            &mut out,
        );
        tool_calls_in(
            r#"{"content":[{"type":"tool_use","id":"c4","name":"g","input":{"a":1}}]}"#,
            "response",
            &mut out,
        );
        let names: Vec<_> = out.iter().map(|c| (c.source, c.name.as_str())).collect();
        assert_eq!(
            names,
            vec![
                ("request", "exec_command"),
                ("response", "apply_patch"),
                ("response", "f"),
                ("response", "g")
            ]
        );
        assert_eq!(out[3].arguments, r#"{"a":1}"#);
    }

    #[test]
    fn since_accepts_millis_and_rfc3339() {
        assert_eq!(since_ms("1700000000000"), Some(1_700_000_000_000));
        assert_eq!(since_ms("2023-11-14T22:13:20Z"), Some(1_700_000_000_000));
        assert_eq!(since_ms("yesterday"), None);
    }
}
