//! Whole Chat answers and errors: an upstream `chat.completion` → canonical, canonical → a
//! `chat.completion` for Chat clients, and error bodies both ways.

use serde_json::{Map, Value, json};

use super::{as_json_string, call_arguments, client_tool_name, content_text, synth_call_id};
use crate::canonical::{
    ErrorCode, Part, Reasoning, Request, Response, StopReason, ToolCall, ToolKind, UpstreamError,
};
use crate::usage::Usage;
use crate::{Error, Result};

/// Chat's `finish_reason` → canonical.
pub(crate) fn stop_reason(s: &str) -> StopReason {
    match s {
        "stop" | "eos" | "end_turn" => StopReason::EndTurn,
        "length" | "max_tokens" => StopReason::MaxTokens,
        "tool_calls" | "function_call" | "tool_use" => StopReason::ToolUse,
        "content_filter" => StopReason::ContentFilter,
        other => StopReason::Other(other.to_string()),
    }
}

/// Canonical → Chat's `finish_reason`.
pub(crate) fn finish_reason(s: &StopReason) -> &'static str {
    match s {
        StopReason::EndTurn | StopReason::StopSequence | StopReason::Other(_) => "stop",
        StopReason::MaxTokens => "length",
        StopReason::ToolUse => "tool_calls",
        StopReason::ContentFilter => "content_filter",
    }
}

/// Usage from a chunk or body: OpenAI's `usage`, or Groq's `x_groq.usage`.
pub(crate) fn usage_of(v: &Value) -> Option<Usage> {
    [&v["usage"], &v["x_groq"]["usage"]]
        .into_iter()
        .find(|u| u.is_object())
        .and_then(Usage::from_openai)
}

/// Decodes an upstream `chat.completion` body.
pub fn decode_response(body: &[u8]) -> Result<Response> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| Error::UpstreamFormat(format!("chat completion is not JSON: {e}")))?;
    if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
        return Err(Error::UpstreamFormat(format!(
            "chat completion carries an error: {}",
            error_message(err).unwrap_or_else(|| err.to_string())
        )));
    }
    let Some(choice) = v["choices"].as_array().and_then(|c| c.first()) else {
        return Err(Error::UpstreamFormat(
            "chat completion has no choices".into(),
        ));
    };
    let msg = &choice["message"];
    if !msg.is_object() {
        return Err(Error::UpstreamFormat(
            "chat completion choice has no message".into(),
        ));
    }
    let mut parts = Vec::new();
    if let Some(r) = msg
        .get("reasoning_content")
        .filter(|r| r.is_string())
        .or_else(|| msg.get("reasoning"))
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
    {
        parts.push(Part::Reasoning(Reasoning {
            text: r.to_string(),
            opaque: None,
        }));
    }
    let text = content_text(&msg["content"]);
    if !text.is_empty() {
        parts.push(Part::Text(text));
    } else if let Some(refusal) = msg["refusal"].as_str().filter(|r| !r.is_empty()) {
        parts.push(Part::Text(refusal.to_string()));
    }
    let mut calls = 0;
    for c in msg["tool_calls"].as_array().into_iter().flatten() {
        let f = &c["function"];
        parts.push(Part::ToolCall(ToolCall {
            call_id: c["id"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map_or_else(synth_call_id, str::to_string),
            name: f["name"].as_str().unwrap_or("").to_string(),
            arguments: as_json_string(&f["arguments"]),
            kind: ToolKind::Function,
        }));
        calls += 1;
    }
    if let Some(f) = msg.get("function_call").filter(|f| f.is_object()) {
        parts.push(Part::ToolCall(ToolCall {
            call_id: synth_call_id(),
            name: f["name"].as_str().unwrap_or("").to_string(),
            arguments: as_json_string(&f["arguments"]),
            kind: ToolKind::Function,
        }));
        calls += 1;
    }
    let mut stop = choice["finish_reason"]
        .as_str()
        .map_or(StopReason::EndTurn, stop_reason);
    // Some servers (Ollama, llama.cpp) say "stop" after tool calls.
    if calls > 0 && stop == StopReason::EndTurn {
        stop = StopReason::ToolUse;
    }
    Ok(Response {
        id: v["id"].as_str().map(str::to_string),
        model: v["model"].as_str().map(str::to_string),
        parts,
        usage: usage_of(&v).unwrap_or_default(),
        stop,
    })
}

/// The `chat.completion` a Chat client gets for `resp`.
pub fn encode_response(resp: &Response, req: &Request) -> Value {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    for p in &resp.parts {
        match p {
            Part::Text(t) => text.push_str(t),
            Part::Reasoning(r) => reasoning.push_str(&r.text),
            Part::ToolCall(c) => calls.push(json!({
                "id": c.call_id, "type": "function",
                "function": {"name": client_tool_name(&req.tool_origins, &c.name), "arguments": call_arguments(c)},
            })),
            Part::Image(_) | Part::ToolResult(_) => {}
        }
    }
    let mut msg = Map::new();
    msg.insert("role".into(), json!("assistant"));
    msg.insert(
        "content".into(),
        if text.is_empty() && !calls.is_empty() {
            Value::Null
        } else {
            json!(text)
        },
    );
    if !reasoning.is_empty() {
        msg.insert("reasoning_content".into(), json!(reasoning));
    }
    if !calls.is_empty() {
        msg.insert("tool_calls".into(), Value::Array(calls));
    }
    json!({
        "id": completion_id(resp.id.as_deref()),
        "object": "chat.completion",
        "created": super::unix_now(),
        "model": req.model,
        "choices": [{"index": 0, "message": Value::Object(msg), "logprobs": null,
                     "finish_reason": finish_reason(&resp.stop)}],
        "usage": usage_json(&resp.usage),
    })
}

/// `chatcmpl-…`: the upstream id when it already is one, a fresh one otherwise.
pub(crate) fn completion_id(upstream: Option<&str>) -> String {
    match upstream {
        Some(id) if id.starts_with("chatcmpl-") => id.to_string(),
        _ => format!("chatcmpl-{}", crate::ids::uuid_v7().simple()),
    }
}

/// Canonical usage in Chat's shape.
pub(crate) fn usage_json(u: &Usage) -> Value {
    json!({
        "prompt_tokens": u.input,
        "completion_tokens": u.output,
        "total_tokens": u.input + u.output,
        "prompt_tokens_details": {"cached_tokens": u.cached_input},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning},
    })
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// The message inside an `error` value: an object's `message`, or the string itself.
fn error_message(err: &Value) -> Option<String> {
    match err {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("message").map(as_json_string),
        _ => None,
    }
}

/// The most we quote of an upstream message.
const MAX_MESSAGE: usize = 1000;

fn clip(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() <= MAX_MESSAGE {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_MESSAGE).collect();
    out.push('…');
    out
}

/// Seconds from "try again in 20s" / "try again in 1.5s" / "try again in 6m0s" / "in 300ms".
fn retry_hint(msg: &str) -> Option<u64> {
    let lower = msg.to_ascii_lowercase();
    let start = lower.find("try again in ")? + "try again in ".len();
    let mut rest = &lower[start..];
    let mut total = 0f64;
    let mut any = false;
    loop {
        let n_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let Ok(n) = rest[..n_len].parse::<f64>() else {
            break;
        };
        rest = &rest[n_len..];
        let (mult, unit_len) = if rest.starts_with("ms") {
            (0.001, 2)
        } else if rest.starts_with('h') {
            (3600.0, 1)
        } else if rest.starts_with('m') {
            (60.0, 1)
        } else if rest.starts_with('s') {
            (1.0, 1)
        } else {
            break;
        };
        total += n * mult;
        any = true;
        rest = &rest[unit_len..];
    }
    any.then(|| total.ceil().max(1.0) as u64)
}

fn looks_like_context_overflow(code: &str, ty: &str, msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    code == "context_length_exceeded"
        || ty == "exceed_context_size_error"
        || m.contains("context size")
        || m.contains("maximum context length")
        || m.contains("context length")
        || m.contains("context_length_exceeded")
        || m.contains("context window")
        || m.contains("too many tokens")
        || m.contains("prompt is too long")
}

/// Classifies an error from any OpenAI-style server.
pub(crate) fn classify(
    status: u16,
    retry_after: Option<u64>,
    v: Option<&Value>,
    raw: &str,
) -> UpstreamError {
    let (message, code, ty) = match v {
        Some(v) if v.is_object() => {
            let err = &v["error"];
            let message = error_message(err)
                .or_else(|| v.get("detail").map(as_json_string))
                .or_else(|| v.get("message").map(as_json_string))
                .unwrap_or_else(|| raw.to_string());
            let code = match &err["code"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => String::new(),
            };
            let ty = err["type"].as_str().unwrap_or("").to_string();
            (message, code, ty)
        }
        Some(Value::String(s)) => (s.clone(), String::new(), String::new()),
        _ => (raw.to_string(), String::new(), String::new()),
    };
    let message = if message.trim().is_empty() {
        format!("the provider answered HTTP {status}")
    } else {
        clip(&message)
    };
    let quota = code == "insufficient_quota" || ty == "insufficient_quota";
    let (code, message, retry) = if quota || status == 402 {
        (ErrorCode::InsufficientQuota, message, None)
    } else if status == 429 {
        let retry = retry_after.or_else(|| retry_hint(&message));
        let message = match retry {
            Some(n) if !message.to_ascii_lowercase().contains("try again in") => {
                format!("{message}; try again in {n}s")
            }
            _ => message,
        };
        (ErrorCode::RateLimit, message, retry)
    } else if looks_like_context_overflow(&code, &ty, &message) {
        (ErrorCode::ContextLengthExceeded, message, None)
    } else if status == 401 || status == 403 {
        // Never quote it: OpenAI-style servers echo part of the key back.
        (
            ErrorCode::Auth,
            "the provider rejected the API key; check the provider's api_key in the bifrost config"
                .to_string(),
            None,
        )
    } else if !(400..500).contains(&status) {
        (ErrorCode::ServerError, message, None)
    } else {
        (ErrorCode::InvalidRequest, message, None)
    };
    UpstreamError {
        code,
        message,
        retry_after_secs: retry,
        status: if (400..=599).contains(&status) {
            status
        } else {
            502
        },
    }
}

/// Classifies an upstream error answer: OpenAI's `{"error": {...}}`, Ollama's and
/// llama.cpp's `{"error": "..."}`, FastAPI's `{"detail": ...}`, or plain text.
pub fn decode_error(status: u16, retry_after: Option<u64>, body: &[u8]) -> UpstreamError {
    let raw = String::from_utf8_lossy(body);
    let v: Option<Value> = serde_json::from_slice(body).ok();
    classify(status, retry_after, v.as_ref(), &raw)
}

/// OpenAI's error `type` for a code.
pub(crate) fn error_type(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::ContextLengthExceeded | ErrorCode::InvalidRequest => "invalid_request_error",
        ErrorCode::RateLimit => "rate_limit_error",
        ErrorCode::ServerError => "server_error",
        ErrorCode::Auth => "authentication_error",
        ErrorCode::InsufficientQuota => "insufficient_quota",
    }
}

/// The error body a Chat client gets.
pub(crate) fn error_json(err: &UpstreamError) -> Value {
    json!({"error": {"message": err.message, "type": error_type(err.code), "param": null,
                     "code": err.code.openai_code()}})
}

/// An error for a Chat client before a stream started.
pub fn encode_error(err: &UpstreamError) -> (u16, Value) {
    let status = if (400..=599).contains(&err.status) {
        err.status
    } else {
        match err.code {
            ErrorCode::ContextLengthExceeded | ErrorCode::InvalidRequest => 400,
            ErrorCode::RateLimit | ErrorCode::InsufficientQuota => 429,
            ErrorCode::ServerError => 502,
            ErrorCode::Auth => 401,
        }
    };
    (status, error_json(err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::chat::testutil::fixture;

    fn decode(name: &str) -> Response {
        decode_response(fixture(name).as_bytes()).expect("decodes")
    }

    #[test]
    fn decodes_text_reasoning_and_tool_answers() {
        let r = decode("openai_text.json");
        assert_eq!(r.id.as_deref(), Some("chatcmpl-BxT7a1"));
        assert_eq!(r.model.as_deref(), Some("gpt-4o-2024-08-06"));
        assert_eq!(r.parts, vec![Part::Text("Hello from café ☕".into())]);
        assert_eq!(
            r.usage,
            Usage {
                input: 1210,
                cached_input: 1024,
                cache_write: 0,
                output: 9,
                reasoning: 0
            }
        );
        assert_eq!(r.stop, StopReason::EndTurn);

        let r = decode("deepseek_reasoning.json");
        assert_eq!(
            r.parts,
            vec![
                Part::Reasoning(Reasoning {
                    text: "The user asks 2+2. That is 4.".into(),
                    opaque: None
                }),
                Part::Text("2 + 2 = 4.".into()),
            ]
        );
        assert_eq!((r.usage.output, r.usage.reasoning), (61, 48));

        let r = decode("ollama_reasoning_tool.json");
        assert_eq!(r.stop, StopReason::ToolUse);
        assert!(
            matches!(&r.parts[0], Part::Reasoning(rz) if rz.text == "Need the file. Reading it.")
        );
        assert_eq!(
            r.parts[1],
            Part::ToolCall(ToolCall {
                call_id: "call_k3j9x2".into(),
                name: "read_file".into(),
                arguments: r#"{"path":"src/main.rs"}"#.into(),
                kind: ToolKind::Function,
            })
        );

        let r = decode("vllm_parallel_tools.json");
        assert_eq!(r.parts.len(), 3);
        assert!(matches!(&r.parts[2], Part::ToolCall(c) if c.name == "apply_patch"));
        assert_eq!(r.usage.cached_input, 2048);
    }

    #[test]
    fn tolerates_odd_servers_and_rejects_non_answers() {
        let odd = json!({"choices": [{"message": {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"x": 1}}}]}, "finish_reason": "stop"}]});
        let r = decode_response(odd.to_string().as_bytes()).expect("decodes");
        assert_eq!(r.parts[0], Part::Text("ab".into()));
        let Part::ToolCall(c) = &r.parts[1] else {
            panic!("{:?}", r.parts)
        };
        assert!(c.call_id.starts_with("call_"));
        assert_eq!(c.arguments, r#"{"x":1}"#);
        assert_eq!(r.stop, StopReason::ToolUse);
        assert_eq!(r.usage, Usage::default());
        let length = json!({"choices": [{"message": {"content": "cut"}, "finish_reason": "length"}], "usage": {"prompt_tokens": 3}});
        let r = decode_response(length.to_string().as_bytes()).expect("decodes");
        assert_eq!((r.stop, r.usage.input), (StopReason::MaxTokens, 3));
        for bad in [
            &b"<html>"[..],
            b"{}",
            br#"{"choices": []}"#,
            br#"{"choices": [{"text": "legacy"}]}"#,
            br#"{"error": {"message": "boom"}}"#,
        ] {
            assert!(
                matches!(decode_response(bad), Err(Error::UpstreamFormat(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn encoded_answers_decode_back() {
        let req = Request {
            model: "claude-sonnet-4-5".into(),
            ..Request::default()
        };
        for name in [
            "openai_text.json",
            "deepseek_reasoning.json",
            "vllm_parallel_tools.json",
            "ollama_reasoning_tool.json",
        ] {
            let original = decode(name);
            let v = encode_response(&original, &req);
            assert_eq!(v["object"], "chat.completion");
            assert_eq!(v["model"], "claude-sonnet-4-5");
            assert!(
                v["id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("chatcmpl-"))
            );
            assert!(v["created"].as_u64().is_some_and(|t| t > 1_700_000_000));
            let back = decode_response(v.to_string().as_bytes()).expect("decodes");
            assert_eq!(back.parts, original.parts, "{name}");
            assert_eq!(back.usage, original.usage, "{name}");
            assert_eq!(back.stop, original.stop, "{name}");
        }
        let tools = encode_response(&decode("vllm_parallel_tools.json"), &req);
        assert_eq!(tools["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(tools["usage"]["total_tokens"], 3188);
        let only_tool = encode_response(&decode("ollama_reasoning_tool.json"), &req);
        assert_eq!(only_tool["choices"][0]["message"]["content"], Value::Null);
        assert_eq!(
            only_tool["choices"][0]["message"]["reasoning_content"],
            "Need the file. Reading it."
        );
    }

    #[test]
    fn custom_calls_and_flattened_names_reach_chat_clients_as_functions() {
        let mut req = Request::default();
        req.tool_origins.insert(
            "my_tool_1234abcd".into(),
            crate::canonical::ToolOrigin {
                namespace: None,
                name: "my.tool".into(),
                kind: ToolKind::Function,
            },
        );
        let resp = Response {
            parts: vec![
                Part::ToolCall(ToolCall {
                    call_id: "c1".into(),
                    name: "apply_patch".into(),
                    arguments: "*** Begin Patch".into(),
                    kind: ToolKind::Custom,
                }),
                Part::ToolCall(ToolCall {
                    call_id: "c2".into(),
                    name: "my_tool_1234abcd".into(),
                    arguments: "{}".into(),
                    kind: ToolKind::Function,
                }),
            ],
            stop: StopReason::ToolUse,
            ..Response::default()
        };
        let v = encode_response(&resp, &req);
        let calls = &v["choices"][0]["message"]["tool_calls"];
        assert_eq!(
            calls[0]["function"]["arguments"],
            r#"{"input":"*** Begin Patch"}"#
        );
        assert_eq!(calls[1]["function"]["name"], "my.tool");
    }

    #[test]
    fn maps_every_error_shape() {
        let e = decode_error(400, None, fixture("error_openai_context.json").as_bytes());
        assert_eq!((e.code, e.status), (ErrorCode::ContextLengthExceeded, 400));
        assert!(e.message.contains("maximum context length"));

        let e = decode_error(
            429,
            Some(7),
            fixture("error_openai_rate_limit.json").as_bytes(),
        );
        assert_eq!(
            (e.code, e.retry_after_secs),
            (ErrorCode::RateLimit, Some(7))
        );
        let e = decode_error(
            429,
            None,
            fixture("error_openai_rate_limit.json").as_bytes(),
        );
        assert_eq!(e.retry_after_secs, Some(3));
        assert!(e.message.contains("try again in 2.5s"));
        let e = decode_error(429, Some(12), b"slow down");
        assert_eq!(e.message, "slow down; try again in 12s");

        let e = decode_error(429, None, fixture("error_openai_quota.json").as_bytes());
        assert_eq!(e.code, ErrorCode::InsufficientQuota);
        assert_eq!(
            decode_error(402, None, b"{}").code,
            ErrorCode::InsufficientQuota
        );

        let e = decode_error(401, None, fixture("error_openai_auth.json").as_bytes());
        assert_eq!((e.code, e.status), (ErrorCode::Auth, 401));
        assert!(e.message.contains("the provider rejected the API key"));
        assert!(!e.message.contains("sk-"), "{}", e.message);
        assert_eq!(decode_error(403, None, b"forbidden").code, ErrorCode::Auth);

        let e = decode_error(404, None, fixture("error_ollama_not_found.json").as_bytes());
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::InvalidRequest, "model 'qwen9:1b' not found")
        );
        let e = decode_error(422, None, fixture("error_vllm_detail.json").as_bytes());
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert!(e.message.contains("Field required"));
        let e = decode_error(
            400,
            None,
            br#"{"error": {"code": 400, "message": "the request exceeds the available context size, try increasing it", "type": "exceed_context_size_error"}}"#,
        );
        assert_eq!(e.code, ErrorCode::ContextLengthExceeded);
        let e = decode_error(400, None, b"{\"detail\": \"too many tokens in prompt\"}");
        assert_eq!(e.code, ErrorCode::ContextLengthExceeded);

        let e = decode_error(503, None, b"<html>Service Unavailable</html>");
        assert_eq!((e.code, e.status), (ErrorCode::ServerError, 503));
        let e = decode_error(500, None, b"");
        assert_eq!(e.message, "the provider answered HTTP 500");
        let e = decode_error(200, None, &[0xff, 0xfe, b'{']);
        assert_eq!((e.code, e.status), (ErrorCode::ServerError, 502));
        let long = "é".repeat(5000);
        assert!(
            decode_error(400, None, long.as_bytes())
                .message
                .chars()
                .count()
                <= MAX_MESSAGE + 1
        );
    }

    #[test]
    fn encodes_errors_for_chat_clients() {
        let err = UpstreamError {
            code: ErrorCode::RateLimit,
            message: "slow down; try again in 3s".into(),
            retry_after_secs: Some(3),
            status: 429,
        };
        let (status, body) = encode_error(&err);
        assert_eq!(status, 429);
        assert_eq!(
            body,
            json!({"error": {"message": "slow down; try again in 3s", "type": "rate_limit_error",
                             "param": null, "code": "rate_limit_exceeded"}})
        );
        let odd = UpstreamError {
            code: ErrorCode::ContextLengthExceeded,
            message: "too long".into(),
            retry_after_secs: None,
            status: 0,
        };
        let (status, body) = encode_error(&odd);
        assert_eq!(
            (status, &body["error"]["code"]),
            (400, &json!("context_length_exceeded"))
        );
    }
}
