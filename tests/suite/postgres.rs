//! The PostgreSQL store against a real server (each test its own fresh database): migrations
//! (concurrent and idempotent), every reader agreeing with SQLite on the same rows, two
//! `bifrost serve` instances sharing one database with `logs`, `logs show`, `stats`,
//! `sessions` and the dashboard API seeing both, `logs --follow` across processes, the
//! writer riding out an outage, and a bad URL as exit 2 without its password.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::time::Duration;

use bifrost::store::{
    self, AttemptRecord, Location, LogFilter, PgUrl, RequestRecord, SessionRecord, ToolCallRecord,
    Writer,
};
use bifrost::usage::Usage;
use serde_json::Value;

use crate::support::mock::{self, Mock, Reply};
use crate::support::services::fresh_pg_database;
use crate::support::{World, eventually, text};

const SERVER_KEY: &str = "bfs_team_pg_key";

fn pg(url: &str) -> Location {
    Location::Postgres(PgUrl::parse(url).expect("pg url"))
}

/// Runs `f` on a plain thread: the sync PostgreSQL client must not run on a test runtime.
fn off_runtime<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f).join().expect("pg thread")
}

fn admin(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("connect")
}

#[test]
fn migrations_run_once_even_when_instances_start_together() {
    let url = fresh_pg_database();
    let n = 4;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                store::connect(&pg(&url)).map(drop)
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread").expect("connect and migrate");
    }
    // Again, with the schema current: nothing to do.
    off_runtime({
        let url = url.clone();
        move || store::connect(&pg(&url)).map(drop)
    })
    .expect("reopen");
    let versions: Vec<i64> = off_runtime(move || {
        admin(&url)
            .query(
                "SELECT version FROM bifrost_migrations ORDER BY version",
                &[],
            )
            .expect("versions")
            .iter()
            .map(|r| r.get(0))
            .collect()
    });
    let want: Vec<i64> = (1..=store::MIGRATIONS.len() as i64).collect();
    assert_eq!(versions, want, "each migration applied exactly once");
}

/// Rows exercising every column and side table: two sessions, tool calls, attempts, bodies,
/// an error, an unpriced request.
fn records(now: i64) -> (Vec<SessionRecord>, Vec<RequestRecord>) {
    let sessions = vec![
        SessionRecord {
            id: "sess-a".into(),
            kind: "codex".into(),
            started_at_ms: now - 60_000,
            argv: vec!["bifrost".into(), "codex".into(), "exec".into()],
            cwd: Some("/w".into()),
        },
        SessionRecord {
            id: "sess-b".into(),
            kind: "serve".into(),
            started_at_ms: now - 30_000,
            argv: vec!["bifrost".into(), "serve".into()],
            cwd: None,
        },
    ];
    let req = |id: &str, sess: &str, at: i64, model: &str, status: u16, cost: Option<i64>| {
        RequestRecord {
            id: id.into(),
            session_id: Some(sess.into()),
            started_at_ms: at,
            route: "/openai/v1/responses".into(),
            provider: Some("openai".into()),
            model: Some(model.into()),
            upstream_model: Some(model.into()),
            key_alias: Some("default".into()),
            stream: status == 200,
            http_status: status,
            error: (status >= 400).then(|| "upstream said no".to_string()),
            usage: Usage {
                input: 1000,
                cached_input: 200,
                cache_write: 0,
                output: 50,
                reasoning: 10,
            },
            cost_micro_usd: cost,
            latency_us: 250_000,
            ttft_us: Some(90_000),
            upstream_us: Some(240_000),
            overhead_us: Some(10_000),
            notes: None,
            virtual_key: None,
            cache: None,
            tool_us: None,
            tool_calls: vec![],
            attempts: vec![],
            request_headers: Some(r#"{"content-type":"application/json"}"#.into()),
            request_body: Some(r#"{"model":"gpt-5.5","input":"hi"}"#.into()),
            response_body: Some("data: {}\n\n".into()),
        }
    };
    let mut a1 = req("req-a1", "sess-a", now - 50_000, "gpt-5.5", 200, Some(1234));
    a1.tool_us = Some(3000);
    a1.tool_calls = vec![ToolCallRecord {
        started_at_ms: now - 49_000,
        server: "fs".into(),
        tool: "read".into(),
        arguments: "{}".into(),
        duration_us: 3000,
        is_error: false,
        result: "ok".into(),
    }];
    let mut a2 = req("req-a2", "sess-a", now - 40_000, "gpt-5-mini", 502, None);
    a2.attempts = vec![
        AttemptRecord {
            provider: "openai".into(),
            model: "gpt-5-mini".into(),
            key_alias: Some("us".into()),
            status: 429,
            error: Some("rate".into()),
            latency_us: 1000,
        },
        AttemptRecord {
            provider: "openai".into(),
            model: "gpt-5-mini".into(),
            key_alias: Some("eu".into()),
            status: 502,
            error: Some("bad gateway".into()),
            latency_us: 2000,
        },
    ];
    a2.notes = Some("served by fallback".into());
    // Two turns of one real Codex session: large enough to be stored as pieces, and the
    // second repeats most of the first.
    a1.request_body = Some(codex_turn(1));
    let mut b1 = req("req-b1", "sess-b", now - 20_000, "gpt-5.5", 200, Some(4321));
    b1.request_body = Some(codex_turn(2));
    (sessions, vec![a1, a2, b1])
}

/// A real Codex request body (turn 1 or 2 of one session), compact as on the wire.
fn codex_turn(n: u8) -> String {
    let fixture = match n {
        1 => include_str!("../fixtures/codex/request_turn1_gpt55.json"),
        _ => include_str!("../fixtures/codex/request_turn2_reasoning_tool_output.json"),
    };
    serde_json::from_str::<Value>(fixture)
        .and_then(|v| serde_json::to_string(&v))
        .expect("fixture")
}

/// (pieces, bytes) in `body_chunks`.
fn stored_pieces(db: &store::Db) -> (i64, i64) {
    store::query_one(
        db,
        "SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM body_chunks",
        &[],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .expect("pieces")
}

fn write_all(location: &Location, sessions: &[SessionRecord], rows: &[RequestRecord]) {
    let (writer, thread) = Writer::open(location).expect("writer");
    for s in sessions {
        writer.session_start(s.clone());
    }
    for r in rows {
        writer.record(r.clone());
    }
    writer.session_end("sess-a", Some(3));
    drop(writer);
    thread.join();
}

/// Everything the CLI and dashboard read, as JSON, from one store.
fn read_everything(location: &Location) -> Value {
    let db = store::connect(location).expect("connect");
    let all = store::requests(&db, &LogFilter::default()).expect("requests");
    let limited = store::requests(
        &db,
        &LogFilter {
            limit: Some(2),
            errors_only: false,
            ..LogFilter::default()
        },
    )
    .expect("limited");
    let errors = store::requests(
        &db,
        &LogFilter {
            errors_only: true,
            model: Some("openai/gpt-5-mini".into()),
            ..LogFilter::default()
        },
    )
    .expect("errors");
    let by_session = store::requests(
        &db,
        &LogFilter {
            session_id: Some("sess-b".into()),
            ..LogFilter::default()
        },
    )
    .expect("session");
    let first_seq = {
        let mut seqs = Vec::new();
        store::each_request(&db, &LogFilter::default(), |seq, _| {
            seqs.push(seq);
            Ok(())
        })
        .expect("each");
        seqs
    };
    let after: Vec<String> = store::requests_after(&db, &LogFilter::default(), first_seq[0])
        .expect("after")
        .into_iter()
        .map(|(_, r)| r.id)
        .collect();
    let dash = bifrost::dashboard::query::Filter {
        q: Some("MINI".into()),
        ..Default::default()
    };
    serde_json::json!({
        "all": all,
        "limited": limited,
        "errors": errors,
        "by_session": by_session,
        "after_first": after,
        "max_seq_is_last": store::max_rowid(&db).expect("max") == *first_seq.iter().max().unwrap_or(&0),
        "count": store::count_requests(&db, &LogFilter::default()).expect("count"),
        "prefix": store::request(&db, "req-a").expect("prefix").len(),
        "one": store::request(&db, "req-a2").expect("one"),
        "attempts": store::attempts(&db, "req-a2").expect("attempts"),
        "tool_calls": store::tool_calls(&db, "req-a1").expect("tools"),
        "bodies": format!("{:?}", store::bodies(&db, "req-b1").expect("bodies")),
        "sessions": store::sessions(&db, 10).expect("sessions"),
        "last_session": store::last_session_id(&db).expect("last"),
        "reliability": store::session_reliability(&db, "sess-a").expect("rel"),
        "tool_stats": store::session_tool_stats(&db, "sess-a").expect("tool stats"),
        "spend": store::spend_since(&db, 0).expect("spend"),
        "dash_list": bifrost::dashboard::query::list(&db, &Default::default()).expect("list"),
        "dash_search": bifrost::dashboard::query::list(&db, &dash).expect("search").rows.len(),
        "dash_detail": bifrost::dashboard::query::detail(&db, "req-a1").expect("detail"),
        "dash_stats": bifrost::dashboard::query::stats(&db, &Default::default()).expect("stats"),
        "dash_sessions": bifrost::dashboard::query::sessions(&db, 10).expect("dash sessions"),
    })
}

/// Drops the session end times: each store's writer stamps its own `now` at the end.
fn without_end_times(mut v: Value) -> Value {
    for key in ["sessions", "dash_sessions"] {
        for s in v[key].as_array_mut().into_iter().flatten() {
            for f in ["ended", "duration_ms", "ended_at_ms"] {
                if let Some(o) = s.as_object_mut() {
                    o.remove(f);
                }
            }
        }
    }
    v
}

#[test]
fn every_reader_agrees_with_sqlite_on_the_same_rows() {
    let url = fresh_pg_database();
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = Location::Sqlite(dir.path().join("logs.db"));
    let postgres = pg(&url);
    let (sessions, rows) = records(store::now_ms());
    write_all(&sqlite, &sessions, &rows);
    write_all(&postgres, &sessions, &rows);
    let a = read_everything(&sqlite);
    let b = read_everything(&postgres);
    assert_eq!(
        without_end_times(a),
        without_end_times(b.clone()),
        "SQLite and PostgreSQL disagree"
    );
    // And the shared answer is the right one.
    let ids: Vec<&str> = b["all"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids, ["req-a1", "req-a2", "req-b1"]);
    assert_eq!(b["count"], 3);
    assert_eq!(b["prefix"], 2);
    assert_eq!(b["errors"].as_array().map(Vec::len), Some(1));
    assert_eq!(b["after_first"], serde_json::json!(["req-a2", "req-b1"]));
    assert_eq!(b["max_seq_is_last"], true);
    assert_eq!(b["spend"], 1234 + 4321);
    assert_eq!(b["reliability"], serde_json::json!([1, 1]));
    assert_eq!(b["tool_stats"], serde_json::json!([1, 0, 3.0]));
    assert_eq!(b["dash_search"], 1, "case-insensitive search on both");
    let s = &b["sessions"][1];
    assert_eq!(
        (
            &s["id"],
            &s["requests"],
            &s["exit_code"],
            &s["unpriced_requests"]
        ),
        (
            &Value::from("sess-a"),
            &Value::from(2),
            &Value::from(3),
            &Value::from(1)
        )
    );
    assert_eq!(
        s["models"],
        serde_json::json!(["openai/gpt-5-mini", "openai/gpt-5.5"])
    );

    let (one, two) = (codex_turn(1), codex_turn(2));
    assert_eq!(b["dash_detail"]["request_body"], Value::from(one.clone()));

    // Prune on both, through the same API.
    for loc in [&sqlite, &postgres] {
        let mut db = store::connect(loc).expect("connect");
        // Turn 2 stored only what turn 1 had not: the pieces hold far less than both bodies.
        let (pieces, bytes) = stored_pieces(&db);
        assert!(
            bytes > 0 && (bytes as usize) < one.len() + two.len() / 3,
            "{} pieces, {bytes} bytes for bodies of {} and {} bytes",
            pieces,
            one.len(),
            two.len()
        );
        let n = store::prune(&mut db, store::now_ms() - 30_000).expect("prune");
        assert_eq!(n, 2, "{}", loc.shown());
        let left = store::requests(&db, &LogFilter::default()).expect("left");
        assert_eq!(left.len(), 1);
        assert_eq!(
            store::bodies(&db, "req-a1").expect("bodies").request,
            None,
            "bodies go with their request"
        );
        // Turn 1's own pieces are collected; those turn 2 shares stay, so it reads back whole.
        let (after, _) = stored_pieces(&db);
        assert!(
            after > 0 && after < pieces,
            "{after} of {pieces} pieces left"
        );
        assert_eq!(
            store::bodies(&db, "req-b1").expect("bodies").request,
            Some(two.clone())
        );
    }
}

/// A `bifrost serve` child and the URL it listens on.
struct Serve {
    child: Child,
    url: String,
    stderr: Arc<Mutex<String>>,
}

impl Serve {
    fn start(w: &World) -> Serve {
        let mut child = w
            .bifrost()
            .args(["serve", "--port", "0"])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        let all = Arc::new(Mutex::new(String::new()));
        let sink = all.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock().expect("lock").push_str(&format!("{line}\n"));
                if line.contains("bifrost serve: listening") {
                    let _ = tx.send(line);
                }
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("serve did not start: {}", all.lock().expect("lock")));
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("url")
            .to_string();
        Serve {
            child,
            url,
            stderr: all,
        }
    }

    /// One Responses request; returns the request id the gateway logged it under.
    fn request(&self, prompt: &str) -> String {
        let base = self.url.trim_end_matches("/openai/v1").to_string();
        let body = format!(r#"{{"model":"gpt-5.5","input":"{prompt}"}}"#);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        rt.block_on(async {
            let r = crate::suite::dashboard::client()
                .post(format!("{base}/openai/v1/responses"))
                .bearer_auth(SERVER_KEY)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("send");
            assert_eq!(r.status(), 200);
            let id = r
                .headers()
                .get("x-bifrost-request-id")
                .and_then(|v| v.to_str().ok())
                .expect("request id")
                .to_string();
            let _ = r.text().await;
            id
        })
    }

    fn dashboard_logs(&self) -> Value {
        let base = self.url.trim_end_matches("/openai/v1").to_string();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        rt.block_on(async {
            let r = crate::suite::dashboard::client()
                .get(format!("{base}/api/logs?limit=50"))
                .bearer_auth(SERVER_KEY)
                .send()
                .await
                .expect("get");
            assert_eq!(r.status(), 200);
            r.json().await.expect("json")
        })
    }

    fn stop(mut self) -> String {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let code = self.child.wait().expect("wait").code();
        let err = self.stderr.lock().expect("lock").clone();
        assert_eq!(code, Some(0), "{err}");
        err
    }
}

fn json_of(w: &World, args: &[&str]) -> Value {
    let out = w.bifrost().args(args).output().expect("run");
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn two_serve_instances_share_one_postgres_store() {
    let url = fresh_pg_database();
    let w = World::new();
    let m = Mock::start();
    w.config_for(
        &m,
        &format!("[store]\nurl = \"{url}\"\n\n[server]\nkeys = [\"{SERVER_KEY}\"]\n"),
    );
    for i in 0..5 {
        m.push(Reply::Items {
            items: vec![mock::message(&format!("answer {i}"))],
            usage: mock::usage(100 + i, 0, 10, 0),
        });
    }
    // Both start at once: their migrations must take turns.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| Serve::start(&w));
        let b = s.spawn(|| Serve::start(&w));
        (a.join().expect("a"), b.join().expect("b"))
    });
    let from_a: Vec<String> = (0..3).map(|i| a.request(&format!("a{i}"))).collect();
    let from_b: Vec<String> = (0..2).map(|i| b.request(&format!("b{i}"))).collect();

    // The dashboard of either instance lists both instances' rows, once committed.
    eventually(Duration::from_secs(10), || a.dashboard_logs()["total"] == 5);
    let page = b.dashboard_logs();
    let mut dash_ids: Vec<String> = page["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["id"].as_str().map(String::from))
        .collect();
    dash_ids.sort();
    let mut want: Vec<String> = from_a.iter().chain(&from_b).cloned().collect();
    want.sort();
    assert_eq!(dash_ids, want);

    let err_a = a.stop();
    let err_b = b.stop();
    assert!(
        err_a.contains("request log: postgres://bifrost:***@"),
        "{err_a}"
    );
    assert!(
        err_b.contains("request log: postgres://bifrost:***@"),
        "{err_b}"
    );

    // `bifrost logs` against the same config sees every row, from both instances.
    let rows = json_of(&w, &["logs", "--json"]);
    let mut ids: Vec<String> = rows
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["id"].as_str().map(String::from))
        .collect();
    ids.sort();
    assert_eq!(ids, want);
    let session_of = |id: &str| {
        rows.as_array()
            .and_then(|r| r.iter().find(|r| r["id"] == id))
            .map(|r| r["session_id"].clone())
            .expect("row")
    };
    assert_eq!(session_of(&from_a[0]), session_of(&from_a[2]));
    assert_ne!(session_of(&from_a[0]), session_of(&from_b[0]));
    let input: i64 = rows
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["input_tokens"].as_i64())
        .sum();
    assert_eq!(input, 100 + 101 + 102 + 103 + 104);

    // `logs show` finds a row written by the other instance.
    let out = w
        .bifrost()
        .args(["logs", "show", &from_b[1]])
        .output()
        .expect("show");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains(&from_b[1]), "{shown}");
    assert!(shown.contains("\"input\": \"b1\""), "{shown}");

    // `sessions`: two serve sessions, ended, with 3 and 2 requests.
    let sessions = json_of(&w, &["sessions", "--json"]);
    let mut counts: Vec<(i64, bool)> = sessions
        .as_array()
        .expect("sessions")
        .iter()
        .map(|s| (s["requests"].as_i64().unwrap_or(-1), s["ended"].is_string()))
        .collect();
    counts.sort();
    assert_eq!(counts, [(2, true), (3, true)]);

    // `stats`: the same five requests, per session.
    let stats = json_of(&w, &["stats", "--json", "--by", "session"]);
    assert_eq!(stats["total"]["requests"], 5);
    assert_eq!(stats["total"]["input_tokens"], 510);
    let mut per: Vec<i64> = stats["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["requests"].as_i64())
        .collect();
    per.sort();
    assert_eq!(per, [2, 3]);

    // `logs --csv` and `--output` read the same store.
    let out_file = w.path("export.json");
    let out = w
        .bifrost()
        .args(["logs", "--json", "--output"])
        .arg(&out_file)
        .output()
        .expect("export");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let exported: Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).expect("read")).expect("json");
    assert_eq!(exported.as_array().map(Vec::len), Some(5));
    let out = w.bifrost().args(["logs", "--csv"]).output().expect("csv");
    assert_eq!(text(&out.stdout).lines().count(), 6, "header and five rows");
}

#[test]
fn follow_sees_rows_committed_by_another_process_on_postgres() {
    let url = fresh_pg_database();
    let w = World::new();
    w.write_config(&format!("[store]\nurl = \"{url}\"\n"));
    let loc = pg(&url);
    let (sessions, rows) = records(store::now_ms());
    write_all(&loc, &sessions, &rows[..1]);
    let mut child = w
        .bifrost()
        .args(["logs", "--follow", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = || -> Value {
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a line from --follow");
        serde_json::from_str(&line).expect("one JSON object per line")
    };
    assert_eq!(next()["id"], "req-a1");
    // Arrived earlier than a row already shown would not matter: follow goes by commit order.
    let mut late = rows[1].clone();
    late.started_at_ms -= 3_600_000;
    write_all(&loc, &[], &[late]);
    write_all(&loc, &[], &rows[2..]);
    assert_eq!(next()["id"], "req-a2");
    assert_eq!(next()["id"], "req-b1");
    let _ = child.kill();
    let _ = child.wait();
}

/// A loopback TCP proxy to PostgreSQL that can be cut (every connection closed, new ones
/// refused) and restored: the store going away mid-run.
struct Cuttable {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Cuttable {
    fn start(target: SocketAddr) -> Cuttable {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let up = Arc::new(AtomicBool::new(true));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (up2, conns2) = (up.clone(), conns.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                for s in [&client, &server] {
                    if let Ok(c) = s.try_clone() {
                        conns2.lock().expect("lock").push(c);
                    }
                }
                let pipe = |mut from: TcpStream, mut to: TcpStream| {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0 || to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                };
                if let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) {
                    pipe(c2, s2);
                    pipe(server, client);
                }
            }
        });
        Cuttable { addr, up, conns }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for c in self.conns.lock().expect("lock").drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[test]
fn the_writer_keeps_rows_while_postgres_is_away_and_commits_them_after() {
    let url = fresh_pg_database();
    let proxy = Cuttable::start("127.0.0.1:5432".parse().expect("addr"));
    let via_proxy = url.replacen("127.0.0.1:5432", &proxy.addr.to_string(), 1);
    assert_ne!(via_proxy, url, "the test database URL names 127.0.0.1:5432");
    let (sessions, rows) = records(store::now_ms());
    let (writer, thread) = Writer::open(&pg(&via_proxy)).expect("writer");
    for s in &sessions {
        writer.session_start(s.clone());
    }
    writer.record(rows[0].clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(writer.flush());
    proxy.cut();
    // Completed while the store is away: kept, not lost.
    writer.record(rows[1].clone());
    writer.record(rows[2].clone());
    std::thread::sleep(Duration::from_millis(700));
    let count = |u: &str| -> i64 {
        let u = u.to_string();
        off_runtime(move || {
            admin(&u)
                .query_one("SELECT COUNT(*) FROM requests", &[])
                .expect("count")
                .get(0)
        })
    };
    assert_eq!(count(&url), 1, "nothing new can have landed while cut");
    proxy.restore();
    rt.block_on(writer.flush());
    drop(writer);
    thread.join();
    assert_eq!(
        count(&url),
        3,
        "the kept rows were committed once it came back"
    );
    let ids: Vec<String> = off_runtime(move || {
        admin(&url)
            .query("SELECT id FROM requests ORDER BY seq", &[])
            .expect("ids")
            .iter()
            .map(|r| r.get(0))
            .collect()
    });
    assert_eq!(ids, ["req-a1", "req-a2", "req-b1"]);
}

#[test]
fn a_bad_store_url_is_one_line_exit_2_and_never_shows_the_password() {
    const PW: &str = "Pw-7d1e-NEVER-PRINTED";
    let w = World::new();
    let m = Mock::start();
    let unreachable = format!("postgres://bifrost:{PW}@127.0.0.1:1/nowhere");
    let wrong_password = {
        let url = fresh_pg_database();
        url.replacen("bifrost:bifrost@", &format!("bifrost:{PW}@"), 1)
    };
    for (url, why) in [
        (unreachable.as_str(), "refused"),
        (wrong_password.as_str(), "password authentication failed"),
    ] {
        w.config_for(&m, &format!("[store]\nurl = \"{url}\"\n"));
        for args in [
            &["logs"][..],
            &["sessions"],
            &["stats"],
            &["serve", "--port", "0"],
        ] {
            let out = crate::support::run_with_timeout(
                {
                    let mut c = w.bifrost();
                    c.args(args);
                    c
                },
                Duration::from_secs(30),
            );
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(!err.contains(PW), "{args:?} printed the password: {err}");
            assert!(err.contains("bifrost:***@127.0.0.1"), "{args:?}: {err}");
            assert!(err.to_lowercase().contains(why), "{args:?}: {err}");
            assert!(
                err.contains("store url") || err.contains("[store] url"),
                "{err}"
            );
            assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        }
        // `config check` validates without connecting and shows the URL redacted.
        let out = w
            .bifrost()
            .args(["config", "check"])
            .output()
            .expect("check");
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{all}");
        assert!(!all.contains(PW), "{all}");
        assert!(
            all.contains("store: postgres://bifrost:***@127.0.0.1"),
            "{all}"
        );
    }
    // Not a PostgreSQL URL at all, from the environment (which wins over the file).
    let out = w
        .bifrost()
        .env(
            "BIFROST_STORE_URL",
            format!("mysql://root:{PW}@127.0.0.1/db"),
        )
        .arg("logs")
        .output()
        .expect("logs");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains(PW), "{err}");
    assert!(err.contains("BIFROST_STORE_URL"), "{err}");
    assert!(err.contains("mysql://root:***@127.0.0.1/db"), "{err}");
}

#[test]
fn a_launch_on_postgres_prints_its_summary_from_the_shared_store() {
    let url = fresh_pg_database();
    let w = World::new();
    let m = Mock::start();
    // A tiny daily budget, already spent by a row another gateway wrote: the summary's
    // budget line reads the shared store. The store comes from BIFROST_STORE_URL, which wins
    // over the file's (unreachable) url and never reaches the child.
    w.config_for(
        &m,
        "[store]\nurl = \"postgres://nobody:x@127.0.0.1:1/none\"\n\n[budget]\ndaily_usd = 0.001\n",
    );
    let mut earlier = records(store::now_ms()).1.remove(2);
    earlier.session_id = None;
    write_all(&pg(&url), &[], &[earlier]);
    m.push(Reply::Chat {
        text: "hello from chat".into(),
        usage: mock::usage(321, 20, 12, 0),
    });
    let client = r#"
import json, os, urllib.request
req = urllib.request.Request(os.environ["OPENAI_BASE_URL"] + "/chat/completions",
    data=json.dumps({"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]}).encode(),
    headers={"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"], "Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req))["choices"][0]["message"]["content"])
import sys; sys.exit(0 if "BIFROST_STORE_URL" not in os.environ and "DBNAME" not in json.dumps(dict(os.environ)) else 9)
"#;
    // The store's URL (named by its unique database) must not reach the child. (The test
    // server's own URL, BIFROST_TEST_PG_URL, is in the test's environment on purpose.)
    let dbname = url.rsplit('/').next().unwrap_or_default();
    let client = client.replace("DBNAME", dbname);
    let out = crate::support::run_with_timeout(
        {
            let mut c = w.bifrost();
            c.env("BIFROST_STORE_URL", &url)
                .args(["run", "--", "python3", "-c", &client]);
            c
        },
        Duration::from_secs(60),
    );
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(text(&out.stdout).trim(), "hello from chat");
    assert!(err.contains("openai/gpt-5.5"), "{err}");
    assert!(err.contains("321"), "{err}");
    assert!(err.contains("budget exceeded"), "{err}");
    let out = w
        .bifrost()
        .env("BIFROST_STORE_URL", &url)
        .args(["logs", "--last", "--json"])
        .output()
        .expect("logs");
    let rows: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        rows.as_array().map(Vec::len),
        Some(1),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(rows[0]["input_tokens"], 321);
    // No SQLite file appeared: everything went to PostgreSQL.
    assert!(!w.home().join("logs.db").exists());
}

#[test]
fn bifrost_ui_serves_the_dashboard_from_postgres() {
    let url = fresh_pg_database();
    let w = World::new();
    w.write_config(&format!("[store]\nurl = \"{url}\"\n"));
    let (sessions, rows) = records(store::now_ms());
    write_all(&pg(&url), &sessions, &rows);
    let mut child = w
        .bifrost()
        .args(["ui", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ui");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("dashboard line");
    let link = line
        .trim()
        .strip_prefix("dashboard: ")
        .expect("dashboard: URL")
        .to_string();
    let base = link.split("/logs").next().unwrap_or("").to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let (logs, sessions) = rt.block_on(async {
        let http = crate::suite::dashboard::client();
        let r = http.get(&link).send().await.expect("link");
        assert_eq!(r.status(), 303);
        let cookie = r.headers()["set-cookie"]
            .to_str()
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .to_string();
        let get = |path: &str| {
            http.get(format!("{base}{path}"))
                .header("cookie", &cookie)
                .send()
        };
        let logs: Value = get("/api/logs?status=error")
            .await
            .expect("logs")
            .json()
            .await
            .expect("json");
        let sessions: Value = get("/api/sessions")
            .await
            .expect("sessions")
            .json()
            .await
            .expect("json");
        (logs, sessions)
    });
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert_eq!(child.wait().expect("wait").code(), Some(0));
    assert_eq!(logs["total"], 1);
    assert_eq!(logs["rows"][0]["id"], "req-a2");
    let ids: Vec<&str> = sessions
        .as_array()
        .expect("sessions")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(ids, ["sess-b", "sess-a"]);
    assert_eq!(sessions[1]["requests"], 2);
}
