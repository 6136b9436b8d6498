//! The tee on every response body: bytes go to the client as they arrive while a copy is read
//! for usage, time to first token, errors and the captured body. When the body ends (or the
//! client goes away) the request's row is handed to the store.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures::Stream;
use serde::Deserialize;

use super::error::response_failed_event;
use super::inflight::Guard;
use crate::canonical::Event;
use crate::config::Config;
use crate::protocols::{Protocol, StreamDecoder};
use crate::sse;
use crate::store::{RequestRecord, Writer};
use crate::usage::Usage;

/// How to read the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// Responses API SSE.
    ResponsesSse,
    /// Chat Completions SSE; `drop_usage` removes the usage chunk the client did not ask for.
    ChatSse {
        /// Remove the trailing usage-only chunk.
        drop_usage: bool,
    },
    /// A JSON document (non-streaming) in OpenAI's format.
    Json,
    /// Another protocol's stream, read with its decoder.
    Decoded(Protocol),
    /// Another protocol's JSON document.
    JsonOf(Protocol),
}

/// A request in progress: what is known so far, and where its row goes.
pub struct Pending {
    pub record: RequestRecord,
    pub started: Instant,
    pub upstream_sent: Option<Instant>,
    pub provider_kind: &'static str,
    pub config: Arc<Config>,
    /// The gateway's provider-key scrubber, for everything upstream sends.
    pub scrubber: Arc<crate::secret::KeyScrubber>,
    pub writer: Writer,
    pub capture_limit: Option<usize>,
    /// The request body to store, already cut to the capture limit: shared with the request
    /// sent upstream, and copied into the row's text only after the response.
    pub request_capture: Option<bytes::Bytes>,
    /// The provider's concurrency slot, held until the request ends.
    pub permit: Option<tokio::sync::OwnedSemaphorePermit>,
    /// Every upstream attempt, across retries and fallbacks.
    pub attempts: Vec<super::upstream::Attempt>,
    /// The budget guard to tell this request's cost.
    pub budget: Option<Arc<crate::budget::Guard>>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The virtual key to charge this request's tokens and cost to.
    pub team: Option<crate::team::Charge>,
    /// The remote session this request counts in, released once its row is queued.
    pub session: Option<super::routes::SessionGuard>,
}

impl Pending {
    /// Finishes the row: timings, cost, then queues it. Never blocks on disk.
    pub fn finish(
        mut self,
        usage: Option<Usage>,
        ttft: Option<Instant>,
        response_capture: Option<Vec<u8>>,
    ) {
        let now = Instant::now();
        let r = &mut self.record;
        r.latency_us = micros(now - self.started);
        r.ttft_us = ttft.map(|t| micros(t - self.started));
        if let Some(sent) = self.upstream_sent {
            let up = micros(now - sent);
            r.upstream_us = Some(up);
            r.overhead_us = Some((r.latency_us - up).max(0));
        } else {
            r.overhead_us = Some(r.latency_us);
        }
        if let Some(u) = usage {
            r.usage = u;
        }
        if self.provider_kind == "ollama" {
            r.cost_micro_usd = Some(0);
        } else if let (Some(provider), Some(model)) = (&r.provider, &r.upstream_model) {
            r.cost_micro_usd =
                crate::pricing::lookup(&self.config.pricing, provider, self.provider_kind, model)
                    .map(|p| crate::pricing::cost_micro_usd(&p, &r.usage));
        }
        if r.cache == Some("hit") {
            // Replayed from the cache: no upstream call, no cost.
            r.cost_micro_usd = Some(0);
        }
        if let (Some(b), Some(c)) = (&self.budget, r.cost_micro_usd) {
            b.record(c);
        }
        if let Some(charge) = self.team.take() {
            charge.settle(
                r.usage.input.saturating_add(r.usage.output),
                r.cost_micro_usd.unwrap_or(0),
            );
        }
        r.attempts = self
            .attempts
            .iter()
            .map(|a| crate::store::AttemptRecord {
                provider: a.provider.clone(),
                model: a.model.clone(),
                key_alias: a.key.clone(),
                status: a.status,
                error: a.error.clone(),
                latency_us: a.latency_us,
            })
            .collect();
        // Upstream text may echo a provider key: scrub every field that can hold it.
        for field in [
            &mut r.error,
            &mut r.response_body,
            &mut r.request_body,
            &mut r.request_headers,
            &mut r.notes,
        ] {
            self.scrubber.scrub_in_place(field);
        }
        self.metrics
            .observe(&self.record, self.upstream_sent.is_some());
        // The captured bodies become the row's text, scrubbed, on the writer's thread: that
        // is most of a row's work, and here it would delay the next request on this thread.
        let request = self.request_capture.take();
        let size = request.as_ref().map_or(0, bytes::Bytes::len)
            + response_capture.as_ref().map_or(0, Vec::len);
        if size == 0 {
            self.writer.record(self.record);
        } else {
            let scrubber = self.scrubber.clone();
            self.writer.record_then(
                self.record,
                size,
                Box::new(move |r| {
                    if let Some(body) = request {
                        r.request_body = Some(super::body::text(&body));
                    }
                    if let Some(cap) = response_capture {
                        // Valid UTF-8 (the usual case) moves into the row without a copy.
                        r.response_body = Some(String::from_utf8(cap).unwrap_or_else(|e| {
                            String::from_utf8_lossy(e.as_bytes()).into_owned()
                        }));
                    }
                    scrubber.scrub_in_place(&mut r.request_body);
                    scrubber.scrub_in_place(&mut r.response_body);
                }),
            );
        }
        // Only now may the session's summary count this request as logged.
        drop(self.session);
    }
}

fn micros(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

type Upstream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// The response body stream.
pub struct Tee {
    upstream: Upstream,
    kind: BodyKind,
    framer: sse::Framer,
    out: VecDeque<Bytes>,
    json: Vec<u8>,
    json_limit: usize,
    capture: Option<Vec<u8>>,
    capture_limit: usize,
    usage: Option<Usage>,
    ttft: Option<Instant>,
    completed: bool,
    error: Option<String>,
    done: bool,
    pending: Option<Pending>,
    decoder: Option<StreamDecoder>,
    idle: Option<(std::time::Duration, Pin<Box<tokio::time::Sleep>>)>,
    /// Removes provider keys an upstream echoes before its bytes reach the client.
    scrubber: Option<crate::secret::StreamScrubber>,
    /// Counts the request as in flight until its row is queued.
    guard: Option<Guard>,
}

impl Tee {
    /// Wraps an upstream body.
    pub fn new(
        upstream: Upstream,
        kind: BodyKind,
        pending: Pending,
        guard: Guard,
        json_limit: usize,
    ) -> Self {
        let capture_limit = pending.capture_limit.unwrap_or(0);
        let scrubber = pending.scrubber.stream();
        Self {
            upstream,
            kind,
            scrubber,
            framer: sse::Framer::with_limit(pending.config.gateway.max_event_bytes),
            out: VecDeque::new(),
            json: Vec::new(),
            json_limit,
            capture: pending.capture_limit.map(|_| Vec::new()),
            capture_limit,
            usage: None,
            ttft: None,
            completed: false,
            error: None,
            done: false,
            pending: Some(pending),
            idle: None,
            decoder: match kind {
                BodyKind::Decoded(p) => Some(p.stream_decoder()),
                _ => None,
            },
            guard: Some(guard),
        }
    }

    /// Ends the stream (as an error) when the upstream sends nothing for `after`.
    pub fn with_idle_timeout(mut self, after: std::time::Duration) -> Self {
        self.idle = Some((after, Box::pin(tokio::time::sleep(after))));
        self
    }

    fn capture(&mut self, bytes: &[u8]) {
        if let Some(c) = &mut self.capture {
            let room = self.capture_limit.saturating_sub(c.len());
            c.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }

    /// Whether upstream chunks go to the client as they are. A Chat stream whose usage-only
    /// chunk is dropped instead re-sends each kept event from [`Tee::feed`].
    fn forwards_raw(&self) -> bool {
        !matches!(self.kind, BodyKind::ChatSse { drop_usage: true })
    }

    /// Reads one chunk. In filtering mode, whole events are queued to `out` instead of the
    /// chunk being returned.
    fn feed(&mut self, chunk: &Bytes) {
        self.capture(chunk);
        match self.kind {
            BodyKind::Json | BodyKind::JsonOf(_) => {
                let room = self.json_limit.saturating_sub(self.json.len());
                self.json.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            BodyKind::ResponsesSse => {
                let mut framer = std::mem::take(&mut self.framer);
                framer.push(chunk, |ev| self.on_responses_event(ev));
                self.framer = framer;
            }
            BodyKind::Decoded(_) => {
                let mut framer = std::mem::take(&mut self.framer);
                let mut events = Vec::new();
                if let Some(decoder) = &mut self.decoder {
                    framer.push(chunk, |ev| {
                        if let Some(data) = sse::data(ev) {
                            let _ = decoder.push(&data, &mut events);
                        }
                    });
                }
                self.framer = framer;
                self.observe(events);
            }
            BodyKind::ChatSse { drop_usage } => {
                let mut framer = std::mem::take(&mut self.framer);
                framer.push(chunk, |ev| {
                    let keep = self.on_chat_event(ev, drop_usage);
                    if drop_usage && keep {
                        self.out.push_back(Bytes::copy_from_slice(ev));
                    }
                });
                self.framer = framer;
            }
        }
    }

    /// An upstream event went past `[gateway] max_event_bytes`: stop reading, terminate the
    /// partial event the client already has, and end with the protocol's error event.
    fn overflow(&mut self) {
        let msg = format!(
            "upstream sent an SSE event larger than {} bytes ([gateway] max_event_bytes); the stream was cut",
            self.framer.max_event()
        );
        self.done = true;
        if !matches!(self.kind, BodyKind::ChatSse { drop_usage: true }) {
            self.out.push_back(Bytes::from_static(b"\n\n"));
        }
        let protocol = match self.kind {
            BodyKind::ChatSse { .. } => Some(Protocol::Chat),
            BodyKind::Decoded(p) => Some(p),
            _ => None,
        };
        if let Some(p) = protocol {
            let mut buf = Vec::new();
            let err = crate::canonical::UpstreamError {
                code: crate::canonical::ErrorCode::ServerError,
                message: format!("bifrost: {msg}"),
                retry_after_secs: None,
                status: 502,
            };
            p.stream_encoder(&crate::canonical::Request::default())
                .event(&Event::Error(err), &mut buf);
            self.capture(&buf);
            self.out.push_back(Bytes::from(buf));
        }
        self.error = Some(msg.clone());
        self.end(Some(msg));
    }

    fn observe(&mut self, events: Vec<Event>) {
        for ev in events {
            match ev {
                Event::Usage(u) => self.usage = Some(u),
                Event::Delta { .. } if self.ttft.is_none() => self.ttft = Some(Instant::now()),
                Event::Stop(_) => self.completed = true,
                Event::Error(e) => {
                    self.error
                        .get_or_insert(format!("{}: {}", e.code.openai_code(), e.message));
                }
                _ => {}
            }
        }
    }

    fn on_responses_event(&mut self, ev: &[u8]) {
        let Some(data) = sse::data(ev) else { return };
        let Some(ty) = sse::responses_event_type(&data) else {
            return;
        };
        if self.ttft.is_none() && (ty.ends_with(".delta") || ty == "response.output_item.done") {
            self.ttft = Some(Instant::now());
        }
        match ty {
            "response.completed" | "response.incomplete" | "response.failed" => {
                self.completed = true;
                #[derive(Deserialize)]
                struct Terminal {
                    response: TerminalResponse,
                }
                #[derive(Deserialize)]
                struct TerminalResponse {
                    usage: Option<serde_json::Value>,
                    error: Option<ErrorBody>,
                }
                match serde_json::from_str::<Terminal>(&data) {
                    Ok(t) => {
                        self.usage = t.response.usage.as_ref().and_then(Usage::from_openai);
                        if ty == "response.failed" {
                            self.error = Some(t.response.error.map_or_else(
                                || "response.failed without an error".into(),
                                |e| e.describe(),
                            ));
                        }
                    }
                    Err(e) => self.error = Some(format!("unreadable {ty} event: {e}")),
                }
            }
            "error" => {
                #[derive(Deserialize)]
                struct Ev {
                    #[serde(flatten)]
                    error: ErrorBody,
                }
                self.error = Some(
                    serde_json::from_str::<Ev>(&data)
                        .map(|e| e.error.describe())
                        .unwrap_or_else(|_| data.chars().take(500).collect()),
                );
            }
            _ => {}
        }
    }

    /// Returns whether to forward the event (filtering mode only).
    fn on_chat_event(&mut self, ev: &[u8], drop_usage: bool) -> bool {
        let Some(data) = sse::data(ev) else {
            return true;
        };
        let data = data.trim();
        if data == "[DONE]" {
            self.completed = true;
            return true;
        }
        let bytes = data.as_bytes();
        if self.ttft.is_none() && memchr::memmem::find(bytes, b"\"delta\"").is_some() {
            self.ttft = Some(Instant::now());
        }
        let has_usage = memchr::memmem::find(bytes, b"\"usage\":{").is_some()
            || memchr::memmem::find(bytes, b"\"usage\": {").is_some();
        let has_error = data.starts_with("{\"error\"") || data.starts_with("{ \"error\"");
        if !has_usage && !has_error {
            return true;
        }
        #[derive(Deserialize)]
        struct Chunk {
            #[serde(default)]
            choices: Vec<serde::de::IgnoredAny>,
            usage: Option<serde_json::Value>,
            error: Option<ErrorBody>,
        }
        match serde_json::from_str::<Chunk>(data) {
            Ok(c) => {
                if let Some(e) = c.error {
                    self.error = Some(e.describe());
                }
                if let Some(u) = c.usage.as_ref().and_then(Usage::from_openai) {
                    self.usage = Some(u);
                    return !(drop_usage && c.choices.is_empty());
                }
                true
            }
            Err(_) => true,
        }
    }

    fn end(&mut self, cut: Option<String>) {
        if let Some(decoder) = &mut self.decoder {
            let mut events = Vec::new();
            decoder.end(&mut events);
            self.observe(events);
        }
        if let Some(why) = cut {
            if !self.completed {
                self.error.get_or_insert(why);
            }
        } else if !self.completed
            && matches!(
                self.kind,
                BodyKind::ResponsesSse | BodyKind::ChatSse { .. } | BodyKind::Decoded(_)
            )
        {
            self.error
                .get_or_insert_with(|| "upstream stream ended before it completed".into());
        }
        if matches!(self.kind, BodyKind::ResponsesSse) && !self.completed {
            let msg = self.error.clone().unwrap_or_default();
            let ev = response_failed_event("server_error", &format!("bifrost: {msg}"));
            self.capture(&ev);
            self.out.push_back(ev);
        }
        self.finish(true);
    }

    /// Queues the row. At the end of the body (`defer`) the work (a JSON body's usage,
    /// scrubbing the captured bodies, the row itself) runs as a task of its own: this is
    /// called from the body's last poll, before hyper flushes the last bytes to the client,
    /// so done here it would delay them. The in-flight guard goes with it, so a drain still
    /// waits for the row. From `Drop` (the client went away) it runs at once: the runtime
    /// may be shutting down, and a task spawned then would never run.
    fn finish(&mut self, defer: bool) {
        let Some(mut p) = self.pending.take() else {
            return;
        };
        let json_ok = self.error.is_none();
        p.record.error = p.record.error.take().or(self.error.take());
        let (kind, usage, ttft) = (self.kind, self.usage, self.ttft);
        let capture = self.capture.take();
        let json = match kind {
            BodyKind::Json | BodyKind::JsonOf(_) => std::mem::take(&mut self.json),
            _ => Vec::new(),
        };
        let guard = self.guard.take();
        let job = move || {
            let usage = match kind {
                BodyKind::JsonOf(protocol) => protocol
                    .decode_response(&json)
                    .map(|r| r.usage)
                    .ok()
                    .or(usage),
                BodyKind::Json if json_ok => usage_of_json(&json),
                _ => usage,
            };
            p.finish(usage, ttft, capture);
            drop(guard);
        };
        if defer {
            after_response(job);
        } else {
            job();
        }
    }
}

/// Runs `job` (a row's end-of-request work) as a task of its own, so that it runs after the
/// response in hand has been written rather than before; inline outside a runtime.
pub(crate) fn after_response(job: impl FnOnce() + Send + 'static) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn(async move { job() })),
        Err(_) => job(),
    }
}

/// The usage of an OpenAI JSON response (Responses or Chat), if it has one. The gateway's
/// scan finds the top-level `usage` (and checks the document); only that value is parsed.
fn usage_of_json(json: &[u8]) -> Option<Usage> {
    let fields = super::scan::top_level(json, super::body::MAX_DEPTH).ok()?;
    let field = fields
        .iter()
        .find(|f| f.name(json).as_deref() == Some("usage"))?;
    serde_json::from_slice::<serde_json::Value>(&json[field.value.clone()])
        .ok()
        .as_ref()
        .and_then(Usage::from_openai)
}

/// An OpenAI-style error object.
#[derive(Deserialize, Default)]
pub struct ErrorBody {
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
}

impl ErrorBody {
    fn describe(self) -> String {
        let msg = self.message.unwrap_or_else(|| "no message".into());
        match self.code {
            Some(serde_json::Value::String(c)) => format!("{c}: {msg}"),
            _ => msg,
        }
    }
}

impl Stream for Tee {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(b) = this.out.pop_front() {
                return Poll::Ready(Some(Ok(b)));
            }
            if this.done {
                return Poll::Ready(None);
            }
            match this.upstream.as_mut().poll_next(cx) {
                Poll::Pending => {
                    if let Some((after, sleep)) = &mut this.idle
                        && sleep.as_mut().poll(cx).is_ready()
                    {
                        let after = *after;
                        this.done = true;
                        this.end(Some(format!("the upstream sent nothing for {after:?}")));
                        continue;
                    }
                    return Poll::Pending;
                }
                Poll::Ready(Some(Ok(chunk))) => {
                    if let Some((after, sleep)) = &mut this.idle {
                        let deadline = tokio::time::Instant::now() + *after;
                        sleep.as_mut().reset(deadline);
                    }
                    let chunk = match &mut this.scrubber {
                        Some(s) => s.push(chunk),
                        None => chunk,
                    };
                    if chunk.is_empty() {
                        continue;
                    }
                    this.feed(&chunk);
                    if this.framer.overflowed() {
                        this.overflow();
                        continue;
                    }
                    if this.forwards_raw() {
                        return Poll::Ready(Some(Ok(chunk)));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    let e = e.without_url();
                    this.end(Some(format!("upstream stream failed: {e}")));
                }
                Poll::Ready(None) => {
                    this.done = true;
                    // Bytes held back because they might have begun a key were not one.
                    if let Some(rest) = this.scrubber.as_mut().map(|s| s.finish())
                        && !rest.is_empty()
                    {
                        this.feed(&rest);
                        if this.forwards_raw() {
                            this.out.push_back(rest);
                        }
                    }
                    if !this.forwards_raw() {
                        let rest = this.framer.remainder();
                        if !rest.is_empty() {
                            this.out.push_back(Bytes::copy_from_slice(rest));
                        }
                    }
                    this.end(None);
                }
            }
        }
    }
}

impl Drop for Tee {
    fn drop(&mut self) {
        if self.pending.is_some() {
            self.error
                .get_or_insert_with(|| "client disconnected before the response completed".into());
            self.finish(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::usage_of_json;

    #[test]
    fn usage_is_read_from_the_top_level_only() {
        let body = br#"{"id":"resp_1","output":[{"usage":{"input_tokens":99,"output_tokens":99}}],
            "usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":4},"output_tokens":5}}"#;
        let u = usage_of_json(body).map(|u| (u.input, u.cached_input, u.output));
        assert_eq!(u, Some((12, 4, 5)));
        // Chat Completions' names, and a key written with an escape.
        let chat = br#"{"choices":[],"\u0075sage":{"prompt_tokens":7,"completion_tokens":3}}"#;
        assert_eq!(
            usage_of_json(chat).map(|u| (u.input, u.output)),
            Some((7, 3))
        );
        // No usage, a null one, or a body that is not JSON: nothing.
        assert!(usage_of_json(br#"{"output":[{"usage":{"input_tokens":1}}]}"#).is_none());
        assert!(usage_of_json(br#"{"usage":null}"#).is_none());
        assert!(usage_of_json(br#"{"usage":{"input_tokens":1,"output_tokens":2}"#).is_none());
    }
}
