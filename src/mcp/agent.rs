//! The agent loop: when the model calls an injected tool, the gateway runs it and goes back
//! upstream with the result, until the model answers or calls a client tool. The client sees
//! one continuous answer: text streams through, injected calls never reach it, and heartbeats
//! keep its idle timer alive while tools run.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;

use super::{Hub, Outcome, history};
use crate::canonical::{
    BlockKind, Delta, ErrorCode, Event, Message, Part, Reasoning, Request, ResultContent, Role,
    StopReason, ToolCall, ToolChoice, ToolKind, ToolResult, UpstreamError, events_of,
};
use crate::protocols::{ModelInfo, Protocol};
use crate::sse;
use crate::usage::Usage;

/// What the loop emits: canonical events, or a heartbeat for the client's encoder.
#[derive(Debug)]
pub enum Item {
    /// An event for the client.
    Event(Event),
    /// Keep the client's idle timer alive.
    Heartbeat,
}

/// Loop limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Upstream round trips that may end in injected calls.
    pub max_iterations: u32,
    /// Silence before a heartbeat.
    pub heartbeat: Duration,
}

/// Sends one encoded request upstream; `Ok` only for a success status.
pub type SendFn<'a> = Box<
    dyn Fn(Vec<u8>) -> futures::future::BoxFuture<'a, Result<reqwest::Response, UpstreamError>>
        + std::marker::Send
        + Sync
        + 'a,
>;

/// One client request's loop.
pub struct AgentLoop<'a> {
    /// Sends a body upstream.
    pub send: SendFn<'a>,
    /// The upstream protocol.
    pub wire: Protocol,
    /// The upstream model.
    pub model: String,
    /// Its limits.
    pub info: ModelInfo,
    /// The MCP servers.
    pub hub: Arc<Hub>,
    /// Provider-side names of the injected tools.
    pub injected: HashSet<String>,
    /// Limits.
    pub limits: Limits,
    /// Hand each exchange to the client in an opaque reasoning item (Responses clients).
    pub carry: bool,
}

/// What happened, for the log.
#[derive(Debug, Default)]
pub struct Report {
    /// Usage summed over every upstream round trip.
    pub usage: Usage,
    /// Every injected call.
    pub outcomes: Vec<Outcome>,
    /// Time spent running tools.
    pub tool_time: Duration,
    /// The first output token.
    pub ttft: Option<Instant>,
    /// The error that ended the answer, if any.
    pub error: Option<String>,
    /// Upstream round trips made.
    pub iterations: u32,
}

/// A block being read from the upstream in one round trip.
enum Block {
    /// Forwarded to the client under this index.
    Shown { client: usize, part: Part },
    /// An injected call, kept from the client.
    Hidden(ToolCall),
}

impl AgentLoop<'_> {
    async fn emit(tx: &mpsc::Sender<Item>, ev: Event) -> bool {
        tx.send(Item::Event(ev)).await.is_ok()
    }

    /// Runs the loop, sending items to `tx`, and reports.
    pub async fn run(self, mut req: Request, tx: mpsc::Sender<Item>) -> Report {
        let mut report = Report::default();
        let mut next_index = 0usize;
        let mut total = Usage::default();
        if !Self::emit(
            &tx,
            Event::Start {
                id: None,
                model: None,
            },
        )
        .await
        {
            return report;
        }
        loop {
            report.iterations += 1;
            let last_chance = report.iterations > self.limits.max_iterations;
            if last_chance {
                // Over the limit: the model must answer with what it has.
                req.tool_choice = Some(ToolChoice::None);
            }
            let mut upstream_req = req.clone();
            upstream_req.stream = true;
            let body = match self
                .wire
                .encode_request(&upstream_req, &self.model, &self.info)
            {
                Ok(b) => b,
                Err(e) => {
                    return self
                        .fail(report, &tx, ErrorCode::InvalidRequest, e.to_string(), 400)
                        .await;
                }
            };
            let resp = match (self.send)(body).await {
                Ok(r) => r,
                Err(e) => {
                    let _ = Self::emit(&tx, Event::Error(e.clone())).await;
                    report.error = Some(format!("{}: {}", e.code.openai_code(), e.message));
                    return report;
                }
            };
            let is_sse = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/event-stream"));
            let mut events: Vec<Event> = Vec::new();
            let mut blocks: BTreeMap<usize, Block> = BTreeMap::new();
            let mut order: Vec<usize> = Vec::new();
            let mut usage = Usage::default();
            let mut stop = StopReason::EndTurn;
            let mut failed: Option<UpstreamError> = None;
            let mut decoder = self.wire.stream_decoder();
            let mut framer = sse::Framer::default();
            let mut stream = resp.bytes_stream();
            let mut json: Vec<u8> = Vec::new();
            let mut ended = false;
            while !ended {
                tokio::select! {
                    chunk = stream.next() => match chunk {
                        Some(Ok(bytes)) if is_sse => {
                            framer.push(&bytes, |ev| {
                                if let Some(data) = sse::data(ev)
                                    && let Err(e) = decoder.push(&data, &mut events)
                                {
                                    events.push(Event::Error(server_error(e.to_string())));
                                }
                            });
                            if framer.overflowed() {
                                let max = framer.max_event();
                                events.push(Event::Error(server_error(format!("upstream sent an SSE event larger than {max} bytes; the stream was cut"))));
                                ended = true;
                            }
                        }
                        Some(Ok(bytes)) => json.extend_from_slice(&bytes),
                        Some(Err(e)) => {
                            events.push(Event::Error(server_error(format!("upstream stream failed: {}", e.without_url()))));
                            ended = true;
                        }
                        None => {
                            if is_sse {
                                decoder.end(&mut events);
                            } else {
                                // A whole JSON answer to a stream request: replay it as events.
                                match self.wire.decode_response(&json) {
                                    Ok(r) => events.extend(events_of(&r)),
                                    Err(e) => events.push(Event::Error(server_error(e.to_string()))),
                                }
                            }
                            ended = true;
                        }
                    },
                    _ = tokio::time::sleep(self.limits.heartbeat) => {
                        if tx.send(Item::Heartbeat).await.is_err() {
                            return report;
                        }
                    }
                }
                for ev in events.drain(..) {
                    match ev {
                        Event::Start { .. } => {}
                        Event::BlockStart { index, kind } => {
                            let block = match kind {
                                BlockKind::ToolCall { call_id, name }
                                    if self.injected.contains(&name) =>
                                {
                                    Block::Hidden(ToolCall {
                                        call_id,
                                        name,
                                        arguments: String::new(),
                                        kind: ToolKind::Function,
                                    })
                                }
                                kind => {
                                    let client = next_index;
                                    next_index += 1;
                                    let part = match &kind {
                                        BlockKind::Text => Part::Text(String::new()),
                                        BlockKind::Reasoning => Part::Reasoning(Reasoning {
                                            text: String::new(),
                                            opaque: None,
                                        }),
                                        BlockKind::ToolCall { call_id, name } => {
                                            Part::ToolCall(ToolCall {
                                                call_id: call_id.clone(),
                                                name: name.clone(),
                                                arguments: String::new(),
                                                kind: req
                                                    .tool_origins
                                                    .get(name)
                                                    .map_or(ToolKind::Function, |o| o.kind),
                                            })
                                        }
                                    };
                                    if !Self::emit(
                                        &tx,
                                        Event::BlockStart {
                                            index: client,
                                            kind,
                                        },
                                    )
                                    .await
                                    {
                                        return report;
                                    }
                                    Block::Shown { client, part }
                                }
                            };
                            blocks.insert(index, block);
                            order.push(index);
                        }
                        Event::Delta { index, delta } => match blocks.get_mut(&index) {
                            Some(Block::Hidden(call)) => {
                                if let Delta::ToolArgs(d) = &delta {
                                    call.arguments.push_str(d);
                                }
                            }
                            Some(Block::Shown { client, part }) => {
                                report.ttft.get_or_insert_with(Instant::now);
                                match (part, &delta) {
                                    (Part::Text(t), Delta::Text(d)) => t.push_str(d),
                                    (Part::Reasoning(r), Delta::Reasoning(d)) => r.text.push_str(d),
                                    (Part::Reasoning(r), Delta::Opaque(o)) => {
                                        r.opaque = Some(o.clone())
                                    }
                                    (Part::ToolCall(c), Delta::ToolArgs(d)) => {
                                        c.arguments.push_str(d)
                                    }
                                    _ => {}
                                }
                                let client = *client;
                                if !Self::emit(
                                    &tx,
                                    Event::Delta {
                                        index: client,
                                        delta,
                                    },
                                )
                                .await
                                {
                                    return report;
                                }
                            }
                            None => {}
                        },
                        Event::BlockStop { index } => {
                            if let Some(Block::Shown { client, .. }) = blocks.get(&index) {
                                let client = *client;
                                if !Self::emit(&tx, Event::BlockStop { index: client }).await {
                                    return report;
                                }
                            }
                        }
                        Event::Usage(u) => usage = u,
                        Event::Stop(s) => stop = s,
                        Event::Error(e) => failed = Some(e),
                    }
                }
                if failed.is_some() {
                    ended = true;
                }
            }
            add(&mut total, &usage);
            report.usage = total;
            if let Some(e) = failed {
                report.error = Some(format!("{}: {}", e.code.openai_code(), e.message));
                let _ = Self::emit(&tx, Event::Error(e)).await;
                return report;
            }
            let mut parts = Vec::new();
            let mut hidden = Vec::new();
            let mut client_calls = false;
            for i in order {
                match blocks.remove(&i) {
                    Some(Block::Shown { part, .. }) => {
                        client_calls |= matches!(part, Part::ToolCall(_));
                        parts.push(part);
                    }
                    Some(Block::Hidden(call)) => {
                        parts.push(Part::ToolCall(call.clone()));
                        hidden.push(call);
                    }
                    None => {}
                }
            }
            if hidden.is_empty() || last_chance {
                let _ = Self::emit(&tx, Event::Usage(total)).await;
                let _ = Self::emit(&tx, Event::Stop(stop)).await;
                return report;
            }
            // Run the injected calls concurrently, with heartbeats.
            let started = Instant::now();
            let calls = futures::future::join_all(
                hidden.iter().map(|c| self.hub.call(&c.name, &c.arguments)),
            );
            tokio::pin!(calls);
            let outcomes = loop {
                tokio::select! {
                    o = &mut calls => break o,
                    _ = tokio::time::sleep(self.limits.heartbeat) => {
                        if tx.send(Item::Heartbeat).await.is_err() {
                            return report;
                        }
                    }
                }
            };
            report.tool_time += started.elapsed();
            let mut exchange = Vec::new();
            let mut results = Vec::new();
            for (call, outcome) in hidden.iter().zip(&outcomes) {
                let mut content = outcome.content.clone();
                if report.iterations == self.limits.max_iterations {
                    content.push(ResultContent::Text(format!(
                        "[bifrost: the limit of {} tool rounds is reached; answer now without calling more tools]",
                        self.limits.max_iterations
                    )));
                }
                let result = ToolResult {
                    call_id: call.call_id.clone(),
                    name: Some(call.name.clone()),
                    content,
                    is_error: outcome.is_error,
                };
                exchange.push((call.clone(), result.clone()));
                results.push(Part::ToolResult(result));
            }
            report.outcomes.extend(outcomes);
            if self.carry {
                let index = next_index;
                next_index += 1;
                let carry = history::carry(&exchange);
                for ev in [
                    Event::BlockStart {
                        index,
                        kind: BlockKind::Reasoning,
                    },
                    Event::Delta {
                        index,
                        delta: Delta::Opaque(carry),
                    },
                    Event::BlockStop { index },
                ] {
                    if !Self::emit(&tx, ev).await {
                        return report;
                    }
                }
            }
            if client_calls {
                // Mixed turn: injected calls ran first; now the client runs its own.
                let _ = Self::emit(&tx, Event::Usage(total)).await;
                let _ = Self::emit(&tx, Event::Stop(StopReason::ToolUse)).await;
                return report;
            }
            req.messages.push(Message {
                role: Role::Assistant,
                parts,
            });
            req.messages.push(Message {
                role: Role::Tool,
                parts: results,
            });
        }
    }

    async fn fail(
        &self,
        mut report: Report,
        tx: &mpsc::Sender<Item>,
        code: ErrorCode,
        message: String,
        status: u16,
    ) -> Report {
        let e = UpstreamError {
            code,
            message,
            retry_after_secs: None,
            status,
        };
        report.error = Some(format!("{}: {}", e.code.openai_code(), e.message));
        let _ = Self::emit(tx, Event::Error(e)).await;
        report
    }
}

fn server_error(message: String) -> UpstreamError {
    UpstreamError {
        code: ErrorCode::ServerError,
        message,
        retry_after_secs: None,
        status: 502,
    }
}

fn add(total: &mut Usage, u: &Usage) {
    total.input += u.input;
    total.cached_input += u.cached_input;
    total.cache_write += u.cache_write;
    total.output += u.output;
    total.reasoning += u.reasoning;
}
