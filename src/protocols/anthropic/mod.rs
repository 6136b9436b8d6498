//! Anthropic Messages API codec (`POST /v1/messages`), both ways: upstream so Codex and other
//! OpenAI clients can use Claude, inbound so Anthropic clients (the `anthropic` SDK, Claude
//! Code) can use any provider.
//!
//! Thinking blocks travel back to Anthropic byte for byte: a block's whole JSON (thinking text
//! and signature, or redacted data) rides in an [`Opaque`] with provider `anthropic`.

mod inbound;
mod turns_memo;
mod upstream;

#[cfg(test)]
mod tests;

pub use inbound::{StreamEncoder, decode_request, encode_error, encode_response};
pub use upstream::{
    StreamDecoder, decode_error, decode_response, encode_request, encode_request_for,
};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::canonical::{ErrorCode, Opaque, StopReason, ToolCall, ToolKind, UpstreamError};
use crate::usage::Usage;

/// The `Opaque::provider` of Anthropic thinking blocks.
pub const PROVIDER: &str = "anthropic";

/// The tool that carries structured output (Anthropic has no JSON mode): its input is the
/// answer, turned back into text by the decoders.
pub const JSON_TOOL: &str = "bifrost_json_output";

/// Anthropic's `usage` object (absent fields are 0).
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(default)]
struct WireUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
}

impl WireUsage {
    /// Folds these (possibly partial) numbers into `u`, normalised to the OpenAI convention:
    /// input counts cache reads and writes.
    fn apply(&self, u: &mut Usage) {
        let read = self.cache_read_input_tokens;
        let write = self.cache_creation_input_tokens;
        if self.input_tokens.is_some() || read.is_some() || write.is_some() {
            let uncached = self.input_tokens.unwrap_or(
                u.input
                    .saturating_sub(u.cached_input)
                    .saturating_sub(u.cache_write),
            );
            u.cached_input = read.unwrap_or(u.cached_input);
            u.cache_write = write.unwrap_or(u.cache_write);
            u.input = uncached + u.cached_input + u.cache_write;
        }
        if let Some(o) = self.output_tokens {
            u.output = o;
        }
    }

    fn normalised(&self) -> Usage {
        let mut u = Usage::default();
        self.apply(&mut u);
        u
    }
}

/// Anthropic `stop_reason` → canonical.
fn stop_from_wire(s: &str) -> StopReason {
    match s {
        "end_turn" | "pause_turn" => StopReason::EndTurn,
        "max_tokens" | "model_context_window_exceeded" => StopReason::MaxTokens,
        "tool_use" => StopReason::ToolUse,
        "stop_sequence" => StopReason::StopSequence,
        "refusal" => StopReason::ContentFilter,
        other => StopReason::Other(other.to_string()),
    }
}

/// Canonical → Anthropic `stop_reason`.
fn stop_to_wire(s: &StopReason) -> &'static str {
    match s {
        StopReason::EndTurn | StopReason::Other(_) => "end_turn",
        StopReason::MaxTokens => "max_tokens",
        StopReason::ToolUse => "tool_use",
        StopReason::StopSequence => "stop_sequence",
        StopReason::ContentFilter => "refusal",
    }
}

/// A tool call's arguments as the JSON object Anthropic's `input` must be. Custom tools take
/// their raw text as the one `input` parameter; unparseable or non-object arguments (a model's
/// broken JSON) are kept as text the same way rather than lost.
fn tool_input(c: &ToolCall) -> Value {
    if c.kind == ToolKind::Custom {
        return json!({ "input": c.arguments });
    }
    if c.arguments.trim().is_empty() {
        return json!({});
    }
    match serde_json::from_str::<Value>(&c.arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ => json!({ "input": c.arguments }),
    }
}

/// The opaque value for a thinking or redacted-thinking block.
fn thinking_opaque(block: &Value) -> Opaque {
    Opaque::new(PROVIDER, block.clone())
}

/// Anthropic's error JSON: `{"type":"error","error":{"type":..,"message":..}}`.
#[derive(Debug, Default, Deserialize)]
struct WireError {
    #[serde(default)]
    error: WireErrorBody,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireErrorBody {
    #[serde(rename = "type")]
    kind: String,
    message: String,
}

/// Classifies an Anthropic error by HTTP status (0 inside a stream) and error type.
fn classify(status: u16, kind: &str, message: &str, retry_after: Option<u64>) -> UpstreamError {
    let lower = message.to_ascii_lowercase();
    let too_long = status < 500
        && (lower.contains("prompt is too long")
            || lower.contains("exceed context limit")
            || lower.contains("context window"));
    let code = if status == 429 || kind == "rate_limit_error" {
        ErrorCode::RateLimit
    } else if status == 529 || kind == "overloaded_error" {
        ErrorCode::ServerError
    } else if matches!(status, 401 | 403)
        || matches!(kind, "authentication_error" | "permission_error")
    {
        ErrorCode::Auth
    } else if status == 402 || kind == "billing_error" || lower.contains("credit balance") {
        ErrorCode::InsufficientQuota
    } else if status == 413 || kind == "request_too_large" || too_long {
        ErrorCode::ContextLengthExceeded
    } else if (400..500).contains(&status)
        || matches!(kind, "invalid_request_error" | "not_found_error")
    {
        ErrorCode::InvalidRequest
    } else {
        ErrorCode::ServerError
    };
    let message = match code {
        ErrorCode::RateLimit => match retry_after {
            Some(n) => format!("{message} (anthropic rate limit; please try again in {n}s)"),
            None => format!("{message} (anthropic rate limit)"),
        },
        ErrorCode::Auth => format!(
            "anthropic rejected the API key: {message}; check ANTHROPIC_API_KEY (or the provider's api_key)"
        ),
        _ => message.to_string(),
    };
    let status = match (status, code) {
        (529, _) => 503,
        (0, ErrorCode::ServerError) if kind == "overloaded_error" => 503,
        (s, _) if (400..600).contains(&s) => s,
        (_, ErrorCode::RateLimit) => 429,
        (_, ErrorCode::Auth) => 401,
        (_, ErrorCode::InsufficientQuota) => 402,
        (_, ErrorCode::ContextLengthExceeded | ErrorCode::InvalidRequest) => 400,
        (_, ErrorCode::ServerError) => 502,
    };
    UpstreamError {
        code,
        message,
        retry_after_secs: retry_after,
        status,
    }
}

/// Canonical error → Anthropic `(status, error type)`.
fn error_kind(err: &UpstreamError) -> (u16, &'static str) {
    match err.code {
        ErrorCode::ContextLengthExceeded if err.status == 413 => (413, "request_too_large"),
        ErrorCode::ContextLengthExceeded => (400, "invalid_request_error"),
        ErrorCode::RateLimit => (429, "rate_limit_error"),
        ErrorCode::ServerError if matches!(err.status, 503 | 529) => (529, "overloaded_error"),
        ErrorCode::ServerError => (500, "api_error"),
        ErrorCode::Auth if err.status == 403 => (403, "permission_error"),
        ErrorCode::Auth => (401, "authentication_error"),
        ErrorCode::InvalidRequest if err.status == 404 => (404, "not_found_error"),
        ErrorCode::InvalidRequest => (400, "invalid_request_error"),
        ErrorCode::InsufficientQuota => (402, "billing_error"),
    }
}

/// Anthropic's error body for a canonical error.
fn error_body(err: &UpstreamError) -> (u16, Value) {
    let (status, kind) = error_kind(err);
    (
        status,
        json!({"type": "error", "error": {"type": kind, "message": err.message}}),
    )
}
