//! What a virtual key is: its secret (shown once, `bfk_` + 256 random bits), the SHA-256 hash
//! that is all the store keeps, and the limits attached to it (budget, rates, model
//! allow-list, expiry), with the parsers for how users write them.

use serde::Serialize;
use sha2::Digest;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// Every virtual key starts with this, so the gateway knows to look it up.
pub const PREFIX: &str = "bfk_";

/// Characters of the key kept (with [`PREFIX`]) for display in `keys list`: 32 bits, enough
/// to tell keys apart, far too few to guess the rest.
const SHOWN_HEX: usize = 8;

/// A fresh key: `bfk_` and 64 hex digits (256 random bits).
pub fn generate() -> Result<Secret> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Internal(format!("no randomness for a virtual key: {e}")))?;
    let mut s = String::with_capacity(PREFIX.len() + 64);
    s.push_str(PREFIX);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    Ok(Secret::new(s))
}

/// The hex SHA-256 of a presented key: what the store keeps and looks keys up by.
pub fn hash(presented: &[u8]) -> String {
    let digest = sha2::Sha256::digest(presented);
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The non-secret display prefix, e.g. `bfk_3f9a1c2e`.
pub fn display_prefix(key: &Secret) -> String {
    key.expose()
        .chars()
        .take(PREFIX.len() + SHOWN_HEX)
        .collect()
}

/// A budget's period, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// A calendar day.
    Day,
    /// A calendar month.
    Month,
}

impl Period {
    /// `day` or `month`, as stored.
    pub fn name(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Month => "month",
        }
    }

    /// Reads a stored name.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "day" | "daily" => Some(Self::Day),
            "month" | "monthly" => Some(Self::Month),
            _ => None,
        }
    }
}

/// USD per period, held in micro-USD like every cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// The limit in micro-USD.
    pub micro_usd: i64,
    /// Per day or per month.
    pub period: Period,
}

impl Budget {
    /// `50/month`, `5/day`, `$12.50/month`.
    pub fn parse(value: &str) -> Result<Budget> {
        let bad = || {
            Error::Usage(format!(
                "--budget-usd `{value}` is not USD per day or month; write e.g. --budget-usd 50/month or --budget-usd 5/day"
            ))
        };
        let (amount, period) = value.trim().split_once('/').ok_or_else(bad)?;
        let period = Period::from_name(period.trim()).ok_or_else(bad)?;
        let amount: f64 = amount
            .trim()
            .trim_start_matches('$')
            .parse()
            .map_err(|_| bad())?;
        if !(amount.is_finite() && amount > 0.0 && amount < 1e12) {
            return Err(bad());
        }
        Ok(Budget {
            micro_usd: (amount * 1e6).round() as i64,
            period,
        })
    }

    /// `$50.00/month`.
    pub fn display(&self) -> String {
        format!("${:.2}/{}", self.micro_usd as f64 / 1e6, self.period.name())
    }
}

/// An expiry: a span from `now_ms` (`30d`, `12h`, `2w`) or an RFC 3339 time.
pub fn parse_expiry(value: &str, now_ms: i64) -> Result<i64> {
    let v = value.trim();
    if let Some(ms) = crate::since::span_ms(v).filter(|ms| *ms > 0) {
        return Ok(now_ms.saturating_add(ms));
    }
    match v.parse::<jiff::Timestamp>() {
        Ok(t) if t.as_millisecond() > now_ms => Ok(t.as_millisecond()),
        Ok(_) => Err(Error::Usage(format!(
            "--expires `{value}` is in the past; give a future time or a span like 30d"
        ))),
        Err(_) => Err(Error::Usage(format!(
            "--expires `{value}` is neither a span nor a time; write e.g. --expires 30d, 12h, or 2027-01-01T00:00:00Z"
        ))),
    }
}

/// `"anthropic/*,openai/gpt-5.5"` as a list of globs; empty means every model.
pub fn parse_models(value: &str) -> Result<Vec<String>> {
    let models: Vec<String> = value
        .split(',')
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
        .collect();
    if models.is_empty() {
        return Err(Error::Usage(format!(
            "--models `{value}` names no model; write e.g. --models \"anthropic/*,openai/gpt-5.5\", or leave it out to allow every model"
        )));
    }
    if let Some(bad) = models.iter().find(|m| m.chars().any(char::is_whitespace)) {
        return Err(Error::Usage(format!(
            "--models: `{bad}` contains a space; separate patterns with commas, e.g. \"anthropic/*,openai/gpt-5.5\""
        )));
    }
    Ok(models)
}

/// A key name: what logs and `keys list` show, and what `revoke` and `rotate` take.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(PREFIX)
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "key name `{name}` is not allowed; use up to 64 letters, digits, `-`, `_`, `.` or `@` (e.g. --name alice), not starting with {PREFIX}"
        )))
    }
}

/// Where a key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Usable.
    Active,
    /// Revoked by an admin.
    Revoked,
    /// Past its expiry.
    Expired,
}

impl State {
    /// As shown.
    pub fn name(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }
}

/// One stored key (its hash, never the key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyRow {
    /// Stable id (UUID v7).
    pub id: String,
    /// Unique name, e.g. `alice`.
    pub name: String,
    /// Display prefix, e.g. `bfk_3f9a1c2e`.
    pub prefix: String,
    /// Hex SHA-256 of the key.
    #[serde(skip)]
    pub hash: String,
    /// Spend limit.
    pub budget: Option<Budget>,
    /// Requests per minute.
    pub rpm: Option<i64>,
    /// Tokens (input + output) per minute.
    pub tpm: Option<i64>,
    /// Model globs it may use; empty is every model.
    pub models: Vec<String>,
    /// Unix ms after which it stops working.
    pub expires_at_ms: Option<i64>,
    /// Unix ms.
    pub created_at_ms: i64,
    /// Unix ms it was revoked.
    pub revoked_at_ms: Option<i64>,
    /// Unix ms of its last rotation.
    pub rotated_at_ms: Option<i64>,
}

impl KeyRow {
    /// Active, revoked or expired at `now_ms`.
    pub fn state(&self, now_ms: i64) -> State {
        if self.revoked_at_ms.is_some() {
            State::Revoked
        } else if self.expires_at_ms.is_some_and(|e| e <= now_ms) {
            State::Expired
        } else {
            State::Active
        }
    }

    /// Whether any of `names` (the requested model, and `provider/model` it routes to) is on
    /// the allow-list.
    pub fn allows(&self, names: &[&str]) -> bool {
        self.models.is_empty()
            || self
                .models
                .iter()
                .any(|g| names.iter().any(|n| crate::providers::glob(g, n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_prefixed_and_hashed() -> Result<()> {
        let a = generate()?;
        let b = generate()?;
        assert_ne!(a.expose(), b.expose());
        assert!(a.expose().starts_with("bfk_"));
        assert_eq!(a.expose().len(), 4 + 64);
        let h = hash(a.expose().as_bytes());
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&a.expose()[4..]));
        assert_eq!(h, hash(a.expose().as_bytes()));
        // The well-known SHA-256 of "abc".
        assert_eq!(
            hash(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let p = display_prefix(&a);
        assert_eq!(p.len(), 12);
        assert!(a.expose().starts_with(&p));
        Ok(())
    }

    #[test]
    fn budgets_parse_or_explain() -> Result<()> {
        assert_eq!(
            Budget::parse("50/month")?,
            Budget {
                micro_usd: 50_000_000,
                period: Period::Month
            }
        );
        assert_eq!(
            Budget::parse(" $2.5 / day ")?,
            Budget {
                micro_usd: 2_500_000,
                period: Period::Day
            }
        );
        assert_eq!(Budget::parse("50/month")?.display(), "$50.00/month");
        for bad in [
            "50", "50/week", "-1/day", "0/day", "x/day", "NaN/day", "/day",
        ] {
            let Err(Error::Usage(m)) = Budget::parse(bad) else {
                panic!("{bad} should be rejected");
            };
            assert!(m.contains("50/month") && !m.contains('\n'), "{m}");
        }
        Ok(())
    }

    #[test]
    fn expiry_spans_and_times() -> Result<()> {
        let now = 1_000_000_000_000;
        assert_eq!(parse_expiry("30d", now)?, now + 30 * 86_400_000);
        assert_eq!(parse_expiry("12h", now)?, now + 12 * 3_600_000);
        assert_eq!(
            parse_expiry("2030-01-01T00:00:00Z", now)?,
            1_893_456_000_000
        );
        assert!(matches!(
            parse_expiry("2001-01-01T00:00:00Z", now),
            Err(Error::Usage(m)) if m.contains("past")
        ));
        for bad in ["", "0d", "soon", "30y"] {
            assert!(
                matches!(parse_expiry(bad, now), Err(Error::Usage(_))),
                "{bad}"
            );
        }
        Ok(())
    }

    #[test]
    fn allow_lists_are_globs() -> Result<()> {
        let mut k = KeyRow {
            id: "id".into(),
            name: "alice".into(),
            prefix: "bfk_00000000".into(),
            hash: String::new(),
            budget: None,
            rpm: None,
            tpm: None,
            models: parse_models("anthropic/*, openai/gpt-5.5")?,
            expires_at_ms: Some(2_000),
            created_at_ms: 0,
            revoked_at_ms: None,
            rotated_at_ms: None,
        };
        assert!(k.allows(&["anthropic/claude-sonnet-4-5"]));
        assert!(k.allows(&["gpt-5.5", "openai/gpt-5.5"]));
        assert!(!k.allows(&["openai/gpt-5-mini"]));
        assert!(!k.allows(&["gemini/gemini-2.5-pro"]));
        assert_eq!(k.state(1_000), State::Active);
        assert_eq!(k.state(2_000), State::Expired);
        k.revoked_at_ms = Some(1_500);
        assert_eq!(k.state(1_000), State::Revoked);
        k.models.clear();
        assert!(k.allows(&["anything/at-all"]));
        assert!(parse_models(" , ").is_err());
        assert!(parse_models("a b").is_err());
        Ok(())
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("alice").is_ok());
        assert!(check_name("ci.bot@team-1").is_ok());
        for bad in ["", "has space", "bfk_alice", "a/b", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
