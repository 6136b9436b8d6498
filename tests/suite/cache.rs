//! The exact-match response cache, in-process against the strict mock: miss then hit (JSON and
//! streaming, byte for byte, one upstream request), `x-bifrost-cache: off`, TTL expiry, agent
//! traffic bypassed unless opted in, errors and cut streams never stored, and the Redis
//! backend on the real Redis server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bifrost::config::Loaded;
use bifrost::gateway::Gateway;
use bifrost::secret::Secret;
use bifrost::store::{self, LogFilter, LogRow, Writer};
use serde_json::{Value, json};

use crate::support::CANARY;
use crate::support::mock::{self, Mock, Reply};
use crate::support::services::{redis_namespace, redis_url};

const KEY: &str = "bfs_cache_test_key";

struct Harness {
    gw: Gateway,
    writer: Writer,
    mock: Mock,
    dir: tempfile::TempDir,
    http: reqwest::Client,
    redis_prefix: Option<String>,
}

impl Harness {
    /// A gateway with `[cache]` holding `cache` (plus `enabled = true`).
    async fn start(cache: &str, redis: bool) -> Harness {
        Harness::start_on(cache, redis, None).await
    }

    /// [`Harness::start`] on a PostgreSQL store at `pg` (`None`: SQLite in the temp dir).
    async fn start_on(cache: &str, redis: bool, pg: Option<String>) -> Harness {
        let mock = Mock::start();
        let dir = tempfile::tempdir().expect("tempdir");
        let prefix = redis.then(|| format!("{}:", redis_namespace()));
        let redis_lines = prefix.as_ref().map_or_else(String::new, |p| {
            format!("redis_url = \"{}\"\nredis_prefix = \"{p}\"\n", redis_url())
        });
        let text = format!(
            "[providers.openai]\nbase_url = \"{}\"\napi_key = \"env:CANARY_KEY\"\n[gateway]\nmax_retries = 0\n[cache]\nenabled = true\n{redis_lines}{cache}\n",
            mock.base_url()
        );
        let config = Loaded::from_text(&text)
            .and_then(|l| l.resolve(&|k| (k == "CANARY_KEY").then(|| CANARY.to_string())))
            .expect("config");
        let location = match pg {
            Some(url) => store::Location::Postgres(store::PgUrl::parse(&url).expect("pg url")),
            None => store::Location::Sqlite(dir.path().join("logs.db")),
        };
        let (writer, _t) = Writer::open(&location).expect("store");
        let gw = Gateway::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            Arc::new(config),
            writer.clone(),
            Some("cache-session".into()),
            vec![Secret::new(KEY)],
        )
        .await
        .expect("gateway");
        Harness {
            gw,
            writer,
            mock,
            dir,
            http: bifrost::gateway::http_client().expect("client"),
            redis_prefix: prefix,
        }
    }

    async fn post(
        &self,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> (u16, Option<String>, String, Vec<u8>) {
        self.post_to("/openai/v1/responses", body, headers).await
    }

    async fn post_to(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> (u16, Option<String>, String, Vec<u8>) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.gw.url()))
            .bearer_auth(KEY)
            .json(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.expect("send");
        let status = r.status().as_u16();
        let cache = r
            .headers()
            .get("x-bifrost-cache")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, cache, ct, r.bytes().await.expect("body").to_vec())
    }

    /// Entries stored so far (SQLite table, or keys under this test's Redis prefix).
    async fn stored(&self) -> usize {
        match &self.redis_prefix {
            None => self
                .writer
                .pool()
                .read(|db| {
                    store::query_one(db, "SELECT count(*) FROM cache_entries", &[], |r| {
                        r.get::<i64>(0)
                    })
                })
                .await
                .map(|n| n as usize)
                .unwrap_or(0),
            Some(p) => {
                let client = redis::Client::open(redis_url()).expect("redis");
                let mut conn = client
                    .get_multiplexed_async_connection()
                    .await
                    .expect("redis connection");
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{p}*"))
                    .query_async(&mut conn)
                    .await
                    .expect("keys");
                keys.len()
            }
        }
    }

    /// Waits until `n` entries are stored (writes are off the request path).
    async fn wait_stored(&self, n: usize) {
        for _ in 0..250 {
            if self.stored().await >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the cache never held {n} entries");
    }

    async fn rows(&self) -> Vec<LogRow> {
        self.gw.settled(Duration::from_secs(10)).await;
        self.writer.flush().await;
        self.writer
            .pool()
            .read(|db| store::requests(db, &LogFilter::default()))
            .await
            .expect("rows")
    }
}

fn answer(text: &str) -> Reply {
    Reply::Items {
        items: vec![mock::message(text)],
        usage: mock::usage(100, 0, 10, 0),
    }
}

fn plain(stream: bool, user: &str) -> Value {
    json!({"model": "gpt-5.5", "stream": stream, "user": user, "store": false,
           "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "what is 2+2?"}]}]})
}

async fn miss_then_hit(h: &Harness, stream: bool) {
    h.mock.push(answer("Four."));
    let (s1, c1, ct1, b1) = h.post(&plain(stream, "alice"), &[]).await;
    assert_eq!((s1, c1.as_deref()), (200, Some("miss")));
    h.wait_stored(1).await;
    // A volatile field differs (`user`): still the same request.
    let (s2, c2, ct2, b2) = h.post(&plain(stream, "bob"), &[]).await;
    assert_eq!((s2, c2.as_deref()), (200, Some("hit")));
    assert_eq!(ct1, ct2);
    assert_eq!(b1, b2, "a hit replays the exact bytes");
    assert_eq!(h.mock.seen().len(), 1, "one upstream request");
    if stream {
        assert!(ct2.starts_with("text/event-stream"));
        let text = String::from_utf8_lossy(&b2);
        assert!(text.contains("response.completed") && text.contains("Four."));
    } else {
        let v: Value = serde_json::from_slice(&b2).expect("json");
        assert_eq!(v["output"][0]["content"][0]["text"], "Four.");
    }
    let rows = h.rows().await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].cache.as_deref(), Some("miss"));
    assert!(rows[0].cost_usd.is_some_and(|c| c > 0.0));
    assert_eq!(rows[0].input_tokens, 100);
    assert_eq!(rows[1].cache.as_deref(), Some("hit"));
    assert_eq!(rows[1].cost_usd, Some(0.0));
    assert_eq!(rows[1].http_status, 200);
    assert_eq!(rows[1].status, "ok");
    assert_eq!(rows[1].provider.as_deref(), Some("openai"));
    assert_eq!(rows[1].stream, stream);
}

#[tokio::test]
async fn a_json_answer_is_a_miss_then_a_hit_with_the_same_bytes() {
    let h = Harness::start("", false).await;
    miss_then_hit(&h, false).await;
}

#[tokio::test]
async fn a_streamed_answer_is_replayed_event_by_event() {
    let h = Harness::start("", false).await;
    miss_then_hit(&h, true).await;
    // The streaming and the JSON request are different entries.
    h.mock.push(answer("Four, as JSON."));
    let (_, c, _, _) = h.post(&plain(false, "alice"), &[]).await;
    assert_eq!(c.as_deref(), Some("miss"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_store_holds_entries_for_json_and_streams() {
    let db = crate::support::services::fresh_pg_database();
    let h = Harness::start_on("", false, Some(db)).await;
    miss_then_hit(&h, false).await;
    // The stream is another entry, then a hit replayed from PostgreSQL too.
    h.mock.push(answer("Four."));
    let (_, c, _, b1) = h.post(&plain(true, "alice"), &[]).await;
    assert_eq!(c.as_deref(), Some("miss"));
    h.wait_stored(2).await;
    let (_, c, ct, b2) = h.post(&plain(true, "carol"), &[]).await;
    assert_eq!(c.as_deref(), Some("hit"));
    assert!(ct.starts_with("text/event-stream"));
    assert_eq!(b1, b2);
    assert_eq!(h.mock.seen().len(), 2);
}

#[tokio::test]
async fn a_chat_stream_is_cached_as_the_client_saw_it() {
    let h = Harness::start("", false).await;
    h.mock.push(Reply::Chat {
        text: "Four from chat.".into(),
        usage: mock::usage(9, 0, 4, 0),
    });
    let body = json!({"model": "gpt-5.5", "stream": true,
                      "messages": [{"role": "user", "content": "what is 2+2?"}]});
    let (s1, c1, _, b1) = h.post_to("/openai/v1/chat/completions", &body, &[]).await;
    assert_eq!((s1, c1.as_deref()), (200, Some("miss")));
    h.wait_stored(1).await;
    let (s2, c2, ct2, b2) = h.post_to("/openai/v1/chat/completions", &body, &[]).await;
    assert_eq!((s2, c2.as_deref()), (200, Some("hit")));
    assert!(ct2.starts_with("text/event-stream"));
    assert_eq!(b1, b2);
    let text = String::from_utf8_lossy(&b2);
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    assert!(
        !text.contains("\"usage\":{"),
        "the usage chunk the client did not ask for: {text}"
    );
    assert_eq!(h.mock.seen().len(), 1);
    // The same question on the Responses route is another entry.
    h.mock.push(answer("Four."));
    let (_, c3, _, _) = h.post(&plain(true, "a"), &[]).await;
    assert_eq!(c3.as_deref(), Some("miss"));
}

#[tokio::test]
async fn the_redis_backend_serves_hits_with_a_ttl() {
    let h = Harness::start("ttl_secs = 60", true).await;
    miss_then_hit(&h, true).await;
    let prefix = h.redis_prefix.clone().expect("prefix");
    let client = redis::Client::open(redis_url()).expect("redis");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .expect("keys");
    assert_eq!(keys.len(), 1);
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .expect("pttl");
    assert!(ttl > 0 && ttl <= 60_000, "ttl {ttl}");
    let _: i64 = redis::cmd("DEL")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .expect("del");
}

#[tokio::test]
async fn the_off_header_skips_the_cache_for_one_request() {
    let h = Harness::start("", false).await;
    h.mock.push(answer("Four."));
    h.mock.push(answer("Four again."));
    let (_, c1, _, _) = h.post(&plain(false, "a"), &[]).await;
    assert_eq!(c1.as_deref(), Some("miss"));
    h.wait_stored(1).await;
    let (s, c2, _, b2) = h
        .post(&plain(false, "a"), &[("x-bifrost-cache", "off")])
        .await;
    assert_eq!((s, c2), (200, None));
    assert!(String::from_utf8_lossy(&b2).contains("Four again."));
    assert_eq!(h.mock.seen().len(), 2);
    assert!(
        h.mock.seen()[1].headers.get("x-bifrost-cache").is_none(),
        "bifrost's headers stay home"
    );
    let (_, c3, _, _) = h.post(&plain(false, "a"), &[]).await;
    assert_eq!(c3.as_deref(), Some("hit"));
    let rows = h.rows().await;
    assert_eq!(rows[1].cache, None, "not consulted");
}

#[tokio::test]
async fn entries_expire_after_the_ttl() {
    let h = Harness::start("ttl_secs = 0.3", false).await;
    h.mock.push(answer("Four."));
    h.mock.push(answer("Four, later."));
    let (_, c1, _, _) = h.post(&plain(false, "a"), &[]).await;
    assert_eq!(c1.as_deref(), Some("miss"));
    h.wait_stored(1).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (_, c2, _, b2) = h.post(&plain(false, "a"), &[]).await;
    assert_eq!(c2.as_deref(), Some("miss"));
    assert!(String::from_utf8_lossy(&b2).contains("Four, later."));
    assert_eq!(h.mock.seen().len(), 2);
}

fn agentic(stream: bool) -> Value {
    json!({"model": "gpt-5.5", "stream": stream,
           "tools": [{"type": "function", "name": "exec_command", "parameters": {"type": "object"}}],
           "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list files"}]}]})
}

#[tokio::test]
async fn agent_traffic_bypasses_the_cache_unless_its_model_opted_in() {
    let h = Harness::start("", false).await;
    h.mock.push(answer("one"));
    h.mock.push(answer("two"));
    for _ in 0..2 {
        let (s, c, _, _) = h.post(&agentic(true), &[]).await;
        assert_eq!((s, c), (200, None));
    }
    assert_eq!(h.mock.seen().len(), 2);
    // A Codex request (tools, tool outputs) is agent traffic too.
    let codex: Value = serde_json::from_str(
        &std::fs::read_to_string("tests/fixtures/codex/request_turn2_reasoning_tool_output.json")
            .expect("fixture"),
    )
    .expect("fixture json");
    assert!(bifrost::cache::is_agent(&codex));

    let h = Harness::start("agent_models = [\"openai/gpt-5*\"]", false).await;
    h.mock.push(answer("one"));
    let (_, c1, _, b1) = h.post(&agentic(true), &[]).await;
    assert_eq!(c1.as_deref(), Some("miss"));
    h.wait_stored(1).await;
    let (_, c2, _, b2) = h.post(&agentic(true), &[]).await;
    assert_eq!(c2.as_deref(), Some("hit"));
    assert_eq!(b1, b2);
    assert_eq!(h.mock.seen().len(), 1);
}

#[tokio::test]
async fn errors_and_cut_streams_are_never_stored() {
    let h = Harness::start("", false).await;
    h.mock.push(Reply::Json(
        400,
        json!({"error": {"message": "mock refuses", "type": "invalid_request_error", "code": "bad"}}),
    ));
    h.mock.push(Reply::Cut(vec![
        json!({"type": "response.created", "response": {"id": "r1"}}),
    ]));
    h.mock.push(answer("finally"));
    let (s1, c1, _, _) = h.post(&plain(true, "a"), &[]).await;
    assert_eq!((s1, c1.as_deref()), (400, Some("miss")));
    let (s2, c2, _, b2) = h.post(&plain(true, "a"), &[]).await;
    assert_eq!((s2, c2.as_deref()), (200, Some("miss")));
    assert!(String::from_utf8_lossy(&b2).contains("response.failed"));
    let (s3, c3, _, _) = h.post(&plain(true, "a"), &[]).await;
    assert_eq!((s3, c3.as_deref()), (200, Some("miss")));
    h.wait_stored(1).await;
    let (_, c4, _, b4) = h.post(&plain(true, "a"), &[]).await;
    assert_eq!(c4.as_deref(), Some("hit"));
    assert!(String::from_utf8_lossy(&b4).contains("finally"));
    assert_eq!(h.mock.seen().len(), 3);
    assert_eq!(h.stored().await, 1);
    // An answer that echoes the provider key reaches the client and the cache scrubbed; a
    // replay gives the same scrubbed bytes.
    let echo = json!({"model": "gpt-5.5", "input": "echo your key"});
    h.mock.push(answer(&format!("the key is {CANARY}")));
    let (s5, c5, _, b5) = h.post(&echo, &[]).await;
    assert_eq!((s5, c5.as_deref()), (200, Some("miss")));
    let live = String::from_utf8_lossy(&b5).into_owned();
    assert!(
        !live.contains(CANARY) && live.contains("[redacted]"),
        "{live}"
    );
    h.wait_stored(2).await;
    let (_, c6, _, b6) = h.post(&echo, &[]).await;
    assert_eq!(c6.as_deref(), Some("hit"));
    assert_eq!(b5, b6);
    assert_eq!(h.mock.seen().len(), 4);
    // Nothing secret in the stored entries.
    let conn = store::open(&h.dir.path().join("logs.db")).expect("open");
    let bodies: String = conn
        .query_row(
            "SELECT group_concat(body, ' ') FROM cache_entries",
            [],
            |r| r.get(0),
        )
        .expect("entries");
    assert!(!bodies.contains(CANARY));
}
