//! Canonical → Anthropic requests, and Anthropic answers (JSON, SSE, errors) → canonical.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::turns_memo::{Mark, Plan, Switches, TurnStart};
use super::{
    JSON_TOOL, PROVIDER, WireError, WireUsage, classify, stop_from_wire, thinking_opaque,
    tool_input,
};
use crate::canonical::{
    BlockKind, Delta, ErrorCode, Event, Image, Message, OutputFormat, Part, Reasoning, Request,
    Response, ResultContent, Role, StopReason, Tool, ToolCall, ToolChoice, ToolKind, ToolResult,
    UpstreamError,
};
use crate::json_text;
use crate::protocols::ModelInfo;
use crate::usage::Usage;
use crate::{Error, Result};

/// `max_tokens` when neither the request nor the catalog gives one.
const DEFAULT_MAX_TOKENS: u64 = 32_000;
/// Room left for the answer when `max_tokens` has to be raised above a thinking budget.
const ANSWER_HEADROOM: u64 = 4_096;
/// Anthropic's smallest thinking budget.
const MIN_BUDGET: u64 = 1_024;
/// Stands in for a turn that would otherwise be missing (the API needs a user turn first).
const PLACEHOLDER: &str = "(no content)";
/// The result sent for a call whose result is missing from the history.
const NO_RESULT: &str = "[no result was recorded for this tool call]";
/// Tells the model how to answer when structured output cannot be forced (thinking is on).
const JSON_INSTRUCTION: &str = "Give your final answer by calling the `bifrost_json_output` tool: its input is the answer. Do not answer in plain text.";

/// A text or image block on its way out; a text borrows the request's string where it can.
#[derive(Clone)]
enum Out<'a> {
    /// `{"type":"text","text":…}`.
    Text(Cow<'a, str>),
    /// Any other block (an image), as JSON.
    Json(Value),
}

impl Out<'_> {
    /// Appends the block as JSON, with `cache_control` when `cache`.
    fn write(&self, out: &mut Vec<u8>, cache: bool) {
        match self {
            Out::Text(t) => {
                out.extend_from_slice(br#"{"type":"text","text":"#);
                json_text::write_str(out, t);
                close(out, cache);
            }
            Out::Json(v) => write_object(out, v, cache),
        }
    }
}

/// Ends an object this module opened, marking it as a prompt-cache breakpoint when `cache`.
fn close(out: &mut Vec<u8>, cache: bool) {
    if cache {
        out.extend_from_slice(br#","cache_control":{"type":"ephemeral"}}"#);
    } else {
        out.push(b'}');
    }
}

/// Appends `items` as a JSON array, each written by `write` with its index.
fn write_list<T>(out: &mut Vec<u8>, items: &[T], mut write: impl FnMut(&mut Vec<u8>, usize, &T)) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, i, item);
    }
    out.push(b']');
}

/// Appends the object `v`, with `cache_control` added when `cache`.
fn write_object(out: &mut Vec<u8>, v: &Value, cache: bool) {
    match v {
        Value::Object(m) if cache && m.is_empty() => {
            out.extend_from_slice(br#"{"cache_control":{"type":"ephemeral"}}"#);
        }
        Value::Object(_) if cache => {
            json_text::write_value(out, v);
            out.pop();
            close(out, true);
        }
        _ => json_text::write_value(out, v),
    }
}

/// One content block on its way out, with what placement needs to know about it. It is
/// written as JSON straight from these parts (no `Value` tree holding copies of the texts).
enum Block<'a> {
    /// A thinking or redacted_thinking block, verbatim.
    Thinking(&'a Value),
    /// A tool_use block with its (cleaned) id.
    ToolUse {
        id: Cow<'a, str>,
        name: &'a str,
        input: Value,
    },
    /// A tool_result block, and the result it came from, to send as text instead if it
    /// answers nothing (`None` once placed).
    ToolResult {
        id: Cow<'a, str>,
        content: Vec<Out<'a>>,
        is_error: bool,
        source: Option<&'a ToolResult>,
    },
    /// Text or image.
    Plain(Out<'a>),
}

impl Block<'_> {
    /// Whether this is a thinking block (which never carries `cache_control`).
    fn is_thinking(&self) -> bool {
        let v = match self {
            Block::Thinking(v) => *v,
            Block::Plain(Out::Json(v)) => v,
            _ => return false,
        };
        matches!(v["type"].as_str(), Some("thinking" | "redacted_thinking"))
    }

    /// Appends the block as JSON, with `cache_control` when `cache`.
    fn write(&self, out: &mut Vec<u8>, cache: bool) {
        match self {
            Block::Thinking(v) => write_object(out, v, cache),
            Block::ToolUse { id, name, input } => {
                out.extend_from_slice(br#"{"type":"tool_use","id":"#);
                json_text::write_str(out, id);
                out.extend_from_slice(br#","name":"#);
                json_text::write_str(out, name);
                out.extend_from_slice(br#","input":"#);
                json_text::write_value(out, input);
                close(out, cache);
            }
            Block::ToolResult {
                id,
                content,
                is_error,
                ..
            } => {
                out.extend_from_slice(br#"{"type":"tool_result","tool_use_id":"#);
                json_text::write_str(out, id);
                if !content.is_empty() {
                    out.extend_from_slice(br#","content":"#);
                    write_list(out, content, |out, _, c| c.write(out, false));
                }
                if *is_error {
                    out.extend_from_slice(br#","is_error":true"#);
                }
                close(out, cache);
            }
            Block::Plain(o) => o.write(out, cache),
        }
    }
}

/// A message being built: `true` for assistant.
type Turn<'a> = (bool, Vec<Block<'a>>);

/// Tool-use ids must match `^[a-zA-Z0-9_-]+$`; ids from other providers may not.
fn clean_id(id: &str) -> Cow<'_, str> {
    if !id.is_empty()
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
    {
        return Cow::Borrowed(id);
    }
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Cow::Owned(if s.is_empty() { "call".into() } else { s })
}

fn text_block(t: &str) -> Option<Out<'_>> {
    (!t.trim().is_empty()).then_some(Out::Text(Cow::Borrowed(t)))
}

fn image_block(img: &Image) -> Result<Value> {
    if let Image::Url(u) = img
        && (u.starts_with("http://") || u.starts_with("https://"))
    {
        return Ok(json!({"type": "image", "source": {"type": "url", "url": u}}));
    }
    let Some((media_type, data)) = img.as_base64() else {
        return Err(Error::Translate(
            "anthropic accepts images only as http(s) URLs or base64 data".into(),
        ));
    };
    Ok(
        json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}),
    )
}

fn result_blocks(r: &ToolResult) -> Result<Vec<Out<'_>>> {
    let mut out = Vec::new();
    for c in &r.content {
        match c {
            ResultContent::Text(t) => out.extend(text_block(t)),
            ResultContent::Image(i) => out.push(Out::Json(image_block(i)?)),
        }
    }
    Ok(out)
}

/// The plain blocks for a result that answers no call in the turn before it.
fn orphan_blocks<'a>(r: &ToolResult, blocks: &[Out<'a>]) -> Vec<Out<'a>> {
    let name = r
        .name
        .as_deref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    let mut head = format!("Result of tool call {}{name}:", r.call_id);
    if r.is_error {
        head.push_str(" [error]");
    }
    let mut out = Vec::new();
    for (i, b) in blocks.iter().enumerate() {
        match (i, b) {
            (0, Out::Text(t)) => out.push(Out::Text(Cow::Owned(format!("{head}\n{t}")))),
            (0, _) => {
                out.push(Out::Text(Cow::Owned(head.clone())));
                out.push(b.clone());
            }
            _ => out.push(b.clone()),
        }
    }
    if out.is_empty() {
        out.push(Out::Text(Cow::Owned(format!("{head} (no output)"))));
    }
    out
}

/// Turns a message's parts into (assistant?, block) pairs: tool results always go on the user
/// side, calls and reasoning on the assistant side, everything else where its message is.
/// Without tool definitions the API refuses tool blocks (Codex's compaction request has
/// history with calls but no tools): `tools_as_text` then writes calls and results as text.
fn blocks_of<'a>(
    m: &'a Message,
    keep_thinking: bool,
    tools_as_text: bool,
    out: &mut Vec<(bool, Block<'a>)>,
) -> Result<()> {
    let assistant = m.role == Role::Assistant;
    for p in &m.parts {
        match p {
            Part::Text(t) => {
                if let Some(b) = text_block(t) {
                    out.push((assistant, Block::Plain(b)));
                }
            }
            Part::Image(i) => out.push((assistant, Block::Plain(Out::Json(image_block(i)?)))),
            Part::ToolCall(c) if tools_as_text => {
                let t = format!("[tool call {} ({}): {}]", c.name, c.call_id, c.arguments);
                out.push((true, Block::Plain(Out::Text(Cow::Owned(t)))));
            }
            Part::ToolResult(r) if tools_as_text => {
                let content = result_blocks(r)?;
                out.extend(
                    orphan_blocks(r, &content)
                        .into_iter()
                        .map(|b| (false, Block::Plain(b))),
                );
            }
            Part::ToolCall(c) => {
                let block = Block::ToolUse {
                    id: clean_id(&c.call_id),
                    name: &c.name,
                    input: tool_input(c),
                };
                out.push((true, block));
            }
            Part::ToolResult(r) => {
                let block = Block::ToolResult {
                    id: clean_id(&r.call_id),
                    content: result_blocks(r)?,
                    is_error: r.is_error,
                    source: Some(r),
                };
                out.push((false, block));
            }
            Part::Reasoning(Reasoning {
                opaque: Some(o), ..
            }) if keep_thinking && assistant && o.provider == PROVIDER => {
                out.push((true, Block::Thinking(&o.data)));
            }
            Part::Reasoning(_) => {}
        }
    }
    Ok(())
}

/// Turns built from `messages`, and where each one starts in them.
struct Built<'a> {
    turns: Vec<Turn<'a>>,
    starts: Vec<TurnStart>,
}

/// Strictly alternating turns, starting with the user, each tool_use answered first thing in
/// the next user turn, orphan results as text, thinking first in assistant turns.
///
/// From `from` on when `from` is `Some`: the turns before it are the memo's
/// ([`turns_memo`]), and the first turn built is then an assistant turn that no placeholder
/// goes before.
fn build_turns<'a>(
    messages: &'a [Cow<'_, Message>],
    from: Option<TurnStart>,
    keep_thinking: bool,
    tools_as_text: bool,
) -> Result<Built<'a>> {
    let whole = from.is_none();
    let from = from.unwrap_or_default();
    let mut turns: Vec<Turn<'a>> = Vec::new();
    let mut starts = Vec::new();
    let mut pairs = Vec::new();
    for (i, m) in messages.iter().enumerate().skip(from.msg) {
        pairs.clear();
        blocks_of(m, keep_thinking, tools_as_text, &mut pairs)?;
        let skip = if i == from.msg { from.skip } else { 0 };
        for (k, (assistant, b)) in pairs.drain(..).enumerate().skip(skip) {
            match turns.last_mut() {
                Some((a, blocks)) if *a == assistant => blocks.push(b),
                _ => {
                    turns.push((assistant, vec![b]));
                    starts.push(TurnStart { msg: i, skip: k });
                }
            }
        }
    }
    if whole && turns.first().is_none_or(|(a, _)| *a) {
        turns.insert(
            0,
            (
                false,
                vec![Block::Plain(Out::Text(Cow::Borrowed(PLACEHOLDER)))],
            ),
        );
        starts.insert(0, TurnStart::default());
    }
    if turns
        .last()
        .is_some_and(|(a, b)| *a && b.iter().any(|b| matches!(b, Block::ToolUse { .. })))
    {
        turns.push((false, Vec::new()));
        starts.push(TurnStart {
            msg: messages.len(),
            skip: 0,
        });
    }
    let mut calls: Vec<Cow<'a, str>> = Vec::new();
    for (assistant, blocks) in &mut turns {
        if *assistant {
            // Thinking first, in order.
            if blocks
                .iter()
                .skip(1)
                .any(|b| matches!(b, Block::Thinking(_)))
            {
                let (mut first, rest): (Vec<Block>, Vec<Block>) = std::mem::take(blocks)
                    .into_iter()
                    .partition(|b| matches!(b, Block::Thinking(_)));
                first.extend(rest);
                *blocks = first;
            }
            calls.clear();
            calls.extend(blocks.iter().filter_map(|b| match b {
                Block::ToolUse { id, .. } => Some(id.clone()),
                _ => None,
            }));
            continue;
        }
        if calls.is_empty() && !blocks.iter().any(|b| matches!(b, Block::ToolResult { .. })) {
            continue;
        }
        let mut answered: Vec<(Cow<'a, str>, Vec<Out<'a>>, bool)> = Vec::new();
        let mut rest = Vec::with_capacity(blocks.len());
        for b in std::mem::take(blocks) {
            match b {
                Block::ToolResult {
                    id,
                    content,
                    is_error,
                    ..
                } if calls.contains(&id) && !answered.iter().any(|(a, ..)| *a == id) => {
                    answered.push((id, content, is_error));
                }
                Block::ToolResult {
                    content,
                    source: Some(r),
                    ..
                } => {
                    rest.extend(orphan_blocks(r, &content).into_iter().map(Block::Plain));
                }
                other => rest.push(other),
            }
        }
        // Results in call order; calls with none get a stand-in (the API requires one each).
        for id in calls.drain(..) {
            let (content, is_error) = match answered.iter().position(|(a, ..)| *a == id) {
                Some(at) => {
                    let (_, content, is_error) = answered.swap_remove(at);
                    (content, is_error)
                }
                None => (vec![Out::Text(Cow::Borrowed(NO_RESULT))], true),
            };
            blocks.push(Block::ToolResult {
                id,
                content,
                is_error,
                source: None,
            });
        }
        blocks.extend(rest);
    }
    Ok(Built { turns, starts })
}

/// A tool's `input_schema`, written straight from the client's schema (not copied): as it
/// is, with `"type": "object"` added when it has properties but no type, or empty.
enum Schema<'a> {
    /// JSON text written as it is: a tool's schema as the client sent it.
    Text(std::borrow::Cow<'a, str>),
    AsIs(&'a Value),
    Typed(&'a Map<String, Value>),
    Empty,
    AnyObject,
}

impl Schema<'_> {
    /// Appends the schema as JSON.
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Schema::Text(t) => out.extend_from_slice(t.as_bytes()),
            Schema::AsIs(v) => json_text::write_value(out, v),
            Schema::Typed(obj) => {
                out.extend_from_slice(br#"{"type":"object""#);
                for (k, v) in obj.iter() {
                    out.push(b',');
                    json_text::write_str(out, k);
                    out.push(b':');
                    json_text::write_value(out, v);
                }
                out.push(b'}');
            }
            Schema::Empty => out.extend_from_slice(br#"{"type":"object","properties":{}}"#),
            Schema::AnyObject => out.extend_from_slice(br#"{"type":"object"}"#),
        }
    }
}

/// A schema Anthropic accepts as `input_schema` (a JSON-schema object), if this is one.
fn object_schema(v: &Value) -> Option<Schema<'_>> {
    match v {
        Value::Null => Some(Schema::Empty),
        Value::Object(m) if m.is_empty() => Some(Schema::Empty),
        Value::Object(m) => match m.get("type") {
            Some(t) if t == "object" => Some(Schema::AsIs(v)),
            None if m.contains_key("properties") => Some(Schema::Typed(m)),
            _ => None,
        },
        _ => None,
    }
}

/// One entry of `tools`, borrowing from the canonical request.
struct ToolOut<'a> {
    name: &'a str,
    description: Option<&'a str>,
    input_schema: Schema<'a>,
}

impl ToolOut<'_> {
    /// Appends the tool as JSON, fields in the order the serde derive wrote them: `name`,
    /// `description` (when present), `input_schema`, `cache_control` (when `cache`).
    fn write(&self, out: &mut Vec<u8>, cache: bool) {
        out.extend_from_slice(br#"{"name":"#);
        json_text::write_str(out, self.name);
        if let Some(d) = self.description {
            out.extend_from_slice(br#","description":"#);
            json_text::write_str(out, d);
        }
        out.extend_from_slice(br#","input_schema":"#);
        self.input_schema.write(out);
        close(out, cache);
    }
}

/// A tool's schema as `input_schema`: its text when it says `"type": "object"` (what Codex
/// and MCP servers send), else judged as [`object_schema`] judges a parsed one.
fn tool_schema(s: &crate::canonical::Schema) -> Option<Schema<'_>> {
    if s.says_object() {
        return Some(Schema::Text(std::borrow::Cow::Borrowed(s.text())));
    }
    // The rarer spellings (an escaped key, say) as serde reads them.
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(rename = "type")]
        kind: Option<Value>,
    }
    if let Ok(Head { kind: Some(kind) }) = serde_json::from_str::<Head>(s.text())
        && kind == "object"
    {
        return Some(Schema::Text(std::borrow::Cow::Borrowed(s.text())));
    }
    let v = s.value();
    let mut out = Vec::new();
    object_schema(&v)?.write(&mut out);
    String::from_utf8(out)
        .ok()
        .map(|t| Schema::Text(std::borrow::Cow::Owned(t)))
}

fn tool_out(t: &Tool) -> Result<ToolOut<'_>> {
    let Some(schema) = tool_schema(&t.parameters) else {
        return Err(Error::Translate(format!(
            "tool `{}`: anthropic needs an object JSON schema for tool parameters",
            t.name
        )));
    };
    Ok(ToolOut {
        name: &t.name,
        description: (!t.description.is_empty()).then_some(t.description.as_str()),
        input_schema: schema,
    })
}

/// Room for the large fields of a request's Messages body, so that writing them does not
/// grow the buffer: the texts' bytes (four per estimated token), a quarter more for escapes
/// and the JSON around each block, and 2 KB for the rest. `*4` alone was short by the JSON
/// around the blocks, and the buffer was copied once more, at ~40 KB, on every request.
pub(super) fn body_room(req: &Request) -> usize {
    usize::try_from(req.estimated_input_tokens())
        .unwrap_or(0)
        .saturating_mul(5)
        .saturating_add(2048)
}

/// Encodes a canonical request as a Messages API body for `model`.
pub fn encode_request(req: &Request, model: &str, info: &ModelInfo) -> Result<Vec<u8>> {
    encode(req, model, info, None)
}

/// [`encode_request`] for a request from `caller`, whose earlier turns may be copied from the
/// last body written for it ([`turns_memo`]).
pub fn encode_request_for(
    req: &Request,
    model: &str,
    info: &ModelInfo,
    caller: &[u8],
) -> Result<Vec<u8>> {
    encode(req, model, info, Some(caller))
}

/// The turns of a body: those copied from the caller's last body, and those built.
struct Planned<'a> {
    plan: Option<Plan>,
    built: Built<'a>,
}

impl<'a> Planned<'a> {
    fn new(
        rest: &'a [Cow<'_, Message>],
        caller: Option<&[u8]>,
        switches: Switches,
    ) -> Result<Planned<'a>> {
        let plan = caller.map(|c| Plan::new(c, rest, switches));
        let from = plan.as_ref().and_then(Plan::from);
        let built = build_turns(rest, from, switches.keep_thinking, switches.tools_as_text)?;
        Ok(Planned { plan, built })
    }

    /// Whether the latest assistant turn that calls tools carries a thinking block, copied
    /// turns included (Anthropic rejects thinking requests whose tool loop started without).
    fn tool_loop_has_thinking(&self) -> bool {
        match loop_thinking(&self.built.turns) {
            Some(t) => t,
            None => self
                .plan
                .as_ref()
                .and_then(Plan::loop_thinking)
                .is_none_or(|t| t),
        }
    }
}

/// For an assistant turn that calls tools: whether it opens with a thinking block.
fn turn_loop_thinking((assistant, blocks): &Turn<'_>) -> Option<bool> {
    (*assistant && blocks.iter().any(|b| matches!(b, Block::ToolUse { .. })))
        .then(|| matches!(blocks.first(), Some(Block::Thinking(_))))
}

/// [`turn_loop_thinking`] of the latest turn that calls tools.
fn loop_thinking(turns: &[Turn<'_>]) -> Option<bool> {
    turns.iter().rev().find_map(turn_loop_thinking)
}

fn encode(req: &Request, model: &str, info: &ModelInfo, caller: Option<&[u8]>) -> Result<Vec<u8>> {
    let (system, rest) = req.split_system();
    let json_schema = match &req.output_format {
        Some(OutputFormat::JsonSchema { schema, name, .. }) => {
            Some(object_schema(schema).ok_or_else(|| {
                Error::Translate(format!(
                    "structured output `{name}`: anthropic needs an object schema at the root"
                ))
            })?)
        }
        Some(OutputFormat::JsonObject) => Some(Schema::AnyObject),
        Some(OutputFormat::Text) | None => None,
    };

    let tools_as_text = req.tools.is_empty() && json_schema.is_none();
    let mut budget = req.reasoning.map(|e| e.budget_tokens()).filter(|b| *b > 0);
    // The turns as a thinking request has them, kept for the body when thinking stays on.
    let mut thinking_turns = None;
    if budget.is_some() {
        let switches = Switches {
            keep_thinking: true,
            tools_as_text,
        };
        let planned = Planned::new(&rest, caller, switches)?;
        if planned.tool_loop_has_thinking() {
            thinking_turns = Some(planned);
        } else {
            if let Some(plan) = planned.plan {
                plan.release();
            }
            budget = None;
        }
    }
    let mut max_tokens = req
        .max_output_tokens
        .or(info.max_output)
        .unwrap_or(DEFAULT_MAX_TOKENS)
        .max(1);
    if let Some(b) = budget
        && max_tokens <= b
    {
        let want = b + ANSWER_HEADROOM;
        max_tokens = info
            .max_output
            .map_or(want, |cap| want.min(cap))
            .max(max_tokens);
        if max_tokens <= b {
            let smaller = max_tokens.saturating_sub(ANSWER_HEADROOM.min(max_tokens / 2));
            budget = (smaller >= MIN_BUDGET).then_some(smaller);
        }
    }
    let thinking = budget.is_some();
    let Planned { plan, built } = match thinking_turns {
        Some(planned) if thinking => planned,
        _ => {
            let switches = Switches {
                keep_thinking: thinking,
                tools_as_text,
            };
            Planned::new(&rest, caller, switches)?
        }
    };
    let turns = &built.turns;

    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("max_tokens".into(), json!(max_tokens));

    let mut sys: Vec<Out> = system.iter().filter_map(|t| text_block(t)).collect();
    if json_schema.is_some() && thinking {
        sys.push(Out::Text(Cow::Borrowed(JSON_INSTRUCTION)));
    }

    let has_json_tool = json_schema.is_some();
    let mut tools = req.tools.iter().map(tool_out).collect::<Result<Vec<_>>>()?;
    if let Some(schema) = json_schema {
        tools.push(ToolOut {
            name: JSON_TOOL,
            description: Some(
                "Return your final answer by calling this tool; its input is the answer.",
            ),
            input_schema: schema,
        });
    }
    let choice = match (has_json_tool, &req.tool_choice) {
        (true, _) if thinking => Some(json!({"type": "auto"})),
        (true, _) if req.tools.is_empty() => Some(json!({"type": "tool", "name": JSON_TOOL})),
        (true, _) => Some(json!({"type": "any"})),
        (false, None) => None,
        (false, Some(ToolChoice::Auto)) => Some(json!({"type": "auto"})),
        (false, Some(ToolChoice::None)) => Some(json!({"type": "none"})),
        // Thinking allows only auto and none: the model is asked, not forced.
        (false, Some(ToolChoice::Required | ToolChoice::Named(_))) if thinking => {
            Some(json!({"type": "auto"}))
        }
        (false, Some(ToolChoice::Required)) => Some(json!({"type": "any"})),
        (false, Some(ToolChoice::Named(n))) => Some(json!({"type": "tool", "name": n})),
    };
    if !tools.is_empty() {
        let mut choice = choice.unwrap_or_else(|| json!({"type": "auto"}));
        if req.parallel_tool_calls == Some(false) && choice["type"] != "none" {
            choice["disable_parallel_tool_use"] = json!(true);
        }
        if choice["type"] != "auto" || choice.get("disable_parallel_tool_use").is_some() {
            body.insert("tool_choice".into(), choice);
        }
    }

    if let Some(b) = budget {
        body.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": b}),
        );
    } else {
        if let Some(t) = req.temperature {
            body.insert("temperature".into(), json!(t.clamp(0.0, 1.0)));
        }
        if let Some(p) = req.top_p {
            body.insert("top_p".into(), json!(p));
        }
    }
    let stops: Vec<&String> = req.stop.iter().filter(|s| !s.trim().is_empty()).collect();
    if !stops.is_empty() {
        body.insert("stop_sequences".into(), json!(stops));
    }
    if req.stream {
        body.insert("stream".into(), json!(true));
    }
    let mut out = json_text::to_vec(&Value::Object(body));
    // The body always holds `model` and `max_tokens`: the large fields go before its `}`.
    out.pop();
    out.reserve(body_room(req));
    // The last system text, the last turn's last block that is not thinking, and the last
    // tool are the prompt-cache breakpoints.
    if !sys.is_empty() {
        out.extend_from_slice(br#","system":"#);
        write_list(&mut out, &sys, |out, i, b| b.write(out, i + 1 == sys.len()));
    }
    out.extend_from_slice(br#","messages":["#);
    let messages_at = out.len();
    let copied = plan.as_ref().map_or(&[][..], Plan::text);
    out.extend_from_slice(copied);
    let mut marks = Vec::with_capacity(turns.len());
    for (i, turn) in turns.iter().enumerate() {
        let (assistant, blocks) = turn;
        if i > 0 || !copied.is_empty() {
            out.push(b',');
        }
        out.extend_from_slice(if *assistant {
            br#"{"role":"assistant","content":"#
        } else {
            br#"{"role":"user","content":"#
        });
        let cached = (i + 1 == turns.len())
            .then(|| blocks.iter().rposition(|b| !b.is_thinking()))
            .flatten();
        write_list(&mut out, blocks, |out, j, b| {
            b.write(out, cached == Some(j))
        });
        out.push(b'}');
        marks.push(Mark {
            start: built.starts[i],
            end: out.len() - messages_at,
            assistant: *assistant,
            loop_thinking: turn_loop_thinking(turn),
        });
    }
    if let Some(plan) = plan {
        plan.keep(&rest, &out[messages_at..], &marks);
    }
    out.push(b']');
    if !tools.is_empty() {
        out.extend_from_slice(br#","tools":"#);
        write_list(&mut out, &tools, |out, i, t| {
            t.write(out, i + 1 == tools.len())
        });
    }
    out.push(b'}');
    Ok(out)
}

/// One content block of an answer → a canonical part (`None` for server-tool blocks).
fn part_of(block: &Value) -> Option<Part> {
    match block["type"].as_str()? {
        "text" => Some(Part::Text(block["text"].as_str().unwrap_or("").to_string())),
        "thinking" => Some(Part::Reasoning(Reasoning {
            text: block["thinking"].as_str().unwrap_or("").to_string(),
            opaque: Some(thinking_opaque(block)),
        })),
        "redacted_thinking" => Some(Part::Reasoning(Reasoning {
            text: String::new(),
            opaque: Some(thinking_opaque(block)),
        })),
        "tool_use" => {
            let input = block.get("input").cloned().unwrap_or_else(|| json!({}));
            let name = block["name"].as_str().unwrap_or("");
            if name == JSON_TOOL {
                return Some(Part::Text(input.to_string()));
            }
            Some(Part::ToolCall(ToolCall {
                call_id: block["id"].as_str().unwrap_or("").to_string(),
                name: name.to_string(),
                arguments: input.to_string(),
                kind: ToolKind::Function,
            }))
        }
        _ => None,
    }
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    id: Option<String>,
    model: Option<String>,
    #[serde(default)]
    content: Vec<Value>,
    stop_reason: Option<String>,
    #[serde(default)]
    usage: WireUsage,
}

/// Decodes a non-streaming Messages answer.
pub fn decode_response(body: &[u8]) -> Result<Response> {
    let r: WireResponse = serde_json::from_slice(body)
        .map_err(|e| Error::UpstreamFormat(format!("anthropic message: {e}")))?;
    if r.kind.as_deref().is_some_and(|k| k != "message") {
        return Err(Error::UpstreamFormat(format!(
            "anthropic answered a `{}` object, not a message",
            r.kind.unwrap_or_default()
        )));
    }
    Ok(Response {
        id: r.id,
        model: r.model,
        parts: r.content.iter().filter_map(part_of).collect(),
        usage: r.usage.normalised(),
        stop: r
            .stop_reason
            .as_deref()
            .map_or(StopReason::EndTurn, stop_from_wire),
    })
}

/// What a stream block is, by its Anthropic index.
enum Open {
    Text(usize),
    Thinking {
        index: usize,
        text: String,
        signature: String,
    },
    Redacted(usize),
    Tool {
        index: usize,
        args: bool,
    },
    Json {
        index: usize,
        args: bool,
    },
    /// Server-tool blocks and anything unknown: not forwarded.
    Skip,
}

/// Anthropic SSE (`data:` payloads) → canonical events.
#[derive(Default)]
pub struct StreamDecoder {
    blocks: BTreeMap<u64, Open>,
    next: usize,
    usage: Usage,
    finished: bool,
    failed: bool,
    seen_ids: HashSet<u64>,
}

#[derive(Deserialize)]
struct WireEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    index: u64,
    #[serde(default)]
    message: Value,
    #[serde(default)]
    content_block: Value,
    #[serde(default)]
    delta: Value,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<super::WireErrorBody>,
}

/// `content_block_delta`, borrowed from the payload.
#[derive(Deserialize)]
struct WireDeltaEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    index: u64,
    #[serde(borrow)]
    delta: WireDelta<'a>,
}

#[derive(Deserialize)]
struct WireDelta<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    thinking: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    signature: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    partial_json: Option<Cow<'a, str>>,
}

/// The fields of a delta the decoder reads (absent ones are empty).
struct DeltaRef<'a> {
    kind: &'a str,
    text: &'a str,
    thinking: &'a str,
    signature: &'a str,
    partial_json: &'a str,
}

impl StreamDecoder {
    /// A decoder for one answer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes one SSE `data:` payload.
    pub fn push(&mut self, data: &str, out: &mut Vec<Event>) -> Result<()> {
        if data.trim().is_empty() || self.failed {
            return Ok(());
        }
        // The per-token event, read without building a `Value` (borrowing its strings).
        if memchr::memmem::find(data.as_bytes(), b"content_block_delta").is_some()
            && let Ok(ev) = serde_json::from_str::<WireDeltaEvent<'_>>(data)
            && ev.kind == "content_block_delta"
        {
            let w = &ev.delta;
            let d = DeltaRef {
                kind: &w.kind,
                text: w.text.as_deref().unwrap_or(""),
                thinking: w.thinking.as_deref().unwrap_or(""),
                signature: w.signature.as_deref().unwrap_or(""),
                partial_json: w.partial_json.as_deref().unwrap_or(""),
            };
            self.delta_ref(ev.index, &d, out);
            return Ok(());
        }
        let ev: WireEvent = serde_json::from_str(data)
            .map_err(|e| Error::UpstreamFormat(format!("anthropic stream event: {e}")))?;
        match ev.kind.as_str() {
            "message_start" => {
                out.push(Event::Start {
                    id: ev.message["id"].as_str().map(str::to_string),
                    model: ev.message["model"].as_str().map(str::to_string),
                });
                if let Ok(u) = WireUsage::deserialize(&ev.message["usage"]) {
                    u.apply(&mut self.usage);
                    out.push(Event::Usage(self.usage));
                }
            }
            "content_block_start" => self.start(ev.index, &ev.content_block, out)?,
            "content_block_delta" => self.delta(ev.index, &ev.delta, out),
            "content_block_stop" => self.stop(ev.index, out),
            "message_delta" => {
                if let Some(u) = ev.usage {
                    u.apply(&mut self.usage);
                    out.push(Event::Usage(self.usage));
                }
                if let Some(s) = ev.delta["stop_reason"].as_str() {
                    out.push(Event::Stop(stop_from_wire(s)));
                }
            }
            "message_stop" => self.finished = true,
            "error" => {
                let e = ev.error.unwrap_or_default();
                out.push(Event::Error(classify(0, &e.kind, &e.message, None)));
                self.failed = true;
            }
            _ => {} // ping and future event types
        }
        Ok(())
    }

    fn start(&mut self, at: u64, block: &Value, out: &mut Vec<Event>) -> Result<()> {
        if !self.seen_ids.insert(at) {
            return Err(Error::UpstreamFormat(format!(
                "anthropic stream started block {at} twice"
            )));
        }
        let index = self.next;
        let (open, kind) = match block["type"].as_str().unwrap_or("") {
            "text" => (Open::Text(index), BlockKind::Text),
            "thinking" => (
                Open::Thinking {
                    index,
                    text: String::new(),
                    signature: block["signature"].as_str().unwrap_or("").to_string(),
                },
                BlockKind::Reasoning,
            ),
            "redacted_thinking" => (Open::Redacted(index), BlockKind::Reasoning),
            "tool_use" if block["name"] == JSON_TOOL => {
                (Open::Json { index, args: false }, BlockKind::Text)
            }
            "tool_use" => (
                Open::Tool { index, args: false },
                BlockKind::ToolCall {
                    call_id: block["id"].as_str().unwrap_or("").to_string(),
                    name: block["name"].as_str().unwrap_or("").to_string(),
                },
            ),
            _ => {
                self.blocks.insert(at, Open::Skip);
                return Ok(());
            }
        };
        self.next += 1;
        self.blocks.insert(at, open);
        out.push(Event::BlockStart { index, kind });
        match block["type"].as_str() {
            Some("text") => {
                self.delta(
                    at,
                    &json!({"type": "text_delta", "text": block["text"].clone()}),
                    out,
                );
            }
            Some("thinking") => {
                let t = block["thinking"].clone();
                self.delta(at, &json!({"type": "thinking_delta", "thinking": t}), out);
            }
            Some("redacted_thinking") => out.push(Event::Delta {
                index,
                delta: Delta::Opaque(thinking_opaque(block)),
            }),
            _ => {
                // Non-streamed input (rare): forward it whole.
                if let Some(input) = block
                    .get("input")
                    .filter(|v| v.as_object().is_some_and(|m| !m.is_empty()))
                {
                    let s = input.to_string();
                    self.delta(
                        at,
                        &json!({"type": "input_json_delta", "partial_json": s}),
                        out,
                    );
                }
            }
        }
        Ok(())
    }

    fn delta(&mut self, at: u64, d: &Value, out: &mut Vec<Event>) {
        let field = |k: &str| d[k].as_str().unwrap_or("");
        let d = DeltaRef {
            kind: field("type"),
            text: field("text"),
            thinking: field("thinking"),
            signature: field("signature"),
            partial_json: field("partial_json"),
        };
        self.delta_ref(at, &d, out);
    }

    fn delta_ref(&mut self, at: u64, d: &DeltaRef<'_>, out: &mut Vec<Event>) {
        let Some(open) = self.blocks.get_mut(&at) else {
            return;
        };
        let str_of = |k: &str| {
            match k {
                "text" => d.text,
                "thinking" => d.thinking,
                "signature" => d.signature,
                _ => d.partial_json,
            }
            .to_string()
        };
        let (index, delta) = match (open, d.kind) {
            (Open::Text(i), "text_delta") => (*i, Delta::Text(str_of("text"))),
            (Open::Thinking { index, text, .. }, "thinking_delta") => {
                let t = str_of("thinking");
                text.push_str(&t);
                (*index, Delta::Reasoning(t))
            }
            (Open::Thinking { signature, .. }, "signature_delta") => {
                signature.push_str(&str_of("signature"));
                return;
            }
            (Open::Tool { index, args }, "input_json_delta") => {
                *args = true;
                (*index, Delta::ToolArgs(str_of("partial_json")))
            }
            (Open::Json { index, args }, "input_json_delta") => {
                *args = true;
                (*index, Delta::Text(str_of("partial_json")))
            }
            _ => return,
        };
        let empty = match &delta {
            Delta::Text(s) | Delta::Reasoning(s) | Delta::ToolArgs(s) => s.is_empty(),
            Delta::Opaque(_) => false,
        };
        if !empty {
            out.push(Event::Delta { index, delta });
        }
    }

    fn stop(&mut self, at: u64, out: &mut Vec<Event>) {
        let Some(open) = self.blocks.remove(&at) else {
            return;
        };
        let index = match open {
            Open::Skip => return,
            Open::Text(i) | Open::Redacted(i) => i,
            Open::Thinking {
                index,
                text,
                signature,
            } => {
                if !signature.is_empty() {
                    let block =
                        json!({"type": "thinking", "thinking": text, "signature": signature});
                    out.push(Event::Delta {
                        index,
                        delta: Delta::Opaque(thinking_opaque(&block)),
                    });
                }
                index
            }
            Open::Tool { index, args } => {
                if !args {
                    out.push(Event::Delta {
                        index,
                        delta: Delta::ToolArgs("{}".into()),
                    });
                }
                index
            }
            Open::Json { index, args } => {
                if !args {
                    out.push(Event::Delta {
                        index,
                        delta: Delta::Text("{}".into()),
                    });
                }
                index
            }
        };
        out.push(Event::BlockStop { index });
    }

    /// The stream closed: an answer without `message_stop` is an error.
    pub fn end(&mut self, out: &mut Vec<Event>) {
        if !self.finished && !self.failed {
            self.failed = true;
            out.push(Event::Error(UpstreamError {
                code: ErrorCode::ServerError,
                message: "anthropic stream ended before message_stop".into(),
                retry_after_secs: None,
                status: 502,
            }));
        }
    }
}

/// Classifies an Anthropic HTTP error answer.
pub fn decode_error(status: u16, retry_after: Option<u64>, body: &[u8]) -> UpstreamError {
    let (kind, message) = match serde_json::from_slice::<WireError>(body) {
        Ok(w) if !w.error.message.is_empty() || !w.error.kind.is_empty() => {
            (w.error.kind, w.error.message)
        }
        _ => {
            let text = String::from_utf8_lossy(body);
            let text: String = text.trim().chars().take(500).collect();
            let msg = if text.is_empty() {
                format!("anthropic answered HTTP {status}")
            } else {
                format!("anthropic answered HTTP {status}: {text}")
            };
            (String::new(), msg)
        }
    };
    classify(status, &kind, &message, retry_after)
}
