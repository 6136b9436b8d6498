//! `bifrost sessions`: one line per `bifrost codex|run|serve` invocation, newest first.

use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Style};

use crate::cli::{Cli, SessionsArgs};
use crate::error::Result;
use crate::store::{self, SessionRow};
use crate::summary::{fmt_cost, fmt_int};

/// Runs `bifrost sessions`.
pub fn sessions(cli: &Cli, args: &SessionsArgs) -> Result<u8> {
    let conn = store::connect(&store::Location::for_command(cli.config.as_deref())?)?;
    let rows = store::sessions(&conn, args.limit)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(0);
    }
    if rows.is_empty() {
        eprintln!("bifrost: no sessions logged yet; run `bifrost codex ...` first");
        return Ok(0);
    }
    println!("{}", table(&rows));
    Ok(0)
}

/// `1h02m`, `3m05s`, `42s`, `-` while running.
pub fn fmt_duration(ms: Option<i64>) -> String {
    let Some(ms) = ms else { return "-".into() };
    let s = ms.max(0) / 1000;
    match s {
        s if s >= 3600 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// The command line without bifrost's own path, cut to `max` characters.
pub fn fmt_command(argv: &[String], max: usize) -> String {
    let mut parts = argv.iter();
    if argv.first().is_some_and(|a| a.ends_with("bifrost")) {
        parts.next();
    }
    let s = parts.cloned().collect::<Vec<_>>().join(" ");
    if s.chars().count() > max {
        format!(
            "{}…",
            s.chars().take(max.saturating_sub(1)).collect::<String>()
        )
    } else {
        s
    }
}

fn table(rows: &[SessionRow]) -> String {
    let mut data: Vec<Vec<String>> = vec![
        [
            "start", "duration", "session", "command", "models", "reqs", "tokens", "cost", "exit",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for r in rows {
        let start = r
            .started
            .parse::<jiff::Timestamp>()
            .map(|t| {
                t.to_zoned_datetime(jiff::tz::TimeZone::system())
                    .strftime("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_else(|_| r.started.clone());
        data.push(vec![
            start,
            fmt_duration(r.duration_ms),
            r.id.clone(),
            fmt_command(&r.argv, 40),
            if r.models.is_empty() {
                "-".into()
            } else {
                r.models.join(", ")
            },
            r.requests.to_string(),
            fmt_int(r.input_tokens + r.output_tokens),
            fmt_cost(r.cost_usd, r.cost_usd.is_some() && r.unpriced_requests > 0),
            r.exit_code.map_or_else(|| "-".into(), |c| c.to_string()),
        ]);
    }
    let mut t = tabled::builder::Builder::from_iter(data).build();
    t.with(Style::sharp());
    t.modify(Columns::new(5..8), Alignment::right());
    t.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_commands() {
        assert_eq!(fmt_duration(Some(3_723_000)), "1h02m");
        assert_eq!(fmt_duration(Some(185_000)), "3m05s");
        assert_eq!(fmt_duration(Some(999)), "0s");
        assert_eq!(fmt_duration(None), "-");
        let argv = [
            "/usr/bin/bifrost",
            "codex",
            "exec",
            "explain this repository",
        ]
        .map(String::from);
        assert_eq!(
            fmt_command(&argv, 100),
            "codex exec explain this repository"
        );
        assert_eq!(fmt_command(&argv, 12), "codex exec …");
    }
}
