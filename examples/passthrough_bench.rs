//! Passthrough latency: the same Codex request sent directly to a mock upstream and through
//! the gateway, interleaved, on keep-alive connections. Prints medians, p99s and the added
//! latency (gateway minus direct). Run: `cargo run --release --example passthrough_bench`
//! (pin to one CPU with `taskset -c 0` for steadier numbers).

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

async fn upstream(req: Request<Incoming>, sse: Bytes) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let stream = memchr::memmem::find(&body, b"\"stream\":true").is_some();
    let resp = if stream {
        Response::builder()
            .header("content-type", "text/event-stream")
            .body(Full::new(sse))
    } else {
        Response::builder()
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(JSON_REPLY.as_bytes())))
    };
    Ok(resp.unwrap_or_default())
}

async fn start_upstream(sse: Bytes) -> SocketAddr {
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
            let sse = sse.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |r| upstream(r, sse.clone()));
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
    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/codex/request_turn1_gpt55.json"
    ))
    .expect("fixture");
    let mut req: serde_json::Value = serde_json::from_slice(&fixture).expect("json");
    let up = start_upstream(sse_body(events)).await;
    let dir = tempfile::tempdir().expect("tmp");
    let config = bifrost::config::Loaded::from_text(&format!(
        "[providers.openai]\nbase_url = \"http://{up}/v1\"\napi_key = \"sk-bench\"\n"
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
    println!(
        "body: {} bytes (Codex turn-1 request), stream: {events} delta events, rounds: {rounds}",
        fixture.len()
    );
    for stream in [false, true] {
        req["stream"] = serde_json::Value::Bool(stream);
        let body = Bytes::from(serde_json::to_vec(&req).expect("ser"));
        let mut direct = connect(up).await;
        let mut via = connect(gw.addr()).await;
        let (mut d_tot, mut g_tot, mut d_first, mut g_first) = (vec![], vec![], vec![], vec![]);
        for i in 0..(rounds + 300) {
            let (a, b) = if i % 2 == 0 {
                let a = once(&mut direct, "/v1/responses", &body).await;
                (a, once(&mut via, "/openai/v1/responses", &body).await)
            } else {
                let b = once(&mut via, "/openai/v1/responses", &body).await;
                (once(&mut direct, "/v1/responses", &body).await, b)
            };
            if i >= 300 {
                d_first.push(a.0.as_secs_f64() * 1e6);
                d_tot.push(a.1.as_secs_f64() * 1e6);
                g_first.push(b.0.as_secs_f64() * 1e6);
                g_tot.push(b.1.as_secs_f64() * 1e6);
            }
        }
        let (dm, gm) = (pct(&mut d_tot, 50.0), pct(&mut g_tot, 50.0));
        let (d99, g99) = (pct(&mut d_tot, 99.0), pct(&mut g_tot, 99.0));
        println!(
            "{:<13} direct p50 {dm:>7.1} µs p99 {d99:>7.1} | gateway p50 {gm:>7.1} µs p99 {g99:>7.1} | added p50 {:>6.1} µs, p99 {:>6.1} µs",
            if stream { "stream total" } else { "non-stream" },
            gm - dm,
            g99 - d99
        );
        if stream {
            let (df, gf) = (pct(&mut d_first, 50.0), pct(&mut g_first, 50.0));
            println!(
                "{:<13} direct p50 {df:>7.1} µs | gateway p50 {gf:>7.1} µs | added {:>6.1} µs; per event {:.2} µs",
                "stream TTFB",
                gf - df,
                (gm - dm - (gf - df)).max(0.0) / events as f64
            );
        }
    }
}
