//! When to retry and how long to wait: retryable statuses, the reset a provider asks for
//! (`Retry-After`, `retry-after-ms`, OpenAI's and Anthropic's rate-limit reset headers), and
//! exponential backoff with jitter otherwise.

use std::time::Duration;

use reqwest::header::HeaderMap;

/// Statuses worth another try: rate limits, overload and server errors.
pub fn retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504 | 529)
}

/// OpenAI's reset durations: `1s`, `6m0s`, `20ms`, `1h2m3.5s`.
fn go_duration(s: &str) -> Option<Duration> {
    let mut total = 0.0f64;
    let mut num = String::new();
    let mut chars = s.trim().chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let n: f64 = num.parse().ok()?;
        num.clear();
        let unit = match c {
            'h' => 3600.0,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0.001
            }
            'm' => 60.0,
            's' => 1.0,
            _ => return None,
        };
        total += n * unit;
        any = true;
    }
    (any && num.is_empty()).then(|| Duration::from_secs_f64(total))
}

/// How long the provider asks us to wait, from whichever header it sent.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return Some(Duration::from_secs_f64((ms / 1000.0).max(0.0)));
    }
    if let Some(v) = get("retry-after") {
        if let Ok(s) = v.parse::<f64>() {
            return Some(Duration::from_secs_f64(s.max(0.0)));
        }
        if let Ok(t) = jiff::fmt::rfc2822::parse(v).map(|z| z.timestamp()) {
            let secs = t.duration_since(jiff::Timestamp::now()).as_secs().max(0);
            return Some(Duration::from_secs(secs as u64));
        }
    }
    for k in ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"] {
        if let Some(d) = get(k).and_then(go_duration) {
            return Some(d);
        }
    }
    for k in [
        "anthropic-ratelimit-requests-reset",
        "anthropic-ratelimit-tokens-reset",
        "anthropic-ratelimit-input-tokens-reset",
    ] {
        if let Some(t) = get(k).and_then(|v| v.parse::<jiff::Timestamp>().ok()) {
            let secs = t.duration_since(jiff::Timestamp::now()).as_secs().max(0);
            return Some(Duration::from_secs(secs as u64));
        }
    }
    None
}

/// 250 ms × 2^attempt, ±50 % jitter, capped at 8 s.
pub fn backoff(attempt: u32, seed: u64) -> Duration {
    let base = 0.25 * f64::from(2u32.saturating_pow(attempt.min(8)));
    let jitter = 0.5 + (seed % 1000) as f64 / 1000.0;
    Duration::from_secs_f64((base * jitter).min(8.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            if let Ok(v) = v.parse() {
                h.insert(*k, v);
            }
        }
        h
    }

    #[test]
    fn reads_every_reset_header() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "7")])),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after-ms", "1500")])),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after(&headers(&[("x-ratelimit-reset-requests", "6m0s")])),
            Some(Duration::from_secs(360))
        );
        assert_eq!(
            retry_after(&headers(&[("x-ratelimit-reset-tokens", "20ms")])),
            Some(Duration::from_millis(20))
        );
        let soon = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(30)).to_string();
        let d = retry_after(&headers(&[("anthropic-ratelimit-requests-reset", &soon)]))
            .unwrap_or_default();
        assert!((28..=30).contains(&d.as_secs()), "{d:?}");
        assert_eq!(retry_after(&headers(&[])), None);
        assert_eq!(
            go_duration("1h2m3.5s"),
            Some(Duration::from_secs_f64(3723.5))
        );
        assert_eq!(go_duration("bogus"), None);
    }

    #[test]
    fn backs_off_exponentially_with_bounded_jitter() {
        assert!(
            backoff(0, 0) >= Duration::from_millis(125)
                && backoff(0, 999) <= Duration::from_millis(375)
        );
        assert!(backoff(3, 500) > backoff(1, 500));
        assert!(backoff(20, 999) <= Duration::from_secs(8));
        assert!(retryable(529) && retryable(429) && !retryable(400) && !retryable(401));
    }
}
