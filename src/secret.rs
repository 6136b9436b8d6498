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

/// The shortest value [`scrub`] replaces: shorter ones (test keys like `x`) would shred text.
pub const MIN_SCRUB_LEN: usize = 8;

/// Replaces every occurrence of each secret in `text` with `[redacted]`. Applied to upstream
/// text (error messages and bodies) before it is logged, stored or returned, since a
/// provider may echo the key it was sent. Borrows when there is nothing to replace.
pub fn scrub<'a, S: AsRef<str>>(text: &'a str, secrets: &[S]) -> std::borrow::Cow<'a, str> {
    let mut out = std::borrow::Cow::Borrowed(text);
    for s in secrets {
        let s = s.as_ref();
        if s.len() >= MIN_SCRUB_LEN && memchr::memmem::find(out.as_bytes(), s.as_bytes()).is_some()
        {
            out = std::borrow::Cow::Owned(out.replace(s, "[redacted]"));
        }
    }
    out
}

/// [`scrub`] on bytes that may not be UTF-8; returns them unchanged when nothing matches.
pub fn scrub_bytes<S: AsRef<str>>(bytes: bytes::Bytes, secrets: &[S]) -> bytes::Bytes {
    let hit = secrets.iter().any(|s| {
        let s = s.as_ref();
        s.len() >= MIN_SCRUB_LEN && memchr::memmem::find(&bytes, s.as_bytes()).is_some()
    });
    if !hit {
        return bytes;
    }
    let mut out = bytes.to_vec();
    for s in secrets {
        let s = s.as_ref().as_bytes();
        if s.len() < MIN_SCRUB_LEN {
            continue;
        }
        let mut next = Vec::with_capacity(out.len());
        let mut at = 0;
        for pos in memchr::memmem::find_iter(&out, s) {
            if pos < at {
                continue;
            }
            next.extend_from_slice(&out[at..pos]);
            next.extend_from_slice(b"[redacted]");
            at = pos + s.len();
        }
        next.extend_from_slice(&out[at..]);
        out = next;
    }
    out.into()
}

/// Every provider key in a config, the values [`scrub`] removes from upstream text.
pub fn provider_keys(config: &crate::config::Config) -> Vec<String> {
    config
        .providers
        .values()
        .flat_map(|p| p.keys.iter().map(|k| k.secret.expose().to_string()))
        .filter(|k| k.len() >= MIN_SCRUB_LEN)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_replaces_every_key_and_ignores_short_ones() {
        let keys = ["sk-canary-123", "x"];
        assert_eq!(
            scrub("bad key sk-canary-123 (sk-canary-123) x", &keys),
            "bad key [redacted] ([redacted]) x"
        );
        assert!(matches!(
            scrub("clean", &keys),
            std::borrow::Cow::Borrowed(_)
        ));
        let b = scrub_bytes(bytes::Bytes::from_static(b"\xff sk-canary-123\xfe"), &keys);
        assert_eq!(&b[..], b"\xff [redacted]\xfe");
    }

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
