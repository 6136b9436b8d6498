//! Wire protocols: one codec per protocol, each translating to and from the canonical model
//! (`crate::canonical`). The gateway picks two: the client's (inbound) and the provider's
//! (upstream). When they are the same, bytes pass through and no codec runs.
//!
//! Every module follows the same contract, so the gateway can treat them alike:
//!
//! Inbound side (protocols clients speak: `responses`, `chat`, `anthropic`):
//! - `decode_request(body: &[u8]) -> Result<Request>`: [`crate::Error::Translate`] (a 400)
//!   names what is wrong or unsupported.
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

pub mod responses;

/// The model limits translation needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModelInfo {
    /// Context window in tokens.
    pub context_window: Option<u64>,
    /// Largest output the model allows.
    pub max_output: Option<u64>,
}
