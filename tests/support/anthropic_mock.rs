//! A mock Anthropic Messages API (`POST /v1/messages`), as strict as the real one where a
//! translator could get it wrong: key and version headers, unknown fields, role alternation,
//! tool_use/tool_result pairing and order, empty text, tool names and schemas, thinking rules,
//! and thinking signatures (it signs what it emits and verifies what comes back).

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use super::CANARY;

/// Token counts of a scripted answer, in Anthropic's convention (input excludes the cache).
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_creation: u64,
}

pub fn usage(input: u64, output: u64, cache_read: u64, cache_creation: u64) -> Usage {
    Usage {
        input,
        output,
        cache_read,
        cache_creation,
    }
}

/// One block of a scripted answer.
#[derive(Debug, Clone)]
pub enum Out {
    Text(String),
    /// Thinking text; the mock signs it.
    Thinking(String),
    ToolUse {
        name: String,
        input: Value,
    },
}

/// One canned answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A message with these blocks (`stop_reason` is `tool_use` when it calls a tool).
    Message { content: Vec<Out>, usage: Usage },
    /// An HTTP error in Anthropic's format.
    Error {
        status: u16,
        kind: String,
        message: String,
        retry_after: Option<u64>,
    },
}

pub fn text(t: &str, u: Usage) -> Reply {
    Reply::Message {
        content: vec![Out::Text(t.into())],
        usage: u,
    }
}

pub fn tool_use(name: &str, input: Value, u: Usage) -> Reply {
    Reply::Message {
        content: vec![Out::ToolUse {
            name: name.into(),
            input,
        }],
        usage: u,
    }
}

pub fn thinking_text(thinking: &str, t: &str, u: Usage) -> Reply {
    Reply::Message {
        content: vec![Out::Thinking(thinking.into()), Out::Text(t.into())],
        usage: u,
    }
}

pub fn thinking_tool_use(thinking: &str, name: &str, input: Value, u: Usage) -> Reply {
    Reply::Message {
        content: vec![
            Out::Thinking(thinking.into()),
            Out::ToolUse {
                name: name.into(),
                input,
            },
        ],
        usage: u,
    }
}

pub fn error(status: u16, kind: &str, message: &str, retry_after: Option<u64>) -> Reply {
    Reply::Error {
        status,
        kind: kind.into(),
        message: message.into(),
        retry_after,
    }
}

/// The signature the mock gives a thinking text (and expects back).
pub fn sign(thinking: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in thinking.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("sig-{h:016x}")
}

/// A request the mock received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Seen {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Default)]
struct Inner {
    replies: Mutex<VecDeque<Reply>>,
    seen: Mutex<Vec<Seen>>,
    ids: AtomicU64,
}

/// The running mock.
pub struct AnthropicMock {
    addr: SocketAddr,
    inner: Arc<Inner>,
    _server: super::Served,
}

impl AnthropicMock {
    pub fn start() -> AnthropicMock {
        let inner = Arc::new(Inner::default());
        let app = axum::Router::new()
            .route("/v1/messages", post(messages))
            .with_state(inner.clone());
        let server = super::Served::start(app);
        let addr = server.addr;
        AnthropicMock {
            addr,
            inner,
            _server: server,
        }
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn push(&self, r: Reply) {
        self.inner.replies.lock().expect("lock").push_back(r);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.inner.seen.lock().expect("lock").clone()
    }
}

fn error_response(status: u16, kind: &str, message: &str) -> Response {
    let body = json!({"type": "error", "error": {"type": kind, "message": message}});
    let mut r = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        axum::Json(body),
    )
        .into_response();
    r.headers_mut()
        .insert("request-id", "req_mock".parse().expect("header"));
    r
}

const TOP_LEVEL: &[&str] = &[
    "model",
    "messages",
    "max_tokens",
    "system",
    "metadata",
    "stop_sequences",
    "stream",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
    "thinking",
    "service_tier",
    "container",
    "mcp_servers",
    "context_management",
];

fn valid_name(n: &str) -> bool {
    (1..=64).contains(&n.len())
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn non_blank(v: &Value) -> bool {
    v.as_str().is_some_and(|s| !s.trim().is_empty())
}

const EMPTY_TEXT: &str = "messages: text content blocks must contain non-whitespace text";

/// A text or image block (system, tool results, user content).
fn check_plain(b: &Value, at: &str) -> Result<(), String> {
    match b["type"].as_str() {
        Some("text") if non_blank(&b["text"]) => Ok(()),
        Some("text") => Err(EMPTY_TEXT.into()),
        Some("image") => {
            let s = &b["source"];
            let ok = match s["type"].as_str() {
                Some("base64") => {
                    matches!(
                        s["media_type"].as_str(),
                        Some("image/jpeg" | "image/png" | "image/gif" | "image/webp")
                    ) && non_blank(&s["data"])
                }
                Some("url") => s["url"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("http://") || u.starts_with("https://")),
                _ => false,
            };
            if ok {
                Ok(())
            } else {
                Err(format!("{at}.source: invalid image source"))
            }
        }
        other => Err(format!("{at}.type: unexpected block type {other:?}")),
    }
}

/// Everything the real API validates in a body that bifrost could get wrong.
fn check(v: &Value) -> Result<(), String> {
    let Some(obj) = v.as_object() else {
        return Err("body must be a JSON object".into());
    };
    for k in obj.keys() {
        if !TOP_LEVEL.contains(&k.as_str()) {
            return Err(format!("{k}: Extra inputs are not permitted"));
        }
    }
    if !non_blank(&v["model"]) {
        return Err("model: Field required".into());
    }
    let Some(max_tokens) = v["max_tokens"].as_u64().filter(|m| *m >= 1) else {
        return Err("max_tokens: Field required".into());
    };
    let Some(messages) = v["messages"].as_array() else {
        return Err("messages: Field required".into());
    };
    if messages.is_empty() {
        return Err("messages: at least one message is required".into());
    }
    let mut breakpoints = 0;
    let mut count_cache = |b: &Value| {
        if b.get("cache_control").is_some() {
            breakpoints += 1;
        }
    };

    match &v["system"] {
        Value::Null => {}
        Value::String(s) if !s.trim().is_empty() => {}
        Value::Array(blocks) => {
            for (i, b) in blocks.iter().enumerate() {
                if b["type"] != "text" {
                    return Err(format!("system.{i}.type: Input should be 'text'"));
                }
                check_plain(b, &format!("system.{i}"))?;
                count_cache(b);
            }
        }
        _ => return Err("system: Input should be a valid string or list".into()),
    }

    let mut tool_names = HashSet::new();
    for (i, t) in v["tools"].as_array().into_iter().flatten().enumerate() {
        count_cache(t);
        if t["type"].as_str().is_some_and(|k| k != "custom") {
            continue; // server tools
        }
        let name = t["name"].as_str().unwrap_or("");
        if !valid_name(name) {
            return Err(format!(
                "tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
            ));
        }
        if !tool_names.insert(name.to_string()) {
            return Err("tools: Tool names must be unique.".into());
        }
        if t["input_schema"]["type"] != "object" {
            return Err(format!(
                "tools.{i}.custom.input_schema.type: Input should be 'object'"
            ));
        }
        for k in t.as_object().into_iter().flat_map(|m| m.keys()) {
            if ![
                "name",
                "description",
                "input_schema",
                "cache_control",
                "type",
            ]
            .contains(&k.as_str())
            {
                return Err(format!(
                    "tools.{i}.custom.{k}: Extra inputs are not permitted"
                ));
            }
        }
    }

    let thinking = match v["thinking"]["type"].as_str() {
        None => None,
        Some("disabled") => None,
        Some("enabled") => {
            let Some(b) = v["thinking"]["budget_tokens"].as_u64() else {
                return Err("thinking.enabled.budget_tokens: Field required".into());
            };
            if b < 1024 {
                return Err(
                    "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
                        .into(),
                );
            }
            if max_tokens <= b {
                return Err("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size".into());
            }
            Some(b)
        }
        Some(_) => return Err("thinking: Input tag does not match 'enabled' or 'disabled'".into()),
    };
    if let Some(t) = v.get("temperature") {
        let t = t.as_f64().unwrap_or(-1.0);
        if !(0.0..=1.0).contains(&t) {
            return Err("temperature: Input should be less than or equal to 1".into());
        }
        if thinking.is_some() && t != 1.0 {
            return Err("`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility".into());
        }
    }
    if thinking.is_some() && v["top_p"].as_f64().is_some_and(|p| p < 0.95) {
        return Err(
            "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled."
                .into(),
        );
    }
    if thinking.is_some() && v.get("top_k").is_some() {
        return Err("`top_k` must be unset when thinking is enabled.".into());
    }
    if let Some(tc) = v.get("tool_choice") {
        if tool_names.is_empty() && v["tools"].as_array().is_none_or(Vec::is_empty) {
            return Err("tool_choice: may only be specified while providing tools".into());
        }
        match tc["type"].as_str() {
            Some("auto" | "none") => {}
            Some("any") | Some("tool") if thinking.is_some() => {
                return Err("Thinking may not be enabled when tool_choice forces tool use.".into());
            }
            Some("any") => {}
            Some("tool") if tool_names.contains(tc["name"].as_str().unwrap_or("")) => {}
            Some("tool") => return Err("tool_choice.tool.name: unknown tool".into()),
            _ => return Err("tool_choice.type: Input tag does not match".into()),
        }
    }
    if let Some(stops) = v.get("stop_sequences") {
        let ok = stops.as_array().is_some_and(|a| a.iter().all(non_blank));
        if !ok {
            return Err("stop_sequences: each stop sequence must contain non-whitespace".into());
        }
    }

    let mut prev_role = "";
    let mut prev_calls: Vec<String> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m["role"].as_str().unwrap_or("");
        if role != "user" && role != "assistant" {
            return Err(format!(
                "messages.{i}.role: Input should be 'user' or 'assistant'"
            ));
        }
        if i == 0 && role != "user" {
            return Err("messages: first message must use the \"user\" role".into());
        }
        if role == prev_role {
            return Err(format!(
                "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"{role}\" roles in a row"
            ));
        }
        let blocks: Vec<Value> = match &m["content"] {
            Value::String(s) if s.trim().is_empty() => return Err(EMPTY_TEXT.into()),
            Value::String(s) => vec![json!({"type": "text", "text": s})],
            Value::Array(a) if a.is_empty() => {
                return Err(format!(
                    "messages.{i}: all messages must have non-empty content except for the optional final assistant message"
                ));
            }
            Value::Array(a) => a.clone(),
            _ => {
                return Err(format!(
                    "messages.{i}.content: Input should be a valid list"
                ));
            }
        };
        let mut calls = Vec::new();
        let mut answered = Vec::new();
        let mut seen_other = false;
        for (j, b) in blocks.iter().enumerate() {
            let at = format!("messages.{i}.content.{j}");
            let kind = b["type"].as_str().unwrap_or("");
            if matches!(kind, "thinking" | "redacted_thinking") && b.get("cache_control").is_some()
            {
                return Err(format!(
                    "{at}.{kind}.cache_control: Extra inputs are not permitted"
                ));
            }
            count_cache(b);
            match (role, kind) {
                ("user", "tool_result") => {
                    if seen_other {
                        return Err(format!(
                            "messages.{i}: `tool_result` blocks must come first in the user message, before any other content"
                        ));
                    }
                    let id = b["tool_use_id"].as_str().unwrap_or("");
                    if !prev_calls.iter().any(|c| c == id) || answered.contains(&id.to_string()) {
                        return Err(format!(
                            "messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                        ));
                    }
                    answered.push(id.to_string());
                    match &b["content"] {
                        Value::Null => {}
                        Value::String(s) if !s.trim().is_empty() => {}
                        Value::String(_) => return Err(EMPTY_TEXT.into()),
                        Value::Array(parts) => {
                            for (k, p) in parts.iter().enumerate() {
                                check_plain(p, &format!("{at}.content.{k}"))?;
                            }
                        }
                        _ => return Err(format!("{at}.content: Input should be a valid list")),
                    }
                }
                ("user", "text" | "image") | ("assistant", "text") => {
                    seen_other = true;
                    check_plain(b, &at)?;
                }
                ("assistant", "tool_use") => {
                    seen_other = true;
                    let id = b["id"].as_str().unwrap_or("");
                    if !valid_name(id) {
                        return Err(format!(
                            "{at}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'"
                        ));
                    }
                    if !valid_name(b["name"].as_str().unwrap_or("")) {
                        return Err(format!(
                            "{at}.tool_use.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
                        ));
                    }
                    if !b["input"].is_object() {
                        return Err(format!(
                            "{at}.tool_use.input: Input should be a valid dictionary"
                        ));
                    }
                    calls.push(id.to_string());
                }
                ("assistant", "thinking") => {
                    if seen_other {
                        return Err(format!(
                            "{at}: thinking blocks must come before other content"
                        ));
                    }
                    let t = b["thinking"].as_str().unwrap_or("");
                    if b["signature"].as_str() != Some(sign(t).as_str()) {
                        return Err(format!("{at}: Invalid `signature` in `thinking` block"));
                    }
                }
                ("assistant", "redacted_thinking") => {
                    if seen_other || !non_blank(&b["data"]) {
                        return Err(format!("{at}: invalid `redacted_thinking` block"));
                    }
                }
                _ => {
                    return Err(format!(
                        "{at}.type: `{kind}` blocks are not allowed in `{role}` messages"
                    ));
                }
            }
        }
        if role == "user" {
            let missing: Vec<&String> = prev_calls
                .iter()
                .filter(|c| !answered.contains(c))
                .collect();
            if !missing.is_empty() {
                let ids: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
                return Err(format!(
                    "messages.{}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
                    i - 1,
                    ids.join(", ")
                ));
            }
        }
        if role == "assistant" && thinking.is_some() && !calls.is_empty() && i + 2 >= messages.len()
        {
            let first = blocks
                .first()
                .and_then(|b| b["type"].as_str())
                .unwrap_or("");
            if first != "thinking" && first != "redacted_thinking" {
                return Err(format!(
                    "messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{first}`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
                ));
            }
        }
        prev_calls = if role == "assistant" {
            calls
        } else {
            Vec::new()
        };
        prev_role = role;
    }
    let tool_blocks = messages.iter().any(|m| {
        m["content"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|b| matches!(b["type"].as_str(), Some("tool_use" | "tool_result")))
    });
    if tool_blocks && v["tools"].as_array().is_none_or(Vec::is_empty) {
        return Err(
            "Requests which include `tool_use` or `tool_result` blocks must define tools.".into(),
        );
    }
    if breakpoints > 4 {
        return Err(format!(
            "A maximum of 4 blocks with cache_control may be provided. Found {breakpoints}."
        ));
    }
    Ok(())
}

async fn messages(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    inner.seen.lock().expect("lock").push(Seen {
        headers: headers.clone(),
        body: body.clone(),
    });
    let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
    if header("x-api-key") != CANARY {
        return error_response(401, "authentication_error", "invalid x-api-key");
    }
    if header("anthropic-version").is_empty() {
        return error_response(
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
        );
    }
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error_response(400, "invalid_request_error", &format!("invalid JSON: {e}"));
        }
    };
    if let Err(msg) = check(&v) {
        return error_response(400, "invalid_request_error", &msg);
    }
    let reply = inner
        .replies
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or_else(|| text("mock default answer", usage(10, 5, 0, 0)));
    let (content, u) = match reply {
        Reply::Error {
            status,
            kind,
            message,
            retry_after,
        } => {
            let mut r = error_response(status, &kind, &message);
            if let Some(s) = retry_after {
                r.headers_mut()
                    .insert("retry-after", s.to_string().parse().expect("header"));
            }
            return r;
        }
        Reply::Message { content, usage } => (content, usage),
    };
    let n = inner.ids.fetch_add(1, Ordering::SeqCst);
    let blocks: Vec<Value> = content
        .iter()
        .enumerate()
        .map(|(k, o)| match o {
            Out::Text(t) => json!({"type": "text", "text": t}),
            Out::Thinking(t) => json!({"type": "thinking", "thinking": t, "signature": sign(t)}),
            Out::ToolUse { name, input } => {
                json!({"type": "tool_use", "id": format!("toolu_mock_{n}_{k}"), "name": name, "input": input})
            }
        })
        .collect();
    let stop = if blocks.iter().any(|b| b["type"] == "tool_use") {
        "tool_use"
    } else {
        "end_turn"
    };
    let message = json!({
        "id": format!("msg_mock_{n}"), "type": "message", "role": "assistant", "model": v["model"],
        "content": blocks, "stop_reason": stop, "stop_sequence": null,
        "usage": {"input_tokens": u.input, "cache_creation_input_tokens": u.cache_creation,
                  "cache_read_input_tokens": u.cache_read, "output_tokens": u.output},
    });
    if v["stream"] != true {
        return axum::Json(message).into_response();
    }
    let events = stream_events(&message);
    let stream = futures::stream::iter(
        events
            .into_iter()
            .map(|e| Ok::<_, std::io::Error>(Bytes::from(e))),
    );
    Response::builder()
        .status(200)
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn event(v: &Value) -> String {
    format!("event: {}\ndata: {v}\n\n", v["type"].as_str().unwrap_or(""))
}

/// `s` in pieces of about `n` characters (cuts land inside strings and escapes).
fn pieces(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(n).map(|c| c.iter().collect()).collect()
}

/// Anthropic's event sequence for a finished message.
pub fn stream_events(message: &Value) -> Vec<String> {
    let mut start = message.clone();
    start["content"] = json!([]);
    start["stop_reason"] = Value::Null;
    start["usage"]["output_tokens"] = json!(1);
    let mut evs = vec![
        event(&json!({"type": "message_start", "message": start})),
        event(&json!({"type": "ping"})),
    ];
    let delta = |index: usize, d: Value| {
        event(&json!({"type": "content_block_delta", "index": index, "delta": d}))
    };
    for (index, b) in message["content"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let (opening, deltas) = match b["type"].as_str() {
            Some("thinking") => {
                let mut d: Vec<String> = pieces(b["thinking"].as_str().unwrap_or(""), 12)
                    .into_iter()
                    .map(|p| delta(index, json!({"type": "thinking_delta", "thinking": p})))
                    .collect();
                d.push(delta(
                    index,
                    json!({"type": "signature_delta", "signature": b["signature"]}),
                ));
                (
                    json!({"type": "thinking", "thinking": "", "signature": ""}),
                    d,
                )
            }
            Some("tool_use") => {
                let mut d = vec![delta(
                    index,
                    json!({"type": "input_json_delta", "partial_json": ""}),
                )];
                d.extend(pieces(&b["input"].to_string(), 5).into_iter().map(|p| {
                    delta(
                        index,
                        json!({"type": "input_json_delta", "partial_json": p}),
                    )
                }));
                let mut open = b.clone();
                open["input"] = json!({});
                (open, d)
            }
            _ => (
                json!({"type": "text", "text": ""}),
                pieces(b["text"].as_str().unwrap_or(""), 8)
                    .into_iter()
                    .map(|p| delta(index, json!({"type": "text_delta", "text": p})))
                    .collect(),
            ),
        };
        evs.push(event(
            &json!({"type": "content_block_start", "index": index, "content_block": opening}),
        ));
        evs.extend(deltas);
        evs.push(event(
            &json!({"type": "content_block_stop", "index": index}),
        ));
    }
    evs.push(event(&json!({"type": "message_delta",
        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": null},
        "usage": {"output_tokens": message["usage"]["output_tokens"]}})));
    evs.push(event(&json!({"type": "message_stop"})));
    evs
}
