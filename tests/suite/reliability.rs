//! Fault injection against mock upstreams: key cooldown, Retry-After, fallback order, no
//! fallback after the first byte, the circuit breaker, timeouts, queue overflow, and a real
//! Codex session that survives a rate-limited key.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bifrost::config::Loaded;
use bifrost::gateway::Gateway;
use bifrost::secret::Secret;
use bifrost::store::{self, LogFilter, Writer};
use serde_json::{Value, json};

use crate::support::mock::{self, Mock, Reply};
use crate::support::{World, codex_bin, logs_json, run_with_timeout, text};

const KEY: &str = "bfs_reliability";

async fn gateway(config: &str, dir: &std::path::Path) -> (Gateway, Writer) {
    let cfg = Loaded::from_text(config)
        .and_then(|l| {
            l.resolve(&|k| match k {
                "K1" => Some("sk-key-one".into()),
                "K2" => Some("sk-key-two".into()),
                _ => Some(crate::support::CANARY.into()),
            })
        })
        .expect("config");
    let (writer, _t) = Writer::start(&dir.join("logs.db")).expect("store");
    let gw = Gateway::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        Arc::new(cfg),
        writer.clone(),
        None,
        vec![Secret::new(KEY)],
    )
    .await
    .expect("gw");
    (gw, writer)
}

fn body(model: &str, stream: bool) -> String {
    json!({"model": model, "stream": stream, "input": "hi"}).to_string()
}

async fn post(gw: &Gateway, body: String, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut rb = reqwest::Client::new()
        .post(format!("{}/v1/responses", gw.url()))
        .bearer_auth(KEY)
        .header("content-type", "application/json");
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    rb.body(body).send().await.expect("send")
}

fn key_of(s: &mock::Seen) -> String {
    s.headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim_start_matches("Bearer ")
        .to_string()
}

fn two_keys(m: &Mock, extra: &str) -> String {
    m.accept_keys(&["sk-key-one", "sk-key-two"]);
    format!(
        "{extra}\n[providers.openai]\nbase_url = \"{}\"\nkeys = [{{ value = \"env:K1\", alias = \"one\" }}, {{ value = \"env:K2\", alias = \"two\" }}]\n",
        m.base_url()
    )
}

#[tokio::test]
async fn a_rate_limited_key_cools_down_while_the_other_serves() {
    let m = Mock::start();
    let dir = tempfile::tempdir().expect("tmp");
    let (gw, writer) = gateway(&two_keys(&m, ""), dir.path()).await;
    m.push(Reply::WithHeaders(429, vec![("retry-after", "30".into())], json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}})));
    let r = post(&gw, body("gpt-5.5", false), &[]).await;
    assert_eq!(r.status(), 200, "served by the other key at once");
    for _ in 0..4 {
        assert_eq!(post(&gw, body("gpt-5.5", false), &[]).await.status(), 200);
    }
    let seen = m.seen();
    let limited = key_of(&seen[0]);
    assert_ne!(key_of(&seen[1]), limited, "the retry switched keys");
    assert!(
        seen[2..].iter().all(|s| key_of(s) != limited),
        "the cooled key stays out until its reset"
    );
    gw.settled(Duration::from_secs(10)).await;
    writer.flush().await;
    let conn = store::open(&dir.path().join("logs.db")).expect("db");
    let rows = store::requests(&conn, &LogFilter::default()).expect("rows");
    let tries = store::attempts(&conn, &rows[0].id).expect("attempts");
    assert_eq!(
        tries.iter().map(|a| a.status).collect::<Vec<_>>(),
        vec![429, 200]
    );
    assert_ne!(tries[0].key_alias, tries[1].key_alias);
}

#[tokio::test]
async fn retry_after_is_honoured_with_a_single_key() {
    let m = Mock::start();
    let dir = tempfile::tempdir().expect("tmp");
    let (gw, _w) = gateway(
        &format!(
            "[providers.openai]\nbase_url = \"{}\"\napi_key = \"env:C\"\n",
            m.base_url()
        ),
        dir.path(),
    )
    .await;
    m.push(Reply::WithHeaders(
        503,
        vec![("retry-after", "1".into())],
        json!({"error": {"message": "busy", "type": "server_error"}}),
    ));
    let started = Instant::now();
    let r = post(&gw, body("gpt-5.5", false), &[]).await;
    assert_eq!(r.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited the 1 s asked for: {:?}",
        started.elapsed()
    );
    assert_eq!(m.seen().len(), 2);
}

#[tokio::test]
async fn fallbacks_go_in_order_before_the_first_byte_only() {
    let primary = Mock::start();
    let backup = Mock::start();
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = format!(
        "[gateway]\nmax_retries = 1\n[providers.openai]\nbase_url = \"{}\"\napi_key = \"env:C\"\n[providers.dead]\ntype = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\napi_key = \"x\"\n[providers.backup]\ntype = \"openai\"\nbase_url = \"{}\"\napi_key = \"env:C\"\n[fallbacks]\n\"openai/gpt-5.5\" = [\"dead/gpt-5.5\", \"backup/gpt-5.5\"]\n",
        primary.base_url(),
        backup.base_url()
    );
    let (gw, writer) = gateway(&cfg, dir.path()).await;
    for _ in 0..2 {
        primary.push(Reply::Json(
            500,
            json!({"error": {"message": "primary down", "type": "server_error"}}),
        ));
    }
    let r = post(&gw, body("openai/gpt-5.5", true), &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()
            .get("x-bifrost-provider")
            .and_then(|v| v.to_str().ok()),
        Some("backup")
    );
    assert!(
        r.text()
            .await
            .unwrap_or_default()
            .contains("response.completed")
    );
    assert_eq!(primary.seen().len(), 2, "1 try + 1 retry on the primary");
    assert_eq!(backup.seen().len(), 1);

    // Per request: the header chain, and a body `fallbacks` field removed before upstream
    // (the strict mock rejects unknown parameters).
    primary.push(Reply::Json(
        503,
        json!({"error": {"message": "still down", "type": "server_error"}}),
    ));
    primary.push(Reply::Json(
        503,
        json!({"error": {"message": "still down", "type": "server_error"}}),
    ));
    let with_field =
        json!({"model": "openai/gpt-5.5", "input": "hi", "fallbacks": ["backup/gpt-5.5"]})
            .to_string();
    let r = post(&gw, with_field, &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(backup.seen()[1].json().get("fallbacks"), None);
    assert_eq!(backup.seen()[1].json()["model"], "gpt-5.5");

    // After the first byte: no fallback, the client gets response.failed.
    primary.push(Reply::Cut(vec![
        json!({"type": "response.created", "response": {"id": "r"}}),
        json!({"type": "response.output_text.delta", "delta": "par"}),
    ]));
    let t = post(
        &gw,
        body("openai/gpt-5.5", true),
        &[("x-bifrost-fallbacks", "backup/gpt-5.5")],
    )
    .await
    .text()
    .await
    .unwrap_or_default();
    assert!(t.contains("response.failed"), "{t}");
    assert_eq!(
        backup.seen().len(),
        2,
        "no fallback once bytes reached the client"
    );

    gw.settled(Duration::from_secs(10)).await;
    writer.flush().await;
    let conn = store::open(&dir.path().join("logs.db")).expect("db");
    let rows = store::requests(&conn, &LogFilter::default()).expect("rows");
    assert_eq!(
        (rows[0].provider.as_deref(), rows[0].status),
        (Some("backup"), "ok")
    );
    assert!(
        rows[0]
            .notes
            .as_deref()
            .unwrap_or("")
            .contains("served by fallback backup/gpt-5.5")
    );
    let providers: Vec<String> = store::attempts(&conn, &rows[0].id)
        .expect("attempts")
        .into_iter()
        .map(|a| a.provider)
        .collect();
    assert_eq!(providers, ["openai", "openai", "dead", "dead", "backup"]);
}

#[tokio::test]
async fn the_breaker_skips_a_failing_key() {
    let m = Mock::start();
    m.accept_keys(&["sk-key-two"]);
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = format!(
        "[gateway]\nmax_retries = 0\nbreaker_failures = 2\nbreaker_cooldown_secs = 60\n[providers.openai]\nbase_url = \"{}\"\nkeys = [{{ value = \"env:K1\", alias = \"one\" }}, {{ value = \"env:K2\", alias = \"two\" }}]\n",
        m.base_url()
    );
    let (gw, _w) = gateway(&cfg, dir.path()).await;
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(
            post(&gw, body("gpt-5.5", false), &[])
                .await
                .status()
                .as_u16(),
        );
    }
    let bad = m
        .seen()
        .iter()
        .filter(|s| key_of(s) == "sk-key-one")
        .count();
    assert_eq!(
        bad, 2,
        "the revoked key is tried until its breaker opens: {statuses:?}"
    );
    assert!(statuses[4..].iter().all(|s| *s == 200), "{statuses:?}");
}

#[tokio::test]
async fn first_byte_and_idle_timeouts_end_in_errors_not_hangs() {
    let m = Mock::start();
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = format!(
        "[gateway]\nmax_retries = 0\nfirst_byte_timeout_secs = 0.5\nidle_timeout_secs = 0.5\n[providers.openai]\nbase_url = \"{}\"\napi_key = \"env:C\"\n",
        m.base_url()
    );
    let (gw, _w) = gateway(&cfg, dir.path()).await;
    m.push(Reply::Delay(
        Duration::from_secs(3),
        Box::new(Reply::Items {
            items: vec![mock::message("late")],
            usage: mock::usage(1, 0, 1, 0),
        }),
    ));
    let started = Instant::now();
    let r = post(&gw, body("gpt-5.5", false), &[]).await;
    assert_eq!(r.status(), 502);
    let v: Value = r.json().await.unwrap_or_default();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("no first byte"),
        "{v}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));

    m.push(Reply::Stall(
        vec![json!({"type": "response.created", "response": {"id": "r"}})],
        Duration::from_secs(5),
    ));
    let started = Instant::now();
    let t = post(&gw, body("gpt-5.5", true), &[])
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(
        t.contains("response.failed") && t.contains("sent nothing"),
        "{t}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn past_the_queue_requests_get_429_with_retry_after() {
    let m = Mock::start();
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = format!(
        "[providers.openai]\nbase_url = \"{}\"\napi_key = \"env:C\"\nmax_concurrency = 1\nmax_queue = 0\n",
        m.base_url()
    );
    let (gw, _w) = gateway(&cfg, dir.path()).await;
    m.push(Reply::Delay(
        Duration::from_millis(800),
        Box::new(Reply::Items {
            items: vec![mock::message("slow")],
            usage: mock::usage(1, 0, 1, 0),
        }),
    ));
    let gw = Arc::new(gw);
    let g2 = gw.clone();
    let first = tokio::spawn(async move {
        post(&g2, body("gpt-5.5", false), &[])
            .await
            .status()
            .as_u16()
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = post(&gw, body("gpt-5.5", false), &[]).await;
    assert_eq!(r.status(), 429);
    assert_eq!(
        r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert_eq!(first.await.unwrap_or(0), 200);
    assert_eq!(
        post(&gw, body("gpt-5.5", false), &[]).await.status(),
        200,
        "the slot is free again"
    );
}

#[test]
fn a_real_codex_session_survives_a_rate_limited_key() {
    let w = World::new();
    let m = Mock::start();
    m.accept_keys(&["sk-key-one", "sk-key-two"]);
    w.write_config(&format!(
        "[providers.openai]\nbase_url = \"{}\"\nkeys = [{{ value = \"sk-key-one\", alias = \"one\" }}, {{ value = \"sk-key-two\", alias = \"two\" }}]\n",
        m.base_url()
    ));
    m.push(Reply::WithHeaders(429, vec![("retry-after", "30".into())], json!({"error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}})));
    m.push(Reply::Items {
        items: vec![mock::message("Answered despite the rate limit.")],
        usage: mock::usage(100, 0, 10, 0),
    });
    let mut c = w.bifrost();
    c.arg("--codex-bin").arg(codex_bin()).args([
        "--summary",
        "table",
        "codex",
        "-m",
        "gpt-5.5",
        "exec",
        "--skip-git-repo-check",
        "-c",
        "analytics.enabled=false",
        "--disable",
        "plugins",
        "hi",
    ]);
    let out = run_with_timeout(c, Duration::from_secs(120));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Answered despite the rate limit."));
    assert!(
        text(&out.stderr)
            .contains("reliability: 1 upstream retry, 0 request(s) served by a fallback"),
        "{}",
        text(&out.stderr)
    );
    let rows = logs_json(&w, &["--last"]);
    assert_eq!(
        rows.len(),
        1,
        "one request from Codex; the retry happened in the gateway"
    );
    let show = w
        .bifrost()
        .args(["logs", "show", rows[0]["id"].as_str().unwrap_or("")])
        .output()
        .expect("show");
    let s = text(&show.stdout);
    assert!(s.contains("HTTP 429") && s.contains("HTTP 200"), "{s}");
}
