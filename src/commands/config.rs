//! `bifrost config init|check|path`.

use crate::cli::{Cli, ConfigCommand};
use crate::config::{ConfigPath, Loaded, TEMPLATE};
use crate::error::{Error, Result};

/// Runs `bifrost config ...`.
pub fn config(cli: &Cli, cmd: &ConfigCommand) -> Result<u8> {
    let at = ConfigPath::locate(cli.config.as_deref())?;
    match cmd {
        ConfigCommand::Path => {
            println!("{}", at.path.display());
            Ok(0)
        }
        ConfigCommand::Init { force } => {
            if at.path.exists() && !force {
                return Err(Error::Usage(format!(
                    "{} already exists; check it with `bifrost config check`, or pass --force to overwrite",
                    at.path.display()
                )));
            }
            if let Some(dir) = at.path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
            }
            std::fs::write(&at.path, TEMPLATE)
                .map_err(|e| Error::io(format!("writing {}", at.path.display()), e))?;
            eprintln!("bifrost: wrote {}", at.path.display());
            Ok(0)
        }
        ConfigCommand::Check => {
            if !at.path.exists() {
                println!(
                    "{}: no file; zero config (providers from OPENAI_API_KEY and friends)",
                    at.path.display()
                );
            }
            let loaded = Loaded::read(&ConfigPath {
                explicit: false,
                ..at.clone()
            })?;
            let config = loaded.resolve(&|k| std::env::var(k).ok())?;
            let names: Vec<&str> = config.providers.keys().map(String::as_str).collect();
            println!(
                "{}: ok; providers: {}; default provider: {}",
                at.path.display(),
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                },
                config.default_provider.as_deref().unwrap_or("none")
            );
            // The URL is checked, not connected to; its password is never printed.
            let home = crate::config::bifrost_home()?;
            println!(
                "store: {}",
                crate::store::Location::resolve(config.store_url.as_ref(), &home)?.shown()
            );
            Ok(0)
        }
    }
}
