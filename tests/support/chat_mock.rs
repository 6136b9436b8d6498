//! A strict mock of an OpenAI-compatible Chat Completions server (think vLLM with strict
//! validation), so the Chat codec is checked against the rules real servers enforce: the key
//! (when the server takes one), unknown parameters, tool-call/tool-result pairing, tool
//! definitions, `stream_options` only with `stream`, string `arguments`.

// Handlers return axum responses as errors, as the OpenAI mock does.
#![allow(clippy::result_large_err)]

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::CANARY;

/// The model the mock lists and answers as.
pub const MODEL: &str = "mock-chat-model";

/// One canned answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Plain text.
    Text { text: String, usage: Value },
    /// Reasoning (`reasoning_content`), then text.
    ReasoningText {
        reasoning: String,
        text: String,
        usage: Value,
    },
    /// Tool calls as (name, JSON arguments); streamed as small argument fragments that
    /// split strings and escapes.
    ToolCalls {
        calls: Vec<(String, String)>,
        usage: Value,
    },
    /// An HTTP error with this raw body and an optional `Retry-After`.
    Error {
        status: u16,
        body: String,
        retry_after: Option<u64>,
    },
}

/// Usage in Chat shape.
pub fn usage(prompt: u64, cached: u64, completion: u64, reasoning: u64) -> Value {
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    })
}

/// A request the mock received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Seen {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

struct Inner {
    require_key: bool,
    replies: Mutex<VecDeque<Reply>>,
    seen: Mutex<Vec<Seen>>,
    counter: AtomicU64,
}

/// The running mock.
pub struct ChatMock {
    addr: SocketAddr,
    inner: Arc<Inner>,
    _server: super::Served,
}

impl ChatMock {
    /// Starts on a free port. `require_key`: demand `Authorization: Bearer CANARY` (vLLM
    /// with `--api-key`, OpenRouter); Ollama-like servers take none.
    pub fn start(require_key: bool) -> ChatMock {
        let inner = Arc::new(Inner {
            require_key,
            replies: Mutex::new(VecDeque::new()),
            seen: Mutex::new(Vec::new()),
            counter: AtomicU64::new(0),
        });
        let app = axum::Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/models", get(models))
            .with_state(inner.clone());
        let server = super::Served::start(app);
        let addr = server.addr;
        ChatMock {
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

fn error(status: u16, code: &str, message: &str) -> Response {
    let body = json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": code}});
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        axum::Json(body),
    )
        .into_response()
}

fn bad(message: &str) -> Response {
    error(400, "invalid_request", message)
}

const PARAMS: &[&str] = &[
    "model",
    "messages",
    "stream",
    "stream_options",
    "temperature",
    "top_p",
    "n",
    "stop",
    "max_tokens",
    "max_completion_tokens",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "user",
    "seed",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "reasoning_effort",
];

fn check_key(inner: &Inner, headers: &HeaderMap) -> Result<(), Response> {
    if !inner.require_key {
        return Ok(());
    }
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Bearer {CANARY}") {
        return Err(error(401, "invalid_api_key", "Incorrect API key provided."));
    }
    Ok(())
}

fn valid_tool_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn non_empty_content(c: Option<&Value>) -> bool {
    match c {
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        _ => false,
    }
}

fn check_parts(i: usize, content: Option<&Value>, allowed: &[&str]) -> Result<(), Response> {
    match content {
        Some(Value::String(_)) => Ok(()),
        Some(Value::Array(parts)) => {
            for p in parts {
                let ty = p["type"].as_str().unwrap_or("");
                if !allowed.contains(&ty) {
                    return Err(bad(&format!(
                        "messages[{i}].content: part type '{ty}' is not allowed here"
                    )));
                }
                if ty == "text" && !p["text"].is_string() {
                    return Err(bad(&format!(
                        "messages[{i}].content: text part without text"
                    )));
                }
                if ty == "image_url" && !p["image_url"]["url"].is_string() {
                    return Err(bad(&format!(
                        "messages[{i}].content: image_url without url"
                    )));
                }
            }
            Ok(())
        }
        _ => Err(bad(&format!(
            "messages[{i}].content must be a string or an array of parts"
        ))),
    }
}

fn check_messages(messages: &[Value]) -> Result<(), Response> {
    if messages.is_empty() {
        return Err(bad("'messages' must not be empty"));
    }
    // Call ids of the nearest preceding assistant message, and those still unanswered.
    let mut last_calls: Option<HashSet<String>> = None;
    let mut pending: Vec<String> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m["role"].as_str().unwrap_or("");
        if role != "tool" && !pending.is_empty() {
            return Err(bad(&format!(
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {}",
                pending.join(", ")
            )));
        }
        match role {
            "system" | "developer" => check_parts(i, m.get("content"), &["text"])?,
            "user" => check_parts(i, m.get("content"), &["text", "image_url"])?,
            "assistant" => {
                let calls = m["tool_calls"].as_array().filter(|c| !c.is_empty());
                if !non_empty_content(m.get("content")) && calls.is_none() {
                    return Err(bad(&format!(
                        "messages[{i}]: an assistant message must have content or tool_calls"
                    )));
                }
                if let Some(c) = m.get("content").filter(|c| !c.is_null()) {
                    check_parts(i, Some(c), &["text", "refusal"])?;
                }
                let mut ids = HashSet::new();
                for (j, c) in calls.into_iter().flatten().enumerate() {
                    let id = c["id"].as_str().unwrap_or("");
                    if id.is_empty() {
                        return Err(bad(&format!(
                            "messages[{i}].tool_calls[{j}].id is required"
                        )));
                    }
                    if c["type"] != "function" {
                        return Err(bad(&format!(
                            "messages[{i}].tool_calls[{j}].type must be 'function'"
                        )));
                    }
                    if !c["function"]["name"].as_str().is_some_and(valid_tool_name) {
                        return Err(bad(&format!(
                            "messages[{i}].tool_calls[{j}].function.name is invalid"
                        )));
                    }
                    if !c["function"]["arguments"].is_string() {
                        return Err(bad(&format!(
                            "messages[{i}].tool_calls[{j}].function.arguments must be a string"
                        )));
                    }
                    ids.insert(id.to_string());
                    pending.push(id.to_string());
                }
                last_calls = Some(ids);
            }
            "tool" => {
                let id = m["tool_call_id"].as_str().unwrap_or("");
                if !last_calls.as_ref().is_some_and(|ids| ids.contains(id)) {
                    return Err(bad(&format!(
                        "messages[{i}]: tool_call_id '{id}' does not match a tool call of the preceding assistant message"
                    )));
                }
                pending.retain(|p| p != id);
                check_parts(i, m.get("content"), &["text"])?;
            }
            other => {
                return Err(bad(&format!("messages[{i}]: unknown role '{other}'")));
            }
        }
    }
    if !pending.is_empty() {
        return Err(bad(&format!(
            "tool_call_ids without response messages: {}",
            pending.join(", ")
        )));
    }
    Ok(())
}

fn check_tools(obj: &serde_json::Map<String, Value>) -> Result<(), Response> {
    let tools = match obj.get("tools") {
        None => None,
        Some(Value::Array(t)) => Some(t),
        Some(_) => return Err(bad("'tools' must be an array")),
    };
    for (i, t) in tools.into_iter().flatten().enumerate() {
        if t["type"] != "function" {
            return Err(bad(&format!("tools[{i}].type must be 'function'")));
        }
        let name = t["function"]["name"].as_str().unwrap_or("");
        if !valid_tool_name(name) {
            return Err(bad(&format!(
                "tools[{i}].function.name '{name}' must match ^[a-zA-Z0-9_-]{{1,64}}$"
            )));
        }
        if let Some(p) = t["function"].get("parameters")
            && !p.is_object()
        {
            return Err(bad(&format!(
                "tools[{i}].function.parameters must be an object"
            )));
        }
    }
    let has_tools = tools.is_some_and(|t| !t.is_empty());
    for dependent in ["tool_choice", "parallel_tool_calls"] {
        if obj.contains_key(dependent) && !has_tools {
            return Err(bad(&format!(
                "'{dependent}' is only allowed when 'tools' are specified"
            )));
        }
    }
    Ok(())
}

fn validate(inner: &Inner, headers: &HeaderMap, body: &Bytes) -> Result<Value, Response> {
    check_key(inner, headers)?;
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/json") {
        return Err(bad("Content-Type must be application/json"));
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        bad(&format!(
            "We could not parse the JSON body of your request. ({e})"
        ))
    })?;
    let Some(obj) = v.as_object() else {
        return Err(bad("body must be an object"));
    };
    for k in obj.keys() {
        if !PARAMS.contains(&k.as_str()) {
            return Err(error(
                400,
                "unknown_parameter",
                &format!("Unknown parameter: '{k}'."),
            ));
        }
    }
    if obj
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        return Err(bad("Missing required parameter: 'model'."));
    }
    if obj.contains_key("stream_options") && obj.get("stream") != Some(&Value::Bool(true)) {
        return Err(bad(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        ));
    }
    let Some(messages) = obj.get("messages").and_then(Value::as_array) else {
        return Err(bad("Missing required parameter: 'messages'."));
    };
    check_messages(messages)?;
    check_tools(obj)?;
    Ok(v)
}

/// Splits `s` into pieces of `n` characters.
fn pieces(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(n).map(|c| c.iter().collect()).collect()
}

fn sse(events: Vec<String>) -> Response {
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

fn answer(reply: Reply, model: &str, stream: bool, include_usage: bool, seq: u64) -> Response {
    let id = format!("chatcmpl-mock{seq}");
    let (reasoning, text, calls, usage) = match reply {
        Reply::Error {
            status,
            body,
            retry_after,
        } => {
            let mut b = Response::builder()
                .status(status)
                .header("content-type", "application/json");
            if let Some(s) = retry_after {
                b = b.header("retry-after", s.to_string());
            }
            return b
                .body(Body::from(body))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
        Reply::Text { text, usage } => (None, Some(text), Vec::new(), usage),
        Reply::ReasoningText {
            reasoning,
            text,
            usage,
        } => (Some(reasoning), Some(text), Vec::new(), usage),
        Reply::ToolCalls { calls, usage } => (None, None, calls, usage),
    };
    let call_id = |i: usize| format!("call_{seq}_{i}");
    let finish = if calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    if !stream {
        let mut msg = json!({"role": "assistant", "content": text});
        if let Some(r) = &reasoning {
            msg["reasoning_content"] = json!(r);
        }
        if !calls.is_empty() {
            msg["tool_calls"] = calls
                .iter()
                .enumerate()
                .map(|(i, (name, args))| {
                    json!({"id": call_id(i), "type": "function", "function": {"name": name, "arguments": args}})
                })
                .collect();
        }
        return axum::Json(json!({"id": id, "object": "chat.completion", "created": 1_736_000_000, "model": model,
            "choices": [{"index": 0, "message": msg, "logprobs": null, "finish_reason": finish}], "usage": usage}))
        .into_response();
    }
    let chunk = |delta: Value, finish: Option<&str>| {
        let c = json!({"id": id, "object": "chat.completion.chunk", "created": 1_736_000_000, "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
        format!("data: {c}\n\n")
    };
    let mut evs = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
    for r in reasoning.iter().flat_map(|r| pieces(r, 6)) {
        evs.push(chunk(json!({"reasoning_content": r}), None));
    }
    for t in text.iter().flat_map(|t| pieces(t, 4)) {
        evs.push(chunk(json!({"content": t}), None));
    }
    for (i, (name, args)) in calls.iter().enumerate() {
        evs.push(chunk(
            json!({"tool_calls": [{"index": i, "id": call_id(i), "type": "function", "function": {"name": name, "arguments": ""}}]}),
            None,
        ));
        for a in pieces(args, 5) {
            evs.push(chunk(
                json!({"tool_calls": [{"index": i, "function": {"arguments": a}}]}),
                None,
            ));
        }
    }
    evs.push(chunk(json!({}), Some(finish)));
    if include_usage {
        let c = json!({"id": id, "object": "chat.completion.chunk", "created": 1_736_000_000, "model": model,
            "choices": [], "usage": usage});
        evs.push(format!("data: {c}\n\n"));
    }
    evs.push("data: [DONE]\n\n".into());
    sse(evs)
}

async fn chat(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    inner.seen.lock().expect("lock").push(Seen {
        method: "POST".into(),
        path: "/v1/chat/completions".into(),
        headers: headers.clone(),
        body: body.clone(),
    });
    let v = match validate(&inner, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let model = v["model"].as_str().unwrap_or("").to_string();
    let stream = v["stream"] == Value::Bool(true);
    let include_usage = v["stream_options"]["include_usage"] == Value::Bool(true);
    let seq = inner.counter.fetch_add(1, Ordering::SeqCst) + 1;
    let reply = inner
        .replies
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or(Reply::Text {
            text: "mock chat answer".into(),
            usage: usage(10, 0, 3, 0),
        });
    answer(reply, &model, stream, include_usage, seq)
}

async fn models(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    inner.seen.lock().expect("lock").push(Seen {
        method: "GET".into(),
        path: "/v1/models".into(),
        headers: headers.clone(),
        body: Bytes::new(),
    });
    if let Err(r) = check_key(&inner, &headers) {
        return r;
    }
    axum::Json(json!({"object": "list", "data": [{"id": MODEL, "object": "model", "created": 1_736_000_000, "owned_by": "mock"}]}))
        .into_response()
}
