//! Wire protocols: one codec per protocol, each translating to and from the canonical model
//! (`crate::canonical`). The gateway picks two: the client's (inbound) and the provider's
//! (upstream). When they are the same, bytes pass through and no codec runs.
//!
//! Every module follows the same contract, so the gateway can treat them alike:
//!
//! Inbound side (protocols clients speak: `responses`, `chat`, `anthropic`):
//! - `decode_request(body: &[u8]) -> Result<Request>`: [`crate::Error::Translate`] (a 400)
//!   names what is wrong or unsupported. The request it returns has its tool results named
//!   ([`crate::canonical::Request::fill_result_names`]), so callers need not do it again.
//! - `encode_response(resp: &Response, req: &Request) -> serde_json::Value`.
//! - `StreamEncoder::new(req: &Request)`, with `event(&mut self, &Event, &mut Vec<u8>)`,
//!   `heartbeat(&mut self, &mut Vec<u8>)` (a real event that keeps idle timers alive) and
//!   `finish(&mut self, &mut Vec<u8>)` (terminates the stream well-formed whatever came
//!   before; an answer with no `Stop` ends as an error).
//! - `encode_error(err: &UpstreamError) -> (u16, serde_json::Value)`: before a stream started.
//!
//! Upstream side (protocols providers speak: `chat`, `anthropic`, `gemini`):
//! - `encode_request(req: &Request, model: &str, info: &ModelInfo) -> Result<Vec<u8>>`.
//! - `decode_response(body: &[u8]) -> Result<Response>`: [`crate::Error::UpstreamFormat`]
//!   when the body is not what the protocol promises.
//! - `StreamDecoder::new()`, with `push(&mut self, data: &str, &mut Vec<Event>) -> Result<()>`
//!   for each SSE `data:` payload and `end(&mut self, &mut Vec<Event>)` when the stream
//!   closes (an answer that never finished becomes an `Event::Error`).
//! - `decode_error(status: u16, retry_after: Option<u64>, body: &[u8]) -> UpstreamError`.

pub mod anthropic;
mod caller_memo;
pub mod chat;
pub mod gemini;
pub mod responses;

use serde_json::Value;

use crate::canonical::{Event, Request, Response, UpstreamError};
use crate::error::{Error, Result};

/// The model limits translation needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModelInfo {
    /// Context window in tokens.
    pub context_window: Option<u64>,
    /// Largest output the model allows.
    pub max_output: Option<u64>,
}

/// A wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OpenAI Responses (Codex).
    Responses,
    /// OpenAI Chat Completions.
    Chat,
    /// Anthropic Messages.
    Anthropic,
    /// Google Gemini generateContent.
    Gemini,
}

/// Reads an upstream protocol's stream into canonical events.
pub enum StreamDecoder {
    /// Chat Completions chunks.
    Chat(chat::StreamDecoder),
    /// Anthropic Messages events.
    Anthropic(anthropic::StreamDecoder),
    /// Gemini chunks.
    Gemini(gemini::StreamDecoder),
}

impl StreamDecoder {
    /// One SSE `data:` payload.
    pub fn push(&mut self, data: &str, out: &mut Vec<Event>) -> Result<()> {
        match self {
            Self::Chat(d) => d.push(data, out),
            Self::Anthropic(d) => d.push(data, out),
            Self::Gemini(d) => d.push(data, out),
        }
    }

    /// The stream closed.
    pub fn end(&mut self, out: &mut Vec<Event>) {
        match self {
            Self::Chat(d) => d.end(out),
            Self::Anthropic(d) => d.end(out),
            Self::Gemini(d) => d.end(out),
        }
    }
}

/// Writes canonical events as a client protocol's stream.
pub enum StreamEncoder {
    /// Responses SSE.
    Responses(responses::StreamEncoder),
    /// Chat Completions chunks.
    Chat(chat::StreamEncoder),
    /// Anthropic Messages events.
    Anthropic(anthropic::StreamEncoder),
}

impl StreamEncoder {
    /// One event.
    pub fn event(&mut self, ev: &Event, out: &mut Vec<u8>) {
        match self {
            Self::Responses(e) => e.event(ev, out),
            Self::Chat(e) => e.event(ev, out),
            Self::Anthropic(e) => e.event(ev, out),
        }
    }

    /// A keep-alive the client's idle timer counts.
    pub fn heartbeat(&mut self, out: &mut Vec<u8>) {
        match self {
            Self::Responses(e) => e.heartbeat(out),
            Self::Chat(e) => e.heartbeat(out),
            Self::Anthropic(e) => e.heartbeat(out),
        }
    }

    /// Terminates the stream well-formed.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        match self {
            Self::Responses(e) => e.finish(out),
            Self::Chat(e) => e.finish(out),
            Self::Anthropic(e) => e.finish(out),
        }
    }
}

/// Where the gateway's scan found a top-level field of a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldAt {
    /// The value's bytes.
    pub value: std::ops::Range<usize>,
    /// `"name": value` with one comma next to it: what is cut to leave the rest of the body.
    pub field: std::ops::Range<usize>,
}

/// Where the gateway's scan found a received body's large fields, which the Responses decoder
/// can take from what the same caller sent before (`responses/tools_memo.rs`,
/// `responses/input_memo.rs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    /// The one `tools` field.
    pub tools: Option<FieldAt>,
    /// The one `input` field.
    pub input: Option<FieldAt>,
    /// A field no decoder reads, which a decoder may cut before parsing the rest.
    pub unread: Option<FieldAt>,
}

impl Protocol {
    /// A short name for logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Responses => "responses",
            Self::Chat => "chat",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
        }
    }

    /// Decodes a client's request.
    pub fn decode_request(self, body: &[u8]) -> Result<Request> {
        match self {
            Self::Responses => responses::decode_request(body),
            Self::Chat => chat::decode_request(body),
            Self::Anthropic => anthropic::decode_request(body),
            Self::Gemini => Err(Error::Translate(
                "Gemini is not served as a client protocol".into(),
            )),
        }
    }

    /// [`Protocol::decode_request`] for a body the gateway received from `caller`, with where
    /// its scan found `tools` and `input`: the Responses decoder keeps the tools and the items
    /// it decoded per caller, for the next turn that resends them. The result is the same.
    pub fn decode_received(
        self,
        body: &bytes::Bytes,
        at: &Received,
        caller: &[u8],
    ) -> Result<Request> {
        match self {
            Self::Responses if at.tools.is_some() || at.input.is_some() => {
                responses::decode_received(body, at, caller)
            }
            _ => self.decode_request(body),
        }
    }

    /// Encodes a whole answer for a client.
    pub fn encode_response(self, resp: &Response, req: &Request) -> Value {
        match self {
            Self::Responses => responses::encode_response(resp, req),
            Self::Chat => chat::encode_response(resp, req),
            Self::Anthropic | Self::Gemini => anthropic::encode_response(resp, req),
        }
    }

    /// [`Protocol::encode_response`] as JSON bytes (Responses writes them directly).
    pub fn write_response(self, resp: &Response, req: &Request) -> Vec<u8> {
        match self {
            Self::Responses => responses::write_response(resp, req),
            _ => crate::json_text::to_vec(&self.encode_response(resp, req)),
        }
    }

    /// Encodes an error for a client, before any stream started.
    pub fn encode_error(self, err: &UpstreamError) -> (u16, Value) {
        match self {
            Self::Responses => responses::encode_error(err),
            Self::Chat => chat::encode_error(err),
            Self::Anthropic | Self::Gemini => anthropic::encode_error(err),
        }
    }

    /// A stream encoder for a client.
    pub fn stream_encoder(self, req: &Request) -> StreamEncoder {
        match self {
            Self::Responses => StreamEncoder::Responses(responses::StreamEncoder::new(req)),
            Self::Chat => StreamEncoder::Chat(chat::StreamEncoder::new(req)),
            Self::Anthropic | Self::Gemini => {
                StreamEncoder::Anthropic(anthropic::StreamEncoder::new(req))
            }
        }
    }

    /// Encodes a request for a provider.
    pub fn encode_request(self, req: &Request, model: &str, info: &ModelInfo) -> Result<Vec<u8>> {
        match self {
            Self::Chat => chat::encode_request(req, model, info),
            Self::Anthropic => anthropic::encode_request(req, model, info),
            Self::Gemini => gemini::encode_request(req, model, info),
            Self::Responses => Err(Error::Translate(
                "Responses is only spoken upstream by passthrough".into(),
            )),
        }
    }

    /// [`Protocol::encode_request`] for a request from `caller`: an encoder may copy what
    /// it wrote for the same caller's last request (Anthropic's earlier turns).
    pub fn encode_request_for(
        self,
        req: &Request,
        model: &str,
        info: &ModelInfo,
        caller: &[u8],
    ) -> Result<Vec<u8>> {
        match self {
            Self::Anthropic => anthropic::encode_request_for(req, model, info, caller),
            _ => self.encode_request(req, model, info),
        }
    }

    /// Decodes a provider's whole answer.
    pub fn decode_response(self, body: &[u8]) -> Result<Response> {
        match self {
            Self::Chat | Self::Responses => chat::decode_response(body),
            Self::Anthropic => anthropic::decode_response(body),
            Self::Gemini => gemini::decode_response(body),
        }
    }

    /// A stream decoder for a provider's stream.
    pub fn stream_decoder(self) -> StreamDecoder {
        match self {
            Self::Chat | Self::Responses => StreamDecoder::Chat(chat::StreamDecoder::new()),
            Self::Anthropic => StreamDecoder::Anthropic(anthropic::StreamDecoder::new()),
            Self::Gemini => StreamDecoder::Gemini(gemini::StreamDecoder::new()),
        }
    }

    /// Classifies a provider's error answer.
    pub fn decode_error(self, status: u16, retry_after: Option<u64>, body: &[u8]) -> UpstreamError {
        match self {
            Self::Chat | Self::Responses => chat::decode_error(status, retry_after, body),
            Self::Anthropic => anthropic::decode_error(status, retry_after, body),
            Self::Gemini => gemini::decode_error(status, retry_after, body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Protocol;
    use crate::canonical::Part;

    /// The contract above: every client protocol's decoder names its tool results, so the
    /// gateway does not do it again.
    #[test]
    fn every_client_decoder_names_tool_results() {
        let bodies: [(Protocol, &str); 3] = [
            (
                Protocol::Responses,
                r#"{"model":"m","input":[
                    {"type":"function_call","call_id":"c1","name":"shell","arguments":"{}"},
                    {"type":"function_call_output","call_id":"c1","output":"ok"}]}"#,
            ),
            (
                Protocol::Chat,
                r#"{"model":"m","messages":[{"role":"user","content":"hi"},
                    {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
                        "function":{"name":"shell","arguments":"{}"}}]},
                    {"role":"tool","tool_call_id":"c1","content":"ok"}]}"#,
            ),
            (
                Protocol::Anthropic,
                r#"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"},
                    {"role":"assistant","content":[{"type":"tool_use","id":"c1","name":"shell","input":{}}]},
                    {"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":"ok"}]}]}"#,
            ),
        ];
        for (protocol, body) in bodies {
            let req = protocol
                .decode_request(body.as_bytes())
                .unwrap_or_else(|e| panic!("{}: {e}", protocol.name()));
            let names: Vec<Option<&str>> = req
                .messages
                .iter()
                .flat_map(|m| &m.parts)
                .filter_map(|p| match p {
                    Part::ToolResult(r) => Some(r.name.as_deref()),
                    _ => None,
                })
                .collect();
            assert_eq!(names, vec![Some("shell")], "{}", protocol.name());
        }
    }
}
