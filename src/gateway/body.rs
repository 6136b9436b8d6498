//! Reading just enough of a request body to route it, and editing it without re-serialising.
//!
//! The passthrough path must send the client's bytes upstream. When the `model` must change
//! (`openai/gpt-5.5` → `gpt-5.5`) or a chat stream needs `stream_options.include_usage`, only
//! that value's byte range is replaced.

use std::ops::Range;

use serde::Deserialize;

pub use crate::json_text::utf8;

/// A top-level field: its value's range, and the range to cut to remove the whole field.
pub use crate::protocols::FieldAt as Field;

/// The range of `"name": <value>` plus one comma next to it, given the value's range.
fn field_range(text: &str, name: &str, value: &Range<usize>) -> Option<Range<usize>> {
    let bytes = text.as_bytes();
    let quoted = format!("\"{name}\"");
    let before = &text[..value.start];
    let colon = before.trim_end().strip_suffix(':')?;
    let key_start = colon.trim_end().strip_suffix(quoted.as_str())?.len();
    // Prefer the comma before the key; else the one after the value.
    let head = text[..key_start].trim_end();
    if head.ends_with(',') {
        return Some(head.len() - 1..value.end);
    }
    let mut end = value.end;
    while end < bytes.len() && bytes[end].is_ascii_whitespace() {
        end += 1;
    }
    if end < bytes.len() && bytes[end] == b',' {
        end += 1;
    }
    Some(key_start..end)
}

/// What the gateway needs from a request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peeked {
    /// The model name and the byte range of its JSON value.
    pub model: Option<(String, Range<usize>)>,
    /// `stream: true`.
    pub stream: bool,
    /// `stream_options` value: its range and its `include_usage`.
    pub stream_options: Option<(Range<usize>, Option<bool>)>,
    /// Byte range of the `tools` value, if any.
    pub tools: Option<Range<usize>>,
    /// The range of the whole `tools` field with one adjoining comma (not found when its
    /// key is written with escapes).
    pub tools_field: Option<Range<usize>>,
    /// A `fallbacks` field (bifrost's own; removed before the request goes upstream).
    pub fallbacks: Option<Field>,
    /// The `input` field (not found when its key is written with escapes).
    pub input: Option<Field>,
    /// The first `client_metadata` field, which no decoder reads (Codex sends ~1.2 KB).
    pub client_metadata: Option<Field>,
}

impl Peeked {
    /// Where the Responses decoder finds the fields it can take from the caller's last turn.
    pub fn received(&self) -> crate::protocols::Received {
        crate::protocols::Received {
            tools: self
                .tools
                .clone()
                .zip(self.tools_field.clone())
                .map(|(value, field)| Field { value, field }),
            input: self.input.clone(),
            unread: self.client_metadata.clone(),
        }
    }
}

/// Whether the `tools` value at `range` is a non-empty array.
pub fn declares_tools(body: &[u8], range: &Option<Range<usize>>) -> bool {
    let Some(r) = range else { return false };
    serde_json::from_slice::<Vec<serde::de::IgnoredAny>>(&body[r.clone()])
        .is_ok_and(|t| !t.is_empty())
}

/// The deepest nesting of arrays and objects accepted: serde_json's own recursion limit, so
/// the passthrough path (which only peeks) refuses what the translated path could not parse.
pub const MAX_DEPTH: usize = 128;

/// Parses the body enough to route it. The message names the problem for a 400.
pub fn peek(body: &[u8]) -> Result<Peeked, String> {
    peek_text(utf8(body).map_err(not_utf8)?)
}

/// The 400 message for a body that is not UTF-8.
pub fn not_utf8(e: std::str::Utf8Error) -> String {
    format!("request body is not valid UTF-8 ({e}); send JSON encoded as UTF-8")
}

thread_local! {
    /// What this thread's scans remember of earlier bodies: each gateway shard keeps its own,
    /// so a session's next turn is compared with its last one on the thread that serves it.
    static MEMO: std::cell::RefCell<super::scan::Memo> =
        std::cell::RefCell::new(super::scan::Memo::new());
}

/// [`peek_text`] for a request the gateway received: `text` is `body` checked as UTF-8, and
/// the scan compares the body with the ones `caller` (its key) sent on this thread before
/// ([`super::scan::Memo`]).
pub fn peek_received(body: &bytes::Bytes, text: &str, caller: &[u8]) -> Result<Peeked, String> {
    debug_assert_eq!(
        body.as_ptr(),
        text.as_ptr(),
        "text must be the body's own bytes"
    );
    peek_with(text, |_| {
        MEMO.with(|memo| match memo.try_borrow_mut() {
            Ok(mut memo) => memo.top_level(body, MAX_DEPTH, caller),
            Err(_) => super::scan::top_level(body, MAX_DEPTH),
        })
    })
}

/// [`peek`] on a body already checked to be UTF-8 (the gateway checks once, for this and
/// for the captured copy).
pub fn peek_text(text: &str) -> Result<Peeked, String> {
    peek_with(text, |b| super::scan::top_level(b, MAX_DEPTH))
}

/// [`peek_text`], with `scan` finding the top-level fields.
fn peek_with(
    text: &str,
    scan: impl FnOnce(&[u8]) -> Result<Vec<super::scan::TopField>, super::scan::ScanError>,
) -> Result<Peeked, String> {
    let body = text.as_bytes();
    match text.trim_start().as_bytes().first() {
        None => return Err("request body is empty; send a JSON object".into()),
        Some(b'{') => {}
        Some(_) => return Err("request body must be a JSON object".into()),
    }
    let fields = scan(body).map_err(|e| match e {
        super::scan::ScanError::TooDeep => format!(
            "request body nests arrays and objects more than {MAX_DEPTH} levels deep; flatten it"
        ),
        e => format!("request body is not valid JSON: {e}"),
    })?;
    let mut p = Peeked {
        model: None,
        stream: false,
        stream_options: None,
        tools: None,
        tools_field: None,
        fallbacks: None,
        input: None,
        client_metadata: None,
    };
    let mut seen = [false; 6];
    for f in fields {
        let Some(name) = f.name(body) else { continue };
        if name == "client_metadata" {
            // Not checked for repeats: no decoder reads it, so a second one harms nothing.
            if p.client_metadata.is_none() {
                let value = f.value;
                p.client_metadata = field_range(text, "client_metadata", &value)
                    .map(|field| Field { value, field });
            }
            continue;
        }
        let slot = match name.as_ref() {
            "model" => 0,
            "stream" => 1,
            "stream_options" => 2,
            "tools" => 3,
            "fallbacks" => 4,
            "input" => 5,
            _ => continue,
        };
        if std::mem::replace(&mut seen[slot], true) {
            return Err(format!(
                "request body has `{name}` twice; send each field once"
            ));
        }
        let raw = &text[f.value.clone()];
        match slot {
            0 => {
                let model: String = serde_json::from_str(raw)
                    .map_err(|_| format!("`model` must be a string, got {raw}"))?;
                p.model = Some((model, f.value));
            }
            1 => {
                p.stream = match raw {
                    "true" => true,
                    "false" | "null" => false,
                    _ => return Err(format!("`stream` must be true or false, got {raw}")),
                }
            }
            2 if raw != "null" => {
                #[derive(Deserialize)]
                struct Opts {
                    include_usage: Option<bool>,
                }
                let o: Opts = serde_json::from_str(raw)
                    .map_err(|e| format!("`stream_options` is invalid: {e}"))?;
                p.stream_options = Some((f.value, o.include_usage));
            }
            3 => {
                p.tools_field = field_range(text, "tools", &f.value);
                p.tools = Some(f.value);
            }
            4 => {
                let value = f.value;
                p.fallbacks =
                    field_range(text, "fallbacks", &value).map(|field| Field { value, field });
            }
            5 => {
                let value = f.value;
                p.input = field_range(text, "input", &value).map(|field| Field { value, field });
            }
            _ => {}
        }
    }
    Ok(p)
}

/// `bytes` as text for the log: the fast validated copy when it is UTF-8 (nearly always),
/// else with U+FFFD for bad sequences. `String::from_utf8_lossy` validates chunk by chunk and
/// cost ~124k instructions on a 17.5 KB Codex request under callgrind; `from_utf8` a tenth.
pub fn text(bytes: &[u8]) -> String {
    match utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// The length of `text` cut to at most `limit` bytes, back to a character boundary: what the
/// log keeps of a body.
pub fn capped_len(text: &str, limit: usize) -> usize {
    let mut end = limit.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// Replaces byte ranges (which must not overlap) and inserts at offsets, in one copy.
pub fn edit(body: &[u8], mut edits: Vec<(Range<usize>, Vec<u8>)>) -> bytes::Bytes {
    edits.sort_by_key(|(r, _)| r.start);
    let extra: usize = edits.iter().map(|(_, v)| v.len()).sum();
    let mut out = Vec::with_capacity(body.len() + extra);
    let mut at = 0;
    for (r, v) in edits {
        out.extend_from_slice(&body[at..r.start]);
        out.extend_from_slice(&v);
        at = r.end;
    }
    out.extend_from_slice(&body[at..]);
    out.into()
}

/// Offset just after the body's opening `{`, for inserting a field.
pub fn after_open_brace(body: &[u8]) -> Option<usize> {
    body.iter().position(|b| *b == b'{').map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_exact_for_utf8_and_lossy_otherwise() {
        assert_eq!(text("héllo {\"a\":1}".as_bytes()), "héllo {\"a\":1}");
        assert_eq!(text(b"ok \xff end"), "ok \u{fffd} end");
        // A body capped in the middle of a character keeps its valid prefix.
        let s = "aé".as_bytes();
        assert_eq!(text(&s[..2]), "a\u{fffd}");
        // Text already checked is cut back to a character boundary instead.
        assert_eq!(capped_len("aé", 2), 1);
        assert_eq!(capped_len("aé", 3), 3);
        assert_eq!(capped_len("aé", 99), 3);
        assert_eq!(capped_len("aé", 0), 0);
    }

    #[test]
    fn a_received_body_that_repeats_an_earlier_one_is_judged_the_same() -> Result<(), String> {
        let turn = |last: &str| {
            bytes::Bytes::from(format!(
                r#"{{"model":"gpt-5.5","instructions":"{}","input":[{},{last}],"stream":true}}"#,
                "Be brief. ".repeat(100),
                r#"{"role":"user","content":"earlier words"}"#.to_string()
                    + &r#",{"role":"assistant","content":"an answer of some length"}"#.repeat(40)
            ))
        };
        let received = |b: &bytes::Bytes| {
            let text = utf8(b).map_err(|e| e.to_string())?;
            peek_received(b, text, b"sk-test")
        };
        let first = turn(r#"{"role":"user","content":"go on"}"#);
        let next = turn(r#"{"role":"user","content":"and then"}"#);
        assert_eq!(received(&first)?, peek(&first)?);
        assert_eq!(received(&next)?, peek(&next)?);
        assert!(received(&next)?.stream);
        // Bad JSON after the bytes it shares with the body before is still refused.
        let bad = turn(r#"{"role":"user","content":"and then"]"#);
        let refused = received(&bad).err().ok_or("accepted bad JSON")?;
        assert_eq!(Err(refused), peek(&bad));
        Ok(())
    }

    #[test]
    fn finds_model_and_splices_it() -> Result<(), String> {
        let body = br#"{"input":[{"model":"inner"}], "model" : "openai/gpt-5.5","stream":true}"#;
        let p = peek(body)?;
        let (name, range) = p.model.clone().ok_or("no model")?;
        assert_eq!(name, "openai/gpt-5.5");
        assert!(p.stream);
        let out = edit(body, vec![(range, br#""gpt-5.5""#.to_vec())]);
        assert_eq!(
            &out[..],
            br#"{"input":[{"model":"inner"}], "model" : "gpt-5.5","stream":true}"#
        );
        // A key written with escapes is the same key.
        let escaped = peek(br#"{"\u006dodel":"gpt-5.5","str\u0065am":true}"#)?;
        assert_eq!(escaped.model.map(|m| m.0).as_deref(), Some("gpt-5.5"));
        assert!(escaped.stream);
        Ok(())
    }

    #[test]
    fn explains_bad_bodies() {
        assert!(
            peek(b"{\"model\": ")
                .err()
                .unwrap_or_default()
                .contains("not valid JSON")
        );
        assert_eq!(
            peek(b"[1]").err().as_deref(),
            Some("request body must be a JSON object")
        );
        assert!(
            peek(b"{\"model\": 5}")
                .err()
                .unwrap_or_default()
                .contains("`model` must be a string")
        );
        assert!(peek(b"\xff").err().unwrap_or_default().contains("UTF-8"));
        assert!(peek(b"{\"stream\": \"yes\"}").is_err());
        let deep = format!(
            "{{\"model\":\"m\",\"x\":{}{}}}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(
            peek(deep.as_bytes())
                .err()
                .unwrap_or_default()
                .contains("128 levels")
        );
        let ok = format!(
            "{{\"model\":\"m\",\"x\":\"{}\",\"y\":{}{}}}",
            "[".repeat(500),
            "[".repeat(100),
            "]".repeat(100)
        );
        assert!(
            peek(ok.as_bytes()).is_ok(),
            "brackets in strings do not count"
        );
    }

    #[test]
    fn a_fallbacks_field_is_cut_out_cleanly() -> Result<(), String> {
        for (body, want) in [
            (
                r#"{"model":"m", "fallbacks": ["a/b"], "input":"x"}"#,
                r#"{"model":"m", "input":"x"}"#,
            ),
            (
                r#"{"fallbacks":["a/b"] , "model":"m"}"#,
                r#"{ "model":"m"}"#,
            ),
            (r#"{"model":"m","fallbacks":[]}"#, r#"{"model":"m"}"#),
        ] {
            let p = peek(body.as_bytes())?;
            let f = p.fallbacks.ok_or("no fallbacks")?;
            let out = edit(body.as_bytes(), vec![(f.field, Vec::new())]);
            assert_eq!(String::from_utf8_lossy(&out), want);
            assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
        }
        Ok(())
    }

    #[test]
    fn reads_stream_options() -> Result<(), String> {
        let p = peek(br#"{"model":"m","stream":true,"stream_options":{"include_usage":false}}"#)?;
        assert_eq!(p.stream_options.map(|(_, u)| u), Some(Some(false)));
        let p = peek(br#"{"model":"m","stream_options":null}"#)?;
        assert_eq!(p.stream_options, None);
        Ok(())
    }

    /// `decode_received` with what `peek` found, twice (the second from the memo), against
    /// a plain decode: the same request, or the same error.
    fn decodes_alike(body: &str, caller: &[u8]) -> Result<(), String> {
        use crate::protocols::Protocol;
        let Ok(p) = peek(body.as_bytes()) else {
            return Ok(());
        };
        let at = p.received();
        let plain = Protocol::Responses
            .decode_request(body.as_bytes())
            .map_err(|e| e.to_string());
        for round in 0..2 {
            let known = Protocol::Responses
                .decode_received(&bytes::Bytes::copy_from_slice(body.as_bytes()), &at, caller)
                .map_err(|e| e.to_string());
            if known != plain {
                return Err(format!("round {round} of {body}:\n{known:?}\n!= {plain:?}"));
            }
        }
        Ok(())
    }

    /// The Codex request fixtures, as text and as JSON.
    fn codex_fixtures() -> Result<Vec<(String, serde_json::Value)>, String> {
        crate::protocols::responses::codex_fixtures()
            .into_iter()
            .map(|(_, body)| {
                let v = serde_json::from_str(&body).map_err(|e| e.to_string())?;
                Ok((body, v))
            })
            .collect()
    }

    #[test]
    fn decoding_with_the_scans_tools_gives_a_plain_decodes_result() -> Result<(), String> {
        let mut checked = 0;
        for (body, v) in codex_fixtures()? {
            let Some(tools) = v.get("tools") else {
                continue;
            };
            let mut rest = v.clone();
            if let Some(o) = rest.as_object_mut() {
                o.remove("tools");
            }
            let rest = rest.to_string();
            let inner = rest.strip_prefix('{').unwrap_or_default();
            // As sent, then with `tools` first, last, alone, spaced out and broken.
            let variants = [
                body.clone(),
                format!("{{\"tools\":{tools},{inner}"),
                format!("{},\"tools\":{tools}}}", rest.trim_end_matches('}')),
                format!("{{ \"tools\" : {tools} }}"),
                format!("{{\"tools\" :\n{tools} , {inner}"),
                format!("{{\"tools\":[{{\"type\":\"function\",\"name\":7}}],{inner}"),
                format!("{{\"tools\":null,{inner}"),
            ];
            for b in &variants {
                decodes_alike(b, b"sk-a")?;
                checked += 1;
            }
            // The decodes above went through the memo, not only around it.
            assert!(crate::protocols::responses::remembered() > 0);
        }
        assert!(checked >= 35, "only {checked} bodies");
        Ok(())
    }

    #[test]
    fn decoding_with_the_scans_input_gives_a_plain_decodes_result() -> Result<(), String> {
        use serde_json::{Value, json};
        let before = crate::protocols::responses::replayed();
        let mut checked = 0;
        for (body, v) in codex_fixtures()? {
            let Some(items) = v.get("input").and_then(Value::as_array).cloned() else {
                continue;
            };
            let with = |input: Value| {
                let mut b = v.clone();
                b["input"] = input;
                b.to_string()
            };
            let half = items.len() / 2;
            let mut edited_last = items.clone();
            edited_last.push(json!({"type": "message", "role": "user", "content": "next"}));
            let mut broken = items.clone();
            broken.push(json!({"type": "function_call", "name": "f", "arguments": "{}"}));
            let mut wrong_type = items.clone();
            wrong_type.push(json!({"type": "message", "role": 7}));
            let mut not_an_item = items.clone();
            not_an_item.push(json!(7));
            let mut adds_tools = items[..half].to_vec();
            adds_tools.push(json!({"type": "additional_tools", "tools": [{"type": "function", "name": "late"}]}));
            adds_tools.extend_from_slice(&items[half..]);
            let mut unknown_role = items.clone();
            if let Some(first) = unknown_role.first_mut() {
                first["role"] = json!("narrator");
                first["type"] = json!("message");
            }
            let mut rest = v.clone();
            if let Some(o) = rest.as_object_mut() {
                o.remove("input");
            }
            let rest = rest.to_string();
            let inner = rest.strip_prefix('{').unwrap_or_default();
            let all = Value::Array(items.clone()).to_string();
            // A conversation growing turn by turn, as sent, then edited at its end, broken
            // there, with a late tool list, with `input` first, last, spaced out, as text.
            let variants = [
                with(Value::Array(items[..half].to_vec())),
                body.clone(),
                body.clone(),
                with(Value::Array(edited_last)),
                with(Value::Array(broken)),
                with(Value::Array(wrong_type)),
                with(Value::Array(not_an_item)),
                with(Value::Array(adds_tools.clone())),
                with(Value::Array(adds_tools)),
                with(Value::Array(unknown_role)),
                format!("{{\"input\":{all},{inner}"),
                format!("{},\"input\":{all}}}", rest.trim_end_matches('}')),
                format!("{{ \"input\" :\n{all} , {inner}"),
                format!(
                    "{{\"input\":[ {} ,{{\"type\":\"message\"}}],{inner}",
                    &all[1..all.len() - 1]
                ),
                with(json!("hi")),
                with(json!({"type": "message"})),
            ];
            for b in &variants {
                decodes_alike(b, b"sk-i")?;
                checked += 1;
            }
        }
        assert!(checked >= 80, "only {checked} bodies");
        // The decodes above took items from the memo, not only decoded them.
        assert!(crate::protocols::responses::replayed() > before + 50);
        Ok(())
    }

    #[test]
    fn decoding_without_the_unread_metadata_gives_a_plain_decodes_result() -> Result<(), String> {
        use serde_json::Value;
        let mut checked = 0;
        for (body, v) in codex_fixtures()? {
            let (Some(meta), Some(input)) = (v.get("client_metadata"), v.get("input")) else {
                continue;
            };
            let mut rest = v.clone();
            if let Some(o) = rest.as_object_mut() {
                o.remove("client_metadata");
                o.remove("input");
            }
            let rest = rest.to_string();
            let inner = rest.strip_prefix('{').unwrap_or_default();
            let ids = Value::String("x".into());
            // As sent; first, then right before and after `input` (a comma each side can be
            // the one both cuts would take); last; twice; spaced out; not an object.
            let variants = [
                body.clone(),
                format!("{{\"client_metadata\":{meta},\"input\":{input},{inner}"),
                format!("{{\"input\":{input},\"client_metadata\":{meta},{inner}"),
                format!(
                    "{},\"input\":{input},\"client_metadata\":{meta}}}",
                    rest.trim_end_matches('}')
                ),
                format!(
                    "{{\"client_metadata\":{meta},\"client_metadata\":{ids},\"input\":{input},{inner}"
                ),
                format!("{{ \"client_metadata\" :\n{meta} ,\"input\":{input}, {inner}"),
                format!("{{\"client_metadata\":7,\"input\":{input},{inner}"),
            ];
            for b in &variants {
                let at = peek(b.as_bytes())?.received();
                assert!(at.unread.is_some(), "{b}");
                decodes_alike(b, b"sk-m")?;
                checked += 1;
            }
        }
        assert!(checked >= 21, "only {checked} bodies");
        Ok(())
    }

    proptest::proptest! {
        /// Any byte put anywhere in a small body with tools and items: the same result
        /// either way.
        #[test]
        fn decoding_with_the_scans_fields_agrees_on_edited_bodies(
            at in 0usize..640,
            byte in "[\\[\\]{},:\" a0\\\\]",
            caller in "[ab]",
        ) {
            let mut body = r#"{"model":"m","tools":[{"type":"function","name":"f","description":"x","parameters":{"type":"object","properties":{"a":{"type":"string"}}}},{"type":"custom","name":"c"}],"input":[{"type":"message","role":"user","content":"hi"},{"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c1","output":"ok"}],"client_metadata":{"a":"b"}}"#.to_string();
            let at = at % (body.len() + 1);
            body.insert_str(at, &byte);
            let result = decodes_alike(&body, caller.as_bytes());
            proptest::prop_assert!(result.is_ok(), "{:?}", result.err());
        }
    }
}
