//! A mock of the Gemini API (`/v1beta/models/{model}:generateContent` and
//! `:streamGenerateContent?alt=sse`), as strict as the real API where a translator can get it
//! wrong: the `x-goog-api-key` header, unknown fields, roles, JSON-Schema keywords Gemini
//! rejects, function responses that do not match the calls, and thought signatures that do
//! not come back. Errors use Google's JSON and statuses.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use super::CANARY;

/// One canned answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Model text.
    Text { text: String, usage: Value },
    /// Function calls `(name, args)`; with `signed`, the first carries a thought signature
    /// (as Gemini 3 does) that must come back on the next request.
    Calls {
        calls: Vec<(String, Value)>,
        signed: bool,
        usage: Value,
    },
    /// A thought summary, then text (the last text part signed, as Gemini 3 does).
    Thoughts {
        thoughts: String,
        text: String,
        usage: Value,
    },
    /// An HTTP error in Google's shape, with an optional `RetryInfo` delay in seconds.
    Error {
        status: u16,
        google_status: String,
        message: String,
        retry_secs: Option<u64>,
    },
}

/// A request the mock received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Seen {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A function call the mock answered with, to check it comes back intact.
#[derive(Debug, Clone)]
struct Issued {
    name: String,
    args: Value,
    signature: Option<String>,
}

#[derive(Default)]
struct Inner {
    replies: Mutex<VecDeque<Reply>>,
    seen: Mutex<Vec<Seen>>,
    issued: Mutex<Vec<Issued>>,
    counter: Mutex<u64>,
}

/// The running mock.
pub struct GeminiMock {
    addr: SocketAddr,
    inner: Arc<Inner>,
    _server: super::Served,
}

/// `usageMetadata` with these numbers.
pub fn usage(prompt: u64, cached: u64, candidates: u64, thoughts: u64) -> Value {
    let mut u = json!({
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + thoughts,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    });
    if cached > 0 {
        u["cachedContentTokenCount"] = json!(cached);
    }
    if thoughts > 0 {
        u["thoughtsTokenCount"] = json!(thoughts);
    }
    u
}

impl GeminiMock {
    pub fn start() -> GeminiMock {
        let inner = Arc::new(Inner::default());
        let app = axum::Router::new()
            .route("/v1beta/models/{model_action}", post(generate))
            .with_state(inner.clone());
        let server = super::Served::start(app);
        let addr = server.addr;
        GeminiMock {
            addr,
            inner,
            _server: server,
        }
    }

    /// `http://127.0.0.1:PORT/v1beta`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1beta", self.addr)
    }

    pub fn push(&self, r: Reply) {
        self.inner.replies.lock().expect("lock").push_back(r);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.inner.seen.lock().expect("lock").clone()
    }
}

/// Google's error body.
fn gerror(status: u16, gstatus: &str, message: &str, details: Vec<Value>) -> Response {
    let mut err = json!({"code": status, "message": message, "status": gstatus});
    if !details.is_empty() {
        err["details"] = Value::Array(details);
    }
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        axum::Json(json!({ "error": err })),
    )
        .into_response()
}

fn invalid(message: &str) -> Response {
    gerror(400, "INVALID_ARGUMENT", message, Vec::new())
}

fn unknown_field(name: &str, at: &str) -> String {
    format!("Invalid JSON payload received. Unknown name \"{name}\" at '{at}': Cannot find field.")
}

const TOP_LEVEL: &[&str] = &[
    "contents",
    "systemInstruction",
    "tools",
    "toolConfig",
    "generationConfig",
    "safetySettings",
    "cachedContent",
];

const GENERATION: &[&str] = &[
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "responseModalities",
    "candidateCount",
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "responseLogprobs",
    "logprobs",
    "thinkingConfig",
    "mediaResolution",
];

const THINKING: &[&str] = &["includeThoughts", "thinkingBudget", "thinkingLevel"];

const PART: &[&str] = &[
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
    "thought",
    "thoughtSignature",
];

/// The schema keys this mock accepts (the subset Gemini documents and accepts everywhere).
const SCHEMA: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minLength",
    "maxLength",
    "pattern",
    "anyOf",
    "propertyOrdering",
    "items",
    "minimum",
    "maximum",
];

const TYPES: &[&str] = &["string", "number", "integer", "boolean", "array", "object"];

fn check_keys(v: &Value, allowed: &[&str], at: &str) -> Result<(), String> {
    let Some(obj) = v.as_object() else {
        return Err(format!(
            "Invalid value at '{at}': expected an object, got {v}"
        ));
    };
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(unknown_field(k, at));
        }
    }
    Ok(())
}

/// Checks a function's parameter schema as Gemini does.
fn check_schema(v: &Value, at: &str) -> Result<(), String> {
    check_keys(v, SCHEMA, at)?;
    let ty = match v.get("type") {
        None => None,
        Some(Value::String(t)) if TYPES.contains(&t.to_ascii_lowercase().as_str()) => {
            Some(t.to_ascii_lowercase())
        }
        Some(other) => {
            return Err(format!(
                "Invalid value at '{at}.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), {other}"
            ));
        }
    };
    if let Some(e) = v.get("enum")
        && !e.as_array().is_some_and(|a| a.iter().all(Value::is_string))
    {
        return Err(format!("Invalid value at '{at}.enum' (TYPE_STRING), {e}"));
    }
    if let Some(f) = v.get("format").and_then(Value::as_str)
        && ty.as_deref() == Some("string")
        && !matches!(f, "enum" | "date-time")
    {
        return Err(format!(
            "{at}.format: only 'enum' and 'date-time' are supported for STRING type"
        ));
    }
    let props = v.get("properties");
    if let Some(p) = props {
        let Some(p) = p.as_object() else {
            return Err(format!("Invalid value at '{at}.properties'"));
        };
        if p.is_empty() && ty.as_deref() == Some("object") {
            return Err(format!(
                "{at}.properties: should be non-empty for OBJECT type"
            ));
        }
        for (k, s) in p {
            check_schema(s, &format!("{at}.properties[{k}].value"))?;
        }
    }
    if let Some(r) = v.get("required") {
        for (i, name) in r.as_array().into_iter().flatten().enumerate() {
            let defined = name
                .as_str()
                .is_some_and(|n| props.and_then(|p| p.get(n)).is_some());
            if !defined {
                return Err(format!("{at}.required[{i}]: property is not defined"));
            }
        }
    }
    match v.get("items") {
        Some(items) => check_schema(items, &format!("{at}.items"))?,
        None if ty.as_deref() == Some("array") => {
            return Err(format!("{at}.items: missing field."));
        }
        None => {}
    }
    if let Some(any) = v.get("anyOf") {
        for (i, s) in any.as_array().into_iter().flatten().enumerate() {
            check_schema(s, &format!("{at}.any_of[{i}]"))?;
        }
    }
    Ok(())
}

fn function_calls(turn: &Value) -> Vec<&Value> {
    turn["parts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p.get("functionCall").is_some())
        .collect()
}

fn function_responses(turn: &Value) -> Vec<&Value> {
    turn["parts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p.get("functionResponse").is_some())
        .collect()
}

/// Everything a request body must satisfy.
fn check_body(v: &Value, issued: &[Issued]) -> Result<(), String> {
    check_keys(v, TOP_LEVEL, "")?;
    if let Some(g) = v.get("generationConfig") {
        check_keys(g, GENERATION, "generation_config")?;
        if let Some(t) = g.get("thinkingConfig") {
            check_keys(t, THINKING, "generation_config.thinking_config")?;
            if t.get("thinkingBudget").is_some() && t.get("thinkingLevel").is_some() {
                return Err(
                    "You can only set only one of thinking budget and thinking level.".into(),
                );
            }
        }
        if let Some(s) = g.get("responseSchema") {
            check_schema(s, "generation_config.response_schema")?;
        }
    }
    if let Some(s) = v.get("systemInstruction") {
        check_keys(s, &["parts", "role"], "system_instruction")?;
    }

    let mut names: Vec<String> = Vec::new();
    for (i, tool) in v["tools"].as_array().into_iter().flatten().enumerate() {
        let at = format!("tools[{i}]");
        check_keys(
            tool,
            &[
                "functionDeclarations",
                "googleSearch",
                "codeExecution",
                "urlContext",
            ],
            &at,
        )?;
        for (j, d) in tool["functionDeclarations"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("{at}.function_declarations[{j}]");
            check_keys(
                d,
                &[
                    "name",
                    "description",
                    "parameters",
                    "parametersJsonSchema",
                    "response",
                    "behavior",
                ],
                &at,
            )?;
            let name = d["name"].as_str().unwrap_or("");
            let valid = !name.is_empty()
                && name.len() <= 64
                && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c));
            if !valid {
                return Err(format!(
                    "* GenerateContentRequest.{at}.name: Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a maximum length of 64."
                ));
            }
            if let Some(p) = d.get("parameters") {
                check_schema(p, &format!("{at}.parameters"))?;
            }
            names.push(name.to_string());
        }
    }
    if let Some(tc) = v.get("toolConfig") {
        check_keys(tc, &["functionCallingConfig"], "tool_config")?;
        let fc = &tc["functionCallingConfig"];
        check_keys(
            fc,
            &["mode", "allowedFunctionNames"],
            "tool_config.function_calling_config",
        )?;
        let mode = fc["mode"].as_str().unwrap_or("");
        if !matches!(mode, "AUTO" | "ANY" | "NONE" | "VALIDATED") {
            return Err(format!(
                "Invalid value at 'tool_config.function_calling_config.mode', \"{mode}\""
            ));
        }
        if let Some(allowed) = fc.get("allowedFunctionNames") {
            if mode != "ANY" {
                return Err("allowed_function_names may only be set when mode is ANY.".into());
            }
            for n in allowed.as_array().into_iter().flatten() {
                if !names.iter().any(|x| Some(x.as_str()) == n.as_str()) {
                    return Err(format!(
                        "allowed_function_names contains {n}, which is not a declared function."
                    ));
                }
            }
        }
    }

    let Some(contents) = v["contents"].as_array().filter(|c| !c.is_empty()) else {
        return Err("* GenerateContentRequest.contents: contents is not specified".into());
    };
    for (i, turn) in contents.iter().enumerate() {
        let at = format!("contents[{i}]");
        check_keys(turn, &["role", "parts"], &at)?;
        let role = turn["role"].as_str().unwrap_or("");
        if role != "user" && role != "model" {
            return Err(format!(
                "Please use a valid role: user, model. (got \"{role}\" at {at})"
            ));
        }
        if i > 0 && contents[i - 1]["role"] == role {
            return Err(format!(
                "mock: {at} repeats the role `{role}`; turns must alternate"
            ));
        }
        let Some(parts) = turn["parts"].as_array().filter(|p| !p.is_empty()) else {
            return Err(format!(
                "* GenerateContentRequest.{at}.parts: contents.parts must not be empty."
            ));
        };
        for (j, p) in parts.iter().enumerate() {
            let at = format!("{at}.parts[{j}]");
            check_keys(p, PART, &at)?;
            let data = [
                "text",
                "inlineData",
                "fileData",
                "functionCall",
                "functionResponse",
                "executableCode",
                "codeExecutionResult",
            ]
            .iter()
            .filter(|k| p.get(**k).is_some())
            .count();
            if data != 1 {
                return Err(format!(
                    "Invalid value at '{at}': a part must hold exactly one kind of data"
                ));
            }
            if let Some(fc) = p.get("functionCall") {
                check_keys(fc, &["name", "args", "id"], &format!("{at}.function_call"))?;
                if role != "model" {
                    return Err(format!("{at}: functionCall parts belong in model turns"));
                }
            }
            if let Some(fr) = p.get("functionResponse") {
                check_keys(
                    fr,
                    &["name", "response", "id", "parts"],
                    &format!("{at}.function_response"),
                )?;
                if fr["name"].as_str().is_none_or(str::is_empty) || !fr["response"].is_object() {
                    return Err(format!(
                        "* GenerateContentRequest.{at}.function_response: name and response are required"
                    ));
                }
            }
        }

        // Calls and their responses.
        let calls = function_calls(turn);
        let responses = function_responses(turn);
        if !responses.is_empty() {
            let prev_calls = if i > 0 {
                function_calls(&contents[i - 1])
            } else {
                Vec::new()
            };
            if prev_calls.is_empty() {
                return Err("Please ensure that function response turn comes immediately after a function call turn.".into());
            }
            let called: Vec<&str> = prev_calls
                .iter()
                .map(|c| c["functionCall"]["name"].as_str().unwrap_or(""))
                .collect();
            let answered: Vec<&str> = responses
                .iter()
                .map(|r| r["functionResponse"]["name"].as_str().unwrap_or(""))
                .collect();
            if called.len() != answered.len() {
                return Err("Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.".into());
            }
            if called != answered {
                return Err(format!(
                    "mock: function responses {answered:?} do not match the calls {called:?} of the previous turn"
                ));
            }
        }
        if !calls.is_empty() {
            if i == 0 {
                return Err("Please ensure that function call turn comes immediately after a user turn or after a function response turn.".into());
            }
            for (pos, c) in calls.iter().enumerate() {
                let name = c["functionCall"]["name"].as_str().unwrap_or("");
                let args = c["functionCall"].get("args").cloned().unwrap_or(json!({}));
                let Some(known) = issued.iter().find(|x| x.name == name && x.args == args) else {
                    continue;
                };
                let Some(expected) = &known.signature else {
                    continue;
                };
                match c.get("thoughtSignature").and_then(Value::as_str) {
                    None => {
                        return Err(format!(
                            "Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call `default_api:{name}` , position {}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.",
                            pos + 1
                        ));
                    }
                    Some(s) if s != expected => {
                        return Err(
                            "Unable to submit request because Thought signature is not valid."
                                .into(),
                        );
                    }
                    Some(_) => {}
                }
            }
        }
    }
    Ok(())
}

/// The checks every call shares: key, path, body. Returns (model, stream, body) or Google's
/// error.
#[allow(clippy::result_large_err)]
fn validate(
    inner: &Inner,
    model_action: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(String, Option<bool>), Response> {
    inner.seen.lock().expect("lock").push(Seen {
        path: format!("/v1beta/models/{model_action}"),
        query: query.map(str::to_string),
        headers: headers.clone(),
        body: body.clone(),
    });
    let params: Vec<(&str, &str)> = query
        .unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
        .collect();
    if params.iter().any(|(k, _)| *k == "key") {
        return Err(invalid(
            "mock: send the API key in the x-goog-api-key header, not in the URL",
        ));
    }
    match headers.get("x-goog-api-key").and_then(|v| v.to_str().ok()) {
        None => {
            return Err(gerror(
                403,
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
                Vec::new(),
            ));
        }
        Some(k) if k != CANARY => {
            return Err(gerror(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                vec![
                    json!({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                            "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}),
                ],
            ));
        }
        Some(_) => {}
    }
    let (model, action) = model_action.split_once(':').unwrap_or((model_action, ""));
    let stream = match action {
        "generateContent" => None,
        "streamGenerateContent" => Some(params.contains(&("alt", "sse"))),
        _ => {
            return Err(gerror(
                404,
                "NOT_FOUND",
                &format!("mock: unknown method `{action}`"),
                Vec::new(),
            ));
        }
    };
    if !model.starts_with("gemini-") {
        return Err(gerror(
            404,
            "NOT_FOUND",
            &format!(
                "models/{model} is not found for API version v1beta, or is not supported for generateContent."
            ),
            Vec::new(),
        ));
    }
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/json") {
        return Err(invalid("mock: Content-Type must be application/json"));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| invalid(&format!("Invalid JSON payload received. {e}")))?;
    let issued = inner.issued.lock().expect("lock").clone();
    check_body(&v, &issued).map_err(|m| invalid(&m))?;
    Ok((model.to_string(), stream))
}

fn next_id(inner: &Inner) -> u64 {
    let mut c = inner.counter.lock().expect("lock");
    *c += 1;
    *c
}

/// The chunks of an answer: each a list of parts; the last also gets finishReason and usage.
fn answer(inner: &Inner, reply: &Reply) -> (Vec<Vec<Value>>, Value) {
    match reply {
        Reply::Text { text, usage } => (split_text(text, false), usage.clone()),
        Reply::Thoughts {
            thoughts,
            text,
            usage,
        } => {
            let mut chunks = split_text(thoughts, true);
            let mut texts = split_text(text, false);
            let n = next_id(inner);
            if let Some(last) = texts.last_mut().and_then(|c| c.last_mut()) {
                last["thoughtSignature"] = json!(format!("CiQBmockTextSig{n:04}=="));
            }
            chunks.extend(texts);
            (chunks, usage.clone())
        }
        Reply::Calls {
            calls,
            signed,
            usage,
        } => {
            let mut chunks = Vec::new();
            for (i, (name, args)) in calls.iter().enumerate() {
                let signature =
                    (*signed && i == 0).then(|| format!("CiQBmockCallSig{:04}==", next_id(inner)));
                let mut part = json!({"functionCall": {"name": name, "args": args}});
                if let Some(s) = &signature {
                    part["thoughtSignature"] = json!(s);
                }
                inner.issued.lock().expect("lock").push(Issued {
                    name: name.clone(),
                    args: args.clone(),
                    signature,
                });
                chunks.push(vec![part]);
            }
            (chunks, usage.clone())
        }
        Reply::Error { .. } => (Vec::new(), Value::Null),
    }
}

/// Text in several chunks (two words each).
fn split_text(text: &str, thought: bool) -> Vec<Vec<Value>> {
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    words
        .chunks(2)
        .map(|w| {
            let mut p = json!({"text": w.concat()});
            if thought {
                p["thought"] = json!(true);
            }
            vec![p]
        })
        .collect()
}

fn candidate_chunk(parts: Vec<Value>, last: Option<&Value>, model: &str, rid: &str) -> Value {
    let mut cand = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
    let mut chunk = json!({"modelVersion": model, "responseId": rid});
    if let Some(usage) = last {
        cand["finishReason"] = json!("STOP");
        chunk["usageMetadata"] = usage.clone();
    }
    chunk["candidates"] = json!([cand]);
    chunk
}

async fn generate(
    State(inner): State<Arc<Inner>>,
    Path(model_action): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (model, stream) = match validate(&inner, &model_action, query.as_deref(), &headers, &body) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let reply = inner
        .replies
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or(Reply::Text {
            text: "mock default answer".into(),
            usage: usage(10, 0, 5, 0),
        });
    if let Reply::Error {
        status,
        google_status,
        message,
        retry_secs,
    } = &reply
    {
        let details = retry_secs
            .map(|s| vec![json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{s}s")})])
            .unwrap_or_default();
        return gerror(*status, google_status, message, details);
    }
    let rid = format!("mockresp{:06}", next_id(&inner));
    let (mut chunks, usage) = answer(&inner, &reply);
    if chunks.is_empty() {
        chunks.push(vec![json!({"text": ""})]);
    }
    let n = chunks.len();
    let chunks: Vec<Value> = chunks
        .into_iter()
        .enumerate()
        .map(|(i, parts)| candidate_chunk(parts, (i + 1 == n).then_some(&usage), &model, &rid))
        .collect();
    match stream {
        Some(true) => {
            let events: Vec<Result<Bytes, std::io::Error>> = chunks
                .iter()
                .map(|c| Ok(Bytes::from(format!("data: {c}\r\n\r\n"))))
                .collect();
            Response::builder()
                .status(200)
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(futures::stream::iter(events)))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        // Without alt=sse the streaming method answers one JSON array of chunks.
        Some(false) => axum::Json(Value::Array(chunks)).into_response(),
        None => {
            let mut parts = Vec::new();
            for c in &chunks {
                parts.extend(
                    c["candidates"][0]["content"]["parts"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                );
            }
            // Merge runs of plain text (and of thoughts) the way one whole answer has them.
            let mut merged: Vec<Value> = Vec::new();
            for p in parts {
                if let Some(last) = merged.last_mut()
                    && p.get("text").is_some()
                    && last.get("text").is_some()
                    && last.get("thought") == p.get("thought")
                    && last.get("thoughtSignature").is_none()
                {
                    let joined = format!(
                        "{}{}",
                        last["text"].as_str().unwrap_or(""),
                        p["text"].as_str().unwrap_or("")
                    );
                    let sig = p.get("thoughtSignature").cloned();
                    last["text"] = json!(joined);
                    if let Some(s) = sig {
                        last["thoughtSignature"] = s;
                    }
                    continue;
                }
                merged.push(p);
            }
            let whole = candidate_chunk(merged, Some(&usage), &model, &rid);
            axum::Json(whole).into_response()
        }
    }
}
