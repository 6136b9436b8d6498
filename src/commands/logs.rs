//! `bifrost logs`: the stored requests as a table, JSON or CSV, filtered, streamed to a file or
//! followed as they land; `logs show ID` for one request and `logs prune` for retention.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Style};

use crate::cli::{Cli, LogsAction, LogsArgs};
use crate::error::{Error, Result};
use crate::store::{self, Db, LogFilter, LogRow, Sql};
use crate::summary::{fmt_cost, fmt_int, fmt_ms};

/// How often `--follow` polls the store.
const FOLLOW_POLL: Duration = Duration::from_millis(300);

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Table,
    Json,
    Csv,
}

/// The `--json` fields, which are also the CSV columns, in order.
pub const FIELDS: [&str; 18] = [
    "id",
    "session_id",
    "time",
    "provider",
    "model",
    "status",
    "http_status",
    "stream",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cost_usd",
    "latency_ms",
    "ttft_ms",
    "error",
    "cache",
    "virtual_key",
];

/// Runs `bifrost logs` against the configured store (SQLite or PostgreSQL). No async runtime
/// runs here, so the sync PostgreSQL client is used directly.
pub fn logs(cli: &Cli, args: &LogsArgs) -> Result<u8> {
    let location = store::Location::for_command(cli.config.as_deref())?;
    let mut conn = store::connect(&location)?;
    match &args.action {
        Some(LogsAction::Show { id }) => return show(&conn, id),
        Some(LogsAction::Prune { older_than, vacuum }) => {
            return prune(&mut conn, older_than, *vacuum);
        }
        None => {}
    }
    let format = if args.json {
        Format::Json
    } else if args.csv {
        Format::Csv
    } else {
        Format::Table
    };
    let session_id = if args.last {
        match store::last_session_id(&conn)? {
            Some(id) => Some(id),
            None if args.follow => None,
            None => {
                eprintln!(
                    "bifrost: no sessions logged yet in {}; run `bifrost codex ...` first",
                    location.shown()
                );
                if format == Format::Json {
                    println!("[]");
                }
                return Ok(0);
            }
        }
    } else {
        args.session.clone()
    };
    let filter = LogFilter {
        session_id: session_id.clone(),
        limit: (args.limit > 0).then_some(args.limit),
        since_ms: args
            .since
            .as_deref()
            .map(|s| crate::since::parse("--since", s, store::now_ms()))
            .transpose()?,
        model: args.model.clone(),
        provider: args.provider.clone(),
        errors_only: args.errors,
        ..LogFilter::default()
    };
    if let Some(out) = &args.output {
        return export(&conn, &filter, format, out);
    }
    if args.follow {
        return follow(&conn, &filter, format);
    }
    if format != Format::Table {
        let mut out = std::io::stdout().lock();
        let mut sink = Sink::new(format, &mut out)?;
        store::each_request(&conn, &filter, |_, r| sink.row(&r))?;
        sink.end()?;
        return Ok(0);
    }
    let rows = store::requests(&conn, &filter)?;
    if rows.is_empty() {
        eprintln!(
            "bifrost: no requests logged{}",
            session_id
                .map(|s| format!(" for session {s}"))
                .unwrap_or_default()
        );
        return Ok(0);
    }
    println!("{}", table(&rows));
    Ok(0)
}

/// Writes rows one at a time in a format: a JSON array, CSV, or fixed-width lines.
struct Sink<'a> {
    format: Format,
    out: &'a mut dyn Write,
    rows: u64,
    /// `--follow --json` prints one object per line instead of an array.
    lines: bool,
}

impl<'a> Sink<'a> {
    fn new(format: Format, out: &'a mut dyn Write) -> Result<Self> {
        Self::start(format, out, false)
    }

    fn start(format: Format, out: &'a mut dyn Write, lines: bool) -> Result<Self> {
        let mut s = Sink {
            format,
            out,
            rows: 0,
            lines,
        };
        match format {
            Format::Json if !lines => s.write(b"[")?,
            Format::Json => {}
            Format::Csv => s.write(format!("{}\r\n", FIELDS.join(",")).as_bytes())?,
            Format::Table => s.write(format!("{}\n", plain_header()).as_bytes())?,
        }
        Ok(s)
    }

    fn write(&mut self, b: &[u8]) -> Result<()> {
        self.out
            .write_all(b)
            .map_err(|e| Error::io("writing the logs", e))
    }

    fn row(&mut self, r: &LogRow) -> Result<()> {
        let text = match self.format {
            Format::Json if self.lines => format!("{}\n", serde_json::to_string(r)?),
            Format::Json => format!(
                "{}\n  {}",
                if self.rows == 0 { "" } else { "," },
                serde_json::to_string(r)?
            ),
            Format::Csv => format!("{}\r\n", csv_record(r)),
            Format::Table => format!("{}\n", plain_line(r)),
        };
        self.rows += 1;
        self.write(text.as_bytes())?;
        if self.lines {
            self.out
                .flush()
                .map_err(|e| Error::io("writing the logs", e))?;
        }
        Ok(())
    }

    fn end(mut self) -> Result<u64> {
        if self.format == Format::Json && !self.lines {
            self.write(if self.rows == 0 { b"]\n" } else { b"\n]\n" })?;
        }
        self.out
            .flush()
            .map_err(|e| Error::io("writing the logs", e))?;
        Ok(self.rows)
    }
}

/// One CSV field, quoted per RFC 4180 when it holds a comma, quote, CR or LF.
fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// A row as CSV, the `--json` fields in order; null is an empty field.
fn csv_record(r: &LogRow) -> String {
    let value = serde_json::to_value(r).unwrap_or_default();
    FIELDS
        .iter()
        .map(|f| match value.get(f) {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => csv_field(s),
            Some(v) => csv_field(&v.to_string()),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn plain_header() -> String {
    format!(
        "{:<14} {:<36} {:<28} {:<9} {:>9} {:>9} {:>8} {:>9} {:>9} {:>8} {:>8}  error",
        "time",
        "id",
        "model",
        "status",
        "input",
        "cached",
        "output",
        "reasoning",
        "cost",
        "latency",
        "ttft"
    )
}

/// A fixed-width line, for output that cannot wait for the whole table (`--follow`, files).
fn plain_line(r: &LogRow) -> String {
    format!(
        "{:<14} {:<36} {:<28} {:<9} {:>9} {:>9} {:>8} {:>9} {:>9} {:>8} {:>8}  {}",
        local_time(&r.time),
        r.id,
        model_label(r),
        status_label(r),
        fmt_int(r.input_tokens),
        fmt_int(r.cached_input_tokens),
        fmt_int(r.output_tokens),
        fmt_int(r.reasoning_tokens),
        fmt_cost(r.cost_usd, false),
        fmt_ms(Some(r.latency_ms)),
        fmt_ms(r.ttft_ms),
        short_error(r)
    )
}

fn model_label(r: &LogRow) -> String {
    match (&r.provider, &r.upstream_model) {
        (Some(p), Some(m)) => format!("{p}/{m}"),
        _ => r.model.clone().unwrap_or_else(|| "-".into()),
    }
}

fn status_label(r: &LogRow) -> String {
    if r.status == "ok" {
        "ok".into()
    } else {
        format!("{} {}", r.status, r.http_status)
    }
}

fn short_error(r: &LogRow) -> String {
    let err = r
        .error
        .clone()
        .unwrap_or_default()
        .replace(['\n', '\r'], " ");
    if err.chars().count() > 60 {
        format!("{}…", err.chars().take(59).collect::<String>())
    } else {
        err
    }
}

/// `--output FILE`: streams the rows into the file, with a progress bar when stderr is a
/// terminal and one final line otherwise.
fn export(conn: &Db, filter: &LogFilter, format: Format, path: &Path) -> Result<u8> {
    let total = store::count_requests(conn, filter)?;
    let file = std::fs::File::create(path)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    let mut out = std::io::BufWriter::new(file);
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} {wide_bar} {pos}/{len} rows ({eta})")
        {
            bar.set_style(style);
        }
        Some(bar)
    } else {
        None
    };
    let mut sink = Sink::new(format, &mut out)?;
    store::each_request(conn, filter, |_, r| {
        sink.row(&r)?;
        if let Some(b) = &bar {
            b.inc(1);
        }
        Ok(())
    })?;
    let n = sink.end()?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    eprintln!("bifrost: wrote {n} request(s) to {}", path.display());
    Ok(0)
}

/// `--follow`: the newest rows, then every row committed afterwards by any process (any
/// gateway sharing a PostgreSQL store), read through this process's own connection every
/// [`FOLLOW_POLL`] by insertion number (WAL lets a SQLite reader see other processes' commits;
/// PostgreSQL's `seq` grows in commit order). Runs until killed (Ctrl-C).
fn follow(conn: &Db, filter: &LogFilter, format: Format) -> Result<u8> {
    let mut stdout = std::io::stdout().lock();
    let mut sink = Sink::start(format, &mut stdout, true)?;
    let mut last = store::max_rowid(conn)?;
    store::each_request(conn, filter, |rid, r| {
        last = last.max(rid);
        sink.row(&r)
    })?;
    loop {
        std::thread::sleep(FOLLOW_POLL);
        for (rid, r) in store::requests_after(conn, filter, last)? {
            last = last.max(rid);
            sink.row(&r)?;
        }
    }
}

fn prune(conn: &mut Db, older_than: &str, vacuum: bool) -> Result<u8> {
    let before = crate::since::parse("--older-than", older_than, store::now_ms())?;
    let n = store::prune(conn, before)?;
    println!("deleted {n} request(s) older than {older_than}");
    if vacuum {
        // Both dialects spell it the same; PostgreSQL runs it outside a transaction, as here.
        conn.execute_batch("VACUUM")?;
        println!("vacuumed the store");
    }
    Ok(0)
}

fn local_time(rfc3339: &str) -> String {
    rfc3339
        .parse::<jiff::Timestamp>()
        .map(|t| {
            t.to_zoned_datetime(jiff::tz::TimeZone::system())
                .strftime("%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_string())
}

fn table(rows: &[LogRow]) -> String {
    let mut data: Vec<Vec<String>> = vec![
        [
            "time",
            "id",
            "model",
            "status",
            "input",
            "cached",
            "output",
            "reasoning",
            "cost",
            "latency",
            "ttft",
            "error",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for r in rows {
        data.push(vec![
            local_time(&r.time),
            r.id.clone(),
            model_label(r),
            status_label(r),
            fmt_int(r.input_tokens),
            fmt_int(r.cached_input_tokens),
            fmt_int(r.output_tokens),
            fmt_int(r.reasoning_tokens),
            fmt_cost(r.cost_usd, false),
            fmt_ms(Some(r.latency_ms)),
            fmt_ms(r.ttft_ms),
            short_error(r),
        ]);
    }
    let mut t = tabled::builder::Builder::from_iter(data).build();
    t.with(Style::sharp());
    t.modify(Columns::new(4..11), Alignment::right());
    t.to_string()
}

fn show(conn: &Db, id: &str) -> Result<u8> {
    let rows = store::request(conn, id)?;
    let r = match rows.as_slice() {
        [r] => r,
        [] => {
            return Err(Error::Usage(format!(
                "no request with id `{id}`; list them with `bifrost logs`"
            )));
        }
        _ => {
            return Err(Error::Usage(format!(
                "`{id}` matches several requests; give more of the id"
            )));
        }
    };
    let b = store::bodies(conn, &r.id)?;
    let mut out = String::new();
    let line = |out: &mut String, k: &str, v: String| out.push_str(&format!("{k:<15} {v}\n"));
    line(&mut out, "id", r.id.clone());
    line(
        &mut out,
        "session",
        r.session_id.clone().unwrap_or_else(|| "-".into()),
    );
    line(&mut out, "time", r.time.clone());
    line(&mut out, "route", r.route.clone());
    line(
        &mut out,
        "provider",
        r.provider.clone().unwrap_or_else(|| "-".into()),
    );
    line(
        &mut out,
        "model",
        format!(
            "{} (upstream: {})",
            r.model.as_deref().unwrap_or("-"),
            r.upstream_model.as_deref().unwrap_or("-")
        ),
    );
    line(
        &mut out,
        "key",
        r.key_alias.clone().unwrap_or_else(|| "-".into()),
    );
    line(
        &mut out,
        "status",
        format!(
            "{} (HTTP {}){}",
            r.status,
            r.http_status,
            if r.stream { ", streamed" } else { "" }
        ),
    );
    if let Some(e) = &r.error {
        line(&mut out, "error", e.clone());
    }
    if let Some(n) = &r.notes {
        line(&mut out, "notes", n.clone());
    }
    line(
        &mut out,
        "tokens",
        format!(
            "input {} (cached {}), output {} (reasoning {})",
            fmt_int(r.input_tokens),
            fmt_int(r.cached_input_tokens),
            fmt_int(r.output_tokens),
            fmt_int(r.reasoning_tokens)
        ),
    );
    line(&mut out, "cost", fmt_cost(r.cost_usd, false));
    line(
        &mut out,
        "latency",
        format!(
            "total {}, ttft {}, upstream {}, gateway {}",
            fmt_ms(Some(r.latency_ms)),
            fmt_ms(r.ttft_ms),
            fmt_ms(r.upstream_ms),
            fmt_ms(r.overhead_ms)
        ),
    );
    let tries = store::attempts(conn, &r.id)?;
    if !tries.is_empty() {
        out.push_str("\n--- upstream attempts (retries, cooled-down keys, fallbacks)\n");
        for a in &tries {
            out.push_str(&format!(
                "{}. {}/{} key {}: {} in {}{}\n",
                a.n,
                a.provider,
                a.model,
                a.key_alias.as_deref().unwrap_or("-"),
                if a.status == 0 {
                    "no answer".to_string()
                } else {
                    format!("HTTP {}", a.status)
                },
                fmt_ms(Some(a.latency_ms)),
                a.error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            ));
        }
    }
    let calls = store::tool_calls(conn, &r.id)?;
    if !calls.is_empty() {
        out.push_str("\n--- MCP tool calls (run by the gateway)\n");
        for c in &calls {
            out.push_str(&format!(
                "{}/{} {} in {}  args {}\n",
                c.server,
                c.tool,
                if c.is_error { "failed" } else { "ok" },
                fmt_ms(Some(c.duration_ms)),
                c.arguments.as_deref().unwrap_or("{}")
            ));
        }
    }
    let pretty = |s: &str| {
        serde_json::from_str::<serde_json::Value>(s)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| s.to_string())
    };
    match &b.request_headers {
        Some(h) => out.push_str(&format!(
            "\n--- request headers (secrets redacted)\n{}\n",
            pretty(h)
        )),
        None => out.push_str("\n(bodies were not captured: logs.capture_bodies is off)\n"),
    }
    if let Some(req) = &b.request {
        out.push_str(&format!("\n--- request\n{}\n", pretty(req)));
    }
    if let Some(resp) = &b.response {
        out.push_str(&format!("\n--- response\n{}\n", pretty(resp)));
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    Ok(0)
}
