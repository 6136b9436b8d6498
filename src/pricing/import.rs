//! `bifrost pricing import`: turns a genai-prices `data.json` or a LiteLLM
//! `model_prices_and_context_window.json` into `[pricing."provider/model"]` TOML tables.
//!
//! The result is a file to paste into the config, not a file the config includes: the config
//! stays one self-contained file (`config check` reports on exactly what runs), and the user
//! sees and chooses what overrides the embedded table.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::PriceOverride;
use crate::error::{Error, Result};

/// Which dataset a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// pydantic/genai-prices `data.json`: a list of providers with `models[].prices.*_mtok`.
    GenaiPrices,
    /// BerriAI/litellm: model name → `input_cost_per_token`, `output_cost_per_token`, ...
    Litellm,
}

/// Prices read from a file, keyed `provider/model`, USD per 1M tokens.
pub fn parse(text: &str) -> Result<(Format, BTreeMap<String, PriceOverride>)> {
    let v: Value = serde_json::from_str(text)?;
    let providers = match &v {
        Value::Array(a) => Some(a),
        Value::Object(o) => o.get("providers").and_then(Value::as_array),
        _ => None,
    };
    if let Some(providers) = providers {
        return Ok((Format::GenaiPrices, genai(providers)));
    }
    if let Value::Object(o) = &v
        && o.values().any(|m| m.get("input_cost_per_token").is_some())
    {
        return Ok((Format::Litellm, litellm(o)));
    }
    Err(Error::Usage(
        "not a genai-prices data.json (a list of providers) nor a LiteLLM model_prices_and_context_window.json (models with input_cost_per_token); pass one of those files".into(),
    ))
}

fn provider_name(id: &str) -> String {
    match id {
        "google" | "vertex_ai-language-models" => "gemini".into(),
        other => other.to_string(),
    }
}

/// Six decimals: enough for any real price, and no `2.4999999999999996` in the file.
fn round(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// A genai-prices price: a number, or `{"base": n, "tiers": [...]}` (the base is used).
fn mtok(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::Object(o) => o.get("base").and_then(Value::as_f64),
        _ => None,
    }
}

fn genai(providers: &[Value]) -> BTreeMap<String, PriceOverride> {
    let mut out = BTreeMap::new();
    for p in providers {
        let Some(pid) = p.get("id").and_then(Value::as_str) else {
            continue;
        };
        for m in p
            .get("models")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(mid) = m.get("id").and_then(Value::as_str) else {
                continue;
            };
            // Conditional prices are a list of {constraint, prices}: take the unconditional
            // one, else the last (the newest).
            let prices = match m.get("prices") {
                Some(Value::Array(list)) => list
                    .iter()
                    .find(|c| c.get("constraint").is_none_or(Value::is_null))
                    .or(list.last())
                    .and_then(|c| c.get("prices")),
                other => other,
            };
            let Some(prices) = prices else { continue };
            let (Some(input), Some(output)) = (
                mtok(prices.get("input_mtok")),
                mtok(prices.get("output_mtok")),
            ) else {
                continue;
            };
            out.insert(
                format!("{}/{mid}", provider_name(pid)),
                PriceOverride {
                    input: round(input),
                    cached_input: mtok(prices.get("cache_read_mtok")).map(round),
                    output: round(output),
                    cache_write: mtok(prices.get("cache_write_mtok")).map(round),
                },
            );
        }
    }
    out
}

fn litellm(models: &serde_json::Map<String, Value>) -> BTreeMap<String, PriceOverride> {
    let mut out = BTreeMap::new();
    for (name, m) in models {
        let per_m = |k: &str| m.get(k).and_then(Value::as_f64).map(|v| round(v * 1e6));
        let (Some(input), Some(output)) = (
            per_m("input_cost_per_token"),
            per_m("output_cost_per_token"),
        ) else {
            continue;
        };
        if let Some(mode) = m.get("mode").and_then(Value::as_str)
            && !matches!(mode, "chat" | "completion" | "responses")
        {
            continue;
        }
        let provider = m
            .get("litellm_provider")
            .and_then(Value::as_str)
            .unwrap_or("openai");
        let model = name
            .strip_prefix(&format!("{provider}/"))
            .unwrap_or(name.as_str());
        out.insert(
            format!("{}/{model}", provider_name(provider)),
            PriceOverride {
                input,
                cached_input: per_m("cache_read_input_token_cost"),
                output,
                cache_write: per_m("cache_creation_input_token_cost"),
            },
        );
    }
    out
}

fn toml_key(k: &str) -> String {
    format!("\"{}\"", k.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The TOML text: one `[pricing."provider/model"]` table per model.
pub fn to_toml(source: &str, format: Format, prices: &BTreeMap<String, PriceOverride>) -> String {
    let mut out = format!(
        "# Generated by `bifrost pricing import` from {source} ({}): {} models, USD per 1M tokens.\n\
         # Paste the tables you want into your bifrost config (`bifrost config path` prints where\n\
         # it is); they override the embedded table. Models left out keep their embedded price,\n\
         # or n/a.\n",
        match format {
            Format::GenaiPrices => "genai-prices data.json",
            Format::Litellm => "LiteLLM model prices",
        },
        prices.len()
    );
    for (k, p) in prices {
        out.push_str(&format!(
            "\n[pricing.{}]\ninput = {:?}\n",
            toml_key(k),
            p.input
        ));
        if let Some(c) = p.cached_input {
            out.push_str(&format!("cached_input = {c:?}\n"));
        }
        out.push_str(&format!("output = {:?}\n", p.output));
        if let Some(c) = p.cache_write {
            out.push_str(&format!("cache_write = {c:?}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_formats_and_writes_valid_config() -> Result<()> {
        let genai_text = r#"[{"id": "openai", "models": [
            {"id": "gpt-x", "prices": {"input_mtok": 1.25, "cache_read_mtok": 0.125, "output_mtok": 10}},
            {"id": "tiered", "prices": {"input_mtok": {"base": 2, "tiers": [{"start": 200000, "price": 4}]}, "output_mtok": 8}},
            {"id": "dated", "prices": [{"constraint": {"start_date": "2025-01-01"}, "prices": {"input_mtok": 9, "output_mtok": 9}},
                                        {"prices": {"input_mtok": 3, "output_mtok": 6}}]},
            {"id": "image-only", "prices": {"output_mtok": 1}}]},
            {"id": "google", "models": [{"id": "gemini-z", "prices": {"input_mtok": 0.3, "output_mtok": 2.5}}]}]"#;
        let (f, p) = parse(genai_text)?;
        assert_eq!(f, Format::GenaiPrices);
        assert_eq!(p.len(), 4);
        assert_eq!(p["openai/gpt-x"].cached_input, Some(0.125));
        assert_eq!(p["openai/tiered"].input, 2.0);
        assert_eq!(p["openai/dated"].input, 3.0);
        assert_eq!(p["gemini/gemini-z"].output, 2.5);
        let lite = r#"{"sample_spec": {"max_tokens": 1},
            "gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-06, "litellm_provider": "openai", "mode": "chat"},
            "anthropic/claude-q": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05, "litellm_provider": "anthropic", "mode": "chat"},
            "text-embedding-x": {"input_cost_per_token": 1e-07, "output_cost_per_token": 0, "litellm_provider": "openai", "mode": "embedding"}}"#;
        let (f, p) = parse(lite)?;
        assert_eq!(f, Format::Litellm);
        assert_eq!(p.len(), 2);
        assert_eq!(p["openai/gpt-4o"].input, 2.5);
        assert_eq!(p["openai/gpt-4o"].cached_input, Some(1.25));
        assert_eq!(p["anthropic/claude-q"].output, 15.0);
        let text = to_toml("x.json", f, &p);
        let cfg = crate::config::Loaded::from_text(&text)?.resolve(&|_| None)?;
        assert_eq!(cfg.pricing["openai/gpt-4o"], p["openai/gpt-4o"]);
        assert!(parse("{\"a\": 1}").is_err());
        Ok(())
    }
}
