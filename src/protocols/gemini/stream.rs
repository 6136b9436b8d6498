//! Gemini SSE (`streamGenerateContent?alt=sse`) to canonical events: every `data:` payload is
//! a whole `GenerateContentResponse` chunk holding the parts generated since the last one.

use serde_json::Value;

use crate::canonical::{BlockKind, Delta, ErrorCode, Event, Opaque, StopReason, UpstreamError};
use crate::usage::Usage;
use crate::{Error, Result};

use super::{Chunk, PROVIDER, Piece, SIG, call_id, error_from_value, pieces, stop_reason};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text,
    Reasoning,
}

/// Turns Gemini stream chunks into [`Event`]s. Text and thoughts stream into one open block
/// at a time; each function call (always whole in one chunk) is a complete block.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    started: bool,
    next_index: usize,
    open: Option<(usize, Open)>,
    calls: usize,
    response_id: Option<String>,
    done: bool,
    /// The signature of the open text block, emitted when it closes.
    after: Option<String>,
}

impl StreamDecoder {
    /// A decoder for one stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Handles one SSE `data:` payload.
    pub fn push(&mut self, data: &str, out: &mut Vec<Event>) -> Result<()> {
        let data = data.trim();
        if data.is_empty() || data == "[DONE]" {
            return Ok(());
        }
        let value: Value = serde_json::from_str(data)
            .map_err(|e| Error::UpstreamFormat(format!("gemini: stream chunk is not JSON: {e}")))?;
        let chunk: Chunk = serde_json::from_value(value).map_err(|e| {
            Error::UpstreamFormat(format!("gemini: unexpected stream chunk shape: {e}"))
        })?;
        if let Some(err) = &chunk.error {
            self.close(out);
            if !self.done {
                out.push(Event::Error(error_from_value(err, None)));
                self.done = true;
            }
            return Ok(());
        }
        if self.done {
            // Late usage after the finish still counts; anything else is ignored.
            if let Some(u) = chunk.usage_metadata {
                out.push(Event::Usage(Usage::from(u)));
            }
            return Ok(());
        }
        if !self.started {
            self.started = true;
            out.push(Event::Start {
                id: chunk.response_id.clone(),
                model: chunk.model_version.clone(),
            });
        }
        if self.response_id.is_none() {
            self.response_id.clone_from(&chunk.response_id);
        }

        let blocked = chunk.candidates.is_empty()
            && chunk
                .prompt_feedback
                .as_ref()
                .is_some_and(|f| f.block_reason.is_some());
        let mut finish = None;
        if let Some(cand) = chunk.candidates.into_iter().next() {
            for gp in cand.content.map(|c| c.parts).unwrap_or_default() {
                for piece in pieces(gp) {
                    self.piece(piece, out);
                }
            }
            finish = cand.finish_reason;
        }
        if let Some(u) = chunk.usage_metadata {
            out.push(Event::Usage(Usage::from(u)));
        }
        let stop = match finish {
            Some(reason) => Some(stop_reason(&reason, self.calls > 0)),
            None if blocked => Some(StopReason::ContentFilter),
            None => None,
        };
        if let Some(stop) = stop {
            self.close(out);
            out.push(Event::Stop(stop));
            self.done = true;
        }
        Ok(())
    }

    /// The stream closed: an answer without a finish reason is an error.
    pub fn end(&mut self, out: &mut Vec<Event>) {
        self.close(out);
        if !self.done {
            self.done = true;
            out.push(Event::Error(UpstreamError {
                code: ErrorCode::ServerError,
                message: "gemini: stream ended before finishReason".into(),
                retry_after_secs: None,
                status: 502,
            }));
        }
    }

    fn piece(&mut self, piece: Piece, out: &mut Vec<Event>) {
        match piece {
            Piece::Signature(sig) => {
                self.close(out);
                let index = self.start(BlockKind::Reasoning, out);
                out.push(Event::Delta {
                    index,
                    delta: Delta::Opaque(Opaque::new(PROVIDER, serde_json::json!({ SIG: sig }))),
                });
                out.push(Event::BlockStop { index });
            }
            Piece::SignatureAfter(sig) => {
                if matches!(self.open, Some((_, Open::Text))) {
                    self.after = Some(sig);
                } else {
                    self.close(out);
                    self.emit_after(sig, out);
                }
            }
            Piece::Thought(t) => {
                let index = self.open_block(Open::Reasoning, out);
                out.push(Event::Delta {
                    index,
                    delta: Delta::Reasoning(t),
                });
            }
            Piece::Text(t) => {
                let index = self.open_block(Open::Text, out);
                out.push(Event::Delta {
                    index,
                    delta: Delta::Text(t),
                });
            }
            Piece::Call { name, args } => {
                self.close(out);
                let call_id = call_id(self.response_id.as_deref(), self.calls, &name, &args);
                self.calls += 1;
                let index = self.start(BlockKind::ToolCall { call_id, name }, out);
                out.push(Event::Delta {
                    index,
                    delta: Delta::ToolArgs(args),
                });
                out.push(Event::BlockStop { index });
            }
        }
    }

    /// The index of an open block of this kind, opening one (and closing another) if needed.
    fn open_block(&mut self, kind: Open, out: &mut Vec<Event>) -> usize {
        if let Some((index, k)) = self.open
            && k == kind
        {
            return index;
        }
        self.close(out);
        let index = self.start(
            match kind {
                Open::Text => BlockKind::Text,
                Open::Reasoning => BlockKind::Reasoning,
            },
            out,
        );
        self.open = Some((index, kind));
        index
    }

    fn start(&mut self, kind: BlockKind, out: &mut Vec<Event>) -> usize {
        let index = self.next_index;
        self.next_index += 1;
        out.push(Event::BlockStart { index, kind });
        index
    }

    fn close(&mut self, out: &mut Vec<Event>) {
        if let Some((index, _)) = self.open.take() {
            out.push(Event::BlockStop { index });
        }
        if let Some(sig) = self.after.take() {
            self.emit_after(sig, out);
        }
    }

    /// A reasoning block holding the signature of the text block just closed.
    fn emit_after(&mut self, sig: String, out: &mut Vec<Event>) {
        let index = self.start(BlockKind::Reasoning, out);
        out.push(Event::Delta {
            index,
            delta: Delta::Opaque(super::signature_after_opaque(sig)),
        });
        out.push(Event::BlockStop { index });
    }
}
