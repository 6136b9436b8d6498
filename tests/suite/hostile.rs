//! Hostile input against the real gateway: malformed and oversized requests, huge headers,
//! slowloris clients (raw TCP), and garbage from upstream on the translated and passthrough
//! paths. Every answer is an OpenAI-style error (or the protocol's error event), never a
//! panic, and the gateway keeps serving.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bifrost::config::Loaded;
use bifrost::gateway::Gateway;
use bifrost::secret::Secret;
use bifrost::store::{self, LogFilter, LogRow, Writer};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::CANARY;

const KEY: &str = "bfs_hostile_key";

/// What the scripted upstream answers next.
#[derive(Clone)]
enum Script {
    /// A status, content type and body.
    Status(u16, &'static str, String),
    /// An SSE body sent as these chunks.
    Sse(Vec<String>),
    /// `data: ` and then `x` forever, never a newline.
    Endless,
}

/// A tiny upstream that answers every POST with the next script.
struct Upstream {
    addr: SocketAddr,
    queue: Arc<Mutex<VecDeque<Script>>>,
}

impl Upstream {
    async fn start() -> Upstream {
        let queue: Arc<Mutex<VecDeque<Script>>> = Arc::default();
        let q = queue.clone();
        let app = axum::Router::new().fallback(move || {
            let q = q.clone();
            async move {
                let next = q.lock().expect("lock").pop_front();
                match next {
                    None => (StatusCode::IM_A_TEAPOT, "no script").into_response(),
                    Some(Script::Status(code, ct, body)) => Response::builder()
                        .status(code)
                        .header(header::CONTENT_TYPE, ct)
                        .body(Body::from(body))
                        .expect("response"),
                    Some(Script::Sse(chunks)) => {
                        let s = futures::stream::iter(
                            chunks
                                .into_iter()
                                .map(|c| Ok::<_, std::io::Error>(Bytes::from(c))),
                        );
                        sse(Body::from_stream(s))
                    }
                    Some(Script::Endless) => {
                        let block = Bytes::from(vec![b'x'; 64 * 1024]);
                        let head = futures::stream::once(async {
                            Ok::<_, std::io::Error>(Bytes::from_static(b"data: "))
                        });
                        let tail = futures::stream::repeat_with(move || Ok(block.clone()));
                        use futures::StreamExt;
                        sse(Body::from_stream(head.chain(tail)))
                    }
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Upstream { addr, queue }
    }

    fn push(&self, s: Script) {
        self.queue.lock().expect("lock").push_back(s);
    }

    fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
}

fn sse(body: Body) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(body)
        .expect("response")
}

struct Harness {
    gw: Gateway,
    writer: Writer,
    up: Upstream,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Harness {
    async fn start(extra: &str) -> Harness {
        let up = Upstream::start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let base = up.base_url();
        let text = format!(
            "{extra}\n[providers.openai]\nbase_url = \"{base}\"\napi_key = \"env:K\"\n[providers.anthropic]\nbase_url = \"{base}\"\napi_key = \"env:K\"\n[providers.myvllm]\ntype = \"openai_compatible\"\nbase_url = \"{base}\"\napi_key = \"env:K\"\n"
        );
        let config = Loaded::from_text(&text)
            .and_then(|l| l.resolve(&|k| (k == "K").then(|| CANARY.to_string())))
            .expect("config");
        let (writer, _t) = Writer::start(&dir.path().join("logs.db")).expect("store");
        let gw = Gateway::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            Arc::new(config),
            writer.clone(),
            None,
            vec![Secret::new(KEY)],
        )
        .await
        .expect("gateway");
        Harness {
            gw,
            writer,
            up,
            dir,
            http: bifrost::gateway::http_client().expect("client"),
        }
    }

    async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.gw.url()))
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("send")
    }

    async fn rows(&self) -> Vec<LogRow> {
        self.gw.settled(Duration::from_secs(10)).await;
        self.writer.flush().await;
        let conn = store::open(&self.dir.path().join("logs.db")).expect("open");
        store::requests(&conn, &LogFilter::default()).expect("rows")
    }

    async fn healthy(&self) {
        let r = self
            .http
            .get(format!("{}/health", self.gw.url()))
            .send()
            .await
            .expect("health");
        assert_eq!(r.status(), 200, "the gateway still serves");
    }
}

/// The error message of an OpenAI-style error body.
async fn error_message(r: reqwest::Response) -> String {
    let v: Value = r.json().await.expect("an OpenAI-style JSON error body");
    assert!(v["error"]["type"].is_string(), "{v}");
    v["error"]["message"].as_str().unwrap_or("").to_string()
}

fn responses(model: &str, stream: bool) -> String {
    format!(
        r#"{{"model":"{model}","stream":{stream},"input":[{{"type":"message","role":"user","content":[{{"type":"input_text","text":"hi"}}]}}]}}"#
    )
}

fn anthropic_stream(text: &str, with_stop: bool) -> Vec<String> {
    let mut v = vec![
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":5,\"output_tokens\":0}}}\n\n".to_string(),
        // Events with no data at all, and a comment: ignored.
        "event: ping\n\n: just a comment\n\n".to_string(),
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n".to_string(),
        format!("event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{text}\"}}}}\n\n"),
    ];
    if with_stop {
        v.push("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":1}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".to_string());
    }
    v
}

fn chat_stream(text: &str, with_stop: bool) -> Vec<String> {
    let mut v = vec![
        format!(
            "data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":\"{text}\"}}}}]}}\n\n"
        ),
        "event: ping\n\n".to_string(),
    ];
    if with_stop {
        v.push("data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}\n\ndata: [DONE]\n\n".to_string());
    }
    v
}

fn responses_stream(text: &str, with_stop: bool) -> Vec<String> {
    let mut v = vec![
        "data: {\"type\":\"response.created\",\"response\":{\"id\":\"r1\"}}\n\n".to_string(),
        "event: ping\n\n".to_string(),
        format!("data: {{\"type\":\"response.output_text.delta\",\"delta\":\"{text}\"}}\n\n"),
    ];
    if with_stop {
        v.push("data: {\"type\":\"response.completed\",\"response\":{\"id\":\"r1\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1,\"total_tokens\":6}}}\n\n".to_string());
    }
    v
}

/// The `type` of the last event of an SSE text (its `data:` JSON).
fn last_event_type(text: &str) -> String {
    text.trim_end()
        .rsplit("\n\n")
        .find_map(|ev| {
            ev.lines()
                .find_map(|l| l.strip_prefix("data: "))
                .and_then(|d| serde_json::from_str::<Value>(d).ok())
        })
        .map(|v| v["type"].as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn malformed_bodies_get_400_in_openai_format_on_both_paths() {
    let h = Harness::start("[gateway]\nmax_request_bytes = 65536\n").await;
    let deep = |model: &str| {
        format!(
            "{{\"model\":\"{model}\",\"input\":{}{}}}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        )
    };
    let deep_object = format!(
        "{{\"model\":\"anthropic/claude-x\",\"input\":{}1{}}}",
        "{\"a\":".repeat(10_000),
        "}".repeat(10_000)
    );
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "/v1/responses",
            b"{\"model\":\"gpt-5.5\",\"input\":\"\xff\xfe\"}".to_vec(),
            400,
            "UTF-8",
        ),
        (
            "/v1/responses",
            b"{\"model\":\"gpt-5.5\",\"input\":[{\"type\"".to_vec(),
            400,
            "not valid JSON",
        ),
        (
            "/v1/responses",
            deep("gpt-5.5").into_bytes(),
            400,
            "128 levels",
        ),
        (
            "/v1/responses",
            deep("anthropic/claude-x").into_bytes(),
            400,
            "128 levels",
        ),
        ("/v1/responses", deep_object.into_bytes(), 400, "128 levels"),
        (
            "/v1/chat/completions",
            deep("myvllm/m").into_bytes(),
            400,
            "128 levels",
        ),
        (
            "/anthropic/v1/messages",
            deep("anthropic/claude-x").into_bytes(),
            400,
            "128 levels",
        ),
        (
            "/v1/responses",
            format!(
                "{{\"model\":\"gpt-5.5\",\"input\":\"{}\"}}",
                "x".repeat(70_000)
            )
            .into_bytes(),
            413,
            "limit of 65536 bytes",
        ),
    ];
    for (path, body, status, needle) in cases {
        let r = h.post(path, body.clone()).await;
        assert_eq!(
            r.status().as_u16(),
            status,
            "{}",
            String::from_utf8_lossy(&body[..60])
        );
        let msg = error_message(r).await;
        assert!(msg.contains(needle), "{msg:?} should contain {needle:?}");
    }
    // A truncated body on the translated path, past peek (valid JSON, wrong shape).
    let r = h
        .post(
            "/v1/responses",
            r#"{"model":"anthropic/claude-x","input":5}"#,
        )
        .await;
    assert_eq!(r.status(), 400);
    error_message(r).await;
    // Wrong content types.
    for ct in [
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
    ] {
        let r = h
            .http
            .post(format!("{}/v1/responses", h.gw.url()))
            .bearer_auth(KEY)
            .header("content-type", ct)
            .body(responses("gpt-5.5", false))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 400, "{ct}");
        assert!(error_message(r).await.contains("content-type"));
    }
    // A body cut short on the wire (content-length larger than what arrives).
    let mut s = TcpStream::connect(h.gw.addr()).await.expect("connect");
    s.write_all(
        format!("POST /v1/responses HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {KEY}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"model\":")
            .as_bytes(),
    )
    .await
    .expect("write");
    s.shutdown().await.expect("half close");
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 400"),
        "a cut body is refused or the connection closed: {text}"
    );
    h.healthy().await;
    let rows = h.rows().await;
    assert!(rows.len() >= 12, "rejections are logged: {}", rows.len());
    assert!(rows.iter().all(|r| r.status == "error"));
}

/// Sends raw bytes and reads until the server closes (or `limit` passes).
async fn raw_exchange(addr: SocketAddr, head: &[u8], limit: Duration) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let _ = s.write_all(head).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(limit, s.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf).into_owned()
}

#[tokio::test]
async fn oversized_headers_get_431() {
    let h = Harness::start("").await;
    // Past the 64 KiB default but within hyper's hard cap: OpenAI-style JSON.
    let big = "a".repeat(100 * 1024);
    let head = format!(
        "POST /v1/responses HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {KEY}\r\nx-big: {big}\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
    );
    let text = raw_exchange(h.gw.addr(), head.as_bytes(), Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 431"), "{text:.200}");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    let v: Value = serde_json::from_str(body).expect("JSON body");
    assert_eq!(v["error"]["code"], "request_header_fields_too_large");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("max_header_bytes")
    );
    // Many small headers adding up past the limit: the same.
    let many: String = (0..90)
        .map(|i| format!("x-h{i}: {}\r\n", "b".repeat(1000)))
        .collect();
    let head = format!("GET /health HTTP/1.1\r\nhost: x\r\n{many}connection: close\r\n\r\n");
    let text = raw_exchange(h.gw.addr(), head.as_bytes(), Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 431"), "{text:.200}");
    // Far past it: hyper answers a bare 431 (or just closes) before any handler runs.
    let huge = "c".repeat(1024 * 1024);
    let head = format!("GET /health HTTP/1.1\r\nhost: x\r\nx-huge: {huge}\r\n\r\n");
    let text = raw_exchange(h.gw.addr(), head.as_bytes(), Duration::from_secs(5)).await;
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 431"),
        "{text:.200}"
    );
    h.healthy().await;
}

#[tokio::test]
async fn a_slowloris_client_is_cut_off_after_the_header_read_timeout() {
    let h = Harness::start("[gateway]\nheader_read_timeout_secs = 1\n").await;
    let closed_at = crate::support::slowloris_closed_after(&h.gw.addr().to_string()).await;
    assert!(
        closed_at >= Duration::from_millis(900) && closed_at < Duration::from_secs(4),
        "closed after {closed_at:?}"
    );
    // A normal client is unaffected.
    h.healthy().await;
}

#[tokio::test]
async fn upstream_garbage_ends_in_errors_not_panics() {
    // No retries: each scripted upstream answer must reach the client as it is.
    let h = Harness::start("[gateway]\nmax_event_bytes = 65536\nmax_retries = 0\n").await;
    // A non-JSON error body, translated (Anthropic and Chat wire) and passthrough.
    for model in ["anthropic/claude-x", "myvllm/m", "gpt-5.5"] {
        h.up.push(Script::Status(500, "text/html", "<html>oops</html>".into()));
        let r = h.post("/v1/responses", responses(model, false)).await;
        assert!(r.status().is_server_error(), "{model}: {}", r.status());
        let msg = error_message(r).await;
        assert!(
            msg.contains("oops") || msg.contains("500"),
            "{model}: {msg}"
        );
        // The same as a stream: Responses clients get `response.failed` or an error status.
        h.up.push(Script::Status(502, "text/plain", "not json at all".into()));
        let r = h.post("/v1/responses", responses(model, true)).await;
        let status = r.status();
        let text = r.text().await.expect("text");
        assert!(
            status.is_server_error() || last_event_type(&text) == "response.failed",
            "{model}: {status} {text}"
        );
    }
    // A 2xx that is not what the protocol promises (translated, non-stream).
    h.up.push(Script::Status(200, "application/json", "[1,2".into()));
    let r = h
        .post("/v1/responses", responses("anthropic/claude-x", false))
        .await;
    assert_eq!(r.status(), 502);
    error_message(r).await;

    // One SSE event past max_event_bytes (1 MiB line), and one that never ends: each stream
    // ends with the client protocol's error event, bounded in memory and time.
    let big = format!("data: {}\n\n", "y".repeat(1024 * 1024));
    let cases: Vec<(&str, &str, Vec<String>)> = vec![
        (
            "/v1/responses",
            "anthropic/claude-x",
            anthropic_stream("a", false),
        ),
        ("/v1/responses", "myvllm/m", chat_stream("a", false)),
        ("/v1/responses", "gpt-5.5", responses_stream("a", false)),
    ];
    for (path, model, head) in cases {
        for tail in [Some(big.clone()), None] {
            let mut chunks = head.clone();
            match &tail {
                Some(t) => {
                    chunks.push(t.clone());
                    h.up.push(Script::Sse(chunks));
                }
                None => h.up.push(Script::Endless),
            }
            let r = tokio::time::timeout(
                Duration::from_secs(20),
                h.post(path, responses(model, true)),
            )
            .await
            .expect("answered");
            assert_eq!(r.status(), 200, "{model}");
            let text = tokio::time::timeout(Duration::from_secs(20), r.text())
                .await
                .expect("the stream ends by itself")
                .expect("text");
            assert_eq!(
                last_event_type(&text),
                "response.failed",
                "{model}: {:.300}",
                &text[text.len().saturating_sub(300)..]
            );
            assert!(text.len() < 2 * 1024 * 1024 + 4096, "{model}: bounded");
        }
    }
    // Chat and Messages clients get their protocol's error event.
    h.up.push(Script::Endless);
    let text = h
        .post(
            "/v1/chat/completions",
            r#"{"model":"gpt-5.5","stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
        )
        .await
        .text()
        .await
        .expect("text");
    assert!(
        text.contains("max_event_bytes") && text.contains("\"error\""),
        "{:.300}",
        &text[text.len().saturating_sub(300)..]
    );
    h.up.push(Script::Endless);
    let text = h
        .post(
            "/anthropic/v1/messages",
            r#"{"model":"anthropic/claude-x","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
        )
        .await
        .text()
        .await
        .expect("text");
    assert!(
        text.contains("event: error"),
        "{:.300}",
        &text[text.len().saturating_sub(300)..]
    );

    let rows = h.rows().await;
    let overflowed = rows
        .iter()
        .filter(|r| r.error.as_deref().unwrap_or("").contains("max_event_bytes"))
        .count();
    assert_eq!(overflowed, 8, "every oversized event is logged as such");
    h.healthy().await;
}

#[tokio::test]
async fn streams_that_never_complete_and_events_without_data() {
    let h = Harness::start("").await;
    // Complete streams with data-less events and comments in them: fine.
    h.up.push(Script::Sse(anthropic_stream("hello", true)));
    h.up.push(Script::Sse(chat_stream("hello", true)));
    h.up.push(Script::Sse(responses_stream("hello", true)));
    for model in ["anthropic/claude-x", "myvllm/m", "gpt-5.5"] {
        let text = h
            .post("/v1/responses", responses(model, true))
            .await
            .text()
            .await
            .expect("text");
        assert_eq!(
            last_event_type(&text),
            "response.completed",
            "{model}: {text}"
        );
        assert!(text.contains("hello"));
    }
    // The same streams cut before they complete: Responses clients get response.failed.
    h.up.push(Script::Sse(anthropic_stream("partial", false)));
    h.up.push(Script::Sse(chat_stream("partial", false)));
    h.up.push(Script::Sse(responses_stream("partial", false)));
    for model in ["anthropic/claude-x", "myvllm/m", "gpt-5.5"] {
        let text = h
            .post("/v1/responses", responses(model, true))
            .await
            .text()
            .await
            .expect("text");
        assert_eq!(last_event_type(&text), "response.failed", "{model}: {text}");
    }
    // Chat clients (translated and passthrough) and Messages clients: cut streams are logged.
    h.up.push(Script::Sse(anthropic_stream("partial", false)));
    let text = h
        .post(
            "/v1/chat/completions",
            r#"{"model":"anthropic/claude-x","stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
        )
        .await
        .text()
        .await
        .expect("text");
    assert!(text.contains("\"error\""), "{text}");
    h.up.push(Script::Sse(chat_stream("partial", false)));
    let _ = h
        .post(
            "/v1/chat/completions",
            r#"{"model":"gpt-5.5","stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
        )
        .await
        .text()
        .await;
    h.up.push(Script::Sse(chat_stream("partial", false)));
    let text = h
        .post(
            "/anthropic/v1/messages",
            r#"{"model":"myvllm/m","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
        )
        .await
        .text()
        .await
        .expect("text");
    assert!(text.contains("event: error"), "{text}");
    let rows = h.rows().await;
    assert_eq!(rows.len(), 9);
    let ok = rows.iter().filter(|r| r.status == "ok").count();
    assert_eq!(
        ok,
        3,
        "{:?}",
        rows.iter()
            .map(|r| (&r.status, &r.error))
            .collect::<Vec<_>>()
    );
    assert!(
        rows.iter()
            .filter(|r| r.status != "ok")
            .all(|r| r.error.as_deref().is_some_and(|e| !e.is_empty()))
    );
}
