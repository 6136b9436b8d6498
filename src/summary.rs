//! The session summary printed when the child exits: one row per model and a total, from the
//! same stored rows `bifrost logs` reads, so the two always agree.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Style};

use crate::store::LogRow;

/// Aggregates for one model, or the total.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Line {
    /// `provider/model`, or `total`.
    pub model: String,
    /// Requests.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
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
    /// Latency median.
    pub p50_ms: Option<f64>,
    /// Latency 95th percentile.
    pub p95_ms: Option<f64>,
    /// Time-to-first-token median (streams).
    pub ttft_p50_ms: Option<f64>,
}

/// The whole summary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// Session id.
    pub session_id: String,
    /// The child's exit code.
    pub exit_code: Option<i32>,
    /// Per model.
    pub models: Vec<Line>,
    /// All models.
    pub total: Line,
    /// Models without a price.
    pub unpriced_models: Vec<String>,
    /// MCP tool calls the gateway ran.
    pub tool_calls: u64,
    /// Of which failed.
    pub tool_errors: u64,
    /// Time spent in tools.
    pub tool_ms: f64,
    /// Requests a fallback served.
    pub fallback_requests: u64,
    /// Extra upstream attempts (retries).
    pub retries: u64,
}

/// Nearest-rank percentile of an ascending slice.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// `provider/upstream-model`, else the requested model: how rows are grouped per model.
pub fn label(r: &LogRow) -> String {
    match (&r.provider, &r.upstream_model, &r.model) {
        (Some(p), Some(m), _) => format!("{p}/{m}"),
        (_, _, Some(m)) => m.clone(),
        _ => "(no model)".into(),
    }
}

fn line(model: String, rows: &[&LogRow]) -> Line {
    let mut l = Line {
        model,
        ..Line::default()
    };
    let mut lat = Vec::new();
    let mut ttft = Vec::new();
    let mut cost = 0i64;
    let mut priced = false;
    for r in rows {
        l.requests += 1;
        l.errors += u64::from(r.status == "error");
        l.input_tokens += r.input_tokens;
        l.cached_input_tokens += r.cached_input_tokens;
        l.output_tokens += r.output_tokens;
        l.reasoning_tokens += r.reasoning_tokens;
        match r.cost_usd {
            Some(c) => {
                priced = true;
                cost += (c * 1e6).round() as i64;
            }
            None if r.input_tokens + r.output_tokens > 0 => l.unpriced_requests += 1,
            None => {}
        }
        lat.push(r.latency_ms);
        ttft.extend(r.ttft_ms);
    }
    lat.sort_by(f64::total_cmp);
    ttft.sort_by(f64::total_cmp);
    l.cost_usd = priced.then(|| cost as f64 / 1e6);
    l.p50_ms = percentile(&lat, 50.0);
    l.p95_ms = percentile(&lat, 95.0);
    l.ttft_p50_ms = percentile(&ttft, 50.0);
    l
}

/// Builds the summary from a session's rows.
pub fn summarize(session_id: &str, exit_code: Option<i32>, rows: &[LogRow]) -> Summary {
    let mut by_model: BTreeMap<String, Vec<&LogRow>> = BTreeMap::new();
    for r in rows {
        by_model.entry(label(r)).or_default().push(r);
    }
    let models: Vec<Line> = by_model.into_iter().map(|(m, rs)| line(m, &rs)).collect();
    let all: Vec<&LogRow> = rows.iter().collect();
    let total = line("total".into(), &all);
    let unpriced_models = models
        .iter()
        .filter(|l| l.unpriced_requests > 0)
        .map(|l| l.model.clone())
        .collect();
    Summary {
        session_id: session_id.to_string(),
        exit_code,
        models,
        total,
        unpriced_models,
        tool_calls: 0,
        tool_errors: 0,
        tool_ms: 0.0,
        fallback_requests: 0,
        retries: 0,
    }
}

/// A session's summary from the store: its rows, retries and fallbacks, and MCP tool time.
/// The one place the summary reads the store (the launcher in local mode and the gateway's
/// `GET /api/sessions/{id}` for remote launches both call it).
pub fn load(
    conn: &(impl crate::store::Sql + ?Sized),
    session_id: &str,
    exit_code: Option<i32>,
) -> crate::error::Result<Summary> {
    let rows = crate::store::requests(
        conn,
        &crate::store::LogFilter {
            session_id: Some(session_id.to_string()),
            ..crate::store::LogFilter::default()
        },
    )?;
    let mut summary = summarize(session_id, exit_code, &rows);
    (summary.fallback_requests, summary.retries) =
        crate::store::session_reliability(conn, session_id)?;
    (summary.tool_calls, summary.tool_errors, summary.tool_ms) =
        crate::store::session_tool_stats(conn, session_id)?;
    Ok(summary)
}

/// `1.23s`, `350ms`, `-`.
pub fn fmt_ms(ms: Option<f64>) -> String {
    match ms {
        None => "-".into(),
        Some(ms) if ms >= 1000.0 => format!("{:.2}s", ms / 1000.0),
        Some(ms) if ms >= 10.0 => format!("{ms:.0}ms"),
        Some(ms) => format!("{ms:.1}ms"),
    }
}

/// `$0.0123`, or `n/a` for an unknown price.
pub fn fmt_cost(usd: Option<f64>, partial: bool) -> String {
    match usd {
        None => "n/a".into(),
        Some(c) => format!("${c:.4}{}", if partial { "*" } else { "" }),
    }
}

/// Thousands separators.
pub fn fmt_int(n: i64) -> String {
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// The table for stderr.
pub fn render(s: &Summary) -> String {
    if s.total.requests == 0 {
        return format!(
            "bifrost: no model requests in this session ({})\n",
            s.session_id
        );
    }
    let mut rows: Vec<[String; 11]> = vec![
        [
            "model",
            "reqs",
            "errors",
            "input",
            "cached",
            "output",
            "reasoning",
            "cost",
            "p50",
            "p95",
            "ttft p50",
        ]
        .map(String::from),
    ];
    for l in s.models.iter().chain(std::iter::once(&s.total)) {
        rows.push([
            l.model.clone(),
            l.requests.to_string(),
            l.errors.to_string(),
            fmt_int(l.input_tokens),
            fmt_int(l.cached_input_tokens),
            fmt_int(l.output_tokens),
            fmt_int(l.reasoning_tokens),
            fmt_cost(l.cost_usd, l.cost_usd.is_some() && l.unpriced_requests > 0),
            fmt_ms(l.p50_ms),
            fmt_ms(l.p95_ms),
            fmt_ms(l.ttft_p50_ms),
        ]);
    }
    let mut t = tabled::builder::Builder::from_iter(rows).build();
    t.with(Style::rounded());
    t.modify(Columns::new(1..), Alignment::right());
    let mut out = format!("bifrost session {}\n{t}\n", s.session_id);
    if !s.unpriced_models.is_empty() {
        out.push_str(&format!(
            "cost n/a (or * partial): no price for {}; add [pricing.\"provider/model\"] to the config\n",
            s.unpriced_models.join(", ")
        ));
    }
    if s.fallback_requests > 0 || s.retries > 0 {
        out.push_str(&format!(
            "reliability: {} upstream retr{}, {} request(s) served by a fallback (see `bifrost logs show ID`)\n",
            s.retries,
            if s.retries == 1 { "y" } else { "ies" },
            s.fallback_requests
        ));
    }
    if s.tool_calls > 0 {
        out.push_str(&format!(
            "mcp: {} tool call(s){}, {} in tools\n",
            s.tool_calls,
            if s.tool_errors > 0 {
                format!(" ({} failed)", s.tool_errors)
            } else {
                String::new()
            },
            fmt_ms(Some(s.tool_ms))
        ));
    }
    out.push_str(&format!(
        "details: bifrost logs --session {}\n",
        s.session_id
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(model: &str, lat: f64, cost: Option<f64>, status: &'static str) -> LogRow {
        LogRow {
            id: "r".into(),
            session_id: Some("s".into()),
            time: String::new(),
            provider: Some("openai".into()),
            model: Some(model.into()),
            status,
            http_status: 200,
            stream: true,
            input_tokens: 100,
            cached_input_tokens: 10,
            output_tokens: 20,
            reasoning_tokens: 5,
            cost_usd: cost,
            latency_ms: lat,
            ttft_ms: Some(lat / 2.0),
            error: None,
            route: String::new(),
            upstream_ms: None,
            overhead_ms: None,
            key_alias: None,
            upstream_model: Some(model.into()),
            notes: None,
            cache: None,
            virtual_key: None,
        }
    }

    #[test]
    fn aggregates_per_model_and_total() {
        let rows = vec![
            row("gpt-5.5", 100.0, Some(0.01), "ok"),
            row("gpt-5.5", 300.0, Some(0.02), "error"),
            row("mystery", 50.0, None, "ok"),
        ];
        let s = summarize("s", Some(0), &rows);
        assert_eq!(s.models.len(), 2);
        let g = &s.models[0];
        assert_eq!(
            (g.model.as_str(), g.requests, g.errors, g.input_tokens),
            ("openai/gpt-5.5", 2, 1, 200)
        );
        assert_eq!(g.cost_usd, Some(0.03));
        assert_eq!(
            (g.p50_ms, g.p95_ms, g.ttft_p50_ms),
            (Some(100.0), Some(300.0), Some(50.0))
        );
        assert_eq!(s.models[1].cost_usd, None);
        assert_eq!(s.total.requests, 3);
        assert_eq!(s.total.unpriced_requests, 1);
        assert_eq!(s.unpriced_models, vec!["openai/mystery".to_string()]);
        let text = render(&s);
        assert!(text.contains("n/a"), "{text}");
        assert!(text.contains("$0.0300*"), "{text}");
    }

    #[test]
    fn the_summary_survives_json() -> Result<(), serde_json::Error> {
        let s = summarize("s", Some(3), &[row("gpt-5.5", 100.0, Some(0.01), "ok")]);
        let back: Summary = serde_json::from_str(&serde_json::to_string(&s)?)?;
        assert_eq!(back, s);
        assert_eq!(render(&back), render(&s));
        Ok(())
    }

    #[test]
    fn formats() {
        assert_eq!(fmt_int(1234567), "1,234,567");
        assert_eq!(fmt_ms(Some(1500.0)), "1.50s");
        assert_eq!(fmt_ms(Some(3.25)), "3.2ms");
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), Some(2.0));
    }
}
