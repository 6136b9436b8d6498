//! `bifrost stats`: the store aggregated per model, provider, day or session (see `stats.rs`).

use crate::cli::{Cli, StatsArgs, StatsBy};
use crate::error::Result;
use crate::stats::{Builder, By};
use crate::store::{self, LogFilter};

/// Runs `bifrost stats`.
pub fn stats(cli: &Cli, args: &StatsArgs) -> Result<u8> {
    let since = crate::since::parse("--since", &args.since, store::now_ms())?;
    let conn = store::connect(&store::Location::for_command(cli.config.as_deref())?)?;
    let mut b = Builder::new(match args.by {
        StatsBy::Model => By::Model,
        StatsBy::Provider => By::Provider,
        StatsBy::Day => By::Day,
        StatsBy::Session => By::Session,
    });
    let filter = LogFilter {
        since_ms: Some(since),
        ..LogFilter::default()
    };
    store::each_request(&conn, &filter, |_, r| {
        b.add(&r);
        Ok(())
    })?;
    let s = b.finish();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(0);
    }
    if s.total.requests == 0 {
        eprintln!("bifrost: no requests logged since {}", args.since);
        return Ok(0);
    }
    println!("{}", crate::stats::render(&s));
    Ok(0)
}
