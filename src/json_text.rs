//! JSON text at the byte level, shared by the gateway's request scan and the upstream
//! encoders: a SIMD test for where a run of plain string text ends, and a writer for
//! `serde_json::Value` built on it that writes byte for byte what serde_json writes.
//!
//! serde_json escapes a string one byte at a time through a lookup table; writing a
//! translated 17.5 KB Codex request that way cost ~145k instructions under callgrind, a fifth
//! of the translated path. Here plain text is found sixteen or sixty-four bytes per step (the
//! `wide` crate: SSE2 on x86-64, NEON on aarch64, scalar elsewhere) and copied in one piece.

use serde_json::Value;
use wide::{u8x16, u8x64};

/// Flags the bytes of `c` that end a run of plain string text: `"`, `\` or a control
/// character (< 0x20), the bytes JSON requires escaped. Three compares and a movemask.
#[inline(always)]
pub fn special16(c: &[u8; 16]) -> u32 {
    let v = u8x16::new(*c);
    (v.simd_eq(u8x16::splat(b'"'))
        | v.simd_eq(u8x16::splat(b'\\'))
        | v.min(u8x16::splat(0x1f)).simd_eq(v))
    .to_bitmask()
}

/// [`special16`] over sixty-four bytes: one test per block of a long run of plain text.
#[inline(always)]
fn special64(c: &[u8; 64]) -> u64 {
    let v = u8x64::new(*c);
    (v.simd_eq(u8x64::splat(b'"'))
        | v.simd_eq(u8x64::splat(b'\\'))
        | v.min(u8x64::splat(0x1f)).simd_eq(v))
    .to_bitmask()
}

/// The offset of the next `"`, `\` or control character at or after `j`, or `None` at the
/// end of `b`. Sixteen bytes first (agent text has an escape such as `\n` every line), then
/// sixty-four per step, then sixteen, then the last sixteen of `b` for the tail.
pub fn next_special(b: &[u8], mut j: usize) -> Option<usize> {
    if let Some(c) = b.get(j..)?.first_chunk::<16>() {
        let m = special16(c);
        if m != 0 {
            return Some(j + m.trailing_zeros() as usize);
        }
        j += 16;
    }
    while let Some(c) = b.get(j..)?.first_chunk::<64>() {
        let m = special64(c);
        if m != 0 {
            return Some(j + m.trailing_zeros() as usize);
        }
        j += 64;
    }
    while let Some(c) = b.get(j..)?.first_chunk::<16>() {
        let m = special16(c);
        if m != 0 {
            return Some(j + m.trailing_zeros() as usize);
        }
        j += 16;
    }
    // Fewer than sixteen bytes left: test the last sixteen of `b` (overlapping bytes already
    // tested, shifted out of the mask), or a padded copy when `b` is shorter than that.
    let n = b.len().checked_sub(j).filter(|&n| n > 0)?;
    let m = match b.len().checked_sub(16) {
        Some(start) => b.get(start..)?.first_chunk::<16>().map(special16)? >> (16 - n),
        None => {
            let mut padded = [b'a'; 16];
            padded.get_mut(..n)?.copy_from_slice(b.get(j..)?);
            special16(&padded)
        }
    };
    (m != 0).then(|| j + m.trailing_zeros() as usize)
}

/// Appends `s` as a JSON string: the short escapes serde_json uses (`\"`, `\\`, `\b`, `\f`,
/// `\n`, `\r`, `\t`) and `\u00xx` (lowercase) for other control characters.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let mut start = 0;
    while let Some(k) = next_special(b, start) {
        out.extend_from_slice(&b[start..k]);
        let c = b[k];
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x0a => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x0d => out.extend_from_slice(b"\\r"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(c >> 4)],
                HEX[usize::from(c & 0xf)],
            ]),
        }
        start = k + 1;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

/// Appends `v` as compact JSON, exactly as `serde_json::to_writer` would (keys in the map's
/// order; numbers are written by serde_json itself).
pub fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        // Writing to a Vec cannot fail, and every Number is finite.
        Value::Number(n) => drop(serde_json::to_writer(&mut *out, n)),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                write_value(out, item);
            }
            out.push(b'}');
        }
    }
}

/// `bytes` as text. `simdutf8` checks it with SIMD (AVX2 or SSE4.2, picked at run time);
/// std's check runs only to describe a failure. std's `from_utf8` cost ~8–10k instructions
/// on a 17.5 KB Codex request under callgrind.
pub fn utf8(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(_) => std::str::from_utf8(bytes),
    }
}

/// `v` as compact JSON: [`write_value`] into a new buffer.
pub fn to_vec(v: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    write_value(&mut out, v);
    out
}

/// The offset of the first byte at or after `i` that is not JSON whitespace (space, `\n`,
/// `\r`, `\t`), or `b.len()`.
#[inline]
pub fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(c) = b.get(i) {
        if !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
            break;
        }
        i += 1;
    }
    i
}

/// How many leading bytes `a` and `b` share: blocks of 4 KiB compared at once (`memcmp`),
/// then blocks of 256 and 16 bytes within the one that differs, then bytes.
pub fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut i = 0;
    for block in [4096, 256, 16] {
        while i + block <= n && a[i..i + block] == b[i..i + block] {
            i += block;
        }
    }
    i + a[i..]
        .iter()
        .zip(&b[i..])
        .take_while(|(x, y)| x == y)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_serde_json() {
        for s in [
            "",
            "plain",
            "q\"b\\s/",
            "\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f} \u{7f}é😀",
            &"x".repeat(200),
            &format!("{}\n{}\"{}", "a".repeat(70), "é".repeat(40), "b".repeat(17)),
        ] {
            let mut out = Vec::new();
            write_str(&mut out, s);
            assert_eq!(
                String::from_utf8_lossy(&out),
                serde_json::to_string(s).unwrap_or_default()
            );
        }
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[ -~\u{e9}\u{1f600}\u{0}-\u{1f}\"\\\\]{0,90}".prop_map(Value::from),
            (
                "[a-z ]{0,100}",
                "[\u{0}-\u{1f}\"\\\\]",
                "[a-z\u{e9}]{0,100}"
            )
                .prop_map(|(a, b, c)| Value::from(a + &b + &c)),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                proptest::collection::btree_map("[a-z\"\\\\\n]{0,6}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// The SIMD check accepts and refuses exactly what std does, and fails with std's
        /// error: text long enough for its vector paths, with a bad byte anywhere.
        #[test]
        fn utf8_agrees_with_std(
            text in "[a-z\u{e9}\u{1f600}\u{800}]{0,200}",
            bad in proptest::option::of((proptest::num::usize::ANY, 0x80u8..=0xff)),
        ) {
            let mut bytes = text.into_bytes();
            if let Some((at, byte)) = bad {
                let at = at % (bytes.len() + 1);
                bytes.insert(at, byte);
            }
            proptest::prop_assert_eq!(utf8(&bytes), std::str::from_utf8(&bytes));
        }

        /// Every value is written byte for byte as serde_json writes it.
        #[test]
        fn writes_what_serde_json_writes(v in json_value()) {
            proptest::prop_assert_eq!(to_vec(&v), serde_json::to_vec(&v).unwrap_or_default());
        }

        /// The byte test finds the first byte JSON requires escaped, from any offset, in text of
        /// any length (the tail paths for fewer than sixteen bytes included).
        #[test]
        fn next_special_finds_the_first_escape(
            run in "[a-z \u{e9}]{0,200}",
            special in proptest::option::of("[\u{0}-\u{1f}\"\\\\]"),
            tail in "[a-z\"\\\\\n]{0,20}",
        ) {
            let text = format!("{run}{}{tail}", special.unwrap_or_default());
            let b = text.as_bytes();
            for j in 0..=b.len() + 1 {
                let want = b
                    .get(j..)
                    .and_then(|r| r.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20))
                    .map(|p| j + p);
                proptest::prop_assert_eq!(next_special(b, j), want, "from {}", j);
            }
        }
    }
}
