//! `/metrics` and the dashboard's API against a real gateway and the strict mock: counters agree
//! with the stored rows, filters and pagination, the one-time link and its cookie, `bifrost ui`,
//! and no provider key in any response.

use std::collections::HashMap;
use std::io::BufRead;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bifrost::config::Loaded;
use bifrost::gateway::Gateway;
use bifrost::secret::Secret;
use bifrost::store::{self, LogFilter, LogRow, SessionRecord, Writer};
use serde_json::{Value, json};

use crate::support::mock::{self, Mock, Reply};
use crate::support::{CANARY, World, text};

pub(super) const KEY: &str = "bfs_dashboard_test_key";

/// A gateway on the mock with its own store.
pub(super) struct Gw {
    pub gw: Gateway,
    pub writer: Writer,
    pub mock: Mock,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

impl Gw {
    pub async fn start() -> Gw {
        let mock = Mock::start();
        let dir = tempfile::tempdir().expect("tempdir");
        let text = format!(
            "[providers.openai]\nbase_url = \"{}\"\napi_key = \"env:CANARY_KEY\"\n",
            mock.base_url()
        );
        let config = Loaded::from_text(&text)
            .and_then(|l| l.resolve(&|k| (k == "CANARY_KEY").then(|| CANARY.to_string())))
            .expect("config");
        let (writer, _t) = Writer::start(&dir.path().join("logs.db")).expect("store");
        writer.session_start(SessionRecord {
            id: "sess-dash".into(),
            kind: "serve".into(),
            started_at_ms: store::now_ms(),
            argv: vec!["bifrost".into(), "serve".into()],
            cwd: None,
        });
        let gw = Gateway::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            Arc::new(config),
            writer.clone(),
            Some("sess-dash".into()),
            vec![Secret::new(KEY)],
        )
        .await
        .expect("gateway");
        Gw {
            gw,
            writer,
            mock,
            dir,
            http: client(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gw.url())
    }

    pub async fn post(&self, path: &str, body: String) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .header("x-note", format!("client header {CANARY}"))
            .body(body)
            .send()
            .await
            .expect("send")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(KEY)
            .send()
            .await
            .expect("get")
    }

    pub async fn json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        r.json().await.expect("json")
    }

    pub async fn rows(&self) -> Vec<LogRow> {
        self.gw.settled(Duration::from_secs(10)).await;
        self.writer.flush().await;
        let conn = store::open(&self.dir.path().join("logs.db")).expect("open");
        store::requests(&conn, &LogFilter::default()).expect("rows")
    }

    /// A mix: two models, streamed and not, a tool call, an upstream error that echoes the
    /// provider key, a cut stream, and a request rejected before upstream.
    pub async fn traffic(&self) {
        self.mock.push(Reply::Items {
            items: vec![mock::reasoning("plan"), mock::exec_call("ls -la", "call_1")],
            usage: mock::usage(1200, 1000, 40, 8),
        });
        let r = self
            .post(
                "/openai/v1/responses",
                body("gpt-5.5", true, "list the files please"),
            )
            .await;
        assert_eq!(r.status(), 200);
        let _ = r.text().await;
        self.mock.push(Reply::Items {
            items: vec![mock::message("a haiku about rust")],
            usage: mock::usage(300, 0, 25, 0),
        });
        let r = self
            .post(
                "/openai/v1/responses",
                body("gpt-5-mini", false, "write a haiku about crabs"),
            )
            .await;
        assert_eq!(r.status(), 200);
        self.mock.push(Reply::Json(
            401,
            json!({"error": {"message": format!("Incorrect API key provided: {CANARY}."), "type": "invalid_request_error", "code": "invalid_api_key"}}),
        ));
        let r = self
            .post(
                "/openai/v1/responses",
                body("gpt-5.5", true, "this one fails"),
            )
            .await;
        assert_eq!(r.status(), 401);
        self.mock.push(Reply::Cut(vec![
            json!({"type": "response.created", "response": {"id": "r1"}}),
            json!({"type": "response.output_text.delta", "delta": "partial"}),
        ]));
        let r = self
            .post("/openai/v1/responses", body("gpt-5.5", true, "cut me off"))
            .await;
        let _ = r.text().await;
        let r = self
            .post(
                "/openai/v1/responses",
                body("nosuch/gpt-5.5", false, "unknown provider"),
            )
            .await;
        assert_eq!(r.status(), 400);
        self.gw.settled(Duration::from_secs(10)).await;
        self.writer.flush().await;
    }
}

/// An HTTP client that does not follow redirects (so the 303 and its cookie can be seen).
pub(super) fn client() -> reqwest::Client {
    // Installs the process-wide rustls provider reqwest needs.
    let _ = bifrost::gateway::http_client();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub(super) fn body(model: &str, stream: bool, prompt: &str) -> String {
    json!({
        "model": model,
        "stream": stream,
        "store": false,
        "instructions": "You are a test.",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}],
    })
    .to_string()
}

fn scrape(text: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parse")
}

fn value(s: &prometheus_parse::Sample) -> f64 {
    match &s.value {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => *v,
        other => panic!("not a scalar: {other:?}"),
    }
}

fn sum(scrape: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(value)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_agree_with_the_stored_rows() {
    let g = Gw::start().await;
    g.traffic().await;
    let rows = g.rows().await;
    assert_eq!(rows.len(), 5);

    let anon = g.http.get(g.url("/metrics")).send().await.expect("get");
    assert_eq!(anon.status(), 401, "metrics need the key");
    let r = g.get("/metrics").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/plain; version=0.0.4")
    );
    let text = r.text().await.expect("text");
    assert!(!text.contains(CANARY));
    let s = scrape(&text);

    assert_eq!(sum(&s, "bifrost_requests_total", &[]), rows.len() as f64);
    let errors = rows.iter().filter(|r| r.status == "error").count();
    assert_eq!(errors, 3);
    assert_eq!(
        sum(&s, "bifrost_requests_total", &[("outcome", "error")]),
        errors as f64
    );
    assert_eq!(
        sum(
            &s,
            "bifrost_requests_total",
            &[
                ("model", "gpt-5-mini"),
                ("status", "200"),
                ("outcome", "ok")
            ]
        ),
        1.0
    );
    let total = |f: fn(&LogRow) -> i64| rows.iter().map(f).sum::<i64>() as f64;
    for (kind, want) in [
        ("input", total(|r| r.input_tokens)),
        ("cached_input", total(|r| r.cached_input_tokens)),
        ("output", total(|r| r.output_tokens)),
        ("reasoning", total(|r| r.reasoning_tokens)),
    ] {
        assert_eq!(
            sum(&s, "bifrost_tokens_total", &[("kind", kind)]),
            want,
            "{kind} tokens"
        );
    }
    let cost: f64 = rows.iter().filter_map(|r| r.cost_usd).sum();
    assert!(cost > 0.0);
    assert!((sum(&s, "bifrost_cost_usd_total", &[]) - cost).abs() < 1e-9);

    // Histograms: one observation per row (ttft only for rows that have one).
    let count = |metric: &str| sum(&s, metric, &[]);
    assert_eq!(
        count("bifrost_request_duration_seconds_count"),
        rows.len() as f64
    );
    let ttfts = rows.iter().filter(|r| r.ttft_ms.is_some()).count();
    assert!(ttfts >= 2);
    assert_eq!(
        count("bifrost_time_to_first_token_seconds_count"),
        ttfts as f64
    );
    let lat_sum: f64 = rows.iter().map(|r| r.latency_ms / 1000.0).sum();
    assert!((count("bifrost_request_duration_seconds_sum") - lat_sum).abs() < 1e-3);
    let buckets = s
        .samples
        .iter()
        .find(|x| x.metric == "bifrost_request_duration_seconds")
        .expect("latency histogram");
    match &buckets.value {
        prometheus_parse::Value::Histogram(b) => {
            assert!(b.windows(2).all(|w| w[0].count <= w[1].count), "cumulative");
            assert!(b.iter().any(|c| c.less_than.is_infinite()));
        }
        other => panic!("not a histogram: {other:?}"),
    }

    // Upstream errors: the 401 from the provider and the cut stream; not the 400 bifrost gave.
    assert_eq!(sum(&s, "bifrost_upstream_errors_total", &[]), 2.0);
    assert_eq!(
        sum(&s, "bifrost_upstream_errors_total", &[("status", "401")]),
        1.0
    );
    // Families filled by later work are there, at zero.
    assert!(
        s.samples
            .iter()
            .any(|x| x.metric == "bifrost_retries_total")
    );
    assert_eq!(sum(&s, "bifrost_retries_total", &[]), 0.0);
    assert_eq!(count("bifrost_mcp_tool_duration_seconds_count"), 0.0);
    assert!(text.contains("# TYPE bifrost_mcp_tool_duration_seconds histogram"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_api_filters_paginates_and_shows_one_request() {
    let g = Gw::start().await;
    g.traffic().await;

    let anon = g.http.get(g.url("/api/logs")).send().await.expect("get");
    assert_eq!(anon.status(), 401);
    let x = g
        .http
        .get(g.url("/api/stats"))
        .header("x-api-key", KEY)
        .send()
        .await
        .expect("get");
    assert_eq!(x.status(), 200, "x-api-key works too");

    let all = g.json("/api/logs").await;
    let rows = all["rows"].as_array().expect("rows");
    assert_eq!(all["total"], 5);
    assert_eq!(rows.len(), 5);
    let times: Vec<i64> = rows
        .iter()
        .map(|r| r["started_at_ms"].as_i64().unwrap_or(0))
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert_eq!(all["providers"], json!(["openai"]));

    let errs = g.json("/api/logs?status=error").await;
    assert_eq!(errs["total"], 3);
    let ok = g.json("/api/logs?status=ok&provider=openai").await;
    assert_eq!(ok["total"], 2);
    let mini = g.json("/api/logs?model=gpt-5-mini").await;
    assert_eq!(mini["total"], 1);
    assert_eq!(
        g.json("/api/logs?model=openai%2Fgpt-5-mini").await["total"],
        1
    );
    let q = g.json("/api/logs?q=ended%20before").await;
    assert_eq!(q["total"], 1, "free text over the error");
    let q = g.json("/api/logs?q=MINI").await;
    assert_eq!(q["total"], 1, "free text over the model, any case");
    let future = store::now_ms() + 60_000;
    assert_eq!(
        g.json(&format!("/api/logs?since={future}")).await["total"],
        0
    );
    assert_eq!(
        g.json("/api/logs?since=2000-01-01T00:00:00Z").await["total"],
        5
    );
    assert_eq!(g.json("/api/logs?session=sess-dash").await["total"], 5);
    assert_eq!(g.json("/api/logs?session=other").await["total"], 0);

    // Pagination: limit + offset, and limit + before (a cursor that survives new rows).
    let p1 = g.json("/api/logs?limit=2").await;
    let p2 = g.json("/api/logs?limit=2&offset=2").await;
    let ids = |v: &Value| -> Vec<String> {
        v["rows"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| r["id"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(ids(&p1).len(), 2);
    let last = ids(&p1)[1].clone();
    let p2b = g.json(&format!("/api/logs?limit=2&before={last}")).await;
    assert_eq!(ids(&p2), ids(&p2b));
    let every = ids(&all);
    assert_eq!([ids(&p1), ids(&p2)].concat(), every[..4].to_vec());

    // One request: prompt, response, tool calls, timings, redacted headers.
    let tool_row = rows
        .iter()
        .find(|r| r["model"] == "gpt-5.5" && r["status"] == "ok")
        .expect("tool row");
    let d = g
        .json(&format!(
            "/api/logs/{}",
            tool_row["id"].as_str().unwrap_or("")
        ))
        .await;
    assert!(
        d["request_body"]
            .as_str()
            .unwrap_or("")
            .contains("list the files please")
    );
    assert!(d["response_body"].as_str().unwrap_or("").contains("ls -la"));
    assert_eq!(d["tool_calls"][0]["name"], "exec_command");
    assert_eq!(d["tool_calls"][0]["call_id"], "call_1");
    assert_eq!(d["tool_calls"][0]["source"], "response");
    assert!(d["latency_ms"].as_f64().unwrap_or(0.0) > 0.0);
    assert!(d["ttft_ms"].is_number());
    assert!(d["upstream_ms"].is_number());
    assert!(d["overhead_ms"].is_number());
    assert_eq!(d["request_headers"]["authorization"], "[redacted]");
    assert_eq!(d["input_tokens"], 1200);
    let missing = g.get("/api/logs/nope").await;
    assert_eq!(missing.status(), 404);

    // Stats agree with the rows.
    let st = g.json("/api/stats").await;
    assert_eq!(st["totals"]["requests"], 5);
    assert_eq!(st["totals"]["errors"], 3);
    assert_eq!(st["totals"]["input_tokens"], 1500);
    assert_eq!(st["totals"]["output_tokens"], 65);
    let hist: i64 = st["latency_histogram"]
        .as_array()
        .map(|a| a.iter().map(|b| b["count"].as_i64().unwrap_or(0)).sum())
        .unwrap_or(0);
    assert_eq!(hist, 5);
    let series_in: i64 = st["series"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|b| b["input_tokens"].as_i64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0);
    assert_eq!(series_in, 1500);
    let models: HashMap<String, i64> = st["models"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| {
                    (
                        m["model"].as_str().unwrap_or("").to_string(),
                        m["requests"].as_i64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(models.get("openai/gpt-5.5"), Some(&3));
    assert_eq!(models.get("openai/gpt-5-mini"), Some(&1));
    assert_eq!(
        g.json("/api/stats?status=error").await["totals"]["requests"],
        3
    );

    let sessions = g.json("/api/sessions").await;
    assert_eq!(sessions[0]["id"], "sess-dash");
    assert_eq!(sessions[0]["requests"], 5);
    assert_eq!(sessions[0]["errors"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_one_time_link_sets_a_strict_cookie_and_works_once() {
    let g = Gw::start().await;
    let url = g.gw.dashboard_url().expect("url");
    assert!(url.starts_with(&format!("{}/logs?token=", g.gw.url())));
    let anon = g.http.get(g.url("/logs")).send().await.expect("get");
    assert_eq!(anon.status(), 401, "the page needs the link or the key");

    let r = g.http.get(&url).send().await.expect("get");
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/logs", "the token leaves the URL");
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    let pair = cookie.split(';').next().unwrap_or("").to_string();

    let page = g
        .http
        .get(g.url("/logs"))
        .header("cookie", &pair)
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap_or("")
        .to_string();
    assert!(csp.contains("default-src 'self'"));
    let html = page.text().await.expect("html");
    assert!(html.contains("/logs/app.js"));
    let api = g
        .http
        .get(g.url("/api/logs"))
        .header("cookie", &pair)
        .send()
        .await
        .expect("api");
    assert_eq!(api.status(), 200, "the cookie opens the API");
    let forged = g
        .http
        .get(g.url("/api/logs"))
        .header("cookie", format!("{pair}x"))
        .send()
        .await
        .expect("api");
    assert_eq!(forged.status(), 401);

    let again = g.http.get(&url).send().await.expect("get");
    assert_eq!(again.status(), 401, "a used link does not work twice");
    assert!(
        again
            .text()
            .await
            .unwrap_or_default()
            .contains("already used")
    );
    let again_with_cookie = g
        .http
        .get(&url)
        .header("cookie", &pair)
        .send()
        .await
        .expect("get");
    assert_eq!(
        again_with_cookie.status(),
        303,
        "same browser: back to /logs"
    );

    // Offline: every asset is served from the binary and loads nothing from elsewhere.
    for (path, ty) in [("/logs/app.js", "javascript"), ("/logs/app.css", "css")] {
        let r = g.http.get(g.url(path)).send().await.expect("asset");
        assert_eq!(r.status(), 200);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap_or("")
                .contains(ty)
        );
        let body = r.text().await.expect("asset");
        for external in [
            "http://",
            "https://",
            "@import",
            "//cdn",
            "fonts.googleapis",
        ] {
            assert!(!body.contains(external), "{path} references {external}");
        }
    }
    for external in ["http://", "https://"] {
        assert!(!html.contains(external), "page references {external}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_provider_key_in_any_dashboard_response() {
    let g = Gw::start().await;
    g.traffic().await;
    // The gateway scrubs provider keys from what it stores (a client header, the provider's
    // error message); put the key back as an older store could hold it: the dashboard must
    // still never show it.
    let conn = store::open(&g.dir.path().join("logs.db")).expect("open");
    let count = |conn: &rusqlite::Connection| -> i64 {
        conn.query_row(
            "SELECT COUNT(*) FROM requests WHERE error LIKE ?1",
            [format!("%{CANARY}%")],
            |r| r.get(0),
        )
        .expect("count")
    };
    assert_eq!(count(&conn), 0, "the gateway stores no provider key");
    conn.execute(
        "UPDATE requests SET error = replace(error, '[redacted]', ?1)",
        [CANARY],
    )
    .expect("unscrub");
    conn.execute(
        "UPDATE request_bodies SET request_headers = replace(request_headers, 'client header [redacted]', 'client header ' || ?1)",
        [CANARY],
    )
    .expect("unscrub");
    assert_eq!(count(&conn), 1, "the fixture puts the canary in the store");

    let mut bodies = Vec::new();
    let all = g.json("/api/logs?limit=1000").await;
    for r in all["rows"].as_array().expect("rows") {
        let id = r["id"].as_str().unwrap_or("");
        let d = g.get(&format!("/api/logs/{id}")).await;
        assert_eq!(d.status(), 200);
        bodies.push(d.text().await.expect("detail"));
    }
    for path in [
        "/api/logs",
        "/api/logs?q=Incorrect",
        "/api/stats",
        "/api/sessions",
        "/metrics",
        "/logs",
        "/logs/app.js",
    ] {
        bodies.push(g.get(path).await.text().await.expect("body"));
    }
    for b in &bodies {
        assert!(!b.contains(CANARY), "provider key in a response: {b}");
    }
    let joined = bodies.join("\n");
    assert!(joined.contains("Incorrect API key provided: [redacted]"));
    assert!(joined.contains("client header [redacted]"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bifrost_ui_serves_the_store_alone_and_prints_a_one_time_link() {
    let world = World::new();
    // A row in the store, written the way a gateway writes it.
    {
        let (writer, thread) = Writer::start(&world.home().join("logs.db")).expect("store");
        writer.record(store::RequestRecord {
            id: store::new_id(),
            session_id: Some("s-ui".into()),
            started_at_ms: store::now_ms(),
            route: "/openai/v1/responses".into(),
            provider: Some("openai".into()),
            model: Some("gpt-5.5".into()),
            upstream_model: Some("gpt-5.5".into()),
            http_status: 200,
            latency_us: 1500,
            ..Default::default()
        });
        writer.flush().await;
        drop(writer);
        thread.join();
    }
    // No config file at all: `ui` needs no providers.
    let (mut child, url) = start_ui(&world);
    assert!(url.starts_with("http://127.0.0.1:") && url.contains("/logs?token=bft_"));
    let base = url.split("/logs").next().unwrap_or("").to_string();
    let http = client();
    let r = http.get(&url).send().await.expect("get");
    assert_eq!(r.status(), 303);
    let pair = r.headers()["set-cookie"]
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .to_string();
    let v: Value = http
        .get(format!("{base}/api/logs"))
        .header("cookie", &pair)
        .send()
        .await
        .expect("api")
        .json()
        .await
        .expect("json");
    assert_eq!(v["total"], 1);
    assert_eq!(v["rows"][0]["session_id"], "s-ui");
    assert_eq!(
        http.get(&url).send().await.expect("get").status(),
        401,
        "the link works once"
    );
    assert_eq!(
        http.get(format!("{base}/metrics"))
            .send()
            .await
            .expect("get")
            .status(),
        404,
        "ui is not a gateway"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// Starts `bifrost ui --port 0` in `world`; returns the child and the link it printed.
fn start_ui(world: &World) -> (std::process::Child, String) {
    let mut cmd = world.bifrost();
    cmd.args(["ui", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn ui");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(20));
    let Ok(line) = line else {
        let _ = child.kill();
        let out = child.wait_with_output().expect("output");
        panic!("no URL printed: {}", text(&out.stderr));
    };
    let url = line
        .trim()
        .strip_prefix("dashboard: ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();
    (child, url)
}

#[tokio::test]
async fn bifrost_ui_cuts_off_a_slowloris_client_after_the_header_read_timeout() {
    let world = World::new();
    world.write_config("[gateway]\nheader_read_timeout_secs = 1\n");
    let (mut child, url) = start_ui(&world);
    let addr = url
        .strip_prefix("http://")
        .and_then(|u| u.split('/').next())
        .unwrap_or_default()
        .to_string();
    let closed_at = crate::support::slowloris_closed_after(&addr).await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        closed_at >= Duration::from_millis(900) && closed_at < Duration::from_secs(4),
        "closed after {closed_at:?}"
    );
}
