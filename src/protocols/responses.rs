//! OpenAI Responses API codec, inbound side: Codex speaks only this. Decodes every item and
//! tool type Codex sends (custom tools, namespaces, reasoning, the responses-lite
//! `additional_tools` item) and encodes answers the way Codex needs them: one
//! `response.output_item.done` per item, then `response.completed` with full usage.

use std::collections::BTreeMap;

use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::canonical::{
    BlockKind, Delta, Effort, ErrorCode, Event, Image, Message, Opaque, OutputFormat, Part,
    Reasoning, Request, Response, ResultContent, Role, Schema, StopReason, Tool, ToolCall,
    ToolChoice, ToolKind, ToolOrigin, ToolResult, UpstreamError, flatten_name,
};
use crate::error::{Error, Result};
use crate::usage::Usage;
use wire::{ContentPart, Item, TextOr, ToolDef, Txt, owned, text};

mod input_memo;
#[cfg(test)]
pub(crate) use input_memo::replayed;
mod tools_memo;
#[cfg(test)]
pub(crate) use tools_memo::remembered;
mod wire;

use input_memo::Op;

/// Every Codex request fixture (`tests/fixtures/codex/*.json`), with its path, for the tests
/// here and in the modules that take Codex requests further.
#[cfg(test)]
pub(crate) fn codex_fixtures() -> Vec<(std::path::PathBuf, String)> {
    let dir = format!("{}/tests/fixtures/codex", env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("fixtures").flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("fixture");
        out.push((path, text));
    }
    out
}

fn bad(msg: impl Into<String>) -> Error {
    Error::Translate(msg.into())
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", crate::ids::uuid_v7().simple())
}

// ---------------------------------------------------------------- request

/// Decodes a Responses request.
pub fn decode_request(body: &[u8]) -> Result<Request> {
    // One UTF-8 check of the whole body: from bytes, serde_json checks every string it
    // borrows (about 500 in a Codex request) one call at a time.
    let Ok(text) = crate::json_text::utf8(body) else {
        return Err(bad(
            "request body is not valid UTF-8; send JSON encoded as UTF-8",
        ));
    };
    let b: wire::Body<'_> = serde_json::from_str(text).map_err(|e| body_error(body, &e))?;
    request_of(b, None, Input::Body)
}

/// [`decode_request`] for a body the gateway received from `caller`, with where its scan
/// found the one `tools` and `input` fields: the tools come from this thread's memo when the
/// same caller sent the same bytes before (`tools_memo`), the leading `input` items it sent
/// before are replayed from another (`input_memo`), and the rest of the body is decoded
/// without them. The result is [`decode_request`]'s, errors included: anything that does not
/// decode this way is decoded whole.
pub fn decode_received(
    body: &bytes::Bytes,
    at: &super::Received,
    caller: &[u8],
) -> Result<Request> {
    let whole = || decode_request(body);
    let Ok(text) = crate::json_text::utf8(body) else {
        return whole();
    };
    // The field's value, if the ranges are sound.
    let value_of = |f: &super::FieldAt| {
        let sound = f.field.contains(&f.value.start)
            && f.value.end <= f.field.end
            && text.get(..f.field.start).is_some()
            && text.get(f.field.end..).is_some();
        sound.then(|| text.get(f.value.clone())).flatten()
    };
    let mut cuts: Vec<std::ops::Range<usize>> = Vec::with_capacity(3);
    // Two fields side by side may name the same comma: then only the first is cut.
    let apart = |cuts: &[std::ops::Range<usize>], f: &super::FieldAt| {
        cuts.iter()
            .all(|c| c.end <= f.field.start || f.field.end <= c.start)
    };
    let mut tools = None;
    if let Some((f, value)) = at.tools.as_ref().and_then(|f| Some((f, value_of(f)?))) {
        let Some(decoded) = tools_memo::decode(value, caller) else {
            return whole();
        };
        tools = Some(decoded);
        cuts.push(f.field.clone());
    }
    let mut input = None;
    if let Some((f, value)) = at.input.as_ref().and_then(|f| Some((f, value_of(f)?)))
        && apart(&cuts, f)
        && let Some(shared) = input_memo::shared(value, caller)
    {
        input = Some((f.value.clone(), shared));
        cuts.push(f.field.clone());
    }
    if cuts.is_empty() {
        return whole();
    }
    // A field nobody reads is not parsed either (serde would walk all of it to skip it).
    if let Some(f) = at.unread.as_ref().filter(|f| value_of(f).is_some())
        && apart(&cuts, f)
    {
        cuts.push(f.field.clone());
    }
    cuts.sort_by_key(|c| c.start);
    let mut rest = String::with_capacity(text.len() - cuts.iter().map(|c| c.len()).sum::<usize>());
    let mut from = 0;
    for c in &cuts {
        rest.push_str(&text[from..c.start]);
        from = c.end;
    }
    rest.push_str(&text[from..]);
    let b = match serde_json::from_str::<wire::Body<'_>>(&rest) {
        Ok(b)
            if !(tools.is_some() && b.tools.is_some() || input.is_some() && b.input.is_some()) =>
        {
            b
        }
        _ => return whole(),
    };
    let Some((range, mut shared)) = input else {
        return request_of(b, tools, Input::Body);
    };
    let ops = std::mem::take(&mut shared.ops);
    let first = shared.items;
    let Some(items) = shared.rest() else {
        return whole();
    };
    let mut new = Vec::with_capacity(items.len());
    let req = request_of(
        b,
        tools,
        Input::Known {
            ops,
            first,
            items,
            new: &mut new,
        },
    )?;
    input_memo::remember(shared, body, range, new);
    Ok(req)
}

/// Where a request's `input` items come from.
enum Input<'a, 'n> {
    /// The body's own `input`.
    Body,
    /// The ops of the `first` items, from the input memo, then `items` to decode (each with
    /// where it ends in the `input` text); what each did goes to `new`.
    Known {
        ops: Vec<Op>,
        first: usize,
        items: Vec<(usize, Item<'a>)>,
        new: &'n mut Vec<(usize, Option<Vec<Op>>)>,
    },
}

/// The canonical request of a decoded body; `tools`, when given, stand for the body's own,
/// and `input` says where the items come from.
fn request_of(
    b: wire::Body<'_>,
    tools: Option<tools_memo::Decoded>,
    input: Input<'_, '_>,
) -> Result<Request> {
    let mut req = Request {
        model: owned(b.model),
        stream: b.stream.unwrap_or(false),
        max_output_tokens: b.max_output_tokens,
        temperature: b.temperature,
        top_p: b.top_p,
        parallel_tool_calls: b.parallel_tool_calls,
        cache_key: b.prompt_cache_key.map(Txt::into_string),
        ..Request::default()
    };
    if b.previous_response_id.is_some() {
        return Err(bad(
            "previous_response_id needs server-side state, which this provider does not keep; resend the full conversation in `input`",
        ));
    }
    if let Some(instr) = b.instructions.filter(|s| !s.is_empty()) {
        req.messages.push(Message {
            role: Role::System,
            parts: vec![Part::Text(instr.into_string())],
        });
    }
    if let Some(r) = &b.reasoning {
        req.reasoning = r.effort.as_deref().and_then(Effort::parse);
        req.reasoning_summary = r.summary.as_deref().is_some_and(|s| s != "none");
    }
    if let Some(fmt) = b.text.and_then(|t| t.format) {
        req.output_format = match fmt.get("type").and_then(Value::as_str) {
            Some("json_schema") => Some(OutputFormat::JsonSchema {
                name: fmt
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("output")
                    .to_string(),
                schema: fmt
                    .get("schema")
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "object"})),
                strict: fmt.get("strict").and_then(Value::as_bool).unwrap_or(false),
            }),
            Some("json_object") => Some(OutputFormat::JsonObject),
            _ => None,
        };
    }
    match tools {
        Some(known) => known.apply(&mut req),
        None => {
            if let Some(tools) = b.tools {
                add_tools(&mut req, tools, None);
            }
        }
    }
    let at = |i: usize| {
        move |e| match e {
            Error::Translate(m) => bad(format!("input[{i}]: {m}")),
            other => other,
        }
    };
    match (input, b.input) {
        (
            Input::Known {
                ops,
                first,
                items,
                new,
            },
            _,
        ) => {
            for op in ops {
                op.apply(&mut req);
            }
            let mut scratch = Vec::new();
            for (j, (end, item)) in items.into_iter().enumerate() {
                let kept =
                    decode_item(&mut req, item, true, &mut scratch).map_err(at(first + j))?;
                new.push((end, kept));
            }
        }
        (Input::Body, Some(TextOr::Text(s))) => req.messages.push(Message {
            role: Role::User,
            parts: vec![Part::Text(s.into_owned())],
        }),
        (Input::Body, Some(TextOr::List(items))) => {
            let mut scratch = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                decode_item(&mut req, item, false, &mut scratch).map_err(at(i))?;
            }
        }
        (Input::Body, None) => {
            return Err(bad(
                "missing `input`; send the conversation as an array of items",
            ));
        }
        (Input::Body, Some(TextOr::Other)) => {
            return Err(bad("`input` must be a string or an array of items"));
        }
    }
    req.tool_choice = match &b.tool_choice {
        Some(Value::String(s)) => match s.as_str() {
            "none" => Some(ToolChoice::None),
            "required" => Some(ToolChoice::Required),
            _ => Some(ToolChoice::Auto),
        },
        Some(Value::Object(o)) => match o.get("name").and_then(Value::as_str) {
            Some(name) => {
                let ns = o.get("namespace").and_then(Value::as_str);
                Some(ToolChoice::Named(flatten_name(ns, name)))
            }
            None => Some(ToolChoice::Auto),
        },
        _ => None,
    };
    if req.tools.is_empty()
        && matches!(
            req.tool_choice,
            Some(ToolChoice::Required | ToolChoice::Named(_))
        )
    {
        req.tool_choice = None;
    }
    req.fill_result_names();
    Ok(req)
}

/// Why a body did not decode, in the client's terms: a wrong-typed field is named by its
/// path (`input[3].call_id`), found by decoding once more on this error path only.
fn body_error(body: &[u8], e: &serde_json::Error) -> Error {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if e.is_data() && first != Some(&b'{') {
        return bad("request body must be a JSON object");
    }
    if !e.is_data() {
        return bad(format!("request body is not valid JSON: {e}"));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, wire::Body<'_>>(&mut de) {
        Err(e) => bad(format!(
            "`{}` in the request body: {}; see https://platform.openai.com/docs/api-reference/responses/create",
            e.path(),
            e.inner()
        )),
        Ok(_) => bad(format!("request body does not fit the Responses API: {e}")),
    }
}

/// Hosted tools run by OpenAI's servers; no other provider has them.
fn is_hosted(kind: &str) -> bool {
    !matches!(kind, "function" | "custom" | "namespace")
}

fn custom_parameters(tool: &ToolDef<'_>) -> (String, Schema) {
    let mut description = text(&tool.description).to_string();
    let format = tool.format.as_ref();
    if let Some(def) = format
        .and_then(|f| f.get("definition"))
        .and_then(Value::as_str)
    {
        let syntax = format
            .and_then(|f| f.get("syntax"))
            .and_then(Value::as_str)
            .unwrap_or("grammar");
        description.push_str(&format!(
            "\n\nCall this tool with one argument, `input`: a string that follows this {syntax} grammar exactly:\n{def}"
        ));
    } else {
        description.push_str("\n\nCall this tool with one argument, `input`: free-form text.");
    }
    let params = json!({
        "type": "object",
        "properties": {"input": {"type": "string", "description": "The raw input for the tool."}},
        "required": ["input"],
        "additionalProperties": false,
    });
    (description, params.into())
}

fn add_tools(req: &mut Request, tools: Vec<ToolDef<'_>>, namespace: Option<&str>) {
    for mut t in tools {
        let kind = t.kind.as_deref().unwrap_or("function");
        let name = text(&t.name);
        match kind {
            "namespace" => {
                let inner = t.tools.take().unwrap_or_default();
                add_tools(req, inner, Some(name));
            }
            "function" | "custom" if !name.is_empty() => {
                let flat = flatten_name(namespace, name);
                let (tool_kind, description, parameters) = if kind == "custom" {
                    let (d, p) = custom_parameters(&t);
                    (ToolKind::Custom, d, p)
                } else {
                    let params = t
                        .parameters
                        .take()
                        .map(Schema::from_raw)
                        .filter(Schema::is_object)
                        .unwrap_or_else(Schema::no_arguments);
                    (ToolKind::Function, text(&t.description).to_string(), params)
                };
                req.tool_origins.insert(
                    flat.clone(),
                    ToolOrigin {
                        namespace: namespace.map(str::to_string),
                        name: name.to_string(),
                        kind: tool_kind,
                    },
                );
                if req.tools.iter().any(|x| x.name == flat) {
                    continue;
                }
                req.tools.push(Tool {
                    name: flat,
                    description,
                    parameters,
                    kind: tool_kind,
                    strict: t.strict.unwrap_or(false),
                });
            }
            _ if is_hosted(kind) => req.dropped.push(format!("hosted tool `{kind}`")),
            _ => req.dropped.push(format!("tool without a name ({kind})")),
        }
    }
}

fn text_of_content(content: TextOr<'_, ContentPart<'_>>) -> Vec<Part> {
    match content {
        TextOr::Text(s) => vec![Part::Text(s.into_owned())],
        TextOr::List(parts) => parts
            .into_iter()
            .filter_map(|p| match p.kind.as_deref() {
                Some("input_text" | "output_text" | "text" | "summary_text") => {
                    p.text.map(|t| Part::Text(t.into_string()))
                }
                Some("refusal") => p.refusal.map(|t| Part::Text(t.into_string())),
                Some("input_image") => image_of(&p).map(Part::Image),
                _ => None,
            })
            .collect(),
        TextOr::Other => Vec::new(),
    }
}

fn image_of(p: &ContentPart<'_>) -> Option<Image> {
    match &p.image_url {
        Some(Value::String(u)) => Some(Image::Url(u.clone())),
        Some(Value::Object(o)) => o
            .get("url")
            .and_then(Value::as_str)
            .map(|u| Image::Url(u.to_string())),
        _ => None,
    }
}

fn check_content(content: &TextOr<'_, ContentPart<'_>>) -> Result<()> {
    if let TextOr::List(parts) = content {
        for p in parts {
            match p.kind.as_deref() {
                Some("input_audio") => {
                    return Err(bad("audio input is not supported for this provider"));
                }
                Some("input_file") => {
                    return Err(bad(
                        "file input is not supported for this provider; send the text instead",
                    ));
                }
                Some("input_image") if image_of(p).is_none() => {
                    return Err(bad(
                        "input_image needs an `image_url` (file_id images need OpenAI's file store)",
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Appends assistant-side parts to the current assistant message, or starts one.
fn push_assistant(req: &mut Request, part: Part) {
    match req.messages.last_mut() {
        Some(m) if m.role == Role::Assistant => m.parts.push(part),
        _ => req.messages.push(Message {
            role: Role::Assistant,
            parts: vec![part],
        }),
    }
}

fn push_tool_result(req: &mut Request, r: ToolResult) {
    match req.messages.last_mut() {
        Some(m) if m.role == Role::Tool => m.parts.push(Part::ToolResult(r)),
        _ => req.messages.push(Message {
            role: Role::Tool,
            parts: vec![Part::ToolResult(r)],
        }),
    }
}

/// A tool output: a string, an array of parts, or any other JSON (passed on as its text).
fn output_content(output: Option<&RawValue>) -> Result<Vec<ResultContent>> {
    let Some(raw) = output else {
        return Ok(Vec::new());
    };
    let json = raw.get();
    let wrong = |e: serde_json::Error| bad(format!("`output`: {e}"));
    Ok(match json.as_bytes().first() {
        Some(b'"') => vec![ResultContent::Text(
            serde_json::from_str::<String>(json).map_err(wrong)?,
        )],
        Some(b'[') => serde_json::from_str::<Vec<ContentPart<'_>>>(json)
            .map_err(wrong)?
            .into_iter()
            .filter_map(|p| match p.kind.as_deref() {
                Some("input_image") => image_of(&p).map(ResultContent::Image),
                _ => p.text.map(|t| ResultContent::Text(t.into_string())),
            })
            .collect(),
        Some(b'n') => Vec::new(),
        _ => vec![ResultContent::Text(
            serde_json::from_str::<Value>(json)
                .map_err(wrong)?
                .to_string(),
        )],
    })
}

/// Decodes one input item onto `req`, with `ops` as scratch space (one buffer for all of a
/// request's items). With `keep`, returns what it did as ops, for the input memo: `None` for
/// an item whose effect is not only ops (`additional_tools` adds tools).
fn decode_item(
    req: &mut Request,
    item: Item<'_>,
    keep: bool,
    ops: &mut Vec<Op>,
) -> Result<Option<Vec<Op>>> {
    ops.clear();
    let added = item_ops(item, ops)?;
    let kept = (keep && added.is_none()).then(|| ops.clone());
    for op in ops.drain(..) {
        op.apply(req);
    }
    if let Some(tools) = added {
        add_tools(req, tools, None);
    }
    Ok(kept)
}

/// What one input item does to a request, as ops pushed to `ops`; the tools of an
/// `additional_tools` item are returned, to be added after them.
fn item_ops<'a>(item: Item<'a>, ops: &mut Vec<Op>) -> Result<Option<Vec<ToolDef<'a>>>> {
    let Item {
        kind,
        role,
        content,
        summary,
        encrypted_content,
        namespace,
        name,
        input,
        arguments,
        call_id,
        output,
        tools,
    } = item;
    let ty = kind
        .as_deref()
        .unwrap_or(if role.is_some() { "message" } else { "" });
    match ty {
        "message" => {
            let content = content.unwrap_or(TextOr::Other);
            check_content(&content)?;
            let parts = text_of_content(content);
            let role = match role.as_deref() {
                Some("developer" | "system") => Role::System,
                Some("assistant") => Role::Assistant,
                Some("user") | None => Role::User,
                Some(other) => return Err(bad(format!("unknown message role `{other}`"))),
            };
            if role == Role::Assistant {
                ops.extend(parts.into_iter().map(Op::Assistant));
            } else if !parts.is_empty() {
                ops.push(Op::Message(Message { role, parts }));
            }
        }
        "reasoning" => {
            let mut text: Vec<String> = Vec::new();
            let content = match content {
                Some(TextOr::List(parts)) => parts,
                _ => Vec::new(),
            };
            for part in summary.into_iter().flatten().chain(content) {
                text.extend(part.text.map(Txt::into_string));
            }
            let opaque = encrypted_content.as_deref().and_then(Opaque::decode);
            ops.push(Op::Assistant(Part::Reasoning(Reasoning {
                text: text.join("\n\n"),
                opaque,
            })));
        }
        "function_call" | "custom_tool_call" => {
            let name = flatten_name(namespace.as_deref(), text(&name));
            let custom = ty == "custom_tool_call";
            let arguments = if custom {
                owned(input)
            } else {
                owned(arguments)
            };
            let call_id = owned(call_id);
            if call_id.is_empty() {
                return Err(bad(format!("{ty} without a call_id")));
            }
            ops.push(Op::Assistant(Part::ToolCall(ToolCall {
                call_id,
                name,
                arguments,
                kind: if custom {
                    ToolKind::Custom
                } else {
                    ToolKind::Function
                },
            })));
        }
        "function_call_output" | "custom_tool_call_output" => {
            ops.push(Op::Result(ToolResult {
                call_id: owned(call_id),
                name: None,
                content: output_content(output)?,
                is_error: false,
            }));
        }
        "additional_tools" => return Ok(Some(tools.unwrap_or_default())),
        "configuration_update" => {}
        "compaction" | "compaction_summary" => {
            ops.push(Op::Dropped(
                "OpenAI remote-compaction item (readable only by OpenAI)".into(),
            ));
        }
        "item_reference" => {
            return Err(bad(
                "item_reference needs server-side state; resend the item itself",
            ));
        }
        "" => return Err(bad("item without a `type`")),
        other => ops.push(Op::Dropped(format!("input item `{other}`"))),
    }
    Ok(None)
}

// ---------------------------------------------------------------- response

/// OpenAI's usage object, every detail field present even when 0 (Codex needs them).
pub fn usage_json(u: &Usage) -> Value {
    json!({
        "input_tokens": u.input,
        "input_tokens_details": {"cached_tokens": u.cached_input},
        "output_tokens": u.output,
        "output_tokens_details": {"reasoning_tokens": u.reasoning},
        "total_tokens": u.input.saturating_add(u.output),
    })
}

/// The input a custom tool call carries: `{"input": "..."}` unwrapped, or the raw text.
fn custom_input(arguments: &str) -> String {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(o)) => match o.get("input") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None if o.len() == 1 => o
                .values()
                .next()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .unwrap_or_default(),
            None => arguments.to_string(),
        },
        Ok(Value::String(s)) => s,
        _ => arguments.to_string(),
    }
}

fn call_item(
    origins: &BTreeMap<String, ToolOrigin>,
    call: &ToolCall,
    id: &str,
    done: bool,
) -> Value {
    let origin = origins.get(&call.name);
    let name = origin.map_or(call.name.as_str(), |o| o.name.as_str());
    let custom =
        origin.is_some_and(|o| o.kind == ToolKind::Custom) || call.kind == ToolKind::Custom;
    let mut item = if custom {
        json!({"type": "custom_tool_call", "id": id, "call_id": call.call_id, "name": name,
               "input": if done { custom_input(&call.arguments) } else { String::new() }})
    } else {
        json!({"type": "function_call", "id": id, "call_id": call.call_id, "name": name,
               "arguments": if done { call.arguments.as_str() } else { "" }})
    };
    item["status"] = json!(if done { "completed" } else { "in_progress" });
    if let Some(ns) = origin.and_then(|o| o.namespace.as_deref()) {
        item["namespace"] = json!(ns);
    }
    item
}

fn reasoning_item(r: &Reasoning, id: &str) -> Value {
    let summary: Vec<Value> = if r.text.is_empty() {
        Vec::new()
    } else {
        vec![json!({"type": "summary_text", "text": r.text})]
    };
    json!({"type": "reasoning", "id": id, "summary": summary,
           "encrypted_content": r.opaque.as_ref().map(Opaque::encode)})
}

fn message_item(text: &str, id: &str, done: bool) -> Value {
    json!({"type": "message", "id": id, "role": "assistant", "status": if done { "completed" } else { "in_progress" },
           "content": if done { json!([{"type": "output_text", "text": text, "annotations": []}]) } else { json!([]) }})
}

fn status_of(stop: &StopReason) -> (&'static str, Value) {
    match stop {
        StopReason::MaxTokens => ("incomplete", json!({"reason": "max_output_tokens"})),
        StopReason::ContentFilter => ("incomplete", json!({"reason": "content_filter"})),
        _ => ("completed", Value::Null),
    }
}

/// [`encode_response`] written straight to JSON bytes, key for key and byte for byte what
/// writing its `Value` gives: building that tree (a map per object, a string per key) and
/// walking it again cost ~7 µs of a translated request under `perf`, for a short answer.
/// Text answers and usage are written here; reasoning and tool-call items, rarer and
/// richer, go through their `Value`.
pub fn write_response(resp: &Response, req: &Request) -> Vec<u8> {
    write_response_with(resp, req, new_id, jiff::Timestamp::now().as_second())
}

/// [`write_response`] with its ids from `id` and its time given, so tests can compare.
fn write_response_with(
    resp: &Response,
    req: &Request,
    mut id: impl FnMut(&str) -> String,
    created_at: i64,
) -> Vec<u8> {
    use crate::json_text::{write_str, write_value};
    use std::io::Write as _;
    let texts: usize = resp
        .parts
        .iter()
        .map(|p| match p {
            Part::Text(t) => t.len(),
            _ => 0,
        })
        .sum();
    let mut out = Vec::with_capacity(512 + texts + texts / 8);
    // Keys in sorted order, as a `Value` object keeps them.
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{{\"created_at\":{created_at}");
    out.extend_from_slice(b",\"id\":");
    write_str(&mut out, &id("resp"));
    let (status, incomplete) = status_of(&resp.stop);
    out.extend_from_slice(b",\"incomplete_details\":");
    write_value(&mut out, &incomplete);
    out.extend_from_slice(b",\"model\":");
    write_str(&mut out, &req.model);
    out.extend_from_slice(b",\"object\":\"response\",\"output\":[");
    let mut first = true;
    for p in &resp.parts {
        let item = match p {
            Part::Text(t) => {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"content\":[{\"annotations\":[],\"text\":");
                write_str(&mut out, t);
                out.extend_from_slice(b",\"type\":\"output_text\"}],\"id\":");
                write_str(&mut out, &id("msg"));
                out.extend_from_slice(
                    b",\"role\":\"assistant\",\"status\":\"completed\",\"type\":\"message\"}",
                );
                continue;
            }
            Part::Reasoning(r) => reasoning_item(r, &id("rs")),
            Part::ToolCall(c) => call_item(&req.tool_origins, c, &id("fc"), true),
            Part::Image(_) | Part::ToolResult(_) => continue,
        };
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        write_value(&mut out, &item);
    }
    out.extend_from_slice(b"],\"status\":");
    write_str(&mut out, status);
    let u = &resp.usage;
    let _ = write!(
        out,
        ",\"usage\":{{\"input_tokens\":{},\"input_tokens_details\":{{\"cached_tokens\":{}}},\"output_tokens\":{},\"output_tokens_details\":{{\"reasoning_tokens\":{}}},\"total_tokens\":{}}}}}",
        u.input,
        u.cached_input,
        u.output,
        u.reasoning,
        u.input.saturating_add(u.output)
    );
    out
}

/// Encodes a whole answer as a Responses object.
pub fn encode_response(resp: &Response, req: &Request) -> Value {
    let mut output = Vec::new();
    for p in &resp.parts {
        match p {
            Part::Text(t) => output.push(message_item(t, &new_id("msg"), true)),
            Part::Reasoning(r) => output.push(reasoning_item(r, &new_id("rs"))),
            Part::ToolCall(c) => output.push(call_item(&req.tool_origins, c, &new_id("fc"), true)),
            Part::Image(_) | Part::ToolResult(_) => {}
        }
    }
    let (status, incomplete) = status_of(&resp.stop);
    json!({
        "id": new_id("resp"),
        "object": "response",
        "created_at": jiff::Timestamp::now().as_second(),
        "status": status,
        "incomplete_details": incomplete,
        "model": req.model,
        "output": output,
        "usage": usage_json(&resp.usage),
    })
}

/// An error before any stream started, in OpenAI's format.
pub fn encode_error(err: &UpstreamError) -> (u16, Value) {
    let kind = match err.code {
        ErrorCode::RateLimit => "rate_limit_error",
        ErrorCode::ServerError => "server_error",
        ErrorCode::Auth => "authentication_error",
        ErrorCode::InsufficientQuota => "insufficient_quota",
        ErrorCode::ContextLengthExceeded | ErrorCode::InvalidRequest => "invalid_request_error",
    };
    (
        err.status,
        json!({"error": {"message": err.message, "type": kind, "param": null, "code": err.code.openai_code()}}),
    )
}

// ---------------------------------------------------------------- stream

enum ItemState {
    Message { id: String, text: String },
    Reasoning { id: String, r: Reasoning },
    Call { id: String, call: ToolCall },
}

/// A value of a flat event field.
#[derive(Clone, Copy)]
enum Field<'a> {
    Str(&'a str),
    Num(u64),
}

/// Writes a flat event (`fields` plus `sequence_number` and `type`) straight to bytes: the
/// per-token path, with no `Value` built. Keys come out sorted, byte for byte what
/// `StreamEncoder::emit` writes for the same event.
fn write_event(out: &mut Vec<u8>, seq: &mut u64, ty: &str, fields: &[(&str, Field<'_>)]) {
    let mut all: Vec<(&str, Field<'_>)> = Vec::with_capacity(fields.len() + 2);
    all.extend_from_slice(fields);
    all.push(("sequence_number", Field::Num(*seq)));
    all.push(("type", Field::Str(ty)));
    all.sort_unstable_by(|a, b| a.0.cmp(b.0));
    *seq += 1;
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(ty.as_bytes());
    out.extend_from_slice(b"\ndata: {");
    for (i, (k, v)) in all.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Writing into a Vec cannot fail, and strings always serialise.
        let _ = serde_json::to_writer(&mut *out, k);
        out.push(b':');
        match v {
            Field::Str(s) => {
                let _ = serde_json::to_writer(&mut *out, s);
            }
            Field::Num(n) => {
                let _ = serde_json::to_writer(&mut *out, n);
            }
        }
    }
    out.extend_from_slice(b"}\n\n");
}

/// Turns canonical events into Responses SSE.
pub struct StreamEncoder {
    id: String,
    model: String,
    created_at: i64,
    origins: BTreeMap<String, ToolOrigin>,
    seq: u64,
    started: bool,
    finished: bool,
    /// Canonical block index → output index.
    open: BTreeMap<usize, usize>,
    items: Vec<(ItemState, bool)>,
    usage: Usage,
    stop: Option<StopReason>,
}

impl StreamEncoder {
    /// A new encoder for a request.
    pub fn new(req: &Request) -> Self {
        Self {
            id: new_id("resp"),
            model: req.model.clone(),
            created_at: jiff::Timestamp::now().as_second(),
            origins: req.tool_origins.clone(),
            seq: 0,
            started: false,
            finished: false,
            open: BTreeMap::new(),
            items: Vec::new(),
            usage: Usage::default(),
            stop: None,
        }
    }

    fn emit(&mut self, out: &mut Vec<u8>, ty: &str, mut v: Value) {
        v["type"] = json!(ty);
        v["sequence_number"] = json!(self.seq);
        self.seq += 1;
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(ty.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        // Writing into a Vec cannot fail, and a Value always serialises.
        let _ = serde_json::to_writer(&mut *out, &v);
        out.extend_from_slice(b"\n\n");
    }

    fn shell(&self, status: &str) -> Value {
        json!({"id": self.id, "object": "response", "created_at": self.created_at, "status": status,
               "model": self.model, "output": []})
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            let shell = self.shell("in_progress");
            self.emit(out, "response.created", json!({"response": shell}));
            let shell = self.shell("in_progress");
            self.emit(out, "response.in_progress", json!({"response": shell}));
        }
    }

    fn item_json(&self, i: usize, done: bool) -> Value {
        match &self.items[i].0 {
            ItemState::Message { id, text } => message_item(text, id, done),
            ItemState::Reasoning { id, r } => reasoning_item(r, id),
            ItemState::Call { id, call } => call_item(&self.origins, call, id, done),
        }
    }

    fn close(&mut self, out_index: usize, out: &mut Vec<u8>) {
        if self.items[out_index].1 {
            return;
        }
        self.items[out_index].1 = true;
        let item = self.item_json(out_index, true);
        match &self.items[out_index].0 {
            ItemState::Message { id, text } => {
                let (id, text) = (id.clone(), text.clone());
                self.emit(out, "response.output_text.done", json!({"item_id": id, "output_index": out_index, "content_index": 0, "text": text}));
                self.emit(
                    out,
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": out_index, "content_index": 0,
                    "part": {"type": "output_text", "text": text, "annotations": []}}),
                );
            }
            ItemState::Reasoning { id, r } => {
                if !r.text.is_empty() {
                    let (id, text) = (id.clone(), r.text.clone());
                    self.emit(out, "response.reasoning_summary_text.done", json!({"item_id": id, "output_index": out_index, "summary_index": 0, "text": text}));
                }
            }
            ItemState::Call { id, call } => {
                if item["type"] == "function_call" {
                    let (id, args) = (id.clone(), call.arguments.clone());
                    self.emit(
                        out,
                        "response.function_call_arguments.done",
                        json!({"item_id": id, "output_index": out_index, "arguments": args}),
                    );
                } else {
                    let (id, input) = (id.clone(), item["input"].clone());
                    self.emit(
                        out,
                        "response.custom_tool_call_input.done",
                        json!({"item_id": id, "output_index": out_index, "input": input}),
                    );
                }
            }
        }
        self.emit(
            out,
            "response.output_item.done",
            json!({"output_index": out_index, "item": item}),
        );
    }

    /// Encodes one event.
    pub fn event(&mut self, ev: &Event, out: &mut Vec<u8>) {
        if self.finished {
            return;
        }
        self.start(out);
        match ev {
            Event::Start { .. } => {}
            Event::BlockStart { index, kind } => {
                let out_index = self.items.len();
                let state = match kind {
                    BlockKind::Text => ItemState::Message {
                        id: new_id("msg"),
                        text: String::new(),
                    },
                    BlockKind::Reasoning => ItemState::Reasoning {
                        id: new_id("rs"),
                        r: Reasoning {
                            text: String::new(),
                            opaque: None,
                        },
                    },
                    BlockKind::ToolCall { call_id, name } => ItemState::Call {
                        id: new_id("fc"),
                        call: ToolCall {
                            call_id: call_id.clone(),
                            name: name.clone(),
                            arguments: String::new(),
                            kind: ToolKind::Function,
                        },
                    },
                };
                self.items.push((state, false));
                self.open.insert(*index, out_index);
                let item = self.item_json(out_index, false);
                self.emit(
                    out,
                    "response.output_item.added",
                    json!({"output_index": out_index, "item": item}),
                );
                if let ItemState::Message { id, .. } = &self.items[out_index].0 {
                    let id = id.clone();
                    self.emit(
                        out,
                        "response.content_part.added",
                        json!({"item_id": id, "output_index": out_index, "content_index": 0,
                        "part": {"type": "output_text", "text": "", "annotations": []}}),
                    );
                }
            }
            Event::Delta { index, delta } => {
                let Some(&oi) = self.open.get(index) else {
                    return;
                };
                let oi_n = Field::Num(oi as u64);
                match (&mut self.items[oi].0, delta) {
                    (ItemState::Message { id, text }, Delta::Text(d)) => {
                        text.push_str(d);
                        write_event(
                            out,
                            &mut self.seq,
                            "response.output_text.delta",
                            &[
                                ("content_index", Field::Num(0)),
                                ("delta", Field::Str(d)),
                                ("item_id", Field::Str(id)),
                                ("output_index", oi_n),
                            ],
                        );
                    }
                    (ItemState::Reasoning { id, r }, Delta::Reasoning(d)) => {
                        if r.text.is_empty() && !d.is_empty() {
                            let id = id.clone();
                            r.text.push_str(d);
                            self.emit(
                                out,
                                "response.reasoning_summary_part.added",
                                json!({"item_id": id, "output_index": oi, "summary_index": 0,
                                "part": {"type": "summary_text", "text": ""}}),
                            );
                            self.emit(out, "response.reasoning_summary_text.delta", json!({"item_id": id, "output_index": oi, "summary_index": 0, "delta": d}));
                            return;
                        }
                        r.text.push_str(d);
                        write_event(
                            out,
                            &mut self.seq,
                            "response.reasoning_summary_text.delta",
                            &[
                                ("delta", Field::Str(d)),
                                ("item_id", Field::Str(id)),
                                ("output_index", oi_n),
                                ("summary_index", Field::Num(0)),
                            ],
                        );
                    }
                    (ItemState::Reasoning { r, .. }, Delta::Opaque(o)) => {
                        r.opaque = Some(o.clone())
                    }
                    (ItemState::Call { id, call }, Delta::ToolArgs(d)) => {
                        call.arguments.push_str(d);
                        let custom = self
                            .origins
                            .get(&call.name)
                            .is_some_and(|o| o.kind == ToolKind::Custom);
                        if !custom {
                            write_event(
                                out,
                                &mut self.seq,
                                "response.function_call_arguments.delta",
                                &[
                                    ("delta", Field::Str(d)),
                                    ("item_id", Field::Str(id)),
                                    ("output_index", oi_n),
                                ],
                            );
                        }
                    }
                    _ => {}
                }
            }
            Event::BlockStop { index } => {
                if let Some(oi) = self.open.remove(index) {
                    self.close(oi, out);
                }
            }
            Event::Usage(u) => self.usage = *u,
            Event::Stop(s) => self.stop = Some(s.clone()),
            Event::Error(e) => self.fail(e.code.openai_code(), &e.message, out),
        }
    }

    fn fail(&mut self, code: &str, message: &str, out: &mut Vec<u8>) {
        self.start(out);
        let mut r = self.shell("failed");
        r["error"] = json!({"code": code, "message": message});
        r["usage"] = usage_json(&self.usage);
        self.emit(out, "response.failed", json!({"response": r}));
        self.finished = true;
    }

    /// `response.in_progress`: a real event, so Codex's idle timer restarts.
    pub fn heartbeat(&mut self, out: &mut Vec<u8>) {
        if self.finished {
            return;
        }
        if !self.started {
            self.start(out);
            return;
        }
        let shell = self.shell("in_progress");
        self.emit(out, "response.in_progress", json!({"response": shell}));
    }

    /// Ends the stream: `response.completed` with every item and full usage, or
    /// `response.failed` when the answer never finished.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.finished {
            return;
        }
        let Some(stop) = self.stop.clone() else {
            self.fail(
                "server_error",
                "the upstream stream ended before the answer completed",
                out,
            );
            return;
        };
        self.start(out);
        let open: Vec<usize> = self.open.values().copied().collect();
        for oi in open {
            self.close(oi, out);
        }
        self.open.clear();
        let output: Vec<Value> = (0..self.items.len())
            .map(|i| self.item_json(i, true))
            .collect();
        let (status, incomplete) = status_of(&stop);
        let mut r = self.shell(status);
        r["output"] = json!(output);
        r["usage"] = usage_json(&self.usage);
        r["incomplete_details"] = incomplete;
        self.emit(out, "response.completed", json!({"response": r}));
        self.finished = true;
    }
}

#[cfg(test)]
mod tests;
