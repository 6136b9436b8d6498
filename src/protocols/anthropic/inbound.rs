//! Anthropic Messages clients → canonical requests, and canonical answers → Messages JSON/SSE.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{PROVIDER, error_body, error_kind, stop_to_wire, thinking_opaque, tool_input};
use crate::canonical::{
    BlockKind, Delta, Effort, Event, Image, Message, OutputFormat, Part, Reasoning, Request,
    Response, ResultContent, Role, StopReason, Tool, ToolCall, ToolChoice, ToolKind, ToolOrigin,
    ToolResult, UpstreamError, flatten_name,
};
use crate::usage::Usage;
use crate::{Error, Result};

#[derive(Deserialize)]
struct InRequest {
    model: String,
    max_tokens: Option<u64>,
    system: Option<Value>,
    messages: Vec<InMessage>,
    tools: Option<Vec<Value>>,
    tool_choice: Option<Value>,
    thinking: Option<Value>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    stop_sequences: Option<Vec<String>>,
    stream: Option<bool>,
    output_format: Option<Value>,
}

#[derive(Deserialize)]
struct InMessage {
    role: String,
    content: Value,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::Translate(msg.into())
}

fn str_field<'a>(v: &'a Value, key: &str, at: &str) -> Result<&'a str> {
    v[key]
        .as_str()
        .ok_or_else(|| bad(format!("{at}: `{key}` must be a string")))
}

fn image_of(b: &Value, at: &str) -> Result<Image> {
    let src = &b["source"];
    match src["type"].as_str() {
        Some("base64") => Ok(Image::Base64 {
            media_type: str_field(src, "media_type", at)?.to_string(),
            data: str_field(src, "data", at)?.to_string(),
        }),
        Some("url") => Ok(Image::Url(str_field(src, "url", at)?.to_string())),
        _ => Err(bad(format!(
            "{at}: image source must be of type `base64` or `url`"
        ))),
    }
}

/// Text and images of a tool result (a string or blocks).
fn result_content(v: &Value, at: &str) -> Result<Vec<ResultContent>> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(vec![ResultContent::Text(s.clone())]),
        Value::Array(blocks) => {
            let mut out = Vec::new();
            for (i, b) in blocks.iter().enumerate() {
                let at = format!("{at}.content.{i}");
                match b["type"].as_str() {
                    Some("text") => {
                        out.push(ResultContent::Text(str_field(b, "text", &at)?.to_string()))
                    }
                    Some("image") => out.push(ResultContent::Image(image_of(b, &at)?)),
                    _ => {
                        return Err(bad(format!(
                            "{at}: tool results may hold only text and image blocks"
                        )));
                    }
                }
            }
            Ok(out)
        }
        _ => Err(bad(format!("{at}: `content` must be a string or blocks"))),
    }
}

/// One content block → a part (`None` when dropped, noted in `dropped`).
fn part_of(b: &Value, at: &str, dropped: &mut Vec<String>) -> Result<Option<Part>> {
    let Some(kind) = b["type"].as_str() else {
        return Err(bad(format!("{at}: content block without a `type`")));
    };
    Ok(Some(match kind {
        "text" => Part::Text(str_field(b, "text", at)?.to_string()),
        "image" => Part::Image(image_of(b, at)?),
        "tool_use" => Part::ToolCall(ToolCall {
            call_id: str_field(b, "id", at)?.to_string(),
            name: flatten_name(None, str_field(b, "name", at)?),
            arguments: b.get("input").map_or_else(|| "{}".into(), Value::to_string),
            kind: ToolKind::Function,
        }),
        "tool_result" => Part::ToolResult(ToolResult {
            call_id: str_field(b, "tool_use_id", at)?.to_string(),
            name: None,
            content: result_content(&b["content"], at)?,
            is_error: b["is_error"].as_bool().unwrap_or(false),
        }),
        "thinking" => Part::Reasoning(Reasoning {
            text: str_field(b, "thinking", at)?.to_string(),
            opaque: Some(thinking_opaque(b)),
        }),
        "redacted_thinking" => Part::Reasoning(Reasoning {
            text: String::new(),
            opaque: Some(thinking_opaque(b)),
        }),
        other => {
            dropped.push(format!("{other} content block ({at})"));
            return Ok(None);
        }
    }))
}

/// The effort whose budget is nearest `budget`.
fn effort_for(budget: u64) -> Effort {
    [
        Effort::Minimal,
        Effort::Low,
        Effort::Medium,
        Effort::High,
        Effort::XHigh,
    ]
    .into_iter()
    .min_by_key(|e| e.budget_tokens().abs_diff(budget))
    .unwrap_or(Effort::Medium)
}

/// Decodes a Messages API request.
pub fn decode_request(body: &[u8]) -> Result<Request> {
    let r: InRequest = serde_json::from_slice(body)
        .map_err(|e| bad(format!("invalid Anthropic Messages request: {e}")))?;
    let mut req = Request {
        model: r.model,
        max_output_tokens: r.max_tokens,
        temperature: r.temperature,
        top_p: r.top_p,
        stop: r.stop_sequences.unwrap_or_default(),
        stream: r.stream.unwrap_or(false),
        ..Request::default()
    };

    match r.system {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => req.messages.push(Message {
            role: Role::System,
            parts: vec![Part::Text(s)],
        }),
        Some(Value::Array(blocks)) => {
            let mut parts = Vec::new();
            for (i, b) in blocks.iter().enumerate() {
                parts.push(Part::Text(
                    str_field(b, "text", &format!("system.{i}"))?.to_string(),
                ));
            }
            req.messages.push(Message {
                role: Role::System,
                parts,
            });
        }
        Some(_) => return Err(bad("`system` must be a string or an array of text blocks")),
    }

    for (i, m) in r.messages.iter().enumerate() {
        let role = match m.role.as_str() {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            other => {
                return Err(bad(format!(
                    "messages.{i}.role: `{other}` is not `user` or `assistant`"
                )));
            }
        };
        let parts = match &m.content {
            Value::String(s) => vec![Part::Text(s.clone())],
            Value::Array(blocks) => {
                let mut parts = Vec::new();
                for (j, b) in blocks.iter().enumerate() {
                    let at = format!("messages.{i}.content.{j}");
                    parts.extend(part_of(b, &at, &mut req.dropped)?);
                }
                parts
            }
            _ => {
                return Err(bad(format!(
                    "messages.{i}.content must be a string or an array of content blocks"
                )));
            }
        };
        req.messages.push(Message { role, parts });
    }

    for (i, t) in r.tools.unwrap_or_default().iter().enumerate() {
        let name = str_field(t, "name", &format!("tools.{i}"))?;
        if let Some(kind) = t["type"].as_str().filter(|k| *k != "custom") {
            req.dropped
                .push(format!("anthropic server tool `{name}` ({kind})"));
            continue;
        }
        let Some(schema) = t.get("input_schema").filter(|s| s.is_object()) else {
            return Err(bad(format!(
                "tools.{i}: `input_schema` must be a JSON schema object"
            )));
        };
        let flat = flatten_name(None, name);
        if flat != name {
            req.tool_origins.insert(
                flat.clone(),
                ToolOrigin {
                    namespace: None,
                    name: name.to_string(),
                    kind: ToolKind::Function,
                },
            );
        }
        req.tools.push(Tool {
            name: flat,
            description: t["description"].as_str().unwrap_or("").to_string(),
            parameters: schema.into(),
            kind: ToolKind::Function,
            strict: t["strict"].as_bool().unwrap_or(false),
        });
    }

    if let Some(tc) = r.tool_choice.filter(|v| !v.is_null()) {
        req.tool_choice = Some(match tc["type"].as_str() {
            Some("auto") => ToolChoice::Auto,
            Some("any") => ToolChoice::Required,
            Some("none") => ToolChoice::None,
            Some("tool") => {
                ToolChoice::Named(flatten_name(None, str_field(&tc, "name", "tool_choice")?))
            }
            _ => return Err(bad("tool_choice.type must be auto, any, tool or none")),
        });
        if tc["disable_parallel_tool_use"].as_bool() == Some(true) {
            req.parallel_tool_calls = Some(false);
        }
    }

    if let Some(th) = r.thinking.filter(|v| !v.is_null()) {
        match th["type"].as_str() {
            Some("enabled") => {
                let Some(budget) = th["budget_tokens"].as_u64() else {
                    return Err(bad("thinking.budget_tokens must be a positive integer"));
                };
                req.reasoning = Some(effort_for(budget));
                req.reasoning_summary = true;
            }
            Some("disabled") => {}
            _ => return Err(bad("thinking.type must be `enabled` or `disabled`")),
        }
    }

    if let Some(of) = r.output_format.filter(|v| !v.is_null()) {
        match (of["type"].as_str(), of.get("schema")) {
            (Some("json_schema"), Some(schema)) => {
                req.output_format = Some(OutputFormat::JsonSchema {
                    name: "output".into(),
                    schema: schema.clone(),
                    strict: true,
                });
            }
            _ => return Err(bad("output_format must be {type: json_schema, schema}")),
        }
    }
    req.fill_result_names();
    Ok(req)
}

/// The name a client knows a tool by.
fn client_name(req: &Request, name: &str) -> String {
    match req.tool_origins.get(name) {
        Some(o) if o.namespace.is_none() => o.name.clone(),
        _ => name.to_string(),
    }
}

fn message_id(id: Option<&str>) -> String {
    match id {
        Some(id) if id.starts_with("msg_") => id.to_string(),
        Some(id) if !id.is_empty() => format!("msg_{id}"),
        _ => format!("msg_{}", crate::ids::uuid_v7().simple()),
    }
}

fn usage_json(u: &Usage) -> Value {
    json!({
        "input_tokens": u.input.saturating_sub(u.cached_input).saturating_sub(u.cache_write),
        "cache_read_input_tokens": u.cached_input,
        "cache_creation_input_tokens": u.cache_write,
        "output_tokens": u.output,
    })
}

/// A Messages `stop_reason`; calls that came with a plain end (some providers report that)
/// are reported as `tool_use`, which is what Anthropic clients loop on.
fn stop_json(stop: &StopReason, called: bool) -> &'static str {
    match stop {
        StopReason::EndTurn | StopReason::Other(_) if called => "tool_use",
        s => stop_to_wire(s),
    }
}

/// A reasoning part as a block: the original Anthropic block, or thinking with no signature.
fn reasoning_block(r: &Reasoning) -> Option<Value> {
    match &r.opaque {
        Some(o) if o.provider == PROVIDER && o.data.is_object() => Some(o.data.clone()),
        _ if r.text.is_empty() => None,
        _ => Some(json!({"type": "thinking", "thinking": r.text, "signature": ""})),
    }
}

/// Encodes a whole answer as a Messages response.
pub fn encode_response(resp: &Response, req: &Request) -> Value {
    let mut content = Vec::new();
    let mut called = false;
    for p in &resp.parts {
        match p {
            Part::Text(t) if !t.is_empty() => content.push(json!({"type": "text", "text": t})),
            Part::Reasoning(r) => content.extend(reasoning_block(r)),
            Part::ToolCall(c) => {
                called = true;
                content.push(json!({"type": "tool_use", "id": c.call_id,
                    "name": client_name(req, &c.name), "input": tool_input(c)}));
            }
            _ => {}
        }
    }
    let model = if req.model.is_empty() {
        resp.model.clone().unwrap_or_default()
    } else {
        req.model.clone()
    };
    json!({
        "id": message_id(resp.id.as_deref()),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_json(&resp.stop, called),
        "stop_sequence": null,
        "usage": usage_json(&resp.usage),
    })
}

/// An Anthropic error body for an error met before a stream started.
pub fn encode_error(err: &UpstreamError) -> (u16, Value) {
    error_body(err)
}

/// A canonical block's state on the client side.
enum Out {
    /// Reasoning whose start waits for its first delta (it may turn out redacted).
    PendingThinking,
    /// Open, with its Anthropic index.
    Open(usize, OutKind),
}

#[derive(Clone, Copy, PartialEq)]
enum OutKind {
    Text,
    Thinking,
    Redacted,
    Tool,
}

/// Canonical events → Messages SSE.
pub struct StreamEncoder {
    id: Option<String>,
    model: String,
    started: bool,
    done: bool,
    usage: Usage,
    stop: Option<StopReason>,
    called: bool,
    next: usize,
    blocks: BTreeMap<usize, Out>,
    names: BTreeMap<String, String>,
}

fn sse(out: &mut Vec<u8>, kind: &str, data: &Value) {
    out.extend_from_slice(format!("event: {kind}\ndata: {data}\n\n").as_bytes());
}

impl StreamEncoder {
    /// An encoder answering `req`.
    pub fn new(req: &Request) -> Self {
        Self {
            id: None,
            model: req.model.clone(),
            started: false,
            done: false,
            usage: Usage::default(),
            stop: None,
            called: false,
            next: 0,
            blocks: BTreeMap::new(),
            names: req
                .tool_origins
                .iter()
                .filter(|(_, o)| o.namespace.is_none())
                .map(|(k, o)| (k.clone(), o.name.clone()))
                .collect(),
        }
    }

    fn ensure_started(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let mut usage = usage_json(&self.usage);
        usage["output_tokens"] = json!(0);
        sse(
            out,
            "message_start",
            &json!({"type": "message_start", "message": {
                "id": message_id(self.id.as_deref()), "type": "message", "role": "assistant",
                "model": self.model, "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": usage}}),
        );
    }

    fn open(&mut self, canon: usize, kind: OutKind, block: Value, out: &mut Vec<u8>) -> usize {
        let index = self.next;
        self.next += 1;
        self.blocks.insert(canon, Out::Open(index, kind));
        sse(
            out,
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": block}),
        );
        index
    }

    fn delta(out: &mut Vec<u8>, index: usize, delta: Value) {
        sse(
            out,
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": index, "delta": delta}),
        );
    }

    fn close(out: &mut Vec<u8>, index: usize) {
        sse(
            out,
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        );
    }

    fn empty_thinking() -> Value {
        json!({"type": "thinking", "thinking": "", "signature": ""})
    }

    /// Encodes one event.
    pub fn event(&mut self, ev: &Event, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        match ev {
            Event::Start { id, model } => {
                self.id = id.clone();
                if self.model.is_empty() {
                    self.model = model.clone().unwrap_or_default();
                }
            }
            Event::Usage(u) => self.usage = *u,
            Event::Stop(s) => self.stop = Some(s.clone()),
            Event::BlockStart { index, kind } => {
                self.ensure_started(out);
                match kind {
                    BlockKind::Text => {
                        self.open(
                            *index,
                            OutKind::Text,
                            json!({"type": "text", "text": ""}),
                            out,
                        );
                    }
                    BlockKind::Reasoning => {
                        self.blocks.insert(*index, Out::PendingThinking);
                    }
                    BlockKind::ToolCall { call_id, name } => {
                        self.called = true;
                        let name = self
                            .names
                            .get(name)
                            .cloned()
                            .unwrap_or_else(|| name.clone());
                        self.open(
                            *index,
                            OutKind::Tool,
                            json!({"type": "tool_use", "id": call_id, "name": name, "input": {}}),
                            out,
                        );
                    }
                }
            }
            Event::Delta { index, delta } => self.on_delta(*index, delta, out),
            Event::BlockStop { index } => match self.blocks.remove(index) {
                Some(Out::Open(i, _)) => Self::close(out, i),
                Some(Out::PendingThinking) => {
                    let i = self.open(*index, OutKind::Thinking, Self::empty_thinking(), out);
                    self.blocks.remove(index);
                    Self::close(out, i);
                }
                None => {}
            },
            Event::Error(e) => {
                let (_, body) = error_body(e);
                sse(out, "error", &body);
                self.done = true;
            }
        }
    }

    fn on_delta(&mut self, canon: usize, delta: &Delta, out: &mut Vec<u8>) {
        if matches!(self.blocks.get(&canon), Some(Out::PendingThinking)) {
            match delta {
                Delta::Opaque(o)
                    if o.provider == PROVIDER && o.data["type"] == "redacted_thinking" =>
                {
                    self.open(canon, OutKind::Redacted, o.data.clone(), out);
                    return;
                }
                _ => {
                    self.open(canon, OutKind::Thinking, Self::empty_thinking(), out);
                }
            }
        }
        let Some(Out::Open(index, kind)) = self.blocks.get(&canon) else {
            return;
        };
        let (index, kind) = (*index, *kind);
        match (kind, delta) {
            (OutKind::Text, Delta::Text(t)) if !t.is_empty() => {
                Self::delta(out, index, json!({"type": "text_delta", "text": t}));
            }
            (OutKind::Thinking, Delta::Reasoning(t)) if !t.is_empty() => {
                Self::delta(out, index, json!({"type": "thinking_delta", "thinking": t}));
            }
            (OutKind::Thinking, Delta::Opaque(o)) if o.provider == PROVIDER => {
                if let Some(sig) = o.data["signature"].as_str() {
                    Self::delta(
                        out,
                        index,
                        json!({"type": "signature_delta", "signature": sig}),
                    );
                }
            }
            (OutKind::Tool, Delta::ToolArgs(a)) if !a.is_empty() => {
                Self::delta(
                    out,
                    index,
                    json!({"type": "input_json_delta", "partial_json": a}),
                );
            }
            _ => {}
        }
    }

    /// A `ping` event that keeps idle timers alive (opening the message first if need be, so
    /// a slow upstream does not hold back `message_start`).
    pub fn heartbeat(&mut self, out: &mut Vec<u8>) {
        if !self.done {
            // A ping before `message_start` would be out of order for the SDKs.
            self.ensure_started(out);
            sse(out, "ping", &json!({"type": "ping"}));
        }
    }

    /// Ends the stream: open blocks closed, then `message_delta` and `message_stop`, or an
    /// error event if the answer never stopped.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        self.done = true;
        let Some(stop) = self.stop.take() else {
            let (_, kind) = error_kind(&UpstreamError {
                code: crate::canonical::ErrorCode::ServerError,
                message: String::new(),
                retry_after_secs: None,
                status: 500,
            });
            sse(
                out,
                "error",
                &json!({"type": "error", "error": {"type": kind,
                    "message": "the upstream answer ended before it was complete"}}),
            );
            return;
        };
        self.ensure_started(out);
        for (_, b) in std::mem::take(&mut self.blocks) {
            if let Out::Open(i, _) = b {
                Self::close(out, i);
            }
        }
        sse(
            out,
            "message_delta",
            &json!({"type": "message_delta",
                "delta": {"stop_reason": stop_json(&stop, self.called), "stop_sequence": null},
                "usage": usage_json(&self.usage)}),
        );
        sse(out, "message_stop", &json!({"type": "message_stop"}));
    }
}
