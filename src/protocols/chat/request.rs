//! Chat request bodies: canonical → `POST /chat/completions` for upstream servers, and a Chat
//! client's body → canonical for inbound routes.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value, json};

use super::{as_json_string, call_arguments, content_text};
use crate::canonical::{
    Effort, Image, Message, OutputFormat, Part, Request, ResultContent, Role, Schema, Tool,
    ToolCall, ToolChoice, ToolKind, ToolOrigin, ToolResult, flatten_name,
};
use crate::protocols::ModelInfo;
use crate::{Error, Result};

// ---------------------------------------------------------------------------------------------
// Upstream: canonical → Chat
// ---------------------------------------------------------------------------------------------

/// Encodes `req` as a Chat Completions body for `model`.
pub fn encode_request(req: &Request, model: &str, info: &ModelInfo) -> Result<Vec<u8>> {
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(encode_messages(req)));
    if !req.tools.is_empty() {
        body.insert(
            "tools".into(),
            Value::Array(req.tools.iter().map(encode_tool).collect()),
        );
        if let Some(p) = req.parallel_tool_calls {
            body.insert("parallel_tool_calls".into(), json!(p));
        }
    }
    if let Some(choice) = &req.tool_choice {
        let v = match choice {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Named(name) => json!({"type": "function", "function": {"name": name}}),
        };
        // A forced tool choice with no tools is an error on every server; "none" and "auto"
        // are meaningless without tools, so drop them too.
        if !req.tools.is_empty() {
            body.insert("tool_choice".into(), v);
        }
    }
    if let Some(max) = req.max_output_tokens {
        let max = info.max_output.map_or(max, |cap| max.min(cap));
        body.insert("max_tokens".into(), json!(max));
    }
    if let Some(t) = req.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        body.insert("top_p".into(), json!(p));
    }
    if !req.stop.is_empty() {
        body.insert("stop".into(), json!(req.stop));
    }
    match &req.output_format {
        Some(OutputFormat::JsonObject) => {
            body.insert("response_format".into(), json!({"type": "json_object"}));
        }
        Some(OutputFormat::JsonSchema {
            name,
            schema,
            strict,
        }) => {
            body.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": strict}}),
            );
        }
        Some(OutputFormat::Text) | None => {}
    }
    if let Some(effort) = req.reasoning {
        // The three values every Chat server that takes `reasoning_effort` understands.
        let e = match effort {
            Effort::None => None,
            Effort::Minimal | Effort::Low => Some("low"),
            Effort::Medium => Some("medium"),
            Effort::High | Effort::XHigh => Some("high"),
        };
        if let Some(e) = e {
            body.insert("reasoning_effort".into(), json!(e));
        }
    }
    body.insert("stream".into(), json!(req.stream));
    if req.stream {
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Ok(crate::json_text::to_vec(&Value::Object(body)))
}

fn encode_tool(t: &Tool) -> Value {
    let mut f = Map::new();
    f.insert("name".into(), json!(t.name));
    if !t.description.is_empty() {
        f.insert("description".into(), json!(t.description));
    }
    let params = if t.parameters.is_object() {
        t.parameters.value()
    } else {
        json!({"type": "object", "properties": {}})
    };
    f.insert("parameters".into(), params);
    if t.strict {
        f.insert("strict".into(), json!(true));
    }
    json!({"type": "function", "function": Value::Object(f)})
}

fn image_url(img: &Image) -> String {
    match img {
        Image::Url(u) => u.clone(),
        Image::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
    }
}

fn result_text(r: &ToolResult) -> String {
    r.content
        .iter()
        .map(|c| match c {
            ResultContent::Text(t) => t.as_str(),
            ResultContent::Image(_) => "[image omitted]",
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where each tool result goes: paired results follow their call; the rest stay in place as
/// user text.
struct Pairing<'a> {
    /// call id → the result answering it.
    results: HashMap<&'a str, &'a ToolResult>,
    /// (message index, part index) of results emitted after their call.
    moved: HashSet<(usize, usize)>,
}

fn pair_results<'a>(messages: &'a [Cow<'_, Message>]) -> Pairing<'a> {
    let mut calls: HashMap<&str, usize> = HashMap::new();
    let mut p = Pairing {
        results: HashMap::new(),
        moved: HashSet::new(),
    };
    for (mi, m) in messages.iter().enumerate() {
        for (pi, part) in m.parts.iter().enumerate() {
            match part {
                Part::ToolCall(c) if m.role == Role::Assistant => {
                    calls.entry(c.call_id.as_str()).or_insert(mi);
                }
                Part::ToolResult(r) => {
                    let earlier = calls.get(r.call_id.as_str()).is_some_and(|&ci| ci < mi);
                    if earlier && !p.results.contains_key(r.call_id.as_str()) {
                        p.results.insert(r.call_id.as_str(), r);
                        p.moved.insert((mi, pi));
                    }
                }
                _ => {}
            }
        }
    }
    p
}

fn user_message(parts: &mut Vec<Value>, out: &mut Vec<Value>) {
    if parts.is_empty() {
        return;
    }
    let only_text = parts.iter().all(|p| p["type"] == "text");
    let content = if only_text {
        let texts: Vec<&str> = parts.iter().filter_map(|p| p["text"].as_str()).collect();
        json!(texts.join("\n"))
    } else {
        Value::Array(std::mem::take(parts))
    };
    parts.clear();
    out.push(json!({"role": "user", "content": content}));
}

fn encode_messages(req: &Request) -> Vec<Value> {
    let (system, rest) = req.split_system();
    let mut out = Vec::new();
    if !system.is_empty() {
        out.push(json!({"role": "system", "content": system.join("\n\n")}));
    }
    let pairing = pair_results(&rest);
    for (mi, m) in rest.iter().enumerate() {
        match m.role {
            Role::Assistant => encode_assistant(m, &pairing, &mut out),
            Role::System | Role::User | Role::Tool => {
                let mut parts = Vec::new();
                for (pi, p) in m.parts.iter().enumerate() {
                    match p {
                        Part::Text(t) => parts.push(json!({"type": "text", "text": t})),
                        Part::Image(img) => parts.push(
                            json!({"type": "image_url", "image_url": {"url": image_url(img)}}),
                        ),
                        Part::ToolResult(r) if !pairing.moved.contains(&(mi, pi)) => {
                            // No earlier call to attach it to: keep what it says as user text.
                            user_message(&mut parts, &mut out);
                            out.push(json!({"role": "user", "content": format!(
                                "[result of tool call {}]\n{}", r.call_id, result_text(r))}));
                        }
                        Part::ToolResult(_) | Part::ToolCall(_) | Part::Reasoning(_) => {}
                    }
                }
                user_message(&mut parts, &mut out);
            }
        }
    }
    out
}

fn encode_assistant(m: &Message, pairing: &Pairing<'_>, out: &mut Vec<Value>) {
    let mut text = String::new();
    let mut calls: Vec<&ToolCall> = Vec::new();
    for p in &m.parts {
        match p {
            Part::Text(t) => text.push_str(t),
            Part::ToolCall(c) => calls.push(c),
            // Chat has no place for reasoning or images in assistant turns.
            Part::Reasoning(_) | Part::Image(_) | Part::ToolResult(_) => {}
        }
    }
    if text.is_empty() && calls.is_empty() {
        return;
    }
    let mut msg = Map::new();
    msg.insert("role".into(), json!("assistant"));
    msg.insert(
        "content".into(),
        if text.is_empty() {
            Value::Null
        } else {
            json!(text)
        },
    );
    if !calls.is_empty() {
        let tc: Vec<Value> = calls
            .iter()
            .map(|c| {
                json!({"id": c.call_id, "type": "function",
                       "function": {"name": c.name, "arguments": call_arguments(c)}})
            })
            .collect();
        msg.insert("tool_calls".into(), Value::Array(tc));
    }
    out.push(Value::Object(msg));
    let mut answered = HashSet::new();
    for c in calls {
        if !answered.insert(c.call_id.as_str()) {
            continue;
        }
        // Every call needs an answer before the next turn; an unanswered one (an interrupted
        // turn) gets a placeholder so strict servers accept the history.
        let content = pairing
            .results
            .get(c.call_id.as_str())
            .map_or_else(|| "[no result]".to_string(), |r| result_text(r));
        out.push(json!({"role": "tool", "tool_call_id": c.call_id, "content": content}));
    }
}

// ---------------------------------------------------------------------------------------------
// Inbound: Chat → canonical
// ---------------------------------------------------------------------------------------------

fn bad(msg: impl Into<String>) -> Error {
    Error::Translate(msg.into())
}

/// Flattens client tool names to provider-safe ones, remembering where they came from.
struct Names {
    origins: BTreeMap<String, ToolOrigin>,
}

impl Names {
    fn map(&mut self, name: &str) -> String {
        let flat = flatten_name(None, name);
        self.origins.entry(flat.clone()).or_insert(ToolOrigin {
            namespace: None,
            name: name.to_string(),
            kind: ToolKind::Function,
        });
        flat
    }
}

/// Decodes a Chat client's request body.
pub fn decode_request(body: &[u8]) -> Result<Request> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("the request body is not valid JSON: {e}")))?;
    let Some(obj) = v.as_object() else {
        return Err(bad("the request body must be a JSON object"));
    };
    let mut req = Request {
        model: obj
            .get("model")
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
            .ok_or_else(|| bad("missing required parameter: 'model'"))?
            .to_string(),
        ..Request::default()
    };
    if obj.get("n").and_then(Value::as_u64).is_some_and(|n| n > 1) {
        return Err(bad("'n' greater than 1 is not supported by this route"));
    }
    let mut names = Names {
        origins: BTreeMap::new(),
    };
    let Some(messages) = obj.get("messages").and_then(Value::as_array) else {
        return Err(bad("missing required parameter: 'messages'"));
    };
    let mut legacy_calls: Vec<(String, String)> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let msg = decode_message(m, i, &mut names, &mut legacy_calls)?;
        req.messages.push(msg);
    }
    if let Some(tools) = obj.get("tools").and_then(Value::as_array) {
        for t in tools {
            let ty = t.get("type").and_then(Value::as_str).unwrap_or("");
            let f = &t["function"];
            let Some(name) = f
                .get("name")
                .and_then(Value::as_str)
                .filter(|_| ty == "function")
            else {
                let label = t
                    .get("name")
                    .or_else(|| t[ty].get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                req.dropped
                    .push(format!("tool of type '{ty}' {label}").trim().to_string());
                continue;
            };
            let parameters = match f.get("parameters") {
                Some(p) if p.is_object() => Schema::from(p),
                _ => Schema::no_arguments(),
            };
            req.tools.push(Tool {
                name: names.map(name),
                description: f
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                parameters,
                kind: ToolKind::Function,
                strict: f.get("strict").and_then(Value::as_bool).unwrap_or(false),
            });
        }
    }
    req.tool_choice = match obj.get("tool_choice") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(match s.as_str() {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            other => return Err(bad(format!("unknown tool_choice '{other}'"))),
        }),
        Some(o) => match o["function"]["name"].as_str() {
            Some(name) => Some(ToolChoice::Named(names.map(name))),
            // `allowed_tools` and friends: let the model decide.
            None => Some(ToolChoice::Auto),
        },
    };
    req.parallel_tool_calls = obj.get("parallel_tool_calls").and_then(Value::as_bool);
    req.max_output_tokens = obj
        .get("max_completion_tokens")
        .and_then(Value::as_u64)
        .or_else(|| obj.get("max_tokens").and_then(Value::as_u64));
    req.temperature = obj.get("temperature").and_then(Value::as_f64);
    req.top_p = obj.get("top_p").and_then(Value::as_f64);
    req.stop = match obj.get("stop") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    req.output_format = match obj.get("response_format") {
        None | Some(Value::Null) => None,
        Some(rf) => match rf["type"].as_str() {
            Some("text") => Some(OutputFormat::Text),
            Some("json_object") => Some(OutputFormat::JsonObject),
            Some("json_schema") => {
                let js = &rf["json_schema"];
                Some(OutputFormat::JsonSchema {
                    name: js["name"].as_str().unwrap_or("response").to_string(),
                    schema: js.get("schema").cloned().unwrap_or_else(|| json!({})),
                    strict: js["strict"].as_bool().unwrap_or(false),
                })
            }
            other => {
                return Err(bad(format!(
                    "unsupported response_format type {}",
                    other.unwrap_or("(missing)")
                )));
            }
        },
    };
    req.reasoning = match obj.get("reasoning_effort") {
        None | Some(Value::Null) => None,
        Some(e) => {
            let s = e.as_str().unwrap_or("");
            Some(Effort::parse(s).ok_or_else(|| bad(format!("unknown reasoning_effort '{s}'")))?)
        }
    };
    req.stream = obj.get("stream").and_then(Value::as_bool).unwrap_or(false);
    // `obj` is a Map, whose `[]` panics on a missing key: `get` it.
    req.stream_usage = req.stream
        && obj
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            == Some(true);
    req.cache_key = obj
        .get("prompt_cache_key")
        .and_then(Value::as_str)
        .map(str::to_string);
    req.tool_origins = names.origins;
    req.fill_result_names();
    Ok(req)
}

fn decode_message(
    m: &Value,
    i: usize,
    names: &mut Names,
    legacy_calls: &mut Vec<(String, String)>,
) -> Result<Message> {
    let role = m.get("role").and_then(Value::as_str).unwrap_or("");
    let content = m.get("content").unwrap_or(&Value::Null);
    Ok(match role {
        "system" | "developer" => Message {
            role: Role::System,
            parts: text_parts(content),
        },
        "user" => Message {
            role: Role::User,
            parts: user_parts(content, i)?,
        },
        "assistant" => {
            let mut parts = Vec::new();
            if let Some(r) = m
                .get("reasoning_content")
                .or_else(|| m.get("reasoning"))
                .and_then(Value::as_str)
                .filter(|r| !r.is_empty())
            {
                parts.push(Part::Reasoning(crate::canonical::Reasoning {
                    text: r.to_string(),
                    opaque: None,
                }));
            }
            let text = content_text(content);
            if !text.is_empty() {
                parts.push(Part::Text(text));
            }
            for c in m
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let f = &c["function"];
                let name = f["name"].as_str().unwrap_or("");
                parts.push(Part::ToolCall(ToolCall {
                    call_id: c["id"].as_str().unwrap_or("").to_string(),
                    name: names.map(name),
                    arguments: as_json_string(&f["arguments"]),
                    kind: ToolKind::Function,
                }));
            }
            if let Some(f) = m.get("function_call").filter(|f| f.is_object()) {
                let name = f["name"].as_str().unwrap_or("").to_string();
                let id = format!("call_legacy_{i}");
                legacy_calls.push((name.clone(), id.clone()));
                parts.push(Part::ToolCall(ToolCall {
                    call_id: id,
                    name: names.map(&name),
                    arguments: as_json_string(&f["arguments"]),
                    kind: ToolKind::Function,
                }));
            }
            Message {
                role: Role::Assistant,
                parts,
            }
        }
        "tool" => Message {
            role: Role::Tool,
            parts: vec![Part::ToolResult(ToolResult {
                call_id: m["tool_call_id"].as_str().unwrap_or("").to_string(),
                name: None,
                content: vec![ResultContent::Text(content_text(content))],
                is_error: false,
            })],
        },
        "function" => {
            let name = m["name"].as_str().unwrap_or("");
            // The most recent legacy call of that name is the one this answers.
            let id = legacy_calls
                .iter()
                .rposition(|(n, _)| n == name)
                .map(|pos| legacy_calls.remove(pos).1)
                .unwrap_or_else(|| format!("call_legacy_{i}"));
            Message {
                role: Role::Tool,
                parts: vec![Part::ToolResult(ToolResult {
                    call_id: id,
                    name: Some(names.map(name)),
                    content: vec![ResultContent::Text(content_text(content))],
                    is_error: false,
                })],
            }
        }
        other => return Err(bad(format!("messages[{i}]: unknown role '{other}'"))),
    })
}

fn text_parts(content: &Value) -> Vec<Part> {
    match content {
        Value::String(s) => vec![Part::Text(s.clone())],
        Value::Array(a) => a
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .map(|t| Part::Text(t.to_string()))
            .collect(),
        _ => Vec::new(),
    }
}

fn user_parts(content: &Value, i: usize) -> Result<Vec<Part>> {
    let Value::Array(items) = content else {
        return Ok(text_parts(content));
    };
    let mut parts = Vec::new();
    for p in items {
        match p.get("type").and_then(Value::as_str).unwrap_or("") {
            "text" => parts.push(Part::Text(p["text"].as_str().unwrap_or("").to_string())),
            "image_url" => {
                let url = p["image_url"]["url"]
                    .as_str()
                    .or_else(|| p["image_url"].as_str())
                    .ok_or_else(|| bad(format!("messages[{i}]: image_url without a url")))?;
                parts.push(Part::Image(Image::Url(url.to_string())));
            }
            "input_audio" => return Err(bad("audio input is not supported by this route")),
            "file" => return Err(bad("file input is not supported by this route")),
            other => {
                return Err(bad(format!(
                    "messages[{i}]: unsupported content part type '{other}'"
                )));
            }
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::chat::testutil::fixture;

    fn text(role: Role, t: &str) -> Message {
        Message {
            role,
            parts: vec![Part::Text(t.into())],
        }
    }

    fn call(id: &str, name: &str, args: &str, kind: ToolKind) -> Part {
        Part::ToolCall(ToolCall {
            call_id: id.into(),
            name: name.into(),
            arguments: args.into(),
            kind,
        })
    }

    fn result(id: &str, content: Vec<ResultContent>) -> Part {
        Part::ToolResult(ToolResult {
            call_id: id.into(),
            name: None,
            content,
            is_error: false,
        })
    }

    fn encode(req: &Request, info: &ModelInfo) -> Value {
        serde_json::from_slice(&encode_request(req, "qwen3-coder", info).expect("encodes"))
            .expect("json")
    }

    /// What the Responses codec makes of a Codex turn with a tool round trip.
    fn codex_like() -> Request {
        Request {
            model: "local/qwen3-coder".into(),
            messages: vec![
                Message {
                    role: Role::System,
                    parts: vec![
                        Part::Text("You are Codex.".into()),
                        Part::Text("<permissions>".into()),
                    ],
                },
                text(Role::User, "<environment_context/>"),
                Message {
                    role: Role::User,
                    parts: vec![
                        Part::Text("fix the bug in this screenshot".into()),
                        Part::Image(Image::Base64 {
                            media_type: "image/png".into(),
                            data: "iVBORw0KGgo=".into(),
                        }),
                    ],
                },
                Message {
                    role: Role::Assistant,
                    parts: vec![
                        Part::Reasoning(crate::canonical::Reasoning {
                            text: "Look first.".into(),
                            opaque: None,
                        }),
                        call(
                            "call_1",
                            "exec_command",
                            r#"{"cmd":"ls"}"#,
                            ToolKind::Function,
                        ),
                        call(
                            "call_2",
                            "view_image",
                            r#"{"path":"a.png"}"#,
                            ToolKind::Function,
                        ),
                    ],
                },
                // Results in the opposite order of the calls.
                Message {
                    role: Role::Tool,
                    parts: vec![result(
                        "call_2",
                        vec![
                            ResultContent::Text("here:".into()),
                            ResultContent::Image(Image::Url("https://x/a.png".into())),
                        ],
                    )],
                },
                Message {
                    role: Role::Tool,
                    parts: vec![result(
                        "call_1",
                        vec![ResultContent::Text("a.rs\nb.rs".into())],
                    )],
                },
                Message {
                    role: Role::Assistant,
                    parts: vec![call(
                        "call_3",
                        "apply_patch",
                        "*** Begin Patch\n*** End Patch\n",
                        ToolKind::Custom,
                    )],
                },
                Message {
                    role: Role::User,
                    parts: vec![
                        result("call_3", vec![ResultContent::Text("Done!".into())]),
                        result("ghost", vec![ResultContent::Text("stray".into())]),
                    ],
                },
                text(Role::Assistant, "Fixed."),
                text(Role::System, "Be brief."),
                text(Role::User, "thanks"),
            ],
            tools: vec![
                Tool {
                    name: "exec_command".into(),
                    description: "Run a command".into(),
                    parameters: json!({"type": "object", "properties": {"cmd": {"type": "string"}}}).into(),
                    kind: ToolKind::Function,
                    strict: false,
                },
                Tool {
                    name: "apply_patch".into(),
                    description: String::new(),
                    parameters: json!({"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}).into(),
                    kind: ToolKind::Custom,
                    strict: true,
                },
            ],
            tool_choice: Some(ToolChoice::Auto),
            parallel_tool_calls: Some(true),
            max_output_tokens: Some(50_000),
            reasoning: Some(Effort::XHigh),
            stream: true,
            ..Request::default()
        }
    }

    #[test]
    fn encodes_a_codex_like_conversation() {
        let info = ModelInfo {
            context_window: Some(262_144),
            max_output: Some(32_768),
        };
        let body = encode(&codex_like(), &info);
        let expected_messages = json!([
            {"role": "system", "content": "You are Codex.\n\n<permissions>"},
            {"role": "user", "content": "<environment_context/>"},
            {"role": "user", "content": [
                {"type": "text", "text": "fix the bug in this screenshot"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "exec_command", "arguments": "{\"cmd\":\"ls\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "view_image", "arguments": "{\"path\":\"a.png\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "a.rs\nb.rs"},
            {"role": "tool", "tool_call_id": "call_2", "content": "here:\n[image omitted]"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_3", "type": "function", "function": {"name": "apply_patch",
                 "arguments": "{\"input\":\"*** Begin Patch\\n*** End Patch\\n\"}"}}]},
            {"role": "tool", "tool_call_id": "call_3", "content": "Done!"},
            {"role": "user", "content": "[result of tool call ghost]\nstray"},
            {"role": "assistant", "content": "Fixed."},
            {"role": "user", "content": "Be brief."},
            {"role": "user", "content": "thanks"},
        ]);
        assert_eq!(body["messages"], expected_messages);
        assert_eq!(
            body["tools"],
            json!([
                {"type": "function", "function": {"name": "exec_command", "description": "Run a command",
                 "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}},
                {"type": "function", "function": {"name": "apply_patch",
                 "parameters": {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]},
                 "strict": true}},
            ])
        );
        assert_eq!(body["model"], "qwen3-coder");
        assert_eq!(body["tool_choice"], "auto");
        assert_eq!(body["parallel_tool_calls"], true);
        assert_eq!(body["max_tokens"], 32_768);
        assert_eq!(body["reasoning_effort"], "high");
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"], json!({"include_usage": true}));
        for absent in ["temperature", "top_p", "stop", "response_format"] {
            assert!(body.get(absent).is_none(), "{absent} should be absent");
        }
    }

    #[test]
    fn omits_what_was_not_asked_and_maps_the_rest() {
        let mut req = Request {
            messages: vec![text(Role::User, "hi")],
            tool_choice: Some(ToolChoice::Required),
            parallel_tool_calls: Some(false),
            reasoning: Some(Effort::None),
            temperature: Some(0.5),
            top_p: Some(0.25),
            stop: vec!["END".into()],
            output_format: Some(OutputFormat::JsonSchema {
                name: "out".into(),
                schema: json!({"type": "object"}),
                strict: true,
            }),
            ..Request::default()
        };
        let body = encode(&req, &ModelInfo::default());
        for absent in [
            "tools",
            "tool_choice",
            "parallel_tool_calls",
            "max_tokens",
            "reasoning_effort",
            "stream_options",
        ] {
            assert!(body.get(absent).is_none(), "{absent} should be absent");
        }
        assert_eq!(body["messages"], json!([{"role": "user", "content": "hi"}]));
        assert_eq!(body["stream"], false);
        assert_eq!(body["temperature"], 0.5);
        assert_eq!(body["top_p"], 0.25);
        assert_eq!(body["stop"], json!(["END"]));
        assert_eq!(
            body["response_format"],
            json!({"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": true}})
        );
        req.tools = codex_like().tools;
        req.tool_choice = Some(ToolChoice::Named("exec_command".into()));
        req.output_format = Some(OutputFormat::JsonObject);
        req.max_output_tokens = Some(100);
        req.reasoning = Some(Effort::Minimal);
        let body = encode(&req, &ModelInfo::default());
        assert_eq!(
            body["tool_choice"],
            json!({"type": "function", "function": {"name": "exec_command"}})
        );
        assert_eq!(body["parallel_tool_calls"], false);
        assert_eq!(body["response_format"], json!({"type": "json_object"}));
        assert_eq!(body["max_tokens"], 100);
        assert_eq!(body["reasoning_effort"], "low");
    }

    #[test]
    fn answers_every_call_and_skips_empty_assistant_turns() {
        let req = Request {
            messages: vec![
                text(Role::User, "go"),
                Message {
                    role: Role::Assistant,
                    parts: vec![Part::Reasoning(crate::canonical::Reasoning {
                        text: "only thinking".into(),
                        opaque: None,
                    })],
                },
                Message {
                    role: Role::Assistant,
                    parts: vec![
                        Part::Text("Calling.".into()),
                        call("c1", "f", "{}", ToolKind::Function),
                    ],
                },
                text(Role::User, "never mind"),
            ],
            ..Request::default()
        };
        let body = encode(&req, &ModelInfo::default());
        assert_eq!(
            body["messages"],
            json!([
                {"role": "user", "content": "go"},
                {"role": "assistant", "content": "Calling.", "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "[no result]"},
                {"role": "user", "content": "never mind"},
            ])
        );
    }

    #[test]
    fn decodes_a_real_chat_request_with_tools_and_results() {
        let req = decode_request(fixture("client_request_tools.json").as_bytes()).expect("decodes");
        assert_eq!(req.model, "claude-sonnet-4-5");
        let roles: Vec<Role> = req.messages.iter().map(|m| m.role).collect();
        assert_eq!(
            roles,
            [
                Role::System,
                Role::System,
                Role::User,
                Role::Assistant,
                Role::Tool,
                Role::Tool,
                Role::Assistant,
                Role::User
            ]
        );
        assert_eq!(
            req.messages[2].parts[1],
            Part::Image(Image::Url("data:image/png;base64,iVBORw0KGgo=".into()))
        );
        assert_eq!(
            req.messages[3].parts,
            vec![
                call(
                    "call_w1",
                    "get_weather",
                    r#"{"city":"Paris"}"#,
                    ToolKind::Function
                ),
                call(
                    "call_w2",
                    "get_time",
                    r#"{"tz":"Europe/Paris"}"#,
                    ToolKind::Function
                ),
            ]
        );
        assert_eq!(
            req.messages[5].parts,
            vec![Part::ToolResult(ToolResult {
                call_id: "call_w2".into(),
                name: Some("get_time".into()),
                content: vec![ResultContent::Text("14:05".into())],
                is_error: false,
            })]
        );
        assert_eq!(req.tools.len(), 2);
        assert!(req.tools[0].strict);
        assert_eq!(req.tools[1].description, "");
        assert_eq!(req.dropped, vec!["tool of type 'custom' freeform_patch"]);
        assert_eq!(
            req.tool_choice,
            Some(ToolChoice::Named("get_weather".into()))
        );
        assert_eq!(req.parallel_tool_calls, Some(false));
        assert_eq!(req.max_output_tokens, Some(2048));
        assert_eq!(req.temperature, Some(0.2));
        assert_eq!(req.top_p, Some(0.9));
        assert_eq!(req.stop, vec!["\n\nUser:"]);
        assert_eq!(req.reasoning, Some(Effort::High));
        assert!(req.stream && req.stream_usage);
        assert!(matches!(
            req.output_format,
            Some(OutputFormat::JsonSchema { strict: true, .. })
        ));
        assert_eq!(
            req.tool_origins.get("get_weather").map(|o| o.name.as_str()),
            Some("get_weather")
        );
    }

    #[test]
    fn decodes_legacy_functions_and_flattens_odd_names() {
        let body = json!({"model": "m", "stream_options": {"include_usage": true}, "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": null, "function_call": {"name": "lookup", "arguments": "{}"}},
            {"role": "function", "name": "lookup", "content": "found"},
            {"role": "assistant", "tool_calls": [{"id": "c9", "type": "function", "function": {"name": "my.tool", "arguments": {"a": 1}}}]},
        ], "tools": [{"type": "function", "function": {"name": "my.tool"}}], "stop": ["a", "b"], "max_tokens": 7});
        let req = decode_request(body.to_string().as_bytes()).expect("decodes");
        let Part::ToolCall(legacy) = &req.messages[1].parts[0] else {
            panic!("legacy call: {:?}", req.messages[1]);
        };
        let Part::ToolResult(res) = &req.messages[2].parts[0] else {
            panic!("legacy result: {:?}", req.messages[2]);
        };
        assert_eq!(legacy.call_id, res.call_id);
        assert_eq!(res.name.as_deref(), Some("lookup"));
        let Part::ToolCall(odd) = &req.messages[3].parts[0] else {
            panic!("call: {:?}", req.messages[3]);
        };
        assert_eq!(odd.arguments, r#"{"a":1}"#);
        assert_eq!(odd.name, req.tools[0].name);
        assert!(odd.name.starts_with("my_tool_"), "{}", odd.name);
        assert_eq!(req.tool_origins[&odd.name].name, "my.tool");
        assert_eq!(req.stop, vec!["a", "b"]);
        assert_eq!(req.max_output_tokens, Some(7));
        assert!(!req.stream && !req.stream_usage);
        assert_eq!(
            req.tools[0].parameters.value(),
            json!({"type": "object", "properties": {}})
        );
    }

    #[test]
    fn rejects_what_this_route_cannot_carry() {
        let cases = [
            (
                json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]}]}),
                "audio input is not supported by this route",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "file", "file": {"file_id": "f"}}]}]}),
                "file input is not supported by this route",
            ),
            (
                json!({"model": "m", "messages": [{"role": "wizard", "content": "x"}]}),
                "unknown role",
            ),
            (json!({"messages": []}), "'model'"),
            (json!({"model": "m"}), "'messages'"),
            (
                json!({"model": "m", "messages": [], "reasoning_effort": "max"}),
                "reasoning_effort",
            ),
            (json!({"model": "m", "messages": [], "n": 3}), "'n'"),
        ];
        for (body, needle) in cases {
            match decode_request(body.to_string().as_bytes()) {
                Err(Error::Translate(m)) => assert!(m.contains(needle), "{m} lacks {needle}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        assert!(matches!(
            decode_request(b"not json"),
            Err(Error::Translate(_))
        ));
        assert!(matches!(decode_request(b"[1]"), Err(Error::Translate(_))));
    }
}
