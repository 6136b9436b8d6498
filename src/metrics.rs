//! An in-process metrics registry rendered as Prometheus text at `GET /metrics`, fed by one call
//! per finished request (`Pending::finish`), so the counters always match the stored rows.
//!
//! No metrics crate: a `Mutex`ed map of counters and fixed-bucket histograms per label set is
//! all a single gateway needs, and rendering is a few `writeln!`s. Families that later work
//! fills (retries, MCP tool durations) are exposed now with zero values so dashboards and
//! alerts can be written against stable names.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use crate::store::RequestRecord;

/// Latency bucket upper bounds, in seconds.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// A cumulative histogram with [`LATENCY_BUCKETS`] bounds.
#[derive(Debug, Clone, Default)]
struct Histogram {
    /// Non-cumulative counts per bucket; the last slot is `+Inf`.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; LATENCY_BUCKETS.len() + 1];
        }
        let i = LATENCY_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        if let Some(c) = self.counts.get_mut(i) {
            *c += 1;
        }
        self.sum += secs;
        self.count += 1;
    }
}

/// `(provider, model)`.
type Pm = (String, String);

#[derive(Debug, Default)]
struct Inner {
    /// `(provider, model, http status, outcome)`.
    requests: BTreeMap<(String, String, u16, &'static str), u64>,
    /// `(provider, model, kind)`.
    tokens: BTreeMap<(String, String, &'static str), u64>,
    cost_micro_usd: BTreeMap<Pm, u64>,
    latency: BTreeMap<Pm, Histogram>,
    ttft: BTreeMap<Pm, Histogram>,
    /// `(provider, model, http status)`.
    upstream_errors: BTreeMap<(String, String, u16), u64>,
}

/// The registry. One per gateway; cheap to update (one short lock per request).
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// Whether a row counts as failed: the same rule as `bifrost logs`' `status` column.
pub fn is_error(r: &RequestRecord) -> bool {
    r.error.is_some() || r.http_status >= 400
}

impl Metrics {
    /// Counts one finished request. `reached_upstream` is whether it was sent to a provider,
    /// which makes a failure an upstream error rather than a rejected request.
    pub fn observe(&self, r: &RequestRecord, reached_upstream: bool) {
        let provider = r.provider.clone().unwrap_or_default();
        let model = r
            .upstream_model
            .clone()
            .or_else(|| r.model.clone())
            .unwrap_or_default();
        let error = is_error(r);
        let Ok(mut m) = self.inner.lock() else {
            return;
        };
        let pm = (provider, model);
        *m.requests
            .entry((
                pm.0.clone(),
                pm.1.clone(),
                r.http_status,
                if error { "error" } else { "ok" },
            ))
            .or_default() += 1;
        for (kind, n) in [
            ("input", r.usage.input),
            ("cached_input", r.usage.cached_input),
            ("output", r.usage.output),
            ("reasoning", r.usage.reasoning),
        ] {
            if n > 0 {
                *m.tokens
                    .entry((pm.0.clone(), pm.1.clone(), kind))
                    .or_default() += n;
            }
        }
        if let Some(c) = r.cost_micro_usd.filter(|c| *c > 0) {
            *m.cost_micro_usd.entry(pm.clone()).or_default() += c.unsigned_abs();
        }
        m.latency
            .entry(pm.clone())
            .or_default()
            .observe(r.latency_us as f64 / 1e6);
        if let Some(t) = r.ttft_us {
            m.ttft
                .entry(pm.clone())
                .or_default()
                .observe(t as f64 / 1e6);
        }
        if error && reached_upstream {
            *m.upstream_errors
                .entry((pm.0, pm.1, r.http_status))
                .or_default() += 1;
        }
    }

    /// The Prometheus text exposition (format 0.0.4). `in_flight` is the current gauge value.
    pub fn render(&self, in_flight: usize) -> String {
        let m = match self.inner.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let mut o = String::new();
        family(
            &mut o,
            "bifrost_requests_total",
            "counter",
            "Finished requests by provider, model, HTTP status and outcome (ok or error).",
        );
        for ((p, md, s, outcome), n) in &m.requests {
            let st = s.to_string();
            sample(
                &mut o,
                "bifrost_requests_total",
                &[
                    ("provider", p),
                    ("model", md),
                    ("status", &st),
                    ("outcome", outcome),
                ],
                &n.to_string(),
            );
        }
        family(
            &mut o,
            "bifrost_tokens_total",
            "counter",
            "Tokens by kind: input (cached included), cached_input, output (reasoning included), reasoning.",
        );
        for ((p, md, kind), n) in &m.tokens {
            sample(
                &mut o,
                "bifrost_tokens_total",
                &[("provider", p), ("model", md), ("kind", kind)],
                &n.to_string(),
            );
        }
        family(
            &mut o,
            "bifrost_cost_usd_total",
            "counter",
            "Cost in USD of the priced requests (kept as integer micro-USD, exposed as USD).",
        );
        for ((p, md), micros) in &m.cost_micro_usd {
            sample(
                &mut o,
                "bifrost_cost_usd_total",
                &[("provider", p), ("model", md)],
                &usd(*micros),
            );
        }
        histogram_family(
            &mut o,
            "bifrost_request_duration_seconds",
            "Request latency: arrival to last byte.",
            &m.latency,
        );
        histogram_family(
            &mut o,
            "bifrost_time_to_first_token_seconds",
            "Arrival to the first output token (streams).",
            &m.ttft,
        );
        family(
            &mut o,
            "bifrost_upstream_errors_total",
            "counter",
            "Requests sent to a provider that failed (error status, cut stream, unreachable), by HTTP status sent to the client.",
        );
        for ((p, md, s), n) in &m.upstream_errors {
            let st = s.to_string();
            sample(
                &mut o,
                "bifrost_upstream_errors_total",
                &[("provider", p), ("model", md), ("status", &st)],
                &n.to_string(),
            );
        }
        family(
            &mut o,
            "bifrost_retries_total",
            "counter",
            "Upstream retries (always 0 until retries and failover land).",
        );
        sample(&mut o, "bifrost_retries_total", &[], "0");
        histogram_family(
            &mut o,
            "bifrost_mcp_tool_duration_seconds",
            "MCP tool call durations (empty until MCP tool injection lands).",
            &BTreeMap::from([((String::new(), String::new()), Histogram::default())]),
        );
        family(
            &mut o,
            "bifrost_requests_in_flight",
            "gauge",
            "Requests being served now.",
        );
        sample(
            &mut o,
            "bifrost_requests_in_flight",
            &[],
            &in_flight.to_string(),
        );
        o
    }
}

fn usd(micros: u64) -> String {
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

fn family(o: &mut String, name: &str, ty: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}");
    let _ = writeln!(o, "# TYPE {name} {ty}");
}

fn sample(o: &mut String, name: &str, labels: &[(&str, &str)], value: &str) {
    o.push_str(name);
    if !labels.is_empty() {
        o.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            let _ = write!(o, "{k}=\"{}\"", escape(v));
        }
        o.push('}');
    }
    let _ = writeln!(o, " {value}");
}

/// Label values escape backslash, double quote and newline.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn histogram_family(o: &mut String, name: &str, help: &str, series: &BTreeMap<Pm, Histogram>) {
    family(o, name, "histogram", help);
    for ((p, md), h) in series {
        let labels: Vec<(&str, &str)> = if p.is_empty() && md.is_empty() {
            Vec::new()
        } else {
            vec![("provider", p.as_str()), ("model", md.as_str())]
        };
        let mut cumulative = 0u64;
        let bucket = format!("{name}_bucket");
        for (i, bound) in LATENCY_BUCKETS
            .iter()
            .map(|b| b.to_string())
            .chain(std::iter::once("+Inf".to_string()))
            .enumerate()
        {
            cumulative += h.counts.get(i).copied().unwrap_or(0);
            let mut l = labels.clone();
            l.push(("le", &bound));
            sample(o, &bucket, &l, &cumulative.to_string());
        }
        sample(o, &format!("{name}_sum"), &labels, &h.sum.to_string());
        sample(o, &format!("{name}_count"), &labels, &h.count.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_escapes_labels() {
        let m = Metrics::default();
        let mut r = RequestRecord {
            provider: Some("openai".into()),
            upstream_model: Some("gpt-\"5\"".into()),
            http_status: 200,
            latency_us: 300_000,
            ttft_us: Some(40_000),
            cost_micro_usd: Some(1_500_001),
            ..RequestRecord::default()
        };
        r.usage.input = 10;
        r.usage.output = 3;
        m.observe(&r, true);
        r.http_status = 502;
        r.error = Some("boom".into());
        m.observe(&r, true);
        let text = m.render(1);
        assert!(text.contains(
            "bifrost_requests_total{provider=\"openai\",model=\"gpt-\\\"5\\\"\",status=\"502\",outcome=\"error\"} 1"
        ));
        assert!(text.contains(
            "bifrost_cost_usd_total{provider=\"openai\",model=\"gpt-\\\"5\\\"\"} 3.000002"
        ));
        assert!(text.contains("bifrost_request_duration_seconds_bucket{provider=\"openai\",model=\"gpt-\\\"5\\\"\",le=\"0.5\"} 2"));
        assert!(text.contains("bifrost_request_duration_seconds_bucket{provider=\"openai\",model=\"gpt-\\\"5\\\"\",le=\"0.25\"} 0"));
        assert!(text.contains("bifrost_time_to_first_token_seconds_count{provider=\"openai\",model=\"gpt-\\\"5\\\"\"} 2"));
        assert!(text.contains("bifrost_upstream_errors_total{provider=\"openai\",model=\"gpt-\\\"5\\\"\",status=\"502\"} 1"));
        assert!(text.contains("bifrost_retries_total 0"));
        assert!(text.contains("bifrost_mcp_tool_duration_seconds_count 0"));
        assert!(text.contains("bifrost_requests_in_flight 1"));
    }
}
