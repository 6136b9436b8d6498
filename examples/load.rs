//! Load generator with its own mock upstream, for `scripts/load.sh`.
//!
//! - `load mock [DELAY_MS]`: serves `POST /v1/responses` as a Responses SSE stream (10 deltas,
//!   DELAY_MS apart, then `response.completed` with usage) on a free loopback port and prints
//!   `mock listening on http://127.0.0.1:PORT/v1`.
//! - `load run URL KEY REQUESTS CONCURRENCY [IDS_FILE]`: sends REQUESTS streaming requests to
//!   `URL/responses` with at most CONCURRENCY in flight, each on its own connection (hyper
//!   client), and prints one JSON line: sent, ok, errors, latency percentiles (ms). A request
//!   is ok when its status is 200 and its stream ends with `response.completed`. IDS_FILE gets
//!   the `x-bifrost-request-id` of every ok request. Every request has a 120 s deadline, so a
//!   run always ends.

use std::convert::Infallible;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

type Boxed = http_body_util::combinators::BoxBody<Bytes, Infallible>;

fn events(delay: Duration) -> impl futures::Stream<Item = Result<Frame<Bytes>, Infallible>> {
    let mut chunks = vec![
        "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r\"}}\n\n"
            .to_string(),
    ];
    for i in 0..10 {
        chunks.push(format!("event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"item_id\":\"m\",\"output_index\":0,\"content_index\":0,\"delta\":\"token{i} \"}}\n\n"));
    }
    chunks.push("event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"r\",\"status\":\"completed\",\"output\":[],\"usage\":{\"input_tokens\":100,\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":10,\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":110}}}\n\n".to_string());
    futures::stream::unfold(
        (chunks.into_iter(), true),
        move |(mut it, first)| async move {
            let next = it.next()?;
            if !first && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Some((Ok(Frame::data(Bytes::from(next))), (it, false)))
        },
    )
}

async fn mock(delay: Duration) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("mock listening on http://{}/v1", listener.local_addr()?);
    std::io::stdout().flush()?;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("mock accept: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| async move {
                let _ = req.into_body().collect().await;
                let body: Boxed = BodyExt::boxed(StreamBody::new(events(delay)));
                Ok::<_, Infallible>(
                    Response::builder()
                        .header("content-type", "text/event-stream")
                        .body(body)
                        .unwrap_or_else(|_| Response::new(BodyExt::boxed(Full::new(Bytes::new())))),
                )
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// One request: Ok((latency, request id)) when it completed.
async fn one(url: &hyper::Uri, key: &str) -> Result<(Duration, String), String> {
    let started = Instant::now();
    let host = url.authority().ok_or("no host")?.as_str().to_string();
    let stream = tokio::net::TcpStream::connect(&host)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(conn);
    let body = r#"{"model":"gpt-5.5","stream":true,"store":false,"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"load"}]}]}"#;
    let req = Request::post(url.clone())
        .header("host", host)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .map_err(|e| e.to_string())?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let status = resp.status();
    let id = resp
        .headers()
        .get("x-bifrost-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    if status != 200 {
        return Err(format!("status {status}"));
    }
    if memchr_find(&bytes, b"\"type\":\"response.completed\"").is_none() {
        return Err("stream did not complete".into());
    }
    Ok((started.elapsed(), id))
}

fn memchr_find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn run(args: &[String]) -> Result<(), String> {
    let [url, key, n, c, rest @ ..] = args else {
        return Err("usage: load run URL KEY REQUESTS CONCURRENCY [IDS_FILE]".into());
    };
    let uri: hyper::Uri = format!("{}/responses", url.trim_end_matches('/'))
        .parse()
        .map_err(|e| format!("url: {e}"))?;
    let n: usize = n.parse().map_err(|e| format!("requests: {e}"))?;
    let c: usize = c.parse().map_err(|e| format!("concurrency: {e}"))?;
    let key = Arc::new(key.clone());
    let sem = Arc::new(tokio::sync::Semaphore::new(c.max(1)));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let permit = sem
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let (uri, key) = (uri.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let r = tokio::time::timeout(Duration::from_secs(120), one(&uri, &key))
                .await
                .unwrap_or_else(|_| Err("timed out".into()));
            drop(permit);
            r
        }));
    }
    let mut lat = Vec::new();
    let mut ids = Vec::new();
    let mut errors: std::collections::BTreeMap<String, usize> = Default::default();
    for t in tasks {
        match t.await {
            Ok(Ok((d, id))) => {
                lat.push(d.as_secs_f64() * 1000.0);
                ids.push(id);
            }
            Ok(Err(e)) => *errors.entry(e).or_default() += 1,
            Err(e) => *errors.entry(format!("task: {e}")).or_default() += 1,
        }
    }
    let wall = started.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    if let Some(path) = rest.first() {
        std::fs::write(path, ids.join("\n")).map_err(|e| format!("{path}: {e}"))?;
    }
    let nerr: usize = errors.values().sum();
    println!(
        "{{\"sent\":{n},\"ok\":{},\"errors\":{nerr},\"error_kinds\":{:?},\"wall_s\":{wall:.2},\"rps\":{:.0},\"p50_ms\":{:.1},\"p90_ms\":{:.1},\"p99_ms\":{:.1},\"max_ms\":{:.1}}}",
        lat.len(),
        format!("{errors:?}"),
        lat.len() as f64 / wall,
        pct(&lat, 0.5),
        pct(&lat, 0.9),
        pct(&lat, 0.99),
        pct(&lat, 1.0),
    );
    Ok(())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("mock") => {
            let ms = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
            mock(Duration::from_millis(ms))
                .await
                .map_err(|e| e.to_string())
        }
        Some("run") => run(&args[1..]).await,
        _ => Err(
            "usage: load mock [DELAY_MS] | load run URL KEY REQUESTS CONCURRENCY [IDS_FILE]".into(),
        ),
    };
    if let Err(e) = result {
        eprintln!("load: {e}");
        std::process::exit(1);
    }
}
