//! The translated path: decode the client's protocol into the canonical model, encode it for
//! the provider's protocol, and stream the answer back event by event in the client's
//! protocol. Nothing is buffered whole; when the upstream is silent, heartbeats keep the
//! client's idle timer alive.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt};

use super::inflight::Guard;
use super::observe::Pending;
use crate::canonical::{ErrorCode, Event, Request, UpstreamError, events_of};
use crate::config::{ApiKey, ProviderConfig};
use crate::gateway::{ApiError, AppState};
use crate::protocols::{Protocol, StreamDecoder, StreamEncoder};
use crate::sse;
use crate::usage::Usage;

type Upstream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// Everything the translated path needs about one request.
pub(crate) struct Job<'a> {
    pub state: &'a Arc<AppState>,
    pub pending: Pending,
    pub guard: Guard,
    pub inbound: Protocol,
    pub wire: Protocol,
    pub provider: &'a ProviderConfig,
    pub upstream_model: String,
    pub body: Bytes,
    /// Where the scan found the body's `tools` and `input`.
    pub received: crate::protocols::Received,
    /// Who sent the body, for the decoder's memo.
    pub caller: &'a [u8],
    pub headers: axum::http::HeaderMap,
    /// The client session, for key stickiness.
    pub session: Option<&'a str>,
    /// No fallback follows: failures are answered here.
    pub last: bool,
}

/// The translated path with MCP tools injected.
struct McpJob<'a> {
    state: &'a Arc<AppState>,
    pending: Pending,
    guard: Guard,
    inbound: Protocol,
    wire: Protocol,
    provider: &'a ProviderConfig,
    upstream_model: String,
    info: crate::protocols::ModelInfo,
    hub: Arc<crate::mcp::Hub>,
    injected: std::collections::HashSet<String>,
    session: Option<String>,
}

/// Runs the agent loop in a task and streams (or collects) its events for the client.
async fn run_mcp(job: McpJob<'_>, req: Request) -> Response {
    use crate::mcp::agent::{AgentLoop, Item, Limits};
    let McpJob {
        state,
        mut pending,
        guard,
        inbound,
        wire,
        provider,
        upstream_model,
        info,
        hub,
        injected,
        session,
    } = job;
    let limits = Limits {
        max_iterations: state.config.mcp.max_iterations,
        heartbeat: state.config.gateway.heartbeat,
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Item>(64);
    let client_req = req.clone();
    let state2 = state.clone();
    let provider2 = provider.clone();
    let model2 = upstream_model.clone();
    pending.upstream_sent = Some(Instant::now());
    let agent = tokio::spawn(async move {
        let send: crate::mcp::agent::SendFn<'_> = Box::new(|body: Vec<u8>| {
            let (state, provider, model, session) =
                (&state2, &provider2, model2.as_str(), session.clone());
            Box::pin(async move {
                let mut attempts = Vec::new();
                send(
                    state,
                    provider,
                    wire,
                    model,
                    session.as_deref(),
                    &mut attempts,
                    body,
                    true,
                )
                .await
                .map(|(r, _)| r)
                .map_err(|(e, _, _)| e)
            })
        });
        let agent = AgentLoop {
            send,
            wire,
            model: model2.clone(),
            info,
            hub,
            injected,
            limits,
            carry: inbound == Protocol::Responses,
        };
        agent.run(req, tx).await
    });
    let finish =
        move |mut pending: Pending, report: crate::mcp::agent::Report, capture: Option<Vec<u8>>| {
            pending.record.tool_us =
                Some(i64::try_from(report.tool_time.as_micros()).unwrap_or(i64::MAX));
            pending.record.tool_calls = report
                .outcomes
                .iter()
                .map(|o| crate::store::ToolCallRecord {
                    started_at_ms: o.started_at_ms,
                    server: o.server.clone(),
                    tool: o.tool.clone(),
                    arguments: o.arguments.chars().take(4096).collect(),
                    duration_us: i64::try_from(o.duration.as_micros()).unwrap_or(i64::MAX),
                    is_error: o.is_error,
                    result: o
                        .content
                        .iter()
                        .filter_map(|c| match c {
                            crate::canonical::ResultContent::Text(t) => Some(t.as_str()),
                            crate::canonical::ResultContent::Image(_) => None,
                        })
                        .collect::<String>()
                        .chars()
                        .take(2048)
                        .collect(),
                })
                .collect();
            if pending.record.http_status == 0 {
                pending.record.http_status = 200;
            }
            if pending.record.error.is_none() {
                pending.record.error = report.error.clone();
            }
            pending.finish(Some(report.usage), report.ttft, capture);
        };
    if client_req.stream {
        let (btx, brx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(64);
        let mut enc = inbound.stream_encoder(&client_req);
        let cap_limit = pending.capture_limit;
        tokio::spawn(async move {
            let _guard = guard;
            let mut capture = cap_limit.map(|_| Vec::new());
            let mut gone = false;
            while let Some(item) = rx.recv().await {
                let mut buf = Vec::new();
                match &item {
                    Item::Event(ev) => enc.event(ev, &mut buf),
                    Item::Heartbeat => enc.heartbeat(&mut buf),
                }
                if let (Some(c), Some(n)) = (&mut capture, cap_limit) {
                    let room = n.saturating_sub(c.len());
                    c.extend_from_slice(&buf[..buf.len().min(room)]);
                }
                if !buf.is_empty() && btx.send(Ok(Bytes::from(buf))).await.is_err() {
                    gone = true;
                    break;
                }
            }
            drop(rx);
            let mut buf = Vec::new();
            enc.finish(&mut buf);
            if !gone && !buf.is_empty() {
                let _ = btx.send(Ok(Bytes::from(buf))).await;
            }
            let mut report = agent.await.unwrap_or_default();
            if gone && report.error.is_none() {
                report.error = Some("client disconnected before the response completed".into());
            }
            finish(pending, report, capture);
        });
        let body = Body::from_stream(tokio_stream_from(brx));
        return sse_response(body, &provider.name);
    }
    let mut events = Vec::new();
    while let Some(item) = rx.recv().await {
        if let Item::Event(ev) = item {
            events.push(ev);
        }
    }
    let report = agent.await.unwrap_or_default();
    drop(guard);
    match crate::canonical::Response::from_events(&events) {
        Ok(resp) => {
            let json = inbound.encode_response(&resp, &client_req).to_string();
            let capture = pending
                .capture_limit
                .map(|n| json.as_bytes()[..json.len().min(n)].to_vec());
            finish(pending, report, capture);
            let mut r = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                json,
            )
                .into_response();
            r.headers_mut()
                .insert("x-bifrost-provider", header_value(&provider.name));
            r
        }
        Err(e) => {
            let (status, body) = inbound.encode_error(&e);
            finish(pending, report, None);
            (
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                axum::Json(body),
            )
                .into_response()
        }
    }
}

/// A receiver as a body stream.
fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

fn path_of(wire: Protocol) -> &'static str {
    match wire {
        Protocol::Chat => "/chat/completions",
        Protocol::Responses => "/responses",
        Protocol::Anthropic => "/messages",
        Protocol::Gemini => "",
    }
}

/// Runs the translated path to a response.
pub(crate) async fn run(job: Job<'_>) -> Result<Response, (Pending, Guard)> {
    let Job {
        state,
        mut pending,
        guard,
        inbound,
        wire,
        provider,
        upstream_model,
        body,
        received,
        caller,
        headers,
        session,
        last,
    } = job;
    let mut req = match inbound.decode_received(&body, &received, caller) {
        Ok(r) => r,
        Err(e) => {
            return Ok(super::routes::reject(
                pending,
                ApiError::bad_request(e.to_string()),
            ));
        }
    };
    pending.record.stream = req.stream;
    let info = crate::catalog::lookup(provider.kind.name(), &upstream_model);
    let mut notes: Vec<String> = req.dropped.iter().map(|d| format!("dropped {d}")).collect();
    let estimate = req.estimated_input_tokens();
    if let Some(window) = info.context_window
        && estimate > window
    {
        tracing::warn!(
            "request of ~{estimate} tokens exceeds {upstream_model}'s {window}-token window"
        );
        notes.push(format!(
            "~{estimate} input tokens exceeds the {window}-token window"
        ));
    }
    // After any note already there ("served by fallback ...").
    for note in &notes {
        pending.record.add_note(note);
    }
    crate::mcp::expand_history(&mut req);
    if let Some(hub) = state.mcp.clone() {
        let include = header_list(&headers, "x-bifrost-mcp-include");
        let exclude = header_list(&headers, "x-bifrost-mcp-exclude").unwrap_or_default();
        let tools: Vec<_> = hub
            .selected(include.as_deref(), &exclude)
            .into_iter()
            .cloned()
            .collect();
        if !req.tools.is_empty() && !tools.is_empty() {
            let client_names: Vec<String> = req.tools.iter().map(|t| t.name.clone()).collect();
            let mut injected = std::collections::HashSet::new();
            for t in &tools {
                if client_names.contains(&t.flat) {
                    continue;
                }
                injected.insert(t.flat.clone());
                req.tools.push(crate::mcp::Hub::as_tool(t));
            }
            let job = McpJob {
                state,
                pending,
                guard,
                inbound,
                wire,
                provider,
                upstream_model,
                info,
                hub,
                injected,
                session: session.map(str::to_string),
            };
            return Ok(run_mcp(job, req).await);
        }
    }
    let encoded = match wire.encode_request_for(&req, &upstream_model, &info, caller) {
        Ok(b) => b,
        Err(e) => {
            let msg = format!("{e} (provider {})", provider.name);
            return Ok(super::routes::reject(pending, ApiError::bad_request(msg)));
        }
    };
    pending.upstream_sent = Some(Instant::now());
    let mut attempts = std::mem::take(&mut pending.attempts);
    let sent = send(
        state,
        provider,
        wire,
        &upstream_model,
        session,
        &mut attempts,
        encoded,
        req.stream,
    )
    .await;
    pending.attempts = attempts;
    let resp = match sent {
        Ok((r, key)) => {
            pending.record.key_alias = key.map(|k| k.alias.clone());
            r
        }
        Err((_, _, true)) if !last => return Err((pending, guard)),
        Err((err, body, _)) => {
            if pending.record.http_status == 0 {
                pending.record.http_status = err.status;
            }
            if let (Some(body), Some(_)) = (body, pending.capture_limit) {
                pending.record.response_body = Some(String::from_utf8_lossy(&body).into_owned());
            }
            return Ok(fail(pending, inbound, &req, &err));
        }
    };
    pending.record.http_status = resp.status().as_u16();
    let is_sse = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if req.stream && is_sse {
        let stream = TranslateStream::new(
            Box::pin(resp.bytes_stream()),
            wire.stream_decoder(),
            inbound.stream_encoder(&req),
            pending,
            guard,
            state.config.gateway.heartbeat,
            state.config.gateway.idle_timeout,
        );
        return Ok(sse_response(Body::from_stream(stream), &provider.name));
    }
    // A whole answer: decode it, then answer in the client's protocol (as a stream if asked).
    let body = read_all(resp, state.config.gateway.max_request_bytes.max(64 << 20)).await;
    let decoded = match wire.decode_response(&body) {
        Ok(r) => r,
        Err(e) => {
            let err = UpstreamError {
                code: ErrorCode::ServerError,
                message: format!(
                    "{e}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(500)])
                ),
                retry_after_secs: None,
                status: 502,
            };
            return Ok(fail(pending, inbound, &req, &err));
        }
    };
    let usage = decoded.usage;
    if req.stream {
        let mut enc = inbound.stream_encoder(&req);
        let mut out = Vec::new();
        for ev in events_of(&decoded) {
            enc.event(&ev, &mut out);
        }
        enc.finish(&mut out);
        let capture = pending
            .capture_limit
            .map(|n| out[..out.len().min(n)].to_vec());
        let ttft = Instant::now();
        super::observe::after_response(move || {
            pending.finish(Some(usage), Some(ttft), capture);
            drop(guard);
        });
        return Ok(sse_response(Body::from(out), &provider.name));
    }
    // Written straight to bytes (serde_json's `to_string` grew its buffer a few dozen times
    // per answer under callgrind, and the `Value` tree cost more than the writing).
    let json = inbound.write_response(&decoded, &req);
    let capture = pending
        .capture_limit
        .map(|n| json[..json.len().min(n)].to_vec());
    super::observe::after_response(move || {
        pending.finish(Some(usage), None, capture);
        drop(guard);
    });
    let mut r = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(json),
    )
        .into_response();
    r.headers_mut()
        .insert("x-bifrost-provider", header_value(&provider.name));
    Ok(r)
}

/// A comma-separated header as a list.
fn header_list(headers: &axum::http::HeaderMap, name: &str) -> Option<Vec<String>> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(|v| {
        v.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

/// Sends an encoded request to the provider, with retries and key rotation. An error status
/// is classified by the provider's protocol (with the raw body, for the log); the flag says
/// whether a fallback may take over.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn send<'p>(
    state: &AppState,
    provider: &'p ProviderConfig,
    wire: Protocol,
    model: &str,
    session: Option<&str>,
    attempts: &mut Vec<super::upstream::Attempt>,
    body: Vec<u8>,
    stream: bool,
) -> Result<(reqwest::Response, Option<&'p ApiKey>), (UpstreamError, Option<Bytes>, bool)> {
    let url = provider
        .kind
        .url(&provider.base_url, wire, path_of(wire), model, stream);
    let body = Bytes::from(body);
    let build = |key: Option<&ApiKey>| {
        let rb = super::upstream::post(&state.client, &url)
            .header(header::CONTENT_TYPE, "application/json")
            .header(
                header::ACCEPT,
                if stream {
                    "text/event-stream"
                } else {
                    "application/json"
                },
            );
        provider
            .kind
            .authorize(rb, key.map(|k| &k.secret))
            .body(body.clone())
    };
    let failed =
        match super::upstream::send(state, provider, model, session, attempts, &build).await {
            Ok(ok) => return Ok(ok),
            Err(f) => f,
        };
    let resp = match failed.failure {
        super::upstream::Failure::Transport(message) => {
            let err = UpstreamError {
                code: ErrorCode::ServerError,
                message,
                retry_after_secs: None,
                status: 502,
            };
            return Err((err, None, failed.fallback));
        }
        super::upstream::Failure::Cooling(wait, message) => {
            let err = UpstreamError {
                code: ErrorCode::RateLimit,
                message,
                retry_after_secs: Some(wait.as_secs()),
                status: 429,
            };
            return Err((err, None, failed.fallback));
        }
        super::upstream::Failure::Status(resp) => resp,
    };
    let status = resp.status();
    let retry_after = crate::reliability::retry::retry_after(resp.headers())
        .map(|d| d.as_secs_f64().ceil() as u64);
    let body = state
        .scrubber
        .scrub_bytes(read_all(resp, 1024 * 1024).await);
    let mut err = wire.decode_error(status.as_u16(), retry_after, &body);
    if err.code == ErrorCode::Auth {
        let vars = provider.kind.key_vars().join(" or ");
        err.message = format!(
            "provider {} rejected its API key (HTTP {}): {}; check the key bifrost reads for it{}",
            provider.name,
            status.as_u16(),
            err.message,
            if vars.is_empty() {
                String::new()
            } else {
                format!(" ({vars} or the config's api_key)")
            }
        );
    }
    Err((err, Some(body), failed.fallback))
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

fn sse_response(body: Body, provider: &str) -> Response {
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-bifrost-provider", header_value(provider));
    r
}

/// An upstream failure before the answer started: Responses streams get `response.failed`
/// (the form Codex acts on); everything else an error status in the client's format.
fn fail(mut pending: Pending, inbound: Protocol, req: &Request, err: &UpstreamError) -> Response {
    pending.record.error = Some(format!("{}: {}", err.code.openai_code(), err.message));
    if pending.record.http_status == 0 {
        pending.record.http_status = err.status;
    }
    if req.stream && inbound == Protocol::Responses {
        let mut enc = inbound.stream_encoder(req);
        let mut out = Vec::new();
        enc.event(&Event::Error(err.clone()), &mut out);
        let capture = pending.capture_limit.map(|_| out.clone());
        pending.finish(None, None, capture);
        let mut r = Response::new(Body::from(out));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        return r;
    }
    let (status, body) = inbound.encode_error(err);
    pending.finish(None, None, None);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut r = (status, axum::Json(body)).into_response();
    if let Some(s) = err.retry_after_secs {
        r.headers_mut()
            .insert("retry-after", header_value(&s.to_string()));
    }
    r
}

async fn read_all(resp: reqwest::Response, limit: usize) -> Bytes {
    let mut out = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        let room = limit.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room <= chunk.len() {
            break;
        }
    }
    out.into()
}

/// The translating response body.
pub(crate) struct TranslateStream {
    upstream: Upstream,
    framer: sse::Framer,
    decoder: StreamDecoder,
    encoder: StreamEncoder,
    events: Vec<Event>,
    out: VecDeque<Bytes>,
    heartbeat: Pin<Box<tokio::time::Sleep>>,
    interval: Duration,
    idle: Pin<Box<tokio::time::Sleep>>,
    idle_after: Duration,
    usage: Option<Usage>,
    ttft: Option<Instant>,
    error: Option<String>,
    stopped: bool,
    done: bool,
    capture: Option<Vec<u8>>,
    capture_limit: usize,
    pending: Option<Pending>,
    _guard: Guard,
}

impl TranslateStream {
    fn new(
        upstream: Upstream,
        decoder: StreamDecoder,
        encoder: StreamEncoder,
        pending: Pending,
        guard: Guard,
        interval: Duration,
        idle_after: Duration,
    ) -> Self {
        let capture_limit = pending.capture_limit.unwrap_or(0);
        Self {
            upstream,
            framer: sse::Framer::with_limit(pending.config.gateway.max_event_bytes),
            decoder,
            encoder,
            events: Vec::new(),
            out: VecDeque::new(),
            heartbeat: Box::pin(tokio::time::sleep(interval)),
            interval,
            idle: Box::pin(tokio::time::sleep(idle_after)),
            idle_after,
            usage: None,
            ttft: None,
            error: None,
            stopped: false,
            done: false,
            capture: pending.capture_limit.map(|_| Vec::new()),
            capture_limit,
            pending: Some(pending),
            _guard: guard,
        }
    }

    /// Encodes queued events, noting usage, first token and errors on the way.
    fn flush(&mut self) {
        let mut buf = Vec::new();
        let mut events = std::mem::take(&mut self.events);
        for mut ev in events.drain(..) {
            // An upstream error event may echo a provider key: the client and the row get it
            // scrubbed.
            if let (Event::Error(e), Some(p)) = (&mut ev, &self.pending)
                && let std::borrow::Cow::Owned(clean) = p.scrubber.scrub(&e.message)
            {
                e.message = clean;
            }
            match &ev {
                Event::Usage(u) => self.usage = Some(*u),
                Event::Delta { .. } if self.ttft.is_none() => self.ttft = Some(Instant::now()),
                Event::Stop(_) => self.stopped = true,
                Event::Error(e) => {
                    self.error
                        .get_or_insert_with(|| format!("{}: {}", e.code.openai_code(), e.message));
                }
                _ => {}
            }
            self.encoder.event(&ev, &mut buf);
        }
        // Hand the (now empty) queue back, keeping its capacity.
        self.events = events;
        self.push(buf);
    }

    fn push(&mut self, buf: Vec<u8>) {
        if buf.is_empty() {
            return;
        }
        if let Some(c) = &mut self.capture {
            let room = self.capture_limit.saturating_sub(c.len());
            c.extend_from_slice(&buf[..buf.len().min(room)]);
        }
        self.out.push_back(Bytes::from(buf));
    }

    fn end(&mut self, cut: Option<String>) {
        if let Some(why) = cut {
            self.events.push(Event::Error(UpstreamError {
                code: ErrorCode::ServerError,
                message: why,
                retry_after_secs: None,
                status: 502,
            }));
        } else {
            let mut tail = Vec::new();
            self.decoder.end(&mut tail);
            self.events.extend(tail);
        }
        self.flush();
        let mut buf = Vec::new();
        self.encoder.finish(&mut buf);
        self.push(buf);
        if !self.stopped && self.error.is_none() {
            self.error = Some("upstream stream ended before the answer completed".into());
        }
        self.record();
    }

    fn record(&mut self) {
        if let Some(mut p) = self.pending.take() {
            if p.record.error.is_none() {
                p.record.error = self.error.take();
            }
            p.finish(self.usage, self.ttft, self.capture.take());
        }
    }
}

impl Stream for TranslateStream {
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
                Poll::Ready(Some(Ok(chunk))) => {
                    let deadline = tokio::time::Instant::now() + this.interval;
                    this.heartbeat.as_mut().reset(deadline);
                    let idle = tokio::time::Instant::now() + this.idle_after;
                    this.idle.as_mut().reset(idle);
                    let mut framer = std::mem::take(&mut this.framer);
                    let mut events = std::mem::take(&mut this.events);
                    let decoder = &mut this.decoder;
                    framer.push(&chunk, |ev| {
                        if let Some(data) = sse::data(ev)
                            && let Err(e) = decoder.push(&data, &mut events)
                        {
                            events.push(Event::Error(UpstreamError {
                                code: ErrorCode::ServerError,
                                message: e.to_string(),
                                retry_after_secs: None,
                                status: 502,
                            }));
                        }
                    });
                    this.framer = framer;
                    this.events = events;
                    if this.framer.overflowed() {
                        this.done = true;
                        let max = this.framer.max_event();
                        this.end(Some(format!("upstream sent an SSE event larger than {max} bytes ([gateway] max_event_bytes); the stream was cut")));
                        continue;
                    }
                    this.flush();
                }
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    this.end(Some(format!("upstream stream failed: {}", e.without_url())));
                }
                Poll::Ready(None) => {
                    this.done = true;
                    this.end(None);
                }
                Poll::Pending => {
                    if this.idle.as_mut().poll(cx).is_ready() {
                        this.done = true;
                        let after = this.idle_after;
                        this.end(Some(format!("the upstream sent nothing for {after:?}")));
                        continue;
                    }
                    if this.heartbeat.as_mut().poll(cx).is_ready() {
                        let deadline = tokio::time::Instant::now() + this.interval;
                        this.heartbeat.as_mut().reset(deadline);
                        let mut buf = Vec::new();
                        this.encoder.heartbeat(&mut buf);
                        this.push(buf);
                        continue;
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl Drop for TranslateStream {
    fn drop(&mut self) {
        if self.pending.is_some() {
            self.error
                .get_or_insert_with(|| "client disconnected before the response completed".into());
            self.record();
        }
    }
}
