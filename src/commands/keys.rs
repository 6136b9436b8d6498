//! `bifrost keys create|list|revoke|rotate`: virtual keys, managed directly in the store the
//! team's `bifrost serve` instances read (`[store] url` or `BIFROST_STORE_URL`, else
//! `logs.db`). A key is printed once, on stdout alone so scripts can capture it; only its
//! hash is kept.

use tabled::settings::Style;

use crate::cli::{Cli, KeysCommand, KeysCreateArgs};
use crate::config::{ConfigPath, Loaded, bifrost_home};
use crate::error::Result;
use crate::summary::fmt_cost;
use crate::team::{KeyInput, KeyRow, Listed, Models, Team};

/// Runs `bifrost keys ...`.
pub async fn keys(cli: &Cli, cmd: &KeysCommand) -> Result<u8> {
    let loaded = Loaded::read(&ConfigPath::locate(cli.config.as_deref())?)?;
    let config = loaded.resolve(&|k| std::env::var(k).ok())?;
    let team = Team::open(&config, &bifrost_home()?).await?;
    let now = crate::store::now_ms();
    match cmd {
        KeysCommand::Create(args) => create(&team, args, now).await,
        KeysCommand::List { json } => {
            let keys = team.list(now).await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else if keys.is_empty() {
                eprintln!(
                    "bifrost: no virtual keys yet; make one with `bifrost keys create --name alice`"
                );
            } else {
                println!("{}", table(&keys));
            }
            Ok(0)
        }
        KeysCommand::Revoke { key } => {
            let row = team.revoke(key, now).await?;
            eprintln!(
                "bifrost: revoked key `{}` ({}); every gateway refuses it within a second",
                row.name, row.id
            );
            Ok(0)
        }
        KeysCommand::Rotate { key } => {
            let (row, secret) = team.rotate(key, now).await?;
            println!("{}", secret.expose());
            eprintln!(
                "bifrost: new secret for key `{}` ({}), prefix {}; the old one no longer works. This is the only time it is shown.",
                row.name, row.id, row.prefix
            );
            Ok(0)
        }
    }
}

async fn create(team: &Team, args: &KeysCreateArgs, now: i64) -> Result<u8> {
    let input = KeyInput {
        name: args.name.clone(),
        budget_usd: args.budget_usd.clone(),
        rpm: args.rpm,
        tpm: args.tpm,
        models: args.models.clone().map(Models::Text),
        expires: args.expires.clone(),
    };
    let (row, secret) = team.create(&input, now).await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"key": secret.expose(), "virtual_key": row})
            )?
        );
    } else {
        println!("{}", secret.expose());
    }
    eprintln!(
        "bifrost: created key `{}` ({}): {}. This is the only time the key is shown; only its hash is stored.",
        row.name,
        row.id,
        limits(&row)
    );
    Ok(0)
}

fn limits(k: &KeyRow) -> String {
    let mut parts = Vec::new();
    if let Some(b) = k.budget {
        parts.push(format!("budget {}", b.display()));
    }
    if let Some(n) = k.rpm {
        parts.push(format!("{n} requests/min"));
    }
    if let Some(n) = k.tpm {
        parts.push(format!("{n} tokens/min"));
    }
    if !k.models.is_empty() {
        parts.push(format!("models {}", k.models.join(",")));
    }
    if let Some(e) = k.expires_at_ms {
        parts.push(format!("expires {}", time(e)));
    }
    if parts.is_empty() {
        "no limits".into()
    } else {
        parts.join(", ")
    }
}

fn time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

fn table(keys: &[Listed]) -> String {
    let opt = |v: Option<i64>| v.map_or_else(|| "-".to_string(), |n| n.to_string());
    let mut rows = vec![
        [
            "name", "id", "prefix", "budget", "spent", "rpm", "tpm", "models", "expires", "state",
        ]
        .map(String::from),
    ];
    for l in keys {
        let k = &l.key;
        rows.push([
            k.name.clone(),
            k.id.clone(),
            k.prefix.clone(),
            k.budget.map_or_else(|| "-".into(), |b| b.display()),
            fmt_cost(Some(l.spend_micro_usd as f64 / 1e6), false),
            opt(k.rpm),
            opt(k.tpm),
            if k.models.is_empty() {
                "*".into()
            } else {
                k.models.join(",")
            },
            k.expires_at_ms.map_or_else(|| "never".into(), time),
            l.state.name().into(),
        ]);
    }
    let mut t = tabled::builder::Builder::from_iter(rows).build();
    t.with(Style::sharp());
    t.to_string()
}
