//! `bifrost stats`: requests, success rate, tokens, cost, latency and shares per model,
//! provider, day or session, aggregated in one pass over the stored rows.

use std::collections::BTreeMap;

use serde::Serialize;
use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Style};

use crate::store::LogRow;
use crate::summary::{fmt_cost, fmt_int, fmt_ms, label, percentile};

/// What rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum By {
    /// `provider/model`.
    Model,
    /// Provider name.
    Provider,
    /// UTC calendar day.
    Day,
    /// Session id.
    Session,
}

/// Aggregates for one group, or the total.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Group {
    /// The group's key, or `total`.
    pub key: String,
    /// Requests.
    pub requests: u64,
    /// Successful requests.
    pub ok: u64,
    /// `ok / requests`, 0..=1.
    pub success_rate: f64,
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
    /// Mean latency.
    pub avg_ms: Option<f64>,
    /// Latency median.
    pub p50_ms: Option<f64>,
    /// Latency 95th percentile.
    pub p95_ms: Option<f64>,
    /// Time-to-first-token median (streams).
    pub ttft_p50_ms: Option<f64>,
    /// This group's share of all requests, 0..=1.
    pub share_requests: f64,
    /// This group's share of the known cost, 0..=1; null when either is unknown.
    pub share_cost: Option<f64>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stats {
    /// The grouping.
    pub by: By,
    /// Groups: chronological for days, else most requests first.
    pub groups: Vec<Group>,
    /// Every row.
    pub total: Group,
}

#[derive(Default)]
struct Acc {
    g: Group,
    cost_micro: i64,
    priced: bool,
    latency: Vec<f64>,
    ttft: Vec<f64>,
}

impl Acc {
    fn add(&mut self, r: &LogRow) {
        let g = &mut self.g;
        g.requests += 1;
        g.ok += u64::from(r.status == "ok");
        g.input_tokens += r.input_tokens;
        g.cached_input_tokens += r.cached_input_tokens;
        g.output_tokens += r.output_tokens;
        g.reasoning_tokens += r.reasoning_tokens;
        match r.cost_usd {
            Some(c) => {
                self.priced = true;
                self.cost_micro += (c * 1e6).round() as i64;
            }
            None if r.input_tokens + r.output_tokens > 0 => g.unpriced_requests += 1,
            None => {}
        }
        self.latency.push(r.latency_ms);
        self.ttft.extend(r.ttft_ms);
    }

    fn finish(mut self, key: String) -> (Group, i64, bool) {
        self.latency.sort_by(f64::total_cmp);
        self.ttft.sort_by(f64::total_cmp);
        let mut g = self.g;
        g.key = key;
        if g.requests > 0 {
            g.success_rate = g.ok as f64 / g.requests as f64;
            let mean = self.latency.iter().sum::<f64>() / self.latency.len() as f64;
            g.avg_ms = Some((mean * 1000.0).round() / 1000.0);
        }
        g.p50_ms = percentile(&self.latency, 50.0);
        g.p95_ms = percentile(&self.latency, 95.0);
        g.ttft_p50_ms = percentile(&self.ttft, 50.0);
        g.cost_usd = self.priced.then(|| self.cost_micro as f64 / 1e6);
        (g, self.cost_micro, self.priced)
    }
}

/// Accumulates rows one at a time (so a month of rows is never held at once) into [`Stats`].
pub struct Builder {
    by: By,
    groups: BTreeMap<String, Acc>,
    total: Acc,
}

impl Builder {
    /// An empty report grouped `by`.
    pub fn new(by: By) -> Self {
        Self {
            by,
            groups: BTreeMap::new(),
            total: Acc::default(),
        }
    }

    /// Adds one row.
    pub fn add(&mut self, r: &LogRow) {
        let key = match self.by {
            By::Model => label(r),
            By::Provider => r.provider.clone().unwrap_or_else(|| "(none)".into()),
            By::Day => r.time.get(..10).unwrap_or("(unknown)").to_string(),
            By::Session => r.session_id.clone().unwrap_or_else(|| "(none)".into()),
        };
        self.groups.entry(key).or_default().add(r);
        self.total.add(r);
    }

    /// The report, with shares against the total.
    pub fn finish(self) -> Stats {
        let (mut total, total_cost, _) = self.total.finish("total".into());
        let mut groups: Vec<Group> = self
            .groups
            .into_iter()
            .map(|(k, acc)| {
                let (mut g, cost, priced) = acc.finish(k);
                g.share_requests = ratio(g.requests as f64, total.requests as f64);
                g.share_cost =
                    (priced && total_cost > 0).then(|| ratio(cost as f64, total_cost as f64));
                g
            })
            .collect();
        if self.by != By::Day {
            groups.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.key.cmp(&b.key)));
        }
        total.share_requests = if total.requests > 0 { 1.0 } else { 0.0 };
        total.share_cost = (total_cost > 0).then_some(1.0);
        Stats {
            by: self.by,
            groups,
            total,
        }
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        ((a / b) * 1e6).round() / 1e6
    } else {
        0.0
    }
}

/// Builds the report from rows.
pub fn compute(by: By, rows: &[LogRow]) -> Stats {
    let mut b = Builder::new(by);
    for r in rows {
        b.add(r);
    }
    b.finish()
}

/// `62.5%`.
pub fn fmt_pct(f: Option<f64>) -> String {
    match f {
        Some(f) => format!("{:.1}%", f * 100.0),
        None => "n/a".into(),
    }
}

/// The table for stdout.
pub fn render(s: &Stats) -> String {
    let by = match s.by {
        By::Model => "model",
        By::Provider => "provider",
        By::Day => "day (UTC)",
        By::Session => "session",
    };
    let mut rows: Vec<Vec<String>> = vec![
        [
            by,
            "reqs",
            "ok",
            "input",
            "cached",
            "output",
            "reasoning",
            "cost",
            "avg",
            "p50",
            "p95",
            "ttft p50",
            "% reqs",
            "% cost",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for g in s.groups.iter().chain(std::iter::once(&s.total)) {
        rows.push(vec![
            g.key.clone(),
            fmt_int(i64::try_from(g.requests).unwrap_or(i64::MAX)),
            fmt_pct(Some(g.success_rate)),
            fmt_int(g.input_tokens),
            fmt_int(g.cached_input_tokens),
            fmt_int(g.output_tokens),
            fmt_int(g.reasoning_tokens),
            fmt_cost(g.cost_usd, g.cost_usd.is_some() && g.unpriced_requests > 0),
            fmt_ms(g.avg_ms),
            fmt_ms(g.p50_ms),
            fmt_ms(g.p95_ms),
            fmt_ms(g.ttft_p50_ms),
            fmt_pct(Some(g.share_requests)),
            fmt_pct(g.share_cost),
        ]);
    }
    let mut t = tabled::builder::Builder::from_iter(rows).build();
    t.with(Style::sharp());
    t.modify(Columns::new(1..), Alignment::right());
    t.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        provider: &str,
        model: &str,
        day: &str,
        lat: f64,
        cost: Option<f64>,
        ok: bool,
    ) -> LogRow {
        LogRow {
            id: "r".into(),
            session_id: Some(format!("s-{day}")),
            time: format!("{day}T10:00:00Z"),
            provider: Some(provider.into()),
            model: Some(model.into()),
            status: if ok { "ok" } else { "error" },
            http_status: if ok { 200 } else { 500 },
            stream: true,
            input_tokens: 1000,
            cached_input_tokens: 100,
            output_tokens: 50,
            reasoning_tokens: 10,
            cost_usd: cost,
            latency_ms: lat,
            ttft_ms: Some(lat / 4.0),
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
    fn groups_shares_and_percentiles() {
        let rows = vec![
            row("openai", "gpt-5", "2025-06-01", 100.0, Some(0.01), true),
            row("openai", "gpt-5", "2025-06-01", 200.0, Some(0.02), true),
            row("openai", "gpt-5", "2025-06-02", 300.0, Some(0.03), false),
            row("anthropic", "claude", "2025-06-02", 400.0, Some(0.04), true),
            row("local", "mystery", "2025-06-03", 1000.0, None, true),
        ];
        let s = compute(By::Model, &rows);
        assert_eq!(s.groups.len(), 3);
        let g = &s.groups[0];
        assert_eq!((g.key.as_str(), g.requests, g.ok), ("openai/gpt-5", 3, 2));
        assert_eq!(g.success_rate, 2.0 / 3.0);
        assert_eq!(g.input_tokens, 3000);
        assert_eq!(g.cost_usd, Some(0.06));
        assert_eq!(g.avg_ms, Some(200.0));
        assert_eq!((g.p50_ms, g.p95_ms), (Some(200.0), Some(300.0)));
        assert_eq!(g.ttft_p50_ms, Some(50.0));
        assert_eq!(g.share_requests, 0.6);
        assert_eq!(g.share_cost, Some(0.6));
        let m = s.groups.iter().find(|g| g.key == "local/mystery");
        assert_eq!(m.map(|g| (g.cost_usd, g.share_cost)), Some((None, None)));
        assert_eq!(s.total.requests, 5);
        assert_eq!(s.total.cost_usd, Some(0.1));
        assert_eq!(s.total.unpriced_requests, 1);
        assert_eq!(s.total.success_rate, 0.8);
        assert_eq!(
            (s.total.p50_ms, s.total.p95_ms),
            (Some(300.0), Some(1000.0))
        );
        let text = render(&s);
        assert!(
            text.contains("$0.1000*") && text.contains("60.0%"),
            "{text}"
        );

        let d = compute(By::Day, &rows);
        let keys: Vec<&str> = d.groups.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys, ["2025-06-01", "2025-06-02", "2025-06-03"]);
        let p = compute(By::Provider, &rows);
        assert_eq!(p.groups[0].key, "openai");
        assert_eq!(p.groups[0].share_cost, Some(0.6));
    }

    #[test]
    fn empty_is_all_zero() {
        let s = compute(By::Session, &[]);
        assert!(s.groups.is_empty());
        assert_eq!(
            (s.total.requests, s.total.cost_usd, s.total.p50_ms),
            (0, None, None)
        );
    }
}
