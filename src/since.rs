//! `--since` / `--older-than` values: a span back from now (`30m`, `2h`, `7d`) or an RFC 3339
//! time, turned into a Unix-millisecond cut-off, with a one-line fix when it does not parse.

use crate::error::{Error, Result};

/// The Unix millisecond `value` denotes, relative to `now_ms` for spans.
pub fn parse(flag: &str, value: &str, now_ms: i64) -> Result<i64> {
    let v = value.trim();
    if let Some(ms) = span_ms(v) {
        return Ok(now_ms.saturating_sub(ms));
    }
    if let Ok(t) = v.parse::<jiff::Timestamp>() {
        return Ok(t.as_millisecond());
    }
    Err(Error::Usage(format!(
        "{flag} `{value}` is neither a span nor a time; write e.g. {flag} 30m, 2h, 7d, or an RFC 3339 time like 2025-06-01T09:00:00Z"
    )))
}

/// `90s`, `30m`, `2h`, `7d`, `2w` in milliseconds.
pub(crate) fn span_ms(v: &str) -> Option<i64> {
    let unit_at = v.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = v.split_at(unit_at);
    let n: i64 = n.parse().ok()?;
    let per = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(per)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_times() -> Result<()> {
        let now = 1_000_000_000_000;
        assert_eq!(parse("--since", "30m", now)?, now - 1_800_000);
        assert_eq!(parse("--since", "2h", now)?, now - 7_200_000);
        assert_eq!(parse("--since", "7d", now)?, now - 604_800_000);
        assert_eq!(
            parse("--since", "2025-06-01T09:00:00Z", now)?,
            1_748_768_400_000
        );
        for bad in ["", "7", "d", "7y", "yesterday", "-3h"] {
            let Err(Error::Usage(msg)) = parse("--since", bad, now) else {
                panic!("{bad} should be rejected");
            };
            assert!(msg.contains("30m") && !msg.contains('\n'), "{msg}");
        }
        Ok(())
    }
}
