//! A mock OpenAI upstream, as strict as the real API where bifrost could get it wrong: it
//! checks the key, rejects unknown parameters and `provider/` model names, requires
//! `stream_options` only with `stream`, and streams Responses SSE the way Codex needs (one
//! `response.output_item.done` per item, then `response.completed` with usage).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::CANARY;

/// One canned answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A Responses answer made of these output items, with this usage.
    Items { items: Vec<Value>, usage: Value },
    /// A chat answer with this text and usage.
    Chat { text: String, usage: Value },
    /// Any status with a JSON body.
    Json(u16, Value),
    /// Any status with a raw body.
    Raw(u16, String),
    /// SSE events, then the connection closes without `response.completed`.
    Cut(Vec<Value>),
    /// Wait, then answer with the inner reply.
    Delay(Duration, Box<Reply>),
    /// Any status with these headers and a JSON body.
    WithHeaders(u16, Vec<(&'static str, String)>, Value),
    /// SSE events, then silence (the connection stays open) for this long.
    Stall(Vec<Value>, Duration),
}

/// A request the mock received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
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
    /// Accepted keys besides the canary.
    keys: Mutex<Vec<String>>,
}

/// The running mock.
pub struct Mock {
    addr: SocketAddr,
    inner: Arc<Inner>,
    _server: super::Served,
}

/// Usage with these numbers, in Responses shape.
pub fn usage(input: u64, cached: u64, output: u64, reasoning: u64) -> Value {
    json!({
        "input_tokens": input,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": input + output,
    })
}

/// A plain assistant message item.
pub fn message(text: &str) -> Value {
    json!({"type": "message", "id": format!("msg_{}", uuid::Uuid::now_v7().simple()), "role": "assistant", "status": "completed",
           "content": [{"type": "output_text", "text": text, "annotations": []}]})
}

/// An `exec_command` function call item.
pub fn exec_call(cmd: &str, call_id: &str) -> Value {
    json!({"type": "function_call", "id": format!("fc_{call_id}"), "call_id": call_id, "name": "exec_command",
           "arguments": json!({"cmd": cmd, "yield_time_ms": 1000}).to_string(), "status": "completed"})
}

/// A reasoning item.
pub fn reasoning(summary: &str) -> Value {
    json!({"type": "reasoning", "id": format!("rs_{}", uuid::Uuid::now_v7().simple()),
           "summary": [{"type": "summary_text", "text": summary}], "encrypted_content": "gAAAAmockEncrypted=="})
}

impl Mock {
    pub fn start() -> Mock {
        let inner = Arc::new(Inner::default());
        let app = axum::Router::new()
            .route("/v1/responses", post(responses))
            .route("/v1/chat/completions", post(chat))
            .route("/v1/embeddings", post(embeddings))
            .route("/v1/models", get(models))
            .with_state(inner.clone());
        let server = super::Served::start(app);
        let addr = server.addr;
        Mock {
            addr,
            inner,
            _server: server,
        }
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Also accept these keys (the canary is always accepted).
    pub fn accept_keys(&self, keys: &[&str]) {
        self.inner
            .keys
            .lock()
            .expect("lock")
            .extend(keys.iter().map(|k| k.to_string()));
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

const RESPONSES_PARAMS: &[&str] = &[
    "model",
    "input",
    "instructions",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning",
    "store",
    "include",
    "prompt_cache_key",
    "text",
    "client_metadata",
    "stream",
    "stream_options",
    "max_output_tokens",
    "temperature",
    "top_p",
    "metadata",
    "previous_response_id",
    "truncation",
    "user",
    "service_tier",
    "background",
    "max_tool_calls",
    "top_logprobs",
    "conversation",
    "prompt",
    "safety_identifier",
    "prompt_cache_retention",
];

const CHAT_PARAMS: &[&str] = &[
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
    "user",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "seed",
    "logprobs",
    "top_logprobs",
    "reasoning_effort",
    "metadata",
    "store",
    "service_tier",
    "modalities",
    "audio",
    "prediction",
    "web_search_options",
    "verbosity",
    "prompt_cache_key",
    "safety_identifier",
];

/// The checks every endpoint shares. Returns the parsed body or the error OpenAI would send.
#[allow(clippy::result_large_err)]
fn validate(
    inner: &Inner,
    path: &str,
    headers: &HeaderMap,
    body: &Bytes,
    params: &[&str],
    required: &str,
) -> Result<Value, Response> {
    inner.seen.lock().expect("lock").push(Seen {
        path: path.into(),
        headers: headers.clone(),
        body: body.clone(),
    });
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let extra = inner
        .keys
        .lock()
        .expect("lock")
        .iter()
        .any(|k| auth == format!("Bearer {k}"));
    if auth != format!("Bearer {CANARY}") && !extra {
        return Err(error(401, "invalid_api_key", "Incorrect API key provided."));
    }
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/json") {
        return Err(error(
            400,
            "invalid_content_type",
            "Content-Type must be application/json",
        ));
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        error(
            400,
            "invalid_json",
            &format!("We could not parse the JSON body of your request. ({e})"),
        )
    })?;
    let Some(obj) = v.as_object() else {
        return Err(error(400, "invalid_type", "body must be an object"));
    };
    for k in obj.keys() {
        if !params.contains(&k.as_str()) {
            return Err(error(
                400,
                "unknown_parameter",
                &format!("Unknown parameter: '{k}'."),
            ));
        }
    }
    let model = obj.get("model").and_then(Value::as_str).unwrap_or("");
    if model.is_empty() {
        return Err(error(
            400,
            "missing_required_parameter",
            "Missing required parameter: 'model'.",
        ));
    }
    if model.contains('/') {
        return Err(error(
            404,
            "model_not_found",
            &format!("The model `{model}` does not exist or you do not have access to it."),
        ));
    }
    if !obj.contains_key(required) {
        return Err(error(
            400,
            "missing_required_parameter",
            &format!("Missing required parameter: '{required}'."),
        ));
    }
    if obj.contains_key("stream_options") && obj.get("stream") != Some(&Value::Bool(true)) {
        return Err(error(
            400,
            "invalid_value",
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        ));
    }
    Ok(v)
}

fn next(inner: &Inner) -> Option<Reply> {
    inner.replies.lock().expect("lock").pop_front()
}

fn sse(events: Vec<String>, close_after: bool) -> Response {
    let _ = close_after;
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
    let ty = v["type"].as_str().unwrap_or("message");
    format!("event: {ty}\ndata: {v}\n\n")
}

/// The Responses event sequence for a finished answer.
pub fn responses_events(model: &str, items: &[Value], usage: &Value) -> Vec<String> {
    let id = format!("resp_{}", uuid::Uuid::now_v7().simple());
    let mut seq = 0;
    let mut evs = Vec::new();
    let mut push = |mut v: Value| {
        v["sequence_number"] = json!(seq);
        seq += 1;
        evs.push(event(&v));
    };
    push(
        json!({"type": "response.created", "response": {"id": id, "object": "response", "status": "in_progress", "model": model, "output": []}}),
    );
    for (i, item) in items.iter().enumerate() {
        let mut added = item.clone();
        added["status"] = json!("in_progress");
        if item["type"] == "message" {
            added["content"] = json!([]);
        }
        push(json!({"type": "response.output_item.added", "output_index": i, "item": added}));
        if item["type"] == "message" {
            let text = item["content"][0]["text"].as_str().unwrap_or("");
            push(
                json!({"type": "response.content_part.added", "item_id": item["id"], "output_index": i, "content_index": 0,
                "part": {"type": "output_text", "text": "", "annotations": []}}),
            );
            for word in text.split_inclusive(' ') {
                push(
                    json!({"type": "response.output_text.delta", "item_id": item["id"], "output_index": i, "content_index": 0, "delta": word}),
                );
            }
        }
        if item["type"] == "message" {
            push(
                json!({"type": "response.content_part.done", "item_id": item["id"], "output_index": i, "content_index": 0, "part": item["content"][0]}),
            );
        }
        push(json!({"type": "response.output_item.done", "output_index": i, "item": item}));
    }
    push(
        json!({"type": "response.completed", "response": {"id": id, "object": "response", "status": "completed", "model": model, "output": items, "usage": usage}}),
    );
    evs
}

async fn reply_for(
    reply: Reply,
    model: &str,
    stream: bool,
    chat: bool,
    include_usage: bool,
) -> Response {
    match reply {
        Reply::Delay(d, inner) => {
            tokio::time::sleep(d).await;
            Box::pin(reply_for(*inner, model, stream, chat, include_usage)).await
        }
        Reply::Json(status, v) => (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), axum::Json(v)).into_response(),
        Reply::Raw(status, body) => Response::builder()
            .status(status)
            .header("content-type", "text/plain")
            .body(Body::from(body))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        Reply::Cut(events) => sse(events.iter().map(event).collect(), true),
        Reply::WithHeaders(status, headers, v) => {
            let mut r = (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), axum::Json(v)).into_response();
            for (k, val) in headers {
                if let Ok(val) = val.parse() {
                    r.headers_mut().insert(k, val);
                }
            }
            r
        }
        Reply::Stall(events, hold) => {
            let head = futures::stream::iter(events.iter().map(event).map(|e| Ok::<_, std::io::Error>(Bytes::from(e))).collect::<Vec<_>>());
            let tail = futures::stream::once(async move {
                tokio::time::sleep(hold).await;
                Ok::<_, std::io::Error>(Bytes::new())
            });
            Response::builder()
                .status(200)
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(futures::StreamExt::chain(head, tail)))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Reply::Items { items, usage } if !chat => {
            if stream {
                sse(responses_events(model, &items, &usage), false)
            } else {
                axum::Json(json!({"id": "resp_x", "object": "response", "status": "completed", "model": model, "output": items, "usage": usage})).into_response()
            }
        }
        Reply::Items { items, usage } => {
            let text = items.iter().find_map(|i| i["content"][0]["text"].as_str()).unwrap_or("mock chat answer").to_string();
            Box::pin(reply_for(Reply::Chat { text, usage }, model, stream, chat, include_usage)).await
        }
        Reply::Chat { text, usage } if !stream => {
            axum::Json(json!({"id": "chatcmpl-x", "object": "chat.completion", "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}], "usage": chat_usage(&usage)}))
            .into_response()
        }
        Reply::Chat { text, usage } => {
            let base = |choices: Value, usage: Value| {
                let mut c = json!({"id": "chatcmpl-x", "object": "chat.completion.chunk", "model": model, "choices": choices});
                if include_usage {
                    c["usage"] = usage;
                }
                format!("data: {c}\n\n")
            };
            let mut evs = vec![base(json!([{"index": 0, "delta": {"role": "assistant", "content": ""}}]), Value::Null)];
            for w in text.split_inclusive(' ') {
                evs.push(base(json!([{"index": 0, "delta": {"content": w}}]), Value::Null));
            }
            evs.push(base(json!([{"index": 0, "delta": {}, "finish_reason": "stop"}]), Value::Null));
            if include_usage {
                evs.push(base(json!([]), chat_usage(&usage)));
            }
            evs.push("data: [DONE]\n\n".into());
            sse(evs, false)
        }
    }
}

fn chat_usage(u: &Value) -> Value {
    json!({
        "prompt_tokens": u["input_tokens"], "completion_tokens": u["output_tokens"], "total_tokens": u["total_tokens"],
        "prompt_tokens_details": {"cached_tokens": u["input_tokens_details"]["cached_tokens"]},
        "completion_tokens_details": {"reasoning_tokens": u["output_tokens_details"]["reasoning_tokens"]},
    })
}

async fn responses(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let v = match validate(
        &inner,
        "/v1/responses",
        &headers,
        &body,
        RESPONSES_PARAMS,
        "input",
    ) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let model = v["model"].as_str().unwrap_or("").to_string();
    let stream = v["stream"] == Value::Bool(true);
    let reply = next(&inner).unwrap_or(Reply::Items {
        items: vec![message("mock default answer")],
        usage: usage(10, 0, 5, 0),
    });
    reply_for(reply, &model, stream, false, false).await
}

async fn chat(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let v = match validate(
        &inner,
        "/v1/chat/completions",
        &headers,
        &body,
        CHAT_PARAMS,
        "messages",
    ) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let model = v["model"].as_str().unwrap_or("").to_string();
    let stream = v["stream"] == Value::Bool(true);
    let include_usage = v["stream_options"]["include_usage"] == Value::Bool(true);
    let reply = next(&inner).unwrap_or(Reply::Chat {
        text: "mock chat answer".into(),
        usage: usage(10, 0, 5, 0),
    });
    reply_for(reply, &model, stream, true, include_usage).await
}

async fn embeddings(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = validate(
        &inner,
        "/v1/embeddings",
        &headers,
        &body,
        &["model", "input", "encoding_format", "dimensions", "user"],
        "input",
    ) {
        return r;
    }
    axum::Json(json!({"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
        "model": "text-embedding-3-small", "usage": {"prompt_tokens": 7, "total_tokens": 7}}))
    .into_response()
}

async fn models(headers: HeaderMap) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {CANARY}"))
    {
        return error(401, "invalid_api_key", "Incorrect API key provided.");
    }
    axum::Json(json!({"object": "list", "data": [{"id": "gpt-5.5", "object": "model", "owned_by": "openai"}]})).into_response()
}
