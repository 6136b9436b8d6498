//! `bifrost pricing`: the embedded price table (filtered), and `pricing import` to turn a
//! genai-prices or LiteLLM price file into config overrides.

use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Style};

use crate::cli::{Cli, PricingAction, PricingArgs};
use crate::config::ConfigPath;
use crate::error::{Error, Result};
use crate::pricing;

/// Runs `bifrost pricing`.
pub fn pricing(cli: &Cli, args: &PricingArgs) -> Result<u8> {
    if let Some(PricingAction::Import { file, out }) = &args.action {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Error::io(format!("reading {}", file.display()), e))?;
        let (format, prices) = pricing::import::parse(&text)?;
        let out = match out {
            Some(p) => p.clone(),
            None => {
                let cfg = ConfigPath::locate(cli.config.as_deref())?.path;
                cfg.parent()
                    .map(|d| d.join("pricing-overrides.toml"))
                    .unwrap_or_else(|| "pricing-overrides.toml".into())
            }
        };
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        let toml = pricing::import::to_toml(&file.display().to_string(), format, &prices);
        std::fs::write(&out, toml)
            .map_err(|e| Error::io(format!("writing {}", out.display()), e))?;
        println!(
            "wrote {} price(s) to {}; paste the tables you want into your config ({}) to override the embedded table",
            prices.len(),
            out.display(),
            ConfigPath::locate(cli.config.as_deref())?.path.display()
        );
        return Ok(0);
    }
    let needle = args.model.as_deref().map(str::to_ascii_lowercase);
    let rows: Vec<(&String, &pricing::Price)> = pricing::models()
        .iter()
        .filter(|(k, _)| {
            needle
                .as_deref()
                .is_none_or(|n| k.to_ascii_lowercase().contains(n))
        })
        .collect();
    if args.json {
        let models: serde_json::Map<String, serde_json::Value> = rows
            .iter()
            .map(|(k, p)| {
                (
                    (*k).clone(),
                    serde_json::json!({
                        "input": p.input, "cached_input": p.cached_input, "output": p.output,
                        "cache_write": p.cache_write, "context_window": p.context_window,
                    }),
                )
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "source": pricing::source(), "unit": "USD per 1M tokens", "models": models,
            }))?
        );
        return Ok(0);
    }
    println!(
        "prices from {} (USD per 1M tokens; [pricing.\"provider/model\"] in the config overrides)",
        pricing::source()
    );
    if rows.is_empty() {
        eprintln!(
            "bifrost: no model matches `{}`; unknown prices show as n/a",
            args.model.as_deref().unwrap_or("")
        );
        return Ok(0);
    }
    let opt = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v}"));
    let mut data: Vec<Vec<String>> = vec![
        [
            "model",
            "input",
            "cached input",
            "output",
            "cache write",
            "context",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (k, p) in rows {
        data.push(vec![
            k.clone(),
            format!("{}", p.input),
            opt(p.cached_input),
            format!("{}", p.output),
            opt(p.cache_write),
            p.context_window
                .map_or_else(|| "-".into(), |c| crate::summary::fmt_int(c as i64)),
        ]);
    }
    let mut t = tabled::builder::Builder::from_iter(data).build();
    t.with(Style::sharp());
    t.modify(Columns::new(1..), Alignment::right());
    println!("{t}");
    Ok(0)
}
