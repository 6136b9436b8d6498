//! `bifrost models`: each configured provider's models with context windows and prices, from
//! the built-in catalog and, when reachable, the provider's own model list.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Style};

use crate::cli::Cli;
use crate::config::{ConfigPath, Loaded, ProviderConfig};
use crate::error::Result;
use crate::providers::{ProviderKind, pick_key};
use crate::summary::fmt_int;

#[derive(Debug, Clone, Serialize, Default)]
struct Row {
    model: String,
    context_window: Option<u64>,
    max_output: Option<u64>,
    input_usd_per_mtok: Option<f64>,
    output_usd_per_mtok: Option<f64>,
    listed_by_provider: bool,
}

async fn listed(
    client: &reqwest::Client,
    p: &ProviderConfig,
) -> std::result::Result<Vec<(String, Option<u64>, Option<u64>)>, String> {
    let url = format!("{}/models", p.base_url);
    let rb = p
        .kind
        .authorize(client.get(&url), pick_key(p, 0).map(|k| &k.secret));
    let resp = rb
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status().as_u16()));
    }
    let v: Value = resp.json().await.map_err(|e| e.without_url().to_string())?;
    let mut out = Vec::new();
    if p.kind == ProviderKind::Gemini {
        for m in v["models"].as_array().into_iter().flatten() {
            if let Some(name) = m["name"].as_str() {
                out.push((
                    name.trim_start_matches("models/").to_string(),
                    m["inputTokenLimit"].as_u64(),
                    m["outputTokenLimit"].as_u64(),
                ));
            }
        }
    } else {
        for m in v["data"].as_array().into_iter().flatten() {
            if let Some(id) = m["id"].as_str() {
                out.push((id.to_string(), None, None));
            }
        }
    }
    Ok(out)
}

/// Runs `bifrost models`.
pub async fn models(cli: &Cli, json: bool) -> Result<u8> {
    let loaded = Loaded::read(&ConfigPath::locate(cli.config.as_deref())?)?;
    let config = loaded.resolve(&|k| std::env::var(k).ok())?;
    let client = crate::gateway::http_client()?;
    let mut all: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    let lists =
        futures::future::join_all(config.providers.values().map(|p| listed(&client, p))).await;
    for (p, list) in config.providers.values().zip(lists) {
        let kind = p.kind.name();
        let mut rows: BTreeMap<String, Row> = BTreeMap::new();
        for (k, prefix, window, out) in crate::catalog::entries() {
            if k == kind && !prefix.ends_with('-') {
                rows.insert(
                    prefix.to_string(),
                    Row {
                        model: prefix.to_string(),
                        context_window: Some(window),
                        max_output: Some(out),
                        ..Row::default()
                    },
                );
            }
        }
        match list {
            Ok(models) => {
                for (id, window, out) in models {
                    let info = crate::catalog::lookup(kind, &id);
                    let row = rows.entry(id.clone()).or_insert_with(|| Row {
                        model: id.clone(),
                        ..Row::default()
                    });
                    row.listed_by_provider = true;
                    row.context_window = window.or(row.context_window).or(info.context_window);
                    row.max_output = out.or(row.max_output).or(info.max_output);
                }
            }
            Err(e) => eprintln!(
                "bifrost: could not list {}'s models ({e}); showing the catalog",
                p.name
            ),
        }
        for row in rows.values_mut() {
            if p.kind.is_local() {
                row.input_usd_per_mtok = Some(0.0);
                row.output_usd_per_mtok = Some(0.0);
            } else if let Some(price) =
                crate::pricing::lookup(&config.pricing, &p.name, kind, &row.model)
            {
                row.input_usd_per_mtok = Some(price.input);
                row.output_usd_per_mtok = Some(price.output);
                row.context_window = row.context_window.or(price.context_window);
            }
        }
        all.insert(p.name.clone(), rows.into_values().collect());
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(0);
    }
    let mut data = vec![
        [
            "model",
            "context",
            "max output",
            "input $/1M",
            "output $/1M",
            "listed",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let opt = |v: Option<u64>| v.map_or("-".to_string(), |n| fmt_int(n as i64));
    let price = |v: Option<f64>| v.map_or("n/a".to_string(), |p| format!("{p:.2}"));
    for (provider, rows) in &all {
        for r in rows {
            data.push(vec![
                format!("{provider}/{}", r.model),
                opt(r.context_window),
                opt(r.max_output),
                price(r.input_usd_per_mtok),
                price(r.output_usd_per_mtok),
                if r.listed_by_provider {
                    "yes".into()
                } else {
                    "catalog".into()
                },
            ]);
        }
    }
    let mut t = tabled::builder::Builder::from_iter(data).build();
    t.with(Style::sharp());
    t.modify(Columns::new(1..5), Alignment::right());
    println!("{t}");
    Ok(0)
}
