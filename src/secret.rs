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

/// Replaces every occurrence of each secret in `text` with `[redacted]`; borrows when there
/// is nothing to replace. For a one-off text; a gateway scrubs with the [`KeyScrubber`] it
/// built once from its config.
pub fn scrub<'a, S: AsRef<str>>(text: &'a str, secrets: &[S]) -> std::borrow::Cow<'a, str> {
    KeyScrubber::new(secrets).scrub(text)
}

/// Every provider key in a config, the values a [`KeyScrubber`] removes from upstream text.
fn provider_keys(config: &crate::config::Config) -> Vec<String> {
    config
        .providers
        .values()
        .flat_map(|p| p.keys.iter().map(|k| k.secret.expose().to_string()))
        .filter(|k| k.len() >= MIN_SCRUB_LEN)
        .collect()
}

/// The provider keys upstream text must not carry, with their searchers built once.
///
/// A provider may echo the key it was sent (in an error message, or in a 200 body that
/// repeats the request's headers), so every upstream byte on its way to the client, the log
/// or the cache goes through one of these. The gateway builds one from its config at start
/// ([`KeyScrubber::for_config`]) and shares it with every request.
pub struct KeyScrubber {
    finders: Vec<memchr::memmem::Finder<'static>>,
    /// Which bytes occur in some key: a key's beginning at the end of a chunk is made of them.
    in_keys: [bool; 256],
    /// The longest key's length.
    longest: usize,
}

impl std::fmt::Debug for KeyScrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyScrubber({} keys)", self.finders.len())
    }
}

impl KeyScrubber {
    /// A scrubber for `secrets`; those shorter than [`MIN_SCRUB_LEN`] are ignored.
    pub fn new<S: AsRef<str>>(secrets: &[S]) -> Self {
        let finders: Vec<_> = secrets
            .iter()
            .map(|s| s.as_ref().as_bytes())
            .filter(|s| s.len() >= MIN_SCRUB_LEN)
            .map(|s| memchr::memmem::Finder::new(s).into_owned())
            .collect();
        let longest = finders.iter().map(|f| f.needle().len()).max().unwrap_or(0);
        let mut in_keys = [false; 256];
        for f in &finders {
            for &b in f.needle() {
                in_keys[usize::from(b)] = true;
            }
        }
        Self {
            finders,
            in_keys,
            longest,
        }
    }

    /// The scrubber for every provider key in `config`.
    pub fn for_config(config: &crate::config::Config) -> Self {
        Self::new(&provider_keys(config))
    }

    /// True when there is no key to look for, so callers can skip the work.
    pub fn is_empty(&self) -> bool {
        self.finders.is_empty()
    }

    /// Whether some key occurs in `data`.
    pub fn found_in(&self, data: &[u8]) -> bool {
        self.finders.iter().any(|f| f.find(data).is_some())
    }

    /// `text` with every key replaced by `[redacted]`; borrowed when there is none.
    pub fn scrub<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        if !self.found_in(text.as_bytes()) {
            return std::borrow::Cow::Borrowed(text);
        }
        // Keys are UTF-8, so a match starts and ends on character boundaries and the result
        // stays UTF-8; the lossy fallback is never taken.
        match String::from_utf8(self.replace(text.as_bytes().to_vec())) {
            Ok(s) => std::borrow::Cow::Owned(s),
            Err(e) => std::borrow::Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        }
    }

    /// Scrubs a text field in place.
    pub fn scrub_in_place(&self, field: &mut Option<String>) {
        if let Some(text) = field
            && let std::borrow::Cow::Owned(clean) = self.scrub(text)
        {
            *text = clean;
        }
    }

    /// [`KeyScrubber::scrub`] on bytes that may not be UTF-8; unchanged (not copied) when
    /// nothing matches.
    pub fn scrub_bytes(&self, bytes: bytes::Bytes) -> bytes::Bytes {
        if self.found_in(&bytes) {
            self.replace(bytes.to_vec()).into()
        } else {
            bytes
        }
    }

    /// A scrubber for one body that arrives in chunks; `None` when there is no key.
    pub fn stream(self: &std::sync::Arc<Self>) -> Option<StreamScrubber> {
        (!self.is_empty()).then(|| StreamScrubber {
            keys: self.clone(),
            carry: Vec::new(),
        })
    }

    fn replace(&self, mut data: Vec<u8>) -> Vec<u8> {
        for f in &self.finders {
            if f.find(&data).is_none() {
                continue;
            }
            let key_len = f.needle().len();
            let mut next = Vec::with_capacity(data.len());
            let mut at = 0;
            for pos in f.find_iter(&data) {
                if pos < at {
                    continue;
                }
                next.extend_from_slice(&data[at..pos]);
                next.extend_from_slice(b"[redacted]");
                at = pos + key_len;
            }
            next.extend_from_slice(&data[at..]);
            data = next;
        }
        data
    }

    /// The length of the longest end of `data` that is the beginning of a key (and not a
    /// whole key, which [`KeyScrubber::replace`] has already removed). Only the trailing
    /// run of bytes that occur in keys can be one: an SSE chunk's final newline or a JSON
    /// body's final brace ends the search at once.
    fn key_start_at_end(&self, data: &[u8]) -> usize {
        let run = data
            .iter()
            .rev()
            .take(self.longest.saturating_sub(1))
            .take_while(|&&b| self.in_keys[usize::from(b)])
            .count();
        // The earliest start in the run gives the longest held-back end.
        (data.len() - run..data.len())
            .find(|&p| {
                self.finders.iter().any(|f| {
                    f.needle().len() > data.len() - p && f.needle().starts_with(&data[p..])
                })
            })
            .map_or(0, |p| data.len() - p)
    }
}

/// [`KeyScrubber`] for a body that arrives in chunks (a passthrough response on its way to
/// the client), where an echoed key may be split across two chunks.
///
/// A chunk with nothing to replace and no key's beginning at its end goes out as it is, with
/// no copy: SSE chunks end in a blank line, which no key contains, so a stream is not held
/// back. Otherwise the bytes that could begin a key wait for the next chunk (at most a key's
/// length less one) and [`StreamScrubber::finish`] releases them at the end.
pub struct StreamScrubber {
    keys: std::sync::Arc<KeyScrubber>,
    /// Bytes held back because they may begin a key.
    carry: Vec<u8>,
}

impl StreamScrubber {
    /// Takes the next chunk; returns what may be sent now (possibly empty).
    pub fn push(&mut self, chunk: bytes::Bytes) -> bytes::Bytes {
        let keys = &self.keys;
        if self.carry.is_empty() && !keys.found_in(&chunk) && keys.key_start_at_end(&chunk) == 0 {
            return chunk;
        }
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(&chunk);
        let mut data = keys.replace(data);
        let hold = keys.key_start_at_end(&data);
        self.carry = data.split_off(data.len() - hold);
        data.into()
    }

    /// The bytes still held back, at the end of the body.
    pub fn finish(&mut self) -> bytes::Bytes {
        std::mem::take(&mut self.carry).into()
    }
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
        let b = KeyScrubber::new(&keys)
            .scrub_bytes(bytes::Bytes::from_static(b"\xff sk-canary-123\xfe"));
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

    /// Feeds `body` cut at every position in `cuts`, returns what came out.
    fn through(scrubber: &mut StreamScrubber, body: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut at = 0;
        for &c in cuts.iter().chain(std::iter::once(&body.len())) {
            out.extend_from_slice(&scrubber.push(bytes::Bytes::copy_from_slice(&body[at..c])));
            at = c;
        }
        out.extend_from_slice(&scrubber.finish());
        out
    }

    #[test]
    fn a_stream_scrubber_removes_a_key_split_at_any_point() {
        let key = "sk-canary-0123456789";
        let body = format!("data: {{\"error\":\"bad key {key}\"}}\n\ndata: {key}{key}\n\n");
        let want = body.replace(key, "[redacted]");
        for a in 0..body.len() {
            for b in [a, (a + 7).min(body.len()), body.len()] {
                let Some(mut s) = std::sync::Arc::new(KeyScrubber::new(&[key, "short"])).stream()
                else {
                    panic!("a scrubber with one usable key");
                };
                let got = through(&mut s, body.as_bytes(), &[a, b.max(a)]);
                assert_eq!(String::from_utf8_lossy(&got), want, "cut at {a} and {b}");
            }
        }
    }

    #[test]
    fn a_stream_scrubber_passes_clean_chunks_through_without_holding_them() {
        let Some(mut s) = std::sync::Arc::new(KeyScrubber::new(&["sk-canary-0123456789"])).stream()
        else {
            panic!("a scrubber with one usable key");
        };
        let event = bytes::Bytes::from_static(b"data: {\"delta\":\"s\"}\n\n");
        let out = s.push(event.clone());
        assert_eq!(out, event);
        assert_eq!(out.as_ptr(), event.as_ptr(), "a clean chunk is not copied");
        // A chunk ending in what may begin the key is held back until the next one.
        assert_eq!(
            &s.push(bytes::Bytes::from_static(b"text sk-can"))[..],
            b"text "
        );
        assert_eq!(&s.push(bytes::Bytes::from_static(b"dle"))[..], b"sk-candle");
        assert!(s.finish().is_empty());
        assert!(
            std::sync::Arc::new(KeyScrubber::new(&["short", ""]))
                .stream()
                .is_none()
        );
    }
}
