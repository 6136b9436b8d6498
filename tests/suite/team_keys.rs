//! Virtual keys through real `bifrost serve` processes: the `bifrost keys` CLI, and two
//! instances sharing one real PostgreSQL database (or Redis for the counters) that must agree
//! on a key's rate limit, budget, revocation and rotation; the allow-list, expiry, the
//! embedded SQLite path, and the admin endpoints. Only the model provider is a mock.

use std::io::BufRead;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::mock::Mock;
use crate::support::services::{fresh_pg_database, redis_namespace, redis_url};
use crate::support::{World, text};

const STATIC_KEY: &str = "bfs_team_keys_static_key";
const ADMIN_KEY: &str = "bfa_team_keys_admin_key_0123456789";

/// $0.10 per token in and out: the mock's default answer (10 in, 5 out) costs $1.50.
const PRICED: &str = "[pricing.\"openai/gpt-5.5\"]\ninput = 100000.0\noutput = 100000.0\n";

/// A world whose config points at `mock`, with a static key, the admin key and `extra`.
fn world(mock: &Mock, extra: &str) -> World {
    let w = World::new();
    w.config_for(
        mock,
        &format!(
            "[server]\nkeys = [\"{STATIC_KEY}\"]\nadmin_keys = [\"env:BIFROST_TEST_ADMIN_KEY\"]\n[gateway]\nmax_retries = 0\n{extra}\n{PRICED}"
        ),
    );
    w
}

/// `bifrost ...` in `w` against the store at `store` (`None`: the world's logs.db).
fn bifrost(w: &World, store: Option<&str>) -> std::process::Command {
    let mut c = w.bifrost();
    c.env("BIFROST_TEST_ADMIN_KEY", ADMIN_KEY);
    match store {
        Some(url) => c.env("BIFROST_STORE_URL", url),
        None => c.env_remove("BIFROST_STORE_URL"),
    };
    c
}

fn keys(w: &World, store: Option<&str>, args: &[&str]) -> Output {
    bifrost(w, store)
        .arg("keys")
        .args(args)
        .output()
        .expect("bifrost keys")
}

/// `bifrost keys create ARGS`: the key printed on stdout.
fn create(w: &World, store: Option<&str>, args: &[&str]) -> String {
    let out = keys(w, store, &[&["create"], args].concat());
    assert!(out.status.success(), "create: {}", text(&out.stderr));
    let key = text(&out.stdout).trim().to_string();
    assert!(key.starts_with("bfk_") && key.len() == 68, "{key}");
    key
}

/// A running `bifrost serve`, stopped with SIGTERM when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(w: &World, store: Option<&str>) -> Server {
        let mut child = bifrost(w, store)
            .args(["serve", "--port", "0"])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let _ = tx.send(line.unwrap_or_default());
            }
        });
        let mut seen = String::new();
        let url = loop {
            let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) else {
                let _ = child.kill();
                panic!("serve did not start: {seen}");
            };
            if line.contains("bifrost serve: listening") {
                break line
                    .split_whitespace()
                    .find(|w| w.starts_with("http://"))
                    .expect("url")
                    .to_string();
            }
            seen.push_str(&line);
            seen.push('\n');
        };
        Server {
            child,
            base: url.trim_end_matches("/openai/v1").to_string(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// One answer: status, `retry-after`, body.
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

async fn call(base: &str, key: &str, model: &str, stream: bool) -> Answer {
    let http = bifrost::gateway::http_client().expect("client");
    call_with(&http, base, key, model, stream).await
}

async fn call_with(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    model: &str,
    stream: bool,
) -> Answer {
    let r = http
        .post(format!("{base}/v1/responses"))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(json!({"model": model, "stream": stream, "input": "hi"}).to_string())
        .send()
        .await
        .expect("send");
    Answer {
        status: r.status().as_u16(),
        retry_after: r
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()),
        body: r.text().await.expect("body"),
    }
}

async fn admin(base: &str, key: Option<&str>, method: &str, path: &str, body: Value) -> Answer {
    let http = bifrost::gateway::http_client().expect("client");
    let url = format!("{base}{path}");
    let mut r = if method == "GET" {
        http.get(url)
    } else {
        http.post(url).body(body.to_string())
    };
    if let Some(k) = key {
        r = r.bearer_auth(k);
    }
    let r = r.send().await.expect("admin");
    Answer {
        status: r.status().as_u16(),
        retry_after: None,
        body: r.text().await.expect("body"),
    }
}

/// Rate tests count within one fixed minute: start them clear of its end.
async fn clear_of_minute_end() {
    let ms = jiff::Timestamp::now().as_millisecond().rem_euclid(60_000);
    if ms > 45_000 {
        tokio::time::sleep(Duration::from_millis((60_000 - ms + 200) as u64)).await;
    }
}

/// Every row of every table in the database, as text.
fn pg_dump(url: &str) -> String {
    let url = url.to_string();
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        let tables: Vec<String> = c
            .query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
                &[],
            )
            .expect("tables")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(tables.iter().any(|t| t == "virtual_keys"), "{tables:?}");
        let mut all = String::new();
        for t in tables {
            for r in c
                .query(&format!("SELECT row_to_json(t)::text FROM {t} t"), &[])
                .expect("rows")
            {
                all.push_str(&r.get::<_, String>(0));
                all.push('\n');
            }
        }
        all
    })
    .join()
    .expect("pg thread")
}

/// The one number a `SELECT count(*) ...` returns.
fn pg_count(url: &str, sql: &str) -> i64 {
    let (url, sql) = (url.to_string(), sql.to_string());
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        c.query_one(&sql, &[]).expect("count").get::<_, i64>(0)
    })
    .join()
    .expect("pg thread")
}

fn pg_exec(url: &str, sql: &str) {
    let (url, sql) = (url.to_string(), sql.to_string());
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        c.batch_execute(&sql).expect("sql");
    })
    .join()
    .expect("pg thread");
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn one_line_usage_error(out: &Output, needle: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{err}");
}

#[test]
fn keys_cli_round_trip_shows_the_key_once_and_stores_only_its_hash() {
    let m = Mock::start();
    let w = world(&m, "");
    let db = fresh_pg_database();
    let store = Some(db.as_str());
    let out = keys(
        &w,
        store,
        &[
            "create",
            "--name",
            "alice",
            "--budget-usd",
            "50/month",
            "--rpm",
            "60",
            "--tpm",
            "100000",
            "--models",
            "anthropic/*,openai/gpt-5.5",
            "--expires",
            "30d",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let first = text(&out.stdout).trim().to_string();
    assert!(first.starts_with("bfk_") && first.len() == 68, "{first}");
    assert!(
        !text(&out.stderr).contains(&first),
        "the key goes to stdout only"
    );

    let listed = keys(&w, store, &["list", "--json"]);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let rows: Value = serde_json::from_slice(&listed.stdout).expect("json");
    let alice = &rows[0];
    assert_eq!(alice["name"], "alice");
    assert_eq!(alice["state"], "active");
    assert_eq!(alice["rpm"], 60);
    assert_eq!(alice["tpm"], 100000);
    assert_eq!(
        alice["budget"],
        json!({"micro_usd": 50_000_000, "period": "month"})
    );
    assert_eq!(alice["models"], json!(["anthropic/*", "openai/gpt-5.5"]));
    assert_eq!(alice["spend_micro_usd"], 0);
    assert!(first.starts_with(alice["prefix"].as_str().expect("prefix")));
    assert!(!text(&listed.stdout).contains(&first));
    let table = keys(&w, store, &["list"]);
    let table = text(&table.stdout);
    assert!(
        table.contains("alice") && table.contains("$50.00/month") && table.contains("active"),
        "{table}"
    );

    let rotated = keys(&w, store, &["rotate", "alice"]);
    assert!(rotated.status.success(), "{}", text(&rotated.stderr));
    let second = text(&rotated.stdout).trim().to_string();
    assert!(second.starts_with("bfk_") && second != first);

    let dump = pg_dump(&db);
    assert!(!dump.contains(&first) && !dump.contains(&second), "{dump}");
    assert!(!dump.contains(&first[4..]) && !dump.contains(&second[4..]));
    assert!(
        dump.contains(&sha256_hex(&second)),
        "the hash is what is stored"
    );
    assert!(
        !dump.contains(&sha256_hex(&first)),
        "rotation replaced the hash"
    );

    let revoked = keys(&w, store, &["revoke", "alice"]);
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    let rows: Value =
        serde_json::from_slice(&keys(&w, store, &["list", "--json"]).stdout).expect("json");
    assert_eq!(rows[0]["state"], "revoked");

    one_line_usage_error(
        &keys(&w, store, &["create", "--name", "alice"]),
        "already exists",
    );
    one_line_usage_error(
        &keys(
            &w,
            store,
            &["create", "--name", "bob", "--budget-usd", "50/week"],
        ),
        "50/month",
    );
    one_line_usage_error(
        &keys(&w, store, &["create", "--name", "bob", "--rpm", "0"]),
        "--rpm",
    );
    one_line_usage_error(
        &keys(&w, store, &["create", "--name", "bob", "--expires", "soon"]),
        "--expires",
    );
    one_line_usage_error(&keys(&w, store, &["revoke", "nobody"]), "keys list");
    one_line_usage_error(&keys(&w, store, &["rotate", "alice"]), "revoked");
    // Nothing under BIFROST_HOME holds either key.
    crate::support::assert_nowhere(&w.home(), &first);
    crate::support::assert_nowhere(&w.home(), &second);
}

/// Sends `n` requests alternating between the servers; returns the answers in order.
async fn alternate(servers: &[&Server], key: &str, n: usize) -> Vec<Answer> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(
            call(
                &servers[i % servers.len()].base,
                key,
                "openai/gpt-5.5",
                false,
            )
            .await,
        );
    }
    out
}

fn assert_exactly_n_then_429(answers: &[Answer], n: usize) {
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    let mut expected = vec![200; n];
    expected.resize(answers.len(), 429);
    assert_eq!(
        statuses,
        expected,
        "{:?}",
        answers.iter().map(|a| &a.body).collect::<Vec<_>>()
    );
    for a in &answers[n..] {
        assert_eq!(a.code(), "rate_limit_exceeded", "{}", a.body);
        let wait = a.retry_after.expect("retry-after");
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(
            a.body.contains(&format!("try again in {wait}s")),
            "{}",
            a.body
        );
    }
}

#[tokio::test]
async fn rate_limit_holds_across_two_instances_sharing_postgres() {
    let m = Mock::start();
    let db = fresh_pg_database();
    let (w1, w2) = (world(&m, ""), world(&m, ""));
    let key = create(&w1, Some(&db), &["--name", "alice", "--rpm", "4"]);
    let (s1, s2) = (Server::start(&w1, Some(&db)), Server::start(&w2, Some(&db)));
    clear_of_minute_end().await;
    let answers = alternate(&[&s1, &s2], &key, 7).await;
    assert_exactly_n_then_429(&answers, 4);
    // The static key is not limited by anyone's virtual key.
    assert_eq!(
        call(&s1.base, STATIC_KEY, "openai/gpt-5.5", false)
            .await
            .status,
        200
    );
    assert_eq!(
        m.seen().len(),
        5,
        "refused requests never reach the provider"
    );
    // Revoked with the CLI (the store, no server involved): both instances refuse it.
    let out = keys(&w1, Some(&db), &["revoke", "alice"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for s in [&s1, &s2] {
        let took = until_401(&s.base, &key).await;
        assert!(
            took <= Duration::from_secs(1),
            "CLI revocation took {took:?}"
        );
    }
    drop((s1, s2));
    // Both instances logged into the shared store, with the key's name, never the key.
    let served = pg_count(
        &db,
        "SELECT count(*) FROM requests WHERE http_status = 200 AND virtual_key = 'alice'",
    );
    assert_eq!(served, 4);
    assert_eq!(
        pg_count(
            &db,
            "SELECT count(DISTINCT session_id) FROM requests WHERE http_status = 200"
        ),
        2,
        "both instances wrote their rows"
    );
    assert!(!pg_dump(&db).contains(&key));
    for w in [&w1, &w2] {
        crate::support::assert_nowhere(&w.home(), &key);
    }
}

#[tokio::test]
async fn rate_limit_holds_across_two_instances_with_redis_counters() {
    let m = Mock::start();
    let db = fresh_pg_database();
    let ns = redis_namespace();
    let limits = format!(
        "[limits]\nredis_url = \"{}\"\nredis_prefix = \"{ns}\"\n",
        redis_url()
    );
    let (w1, w2) = (world(&m, &limits), world(&m, &limits));
    let key = create(&w1, Some(&db), &["--name", "carol", "--rpm", "3"]);
    let (s1, s2) = (Server::start(&w1, Some(&db)), Server::start(&w2, Some(&db)));
    clear_of_minute_end().await;
    let answers = alternate(&[&s1, &s2], &key, 6).await;
    assert_exactly_n_then_429(&answers, 3);
    // The counters are in Redis under the namespace, not in the SQL store.
    let client = redis::Client::open(redis_url()).expect("redis url");
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let found: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{ns}:vk:*:requests"))
        .query_async(&mut con)
        .await
        .expect("keys");
    assert_eq!(found.len(), 1, "{found:?}");
    let count: i64 = redis::cmd("GET")
        .arg(&found[0])
        .query_async(&mut con)
        .await
        .expect("get");
    assert_eq!(count, 6);
    assert!(
        !pg_dump(&db).contains("\"requests\":"),
        "no SQL counter rows"
    );
}

#[tokio::test]
async fn a_budget_spent_through_one_instance_is_refused_on_the_other() {
    let m = Mock::start();
    let db = fresh_pg_database();
    let (w1, w2) = (world(&m, ""), world(&m, ""));
    let key = create(&w1, Some(&db), &["--name", "dave", "--budget-usd", "1/day"]);
    let (s1, s2) = (Server::start(&w1, Some(&db)), Server::start(&w2, Some(&db)));
    // One request costs $1.50, past the $1 a day.
    assert_eq!(
        call(&s1.base, &key, "openai/gpt-5.5", false).await.status,
        200
    );
    // The cost is added after the response, off the request path: wait for it to land.
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let a = call(&s2.base, &key, "openai/gpt-5.5", false).await;
        if a.status != 200 {
            break a;
        }
        assert!(
            Instant::now() < deadline,
            "the spend never reached instance 2"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.code(), "insufficient_quota", "{}", refused.body);
    assert!(
        refused.body.contains("dave") && refused.body.contains("$1.00/day"),
        "{}",
        refused.body
    );
    // A Responses stream (Codex) gets the refusal as `response.failed`.
    let streamed = call(&s2.base, &key, "openai/gpt-5.5", true).await;
    assert_eq!(streamed.status, 200);
    let failed = streamed
        .body
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str::<Value>(d).expect("event"))
        .expect("an event");
    assert_eq!(failed["type"], "response.failed");
    assert_eq!(failed["response"]["error"]["code"], "insufficient_quota");
    let listed: Value =
        serde_json::from_slice(&keys(&w2, Some(&db), &["list", "--json"]).stdout).expect("json");
    assert_eq!(listed[0]["spend_micro_usd"], 1_500_000);
}

#[tokio::test]
async fn revocation_and_rotation_on_one_instance_reach_the_other_within_a_second() {
    let m = Mock::start();
    let db = fresh_pg_database();
    let (w1, w2) = (world(&m, ""), world(&m, ""));
    let (s1, s2) = (Server::start(&w1, Some(&db)), Server::start(&w2, Some(&db)));
    let made = admin(
        &s1.base,
        Some(ADMIN_KEY),
        "POST",
        "/admin/keys",
        json!({"name": "erin"}),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let key = made.json()["key"].as_str().expect("key").to_string();
    let id = made.json()["virtual_key"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(
        call(&s2.base, &key, "openai/gpt-5.5", false).await.status,
        200
    );

    // Rotation: the old secret stops working on the other instance, the new one works.
    let rotated = admin(
        &s1.base,
        Some(ADMIN_KEY),
        "POST",
        &format!("/admin/keys/{id}/rotate"),
        json!({}),
    )
    .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new_key = rotated.json()["key"].as_str().expect("key").to_string();
    let took = until_401(&s2.base, &key).await;
    assert!(took <= Duration::from_secs(1), "rotation took {took:?}");
    assert_eq!(
        call(&s2.base, &new_key, "openai/gpt-5.5", false)
            .await
            .status,
        200
    );

    // Revocation.
    let revoked = admin(
        &s1.base,
        Some(ADMIN_KEY),
        "POST",
        "/admin/keys/erin/revoke",
        json!({}),
    )
    .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let took = until_401(&s2.base, &new_key).await;
    assert!(took <= Duration::from_secs(1), "revocation took {took:?}");
    let a = call(&s2.base, &new_key, "openai/gpt-5.5", false).await;
    assert_eq!(a.code(), "invalid_api_key");
    assert!(
        a.body.contains("erin") && a.body.contains("revoked"),
        "{}",
        a.body
    );
    eprintln!("revocation reached the other instance after {took:?}");
}

/// Polls until `key` gets 401; returns how long that took.
async fn until_401(base: &str, key: &str) -> Duration {
    let start = Instant::now();
    loop {
        let a = call(base, key, "openai/gpt-5.5", false).await;
        if a.status == 401 {
            return start.elapsed();
        }
        assert!(matches!(a.status, 200 | 429), "{}: {}", a.status, a.body);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "still accepted after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn allow_lists_give_403_and_expired_keys_401() {
    let m = Mock::start();
    let db = fresh_pg_database();
    let w = world(&m, "");
    let key = create(
        &w,
        Some(&db),
        &["--name", "frank", "--models", "openai/gpt-5.5,anthropic/*"],
    );
    let s = Server::start(&w, Some(&db));
    assert_eq!(
        call(&s.base, &key, "openai/gpt-5.5", false).await.status,
        200
    );
    // A bare name that routes to an allowed provider/model is allowed too.
    assert_eq!(call(&s.base, &key, "gpt-5.5", false).await.status, 200);
    let no = call(&s.base, &key, "openai/gpt-5-mini", false).await;
    assert_eq!(no.status, 403, "{}", no.body);
    assert_eq!(no.code(), "model_not_allowed");
    assert!(
        no.body.contains("openai/gpt-5.5, anthropic/*"),
        "{}",
        no.body
    );
    assert_eq!(m.seen().len(), 2);

    pg_exec(
        &db,
        "UPDATE virtual_keys SET expires_at = 1 WHERE name = 'frank'",
    );
    let took = until_401(&s.base, &key).await;
    assert!(took <= Duration::from_secs(1), "{took:?}");
    let a = call(&s.base, &key, "openai/gpt-5.5", false).await;
    assert!(a.body.contains("expired"), "{}", a.body);
    let unknown = call(
        &s.base,
        &format!("bfk_{}", "0".repeat(64)),
        "openai/gpt-5.5",
        false,
    )
    .await;
    assert_eq!(
        (unknown.status, unknown.code().as_str()),
        (401, "invalid_api_key")
    );
}

#[tokio::test]
async fn sqlite_store_and_admin_endpoints() {
    let m = Mock::start();
    let w = world(&m, "");
    let key = create(&w, None, &["--name", "gina", "--rpm", "2"]);
    let s = Server::start(&w, None);
    clear_of_minute_end().await;
    let answers = alternate(&[&s], &key, 3).await;
    assert_exactly_n_then_429(&answers, 2);
    // The static key keeps working next to virtual keys.
    assert_eq!(
        call(&s.base, STATIC_KEY, "openai/gpt-5.5", false)
            .await
            .status,
        200
    );

    // Admin endpoints: no key 401, an unknown key 401, an API key or a virtual key 403.
    let list = |k: Option<&'static str>| admin(&s.base, k, "GET", "/admin/keys", Value::Null);
    assert_eq!(list(None).await.status, 401);
    assert_eq!(list(Some("bfs_not_a_key_at_all")).await.status, 401);
    let forbidden = list(Some(STATIC_KEY)).await;
    assert_eq!(
        (forbidden.status, forbidden.code().as_str()),
        (403, "admin_key_required")
    );
    let as_virtual = admin(&s.base, Some(&key), "GET", "/admin/keys", Value::Null).await;
    assert_eq!(as_virtual.status, 403);
    let ok = list(Some(ADMIN_KEY)).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["data"][0]["name"], "gina");
    assert!(!ok.body.contains(&key));
    let bad = admin(
        &s.base,
        Some(ADMIN_KEY),
        "POST",
        "/admin/keys",
        json!({"name": "h", "budget_usd": "lots"}),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let made = admin(
        &s.base,
        Some(ADMIN_KEY),
        "POST",
        "/admin/keys",
        json!({"name": "hank", "models": ["openai/*"]}),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let hank = made.json()["key"].as_str().expect("key").to_string();
    assert_eq!(
        call(&s.base, &hank, "openai/gpt-5.5", false).await.status,
        200
    );
    // The admin key is not an API key.
    assert_eq!(
        call(&s.base, ADMIN_KEY, "openai/gpt-5.5", false)
            .await
            .status,
        401
    );
    drop(s);
    crate::support::assert_nowhere(&w.home(), &key);
    crate::support::assert_nowhere(&w.home(), &hank);
}

#[tokio::test]
async fn tokens_per_minute_refuse_once_the_minute_is_spent_and_cost_is_measured() {
    let m = Mock::start();
    let db = fresh_pg_database();
    let w = world(&m, "");
    // The mock's default answer uses 15 tokens: the second or third request crosses 20.
    let tight = create(&w, Some(&db), &["--name", "tina", "--tpm", "20"]);
    let loose = create(
        &w,
        Some(&db),
        &[
            "--name",
            "uma",
            "--rpm",
            "100000",
            "--tpm",
            "100000000",
            "--budget-usd",
            "1000000/day",
        ],
    );
    let s = Server::start(&w, Some(&db));
    clear_of_minute_end().await;
    assert_eq!(
        call(&s.base, &tight, "openai/gpt-5.5", false).await.status,
        200
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let a = call(&s.base, &tight, "openai/gpt-5.5", false).await;
        if a.status != 200 {
            break a;
        }
        assert!(Instant::now() < deadline, "never refused");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.code(), "rate_limit_exceeded");
    assert!(
        refused.body.contains("20 tokens per minute"),
        "{}",
        refused.body
    );
    assert!(refused.retry_after.is_some_and(|s| (1..=60).contains(&s)));

    // Measured, not asserted: what a fully limited virtual key (lookup, budget, rpm, tpm,
    // then the usage write) costs per request against the static key on the same server.
    let http = bifrost::gateway::http_client().expect("client");
    // Interleaved, so load from elsewhere on the machine hits both alike; medians.
    let mut took: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    for i in 0..202 {
        let key = [STATIC_KEY, loose.as_str()][i % 2];
        let start = Instant::now();
        let a = call_with(&http, &s.base, key, "openai/gpt-5.5", false).await;
        assert_eq!(a.status, 200, "{}", a.body);
        if i >= 2 {
            took[i % 2].push(start.elapsed());
        }
    }
    for t in &mut took {
        t.sort();
    }
    eprintln!(
        "median request latency over 100 requests each: static key {:?}, limited virtual key {:?}",
        took[0][50], took[1][50]
    );
}

/// The real Codex CLI pointed at a `bifrost serve` with a virtual key, as a developer's
/// machine would be: answered while the key has budget, then stopped by `insufficient_quota`.
#[tokio::test]
async fn real_codex_through_a_virtual_key_stops_when_the_budget_is_spent() {
    let m = Mock::start();
    let db = fresh_pg_database();
    let w = world(&m, "");
    let key = create(&w, Some(&db), &["--name", "vera", "--budget-usd", "1/day"]);
    let s = Server::start(&w, Some(&db));
    let run = |prompt: &str| {
        let mut c = std::process::Command::new(crate::support::codex_bin());
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", w.path("home"))
            .env("CODEX_HOME", w.path("codex-home"))
            .env("BIFROST_KEY", &key)
            .current_dir(w.workdir())
            .stdin(Stdio::null())
            .args(["-c", "model_provider=\"team\""])
            .arg("-c")
            .arg(format!(
                "model_providers.team={{ name = \"team\", base_url = \"{}/openai/v1\", env_key = \"BIFROST_KEY\", wire_api = \"responses\", supports_websockets = false }}",
                s.base
            ))
            .args(["-m", "gpt-5.5", "exec", "--skip-git-repo-check"])
            .args(["-c", "analytics.enabled=false", "--disable", "plugins"])
            .arg(prompt);
        std::fs::create_dir_all(w.path("codex-home")).expect("codex home");
        crate::support::run_with_timeout(c, Duration::from_secs(120))
    };
    let ok = run("hi");
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(
        text(&ok.stdout).contains("mock default answer"),
        "{}",
        text(&ok.stdout)
    );
    // $1.50 spent of $1 a day: wait for the cost to land, then Codex is refused.
    let deadline = Instant::now() + Duration::from_secs(10);
    while call(&s.base, &key, "openai/gpt-5.5", false).await.status == 200 {
        assert!(Instant::now() < deadline, "the spend never landed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let served = m.seen().len();
    let refused = run("hi again");
    assert_ne!(refused.status.code(), Some(0));
    let all = format!("{}{}", text(&refused.stdout), text(&refused.stderr));
    // Codex prints its own text for `insufficient_quota`: "Quota exceeded. Check your plan
    // and billing details."
    assert!(all.contains("Quota exceeded"), "{all}");
    assert_eq!(
        m.seen().len(),
        served,
        "a refused Codex request never reaches the provider"
    );
}
