//! The OpenAI routes: authenticate, read the body, route the model, forward to the provider
//! and stream the answer back through the [`Tee`], which logs the request when it ends.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::gateway::body::{self, Peeked};
use crate::gateway::inflight::Guard;
use crate::gateway::observe::{BodyKind, Pending, Tee};
use crate::gateway::translate::{self, Job};
use crate::gateway::upstream;
use crate::gateway::{ApiError, AppState, auth};
use crate::protocols::Protocol;
use crate::providers;
use crate::store::{RequestRecord, new_id, now_ms};

/// Which OpenAI endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Responses,
    Chat,
    Completions,
    Embeddings,
    Messages,
}

impl Endpoint {
    fn upstream_path(self) -> &'static str {
        match self {
            Self::Responses => "/responses",
            Self::Chat => "/chat/completions",
            Self::Completions => "/completions",
            Self::Embeddings => "/embeddings",
            Self::Messages => "/messages",
        }
    }

    /// The client protocol, for routes that can be translated.
    fn protocol(self) -> Option<Protocol> {
        match self {
            Self::Responses => Some(Protocol::Responses),
            Self::Chat => Some(Protocol::Chat),
            Self::Messages => Some(Protocol::Anthropic),
            Self::Completions | Self::Embeddings => None,
        }
    }
}

/// Headers never forwarded upstream: hop-by-hop, credentials, and ones we set ourselves.
const DROP_REQUEST_HEADERS: &[&str] = &[
    "host",
    "authorization",
    "x-api-key",
    "api-key",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-connection",
    "accept-encoding",
    "cookie",
];

/// Headers never returned to the client from upstream.
const DROP_RESPONSE_HEADERS: &[&str] = &[
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "set-cookie",
    "alt-svc",
];

/// Headers whose values are replaced before the request headers are stored.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "x-api-key",
    "api-key",
    "cookie",
    "proxy-authorization",
];

/// The request headers as the stored JSON object: names sorted, the last value of a repeated
/// header kept, secrets replaced. These are the bytes a `serde_json` map of them wrote, here
/// written straight from the header map (the map cost two allocations per header).
fn redacted_headers(headers: &HeaderMap) -> String {
    let mut pairs: Vec<(&str, &HeaderValue)> =
        headers.iter().map(|(k, v)| (k.as_str(), v)).collect();
    // Stable: a repeated header's values keep their order, and the last one is written.
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = Vec::with_capacity(64 * pairs.len() + 2);
    out.push(b'{');
    for (i, (name, value)) in pairs.iter().enumerate() {
        if pairs.get(i + 1).is_some_and(|next| next.0 == *name) {
            continue;
        }
        if out.len() > 1 {
            out.push(b',');
        }
        crate::json_text::write_str(&mut out, name);
        out.push(b':');
        if SECRET_HEADERS.contains(name) {
            crate::json_text::write_str(&mut out, "[redacted]");
        } else {
            crate::json_text::write_str(&mut out, &String::from_utf8_lossy(value.as_bytes()));
        }
    }
    out.push(b'}');
    // Only `write_str` wrote here, so the bytes are UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Serves one proxied request, from the router or straight from `dispatch`.
pub(super) async fn handle(state: Arc<AppState>, endpoint: Endpoint, req: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let caller = match auth::authenticate(&state, &parts.headers).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(
                "rejected a request to {} with a wrong or missing key",
                parts.uri.path()
            );
            return e.into_response();
        }
    };
    let remote = match remote_session(&state, &parts.headers).await {
        Ok(g) => g,
        Err(e) => return e.into_response(),
    };
    let guard = state.inflight.enter();
    let capture = state.config.logs.capture_bodies;
    let cap = state.config.logs.max_body_bytes;
    let mut pending = Pending {
        record: RequestRecord {
            id: new_id(),
            session_id: session_of(&state, &parts.headers),
            started_at_ms: now_ms(),
            route: parts.uri.path().to_string(),
            request_headers: capture.then(|| redacted_headers(&parts.headers)),
            ..RequestRecord::default()
        },
        started,
        upstream_sent: None,
        provider_kind: "openai",
        config: state.config.clone(),
        scrubber: state.scrubber.clone(),
        writer: state.writer.clone(),
        capture_limit: capture.then_some(cap),
        request_capture: None,
        budget: state.budget.clone(),
        permit: None,
        attempts: Vec::new(),
        metrics: state.metrics.clone(),
        team: None,
        session: remote,
    };
    if let auth::Caller::Virtual(k) = &caller {
        pending.record.virtual_key = Some(k.name.clone());
    }
    // Who sent the body, for the scan's memo: the virtual key's id, else the key presented.
    let caller_id: Vec<u8> = match &caller {
        auth::Caller::Virtual(k) => k.id.as_bytes().to_vec(),
        auth::Caller::Key => auth::presented(&parts.headers).unwrap_or_default().to_vec(),
    };

    // Content type: JSON or nothing.
    if let Some(ct) = parts.headers.get(header::CONTENT_TYPE) {
        let ct = String::from_utf8_lossy(ct.as_bytes()).to_ascii_lowercase();
        if !ct.starts_with("application/json") && !ct.contains("+json") {
            return reject(
                pending,
                ApiError::bad_request(format!(
                    "content-type `{ct}` is not supported; send `content-type: application/json`"
                )),
            );
        }
    }

    let limit = state.config.gateway.max_request_bytes;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return reject(pending, too_large(limit));
    }
    let bytes = match http_body_util::Limited::new(body, limit).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return reject(pending, too_large(limit));
        }
        Err(e) => {
            return reject(
                pending,
                ApiError::bad_request(format!("could not read the request body: {e}")),
            );
        }
    };
    // UTF-8 is checked once here, for the peek and to cut the captured slice on a character
    // boundary; `Pending::finish` checks the slice again when it copies it into the row.
    let text = body::utf8(&bytes);
    if capture {
        let end = match text {
            Ok(t) => body::capped_len(t, cap),
            Err(_) => bytes.len().min(cap),
        };
        pending.request_capture = Some(bytes.slice(..end));
    }

    let peeked = match text
        .map_err(body::not_utf8)
        .and_then(|t| body::peek_received(&bytes, t, &caller_id))
    {
        Ok(p) => p,
        Err(msg) => return reject(pending, ApiError::bad_request(msg)),
    };
    pending.record.stream = peeked.stream && endpoint != Endpoint::Embeddings;
    let Some((requested, model_range)) = peeked.model.clone() else {
        return reject(
            pending,
            ApiError::bad_request(
                "request body has no `model`; add \"model\": \"gpt-5.5\" (or \"provider/model\")",
            ),
        );
    };
    pending.record.model = Some(requested.clone());
    if let Some(message) = state.budget.as_ref().and_then(|b| b.refused()) {
        return refuse_over_budget(pending, endpoint, peeked.stream, message);
    }

    let config = state.config.clone();
    let ctx = providers::RouteContext {
        request_kind: parts
            .headers
            .get("x-codex-turn-metadata")
            .and_then(|v| serde_json::from_slice::<serde_json::Value>(v.as_bytes()).ok())
            .and_then(|m| {
                m.get("request_kind")
                    .and_then(|k| k.as_str())
                    .map(str::to_string)
            }),
        input_tokens: (bytes.len() / 4) as u64,
    };
    // The target, then its fallbacks: the `x-bifrost-fallbacks` header, else a `fallbacks`
    // body field, else `[fallbacks]` in the config.
    let mut chain: Vec<String> = vec![requested.clone()];
    let from_header: Option<Vec<String>> = parts
        .headers
        .get("x-bifrost-fallbacks")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        });
    let from_body: Option<Vec<String>> = peeked
        .fallbacks
        .as_ref()
        .and_then(|r| serde_json::from_slice::<Vec<String>>(&bytes[r.value.clone()]).ok());
    let fallbacks = from_header
        .or(from_body)
        .or_else(|| config.fallbacks.get(&requested).cloned())
        .unwrap_or_default();
    chain.extend(fallbacks);
    let mut routes = Vec::new();
    for (i, target) in chain.iter().enumerate() {
        match providers::route_with(&config, target, &ctx) {
            Ok(r) => routes.push(r),
            Err(e) if i == 0 => return reject(pending, ApiError::bad_request(e.0)),
            Err(e) => {
                return reject(
                    pending,
                    ApiError::bad_request(format!("fallback `{target}`: {}", e.0)),
                );
            }
        }
    }
    if let auth::Caller::Virtual(key) = &caller {
        let (gate, first) = match (&state.team, routes.first()) {
            (Some(g), Some(r)) => (g, r),
            _ => return reject(pending, ApiError::bad_request("no route for the model")),
        };
        let resolved = format!("{}/{}", first.provider.name, first.upstream_model);
        if let Err(r) = crate::team::Gate::check_model(key, &requested, &resolved) {
            return reject(pending, auth::refusal(&r));
        }
        // Fallbacks the key may not use are skipped, not refused.
        let (mut kept, mut kept_chain) = (Vec::new(), Vec::new());
        for (i, (r, target)) in routes.into_iter().zip(chain).enumerate() {
            let name = format!("{}/{}", r.provider.name, r.upstream_model);
            if i == 0 || crate::team::Gate::check_model(key, &target, &name).is_ok() {
                kept.push(r);
                kept_chain.push(target);
            }
        }
        (routes, chain) = (kept, kept_chain);
        match gate.admit(key).await {
            Ok(charge) => pending.team = Some(charge),
            Err(crate::team::Refusal::Quota(message)) => {
                return refuse_over_budget(pending, endpoint, peeked.stream, message);
            }
            Err(r) => {
                let retry = match &r {
                    crate::team::Refusal::Rate { retry_after, .. } => Some(*retry_after),
                    _ => None,
                };
                let mut resp = reject(pending, auth::refusal(&r));
                if let Some(s) = retry {
                    resp.headers_mut()
                        .insert("retry-after", header_value(&s.to_string()));
                }
                return resp;
            }
        }
    }
    // The exact-match cache: a hit is answered here; a miss is filled on its way out.
    let mut fill: Option<(Arc<crate::cache::Cache>, String)> = None;
    if let (Some(cache), Some(first)) = (state.cache.clone(), routes.first())
        && !cache_off(&parts.headers)
    {
        let routed = format!("{}/{}", first.provider.name, first.upstream_model);
        if let Ok(key) = cache.plan(
            endpoint.upstream_path(),
            &first.provider.name,
            &first.upstream_model,
            &[requested.as_str(), routed.as_str()],
            &bytes,
        ) {
            if let Some(entry) = cache.get(&key).await {
                return cache_hit(pending, guard, first, &entry);
            }
            pending.record.cache = Some("miss");
            fill = Some((cache, key));
        }
    }
    let session = parts
        .headers
        .get("session-id")
        .or_else(|| parts.headers.get("x-bifrost-session"))
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (mut pending, mut guard) = (pending, guard);
    let n = routes.len();
    for (i, route) in routes.into_iter().enumerate() {
        if i > 0 {
            pending.record.add_note(&format!(
                "served by fallback {}/{}",
                route.provider.name, route.upstream_model
            ));
        }
        let target = Target {
            route,
            last: i + 1 == n,
            session: session.as_deref(),
            requested: &requested,
            model_range: model_range.clone(),
            caller: &caller_id,
        };
        match serve_target(
            &state, endpoint, &parts, &bytes, &peeked, target, pending, guard,
        )
        .await
        {
            Ok(resp) => return with_cache_fill(resp, fill.take()),
            Err((p, g)) => {
                tracing::warn!("target {} failed; trying the next fallback", chain[i]);
                pending = p;
                guard = g;
            }
        }
    }
    reject(
        pending,
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "server_error",
            Some("upstream_unreachable"),
            "no target could serve the request",
        ),
    )
}

/// `x-bifrost-cache: off` skips the cache for one request.
fn cache_off(headers: &HeaderMap) -> bool {
    headers
        .get("x-bifrost-cache")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"off"))
}

/// Answers from a cache entry: the stored bytes, the stored content type, logged as a hit
/// costing nothing.
fn cache_hit(
    mut pending: Pending,
    _guard: Guard,
    route: &providers::Route<'_>,
    entry: &crate::cache::Entry,
) -> Response {
    pending.record.provider = Some(route.provider.name.clone());
    pending.record.upstream_model = Some(route.upstream_model.clone());
    pending.provider_kind = route.provider.kind.name();
    pending.record.http_status = 200;
    pending.record.cache = Some("hit");
    let capture = pending
        .capture_limit
        .map(|l| entry.body[..entry.body.len().min(l)].to_vec());
    let id = pending.record.id.clone();
    pending.finish(None, None, capture);
    let mut b = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, header_value(&entry.content_type))
        .header("x-bifrost-cache", "hit")
        .header("x-bifrost-request-id", header_value(&id))
        .header("x-bifrost-provider", header_value(&route.provider.name));
    if entry.content_type.starts_with("text/event-stream") {
        b = b.header(header::CACHE_CONTROL, "no-cache");
    }
    b.body(crate::cache::replay(entry))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// After a miss: marks the response and, when it is a 200, stores its body once it has
/// streamed out complete.
fn with_cache_fill(resp: Response, fill: Option<(Arc<crate::cache::Cache>, String)>) -> Response {
    let Some((cache, key)) = fill else {
        return resp;
    };
    let (mut parts, body) = resp.into_parts();
    parts
        .headers
        .insert("x-bifrost-cache", HeaderValue::from_static("miss"));
    if parts.status != StatusCode::OK {
        return Response::from_parts(parts, body);
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let fill = crate::cache::Fill::new(body, cache, key, content_type);
    Response::from_parts(parts, Body::from_stream(fill))
}

/// One target of the fallback chain.
struct Target<'a> {
    route: providers::Route<'a>,
    last: bool,
    session: Option<&'a str>,
    requested: &'a str,
    model_range: std::ops::Range<usize>,
    /// Who sent the body (see `caller_id`), for the decoders' memos.
    caller: &'a [u8],
}

/// Serves one target. `Err` hands the request back for the next fallback: only when the
/// target failed before its first byte with retries spent or no connection, and it is not
/// the last target.
#[allow(clippy::too_many_arguments)]
async fn serve_target(
    state: &Arc<AppState>,
    endpoint: Endpoint,
    parts: &axum::http::request::Parts,
    bytes: &bytes::Bytes,
    peeked: &Peeked,
    target: Target<'_>,
    mut pending: Pending,
    guard: Guard,
) -> Result<Response, (Pending, Guard)> {
    let Target {
        route,
        last,
        session,
        requested,
        model_range,
        caller,
    } = target;
    let provider = route.provider;
    pending.record.provider = Some(provider.name.clone());
    pending.record.upstream_model = Some(route.upstream_model.clone());
    pending.provider_kind = provider.kind.name();
    pending.permit = match state.limits.acquire(provider).await {
        Ok(p) => p,
        Err(_) => {
            let mut r = reject(
                pending,
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limit_error",
                    Some("rate_limit_exceeded"),
                    format!(
                        "provider {} is at its concurrency limit and its queue is full; try again in 1s",
                        provider.name
                    ),
                ),
            );
            r.headers_mut()
                .insert("retry-after", HeaderValue::from_static("1"));
            return Ok(r);
        }
    };

    let inbound = endpoint.protocol();
    let mut wire = provider.kind.wire(inbound.unwrap_or(Protocol::Chat));
    // Injected MCP tools need the canonical path; OpenAI then speaks Chat upstream.
    let inject =
        state.mcp.is_some() && inbound.is_some() && body::declares_tools(bytes, &peeked.tools);
    if inject && wire == Protocol::Responses {
        wire = Protocol::Chat;
    }
    match inbound {
        None if wire != Protocol::Chat => {
            return Ok(reject(
                pending,
                ApiError::bad_request(format!(
                    "{} is served only by OpenAI-protocol providers; provider {} speaks {}",
                    endpoint.upstream_path(),
                    provider.name,
                    wire.name()
                )),
            ));
        }
        Some(p) if p != wire || inject => {
            let job = Job {
                state,
                pending,
                guard,
                inbound: p,
                wire,
                provider,
                upstream_model: route.upstream_model.clone(),
                body: bytes.clone(),
                received: peeked.received(),
                caller,
                headers: parts.headers.clone(),
                session,
                last,
            };
            return translate::run(job).await;
        }
        _ => {}
    }

    // Same protocol: edit the body only where needed; otherwise forward the client's bytes.
    let mut edits = Vec::new();
    if route.upstream_model != requested {
        match serde_json::to_vec(&route.upstream_model) {
            Ok(v) => edits.push((model_range, v)),
            Err(e) => {
                return Ok(reject(
                    pending,
                    ApiError::bad_request(format!("model name: {e}")),
                ));
            }
        }
    }
    if let Some(f) = &peeked.fallbacks {
        edits.push((f.field.clone(), Vec::new()));
    }
    let kind = body_kind(endpoint, peeked, bytes, &mut edits);
    let upstream_body = if edits.is_empty() {
        bytes.clone()
    } else {
        body::edit(bytes, edits)
    };
    if let Some(bad) = provider
        .keys
        .iter()
        .find(|k| providers::sensitive(k.secret.expose()).is_none())
    {
        return Ok(reject(
            pending,
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                Some("invalid_provider_key"),
                format!(
                    "the key `{}` for provider {} contains characters not allowed in a header; fix it in the config",
                    bad.alias, provider.name
                ),
            ),
        ));
    }
    let url = provider.kind.url(
        &provider.base_url,
        wire,
        endpoint.upstream_path(),
        &route.upstream_model,
        peeked.stream,
    );
    let build = |key: Option<&crate::config::ApiKey>| {
        let mut up = upstream::post(&state.client, &url);
        for (name, value) in &parts.headers {
            if DROP_REQUEST_HEADERS.contains(&name.as_str())
                || name.as_str().starts_with("x-bifrost-")
            {
                continue;
            }
            up = up.header(name, value);
        }
        up = provider.kind.authorize(up, key.map(|k| &k.secret));
        if !parts.headers.contains_key(header::CONTENT_TYPE) {
            up = up.header(header::CONTENT_TYPE, "application/json");
        }
        up.body(upstream_body.clone())
    };
    pending.upstream_sent = Some(Instant::now());
    let mut attempts = std::mem::take(&mut pending.attempts);
    let sent = upstream::send(
        state,
        provider,
        &route.upstream_model,
        session,
        &mut attempts,
        &build,
    )
    .await;
    pending.attempts = attempts;
    let (resp, key) = match sent {
        Ok(ok) => ok,
        Err(f) if f.fallback && !last => return Err((pending, guard)),
        Err(upstream::Failed {
            failure: upstream::Failure::Status(resp),
            ..
        }) => {
            pending.record.http_status = resp.status().as_u16();
            return Ok(upstream_error(pending, resp, &provider.name, guard).await);
        }
        Err(upstream::Failed {
            failure: upstream::Failure::Cooling(wait, msg),
            ..
        }) => {
            let mut r = reject(
                pending,
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limit_error",
                    Some("rate_limit_exceeded"),
                    msg,
                ),
            );
            r.headers_mut()
                .insert("retry-after", header_value(&wait.as_secs().to_string()));
            return Ok(r);
        }
        Err(upstream::Failed {
            failure: upstream::Failure::Transport(msg),
            ..
        }) => {
            return Ok(reject(
                pending,
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "server_error",
                    Some("upstream_unreachable"),
                    msg,
                ),
            ));
        }
    };
    pending.record.key_alias = key.map(|k| k.alias.clone());
    let status = resp.status();
    pending.record.http_status = status.as_u16();
    let mut builder = Response::builder().status(status);
    if let Some(h) = builder.headers_mut() {
        copy_response_headers(resp.headers(), h);
        h.insert("x-bifrost-request-id", header_value(&pending.record.id));
        h.insert("x-bifrost-provider", header_value(&provider.name));
    }
    let json_limit = state.config.gateway.max_request_bytes;
    let idle = state.config.gateway.idle_timeout;
    let tee = Tee::new(
        Box::pin(resp.bytes_stream()),
        kind,
        pending,
        guard,
        json_limit,
    )
    .with_idle_timeout(idle);
    Ok(builder.body(Body::from_stream(tee)).unwrap_or_else(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            None,
            e.to_string(),
        )
        .into_response()
    }))
}

/// Chooses how the tee reads the body, and adds `stream_options.include_usage` to chat streams.
fn body_kind(
    endpoint: Endpoint,
    peeked: &Peeked,
    bytes: &[u8],
    edits: &mut Vec<(std::ops::Range<usize>, Vec<u8>)>,
) -> BodyKind {
    if !peeked.stream {
        return match endpoint {
            Endpoint::Messages => BodyKind::JsonOf(Protocol::Anthropic),
            _ => BodyKind::Json,
        };
    }
    match endpoint {
        Endpoint::Responses => BodyKind::ResponsesSse,
        Endpoint::Messages => BodyKind::Decoded(Protocol::Anthropic),
        Endpoint::Chat | Endpoint::Completions => match &peeked.stream_options {
            Some((_, Some(true))) => BodyKind::ChatSse { drop_usage: false },
            Some((range, _)) => {
                let mut opts: serde_json::Value = std::str::from_utf8(&bytes[range.clone()])
                    .ok()
                    .and_then(|s| serde_json::from_str(s).ok())
                    .unwrap_or_else(|| serde_json::json!({}));
                opts["include_usage"] = serde_json::Value::Bool(true);
                edits.push((range.clone(), opts.to_string().into_bytes()));
                BodyKind::ChatSse { drop_usage: true }
            }
            None => match body::after_open_brace(bytes) {
                Some(at) => {
                    edits.push((
                        at..at,
                        br#""stream_options":{"include_usage":true},"#.to_vec(),
                    ));
                    BodyKind::ChatSse { drop_usage: true }
                }
                None => BodyKind::ChatSse { drop_usage: false },
            },
        },
        Endpoint::Embeddings => BodyKind::Json,
    }
}

fn copy_response_headers(from: &reqwest::header::HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        if DROP_RESPONSE_HEADERS.contains(&name.as_str()) {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            to.append(n, v);
        }
    }
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request_error",
        Some("request_too_large"),
        format!(
            "request body is larger than the gateway's limit of {limit} bytes; raise [gateway] max_request_bytes or send less"
        ),
    )
}

/// A request tagged `x-bifrost-session` by a remote launcher counts in that session (opened
/// on first sight, refused when another key owns it). The gateway's own session id is not
/// a remote session.
async fn remote_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<super::SessionGuard>, ApiError> {
    let Some(id) = headers
        .get(crate::launcher::SESSION_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    else {
        return Ok(None);
    };
    if state.session_id.as_deref() == Some(id.as_str()) {
        return Ok(None);
    }
    let owner = super::sessions::fingerprint(auth::presented(headers).unwrap_or_default());
    state
        .remote
        .enter(&id, owner, &state.writer)
        .await
        .map(Some)
}

fn session_of(state: &AppState, headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-bifrost-session")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty() && s.len() <= 64)
        .map(str::to_string)
        .or_else(|| state.session_id.clone())
}

/// Answers with an error and logs the request.
pub(crate) fn reject(mut pending: Pending, err: ApiError) -> Response {
    pending.record.http_status = err.status.as_u16();
    pending.record.error = Some(err.message.clone());
    pending.finish(None, None, None);
    err.into_response()
}

/// A request past an enforced `[budget]` limit, logged like other rejections: a Responses
/// stream gets a 200 with one `response.failed` (`insufficient_quota`), which Codex shows and
/// stops on; anything else gets a 429 with the same code.
fn refuse_over_budget(
    mut pending: Pending,
    endpoint: Endpoint,
    stream: bool,
    message: String,
) -> Response {
    if endpoint != Endpoint::Responses || !stream {
        return reject(
            pending,
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "insufficient_quota",
                Some("insufficient_quota"),
                message,
            ),
        );
    }
    pending.record.http_status = 200;
    pending.record.error = Some(message.clone());
    pending.finish(None, None, None);
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from(crate::gateway::error::response_failed_event(
            "insufficient_quota",
            &message,
        )))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// An upstream non-2xx: keep its status and message, in OpenAI's format, and log it.
async fn upstream_error(
    mut pending: Pending,
    resp: reqwest::Response,
    provider: &str,
    _guard: Guard,
) -> Response {
    let status = resp.status();
    let code = status.as_u16();
    let retry_after = resp.headers().get("retry-after").cloned();
    let body = pending
        .scrubber
        .scrub_bytes(read_capped(resp, 1024 * 1024).await);
    #[derive(serde::Deserialize)]
    struct Wrapped {
        error: ErrorBodyRaw,
    }
    #[derive(serde::Deserialize)]
    struct ErrorBodyRaw {
        message: Option<String>,
        code: Option<serde_json::Value>,
    }
    let parsed = serde_json::from_slice::<Wrapped>(&body).ok();
    let upstream_msg = parsed
        .as_ref()
        .and_then(|w| w.error.message.clone())
        .unwrap_or_else(|| {
            String::from_utf8_lossy(&body[..body.len().min(2000)])
                .trim()
                .to_string()
        });
    let code_str = parsed.as_ref().and_then(|w| match &w.error.code {
        Some(serde_json::Value::String(c)) => Some(c.clone()),
        _ => None,
    });
    let logged = match &code_str {
        Some(c) => format!("{provider} returned HTTP {code} ({c}): {upstream_msg}"),
        None => format!("{provider} returned HTTP {code}: {upstream_msg}"),
    };
    pending.record.error = Some(logged);
    if pending.capture_limit.is_some() {
        pending.record.response_body = Some(String::from_utf8_lossy(&body).into_owned());
    }
    pending.finish(None, None, None);

    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut response = if parsed.is_some() {
        // Already OpenAI's format: pass the bytes through.
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap_or_else(|_| status.into_response())
    } else {
        let kind = if code == 429 {
            "rate_limit_error"
        } else if code >= 500 {
            "server_error"
        } else {
            "invalid_request_error"
        };
        let message = if matches!(code, 401 | 403) {
            format!(
                "{provider} rejected the API key (HTTP {code}): {upstream_msg}; check the key bifrost reads for provider {provider}"
            )
        } else {
            format!("{provider} returned HTTP {code}: {upstream_msg}")
        };
        ApiError::new(status, kind, None, message).into_response()
    };
    if let Some(ra) = retry_after {
        response.headers_mut().insert("retry-after", ra);
    }
    response
}

async fn read_capped(resp: reqwest::Response, limit: usize) -> bytes::Bytes {
    let mut out = Vec::new();
    let mut stream = resp.bytes_stream();
    use futures::StreamExt;
    while let Some(Ok(chunk)) = stream.next().await {
        let room = limit.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room <= chunk.len() {
            break;
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_headers_never_hold_keys() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            HeaderValue::from_static("Bearer sk-canary"),
        );
        h.insert("x-api-key", HeaderValue::from_static("sk-canary"));
        h.insert("session-id", HeaderValue::from_static("abc"));
        let s = redacted_headers(&h);
        assert!(!s.contains("sk-canary"), "{s}");
        assert!(s.contains("\"session-id\":\"abc\""));
    }

    #[test]
    fn stored_headers_are_what_a_serde_map_of_them_wrote() -> Result<(), String> {
        let reference = |headers: &HeaderMap| {
            let map: serde_json::Map<String, serde_json::Value> = headers
                .iter()
                .map(|(k, v)| {
                    let value = if SECRET_HEADERS.contains(&k.as_str()) {
                        "[redacted]".to_string()
                    } else {
                        String::from_utf8_lossy(v.as_bytes()).into_owned()
                    };
                    (k.as_str().to_string(), serde_json::Value::String(value))
                })
                .collect();
            serde_json::Value::Object(map).to_string()
        };
        let mut h = HeaderMap::new();
        assert_eq!(redacted_headers(&h), reference(&h));
        h.insert(
            "user-agent",
            HeaderValue::from_static("codex \"0.169\" \\ tab\t"),
        );
        h.append("x-multi", HeaderValue::from_static("first"));
        h.append("x-multi", HeaderValue::from_static("second"));
        h.insert(
            "authorization",
            HeaderValue::from_static("Bearer sk-canary"),
        );
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert(
            "x-bytes",
            HeaderValue::from_bytes(b"caf\xc3\xa9 \xff end").map_err(|e| e.to_string())?,
        );
        h.append("cookie", HeaderValue::from_static("a=b"));
        h.append("accept", HeaderValue::from_static("*/*"));
        let ours = redacted_headers(&h);
        assert_eq!(ours, reference(&h));
        assert!(ours.contains("\"x-multi\":\"second\""), "{ours}");
        assert!(!ours.contains("sk-canary"), "{ours}");
        Ok(())
    }

    #[test]
    fn chat_streams_get_include_usage() -> Result<(), String> {
        let body = br#"{"model":"m","stream":true,"messages":[]}"#;
        let p = body::peek(body)?;
        let mut edits = Vec::new();
        let k = body_kind(Endpoint::Chat, &p, body, &mut edits);
        assert_eq!(k, BodyKind::ChatSse { drop_usage: true });
        let out = body::edit(body, edits);
        let v: serde_json::Value = serde_json::from_slice(&out).map_err(|e| e.to_string())?;
        assert_eq!(v["stream_options"]["include_usage"], true);
        let body = br#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#;
        let p = body::peek(body)?;
        let mut edits = Vec::new();
        assert_eq!(
            body_kind(Endpoint::Chat, &p, body, &mut edits),
            BodyKind::ChatSse { drop_usage: false }
        );
        assert!(edits.is_empty());
        Ok(())
    }
}
