//! The one internal model every wire protocol translates to and from (N codecs, not N×N).
//!
//! A client's request is decoded into a [`Request`]; an upstream protocol encodes it; the
//! upstream's answer is decoded into [`Event`]s (streams) or a [`Response`]; the client's
//! protocol encodes those back. Reasoning signatures and other provider-only data ride along
//! as [`Opaque`] values that only the provider that made them reads.

mod opaque;
mod schema;
mod tools;

pub use opaque::Opaque;
pub use schema::Schema;
pub use tools::{ToolOrigin, flatten_name};

use std::collections::BTreeMap;

use serde_json::Value;

use crate::usage::Usage;

/// Who speaks a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// System or developer instructions.
    System,
    /// The user (and, for protocols that put them there, tool results).
    User,
    /// The model.
    Assistant,
    /// Tool results (Chat's `role: tool`).
    Tool,
}

/// Whether a tool takes JSON arguments or one free-form string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ToolKind {
    /// JSON-schema arguments.
    #[default]
    Function,
    /// Free-form text input (Codex's `apply_patch`); sent to providers as a function with one
    /// string parameter named `input`.
    Custom,
}

/// An image in a message or tool result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Image {
    /// A URL (http(s) or a `data:` URL).
    Url(String),
    /// Inline bytes.
    Base64 {
        /// e.g. `image/png`.
        media_type: String,
        /// Base64 data.
        data: String,
    },
}

impl Image {
    /// Splits a `data:` URL into media type and base64 data.
    pub fn as_base64(&self) -> Option<(String, String)> {
        match self {
            Self::Base64 { media_type, data } => Some((media_type.clone(), data.clone())),
            Self::Url(u) => {
                let rest = u.strip_prefix("data:")?;
                let (meta, data) = rest.split_once(',')?;
                let media = meta.strip_suffix(";base64")?;
                Some((media.to_string(), data.to_string()))
            }
        }
    }
}

/// A call the model made.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The id that links the call to its result.
    pub call_id: String,
    /// The tool name as the provider sees it (flattened for namespaces).
    pub name: String,
    /// JSON text for functions; the raw input for custom tools.
    pub arguments: String,
    /// Function or custom.
    pub kind: ToolKind,
}

/// The result of a call, sent back to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    /// The call it answers.
    pub call_id: String,
    /// The tool's name, when known (Gemini requires it; see [`Request::fill_result_names`]).
    pub name: Option<String>,
    /// Text and images.
    pub content: Vec<ResultContent>,
    /// The tool failed.
    pub is_error: bool,
}

/// A piece of a tool result.
#[derive(Debug, Clone, PartialEq)]
pub enum ResultContent {
    /// Text.
    Text(String),
    /// An image.
    Image(Image),
}

/// Model reasoning: readable text (a summary or thinking), plus what the provider needs to
/// accept it back (a signature), which only that provider reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Reasoning {
    /// Readable reasoning text; may be empty.
    pub text: String,
    /// Provider data to send back unchanged.
    pub opaque: Option<Opaque>,
}

/// One part of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Text.
    Text(String),
    /// An image.
    Image(Image),
    /// A tool call (assistant).
    ToolCall(ToolCall),
    /// A tool result (user or tool role).
    ToolResult(ToolResult),
    /// Reasoning (assistant).
    Reasoning(Reasoning),
}

/// A message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Speaker.
    pub role: Role,
    /// Content, in order.
    pub parts: Vec<Part>,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    /// Name as sent to the provider: `[A-Za-z0-9_-]`, at most 64 characters.
    pub name: String,
    /// What it does.
    pub description: String,
    /// JSON schema of the arguments (an object schema). For custom tools, one string `input`.
    pub parameters: Schema,
    /// Function or custom.
    pub kind: ToolKind,
    /// Strict schema adherence requested.
    pub strict: bool,
}

/// How the model must use tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tool calls.
    None,
    /// At least one tool call.
    Required,
    /// This tool (provider-side name).
    Named(String),
}

/// Reasoning effort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effort {
    /// No reasoning.
    None,
    /// Minimal.
    Minimal,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Extra high.
    XHigh,
}

impl Effort {
    /// Parses OpenAI's effort names.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "minimal" => Self::Minimal,
            "low" => Self::Low,
            "medium" => Self::Medium,
            "high" => Self::High,
            "xhigh" => Self::XHigh,
            _ => return None,
        })
    }

    /// A thinking-token budget for providers that take one.
    pub fn budget_tokens(self) -> u64 {
        match self {
            Self::None => 0,
            Self::Minimal => 1024,
            Self::Low => 2048,
            Self::Medium => 8192,
            Self::High => 16384,
            Self::XHigh => 32768,
        }
    }
}

/// Structured output.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputFormat {
    /// Plain text.
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON matching a schema.
    JsonSchema {
        /// Schema name.
        name: String,
        /// The schema.
        schema: Value,
        /// Strict adherence.
        strict: bool,
    },
}

/// A request, protocol-independent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Request {
    /// The model name as the client sent it (routing replaces it for upstream).
    pub model: String,
    /// The conversation, system messages included, in order.
    pub messages: Vec<Message>,
    /// Tools (flattened, provider-safe names).
    pub tools: Vec<Tool>,
    /// Where each provider-side tool name came from, to restore namespaces and custom tools.
    pub tool_origins: BTreeMap<String, ToolOrigin>,
    /// Tool choice.
    pub tool_choice: Option<ToolChoice>,
    /// Allow several calls in one turn.
    pub parallel_tool_calls: Option<bool>,
    /// Cap on output tokens.
    pub max_output_tokens: Option<u64>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    pub top_p: Option<f64>,
    /// Stop sequences.
    pub stop: Vec<String>,
    /// Reasoning effort, when asked for.
    pub reasoning: Option<Effort>,
    /// Whether a reasoning summary was asked for.
    pub reasoning_summary: bool,
    /// Structured output.
    pub output_format: Option<OutputFormat>,
    /// Stream the answer.
    pub stream: bool,
    /// The client asked for a usage chunk at the end of a Chat stream.
    pub stream_usage: bool,
    /// A stable id for prompt caching / stickiness.
    pub cache_key: Option<String>,
    /// Things dropped in translation (hosted tools the provider lacks, ...), for the log.
    pub dropped: Vec<String>,
}

impl Request {
    /// Gives each tool result the name of the call it answers, from earlier in the history.
    pub fn fill_result_names(&mut self) {
        let mut names = BTreeMap::new();
        for m in &mut self.messages {
            for p in &mut m.parts {
                match p {
                    Part::ToolCall(c) => {
                        names.insert(c.call_id.clone(), c.name.clone());
                    }
                    Part::ToolResult(r) if r.name.is_none() => {
                        r.name = names.get(&r.call_id).cloned();
                    }
                    _ => {}
                }
            }
        }
    }

    /// The leading system texts, and the rest of the conversation with any later system
    /// message turned into a user message (for protocols with one top-level system prompt).
    /// Nothing is copied: the texts and messages are borrowed, except a later system message,
    /// which becomes a new user message.
    pub fn split_system(&self) -> (Vec<&str>, Vec<std::borrow::Cow<'_, Message>>) {
        let mut system = Vec::new();
        let mut rest = Vec::new();
        let mut leading = true;
        for m in &self.messages {
            if m.role == Role::System {
                let text = m.parts.iter().filter_map(|p| match p {
                    Part::Text(t) => Some(t.as_str()),
                    _ => None,
                });
                if leading {
                    system.extend(text);
                } else {
                    rest.push(std::borrow::Cow::Owned(Message {
                        role: Role::User,
                        parts: text.map(|t| Part::Text(t.to_string())).collect(),
                    }));
                }
            } else {
                leading = false;
                rest.push(std::borrow::Cow::Borrowed(m));
            }
        }
        (system, rest)
    }

    /// A rough input size in tokens (4 bytes a token), for routing and window warnings.
    pub fn estimated_input_tokens(&self) -> u64 {
        let mut bytes = 0usize;
        for m in &self.messages {
            for p in &m.parts {
                bytes += match p {
                    Part::Text(t) => t.len(),
                    Part::Image(_) => 3000,
                    Part::ToolCall(c) => c.arguments.len() + c.name.len(),
                    Part::ToolResult(r) => r
                        .content
                        .iter()
                        .map(|c| match c {
                            ResultContent::Text(t) => t.len(),
                            ResultContent::Image(_) => 3000,
                        })
                        .sum(),
                    Part::Reasoning(r) => r.text.len(),
                };
            }
        }
        for t in &self.tools {
            bytes += t.description.len() + t.parameters.text().len();
        }
        (bytes / 4) as u64
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StopReason {
    /// A natural end.
    #[default]
    EndTurn,
    /// The output cap.
    MaxTokens,
    /// It called tools.
    ToolUse,
    /// A stop sequence.
    StopSequence,
    /// Filtered or refused.
    ContentFilter,
    /// Anything else, verbatim.
    Other(String),
}

/// An error classified so every client protocol can render it in the form its clients act on.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamError {
    /// What kind.
    pub code: ErrorCode,
    /// The upstream's message (never containing a key).
    pub message: String,
    /// Seconds to wait before retrying, when known.
    pub retry_after_secs: Option<u64>,
    /// The HTTP status to use when answering before a stream started.
    pub status: u16,
}

/// Error kinds clients can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The prompt is larger than the model's window.
    ContextLengthExceeded,
    /// Rate limited.
    RateLimit,
    /// The provider is overloaded or failed.
    ServerError,
    /// The key was rejected.
    Auth,
    /// The request was invalid.
    InvalidRequest,
    /// Out of credit or budget.
    InsufficientQuota,
}

impl ErrorCode {
    /// OpenAI's `code` string.
    pub fn openai_code(self) -> &'static str {
        match self {
            Self::ContextLengthExceeded => "context_length_exceeded",
            Self::RateLimit => "rate_limit_exceeded",
            Self::ServerError => "server_error",
            Self::Auth => "invalid_api_key",
            Self::InvalidRequest => "invalid_request",
            Self::InsufficientQuota => "insufficient_quota",
        }
    }
}

/// What kind of output block a stream opens.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockKind {
    /// Assistant text.
    Text,
    /// Reasoning.
    Reasoning,
    /// A tool call; arguments follow as deltas.
    ToolCall {
        /// Call id.
        call_id: String,
        /// Provider-side tool name.
        name: String,
    },
}

/// Content for an open block.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    /// Text.
    Text(String),
    /// Reasoning text.
    Reasoning(String),
    /// A fragment of a tool call's JSON arguments.
    ToolArgs(String),
    /// Provider data for the block (a thinking signature, a thought signature): replaces any
    /// earlier opaque value of the block.
    Opaque(Opaque),
}

/// One step of a model's answer. Blocks are numbered from 0 in the order they start; a block
/// gets deltas only between its start and its stop.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The response began.
    Start {
        /// Upstream id, if any.
        id: Option<String>,
        /// Upstream model, if reported.
        model: Option<String>,
    },
    /// A block opens.
    BlockStart {
        /// Block number.
        index: usize,
        /// Its kind.
        kind: BlockKind,
    },
    /// Content for an open block.
    Delta {
        /// Block number.
        index: usize,
        /// The content.
        delta: Delta,
    },
    /// A block is complete.
    BlockStop {
        /// Block number.
        index: usize,
    },
    /// Usage so far, complete and normalised (replaces earlier values).
    Usage(Usage),
    /// The model stopped.
    Stop(StopReason),
    /// The upstream failed mid-answer.
    Error(UpstreamError),
}

/// A whole answer (non-streaming).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Response {
    /// Upstream id.
    pub id: Option<String>,
    /// Model that answered.
    pub model: Option<String>,
    /// Output parts: text, reasoning, tool calls.
    pub parts: Vec<Part>,
    /// Usage.
    pub usage: Usage,
    /// Why it stopped.
    pub stop: StopReason,
}

impl Response {
    /// Folds a complete event sequence into a response (used for tests and for non-streaming
    /// clients of streaming-only paths).
    pub fn from_events(events: &[Event]) -> Result<Response, UpstreamError> {
        let mut r = Response::default();
        let mut open: BTreeMap<usize, Part> = BTreeMap::new();
        let mut order = Vec::new();
        for ev in events {
            match ev {
                Event::Start { id, model } => {
                    r.id = id.clone();
                    r.model = model.clone();
                }
                Event::BlockStart { index, kind } => {
                    let part = match kind {
                        BlockKind::Text => Part::Text(String::new()),
                        BlockKind::Reasoning => Part::Reasoning(Reasoning {
                            text: String::new(),
                            opaque: None,
                        }),
                        BlockKind::ToolCall { call_id, name } => Part::ToolCall(ToolCall {
                            call_id: call_id.clone(),
                            name: name.clone(),
                            arguments: String::new(),
                            kind: ToolKind::Function,
                        }),
                    };
                    open.insert(*index, part);
                    order.push(*index);
                }
                Event::Delta { index, delta } => match (open.get_mut(index), delta) {
                    (Some(Part::Text(t)), Delta::Text(d)) => t.push_str(d),
                    (Some(Part::Reasoning(rz)), Delta::Reasoning(d)) => rz.text.push_str(d),
                    (Some(Part::Reasoning(rz)), Delta::Opaque(o)) => rz.opaque = Some(o.clone()),
                    (Some(Part::ToolCall(c)), Delta::ToolArgs(d)) => c.arguments.push_str(d),
                    _ => {}
                },
                Event::BlockStop { .. } => {}
                Event::Usage(u) => r.usage = *u,
                Event::Stop(s) => r.stop = s.clone(),
                Event::Error(e) => return Err(e.clone()),
            }
        }
        for i in order {
            if let Some(p) = open.remove(&i) {
                r.parts.push(p);
            }
        }
        Ok(r)
    }
}

/// Turns a response into the event sequence a stream would have carried (for streaming
/// clients of non-streaming upstream answers, and for tests).
pub fn events_of(r: &Response) -> Vec<Event> {
    let mut out = vec![Event::Start {
        id: r.id.clone(),
        model: r.model.clone(),
    }];
    for (index, p) in r.parts.iter().enumerate() {
        let (kind, deltas) = match p {
            Part::Text(t) => (BlockKind::Text, vec![Delta::Text(t.clone())]),
            Part::Reasoning(rz) => {
                let mut d = vec![Delta::Reasoning(rz.text.clone())];
                if let Some(o) = &rz.opaque {
                    d.push(Delta::Opaque(o.clone()));
                }
                (BlockKind::Reasoning, d)
            }
            Part::ToolCall(c) => (
                BlockKind::ToolCall {
                    call_id: c.call_id.clone(),
                    name: c.name.clone(),
                },
                vec![Delta::ToolArgs(c.arguments.clone())],
            ),
            Part::Image(_) | Part::ToolResult(_) => continue,
        };
        out.push(Event::BlockStart { index, kind });
        for delta in deltas {
            out.push(Event::Delta { index, delta });
        }
        out.push(Event::BlockStop { index });
    }
    out.push(Event::Usage(r.usage));
    out.push(Event::Stop(r.stop.clone()));
    out
}
