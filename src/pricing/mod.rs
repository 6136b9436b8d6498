//! Token prices: an embedded table generated from the genai-prices dataset
//! (`scripts/gen_prices.py`), with per-model overrides from the config.
//!
//! Prices are USD per 1M tokens, which is exactly micro-USD per token, so a cost is
//! `tokens × price` micro-USD, stored as an integer. An unknown price is `None` and shows as
//! n/a: it is never $0.

pub mod import;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::config::PriceOverride;
use crate::usage::Usage;

/// One model's prices, USD per 1M tokens.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Price {
    /// Uncached input.
    pub input: f64,
    /// Cached input reads; `input` when absent.
    pub cached_input: Option<f64>,
    /// Output (reasoning included).
    pub output: f64,
    /// Cache writes; `input` when absent.
    pub cache_write: Option<f64>,
    /// Context window, when the dataset knows it.
    #[serde(default)]
    pub context_window: Option<u64>,
}

#[derive(Deserialize)]
struct Table {
    source: String,
    models: BTreeMap<String, Price>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        serde_json::from_str(include_str!("prices.json")).unwrap_or_else(|e| {
            tracing::error!("embedded price table is unreadable: {e}");
            Table {
                source: "none".into(),
                models: BTreeMap::new(),
            }
        })
    })
}

/// Where the embedded table came from, e.g. `genai-prices 0.2.3`.
pub fn source() -> &'static str {
    &table().source
}

/// The embedded table, keyed `provider/model`.
pub fn models() -> &'static BTreeMap<String, Price> {
    &table().models
}

/// Looks up a price for `model` served by a provider of kind `kind` (e.g. `openai`).
///
/// Order: a config override for `provider/model`, then for `model`; then the table for
/// `kind/model`, the same without a date suffix (`-2025-08-07`, `-20250929`), and the longest
/// table key that is a `-`-boundary prefix of the model.
pub fn lookup(
    overrides: &BTreeMap<String, PriceOverride>,
    provider: &str,
    kind: &str,
    model: &str,
) -> Option<Price> {
    // Runs once per logged request: one key buffer serves every candidate (override keys
    // are only built when there are overrides, a lowercase copy only for capitals).
    if !overrides.is_empty() {
        for key in [format!("{provider}/{model}"), model.to_string()] {
            if let Some(o) = overrides.get(&key) {
                return Some(Price {
                    input: o.input,
                    cached_input: o.cached_input,
                    output: o.output,
                    cache_write: o.cache_write,
                    context_window: None,
                });
            }
        }
    }
    let recent = RECENT.with(|r| {
        r.try_borrow().ok().and_then(|r| {
            r.iter()
                .find(|(k, m, _)| **k == *kind && **m == *model)
                .map(|(_, _, p)| *p)
        })
    });
    if let Some(price) = recent {
        return price;
    }
    let price = table_lookup(kind, model);
    RECENT.with(|r| {
        if let Ok(mut r) = r.try_borrow_mut() {
            r.truncate(RECENT_MAX - 1);
            r.insert(0, (kind.into(), model.into(), price));
        }
    });
    price
}

/// Models a thread remembers the table's answer for.
const RECENT_MAX: usize = 16;

thread_local! {
    /// The table's answers for the models this thread looked up last, newest first: a gateway
    /// asks about the same few models on every request, and a dated or unknown name walks
    /// several keys of a table of hundreds (~15k instructions per translated request for
    /// `claude-sonnet-4-5`, with the catalog's own lookup, under callgrind).
    static RECENT: std::cell::RefCell<Vec<Recent>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A remembered answer: (kind, model, price).
type Recent = (Box<str>, Box<str>, Option<Price>);

/// [`lookup`] in the embedded table alone.
fn table_lookup(kind: &str, model: &str) -> Option<Price> {
    let models = &table().models;
    let lower = if model.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(model.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(model)
    };
    let mut key = String::with_capacity(kind.len() + 1 + lower.len());
    let mut exact = |m: &str| {
        key.clear();
        key.push_str(kind);
        key.push('/');
        key.push_str(m);
        models.get(&key).copied()
    };
    if let Some(p) = exact(&lower) {
        return Some(p);
    }
    let undated = strip_date(&lower);
    if undated != lower
        && let Some(p) = exact(undated)
    {
        return Some(p);
    }
    let mut cut = undated;
    while let Some((head, _)) = cut.rsplit_once('-') {
        if let Some(p) = exact(head) {
            return Some(p);
        }
        cut = head;
    }
    None
}

fn strip_date(model: &str) -> &str {
    // -YYYYMMDD
    if let Some((head, tail)) = model.rsplit_once('-')
        && tail.len() == 8
        && tail.bytes().all(|b| b.is_ascii_digit())
    {
        return head;
    }
    // -YYYY-MM-DD
    if model.len() > 11 {
        let (head, tail) = model.split_at(model.len() - 11);
        let b = tail.as_bytes();
        if b[0] == b'-'
            && b[5] == b'-'
            && b[8] == b'-'
            && tail[1..5].bytes().all(|c| c.is_ascii_digit())
        {
            return head;
        }
    }
    model
}

/// Cost of `usage` at `price`, in micro-USD, rounded to the nearest unit.
pub fn cost_micro_usd(price: &Price, usage: &Usage) -> i64 {
    let uncached = usage
        .input
        .saturating_sub(usage.cached_input)
        .saturating_sub(usage.cache_write);
    let micro = uncached as f64 * price.input
        + usage.cached_input as f64 * price.cached_input.unwrap_or(price.input)
        + usage.cache_write as f64 * price.cache_write.unwrap_or(price.input)
        + usage.output as f64 * price.output;
    micro.round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_answer_is_the_tables() {
        let none = BTreeMap::new();
        let names: Vec<String> = (0..40)
            .map(|i| match i % 4 {
                0 => format!("claude-sonnet-4-{}", i % 7),
                1 => "gpt-5-2025-08-07".to_string(),
                2 => format!("no-such-model-{i}"),
                _ => "GPT-5-Preview".to_string(),
            })
            .collect();
        for kind in ["openai", "anthropic"] {
            for name in names.iter().chain(&names) {
                assert_eq!(
                    lookup(&none, kind, kind, name),
                    table_lookup(kind, name),
                    "{kind}/{name}"
                );
            }
        }
        let kept = RECENT.with(|r| r.borrow().len());
        assert_eq!(kept, RECENT_MAX);
        assert!(lookup(&none, "anthropic", "anthropic", "claude-sonnet-4-5").is_some());
    }

    #[test]
    fn finds_openai_models_used_by_codex() {
        let none = BTreeMap::new();
        let p = lookup(&none, "openai", "openai", "gpt-5");
        assert_eq!(
            p.map(|p| (p.input, p.cached_input, p.output)),
            Some((1.25, Some(0.125), 10.0))
        );
        assert!(lookup(&none, "openai", "openai", "gpt-5.5").is_some());
        assert_eq!(
            lookup(&none, "openai", "openai", "gpt-5-2025-08-07"),
            lookup(&none, "openai", "openai", "gpt-5")
        );
        assert_eq!(lookup(&none, "openai", "openai", "no-such-model"), None);
        // Capitals and a suffix the table does not know still find the model.
        assert_eq!(
            lookup(&none, "openai", "openai", "GPT-5-Preview"),
            lookup(&none, "openai", "openai", "gpt-5")
        );
        assert!(source().starts_with("genai-prices"));
    }

    #[test]
    fn overrides_win_and_cost_is_exact() {
        let mut o = BTreeMap::new();
        o.insert(
            "work/gpt-5".to_string(),
            PriceOverride {
                input: 2.0,
                cached_input: Some(0.5),
                output: 8.0,
                cache_write: None,
            },
        );
        let p = lookup(&o, "work", "openai", "gpt-5").map(|p| p.input);
        assert_eq!(p, Some(2.0));
        let price = Price {
            input: 1.25,
            cached_input: Some(0.125),
            output: 10.0,
            cache_write: None,
            context_window: None,
        };
        let u = Usage {
            input: 1000,
            cached_input: 400,
            output: 200,
            reasoning: 50,
            cache_write: 0,
        };
        // 600 × 1.25 + 400 × 0.125 + 200 × 10 = 750 + 50 + 2000
        assert_eq!(cost_micro_usd(&price, &u), 2800);
    }
}
