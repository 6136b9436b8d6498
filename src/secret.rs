//! Secrets in memory: provider keys and gateway keys that must never reach logs, rows or errors.
//!
//! [`Secret`] prints as `[redacted]` in `Debug` and `Display`, so a stray `{:?}` cannot leak a
//! key; its value is reachable only through [`Secret::expose`]. Gateway keys are compared in
//! constant time.

use subtle::ConstantTimeEq;

/// A string that must not be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value, for the one place that needs it (an outgoing header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares with a presented value in constant time (for equal lengths).
    pub fn matches(&self, presented: &[u8]) -> bool {
        bool::from(self.0.as_bytes().ct_eq(presented))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Generates a fresh session key: 256 random bits, URL-safe, prefixed `bfs_` so it is
/// recognisable in a leak scan.
pub fn generate_key() -> crate::Result<Secret> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| crate::Error::Internal(format!("no randomness for the session key: {e}")))?;
    let mut s = String::with_capacity(4 + 64);
    s.push_str("bfs_");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    Ok(Secret(s))
}

/// Checks a presented key against a set of accepted keys without short-circuiting on the
/// first byte that differs.
pub fn any_matches(accepted: &[Secret], presented: &[u8]) -> bool {
    let mut ok = subtle::Choice::from(0);
    for key in accepted {
        ok |= key.0.as_bytes().ct_eq(presented);
    }
    bool::from(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("sk-canary-123");
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "sk-canary-123");
    }

    #[test]
    fn keys_are_random_and_long() -> crate::Result<()> {
        let a = generate_key()?;
        let b = generate_key()?;
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 68);
        assert!(any_matches(&[b.clone(), a.clone()], a.expose().as_bytes()));
        assert!(!any_matches(std::slice::from_ref(&a), b"bfs_short"));
        Ok(())
    }
}
