//! Gateway latency: the same Codex request sent directly to a mock upstream, through the
//! gateway as passthrough (OpenAI), and through the gateway translated to Anthropic, all
//! interleaved on keep-alive connections. Prints medians, p99s and the added latency against
//! the direct call. Run: `cargo run --release --example passthrough_bench`
//! (`BODY_KB=50` pads the request to ~50 KB; pin with `taskset -c 0` for steadier numbers).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

const KEY: &str = "bfs_bench";

fn sse_body(events: usize) -> Bytes {
    let mut s = String::new();
    s.push_str("event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r\"}}\n\n");
    for i in 0..events {
        s.push_str(&format!(
            "event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"item_id\":\"m\",\"output_index\":0,\"content_index\":0,\"delta\":\"token{i} \"}}\n\n"
        ));
    }
    s.push_str("event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"x\"}]}}\n\n");
    s.push_str("event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"r\",\"usage\":{\"input_tokens\":5000,\"input_tokens_details\":{\"cached_tokens\":4000},\"output_tokens\":50,\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":5050}}}\n\n");
    Bytes::from(s)
}

const JSON_REPLY: &str = r#"{"id":"resp_1","object":"response","status":"completed","model":"gpt-5.5","output":[{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"Hello from the mock upstream.","annotations":[]}]}],"usage":{"input_tokens":5000,"input_tokens_details":{"cached_tokens":4000},"output_tokens":12,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":5012}}"#;

fn anthropic_sse(events: usize) -> Bytes {
    let mut s = String::from(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":1000,\"cache_read_input_tokens\":4000,\"cache_creation_input_tokens\":0,\"output_tokens\":1}}}\n\n",
    );
    s.push_str("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
    for i in 0..events {
        s.push_str(&format!("event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"token{i} \"}}}}\n\n"));
    }
    s.push_str(
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    );
    s.push_str("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":50}}\n\n");
    s.push_str("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    Bytes::from(s)
}

const ANTHROPIC_JSON: &str = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello from the mock upstream."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1000,"cache_read_input_tokens":4000,"cache_creation_input_tokens":0,"output_tokens":12}}"#;

async fn upstream(
    req: Request<Incoming>,
    sse: Bytes,
    asse: Bytes,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let anthropic = req.uri().path().ends_with("/messages");
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let stream = memchr::memmem::find(&body, b"\"stream\":true").is_some();
    let (ct, body) = match (anthropic, stream) {
        (true, true) => ("text/event-stream", asse),
        (true, false) => (
            "application/json",
            Bytes::from_static(ANTHROPIC_JSON.as_bytes()),
        ),
        (false, true) => ("text/event-stream", sse),
        (false, false) => (
            "application/json",
            Bytes::from_static(JSON_REPLY.as_bytes()),
        ),
    };
    let resp = Response::builder()
        .header("content-type", ct)
        .body(Full::new(body));
    Ok(resp.unwrap_or_default())
}

async fn start_upstream(sse: Bytes, asse: Bytes) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let (sse, asse) = (sse.clone(), asse.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |r| upstream(r, sse.clone(), asse.clone()));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    addr
}

struct Conn {
    send: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

async fn connect(addr: SocketAddr) -> Conn {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    Conn {
        send,
        host: addr.to_string(),
    }
}

/// Sends one request; returns (time to first body byte, total time).
async fn once(c: &mut Conn, path: &str, body: &Bytes) -> (Duration, Duration) {
    let req = Request::post(path)
        .header("host", &c.host)
        .header("authorization", format!("Bearer {KEY}"))
        .header("content-type", "application/json")
        .body(Full::new(body.clone()))
        .expect("request");
    let t0 = Instant::now();
    let resp = c.send.send_request(req).await.expect("send");
    assert!(resp.status().is_success(), "status {}", resp.status());
    let mut body = resp.into_body();
    let mut first = None;
    while let Some(frame) = body.frame().await {
        frame.expect("frame");
        first.get_or_insert_with(|| t0.elapsed());
    }
    let total = t0.elapsed();
    (first.unwrap_or(total), total)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((p / 100.0) * v.len() as f64)
        .ceil()
        .clamp(1.0, v.len() as f64) as usize
        - 1]
}

fn stats(v: &mut [f64]) -> (f64, f64) {
    (pct(v, 50.0), pct(v, 99.0))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let events: usize = std::env::var("EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let body_kb: usize = std::env::var("BODY_KB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/codex/request_turn1_gpt55.json"
    ))
    .expect("fixture");
    let mut req: serde_json::Value = serde_json::from_slice(&fixture).expect("json");
    // Pad with earlier turns, as a long Codex session would have.
    let mut turn = 0;
    while serde_json::to_vec(&req).map(|v| v.len()).unwrap_or(0) < body_kb * 1024 {
        turn += 1;
        let role = if turn % 2 == 0 { "user" } else { "assistant" };
        let kind = if role == "user" {
            "input_text"
        } else {
            "output_text"
        };
        if let Some(input) = req["input"].as_array_mut() {
            input.push(serde_json::json!({"type": "message", "role": role, "content": [{"type": kind, "text": "Earlier turn of the session: ".repeat(20)}]}));
        }
    }
    let up = start_upstream(sse_body(events), anthropic_sse(events)).await;
    let dir = tempfile::tempdir().expect("tmp");
    let config = bifrost::config::Loaded::from_text(&format!(
        "[providers.openai]\nbase_url = \"http://{up}/v1\"\napi_key = \"sk-bench\"\n[providers.anthropic]\nbase_url = \"http://{up}/v1\"\napi_key = \"sk-bench\"\n"
    ))
    .and_then(|l| l.resolve(&|_| None))
    .expect("config");
    let (writer, _t) = bifrost::store::Writer::start(&dir.path().join("logs.db")).expect("store");
    let gw = bifrost::gateway::Gateway::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        Arc::new(config),
        writer,
        None,
        vec![bifrost::secret::Secret::new(KEY)],
    )
    .await
    .expect("gateway");
    for stream in [false, true] {
        req["stream"] = serde_json::Value::Bool(stream);
        req["model"] = serde_json::json!("gpt-5.5");
        let body = Bytes::from(serde_json::to_vec(&req).expect("ser"));
        req["model"] = serde_json::json!("anthropic/claude-sonnet-4-5");
        let translated = Bytes::from(serde_json::to_vec(&req).expect("ser"));
        if !stream {
            println!(
                "body: {} bytes (Codex turn-1 request{}), stream: {events} delta events, rounds: {rounds}",
                body.len(),
                if turn > 0 { ", padded" } else { "" }
            );
        }
        let mut direct = connect(up).await;
        let mut via = connect(gw.addr()).await;
        let mut tr = connect(gw.addr()).await;
        let mut t: [Vec<(f64, f64)>; 3] = [vec![], vec![], vec![]];
        for i in 0..(rounds + 300) {
            let mut got = [(Duration::ZERO, Duration::ZERO); 3];
            for k in 0..3 {
                let which = (i + k) % 3;
                got[which] = match which {
                    0 => once(&mut direct, "/v1/responses", &body).await,
                    1 => once(&mut via, "/openai/v1/responses", &body).await,
                    _ => once(&mut tr, "/openai/v1/responses", &translated).await,
                };
            }
            if i >= 300 {
                for k in 0..3 {
                    t[k].push((got[k].0.as_secs_f64() * 1e6, got[k].1.as_secs_f64() * 1e6));
                }
            }
        }
        let mut totals: Vec<Vec<f64>> = t.iter().map(|v| v.iter().map(|x| x.1).collect()).collect();
        let mut firsts: Vec<Vec<f64>> = t.iter().map(|v| v.iter().map(|x| x.0).collect()).collect();
        let (d50, d99) = stats(&mut totals[0]);
        let label = if stream { "stream" } else { "non-stream" };
        println!("{label:<10} direct                p50 {d50:>7.1} µs  p99 {d99:>7.1} µs");
        for (k, name) in [(1, "passthrough (openai)"), (2, "translated (anthropic)")] {
            let (g50, g99) = stats(&mut totals[k]);
            println!(
                "{label:<10} {name:<22}p50 {g50:>7.1} µs  p99 {g99:>7.1} µs  added p50 {:>6.1} µs  p99 {:>7.1} µs",
                g50 - d50,
                g99 - d99
            );
        }
        if stream {
            let (df, _) = stats(&mut firsts[0]);
            for (k, name) in [(1, "passthrough"), (2, "translated")] {
                let (gf, _) = stats(&mut firsts[k]);
                println!(
                    "{label:<10} first byte {name:<11} p50 {gf:>7.1} µs  added {:>6.1} µs",
                    gf - df
                );
            }
        }
    }
}
