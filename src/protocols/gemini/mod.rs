//! Google Gemini API codec (upstream only), so Codex and other clients can use Gemini models:
//! `models/{model}:generateContent` and `:streamGenerateContent?alt=sse` bodies, to and from
//! the canonical model. The model goes in the URL (built by the provider), never the body.
//!
//! Gemini differs from OpenAI where translation can go wrong: turns must alternate `user` /
//! `model`; function calls have no ids (results are matched by name and position, so each
//! call's result goes in the user turn right after the model turn that made it); tool schemas
//! must be a strict OpenAPI subset ([`schema::sanitize`]); and thought signatures must come
//! back on the exact part they arrived with. They ride through clients as an empty
//! [`Reasoning`] whose [`Opaque`] (provider `gemini`) holds `{"thoughtSignature": ...}`,
//! placed right before the part that carried it.

pub mod schema;
mod stream;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::canonical::{
    ErrorCode, Image, Message, Opaque, OutputFormat, Part, Reasoning, Request, Response,
    ResultContent, Role, StopReason, ToolCall, ToolChoice, ToolKind, UpstreamError,
};
use crate::usage::Usage;
use crate::{Error, Result};

use super::ModelInfo;

pub use stream::StreamDecoder;

/// The provider name in [`Opaque`] values this codec makes and reads.
pub const PROVIDER: &str = "gemini";

/// The key of a thought signature inside a Gemini part and inside our [`Opaque`] data.
const SIG: &str = "thoughtSignature";
/// Marks a signature that belongs to the part before it (inside our [`Opaque`] data).
const AFTER: &str = "after";

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// Encodes a `generateContent` / `streamGenerateContent` body for `model`.
pub fn encode_request(req: &Request, model: &str, info: &ModelInfo) -> Result<Vec<u8>> {
    let mut req = req.clone();
    req.fill_result_names();
    let (system, rest) = req.split_system();

    let mut body = Map::new();
    body.insert("contents".into(), Value::Array(contents(&rest)?));
    let system: Vec<Value> = system
        .into_iter()
        .filter(|t| !t.is_empty())
        .map(|t| json!({ "text": t }))
        .collect();
    if !system.is_empty() {
        body.insert("systemInstruction".into(), json!({ "parts": system }));
    }

    if !req.tools.is_empty() {
        let decls: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut d = Map::new();
                d.insert("name".into(), json!(t.name));
                if !t.description.is_empty() {
                    d.insert("description".into(), json!(t.description));
                }
                d.insert("parameters".into(), schema::sanitize(&t.parameters.value()));
                Value::Object(d)
            })
            .collect();
        body.insert("tools".into(), json!([{ "functionDeclarations": decls }]));
        if let Some(choice) = &req.tool_choice {
            let config = match choice {
                ToolChoice::Auto => json!({ "mode": "AUTO" }),
                ToolChoice::None => json!({ "mode": "NONE" }),
                ToolChoice::Required => json!({ "mode": "ANY" }),
                ToolChoice::Named(name) => {
                    if !req.tools.iter().any(|t| &t.name == name) {
                        return Err(Error::Translate(format!(
                            "tool_choice names `{name}`, which is not among the request's tools"
                        )));
                    }
                    json!({ "mode": "ANY", "allowedFunctionNames": [name] })
                }
            };
            body.insert(
                "toolConfig".into(),
                json!({ "functionCallingConfig": config }),
            );
        }
    }

    let generation = generation_config(&req, model, info);
    if !generation.is_empty() {
        body.insert("generationConfig".into(), Value::Object(generation));
    }
    Ok(crate::json_text::to_vec(&Value::Object(body)))
}

fn generation_config(req: &Request, model: &str, info: &ModelInfo) -> Map<String, Value> {
    let mut g = Map::new();
    if let Some(max) = req.max_output_tokens {
        let max = info.max_output.map_or(max, |cap| max.min(cap));
        g.insert("maxOutputTokens".into(), json!(max));
    }
    if let Some(t) = req.temperature {
        g.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        g.insert("topP".into(), json!(p));
    }
    if !req.stop.is_empty() {
        g.insert("stopSequences".into(), json!(req.stop));
    }
    match &req.output_format {
        Some(OutputFormat::JsonObject) => {
            g.insert("responseMimeType".into(), json!("application/json"));
        }
        Some(OutputFormat::JsonSchema { schema: s, .. }) => {
            g.insert("responseMimeType".into(), json!("application/json"));
            g.insert("responseSchema".into(), schema::sanitize(s));
        }
        Some(OutputFormat::Text) | None => {}
    }
    if let Some(effort) = req.reasoning {
        g.insert("thinkingConfig".into(), thinking_config(effort, model));
    }
    g
}

/// `thinkingLevel` for Gemini 3 models, a token budget (within the model's range) for older.
fn thinking_config(effort: crate::canonical::Effort, model: &str) -> Value {
    use crate::canonical::Effort;
    let m = model.trim_start_matches("models/").to_ascii_lowercase();
    if m.starts_with("gemini-3") {
        let level = match effort {
            Effort::None | Effort::Minimal | Effort::Low => "low",
            Effort::Medium | Effort::High | Effort::XHigh => "high",
        };
        return json!({ "thinkingLevel": level, "includeThoughts": true });
    }
    let mut budget = effort.budget_tokens();
    if m.contains("pro") {
        // 2.5 Pro cannot turn thinking off and takes 128..=32768.
        budget = budget.clamp(128, 32_768);
    } else if m.contains("flash") {
        budget = budget.min(24_576);
    }
    json!({ "thinkingBudget": budget, "includeThoughts": true })
}

/// Gemini `contents`: strictly alternating turns, each call's result right after its turn.
fn contents(messages: &[Cow<'_, Message>]) -> Result<Vec<Value>> {
    // Every call in the history, and every result that answers one (in order, per call id).
    let mut called: BTreeSet<&str> = BTreeSet::new();
    for m in messages {
        for p in &m.parts {
            if let Part::ToolCall(c) = p {
                called.insert(&c.call_id);
            }
        }
    }
    let mut answers: BTreeMap<&str, VecDeque<Vec<Value>>> = BTreeMap::new();
    for m in messages {
        for p in &m.parts {
            if let Part::ToolResult(r) = p
                && called.contains(r.call_id.as_str())
            {
                answers
                    .entry(&r.call_id)
                    .or_default()
                    .push_back(result_parts(r)?);
            }
        }
    }

    let mut turns = Turns::default();
    let mut model: Option<ModelTurn> = None;
    for m in messages {
        if m.role == Role::Assistant {
            let turn = model.get_or_insert_with(ModelTurn::default);
            for p in &m.parts {
                turn.add(p)?;
            }
            continue;
        }
        if let Some(turn) = model.take() {
            turn.close(&mut turns, &mut answers);
        }
        let mut parts = Vec::new();
        for p in &m.parts {
            match p {
                Part::Text(t) if !t.is_empty() => parts.push(json!({ "text": t })),
                Part::Text(_) | Part::Reasoning(_) | Part::ToolCall(_) => {}
                Part::Image(img) => parts.push(image_part(img)?),
                // Answers to known calls were placed when their model turn closed.
                Part::ToolResult(r) if called.contains(r.call_id.as_str()) => {}
                Part::ToolResult(r) => parts.extend(result_parts(r)?),
            }
        }
        turns.push("user", parts);
    }
    if let Some(turn) = model.take() {
        turn.close(&mut turns, &mut answers);
    }
    Ok(turns.0)
}

/// Turns being built; pushing a turn of the same role as the last one merges them.
#[derive(Default)]
struct Turns(Vec<Value>);

impl Turns {
    fn push(&mut self, role: &str, parts: Vec<Value>) {
        if parts.is_empty() {
            return;
        }
        if let Some(last) = self.0.last_mut()
            && last["role"] == role
            && let Some(Value::Array(existing)) = last.get_mut("parts")
        {
            existing.extend(parts);
            return;
        }
        self.0.push(json!({ "role": role, "parts": parts }));
    }
}

/// A model turn under construction, from one or more consecutive assistant messages.
#[derive(Default)]
struct ModelTurn {
    parts: Vec<Value>,
    calls: Vec<String>,
    /// A thought signature waiting for the next part.
    signature: Option<String>,
}

impl ModelTurn {
    fn add(&mut self, p: &Part) -> Result<()> {
        match p {
            Part::Reasoning(r) => {
                if let Some(sig) = gemini_signature(r) {
                    let after = r
                        .opaque
                        .as_ref()
                        .is_some_and(|o| o.data.get(AFTER).is_some());
                    match self.parts.last_mut() {
                        Some(prev) if after && prev.get(SIG).is_none() => prev[SIG] = json!(sig),
                        _ => self.signature = Some(sig),
                    }
                }
            }
            Part::Text(t) if !t.is_empty() => self.push(json!({ "text": t })),
            Part::Text(_) | Part::ToolResult(_) => {}
            Part::Image(img) => self.push(image_part(img)?),
            Part::ToolCall(c) => {
                self.calls.push(c.call_id.clone());
                self.push(json!({
                    "functionCall": { "name": c.name, "args": call_args(c) }
                }));
            }
        }
        Ok(())
    }

    fn push(&mut self, mut part: Value) {
        if let Some(sig) = self.signature.take() {
            part[SIG] = json!(sig);
        }
        self.parts.push(part);
    }

    /// Emits the turn, then a user turn with the answers to its calls in call order.
    fn close(mut self, turns: &mut Turns, answers: &mut BTreeMap<&str, VecDeque<Vec<Value>>>) {
        if self.signature.is_some() {
            // Gemini sometimes signs an empty closing text part; send it back the same way.
            self.push(json!({ "text": "" }));
        }
        turns.push("model", self.parts);
        let mut results = Vec::new();
        for id in &self.calls {
            if let Some(parts) = answers.get_mut(id.as_str()).and_then(VecDeque::pop_front) {
                results.extend(parts);
            }
        }
        // Images from results go after every functionResponse of the turn.
        let (mut responses, images): (Vec<Value>, Vec<Value>) = results
            .into_iter()
            .partition(|p| p.get("functionResponse").is_some());
        responses.extend(images);
        turns.push("user", responses);
    }
}

fn gemini_signature(r: &Reasoning) -> Option<String> {
    let o = r.opaque.as_ref()?;
    if o.provider != PROVIDER {
        return None;
    }
    o.data.get(SIG)?.as_str().map(str::to_string)
}

/// A call's arguments as the JSON object Gemini wants; custom tools and unparsable or
/// non-object arguments travel as `{"input": raw}`.
fn call_args(c: &ToolCall) -> Value {
    if c.kind == ToolKind::Function {
        if c.arguments.trim().is_empty() {
            return json!({});
        }
        if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(&c.arguments) {
            return v;
        }
    }
    json!({ "input": c.arguments })
}

fn image_part(img: &Image) -> Result<Value> {
    let Some((mime, data)) = img.as_base64() else {
        return Err(Error::Translate(
            "Gemini needs inline images: send the image as base64 or a data: URL, not an http(s) URL"
                .into(),
        ));
    };
    Ok(json!({ "inlineData": { "mimeType": mime, "data": data } }))
}

/// A `functionResponse` part, then any images of the result as inline parts.
fn result_parts(r: &crate::canonical::ToolResult) -> Result<Vec<Value>> {
    let Some(name) = &r.name else {
        return Err(Error::Translate(format!(
            "the tool result for call `{}` answers no earlier tool call, and Gemini needs the function's name",
            r.call_id
        )));
    };
    let mut text = String::new();
    let mut images = Vec::new();
    for c in &r.content {
        match c {
            ResultContent::Text(t) => {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(t);
            }
            ResultContent::Image(img) => images.push(image_part(img)?),
        }
    }
    let mut response = json!({ "content": text });
    if r.is_error {
        response["is_error"] = json!(true);
    }
    let mut parts = vec![json!({ "functionResponse": { "name": name, "response": response } })];
    parts.extend(images);
    Ok(parts)
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

/// The part of a `GenerateContentResponse` (whole or one stream chunk) the codec reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Chunk {
    #[serde(default)]
    candidates: Vec<Candidate>,
    prompt_feedback: Option<PromptFeedback>,
    usage_metadata: Option<UsageMetadata>,
    response_id: Option<String>,
    model_version: Option<String>,
    error: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    content: Option<Content>,
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<GPart>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GPart {
    text: Option<String>,
    #[serde(default)]
    thought: bool,
    thought_signature: Option<String>,
    function_call: Option<FunctionCall>,
}

#[derive(Debug, Default, Deserialize)]
struct FunctionCall {
    #[serde(default)]
    name: String,
    #[serde(default)]
    args: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    block_reason: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    cached_content_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    thoughts_token_count: u64,
    #[serde(default)]
    tool_use_prompt_token_count: u64,
}

impl From<UsageMetadata> for Usage {
    fn from(u: UsageMetadata) -> Self {
        Usage {
            input: u.prompt_token_count + u.tool_use_prompt_token_count,
            cached_input: u.cached_content_token_count,
            cache_write: 0,
            output: u.candidates_token_count + u.thoughts_token_count,
            reasoning: u.thoughts_token_count,
        }
    }
}

/// What one Gemini part means canonically.
enum Piece {
    /// The signature carried by the part that follows.
    Signature(String),
    /// The signature of the text part just before it (Gemini 3 signs the last text part);
    /// kept after the text so the answer is not split in two.
    SignatureAfter(String),
    Thought(String),
    Text(String),
    Call {
        name: String,
        args: String,
    },
}

/// The canonical pieces of a part, in order: its signature first, then its content.
fn pieces(p: GPart) -> Vec<Piece> {
    let mut out = Vec::new();
    let signed_text =
        p.function_call.is_none() && !p.thought && p.text.as_deref().is_some_and(|t| !t.is_empty());
    let mut after = None;
    if let Some(sig) = p.thought_signature {
        if signed_text {
            after = Some(sig);
        } else {
            out.push(Piece::Signature(sig));
        }
    }
    if let Some(fc) = p.function_call {
        let args = match fc.args {
            Some(v @ Value::Object(_)) => v.to_string(),
            _ => "{}".to_string(),
        };
        out.push(Piece::Call {
            name: fc.name,
            args,
        });
    } else if let Some(t) = p.text {
        if p.thought {
            out.push(Piece::Thought(t));
        } else if !t.is_empty() {
            out.push(Piece::Text(t));
        }
    }
    if let Some(sig) = after {
        out.push(Piece::SignatureAfter(sig));
    }
    out
}

/// The opaque value of a signature that belongs to the part before it.
fn signature_after_opaque(sig: String) -> Opaque {
    Opaque::new(PROVIDER, json!({ SIG: sig, AFTER: true }))
}

/// The reasoning part that carries the signature of the text part before it.
fn signature_after(sig: String) -> Reasoning {
    Reasoning {
        text: String::new(),
        opaque: Some(Opaque::new(PROVIDER, json!({ SIG: sig, AFTER: true }))),
    }
}

fn signature_reasoning(sig: String) -> Reasoning {
    Reasoning {
        text: String::new(),
        opaque: Some(Opaque::new(PROVIDER, json!({ SIG: sig }))),
    }
}

/// A call id for the `index`th call of a response: deterministic, and unique across
/// responses because the response id takes part in the hash.
fn call_id(response_id: Option<&str>, index: usize, name: &str, args: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in response_id
        .unwrap_or("")
        .bytes()
        .chain([0])
        .chain(name.bytes())
        .chain([0])
        .chain(args.bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("call_{index}_{:012x}", h & 0xffff_ffff_ffff)
}

fn stop_reason(reason: &str, called: bool) -> StopReason {
    match reason {
        "STOP" if called => StopReason::ToolUse,
        "STOP" => StopReason::EndTurn,
        "MAX_TOKENS" => StopReason::MaxTokens,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            StopReason::ContentFilter
        }
        other => StopReason::Other(other.to_string()),
    }
}

/// Decodes a `generateContent` body (or the JSON array `streamGenerateContent` sends
/// without `alt=sse`).
pub fn decode_response(body: &[u8]) -> Result<Response> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| Error::UpstreamFormat(format!("gemini: body is not JSON: {e}")))?;
    if let Value::Array(chunks) = v {
        let mut dec = StreamDecoder::new();
        let mut events = Vec::new();
        for c in &chunks {
            dec.push(&c.to_string(), &mut events)?;
        }
        dec.end(&mut events);
        return Response::from_events(&events).map_err(|e| Error::UpstreamFormat(e.message));
    }
    let chunk: Chunk = serde_json::from_value(v)
        .map_err(|e| Error::UpstreamFormat(format!("gemini: unexpected response shape: {e}")))?;
    if let Some(err) = &chunk.error {
        let e = error_from_value(err, None);
        return Err(Error::UpstreamFormat(format!(
            "gemini error: {}",
            e.message
        )));
    }
    let mut r = Response {
        id: chunk.response_id.clone(),
        model: chunk.model_version.clone(),
        usage: chunk.usage_metadata.map(Usage::from).unwrap_or_default(),
        ..Response::default()
    };
    let Some(cand) = chunk.candidates.into_iter().next() else {
        if chunk.prompt_feedback.and_then(|f| f.block_reason).is_some() {
            r.stop = StopReason::ContentFilter;
            return Ok(r);
        }
        return Err(Error::UpstreamFormat(
            "gemini: response has no candidates".into(),
        ));
    };
    let mut calls = 0;
    for gp in cand.content.map(|c| c.parts).unwrap_or_default() {
        for piece in pieces(gp) {
            match piece {
                Piece::Signature(sig) => r.parts.push(Part::Reasoning(signature_reasoning(sig))),
                Piece::SignatureAfter(sig) => r.parts.push(Part::Reasoning(signature_after(sig))),
                Piece::Thought(t) => match r.parts.last_mut() {
                    Some(Part::Reasoning(rz)) if rz.opaque.is_none() => rz.text.push_str(&t),
                    _ => r.parts.push(Part::Reasoning(Reasoning {
                        text: t,
                        opaque: None,
                    })),
                },
                Piece::Text(t) => match r.parts.last_mut() {
                    Some(Part::Text(prev)) => prev.push_str(&t),
                    _ => r.parts.push(Part::Text(t)),
                },
                Piece::Call { name, args } => {
                    let id = call_id(r.id.as_deref(), calls, &name, &args);
                    calls += 1;
                    r.parts.push(Part::ToolCall(ToolCall {
                        call_id: id,
                        name,
                        arguments: args,
                        kind: ToolKind::Function,
                    }));
                }
            }
        }
    }
    r.stop = match cand.finish_reason.as_deref() {
        Some(reason) => stop_reason(reason, calls > 0),
        None if calls > 0 => StopReason::ToolUse,
        None => StopReason::EndTurn,
    };
    Ok(r)
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Classifies an error answer: Google's `{"error": {"code", "message", "status", "details"}}`,
/// or anything else (never panics).
pub fn decode_error(status: u16, retry_after: Option<u64>, body: &[u8]) -> UpstreamError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    // The streaming endpoint without `alt=sse` wraps errors in an array.
    let err = parsed.as_ref().and_then(|v| match v {
        Value::Array(a) => a.first().and_then(|x| x.get("error")).cloned(),
        v => v.get("error").cloned(),
    });
    let err = err.filter(Value::is_object);
    match err {
        Some(e) => {
            let mut e = e;
            if e.get("code").and_then(Value::as_u64).is_none() {
                e["code"] = json!(status);
            }
            let mut out = error_from_value(&e, retry_after);
            out.status = http_status(status, out.code);
            out
        }
        None => {
            let text = String::from_utf8_lossy(body);
            let text: String = text.trim().chars().take(500).collect();
            let message = if text.is_empty() {
                format!("gemini answered HTTP {status}")
            } else {
                format!("gemini answered HTTP {status}: {text}")
            };
            let code = classify(status, "", &message, false);
            finish(code, message, retry_after, http_status(status, code))
        }
    }
}

fn http_status(status: u16, code: ErrorCode) -> u16 {
    if (400..=599).contains(&status) {
        status
    } else {
        match code {
            ErrorCode::InvalidRequest => 400,
            ErrorCode::Auth => 401,
            ErrorCode::RateLimit => 429,
            _ => 502,
        }
    }
}

/// Reads a Google error object (from an error body or inside a stream).
fn error_from_value(e: &Value, retry_after: Option<u64>) -> UpstreamError {
    let status = e
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(500);
    let gstatus = e.get("status").and_then(Value::as_str).unwrap_or("");
    let message = e
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("unknown error")
        .to_string();
    let details = e.get("details").and_then(Value::as_array);
    let key_invalid = details.is_some_and(|d| {
        d.iter()
            .any(|x| x.get("reason").and_then(Value::as_str) == Some("API_KEY_INVALID"))
    }) || message.contains("API key not valid")
        || message.contains("API key expired");
    let retry = retry_after.or_else(|| details.and_then(|d| d.iter().find_map(retry_delay)));
    let code = classify(status, gstatus, &message, key_invalid);
    finish(code, message, retry, http_status(status, code))
}

fn classify(status: u16, gstatus: &str, message: &str, key_invalid: bool) -> ErrorCode {
    let lower = message.to_ascii_lowercase();
    if key_invalid
        || matches!(status, 401 | 403)
        || matches!(gstatus, "UNAUTHENTICATED" | "PERMISSION_DENIED")
    {
        ErrorCode::Auth
    } else if status == 429 || gstatus == "RESOURCE_EXHAUSTED" {
        ErrorCode::RateLimit
    } else if (status == 400 || gstatus == "INVALID_ARGUMENT")
        && (lower.contains("exceeds the maximum number of tokens")
            || lower.contains("input token count")
            || lower.contains("context window")
            || lower.contains("too many tokens"))
    {
        ErrorCode::ContextLengthExceeded
    } else if status >= 500 || matches!(gstatus, "UNAVAILABLE" | "INTERNAL" | "DEADLINE_EXCEEDED") {
        ErrorCode::ServerError
    } else if (400..500).contains(&status) {
        ErrorCode::InvalidRequest
    } else {
        ErrorCode::ServerError
    }
}

fn finish(code: ErrorCode, message: String, retry: Option<u64>, status: u16) -> UpstreamError {
    let message = match code {
        ErrorCode::Auth => format!(
            "provider gemini rejected the API key ({message}); check GEMINI_API_KEY or GOOGLE_API_KEY"
        ),
        ErrorCode::RateLimit => match retry {
            Some(n) => format!("gemini: {message} Please try again in {n}s."),
            None => format!("gemini: {message}"),
        },
        _ => format!("gemini: {message}"),
    };
    UpstreamError {
        code,
        message,
        retry_after_secs: if code == ErrorCode::RateLimit {
            retry
        } else {
            None
        },
        status,
    }
}

/// Seconds from a `google.rpc.RetryInfo` detail (`"retryDelay": "12s"` / `"1.5s"`), rounded up.
fn retry_delay(detail: &Value) -> Option<u64> {
    let ty = detail.get("@type").and_then(Value::as_str)?;
    if !ty.ends_with("google.rpc.RetryInfo") {
        return None;
    }
    let d = detail.get("retryDelay")?;
    let secs: f64 = match d {
        Value::String(s) => s.trim().strip_suffix('s')?.parse().ok()?,
        Value::Object(o) => {
            o.get("seconds")
                .and_then(|s| s.as_str().and_then(|s| s.parse().ok()).or(s.as_f64()))
                .unwrap_or(0.0)
                + o.get("nanos").and_then(Value::as_f64).unwrap_or(0.0) / 1e9
        }
        _ => return None,
    };
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Some(secs.ceil() as u64)
}
