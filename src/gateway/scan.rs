//! One pass over a request body that checks it is JSON and finds its top-level fields, so
//! routing a 20–60 KB agent request costs a scan, not a parse.
//!
//! The passthrough path forwards the client's bytes; it only needs `model` and a few other
//! top-level values. This scanner validates the grammar (strings, escapes, numbers, literals,
//! nesting up to a limit, no trailing bytes) without building anything, skips string contents
//! with `memchr`, and returns where each top-level value sits. UTF-8 is checked by the caller.
//! Lone UTF-16 surrogates in `\u` escapes are accepted (the upstream judges those).

use std::ops::Range;

/// A top-level field of the body's object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopField {
    /// The key's raw bytes between its quotes (escapes not decoded).
    pub key: Range<usize>,
    /// The key holds a backslash escape: compare it decoded.
    pub key_escaped: bool,
    /// The value's bytes.
    pub value: Range<usize>,
}

/// Why a body is not acceptable JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanError {
    /// Arrays and objects nest deeper than the limit.
    TooDeep,
    /// Not JSON: what was wrong and the byte offset.
    Invalid {
        /// What was expected or found.
        what: &'static str,
        /// Byte offset in the body.
        at: usize,
    },
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanError::TooDeep => f.write_str("arrays and objects nest too deeply"),
            ScanError::Invalid { what, at } => write!(f, "{what} at byte {at}"),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Any value.
    Value,
    /// Right after `{`: a key or `}`.
    KeyOrEnd,
    /// After `,` in an object: a key.
    Key,
    /// After a key.
    Colon,
    /// Right after `[`: a value or `]`.
    ValueOrEnd,
    /// After a value inside a container.
    CommaOrEnd,
}

fn invalid(what: &'static str, at: usize) -> ScanError {
    ScanError::Invalid { what, at }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\n' | b'\r' | b'\t') {
        i += 1;
    }
    i
}

const LO: u64 = u64::from_le_bytes([1; 8]);
const HI: u64 = LO << 7;

/// High bit set in each byte of `v` that is zero. Carries may also flag bytes above a real
/// match, never below it, so the lowest flag is exact.
fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(LO) & !v & HI
}

/// Flags the bytes of `w` (little-endian) that end a run of plain string text: `"`, `\` or
/// a control character (< 0x20). Only the lowest flag is exact.
fn special_bytes(w: u64) -> u64 {
    zero_bytes(w ^ (LO * u64::from(b'"')))
        | zero_bytes(w ^ (LO * u64::from(b'\\')))
        | (w.wrapping_sub(LO * 0x20) & !w & HI)
}

/// The offset of the next `"`, `\` or control character at or after `j`, or `None` at the
/// end of the body. Most strings in a request are short keys and type names: eight bytes at a
/// time without a call; past 64 bytes, `memchr2` (fast on long text) and a vectorisable
/// control-character check over what it skipped.
fn next_special(b: &[u8], mut j: usize, words: &mut usize) -> Option<usize> {
    while *words < 8 && j + 8 <= b.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[j..j + 8]);
        let m = special_bytes(u64::from_le_bytes(w));
        if m != 0 {
            return Some(j + (m.trailing_zeros() / 8) as usize);
        }
        j += 8;
        *words += 1;
    }
    let rest = b.get(j..)?;
    if *words < 8 {
        return rest
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
            .map(|p| j + p);
    }
    let off = memchr::memchr2(b'"', b'\\', rest)?;
    if rest[..off].iter().fold(false, |acc, &c| acc | (c < 0x20)) {
        return rest[..off].iter().position(|&c| c < 0x20).map(|p| j + p);
    }
    Some(j + off)
}

/// `b[i]` is an opening quote; returns the offset after the closing quote and whether the
/// string held an escape. Raw control characters are not allowed in JSON strings.
fn string_end(b: &[u8], i: usize) -> Result<(usize, bool), ScanError> {
    let mut j = i + 1;
    let mut escaped = false;
    let mut words = 0;
    loop {
        let Some(k) = next_special(b, j, &mut words) else {
            return Err(invalid("unterminated string", b.len()));
        };
        match b[k] {
            b'"' => return Ok((k + 1, escaped)),
            b'\\' => {}
            _ => return Err(invalid("control character in a string", k)),
        }
        escaped = true;
        match b.get(k + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => j = k + 2,
            Some(b'u') => {
                let hex = b
                    .get(k + 2..k + 6)
                    .ok_or(invalid("unterminated string", b.len()))?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return Err(invalid("invalid \\u escape", k));
                }
                j = k + 6;
            }
            Some(_) => return Err(invalid("invalid escape", k)),
            None => return Err(invalid("unterminated string", b.len())),
        }
    }
}

fn digits(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` starting at `i`.
fn number_end(b: &[u8], start: usize) -> Result<usize, ScanError> {
    let mut i = start;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(b, i + 1),
        _ => return Err(invalid("invalid number", start)),
    }
    if b.get(i) == Some(&b'.') {
        let j = digits(b, i + 1);
        if j == i + 1 {
            return Err(invalid("invalid number", start));
        }
        i = j;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let j = digits(b, i);
        if j == i {
            return Err(invalid("invalid number", start));
        }
        i = j;
    }
    Ok(i)
}

/// Checks that `b` is one JSON value nested at most `max_depth` deep, and returns the fields
/// of its top level when it is an object (empty for any other value).
pub fn top_level(b: &[u8], max_depth: usize) -> Result<Vec<TopField>, ScanError> {
    let mut stack: Vec<u8> = Vec::with_capacity(16);
    let mut fields = Vec::new();
    let mut key: Option<(Range<usize>, bool)> = None;
    let mut value_start = 0;
    let mut expect = Expect::Value;
    let mut i = 0;
    loop {
        i = skip_ws(b, i);
        let Some(&c) = b.get(i) else {
            return Err(invalid("unexpected end of the body", i));
        };
        // A value (or a container's end) completes at `done`; `None` means keep going.
        let done: Option<usize> = match expect {
            Expect::Value | Expect::ValueOrEnd => match c {
                b']' if expect == Expect::ValueOrEnd => {
                    stack.pop();
                    Some(i + 1)
                }
                b'{' | b'[' => {
                    if stack.len() >= max_depth {
                        return Err(ScanError::TooDeep);
                    }
                    stack.push(c);
                    expect = if c == b'{' {
                        Expect::KeyOrEnd
                    } else {
                        Expect::ValueOrEnd
                    };
                    i += 1;
                    None
                }
                b'"' => Some(string_end(b, i)?.0),
                b'-' | b'0'..=b'9' => Some(number_end(b, i)?),
                b't' | b'f' | b'n' => {
                    let lit: &[u8] = match c {
                        b't' => b"true",
                        b'f' => b"false",
                        _ => b"null",
                    };
                    if !b[i..].starts_with(lit) {
                        return Err(invalid("expected a value", i));
                    }
                    Some(i + lit.len())
                }
                _ => return Err(invalid("expected a value", i)),
            },
            Expect::KeyOrEnd | Expect::Key => match c {
                b'}' if expect == Expect::KeyOrEnd => {
                    stack.pop();
                    Some(i + 1)
                }
                b'"' => {
                    let (end, escaped) = string_end(b, i)?;
                    if stack.len() == 1 {
                        key = Some((i + 1..end - 1, escaped));
                    }
                    expect = Expect::Colon;
                    i = end;
                    None
                }
                _ => return Err(invalid("expected a key in double quotes", i)),
            },
            Expect::Colon => {
                if c != b':' {
                    return Err(invalid("expected `:` after a key", i));
                }
                i = skip_ws(b, i + 1);
                if stack.len() == 1 {
                    value_start = i;
                }
                expect = Expect::Value;
                None
            }
            Expect::CommaOrEnd => match (c, stack.last()) {
                (b',', Some(b'{')) => {
                    expect = Expect::Key;
                    i += 1;
                    None
                }
                (b',', _) => {
                    expect = Expect::Value;
                    i += 1;
                    None
                }
                (b'}', Some(b'{')) | (b']', Some(b'[')) => {
                    stack.pop();
                    Some(i + 1)
                }
                _ => return Err(invalid("expected `,` or the end of the container", i)),
            },
        };
        let Some(end) = done else { continue };
        // A value ended at `end`: record it if it was a top-level field's.
        if stack.len() == 1
            && stack[0] == b'{'
            && let Some((k, escaped)) = key.take()
        {
            fields.push(TopField {
                key: k,
                key_escaped: escaped,
                value: value_start..end,
            });
        }
        if stack.is_empty() {
            let rest = skip_ws(b, end);
            if rest != b.len() {
                return Err(invalid("trailing characters after the JSON value", rest));
            }
            return Ok(fields);
        }
        expect = Expect::CommaOrEnd;
        i = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(s: &str) -> Vec<(String, String)> {
        top_level(s.as_bytes(), 128)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .into_iter()
            .map(|f| (s[f.key].to_string(), s[f.value].to_string()))
            .collect()
    }

    #[test]
    fn finds_top_level_fields_and_their_values() {
        let s = r#" { "model" : "gpt-5.5", "input":[{"model":"inner"},"]}"], "stream":true,
            "n": -1.5e+3, "o": {"a": [1, {"b": null}]}, "e\"k": false } "#;
        assert_eq!(
            fields(s),
            vec![
                ("model".into(), "\"gpt-5.5\"".into()),
                ("input".into(), r#"[{"model":"inner"},"]}"]"#.into()),
                ("stream".into(), "true".into()),
                ("n".into(), "-1.5e+3".into()),
                ("o".into(), r#"{"a": [1, {"b": null}]}"#.into()),
                (r#"e\"k"#.into(), "false".into()),
            ]
        );
        assert_eq!(fields("{}"), vec![]);
        assert_eq!(fields("[1, 2]"), vec![]);
    }

    #[test]
    fn strings_long_and_short_end_at_the_right_byte() {
        for len in [0, 1, 7, 8, 9, 63, 64, 65, 200] {
            let body = format!(
                "{{\"k\":\"{}\\\"{}\",\"z\":1}}",
                "a".repeat(len),
                "é".repeat(len)
            );
            let f = fields(&body);
            assert_eq!(f.len(), 2, "{body}");
            assert_eq!(f[1], ("z".to_string(), "1".to_string()));
            for ctl in ["\u{1}", "\n", "\u{1f}"] {
                let bad = format!("{{\"k\":\"{}{ctl}{}\"}}", "a".repeat(len), "b".repeat(len));
                assert!(top_level(bad.as_bytes(), 128).is_err(), "{len} {ctl:?}");
            }
        }
    }

    #[test]
    fn rejects_what_json_rejects() {
        for bad in [
            "",
            "{",
            r#"{"a":1"#,
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{a:1}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":-}"#,
            r#"{"a":1e}"#,
            r#"{"a":tru}"#,
            r#"{"a":"x\q"}"#,
            r#"{"a":"x\u12g4"}"#,
            "{\"a\":\"tab\there\"}",
            r#"{"a":[1,]}"#,
            r#"{"a":[1}"#,
            r#"{"a":1}}"#,
            r#"{"a":1} x"#,
            r#"{"a":"unterminated}"#,
        ] {
            assert!(top_level(bad.as_bytes(), 128).is_err(), "{bad:?}");
            assert!(
                serde_json::from_str::<serde_json::Value>(bad).is_err(),
                "{bad:?}"
            );
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert_eq!(top_level(deep.as_bytes(), 128), Err(ScanError::TooDeep));
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            (-1e6f64..1e6).prop_map(serde_json::Value::from),
            "[ -~\u{e9}\u{1f600}\n\t\"\\\\]{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("[a-z\"\\\\]{0,6}", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Every serialised JSON value is accepted, and each top-level field's slice parses to
        /// the value serde sees under that key.
        #[test]
        fn agrees_with_serde_on_valid_json(v in json_value(), pretty in proptest::bool::ANY) {
            let text = if pretty {
                serde_json::to_string_pretty(&v)
            } else {
                serde_json::to_string(&v)
            }
            .unwrap_or_default();
            let got = top_level(text.as_bytes(), 128);
            proptest::prop_assert!(got.is_ok(), "{text}: {got:?}");
            // Compared with serde's parse of the same text (floats need not round-trip).
            let parsed: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            if let (serde_json::Value::Object(map), Ok(fields)) = (&parsed, got) {
                proptest::prop_assert_eq!(fields.len(), map.len());
                for f in fields {
                    let k: String = serde_json::from_str(&text[f.key.start - 1..f.key.end + 1])
                        .unwrap_or_default();
                    let val: serde_json::Value =
                        serde_json::from_str(&text[f.value]).unwrap_or_default();
                    proptest::prop_assert_eq!(Some(&val), map.get(&k));
                }
            }
        }

        /// On arbitrary short inputs over JSON's alphabet, valid means what serde says.
        #[test]
        fn agrees_with_serde_on_arbitrary_input(s in "[{}\\[\\]\":, a0-9.eE+\\-tfrulnsb\\\\/]{0,40}") {
            let serde = serde_json::from_str::<serde_json::Value>(&s);
            // serde refuses numbers that overflow an f64 (`1e999`); the grammar allows them.
            proptest::prop_assume!(
                !matches!(&serde, Err(e) if e.to_string().contains("out of range"))
            );
            proptest::prop_assert_eq!(top_level(s.as_bytes(), 128).is_ok(), serde.is_ok(), "{}", s);
        }
    }
}
