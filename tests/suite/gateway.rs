//! The gateway in-process against the strict mock: auth, passthrough bytes, streaming usage,
//! bad input, upstream errors, and what lands in the store.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bifrost::config::Loaded;
use bifrost::gateway::Gateway;
use bifrost::secret::Secret;
use bifrost::store::{self, LogFilter, LogRow, Writer};
use serde_json::{Value, json};

use crate::support::mock::{self, Mock, Reply};
use crate::support::{CANARY, assert_nowhere};

const KEY: &str = "bfs_test_session_key";

struct Harness {
    gw: Gateway,
    writer: Writer,
    mock: Mock,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Harness {
    async fn start(extra: &str) -> Harness {
        let mock = Mock::start();
        let dir = tempfile::tempdir().expect("tempdir");
        let text = format!(
            "[providers.openai]\nbase_url = \"{}\"\napi_key = \"env:CANARY_KEY\"\n[providers.dead]\ntype = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\napi_key = \"x\"\n{extra}",
            mock.base_url()
        );
        let config = Loaded::from_text(&text)
            .and_then(|l| l.resolve(&|k| (k == "CANARY_KEY").then(|| CANARY.to_string())))
            .expect("config");
        let (writer, _t) = Writer::start(&dir.path().join("logs.db")).expect("store");
        let gw = Gateway::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            Arc::new(config),
            writer.clone(),
            Some("sess-1".into()),
            vec![Secret::new(KEY)],
        )
        .await
        .expect("gateway");
        Harness {
            gw,
            writer,
            mock,
            dir,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gw.url())
    }

    async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http
            .post(self.url(path))
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
}

fn responses_body(model: &str, stream: bool) -> String {
    // Odd spacing and key order on purpose: passthrough must keep the bytes.
    format!(
        "{{ \"input\" : [{{\"type\":\"message\",\"role\":\"user\",\"content\":[{{\"type\":\"input_text\",\"text\":\"hi \\u00e9\"}}]}}],\n  \"model\":\"{model}\", \"stream\": {stream}, \"store\":false}}"
    )
}

#[tokio::test]
async fn wrong_or_missing_key_gets_401_in_openai_format() {
    let h = Harness::start("").await;
    for auth in [Some("Bearer nope"), None] {
        let mut req = h
            .http
            .post(h.url("/openai/v1/responses"))
            .body(responses_body("gpt-5.5", false));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.expect("send");
        assert_eq!(r.status(), 401);
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("bifrost key")
        );
    }
    let r = h
        .http
        .post(h.url("/v1/responses"))
        .header("x-api-key", KEY)
        .header("content-type", "application/json")
        .body(responses_body("gpt-5.5", false))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200, "x-api-key is accepted too");
    assert!(
        h.mock.seen().len() == 1,
        "only the authenticated request reached upstream"
    );
}

#[tokio::test]
async fn passthrough_keeps_bytes_and_only_splices_the_model() {
    let h = Harness::start("").await;
    let body = responses_body("gpt-5.5", false);
    let r = h.post("/openai/v1/responses", body.clone()).await;
    assert_eq!(r.status(), 200);
    let body2 = responses_body("openai/gpt-5.5", false);
    let r2 = h.post("/v1/responses", body2).await;
    assert_eq!(r2.status(), 200);
    let seen = h.mock.seen();
    assert_eq!(
        seen[0].body,
        body.as_bytes(),
        "bare model: byte-identical body upstream"
    );
    assert_eq!(
        seen[1].body,
        body.as_bytes(),
        "prefixed model: only the model value changed"
    );
    assert!(seen[0].headers.get("authorization").is_some());
    let v: Value = r2.json().await.expect("json");
    assert_eq!(v["usage"]["input_tokens"], 10);
}

#[tokio::test]
async fn responses_stream_passes_through_and_logs_usage_cost_and_ttft() {
    let h = Harness::start("").await;
    h.mock.push(Reply::Items {
        items: vec![
            mock::reasoning("thinking"),
            mock::message("hello there friend"),
        ],
        usage: mock::usage(1200, 1000, 40, 8),
    });
    let r = h
        .post(
            "/openai/v1/responses",
            responses_body("openai/gpt-5.5", true),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()
            .get("x-bifrost-provider")
            .and_then(|v| v.to_str().ok()),
        Some("openai")
    );
    let text = r.text().await.expect("body");
    assert_eq!(
        text.matches("response.output_item.done").count(),
        4,
        "2 items: event line + data each"
    );
    assert!(text.contains("\"delta\":\"hello \""));
    assert!(text.contains("response.completed"));
    let rows = h.rows().await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        (
            row.input_tokens,
            row.cached_input_tokens,
            row.output_tokens,
            row.reasoning_tokens
        ),
        (1200, 1000, 40, 8)
    );
    assert_eq!(row.status, "ok");
    assert!(row.stream);
    assert!(row.ttft_ms.is_some());
    assert_eq!(row.session_id.as_deref(), Some("sess-1"));
    // gpt-5.5 from the embedded table: 200 × 5.0 + 1000 × 0.5 + 40 × 30.0 micro-USD.
    let p = bifrost::pricing::lookup(&Default::default(), "openai", "openai", "gpt-5.5")
        .expect("gpt-5.5 priced");
    let want = (200.0 * p.input + 1000.0 * p.cached_input.unwrap_or(p.input) + 40.0 * p.output)
        .round()
        / 1e6;
    assert_eq!(row.cost_usd, Some(want));
}

#[tokio::test]
async fn chat_streams_always_carry_usage_upstream_and_only_when_asked_downstream() {
    let h = Harness::start("").await;
    let body = r#"{"model":"gpt-5.5","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    h.mock.push(Reply::Chat {
        text: "one two three".into(),
        usage: mock::usage(30, 0, 3, 0),
    });
    let text = h
        .post("/openai/v1/chat/completions", body)
        .await
        .text()
        .await
        .expect("body");
    // OpenAI adds `"usage":null` to each chunk once usage is on; the usage chunk itself is dropped.
    assert!(
        !text.contains("\"usage\":{"),
        "client did not ask for usage: {text}"
    );
    assert_eq!(
        text.matches("data: ").count(),
        6,
        "role, 3 words, finish, [DONE]: {text}"
    );
    assert!(text.contains("[DONE]"));
    assert_eq!(
        h.mock.seen()[0].json()["stream_options"]["include_usage"],
        true
    );

    let asked = r#"{"model":"gpt-5.5","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#;
    h.mock.push(Reply::Chat {
        text: "four".into(),
        usage: mock::usage(31, 0, 1, 0),
    });
    let text2 = h
        .post("/v1/chat/completions", asked)
        .await
        .text()
        .await
        .expect("body");
    assert!(
        text2.contains("\"prompt_tokens\":31"),
        "client asked for usage: {text2}"
    );
    assert_eq!(
        h.mock.seen()[1].body,
        asked.as_bytes(),
        "untouched when the client asked itself"
    );

    let rows = h.rows().await;
    assert_eq!(
        rows.iter()
            .map(|r| (r.input_tokens, r.output_tokens))
            .collect::<Vec<_>>(),
        vec![(30, 3), (31, 1)]
    );
    assert!(rows.iter().all(|r| r.ttft_ms.is_some() && r.status == "ok"));
}

#[tokio::test]
async fn bad_input_gets_clear_openai_errors_and_is_logged() {
    let h = Harness::start("[gateway]\nmax_request_bytes = 4096\n").await;
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "/openai/v1/responses",
            "{\"model\": \"gpt-5.5\", ".into(),
            400,
            "not valid JSON",
        ),
        (
            "/openai/v1/responses",
            "[1,2]".into(),
            400,
            "must be a JSON object",
        ),
        (
            "/openai/v1/responses",
            "{\"input\": []}".into(),
            400,
            "no `model`",
        ),
        (
            "/openai/v1/responses",
            format!(
                "{{\"model\":\"gpt-5.5\",\"input\":\"{}\"}}",
                "x".repeat(5000)
            ),
            413,
            "limit of 4096 bytes",
        ),
        (
            "/openai/v1/responses",
            "{\"model\":\"anthropic/claude\",\"input\":\"x\"}".into(),
            400,
            "configured providers: dead, ollama, openai",
        ),
        (
            "/openai/v1/chat/completions",
            "{\"model\":\"openai/\",\"messages\":[]}".into(),
            400,
            "no model",
        ),
    ];
    for (path, body, status, needle) in &cases {
        let r = h.post(path, body.clone()).await;
        assert_eq!(r.status().as_u16(), *status, "{body:.60}");
        let v: Value = r.json().await.expect("json error body");
        let msg = v["error"]["message"].as_str().unwrap_or("");
        assert!(msg.contains(needle), "{msg:?} should contain {needle:?}");
    }
    let r = h
        .http
        .post(h.url("/v1/responses"))
        .bearer_auth(KEY)
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    assert!(h.mock.seen().is_empty(), "nothing bad went upstream");
    let rows = h.rows().await;
    assert_eq!(
        rows.len(),
        cases.len() + 1,
        "every rejected request is logged"
    );
    assert!(
        rows.iter()
            .all(|r| r.status == "error" && r.error.is_some())
    );
    // The gateway is still alive.
    assert_eq!(
        h.http
            .get(h.url("/health"))
            .send()
            .await
            .expect("health")
            .status(),
        200
    );
}

#[tokio::test]
async fn upstream_errors_keep_status_and_message_and_are_logged() {
    let h = Harness::start("[gateway]\nmax_retries = 0\n").await;
    h.mock.push(Reply::Json(500, json!({"error": {"message": "mock upstream exploded", "type": "server_error", "code": "boom"}})));
    let r = h
        .post("/openai/v1/responses", responses_body("gpt-5.5", true))
        .await;
    assert_eq!(r.status(), 500);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["message"], "mock upstream exploded");

    h.mock
        .push(Reply::Raw(503, "<html>bad gateway</html>".into()));
    let r = h
        .post("/openai/v1/responses", responses_body("gpt-5.5", false))
        .await;
    assert_eq!(r.status(), 503);
    let v: Value = r.json().await.expect("wrapped in OpenAI format");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("bad gateway")
    );

    let r = h
        .post(
            "/openai/v1/responses",
            responses_body("dead/gpt-5.5", false),
        )
        .await;
    assert_eq!(r.status(), 502);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["code"], "upstream_unreachable");

    let rows = h.rows().await;
    assert_eq!(rows[0].http_status, 500);
    assert_eq!(
        rows[0].error.as_deref(),
        Some("openai returned HTTP 500 (boom): mock upstream exploded")
    );
    assert!(
        rows[1]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("<html>bad gateway</html>")
    );
    assert!(
        rows[2]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("cannot reach provider dead")
    );
}

#[tokio::test]
async fn a_stream_cut_mid_way_ends_in_response_failed_and_an_error_row() {
    let h = Harness::start("").await;
    h.mock.push(Reply::Cut(vec![
        json!({"type": "response.created", "response": {"id": "r1"}}),
        json!({"type": "response.output_text.delta", "delta": "partial"}),
    ]));
    let text = h
        .post("/openai/v1/responses", responses_body("gpt-5.5", true))
        .await
        .text()
        .await
        .expect("body");
    assert!(text.contains("partial"));
    assert!(text.ends_with("\n\n"));
    let last = text.trim_end().rsplit("\n\n").next().unwrap_or("");
    assert!(
        last.contains("\"type\":\"response.failed\"") && last.contains("server_error"),
        "{last}"
    );
    let rows = h.rows().await;
    assert!(
        rows[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("ended before it completed")
    );
}

#[tokio::test]
async fn websocket_upgrades_get_426_and_health_answers() {
    let h = Harness::start("").await;
    let r = h
        .http
        .get(h.url("/openai/v1/responses"))
        .header("upgrade", "websocket")
        .header("connection", "upgrade")
        .bearer_auth(KEY)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 426);
    let health: Value = h
        .http
        .get(h.url("/health"))
        .send()
        .await
        .expect("h")
        .json()
        .await
        .expect("json");
    assert_eq!(health["status"], "ok");
    let r = h.http.get(h.url("/nope")).send().await.expect("send");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn embeddings_and_models_pass_through() {
    let h = Harness::start("").await;
    let r = h
        .post(
            "/openai/v1/embeddings",
            r#"{"model":"text-embedding-3-small","input":"hi"}"#,
        )
        .await;
    assert_eq!(r.status(), 200);
    let models: Value = h
        .http
        .get(h.url("/v1/models"))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("m")
        .json()
        .await
        .expect("json");
    assert!(
        models["data"]
            .as_array()
            .map(|d| d.iter().any(|m| m["id"] == "openai/gpt-5.5"))
            .unwrap_or(false),
        "{models}"
    );
    let rows = h.rows().await;
    assert_eq!(rows[0].input_tokens, 7);
}

#[tokio::test]
async fn shutdown_drains_in_flight_streams_and_keeps_their_rows() {
    let h = Harness::start("").await;
    h.mock.push(Reply::Delay(
        Duration::from_millis(400),
        Box::new(Reply::Items {
            items: vec![mock::message("late")],
            usage: mock::usage(5, 0, 1, 0),
        }),
    ));
    let http = h.http.clone();
    let url = h.url("/openai/v1/responses");
    let req = tokio::spawn(async move {
        http.post(url)
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(responses_body("gpt-5.5", true))
            .send()
            .await
            .expect("send")
            .text()
            .await
            .expect("text")
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let Harness {
        gw,
        writer,
        dir,
        mock: _mock,
        ..
    } = h;
    assert_eq!(gw.in_flight(), 1);
    let cut = gw.shutdown(Duration::from_secs(5)).await;
    assert_eq!(cut, 0);
    assert!(req.await.expect("join").contains("late"));
    writer.flush().await;
    let conn = store::open(&dir.path().join("logs.db")).expect("open");
    let rows = store::requests(&conn, &LogFilter::default()).expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "ok");
    assert_nowhere(dir.path(), CANARY);
}
