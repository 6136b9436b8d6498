//! Counter windows: a fixed UTC minute for rates, the UTC day or month for budgets, named so
//! every instance (and Redis) agrees on which row or key a request counts in.

use super::key::Period;

/// The minute window holding `now_ms`: `min:` and the zero-padded Unix minute, so windows
/// sort as text.
pub fn minute(now_ms: i64) -> String {
    format!("min:{:012}", now_ms.div_euclid(60_000))
}

/// Whole seconds until the minute holding `now_ms` ends (1 to 60): the `Retry-After`.
pub fn retry_after_secs(now_ms: i64) -> u64 {
    let left_ms = 60_000 - now_ms.rem_euclid(60_000);
    ((left_ms + 999) / 1000) as u64
}

/// The budget window holding `now_ms`: `day:2026-11-26` or `month:2026-11` (UTC).
pub fn period(p: Period, now_ms: i64) -> String {
    let date = jiff::Timestamp::from_millisecond(now_ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    match p {
        Period::Day => format!(
            "day:{:04}-{:02}-{:02}",
            date.year(),
            date.month(),
            date.day()
        ),
        Period::Month => format!("month:{:04}-{:02}", date.year(), date.month()),
    }
}

/// How long a budget window's counter must live (Redis expiry), with a day's margin.
pub fn period_ttl_secs(p: Period) -> i64 {
    match p {
        Period::Day => 2 * 86_400,
        Period::Month => 32 * 86_400,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_resets() {
        // 2025-06-15T13:45:20.500Z
        let now = 1_749_995_120_500;
        assert_eq!(minute(now), "min:000029166585");
        assert_eq!(minute(now + 39_499), "min:000029166585");
        assert_eq!(minute(now + 39_500), "min:000029166586");
        assert!(minute(now) < minute(now + 60_000));
        assert_eq!(retry_after_secs(now), 40);
        assert_eq!(retry_after_secs(now - 20_500), 60);
        assert_eq!(retry_after_secs(now + 39_499), 1);
        assert_eq!(period(Period::Day, now), "day:2025-06-15");
        assert_eq!(period(Period::Month, now), "month:2025-06");
        // The last millisecond of June and the first of July.
        assert_eq!(period(Period::Month, 1_751_327_999_999), "month:2025-06");
        assert_eq!(period(Period::Month, 1_751_328_000_000), "month:2025-07");
        assert_eq!(period(Period::Day, 1_751_328_000_000), "day:2025-07-01");
    }
}
