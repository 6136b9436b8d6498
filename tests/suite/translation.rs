//! The translated path in-process, as a matrix over providers: the errors Codex acts on,
//! heartbeats while the upstream is silent, a stream cut mid-answer, and a session's turns
//! sent to Anthropic from the memos exactly as a first request is.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::Response;
use bifrost::config::Loaded;
use bifrost::gateway::Gateway;
use bifrost::secret::Secret;
use bifrost::store::{self, LogFilter, LogRow, Writer};
use serde_json::{Value, json};

use crate::support::CANARY;
use crate::support::anthropic_mock::{self as am, AnthropicMock};
use crate::support::chat_mock::{self as cm, ChatMock};
use crate::support::gemini_mock::{self as gm, GeminiMock};

const KEY: &str = "bfs_translation_key";

struct Upstreams {
    anthropic: AnthropicMock,
    gemini: GeminiMock,
    chat: ChatMock,
}

async fn gateway(extra: &str, up: &Upstreams, dir: &std::path::Path) -> (Gateway, Writer) {
    let text = format!(
        "{extra}\n[providers.anthropic]\nbase_url = \"{}\"\napi_key = \"env:K\"\n[providers.gemini]\nbase_url = \"{}\"\napi_key = \"env:K\"\n[providers.myvllm]\ntype = \"openai_compatible\"\nbase_url = \"{}\"\napi_key = \"env:K\"\n",
        up.anthropic.base_url(),
        up.gemini.base_url(),
        up.chat.base_url()
    );
    gateway_from(&text, &|k| (k == "K").then(|| CANARY.to_string()), dir).await
}

/// A gateway on the config `text` (its `env:` values looked up in `env`), its store in
/// `dir`, accepting [`KEY`].
async fn gateway_from(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    dir: &std::path::Path,
) -> (Gateway, Writer) {
    gateway_with_keys(text, env, dir, &[KEY]).await
}

/// [`gateway_from`], accepting `keys`.
async fn gateway_with_keys(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    dir: &std::path::Path,
    keys: &[&str],
) -> (Gateway, Writer) {
    let config = Loaded::from_text(text)
        .and_then(|l| l.resolve(env))
        .expect("config");
    let (writer, _t) = Writer::start(&dir.join("logs.db")).expect("store");
    let gw = Gateway::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        Arc::new(config),
        writer.clone(),
        None,
        keys.iter().map(|k| Secret::new(*k)).collect(),
    )
    .await
    .expect("gw");
    (gw, writer)
}

/// Every row the gateway logged, once its writer has committed them.
async fn stored_rows(gw: &Gateway, writer: &Writer, dir: &std::path::Path) -> Vec<LogRow> {
    gw.settled(Duration::from_secs(10)).await;
    writer.flush().await;
    let conn = store::open(&dir.join("logs.db")).expect("open");
    store::requests(&conn, &LogFilter::default()).expect("rows")
}

/// The body of a streaming Responses request routed to Anthropic.
async fn anthropic_stream(gw: &Gateway) -> String {
    post(
        gw,
        "/openai/v1/responses",
        responses_request("anthropic/claude-sonnet-4-5", true),
    )
    .await
    .text()
    .await
    .expect("body")
}

fn responses_request(model: &str, stream: bool) -> String {
    json!({"model": model, "stream": stream, "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}]}).to_string()
}

async fn post(gw: &Gateway, path: &str, body: String) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", gw.url()))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send")
}

fn sse_events(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect()
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    RateLimit,
    ContextOverflow,
    Overloaded,
    BadKey,
}

/// Pushes the provider's own form of a fault.
fn push_fault(up: &Upstreams, provider: &str, f: Fault) {
    match provider {
        "anthropic" => up.anthropic.push(match f {
            Fault::RateLimit => am::error(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", Some(7)),
            Fault::ContextOverflow => am::error(400, "invalid_request_error", "prompt is too long: 250000 tokens > 200000 maximum", None),
            Fault::Overloaded => am::error(529, "overloaded_error", "Overloaded", None),
            Fault::BadKey => am::error(401, "authentication_error", "invalid x-api-key", None),
        }),
        "gemini" => up.gemini.push(match f {
            Fault::RateLimit => gm::Reply::Error { status: 429, google_status: "RESOURCE_EXHAUSTED".into(), message: "Resource has been exhausted (e.g. check quota).".into(), retry_secs: Some(7) },
            Fault::ContextOverflow => gm::Reply::Error { status: 400, google_status: "INVALID_ARGUMENT".into(), message: "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).".into(), retry_secs: None },
            Fault::Overloaded => gm::Reply::Error { status: 503, google_status: "UNAVAILABLE".into(), message: "The model is overloaded. Please try again later.".into(), retry_secs: None },
            Fault::BadKey => gm::Reply::Error { status: 400, google_status: "INVALID_ARGUMENT".into(), message: "API key not valid. Please pass a valid API key.".into(), retry_secs: None },
        }),
        _ => up.chat.push(match f {
            Fault::RateLimit => cm::Reply::Error { status: 429, body: json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}).to_string(), retry_after: Some(7) },
            Fault::ContextOverflow => cm::Reply::Error { status: 400, body: json!({"error": {"message": "This model's maximum context length is 32768 tokens.", "type": "invalid_request_error", "code": "context_length_exceeded"}}).to_string(), retry_after: None },
            Fault::Overloaded => cm::Reply::Error { status: 503, body: json!({"error": {"message": "server overloaded", "type": "server_error"}}).to_string(), retry_after: None },
            Fault::BadKey => cm::Reply::Error { status: 401, body: json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}}).to_string(), retry_after: None },
        }),
    }
}

#[tokio::test]
async fn every_provider_fails_in_the_form_codex_acts_on() {
    let up = Upstreams {
        anthropic: AnthropicMock::start(),
        gemini: GeminiMock::start(),
        chat: ChatMock::start(true),
    };
    let dir = tempfile::tempdir().expect("tmp");
    let (gw, writer) = gateway(
        "[gateway]\nmax_retries = 0\nbreaker_failures = 100\n",
        &up,
        dir.path(),
    )
    .await;
    let models = [
        ("anthropic", "anthropic/claude-sonnet-4-5"),
        ("gemini", "gemini/gemini-2.5-pro"),
        ("myvllm", &format!("myvllm/{}", cm::MODEL)),
    ];
    for (provider, model) in models {
        for fault in [
            Fault::ContextOverflow,
            Fault::Overloaded,
            Fault::BadKey,
            Fault::RateLimit,
        ] {
            push_fault(&up, provider, fault);
            let r = post(&gw, "/openai/v1/responses", responses_request(model, true)).await;
            assert_eq!(
                r.status(),
                200,
                "{provider} {fault:?}: Responses streams carry errors as events"
            );
            let events = sse_events(&r.text().await.expect("body"));
            let failed = events
                .iter()
                .find(|e| e["type"] == "response.failed")
                .cloned()
                .unwrap_or_else(|| panic!("{provider} {fault:?}: {events:?}"));
            let err = &failed["response"]["error"];
            let msg = err["message"].as_str().unwrap_or("");
            match fault {
                Fault::RateLimit => {
                    assert_eq!(err["code"], "rate_limit_exceeded", "{provider}");
                    assert!(msg.contains("try again in 7s"), "{provider}: {msg}");
                }
                Fault::ContextOverflow => {
                    assert_eq!(err["code"], "context_length_exceeded", "{provider}: {msg}")
                }
                Fault::Overloaded => assert_eq!(err["code"], "server_error", "{provider}: {msg}"),
                Fault::BadKey => {
                    assert!(
                        msg.contains(&format!("provider {provider}")),
                        "{provider}: {msg}"
                    );
                    assert!(!msg.contains(CANARY), "{provider}: the key never shows");
                }
            }
            // Chat clients get an HTTP error in OpenAI's format.
            push_fault(&up, provider, fault);
            let chat = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
                .to_string();
            let r = post(&gw, "/openai/v1/chat/completions", chat).await;
            if matches!(fault, Fault::RateLimit) {
                assert_eq!(r.status(), 429, "{provider}");
                // The key is cooling from the 429 just before: the gateway answers for it, with
                // the provider's reset (Gemini's RetryInfo is in the body: a 10 s default applies).
                let ra = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                let want = if provider == "gemini" { 10 } else { 7 };
                assert!(
                    ra.is_some_and(|s| (want - 1..=want).contains(&s)),
                    "{provider}: {ra:?}"
                );
            }
            let v: Value = r.json().await.unwrap_or_default();
            assert!(
                v["error"]["message"].is_string(),
                "{provider} {fault:?}: {v}"
            );
        }
    }
    let rows = stored_rows(&gw, &writer, dir.path()).await;
    assert_eq!(rows.len(), 24);
    assert!(rows.iter().all(|r| r.status == "error" && r.error.as_deref().is_some_and(|e| !e.contains(CANARY))));
}

/// An Anthropic-speaking upstream that waits, then streams; or streams part and hangs up.
async fn slow_anthropic(delay: Duration, cut: bool) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().route(
        "/v1/messages",
        axum::routing::post(move || async move {
            let msg = json!({"id": "msg_slow", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                "content": [{"type": "text", "text": "late but here"}], "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {"input_tokens": 10, "output_tokens": 3}});
            let mut events = am::stream_events(&msg);
            if cut {
                events.truncate(3);
            }
            let stream = futures::stream::once(async move { tokio::time::sleep(delay).await; Ok::<_, std::io::Error>(Bytes::new()) })
                .chain(futures::stream::iter(events.into_iter().map(|e| Ok(Bytes::from(e)))));
            Response::builder().header("content-type", "text/event-stream").body(Body::from_stream(stream)).unwrap_or_default()
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

use futures::StreamExt;

async fn slow_gateway(addr: SocketAddr, dir: &std::path::Path) -> (Gateway, Writer) {
    let text = format!(
        "[gateway]\nheartbeat_secs = 0.2\n[providers.anthropic]\nbase_url = \"http://{addr}/v1\"\napi_key = \"k\"\n"
    );
    gateway_from(&text, &|_| None, dir).await
}

#[tokio::test]
async fn a_silent_upstream_gets_heartbeats_that_codex_counts() {
    let addr = slow_anthropic(Duration::from_millis(900), false).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (gw, _w) = slow_gateway(addr, dir.path()).await;
    let text = anthropic_stream(&gw).await;
    let events = sse_events(&text);
    let first_output = events
        .iter()
        .position(|e| e["type"] == "response.output_item.added")
        .unwrap_or(0);
    let beats = events[..first_output]
        .iter()
        .filter(|e| e["type"] == "response.in_progress")
        .count();
    assert!(
        beats >= 3,
        "real data events while the upstream is silent, not SSE comments: {beats} in {text}"
    );
    assert!(!text.contains("\n: "), "no comment lines");
    assert_eq!(
        events.last().map(|e| e["type"].clone()),
        Some(json!("response.completed"))
    );
}

#[tokio::test]
async fn a_translated_stream_cut_mid_answer_ends_in_response_failed() {
    let addr = slow_anthropic(Duration::from_millis(10), true).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (gw, writer) = slow_gateway(addr, dir.path()).await;
    let text = anthropic_stream(&gw).await;
    let last = sse_events(&text).pop().unwrap_or_default();
    assert_eq!(last["type"], "response.failed", "{text}");
    assert_eq!(last["response"]["error"]["code"], "server_error");
    let rows = stored_rows(&gw, &writer, dir.path()).await;
    assert!(
        rows[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("message_stop"),
        "{:?}",
        rows[0].error
    );
}

/// An upstream error event in the middle of a translated stream may echo the provider key:
/// the client's `response.failed` and the stored row carry it scrubbed.
#[tokio::test]
async fn a_mid_stream_upstream_error_reaches_the_client_without_the_key() {
    const ANTHROPIC_KEY: &str = "sk-ant-canary-mid-stream-0001";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().route(
        "/v1/messages",
        axum::routing::post(|| async {
            let msg = json!({"id": "msg_echo", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                "content": [{"type": "text", "text": "partial answer"}], "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {"input_tokens": 10, "output_tokens": 3}});
            let mut events = am::stream_events(&msg);
            events.truncate(3);
            events.push(format!(
                "event: error\ndata: {}\n\n",
                json!({"type": "error", "error": {"type": "overloaded_error",
                       "message": format!("overloaded for key {ANTHROPIC_KEY}")}})
            ));
            let stream = futures::stream::iter(events.into_iter().map(|e| Ok::<_, std::io::Error>(Bytes::from(e))));
            Response::builder().header("content-type", "text/event-stream").body(Body::from_stream(stream)).unwrap_or_default()
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let dir = tempfile::tempdir().expect("tmp");
    let text = format!(
        "[gateway]\nmax_retries = 0\n[providers.anthropic]\nbase_url = \"http://{addr}/v1\"\napi_key = \"{ANTHROPIC_KEY}\"\n"
    );
    let (gw, writer) = gateway_from(&text, &|_| None, dir.path()).await;
    let body = anthropic_stream(&gw).await;
    let last = sse_events(&body).pop().unwrap_or_default();
    assert_eq!(last["type"], "response.failed", "{body}");
    let message = last["response"]["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("overloaded for key"), "{body}");
    assert!(!body.contains(ANTHROPIC_KEY), "{body}");
    let rows = stored_rows(&gw, &writer, dir.path()).await;
    let error = rows[0].error.clone().unwrap_or_default();
    assert!(error.contains("overloaded"), "{error}");
    assert!(!error.contains(ANTHROPIC_KEY), "{error}");
}

/// A Codex-like session, turn by turn, on one keep-alive connection (so every turn runs on
/// the gateway thread whose memos hold the last one): each body the Anthropic mock receives
/// must be the body a caller with no history gets for the same request, byte for byte. The
/// second caller sends each turn once, on a key of its own, so nothing is remembered for it.
#[tokio::test]
async fn a_remembered_conversation_is_sent_to_anthropic_as_a_fresh_one_is() {
    const SESSION: &str = "bfs_translation_session";
    let fresh: Vec<String> = (0..8)
        .map(|i| format!("bfs_translation_fresh_{i}"))
        .collect();
    let anthropic = AnthropicMock::start();
    let dir = tempfile::tempdir().expect("tmp");
    let text = format!(
        "[providers.anthropic]\nbase_url = \"{}\"\napi_key = \"env:K\"\n",
        anthropic.base_url()
    );
    let mut keys = vec![SESSION];
    keys.extend(fresh.iter().map(String::as_str));
    let env = |k: &str| (k == "K").then(|| CANARY.to_string());
    let (gw, writer) = gateway_with_keys(&text, &env, dir.path(), &keys).await;
    let session = reqwest::Client::new();
    let send = |client: &reqwest::Client, key: &str, body: &Value| {
        client
            .post(format!("{}/openai/v1/responses", gw.url()))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let tools = json!([{"type": "function", "name": "exec_command", "description": "Runs a command",
        "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}}]);
    let mut input = vec![
        json!({"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "You are Codex."}]}),
        json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list the files, \"then\" say hi"}]}),
    ];
    let turns = [
        vec![
            json!({"type": "function_call", "call_id": "call.1", "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}"}),
            json!({"type": "function_call_output", "call_id": "call.1", "output": "a.txt\nb.txt"}),
        ],
        vec![
            json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Two files."}]}),
        ],
        vec![
            json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "and now?"}]}),
        ],
        vec![
            json!({"type": "function_call", "call_id": "c2", "name": "exec_command", "arguments": "{\"cmd\":\"date\"}"}),
            json!({"type": "function_call", "call_id": "c3", "name": "exec_command", "arguments": "{\"cmd\":\"pwd\"}"}),
            json!({"type": "function_call_output", "call_id": "c3", "output": "/w"}),
            json!({"type": "function_call_output", "call_id": "c2", "output": "Tue"}),
        ],
        vec![
            json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Done."}]}),
        ],
        vec![
            json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "thanks"}]}),
        ],
    ];
    for (n, items) in turns.into_iter().enumerate() {
        input.extend(items);
        let body = json!({"model": "anthropic/claude-sonnet-4-5", "stream": false,
            "reasoning": {"effort": "medium"}, "tools": tools, "input": input,
            "client_metadata": {"turn": n}});
        for key in [SESSION, fresh[n].as_str()] {
            anthropic.push(am::text("ok", am::usage(10, 2, 0, 0)));
            let client = if key == SESSION {
                session.clone()
            } else {
                reqwest::Client::new()
            };
            let resp = send(&client, key, &body).await.expect("send");
            assert_eq!(resp.status(), 200, "turn {n}, key {key}");
            let answer: Value = resp.json().await.expect("json");
            assert_eq!(answer["output"][0]["content"][0]["text"], "ok");
        }
        let seen = anthropic.seen();
        let [.., remembered, fresh_body] = seen.as_slice() else {
            panic!("the mock saw {} requests", seen.len());
        };
        assert_eq!(
            String::from_utf8_lossy(&remembered.body),
            String::from_utf8_lossy(&fresh_body.body),
            "turn {n}"
        );
    }
    assert_eq!(anthropic.seen().len(), 12);
    let rows = stored_rows(&gw, &writer, dir.path()).await;
    assert_eq!(rows.len(), 12);
}
