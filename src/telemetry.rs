//! bifrost's own diagnostics. While a child owns the terminal they go only to
//! `$BIFROST_HOME/bifrost.log`; `bifrost serve` also writes them to stderr.

use std::path::Path;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;

/// Starts logging to `home/bifrost.log` (and stderr when `also_stderr`). Level from
/// `BIFROST_LOG` (default `info`). Failure to open the file is not fatal.
pub fn init(home: &Path, also_stderr: bool) {
    let filter = EnvFilter::try_from_env("BIFROST_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let file = std::fs::create_dir_all(home).and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(home.join("bifrost.log"))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false);
    let _ = match (file, also_stderr) {
        (Ok(f), true) => builder
            .with_writer(std::sync::Mutex::new(f).and(std::io::stderr))
            .try_init(),
        (Ok(f), false) => builder.with_writer(std::sync::Mutex::new(f)).try_init(),
        (Err(_), true) => builder.with_writer(std::io::stderr).try_init(),
        (Err(_), false) => Ok(()),
    };
}
