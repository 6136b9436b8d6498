//! Property tests (proptest, a few hundred cases each) for every parser and codec hostile
//! input reaches: arbitrary bytes and JSON-shaped junk never panic; the SSE framer gives the
//! same events however the bytes are split. The long-running versions are the cargo-fuzz
//! targets in `fuzz/` (`scripts/fuzz.sh SECONDS`).

use bifrost::canonical::Request;
use bifrost::protocols::{ModelInfo, Protocol};
use bifrost::sse;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Keys the codecs look at, so generated objects go past the first checks.
const KEYS: &[&str] = &[
    "model",
    "input",
    "messages",
    "role",
    "content",
    "type",
    "text",
    "tools",
    "tool_choice",
    "stream",
    "stream_options",
    "include_usage",
    "name",
    "arguments",
    "call_id",
    "id",
    "output",
    "function",
    "parameters",
    "system",
    "max_tokens",
    "delta",
    "choices",
    "usage",
    "index",
    "content_block",
    "message",
    "candidates",
    "parts",
    "error",
    "finish_reason",
    "tool_calls",
    "instructions",
    "reasoning",
    "summary",
    "encrypted_content",
    "image_url",
    "source",
    "data",
];
const STRINGS: &[&str] = &[
    "user",
    "assistant",
    "system",
    "developer",
    "tool",
    "message",
    "function_call",
    "function_call_output",
    "input_text",
    "output_text",
    "text",
    "image_url",
    "tool_use",
    "tool_result",
    "thinking",
    "reasoning",
    "custom",
    "message_start",
    "content_block_start",
    "content_block_delta",
    "message_delta",
    "message_stop",
    "text_delta",
    "input_json_delta",
    "stop",
    "end_turn",
    "tool_calls",
    "auto",
    "required",
    "none",
    "",
    "bifrost.v1.x",
];

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(STRINGS).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<String, Value>>(),
                )
            }),
        ]
    })
}

/// A request-shaped object: a string model plus junk for the rest.
fn request_json() -> impl Strategy<Value = Vec<u8>> {
    (json(), any::<bool>()).prop_map(|(v, stream)| {
        let mut obj = match v {
            Value::Object(m) => m,
            other => {
                let mut m = Map::new();
                m.insert("input".into(), other.clone());
                m.insert("messages".into(), other);
                m
            }
        };
        obj.insert("model".into(), Value::from("m"));
        obj.insert("stream".into(), Value::Bool(stream));
        serde_json::to_vec(&Value::Object(obj)).unwrap_or_default()
    })
}

fn decode_everywhere(body: &[u8]) {
    let _ = bifrost::gateway::peek(body);
    for p in [Protocol::Responses, Protocol::Chat, Protocol::Anthropic] {
        if let Ok(req) = p.decode_request(body) {
            for wire in [Protocol::Chat, Protocol::Anthropic, Protocol::Gemini] {
                let _ = wire.encode_request(&req, "m", &ModelInfo::default());
            }
        }
    }
    for p in [Protocol::Chat, Protocol::Anthropic, Protocol::Gemini] {
        if let Ok(resp) = p.decode_response(body) {
            for c in [Protocol::Responses, Protocol::Chat, Protocol::Anthropic] {
                let _ = c.encode_response(&resp, &Request::default());
            }
        }
        let _ = p.decode_error(400, None, body);
    }
}

fn stream_through(p: Protocol, chunks: &[Vec<u8>]) {
    let mut framer = sse::Framer::with_limit(4096);
    let mut dec = p.stream_decoder();
    let mut events = Vec::new();
    for c in chunks {
        framer.push(c, |ev| {
            if let Some(d) = sse::data(ev) {
                let _ = dec.push(&d, &mut events);
            }
        });
    }
    dec.end(&mut events);
    for client in [Protocol::Responses, Protocol::Chat, Protocol::Anthropic] {
        let mut enc = client.stream_encoder(&Request::default());
        let mut out = Vec::new();
        for ev in &events {
            enc.event(ev, &mut out);
        }
        enc.finish(&mut out);
    }
}

fn frames(chunks: &[&[u8]]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut f = sse::Framer::default();
    let mut out = Vec::new();
    for c in chunks {
        f.push(c, |e| out.push(e.to_vec()));
    }
    (out, f.remainder().to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_a_decoder(body in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_everywhere(&body);
    }

    #[test]
    fn json_shaped_junk_never_panics_a_decoder(body in request_json()) {
        decode_everywhere(&body);
    }

    #[test]
    fn arbitrary_streams_never_panic_a_stream_decoder(
        events in prop::collection::vec(json(), 0..8),
        raw in prop::collection::vec(any::<u8>(), 0..256),
        step in 1usize..64,
    ) {
        let mut body = Vec::new();
        for e in &events {
            body.extend_from_slice(format!("data: {e}\n\n").as_bytes());
        }
        body.extend_from_slice(&raw);
        let chunks: Vec<Vec<u8>> = body.chunks(step).map(<[u8]>::to_vec).collect();
        for p in [Protocol::Anthropic, Protocol::Gemini, Protocol::Chat] {
            stream_through(p, &chunks);
        }
    }

    #[test]
    fn the_framer_gives_the_same_events_for_any_split(
        events in prop::collection::vec(("[a-z]{0,8}", ".{0,40}", any::<bool>()), 0..10),
        tail in prop::collection::vec(any::<u8>(), 0..64),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let mut body = Vec::new();
        for (name, data, crlf) in &events {
            let nl = if *crlf { "\r\n" } else { "\n" };
            let data = data.replace(['\r', '\n'], " ");
            body.extend_from_slice(format!("event: {name}{nl}data: {data}{nl}{nl}").as_bytes());
        }
        let framed = body.len();
        body.extend_from_slice(&tail);
        let whole = frames(&[&body]);
        // Every event written is found, with its data, in order.
        let datas: Vec<String> = whole.0.iter().filter_map(|e| sse::data(e).map(|d| d.into_owned())).collect();
        let want: Vec<String> = events.iter().map(|(_, d, _)| d.replace(['\r', '\n'], " ")).collect();
        prop_assert!(datas.len() >= want.len());
        prop_assert_eq!(&datas[..want.len()], &want[..]);
        prop_assert!(framed <= body.len());
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(body.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut at = 0;
        for p in points {
            chunks.push(&body[at..p]);
            at = p;
        }
        chunks.push(&body[at..]);
        prop_assert_eq!(frames(&chunks), whole);
    }

    #[test]
    fn the_config_parser_never_panics(text in ".{0,200}", lines in prop::collection::vec(
        prop::sample::select(&[
            "[gateway]", "[providers.x]", "type = \"openai\"", "base_url = \"http://h\"",
            "api_key = \"env:K\"", "max_request_bytes = -1", "max_event_bytes = 0",
            "header_read_timeout_secs = 1e308", "[[routes]]", "match = \"*\"", "provider = \"x\"",
            "[server]", "port = 99999", "keys = [1]", "[pricing.\"x/y\"]", "input = \"a\"",
        ][..]), 0..12)) {
        for t in [text.clone(), lines.join("\n"), format!("{}\n{text}", lines.join("\n"))] {
            let _ = bifrost::config::check_text(&t);
            if let Ok(l) = bifrost::config::Loaded::from_text(&t) {
                let _ = l.resolve(&|_| Some("sk-prop-key".to_string()));
            }
        }
    }
}

/// Found by this suite's hostile tests: a Chat request with `stream: true` and no
/// `stream_options` indexed a JSON map and panicked.
#[test]
fn chat_streams_without_stream_options_decode() {
    let req = Protocol::Chat
        .decode_request(
            br#"{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
        )
        .expect("decodes");
    assert!(req.stream && !req.stream_usage);
}

/// Nesting far past serde_json's recursion limit is an error everywhere, not a stack overflow.
#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!(
        "{{\"model\":\"m\",\"input\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    decode_everywhere(deep.as_bytes());
    assert!(bifrost::gateway::peek(deep.as_bytes()).is_err());
    for p in [Protocol::Responses, Protocol::Chat, Protocol::Anthropic] {
        assert!(p.decode_request(deep.as_bytes()).is_err(), "{p:?}");
    }
}
