//! OpenAI Chat Completions codec, both ways: upstream for `openai_compatible` servers (vLLM,
//! llama.cpp, LM Studio, OpenRouter, Groq, DeepSeek, Ollama's `/v1`) and inbound for Chat
//! clients whose model routes to a provider that speaks something else.
//!
//! - [`request`]: canonical → Chat request body (upstream) and Chat request → canonical
//!   (inbound).
//! - [`response`]: whole answers and errors, both ways.
//! - [`stream`]: `chat.completion.chunk` streams, both ways.

pub mod request;
pub mod response;
pub mod stream;

pub use request::{decode_request, encode_request};
pub use response::{decode_error, decode_response, encode_error, encode_response};
pub use stream::{StreamDecoder, StreamEncoder};

use std::collections::BTreeMap;

use serde_json::Value;

use crate::canonical::{ToolCall, ToolKind, ToolOrigin};

/// The JSON `arguments` string Chat carries for a call: a custom tool's raw input becomes
/// `{"input": <raw>}`, since Chat only knows function tools.
fn call_arguments(call: &ToolCall) -> String {
    match call.kind {
        ToolKind::Function => call.arguments.clone(),
        ToolKind::Custom => serde_json::json!({ "input": call.arguments }).to_string(),
    }
}

/// The name a Chat client knows a tool by: inbound decoding may have flattened it.
fn client_tool_name(origins: &BTreeMap<String, ToolOrigin>, name: &str) -> String {
    match origins.get(name) {
        Some(o) if o.namespace.is_none() => o.name.clone(),
        _ => name.to_string(),
    }
}

/// Text of a Chat `content` that may be a string, an array of parts, or null.
fn content_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| match p {
                Value::String(s) => Some(s.as_str()),
                _ => p.get("text").and_then(Value::as_str),
            })
            .collect(),
        _ => String::new(),
    }
}

/// A JSON value as a string: strings as they are, anything else serialised (servers that
/// send `arguments` as an object).
fn as_json_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A call id for servers that send none (some llama.cpp and Ollama builds).
fn synth_call_id() -> String {
    format!("call_{}", crate::ids::uuid_v7().simple())
}

/// Unix seconds now.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Fixture loading shared by the codec's unit tests.

    use crate::canonical::Event;

    /// A file under `tests/fixtures/chat/`.
    pub fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/chat/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Every `data:` payload of an SSE text, in order.
    pub fn sse_data(text: &str) -> Vec<String> {
        let mut framer = crate::sse::Framer::default();
        let mut out = Vec::new();
        framer.push(text.as_bytes(), |ev| {
            if let Some(d) = crate::sse::data(ev) {
                out.push(d.into_owned());
            }
        });
        out
    }

    /// Decodes a whole SSE text with the Chat stream decoder, `end` included.
    pub fn decode_stream(text: &str) -> Vec<Event> {
        let mut dec = super::StreamDecoder::new();
        let mut out = Vec::new();
        for d in sse_data(text) {
            dec.push(&d, &mut out).expect("chunk decodes");
        }
        dec.end(&mut out);
        out
    }
}
