//! Shell completions and man pages, generated from the clap definitions. The committed copies
//! in completions/ and man/ are kept in sync by a test.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::{Error, Result};

/// Prints a completion script.
pub fn completions(shell: Shell) -> Result<u8> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "bifrost", &mut std::io::stdout());
    Ok(0)
}

fn completion_file(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => "bifrost.bash",
        Shell::Zsh => "_bifrost",
        Shell::Fish => "bifrost.fish",
        Shell::Elvish => "bifrost.elv",
        Shell::PowerShell => "_bifrost.ps1",
        _ => "bifrost.unknown",
    }
}

/// Every generated file: its path relative to the repository root, and its bytes.
pub fn render_assets() -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut out = Vec::new();
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::Elvish,
        Shell::PowerShell,
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "bifrost", &mut buf);
        out.push((Path::new("completions").join(completion_file(shell)), buf));
    }
    let mut cmd = Cli::command();
    cmd.build();
    man_pages(&cmd, "bifrost", &mut out)?;
    Ok(out)
}

fn man_pages(cmd: &clap::Command, name: &str, out: &mut Vec<(PathBuf, Vec<u8>)>) -> Result<()> {
    if cmd.is_hide_set() {
        return Ok(());
    }
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone().name(name.to_string()))
        .render(&mut buf)
        .map_err(|e| Error::io("rendering a man page", e))?;
    out.push((Path::new("man").join(format!("{name}.1")), buf));
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        man_pages(sub, &format!("{name}-{}", sub.get_name()), out)?;
    }
    Ok(())
}

/// Writes completions/ and man/ under `dir`.
pub fn generate_assets(dir: &Path) -> Result<u8> {
    for sub in ["completions", "man"] {
        let d = dir.join(sub);
        if d.exists() {
            for entry in std::fs::read_dir(&d)
                .map_err(|e| Error::io(format!("reading {}", d.display()), e))?
                .flatten()
            {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        std::fs::create_dir_all(&d)
            .map_err(|e| Error::io(format!("creating {}", d.display()), e))?;
    }
    for (rel, bytes) in render_assets()? {
        let p = dir.join(&rel);
        std::fs::write(&p, bytes).map_err(|e| Error::io(format!("writing {}", p.display()), e))?;
        eprintln!("wrote {}", p.display());
    }
    Ok(0)
}
