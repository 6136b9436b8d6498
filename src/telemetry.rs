//! bifrost's own diagnostics. While a child owns the terminal they go only to
//! `$BIFROST_HOME/bifrost.log`; `bifrost serve` also writes them to stderr. With
//! `--log-format json` (or `BIFROST_LOG_FORMAT=json`) every line is one JSON object, for log
//! collectors (journald, Loki, CloudWatch) in team deployments.

use std::path::Path;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};

use crate::cli::LogFormat;

/// Starts logging to `home/bifrost.log` (and stderr when `also_stderr`) in `format` (text by
/// default). Level from `BIFROST_LOG` (default `info`). Failure to open the file is not fatal.
pub fn init(home: &Path, also_stderr: bool, format: Option<LogFormat>) {
    let filter = EnvFilter::try_from_env("BIFROST_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let file = std::fs::create_dir_all(home).and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(home.join("bifrost.log"))
    });
    let writer = match (file, also_stderr) {
        (Ok(f), true) => BoxMakeWriter::new(std::sync::Mutex::new(f).and(std::io::stderr)),
        (Ok(f), false) => BoxMakeWriter::new(std::sync::Mutex::new(f)),
        (Err(_), true) => BoxMakeWriter::new(std::io::stderr),
        (Err(_), false) => return,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(writer);
    let _ = match format.unwrap_or(LogFormat::Text) {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}
