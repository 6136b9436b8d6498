//! The benchmark harness behind `scripts/bench.sh` (method and results in BENCHMARKS.md).
//!
//! One binary, several roles:
//! - `bench mock`: the upstream (hyper): OpenAI Responses (JSON or SSE), Anthropic Messages
//!   (JSON or SSE) and Chat Completions (a tool call, then an answer: the MCP scenario).
//!   A request picks its stream length with `mock_events=N` and its pacing with
//!   `mock_interval_ms=N` anywhere in its body (the prompt text survives translation).
//! - `bench floor`: a bare hyper passthrough proxy (header rewrite, bodies streamed both ways,
//!   one upstream connection per client connection): the physical floor.
//! - `bench child`: the child of `bifrost run`; it writes the gateway's URL and key to a file
//!   and waits, so the gateway under test is the one `bifrost run` really starts.
//! - `bench stamp`: prints the Unix time in nanoseconds (launch-to-spawn timing).
//! - `bench run`: the orchestrator: starts everything, runs the scenarios, prints the table.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

type Body = BoxBody<Bytes, Infallible>;

fn opt<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn unix_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// The provider key every target sends the mock: as long as a real OpenAI project key (about
/// 165 characters), so the gateway's key scrubbing costs what it costs in use.
macro_rules! provider_key {
    () => {
        concat!(
            "sk-proj-Bq7cX2nV9mK4tR8wL1yH6pZ3sD5fG0jA2eU7iO9kM4nB1vC6xZ8aQ3wE5rT7yU0iP2oL4kJ6hG8fD1",
            "sA3zX5cV7bN9mQ2wE4rT6yU8iO0pA2sD4fG6hJ8kL0zX2cV4bN6mQ8wE0rT2yU4iO6pA8sD0fG2hJ4kL6"
        )
    };
}
const PROVIDER_KEY: &str = provider_key!();
const PROVIDER_AUTH: &str = concat!("Bearer ", provider_key!());

fn runtime(workers: usize) -> tokio::runtime::Runtime {
    if workers == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .expect("runtime")
    }
}

/// The floor's runtime: its threads take the same scheduling hint as the gateway's request
/// threads ([`bifrost::sched::latency_sensitive`]), so the two are compared like for like.
fn floor_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(bifrost::sched::latency_sensitive)
        .build()
        .expect("runtime")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("mock") => runtime(2).block_on(mock_main(&args[1..])),
        Some("floor") => floor_runtime().block_on(floor_main(&args[1..])),
        Some("child") => child_main(&args[1..]),
        Some("stamp") => println!("{}", unix_ns()),
        Some("run") => run_main(&args[1..]),
        _ => {
            eprintln!("usage: bench mock|floor|child|stamp|run [options] (see scripts/bench.sh)");
            std::process::exit(2);
        }
    }
}

async fn write_port_file(path: &str, addr: SocketAddr) {
    let tmp = format!("{path}.tmp");
    std::fs::write(&tmp, addr.port().to_string()).expect("port file");
    std::fs::rename(&tmp, path).expect("port file");
}

// ------------------------------------------------------------------------------ mock

fn marker(body: &[u8], name: &[u8]) -> Option<u64> {
    let at = memchr::memmem::find(body, name)? + name.len();
    let digits: Vec<u8> = body[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

fn responses_events(n: usize) -> Vec<Bytes> {
    let mut v = vec![Bytes::from_static(
        b"event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"in_progress\",\"model\":\"gpt-5.5\",\"output\":[]}}\n\n",
    )];
    for i in 0..n {
        v.push(Bytes::from(format!(
            "event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"token{i} \"}}\n\n"
        )));
    }
    v.push(Bytes::from_static(b"event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{\"type\":\"message\",\"id\":\"msg_1\",\"role\":\"assistant\",\"status\":\"completed\",\"content\":[{\"type\":\"output_text\",\"text\":\"x\",\"annotations\":[]}]}}\n\n"));
    v.push(Bytes::from_static(b"event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\",\"model\":\"gpt-5.5\",\"output\":[],\"usage\":{\"input_tokens\":5000,\"input_tokens_details\":{\"cached_tokens\":4000},\"output_tokens\":50,\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":5050}}}\n\n"));
    v
}

fn anthropic_events(n: usize) -> Vec<Bytes> {
    let mut v = vec![
        Bytes::from_static(b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":1000,\"cache_read_input_tokens\":4000,\"cache_creation_input_tokens\":0,\"output_tokens\":1}}}\n\n"),
        Bytes::from_static(b"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"),
    ];
    for i in 0..n {
        v.push(Bytes::from(format!("event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"token{i} \"}}}}\n\n")));
    }
    v.push(Bytes::from_static(
        b"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    ));
    v.push(Bytes::from_static(b"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":50}}\n\n"));
    v.push(Bytes::from_static(
        b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    ));
    v
}

const RESPONSES_JSON: &str = r#"{"id":"resp_1","object":"response","status":"completed","model":"gpt-5.5","output":[{"type":"message","id":"msg_1","role":"assistant","status":"completed","content":[{"type":"output_text","text":"Hello from the mock upstream.","annotations":[]}]}],"usage":{"input_tokens":5000,"input_tokens_details":{"cached_tokens":4000},"output_tokens":12,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":5012}}"#;
const ANTHROPIC_JSON: &str = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello from the mock upstream."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1000,"cache_read_input_tokens":4000,"cache_creation_input_tokens":0,"output_tokens":12}}"#;
const CHAT_ANSWER: &str = r#"{"id":"chatcmpl-2","object":"chat.completion","created":1,"model":"gpt-5.5","choices":[{"index":0,"message":{"role":"assistant","content":"The tool said ok."},"finish_reason":"stop"}],"usage":{"prompt_tokens":5000,"completion_tokens":6,"total_tokens":5006}}"#;

fn chat_tool_call(name: &str) -> String {
    format!(
        r#"{{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-5.5","choices":[{{"index":0,"message":{{"role":"assistant","content":null,"tool_calls":[{{"id":"call_1","type":"function","function":{{"name":"{name}","arguments":"{{}}"}}}}]}},"finish_reason":"tool_calls"}}],"usage":{{"prompt_tokens":5000,"completion_tokens":6,"total_tokens":5006}}}}"#
    )
}

/// The injected tool's name as the gateway declared it (ends in `__ok`).
fn tool_name(body: &[u8]) -> String {
    memchr::memmem::find(body, b"__ok\"")
        .and_then(|end| {
            let start = memchr::memrchr(b'"', &body[..end])? + 1;
            std::str::from_utf8(&body[start..end + 4]).ok()
        })
        .unwrap_or("faults__ok")
        .to_string()
}

type Cache = Arc<Mutex<HashMap<(bool, usize), Arc<Vec<Bytes>>>>>;

fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).boxed()
}

async fn mock(
    req: Request<Incoming>,
    cache: Cache,
    latency: Duration,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let stream = memchr::memmem::find(&body, b"\"stream\":true").is_some()
        || memchr::memmem::find(&body, b"\"stream\": true").is_some();
    let events = marker(&body, b"mock_events=").unwrap_or(50) as usize;
    let interval = Duration::from_millis(marker(&body, b"mock_interval_ms=").unwrap_or(0));
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let anthropic = path.ends_with("/messages");
    let (ct, out): (&str, Body) = if path.ends_with("/chat/completions") {
        let done = memchr::memmem::find(&body, b"\"role\":\"tool\"").is_some();
        let reply = if done {
            CHAT_ANSWER.to_string()
        } else {
            chat_tool_call(&tool_name(&body))
        };
        ("application/json", full(reply))
    } else if !stream {
        let json = if anthropic {
            ANTHROPIC_JSON
        } else {
            RESPONSES_JSON
        };
        ("application/json", full(json))
    } else {
        let evs = {
            let mut c = cache.lock().unwrap_or_else(|e| e.into_inner());
            c.entry((anthropic, events))
                .or_insert_with(|| {
                    Arc::new(if anthropic {
                        anthropic_events(events)
                    } else {
                        responses_events(events)
                    })
                })
                .clone()
        };
        let body = if interval.is_zero() {
            let frames: Vec<Result<Frame<Bytes>, Infallible>> =
                evs.iter().cloned().map(|b| Ok(Frame::data(b))).collect();
            StreamBody::new(futures::stream::iter(frames)).boxed()
        } else {
            let s = futures::stream::unfold(0usize, move |i| {
                let evs = evs.clone();
                async move {
                    if i >= evs.len() {
                        return None;
                    }
                    if i > 0 {
                        tokio::time::sleep(interval).await;
                    }
                    Some((Ok::<_, Infallible>(Frame::data(evs[i].clone())), i + 1))
                }
            });
            StreamBody::new(s).boxed()
        };
        ("text/event-stream", body)
    };
    Ok(Response::builder()
        .header("content-type", ct)
        .body(out)
        .unwrap_or_else(|_| Response::new(full(""))))
}

async fn mock_main(args: &[String]) {
    let latency = Duration::from_micros(
        opt(args, "--latency-us")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    write_port_file(
        opt(args, "--port-file").expect("--port-file"),
        listener.local_addr().expect("addr"),
    )
    .await;
    let cache: Cache = Arc::default();
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let cache = cache.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |r| mock(r, cache.clone(), latency));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), svc)
                .await;
        });
    }
}

// ------------------------------------------------------------------------------ floor

type UpConn = Arc<tokio::sync::Mutex<Option<hyper::client::conn::http1::SendRequest<Incoming>>>>;

async fn forward(
    req: Request<Incoming>,
    up: UpConn,
    upstream: SocketAddr,
) -> Result<Response<BoxBody<Bytes, hyper::Error>>, Infallible> {
    let bad = |msg: String| {
        let mut r = Response::new(
            Full::new(Bytes::from(msg))
                .map_err(|never| match never {})
                .boxed(),
        );
        *r.status_mut() = hyper::StatusCode::BAD_GATEWAY;
        Ok(r)
    };
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path();
    let path = path.strip_prefix("/openai").unwrap_or(path).to_string();
    parts.uri = match path.parse() {
        Ok(u) => u,
        Err(e) => return bad(e.to_string()),
    };
    let h = &mut parts.headers;
    h.insert(
        hyper::header::HOST,
        hyper::header::HeaderValue::from_str(&upstream.to_string())
            .unwrap_or(hyper::header::HeaderValue::from_static("localhost")),
    );
    h.insert(
        hyper::header::AUTHORIZATION,
        hyper::header::HeaderValue::from_static(PROVIDER_AUTH),
    );
    let mut guard = up.lock().await;
    if guard.as_ref().is_none_or(|s| s.is_closed()) {
        let tcp = match tokio::net::TcpStream::connect(upstream).await {
            Ok(t) => t,
            Err(e) => return bad(e.to_string()),
        };
        let _ = tcp.set_nodelay(true);
        let (send, conn) = match hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await {
            Ok(x) => x,
            Err(e) => return bad(e.to_string()),
        };
        tokio::spawn(conn);
        *guard = Some(send);
    }
    let Some(send) = guard.as_mut() else {
        return bad("no upstream connection".into());
    };
    if let Err(e) = send.ready().await {
        return bad(e.to_string());
    }
    match send.send_request(Request::from_parts(parts, body)).await {
        Ok(resp) => Ok(resp.map(|b| b.boxed())),
        Err(e) => bad(e.to_string()),
    }
}

async fn floor_main(args: &[String]) {
    let upstream: SocketAddr = opt(args, "--upstream")
        .expect("--upstream")
        .parse()
        .expect("addr");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    write_port_file(
        opt(args, "--port-file").expect("--port-file"),
        listener.local_addr().expect("addr"),
    )
    .await;
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        tokio::spawn(async move {
            let up: UpConn = Arc::default();
            let svc = service_fn(move |r| forward(r, up.clone(), upstream));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), svc)
                .await;
        });
    }
}

// ------------------------------------------------------------------------------ child

fn child_main(args: &[String]) {
    let path = opt(args, "--info").expect("--info");
    let url = std::env::var("OPENAI_BASE_URL").unwrap_or_default();
    let key = std::env::var("OPENAI_API_KEY").unwrap_or_default();
    let tmp = format!("{path}.tmp");
    std::fs::write(&tmp, format!("{url}\n{key}\n")).expect("info");
    std::fs::rename(&tmp, path).expect("info");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

// ------------------------------------------------------------------------------ client

struct Conn {
    send: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

async fn connect(addr: SocketAddr) -> std::io::Result<Conn> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(conn);
    Ok(Conn { send })
}

/// One system under test, as a client sees it.
#[derive(Clone)]
struct Target {
    name: &'static str,
    addr: SocketAddr,
    path: &'static str,
    headers: Vec<(String, String)>,
    /// Which body variant it gets: 0 = OpenAI model, 1 = Anthropic model (translated),
    /// 2 = OpenAI model with nothing repeated from the request before ([`unrepeated`]).
    variant: usize,
}

impl Target {
    fn request(&self, body: &Bytes) -> Request<Full<Bytes>> {
        let mut b = Request::post(self.path)
            .header("host", self.addr.to_string())
            .header("content-type", "application/json");
        for (k, v) in &self.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        b.body(Full::new(body.clone())).expect("request")
    }
}

/// Sends one request and reads the whole answer: (time to first body byte, total, bytes).
async fn once(
    c: &mut Conn,
    t: &Target,
    body: &Bytes,
) -> Result<(Duration, Duration, usize), String> {
    let req = t.request(body);
    let t0 = Instant::now();
    c.send.ready().await.map_err(|e| e.to_string())?;
    let resp = c.send.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let mut b = resp.into_body();
    let mut first = None;
    let mut n = 0;
    while let Some(frame) = b.frame().await {
        let frame = frame.map_err(|e| e.to_string())?;
        if let Some(d) = frame.data_ref() {
            first.get_or_insert_with(|| t0.elapsed());
            n += d.len();
        }
    }
    let total = t0.elapsed();
    if !status.is_success() {
        return Err(format!("{}: HTTP {status}", t.name));
    }
    Ok((first.unwrap_or(total), total, n))
}

fn pct(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((p / 100.0) * s.len() as f64)
        .ceil()
        .clamp(1.0, s.len() as f64) as usize
        - 1]
}

// ------------------------------------------------------------------------------ orchestrator

struct Procs {
    children: Vec<(String, Child)>,
}

impl Procs {
    fn pid(&self, name: &str) -> Option<u32> {
        self.children
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.id())
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for (_, c) in &mut self.children {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for (_, c) in &mut self.children {
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait_file(path: &Path, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(s) = std::fs::read_to_string(path) {
            return s;
        }
        assert!(Instant::now() < deadline, "{what} did not start in 30 s");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_port(addr: SocketAddr, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen in 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn proc_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU ticks (user + system) of a process, or of its thread named `thread`.
fn cpu_ticks(pid: u32, thread: Option<&str>) -> u64 {
    let stat = |p: &str| -> u64 {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|s| {
                let rest = s.rsplit_once(')')?.1.to_string();
                let f: Vec<&str> = rest.split_whitespace().collect();
                Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
            })
            .unwrap_or(0)
    };
    match thread {
        None => stat(&format!("/proc/{pid}/stat")),
        Some(name) => std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|d| {
                d.flatten()
                    .filter(|e| {
                        std::fs::read_to_string(e.path().join("comm"))
                            .is_ok_and(|c| c.trim() == name)
                    })
                    .map(|e| stat(&e.path().join("stat").display().to_string()))
                    .sum()
            })
            .unwrap_or(0),
    }
}

/// Pins every thread of the given processes (and this one) to `cpus`.
fn pin(pids: &[u32], cpus: &str) {
    for pid in pids
        .iter()
        .copied()
        .chain(std::iter::once(std::process::id()))
    {
        let _ = Command::new("taskset")
            .args(["-a", "-p", "-c", cpus, &pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

struct Cfg {
    smoke: bool,
    bifrost: PathBuf,
    work: PathBuf,
    peer: Option<PathBuf>,
    baseline: Option<PathBuf>,
    me: PathBuf,
}

/// Marks the six digits [`numbered`] rewrites in a body's last message.
const TURN: &str = "turn=";

/// `body` with its turn number set to `n` (at every mark). A Codex session's next request
/// repeats the last one and adds new items at the end; so each request here differs from the
/// one before at its end, and the gateway's store cannot skip writing what a real session
/// makes it write.
fn numbered(body: &Bytes, n: u64) -> Bytes {
    let marks: Vec<usize> = memchr::memmem::find_iter(body, TURN.as_bytes()).collect();
    if marks.is_empty() {
        return body.clone();
    }
    let mut b = body.to_vec();
    let digits = format!("{:06}", n % 1_000_000);
    for at in marks {
        let start = at + TURN.len();
        b[start..start + 6].copy_from_slice(digits.as_bytes());
    }
    Bytes::from(b)
}

/// `body` with the turn number also at the start of its first message and of its first
/// tool's description: each request then differs from the one before near the start of
/// every large value, so the gateway's scan memo (`gateway/scan/memo.rs`) finds nothing to
/// reuse, as for a client whose requests share nothing.
fn unrepeated(body: &Bytes) -> Bytes {
    let mut req: serde_json::Value = serde_json::from_slice(body).expect("json");
    let mark = |v: &mut serde_json::Value| {
        let text = v.as_str().unwrap_or_default();
        *v = serde_json::json!(format!("{TURN}000000 {text}"));
    };
    mark(&mut req["input"][0]["content"][0]["text"]);
    mark(&mut req["tools"][0]["description"]);
    Bytes::from(serde_json::to_vec(&req).expect("ser"))
}

fn codex_body(model: &str, stream: bool, events: usize, interval_ms: u64) -> Bytes {
    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/codex/request_turn1_gpt55.json"
    ))
    .expect("fixture");
    let mut req: serde_json::Value = serde_json::from_slice(&fixture).expect("json");
    req["model"] = serde_json::json!(model);
    req["stream"] = serde_json::json!(stream);
    // The fixture's own words, to write earlier turns from.
    let text = req["input"].to_string();
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let input = req["input"].as_array_mut().expect("input");
    // Earlier turns, as a long session has: pad to ~50 KB. Each turn's text is the fixture's
    // words in a pseudo-random order (fixed seed): prose-like, never periodic, so the store's
    // content-defined chunking meets text like a real session's.
    let mut turn = 0;
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    while input.iter().map(|v| v.to_string().len()).sum::<usize>() < 30 * 1024 {
        turn += 1;
        let (role, kind) = if turn % 2 == 0 {
            ("user", "input_text")
        } else {
            ("assistant", "output_text")
        };
        let mut said = format!("Earlier turn {turn} of the session:");
        for _ in 0..90 {
            said.push(' ');
            said.push_str(words[(xorshift(&mut seed) % words.len() as u64) as usize]);
        }
        input.push(serde_json::json!({"type": "message", "role": role,
            "content": [{"type": kind, "text": said}]}));
    }
    input.push(serde_json::json!({"type": "message", "role": "user",
        "content": [{"type": "input_text", "text": format!("Go on. {TURN}000000 mock_events={events} mock_interval_ms={interval_ms}")}]}));
    Bytes::from(serde_json::to_vec(&req).expect("ser"))
}

/// The next number of a xorshift64 sequence (never 0 from a nonzero seed).
fn xorshift(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// `0..n` in a pseudo-random order (Fisher–Yates).
fn shuffled(n: usize, seed: &mut u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, (xorshift(seed) % (i as u64 + 1)) as usize);
    }
    order
}

fn spawn(cfg: &Cfg, name: &str, mut cmd: Command, procs: &mut Procs) {
    let log = std::fs::File::create(cfg.work.join(format!("{name}.log"))).expect("log");
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log);
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    procs.children.push((name.to_string(), child));
}

/// Starts `bifrost run -- bench child` with `config`; returns (address, key).
fn start_gateway(
    cfg: &Cfg,
    bin: &Path,
    name: &str,
    config: &str,
    procs: &mut Procs,
) -> (SocketAddr, String) {
    let dir = cfg.work.join(name);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("config.toml"), config).expect("config");
    let info = dir.join("info");
    let mut cmd = Command::new(bin);
    cmd.env("BIFROST_HOME", dir.join("home"))
        .env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("GEMINI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .arg("--config")
        .arg(dir.join("config.toml"))
        .args(["--summary", "none", "run", "--"])
        .arg(&cfg.me)
        .arg("child")
        .arg("--info")
        .arg(&info);
    spawn(cfg, name, cmd, procs);
    let text = wait_file(&info, name);
    let mut lines = text.lines();
    let url = lines.next().unwrap_or_default();
    let key = lines.next().unwrap_or_default().to_string();
    let hostport = url
        .strip_prefix("http://")
        .and_then(|s| s.split('/').next())
        .expect("gateway url");
    (hostport.parse().expect("gateway addr"), key)
}

#[derive(Default)]
struct Report {
    lines: Vec<String>,
}

impl Report {
    fn line(&mut self, s: impl Into<String>) {
        let s = s.into();
        println!("{s}");
        self.lines.push(s);
    }

    /// A section: its heading, then a table's header row (`| a | b |`) and the rule under it.
    fn table(&mut self, heading: impl Into<String>, header: &str) {
        self.line(String::new());
        self.line(heading);
        self.line(String::new());
        self.line(header);
        let columns = header.matches('|').count().saturating_sub(1);
        self.line(format!("|{}", "---|".repeat(columns)));
    }
}

struct Sample {
    ttfb: Vec<f64>,
    total: Vec<f64>,
}

/// Interleaved sequential rounds; each target on its own keep-alive connection. Stops early
/// (after at least a tenth of the rounds) when `budget` has passed, so a slow peer cannot
/// stretch the run.
/// Each round's added time: a target's sample minus the direct call's from the same round
/// (rounds are aligned: every target runs once per round). The p99 of these is steadier than
/// the difference of two p99s, which one slow direct call in the tail can cancel out.
fn paired(target: &[f64], direct: &[f64]) -> Vec<f64> {
    target.iter().zip(direct).map(|(t, d)| t - d).collect()
}

async fn latency(
    targets: &[Target],
    bodies: &[Bytes],
    warmup: usize,
    rounds: usize,
    budget: Duration,
) -> Vec<Sample> {
    let started = Instant::now();
    let mut conns = Vec::new();
    for t in targets {
        conns.push(connect(t.addr).await.expect("connect"));
    }
    let mut out: Vec<Sample> = targets
        .iter()
        .map(|_| Sample {
            ttfb: vec![],
            total: vec![],
        })
        .collect();
    // Each round in its own shuffled order (fixed seed): a rotating order would give every
    // target the same predecessor in nearly every round, and what ran just before (Portkey's
    // large heap, or another process of the same binary) warms or cools the caches.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..warmup + rounds {
        if i >= warmup + rounds / 10 && started.elapsed() > budget {
            break;
        }
        // Every target gets the same new turn in a round.
        let turn: Vec<Bytes> = bodies.iter().map(|b| numbered(b, i as u64)).collect();
        for which in shuffled(targets.len(), &mut seed) {
            let t = &targets[which];
            let r = once(&mut conns[which], t, &turn[t.variant])
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", t.name));
            if i >= warmup {
                out[which].ttfb.push(r.0.as_secs_f64() * 1e6);
                out[which].total.push(r.1.as_secs_f64() * 1e6);
            }
        }
    }
    out
}

/// Closed-loop load: `conns` keep-alive connections for `secs`; returns (requests/s, errors).
async fn load(t: &Target, body: &Bytes, conns: usize, secs: f64) -> (f64, u64) {
    let ok = Arc::new(AtomicU64::new(0));
    let err = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for task in 0..conns {
        let (t, body, ok, err) = (t.clone(), body.clone(), ok.clone(), err.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = None;
            let mut turn = task as u64 * 10_000;
            while Instant::now() < deadline {
                turn += 1;
                let body = numbered(&body, turn);
                if c.is_none() {
                    match connect(t.addr).await {
                        Ok(x) => c = Some(x),
                        Err(_) => {
                            err.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    }
                }
                let Some(conn) = c.as_mut() else { continue };
                match once(conn, &t, &body).await {
                    Ok((_, _, n)) if n > 0 => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        err.fetch_add(1, Ordering::Relaxed);
                        c = None;
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let el = start.elapsed().as_secs_f64();
    (
        ok.load(Ordering::Relaxed) as f64 / el,
        err.load(Ordering::Relaxed),
    )
}

/// Opens `n` streams at once and samples the target's RSS while all are open.
async fn concurrent_streams(t: &Target, body: &Bytes, n: usize, pid: u32) -> (u64, u64, usize) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<bool>(n);
    let release = Arc::new(tokio::sync::Notify::new());
    let mut tasks = Vec::new();
    for i in 0..n {
        let (t, body, tx, release) = (t.clone(), body.clone(), tx.clone(), release.clone());
        if i % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tasks.push(tokio::spawn(async move {
            let Ok(mut c) = connect(t.addr).await else {
                let _ = tx.send(false).await;
                return;
            };
            let req = t.request(&body);
            let Ok(resp) = c.send.send_request(req).await else {
                let _ = tx.send(false).await;
                return;
            };
            let mut b = resp.into_body();
            let first = b.frame().await.is_some_and(|f| f.is_ok());
            let _ = tx.send(first).await;
            release.notified().await;
        }));
    }
    drop(tx);
    let mut open = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    for _ in 0..n {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(true)) => open += 1,
            Ok(Some(false)) => {}
            _ => break,
        }
    }
    let mut rss = 0;
    for _ in 0..5 {
        rss = rss.max(proc_kb(pid, "VmRSS:"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let hwm = proc_kb(pid, "VmHWM:");
    release.notify_waiters();
    for t in tasks {
        t.abort();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    (rss, hwm, open)
}

/// Memory at N concurrent streams: VmRSS while all are open, and each process's VmHWM.
fn memory(rep: &mut Report, mrt: &tokio::runtime::Runtime, targets: &[(Target, u32)], smoke: bool) {
    let n = if smoke { 20 } else { 1000 };
    rep.table(format!(
        "## Memory at {n} concurrent streams (each 100 events, {} ms apart; sampled while all are open)",
        if smoke { 10 } else { 50 }
    ), "| process | streams open | VmRSS | VmHWM (life) |");
    let slow = codex_body("gpt-5.5", true, 100, if smoke { 10 } else { 50 });
    for (t, p) in targets {
        let (rss, hwm, open) = mrt.block_on(concurrent_streams(t, &slow, n, *p));
        rep.line(format!(
            "| {} | {open} | {:.1} MB | {:.1} MB |",
            t.name,
            rss as f64 / 1024.0,
            hwm as f64 / 1024.0
        ));
        assert!(
            !smoke || open == n,
            "{}: only {open}/{n} streams opened",
            t.name
        );
    }
}

/// A direct MCP `tools/call` of the fault server's `ok` tool over stdio, timed.
struct Tool {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
    id: u64,
}

impl Tool {
    fn start() -> Tool {
        let mut child = Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/mcp/fault_server.py"
            ))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 fault_server.py");
        let out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut t = Tool { child, out, id: 0 };
        t.rpc("initialize", r#"{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}"#);
        t.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        t
    }

    fn send(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        stdin.write_all(line.as_bytes()).expect("write");
        stdin.write_all(b"\n").expect("write");
        stdin.flush().expect("flush");
    }

    fn rpc(&mut self, method: &str, params: &str) -> Duration {
        self.id += 1;
        let msg = format!(
            r#"{{"jsonrpc":"2.0","id":{},"method":"{method}","params":{params}}}"#,
            self.id
        );
        let t0 = Instant::now();
        self.send(&msg);
        let mut line = String::new();
        self.out.read_line(&mut line).expect("read");
        t0.elapsed()
    }
}

impl Drop for Tool {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() {
        format!("{:.2}×", a / b)
    } else {
        "n/a".into()
    }
}

/// The closed-loop sweep on both CPUs: best requests/s at zero errors per target, as a ratio
/// to the floor's.
fn throughput(
    rep: &mut Report,
    mrt: &tokio::runtime::Runtime,
    tput_targets: &[Target],
    smoke: bool,
) {
    let levels: Vec<usize> = if smoke { vec![2] } else { vec![1, 4, 16, 64] };
    let secs = if smoke { 0.3 } else { 3.0 };
    rep.table(format!(
        "## Throughput (closed loop, keep-alive, {secs} s per level, connections {levels:?}, targets interleaved at each level; load generator, mock and target share the 2 CPUs)"
    ), "| target | mode | best req/s at zero errors | at connections | ×floor | errors (all levels) |");
    for (mode, stream) in [("non-streaming", false), ("streaming, 50 events", true)] {
        let body = codex_body("gpt-5.5", stream, 50, 0);
        // Levels outside, targets inside in an order that rotates from level to level: a
        // drift of the machine during the sweep (the writer's backlog, another tenant) then
        // falls on every target alike instead of on whichever ran last.
        let mut best = vec![(0.0, 0); tput_targets.len()];
        let mut errors = vec![0; tput_targets.len()];
        for (round, &c) in levels.iter().enumerate() {
            for k in 0..tput_targets.len() {
                let i = (k + round) % tput_targets.len();
                let (rps, e) = mrt.block_on(load(&tput_targets[i], &body, c, secs));
                errors[i] += e;
                if e == 0 && rps > best[i].0 {
                    best[i] = (rps, c);
                }
            }
        }
        let floor_best = tput_targets
            .iter()
            .position(|t| t.name == "floor")
            .map_or(f64::NAN, |i| best[i].0);
        for (i, t) in tput_targets.iter().enumerate() {
            rep.line(format!(
                "| {} | {mode} | {:.0} | {} | {} | {} |",
                t.name,
                best[i].0,
                best[i].1,
                if t.name == "direct" {
                    "—".into()
                } else {
                    ratio(best[i].0, floor_best)
                },
                errors[i]
            ));
            assert!(
                !smoke || errors[i] == 0,
                "{}: {} errors under load",
                t.name,
                errors[i]
            );
        }
    }
}

fn run_main(args: &[String]) {
    let smoke = args.iter().any(|a| a == "--smoke");
    // `--only latency|memory|throughput`: one section alone, for iterating.
    let only_latency = opt(args, "--only") == Some("latency");
    let only_memory = opt(args, "--only") == Some("memory");
    let only_throughput = opt(args, "--only") == Some("throughput");
    let me = std::env::current_exe().expect("exe");
    let work = PathBuf::from(opt(args, "--work").unwrap_or("target/bench-work"));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("work dir");
    let peer = opt(args, "--peer")
        .map(PathBuf::from)
        .filter(|p| p.join("build/start-server.js").exists());
    let cfg = Cfg {
        smoke,
        bifrost: PathBuf::from(opt(args, "--bifrost").expect("--bifrost")),
        work: work.canonicalize().expect("work"),
        peer,
        baseline: opt(args, "--baseline").map(PathBuf::from),
        me,
    };
    let mut rep = Report::default();
    let mut procs = Procs { children: vec![] };

    // --- start everything
    let mut cmd = Command::new(&cfg.me);
    cmd.arg("mock")
        .arg("--port-file")
        .arg(cfg.work.join("mock.port"));
    spawn(&cfg, "mock", cmd, &mut procs);
    let mock_port: u16 = wait_file(&cfg.work.join("mock.port"), "mock")
        .trim()
        .parse()
        .expect("port");
    let mock_addr = SocketAddr::from(([127, 0, 0, 1], mock_port));
    let mut cmd = Command::new(&cfg.me);
    cmd.arg("floor")
        .arg("--upstream")
        .arg(mock_addr.to_string())
        .arg("--port-file")
        .arg(cfg.work.join("floor.port"));
    spawn(&cfg, "floor", cmd, &mut procs);
    let floor_port: u16 = wait_file(&cfg.work.join("floor.port"), "floor")
        .trim()
        .parse()
        .expect("port");
    let base = format!(
        "[providers.openai]\nbase_url = \"http://{mock_addr}/v1\"\napi_key = \"{PROVIDER_KEY}\"\n[providers.anthropic]\nbase_url = \"http://{mock_addr}/v1\"\napi_key = \"{PROVIDER_KEY}\"\n"
    );
    let (gw_addr, gw_key) = start_gateway(&cfg, &cfg.bifrost, "gateway", &base, &mut procs);
    let before = cfg
        .baseline
        .as_ref()
        .map(|b| start_gateway(&cfg, b, "gateway-before", &base, &mut procs));
    let (nocap_addr, nocap_key) = start_gateway(
        &cfg,
        &cfg.bifrost,
        "gateway-nocapture",
        &format!("{base}[logs]\ncapture_bodies = false\n"),
        &mut procs,
    );
    // The translated target gets its own gateway process, so that "gateway" and "gateway,
    // capture off" differ only in capture (not in also serving translations).
    let (tr_addr, tr_key) =
        start_gateway(&cfg, &cfg.bifrost, "gateway-translated", &base, &mut procs);
    let peer_addr = cfg.peer.as_ref().map(|dir| {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut cmd = Command::new("node");
        cmd.arg(dir.join("build/start-server.js"))
            .arg(format!("--port={port}"))
            .arg("--headless")
            .env("NODE_ENV", "production");
        spawn(&cfg, "peer", cmd, &mut procs);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        wait_port(addr, "peer (Portkey)");
        addr
    });

    let bearer = |k: &str| vec![("authorization".to_string(), format!("Bearer {k}"))];
    let direct = Target {
        name: "direct",
        addr: mock_addr,
        path: "/v1/responses",
        headers: bearer(PROVIDER_KEY),
        variant: 0,
    };
    let floor = Target {
        name: "floor",
        addr: SocketAddr::from(([127, 0, 0, 1], floor_port)),
        path: "/openai/v1/responses",
        headers: bearer("bench"),
        variant: 0,
    };
    let gw = Target {
        name: "gateway",
        addr: gw_addr,
        path: "/openai/v1/responses",
        headers: bearer(&gw_key),
        variant: 0,
    };
    let unrepeated_t = Target {
        name: "gateway, nothing repeated",
        variant: 2,
        ..gw.clone()
    };
    let nocap = Target {
        name: "gateway, capture off",
        addr: nocap_addr,
        path: "/openai/v1/responses",
        headers: bearer(&nocap_key),
        variant: 0,
    };
    let translated = Target {
        name: "gateway → Anthropic",
        addr: tr_addr,
        path: "/openai/v1/responses",
        headers: bearer(&tr_key),
        variant: 1,
    };
    let before_t = before.as_ref().map(|(addr, key)| Target {
        name: "gateway, before optimisation",
        addr: *addr,
        path: "/openai/v1/responses",
        headers: bearer(key),
        variant: 0,
    });
    let before_tr = before_t.as_ref().map(|t| Target {
        name: "→ Anthropic, before optimisation",
        variant: 1,
        ..t.clone()
    });
    let peer = peer_addr.map(|addr| Target {
        name: "Portkey",
        addr,
        path: "/v1/responses",
        headers: vec![
            ("authorization".into(), PROVIDER_AUTH.into()),
            ("x-portkey-provider".into(), "openai".into()),
            (
                "x-portkey-custom-host".into(),
                format!("http://{mock_addr}/v1"),
            ),
        ],
        variant: 0,
    });
    let pid = |n: &str| procs.pid(n).unwrap_or(0);
    let (gw_pid, nocap_pid, floor_pid, peer_pid, mock_pid) = (
        pid("gateway"),
        pid("gateway-nocapture"),
        pid("floor"),
        pid("peer"),
        pid("mock"),
    );
    std::thread::sleep(Duration::from_millis(if smoke { 200 } else { 2000 }));

    rep.line(format!(
        "bifrost benchmark ({}), body {} bytes (Codex turn-1 request + earlier turns)",
        if smoke {
            "SMOKE: counts, not timings"
        } else {
            "full"
        },
        codex_body("gpt-5.5", false, 50, 0).len()
    ));
    rep.table(
        "## Memory, idle (VmRSS after start-up, before any request)",
        "| process | VmRSS |",
    );
    for (n, p) in [
        ("floor (bare hyper)", floor_pid),
        ("gateway (`bifrost run`)", gw_pid),
        ("gateway, before optimisation", pid("gateway-before")),
        ("Portkey (node)", peer_pid),
    ] {
        if p != 0 {
            rep.line(format!(
                "| {n} | {:.1} MB |",
                proc_kb(p, "VmRSS:") as f64 / 1024.0
            ));
        }
    }

    let before_pid = pid("gateway-before");
    let tr_pid = pid("gateway-translated");
    let all_pids: Vec<u32> = [
        mock_pid, floor_pid, gw_pid, nocap_pid, tr_pid, peer_pid, before_pid,
    ]
    .into_iter()
    .filter(|p| *p != 0)
    .collect();
    let rt = runtime(0);

    let mut tput_targets = vec![direct.clone(), floor.clone(), gw.clone()];
    tput_targets.extend(before_t.clone());
    tput_targets.extend(peer.clone());
    if only_throughput {
        throughput(&mut rep, &runtime(2), &tput_targets, smoke);
        std::fs::write(cfg.work.join("report.md"), rep.lines.join("\n") + "\n").expect("report");
        return;
    }

    if only_memory {
        let mut targets = vec![(floor.clone(), floor_pid), (gw.clone(), gw_pid)];
        targets.extend(peer.clone().map(|p| (p, peer_pid)));
        memory(&mut rep, &runtime(2), &targets, smoke);
        std::fs::write(cfg.work.join("report.md"), rep.lines.join("\n") + "\n").expect("report");
        return;
    }

    // --- latency, pinned to one CPU
    pin(&all_pids, "1");
    let mut targets = vec![
        direct.clone(),
        floor.clone(),
        gw.clone(),
        unrepeated_t.clone(),
        nocap.clone(),
        translated.clone(),
    ];
    targets.extend(before_t.clone());
    targets.extend(before_tr.clone());
    targets.extend(peer.clone());
    let scale = |full: usize, small: usize| if smoke { small } else { full };
    let mut summary: HashMap<(&'static str, &'static str), (f64, f64, f64)> = HashMap::new();
    for (label, stream, events, warm, rounds) in [
        ("non-streaming", false, 0, scale(300, 3), scale(3000, 10)),
        (
            "streaming, 50 events",
            true,
            50,
            scale(100, 2),
            scale(1500, 5),
        ),
        (
            "streaming, 500 events",
            true,
            500,
            scale(50, 1),
            scale(400, 3),
        ),
    ] {
        let plain = codex_body("gpt-5.5", stream, events, 0);
        let bodies = [
            plain.clone(),
            codex_body("anthropic/claude-sonnet-4-5", stream, events, 0),
            unrepeated(&plain),
        ];
        let budget = Duration::from_secs(if smoke { 10 } else { 45 });
        let s = rt.block_on(latency(&targets, &bodies, warm, rounds, budget));
        let rounds = s[0].total.len();
        let d50 = pct(&s[0].total, 50.0);
        let d99 = pct(&s[0].total, 99.0);
        let df = pct(&s[0].ttfb, 50.0);
        let f_add = pct(&s[1].total, 50.0) - d50;
        let f_add99 = pct(&s[1].total, 99.0) - d99;
        let f_ttfb = pct(&s[1].ttfb, 50.0) - df;
        let f_paired99 = pct(&paired(&s[1].total, &s[0].total), 99.0);
        rep.table(format!(
            "## Latency, {label} ({rounds} interleaved rounds after {warm} warm-up, one request in flight, all processes on CPU 1)"
        ), "| target | p50 | p99 | added p50 | ×floor | added p99 | ×floor | p99 of per-round added | ×floor | added first byte p50 | ×floor |");
        for (t, x) in targets.iter().zip(&s) {
            let p50 = pct(&x.total, 50.0);
            let p99 = pct(&x.total, 99.0);
            let f = pct(&x.ttfb, 50.0);
            if t.name == "direct" {
                rep.line(format!(
                    "| direct (baseline) | {p50:.1} µs | {p99:.1} µs | — | | — | | — | | — | |"
                ));
                continue;
            }
            let (a50, a99, af) = (p50 - d50, p99 - d99, f - df);
            let p99_paired = pct(&paired(&x.total, &s[0].total), 99.0);
            summary.insert((label, t.name), (a50, a99, af));
            rep.line(format!(
                "| {} | {p50:.1} µs | {p99:.1} µs | {a50:+.1} µs | {} | {a99:+.1} µs | {} | {p99_paired:+.1} µs | {} | {} | {} |",
                t.name,
                ratio(a50, f_add),
                ratio(a99, f_add99),
                ratio(p99_paired, f_paired99),
                if stream { format!("{af:+.1} µs") } else { "—".into() },
                if stream { ratio(af, f_ttfb) } else { String::new() },
            ));
        }
    }
    // Per chunk: the slope of the added time from 50 to 500 events.
    rep.table(
        "## Streaming: added time per event (slope of added p50 from 50 to 500 events)",
        "| target | added per event | − floor's | added first byte (50 events) | − floor's |",
    );
    let per = |n: &str| {
        let a = summary.get(&("streaming, 50 events", n)).copied();
        let b = summary.get(&("streaming, 500 events", n)).copied();
        match (a, b) {
            (Some(a), Some(b)) => ((b.0 - a.0) / 450.0, a.2),
            _ => (f64::NAN, f64::NAN),
        }
    };
    let (fpe, fttfb) = per("floor");
    for t in targets.iter().skip(1) {
        let (pe, tf) = per(t.name);
        rep.line(format!(
            "| {} | {pe:.2} µs | {:+.2} µs | {tf:+.1} µs | {:+.1} µs |",
            t.name,
            pe - fpe,
            tf - fttfb
        ));
    }

    if only_latency {
        std::fs::write(cfg.work.join("report.md"), rep.lines.join("\n") + "\n").expect("report");
        return;
    }

    // --- MCP tool round trip (pinned too)
    let (mcp_addr, mcp_key) = start_gateway(
        &cfg,
        &cfg.bifrost,
        "gateway-mcp",
        &format!(
            "{base}[mcp.servers.faults]\ncommand = \"python3\"\nargs = [\"{}\"]\n",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/fault_server.py")
        ),
        &mut procs,
    );
    let mcp_pid = procs.pid("gateway-mcp").unwrap_or(0);
    let mut tool = Tool::start();
    pin(&[mcp_pid, tool.child.id()], "1");
    // The MCP server the gateway started is its child: pin it as well.
    if let Ok(kids) = std::fs::read_to_string(format!("/proc/{mcp_pid}/task/{mcp_pid}/children")) {
        let kids: Vec<u32> = kids
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        pin(&kids, "1");
    }
    let mcp_t = Target {
        name: "gateway + MCP",
        addr: mcp_addr,
        path: "/openai/v1/responses",
        headers: bearer(&mcp_key),
        variant: 0,
    };
    let chat = |p: &'static str| Target {
        name: "direct chat",
        path: p,
        ..direct.clone()
    };
    let chat_t = chat("/v1/chat/completions");
    let ns_body = codex_body("gpt-5.5", false, 0, 0);
    let call_body = Bytes::from_static(br#"{"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"faults__ok","parameters":{"type":"object"}}}]}"#);
    let answer_body = Bytes::from_static(br#"{"model":"gpt-5.5","messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"call_1","content":"ok"}]}"#);
    let (mut g, mut up, mut tl) = (vec![], vec![], vec![]);
    rt.block_on(async {
        let mut gc = connect(mcp_addr).await.expect("connect");
        let mut dc = connect(mock_addr).await.expect("connect");
        for i in 0..scale(40, 1) + scale(400, 5) {
            let a = once(&mut dc, &chat_t, &call_body).await.expect("chat");
            let b = once(&mut dc, &chat_t, &answer_body).await.expect("chat");
            let tool_time = tool.rpc("tools/call", r#"{"name":"ok","arguments":{}}"#);
            let r = once(&mut gc, &mcp_t, &ns_body).await.expect("mcp");
            if i >= scale(40, 1) {
                up.push(us(a.1) + us(b.1));
                tl.push(us(tool_time));
                g.push(us(r.1));
            }
        }
    });
    let (g50, up50, tl50) = (pct(&g, 50.0), pct(&up, 50.0), pct(&tl, 50.0));
    rep.table("## MCP tool round trip (Codex request → model calls `faults__ok` → gateway runs it → model answers; CPU 1)", "| part | p50 |");
    rep.line(format!(
        "| client's total through the gateway | {g50:.1} µs |"
    ));
    rep.line(format!(
        "| two direct upstream calls (tool call, answer) | {up50:.1} µs |"
    ));
    rep.line(format!(
        "| the tool's own execution (a direct stdio `tools/call` of `ok`) | {tl50:.1} µs |"
    ));
    rep.line(format!(
        "| **added by the gateway** (total − upstream − tool) | **{:.1} µs** |",
        g50 - up50 - tl50
    ));
    drop(tool);

    // --- store: writer thread's share of the gateway's CPU so far
    let w = cpu_ticks(gw_pid, Some("bifrost-store"));
    let all = cpu_ticks(gw_pid, None);
    let (cap_on, cap_off) = (
        summary
            .get(&("non-streaming", "gateway"))
            .map_or(f64::NAN, |x| x.0),
        summary
            .get(&("non-streaming", "gateway, capture off"))
            .map_or(f64::NAN, |x| x.0),
    );
    let (scap_on, scap_off) = (
        summary
            .get(&("streaming, 500 events", "gateway"))
            .map_or(f64::NAN, |x| x.0),
        summary
            .get(&("streaming, 500 events", "gateway, capture off"))
            .map_or(f64::NAN, |x| x.0),
    );
    rep.line(String::new());
    rep.line("## Store (logging) cost on the request path".to_string());
    rep.line(String::new());
    rep.line(format!(
        "- non-streaming added p50: capture on {cap_on:.1} µs, capture off {cap_off:.1} µs (Δ {:+.1} µs)",
        cap_on - cap_off
    ));
    rep.line(format!(
        "- streaming 500 events added p50: capture on {scap_on:.1} µs, capture off {scap_off:.1} µs (Δ {:+.1} µs)",
        scap_on - scap_off
    ));
    rep.line(format!(
        "- writer thread `bifrost-store`: {w} of the gateway's {all} CPU ticks ({:.1} %), spent off the request path",
        if all > 0 { 100.0 * w as f64 / all as f64 } else { 0.0 }
    ));

    // --- throughput: both CPUs
    pin(&all_pids, "0,1");
    let mrt = runtime(2);
    throughput(&mut rep, &mrt, &tput_targets, smoke);

    // --- memory at N concurrent streams
    let mut mem_targets = vec![(floor.clone(), floor_pid), (gw.clone(), gw_pid)];
    if let Some(p) = &peer {
        mem_targets.push((p.clone(), peer_pid));
    }
    memory(&mut rep, &mrt, &mem_targets, smoke);
    std::thread::sleep(Duration::from_millis(if smoke { 200 } else { 6000 }));

    // --- launcher
    // The baseline gets its own home: an older build refuses a store a newer one migrated.
    let home = cfg.work.join("launch-home");
    let home_before = cfg.work.join("launch-home-before");
    let conf = cfg.work.join("gateway/config.toml");
    let runs = scale(40, 3);
    let (mut t_true, mut t_run, mut s_direct, mut s_run) = (vec![], vec![], vec![], vec![]);
    let mut t_before = vec![];
    let bif_with = |bin: &Path, home: &Path, args: &[&std::ffi::OsStr]| {
        let mut c = Command::new(bin);
        c.env("BIFROST_HOME", home)
            .env_remove("OPENAI_API_KEY")
            .arg("--config")
            .arg(&conf)
            .args(["--summary", "none", "--no-mcp", "run", "--"])
            .args(args)
            .stdin(Stdio::null());
        c
    };
    let bif = |args: &[&std::ffi::OsStr]| bif_with(&cfg.bifrost, &home, args);
    for i in 0..runs + 2 {
        let t0 = Instant::now();
        let ok = Command::new("true").status().is_ok_and(|s| s.success());
        let a = t0.elapsed();
        let t0 = Instant::now();
        let ok2 = bif(&["true".as_ref()])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let b = t0.elapsed();
        assert!(ok && ok2, "`bifrost run -- true` failed");
        let stamp = |mut c: Command| -> f64 {
            let t0 = unix_ns();
            let out = c.arg("stamp").output().expect("stamp");
            let t1: u128 = String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .unwrap_or(t0);
            (t1.saturating_sub(t0)) as f64 / 1000.0
        };
        let t0 = Instant::now();
        if let Some(b) = &cfg.baseline {
            let ok = bif_with(b, &home_before, &["true".as_ref()])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "the baseline's `bifrost run -- true` failed");
        }
        let c = t0.elapsed();
        let sd = stamp(Command::new(&cfg.me));
        let sr = stamp(bif(&[cfg.me.as_os_str()]));
        if i >= 2 {
            t_true.push(us(a));
            t_run.push(us(b));
            s_direct.push(sd);
            s_run.push(sr);
            t_before.push(us(c));
        }
    }
    rep.table(
        format!("## Launcher ({runs} runs each, interleaved, after 2 warm-up)"),
        "| measure | p50 | p90 |",
    );
    rep.line(format!(
        "| `true` | {:.2} ms | {:.2} ms |",
        pct(&t_true, 50.0) / 1e3,
        pct(&t_true, 90.0) / 1e3
    ));
    rep.line(format!(
        "| `bifrost run -- true` | {:.2} ms | {:.2} ms |",
        pct(&t_run, 50.0) / 1e3,
        pct(&t_run, 90.0) / 1e3
    ));
    if cfg.baseline.is_some() {
        rep.line(format!(
            "| `bifrost run -- true`, before optimisation | {:.2} ms | {:.2} ms |",
            pct(&t_before, 50.0) / 1e3,
            pct(&t_before, 90.0) / 1e3
        ));
    }
    rep.line(format!(
        "| **added by `bifrost run`** | **{:.2} ms** | |",
        (pct(&t_run, 50.0) - pct(&t_true, 50.0)) / 1e3
    ));
    rep.line(format!(
        "| launch → child's first instruction, direct | {:.2} ms | {:.2} ms |",
        pct(&s_direct, 50.0) / 1e3,
        pct(&s_direct, 90.0) / 1e3
    ));
    rep.line(format!(
        "| launch → child's first instruction, through `bifrost run` | {:.2} ms | {:.2} ms |",
        pct(&s_run, 50.0) / 1e3,
        pct(&s_run, 90.0) / 1e3
    ));
    rep.line(format!(
        "| **launch → child spawn, added by bifrost** | **{:.2} ms** | |",
        (pct(&s_run, 50.0) - pct(&s_direct, 50.0)) / 1e3
    ));
    let size = std::fs::metadata(&cfg.bifrost).map_or(0, |m| m.len());
    rep.line(String::new());
    rep.line(format!(
        "Binary: {} {:.1} MB",
        cfg.bifrost.display(),
        size as f64 / 1e6
    ));
    if cfg.peer.is_none() {
        rep.line("Peer: not run (no Portkey install given with --peer).".to_string());
    }
    let _ = cfg.smoke;
    std::fs::write(cfg.work.join("report.md"), rep.lines.join("\n") + "\n").expect("report");
    drop(procs);
}
