//! `bifrost logs`: the stored requests as a table or JSON, and `logs show ID` for one.

use std::io::Write;

use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Style};

use crate::cli::{LogsAction, LogsArgs};
use crate::config::bifrost_home;
use crate::error::{Error, Result};
use crate::store::{self, LogFilter, LogRow};
use crate::summary::{fmt_cost, fmt_int, fmt_ms};

/// Runs `bifrost logs`.
pub fn logs(args: &LogsArgs) -> Result<u8> {
    let path = bifrost_home()?.join("logs.db");
    let conn = store::open(&path)?;
    if let Some(LogsAction::Show { id }) = &args.action {
        return show(&conn, id);
    }
    let session_id = if args.last {
        match store::last_session_id(&conn)? {
            Some(id) => Some(id),
            None => {
                eprintln!(
                    "bifrost: no sessions logged yet in {}; run `bifrost codex ...` first",
                    path.display()
                );
                return Ok(if args.json { print_json(&[])? } else { 0 });
            }
        }
    } else {
        args.session.clone()
    };
    let rows = store::requests(
        &conn,
        &LogFilter {
            session_id: session_id.clone(),
            limit: Some(args.limit),
        },
    )?;
    if args.json {
        return print_json(&rows);
    }
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

fn print_json(rows: &[LogRow]) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, rows)?;
    let _ = writeln!(out);
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
        let model = match (&r.provider, &r.upstream_model) {
            (Some(p), Some(m)) => format!("{p}/{m}"),
            _ => r.model.clone().unwrap_or_else(|| "-".into()),
        };
        let mut err = r.error.clone().unwrap_or_default();
        if err.chars().count() > 60 {
            err = format!("{}…", err.chars().take(59).collect::<String>());
        }
        data.push(vec![
            local_time(&r.time),
            r.id.clone(),
            model,
            if r.status == "ok" {
                "ok".into()
            } else {
                format!("{} {}", r.status, r.http_status)
            },
            fmt_int(r.input_tokens),
            fmt_int(r.cached_input_tokens),
            fmt_int(r.output_tokens),
            fmt_int(r.reasoning_tokens),
            fmt_cost(r.cost_usd, false),
            fmt_ms(Some(r.latency_ms)),
            fmt_ms(r.ttft_ms),
            err,
        ]);
    }
    let mut t = tabled::builder::Builder::from_iter(data).build();
    t.with(Style::sharp());
    t.modify(Columns::new(4..11), Alignment::right());
    t.to_string()
}

fn show(conn: &rusqlite::Connection, id: &str) -> Result<u8> {
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
