//! One pass over a request body that checks it is JSON and finds its top-level fields, so
//! routing a 20–60 KB agent request costs a scan, not a parse.
//!
//! The passthrough path forwards the client's bytes; it only needs `model` and a few other
//! top-level values. This scanner validates the grammar (strings, escapes, numbers, literals,
//! nesting up to a limit, no trailing bytes) without building anything and returns where each
//! top-level value sits. String contents are tested with SIMD compares (`json_text`),
//! sixteen bytes at a time, long runs of plain text sixty-four; one loop with a bit per
//! nesting level handles everything below the top object. UTF-8 is checked by the caller.
//! Lone UTF-16 surrogates in `\u` escapes are accepted (the upstream judges those).
//!
//! An agent resends its instructions, its tools and the whole conversation on every turn;
//! [`Memo`] remembers the large top-level values a thread has checked, so that the next
//! body's repeated bytes are compared rather than scanned again (see `scan/memo.rs`).

use std::ops::Range;

use crate::json_text::{next_special, skip_ws, special16};

mod memo;

pub use memo::Memo;

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

impl TopField {
    /// The key as text, its escapes decoded; `None` when it is not UTF-8 or an escape does not
    /// decode (a lone surrogate).
    pub fn name<'a>(&self, body: &'a [u8]) -> Option<std::borrow::Cow<'a, str>> {
        if self.key_escaped {
            let quoted = body.get(self.key.start.checked_sub(1)?..self.key.end + 1)?;
            serde_json::from_slice::<String>(quoted)
                .ok()
                .map(std::borrow::Cow::Owned)
        } else {
            std::str::from_utf8(body.get(self.key.clone())?)
                .ok()
                .map(std::borrow::Cow::Borrowed)
        }
    }
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

fn invalid(what: &'static str, at: usize) -> ScanError {
    ScanError::Invalid { what, at }
}

/// The deepest nesting tracked: one bit per level says whether it is an object.
const DEEPEST: usize = 128;

/// `b[i]` is an opening quote; returns the offset after the closing quote and whether the
/// string held an escape. Most strings in a request are keys and type names that end within
/// sixteen bytes with no escape: one SIMD test, inline; the rest go on in [`string_rest`].
#[inline(always)]
fn string_end(b: &[u8], i: usize) -> Result<(usize, bool), ScanError> {
    let j = i + 1;
    let Some(c) = b.get(j..).and_then(<[u8]>::first_chunk::<16>) else {
        return string_rest(b, j);
    };
    let m = special16(c);
    if m == 0 {
        return string_rest(b, j + 16);
    }
    let k = j + m.trailing_zeros() as usize;
    if b.get(k) == Some(&b'"') {
        return Ok((k + 1, false));
    }
    // An escape or a control character: bytes before `k` are plain text.
    string_rest(b, k)
}

/// The rest of a string from `j`, where its text has no `"`, `\` or control character before
/// `j`. Raw control characters are not allowed in JSON strings.
fn string_rest(b: &[u8], mut j: usize) -> Result<(usize, bool), ScanError> {
    let mut escaped = false;
    loop {
        let Some(k) = next_special(b, j) else {
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

fn literal(b: &[u8], i: usize, lit: &[u8]) -> Result<usize, ScanError> {
    if b.get(i..i + lit.len()) == Some(lit) {
        Ok(i + lit.len())
    } else {
        Err(invalid("expected a value", i))
    }
}

/// At `i` (whitespace skipped), an object's key and its colon: returns the key's bytes
/// between the quotes, whether it holds an escape, and where its value starts.
#[inline(always)]
fn key_colon(b: &[u8], i: usize) -> Result<(Range<usize>, bool, usize), ScanError> {
    if b.get(i) != Some(&b'"') {
        return Err(invalid("expected a key in double quotes", i));
    }
    let (end, escaped) = string_end(b, i)?;
    let colon = skip_ws(b, end);
    if b.get(colon) != Some(&b':') {
        return Err(invalid("expected `:` after a key", colon));
    }
    Ok((i + 1..end - 1, escaped, skip_ws(b, colon + 1)))
}

/// Checks the one JSON value that starts at `i` (whitespace skipped), nested at most
/// `max_depth` deep (and at most [`DEEPEST`]), and returns the offset after it.
fn value_end(b: &[u8], i: usize, max_depth: usize) -> Result<usize, ScanError> {
    walk(b, i, max_depth, Start::Value, None)
}

/// Where [`walk`] starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// At the first byte of a value.
    Value,
    /// Inside an array, at depth 1 of the value being checked, just after one of its
    /// elements: where a walk from the array's start would be after that element.
    AfterElement,
}

/// The walk behind [`value_end`]. One loop, no recursion: a value, then whatever closes or
/// continues the containers around it. With `ends`, the value is an array and the offset
/// after each of its elements is pushed, relative to `base`.
fn walk(
    b: &[u8],
    mut i: usize,
    max_depth: usize,
    from: Start,
    mut ends: Option<(&mut Vec<usize>, usize)>,
) -> Result<usize, ScanError> {
    let limit = max_depth.min(DEEPEST);
    // Bit `d` set: the container at depth `d + 1` is an object. `object` is the innermost
    // container's bit, kept apart so that a value's end reads no shifted `u128`.
    let mut objects: u128 = 0;
    let mut object = false;
    // Resuming after an element: depth 1, in an array (bit 0 clear), a value just ended.
    let mut resume = from == Start::AfterElement;
    let mut depth = usize::from(resume);
    'value: loop {
        if !resume {
            let Some(&c) = b.get(i) else {
                return Err(invalid("unexpected end of the body", i));
            };
            i = match c {
                b'"' => string_end(b, i)?.0,
                b'{' | b'[' => {
                    if depth >= limit {
                        return Err(ScanError::TooDeep);
                    }
                    object = c == b'{';
                    if object {
                        objects |= 1 << depth;
                    } else {
                        objects &= !(1 << depth);
                    }
                    depth += 1;
                    i = skip_ws(b, i + 1);
                    match (b.get(i), object) {
                        (Some(b'}'), true) | (Some(b']'), false) => {
                            depth -= 1;
                            object = depth > 0 && (objects >> (depth - 1)) & 1 == 1;
                            i + 1
                        }
                        (_, true) => {
                            i = key_colon(b, i)?.2;
                            continue 'value;
                        }
                        (_, false) => continue 'value,
                    }
                }
                b'-' | b'0'..=b'9' => number_end(b, i)?,
                b't' => literal(b, i, b"true")?,
                b'f' => literal(b, i, b"false")?,
                b'n' => literal(b, i, b"null")?,
                _ => return Err(invalid("expected a value", i)),
            };
        }
        resume = false;
        // A value ended at `i`: close the containers it completes, then on to the next value.
        loop {
            if depth == 0 {
                return Ok(i);
            }
            if depth == 1
                && !object
                && let Some((ends, base)) = ends.as_mut()
            {
                ends.push(i - *base);
            }
            i = skip_ws(b, i);
            match (b.get(i), object) {
                (Some(b','), true) => {
                    i = key_colon(b, skip_ws(b, i + 1))?.2;
                    continue 'value;
                }
                (Some(b','), false) => {
                    i = skip_ws(b, i + 1);
                    continue 'value;
                }
                (Some(b'}'), true) | (Some(b']'), false) => {
                    depth -= 1;
                    object = depth > 0 && (objects >> (depth - 1)) & 1 == 1;
                    i += 1;
                }
                (None, _) => return Err(invalid("unexpected end of the body", i)),
                _ => return Err(invalid("expected `,` or the end of the container", i)),
            }
        }
    }
}

/// Only whitespace may follow the value that ended at `end`.
fn nothing_after(b: &[u8], end: usize) -> Result<(), ScanError> {
    let rest = skip_ws(b, end);
    if rest != b.len() {
        return Err(invalid("trailing characters after the JSON value", rest));
    }
    Ok(())
}

/// Checks that `b` is one JSON value nested at most `max_depth` deep (at most 128 is
/// honoured), and returns the fields of its top level when it is an object (empty for any
/// other value).
pub fn top_level(b: &[u8], max_depth: usize) -> Result<Vec<TopField>, ScanError> {
    fields(b, max_depth, |_, start, depth| value_end(b, start, depth))
}

/// [`top_level`], with `field_end(field, start, depth)` finding where each top-level value
/// ends (a plain walk, or one that consults a [`Memo`]).
fn fields(
    b: &[u8],
    max_depth: usize,
    mut field_end: impl FnMut(&TopField, usize, usize) -> Result<usize, ScanError>,
) -> Result<Vec<TopField>, ScanError> {
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        let end = value_end(b, i, max_depth)?;
        nothing_after(b, end)?;
        return Ok(Vec::new());
    }
    if max_depth == 0 {
        return Err(ScanError::TooDeep);
    }
    let mut fields = Vec::with_capacity(16);
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        nothing_after(b, i + 1)?;
        return Ok(fields);
    }
    loop {
        let (key, key_escaped, start) = key_colon(b, i)?;
        let mut field = TopField {
            key,
            key_escaped,
            value: start..start,
        };
        let end = field_end(&field, start, max_depth - 1)?;
        field.value.end = end;
        fields.push(field);
        i = skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => {
                nothing_after(b, i + 1)?;
                return Ok(fields);
            }
            None => return Err(invalid("unexpected end of the body", i)),
            _ => return Err(invalid("expected `,` or the end of the container", i)),
        }
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

    /// `{"k":"<s>","z":[1]}` is valid when serde says so, and when it is, the scan ends the
    /// string where serde does (the next field's value is found intact).
    fn string_value_agrees_with_serde(s: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        let body = format!("{{\"k\":\"{s}\",\"z\":[1]}}");
        let serde = serde_json::from_str::<serde_json::Value>(&body);
        let got = top_level(body.as_bytes(), 128);
        proptest::prop_assert_eq!(got.is_ok(), serde.is_ok(), "{:?}", body);
        if let Ok(fields) = got {
            proptest::prop_assert_eq!(&body[fields[1].value.clone()], "[1]");
        }
        Ok(())
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

        /// Long runs of plain text (past the sixty-four-byte blocks) with an escape, a quote or
        /// a control character between them, at any offset: valid means what serde says, and a
        /// valid string ends where serde's does.
        #[test]
        fn long_plain_runs_agree_with_serde(
            parts in proptest::collection::vec(("[a-z \u{e9}]{0,150}", "|\\\\n|\\\\\"|\\\\u00e9|\"|\n|\u{1}"), 0..4)
        ) {
            let s: String = parts.into_iter().map(|(run, special)| run + &special).collect();
            string_value_agrees_with_serde(&s)?;
        }

        /// Strings long enough for the block-at-a-time paths, with quotes, escapes (good and
        /// bad), control characters and multi-byte characters anywhere: valid means what
        /// serde says, and a valid string ends where serde's does.
        #[test]
        fn long_strings_agree_with_serde(s in "[a-z0-9 \"\\\\/nu\u{1}\u{1f}\n\u{e9}\u{1f600}]{0,200}") {
            string_value_agrees_with_serde(&s)?;
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
