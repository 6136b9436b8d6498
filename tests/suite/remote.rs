//! Remote mode: the real Codex CLI through `bifrost --gateway URL codex` against a real
//! `bifrost serve` (with `[server] keys`), the strict mock upstream behind it. Also the
//! pre-flight failures and session ownership. `Serve` is shared with `deploy.rs`.

use std::io::BufRead;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::support::mock::{self, Mock, Reply};
use crate::support::{CANARY, World, codex_bin, logs_json, run_with_timeout, text};

pub(crate) const TEAM_KEY: &str = "bfs_team_key_for_remote_tests_0001";
pub(crate) const OTHER_KEY: &str = "bfs_team_key_for_remote_tests_0002";

/// A `bifrost serve --port 0` child; its stderr keeps being collected; SIGTERM on drop.
pub(crate) struct Serve {
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub root: String,
    pub stderr: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Serve {
    pub(crate) fn start(w: &World, extra_args: &[&str]) -> Serve {
        Serve::start_with(w.bifrost(), extra_args)
    }

    /// [`Serve::start`] from a prepared `bifrost` command (environment already set).
    pub(crate) fn start_with(mut cmd: std::process::Command, extra_args: &[&str]) -> Serve {
        let mut child = cmd
            .args(extra_args)
            .args(["serve", "--port", "0"])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("serve");
        let mut lines = std::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut root = None;
        for line in lines.by_ref() {
            let line = line.expect("line");
            stderr.lock().expect("lock").push(line.clone());
            if line.contains("listening on") {
                root = line
                    .split(|c: char| c.is_whitespace() || c == '"')
                    .find(|w| w.starts_with("http://"))
                    .map(|u| u.trim_end_matches("/openai/v1").to_string());
                break;
            }
        }
        let Some(root) = root else {
            let _ = child.kill();
            panic!(
                "serve exited early: {:?}",
                stderr.lock().expect("lock").join("\n")
            );
        };
        let sink = stderr.clone();
        let reader = std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().expect("lock").push(line);
            }
        });
        Serve {
            child,
            root,
            stderr,
            reader: Some(reader),
        }
    }

    /// SIGTERM, wait for the exit code, then every stderr line.
    pub(crate) fn stop(mut self) -> (Option<i32>, Vec<String>) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let code = self.child.wait().expect("wait").code();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        (code, self.stderr.lock().expect("lock").clone())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The team server's config: the mock as `openai`, two client keys, a default model.
pub(crate) fn team_config(w: &World, m: &Mock, extra: &str) {
    w.config_for(
        m,
        &format!(
            "default_model = \"openai/gpt-5.5\"\n{extra}\n[server]\nkeys = [\"{TEAM_KEY}\", \"{OTHER_KEY}\"]\n"
        ),
    );
}

const EXEC: &[&str] = &[
    "exec",
    "--skip-git-repo-check",
    "-c",
    "analytics.enabled=false",
    "--disable",
    "plugins",
];

/// `bifrost --gateway ROOT codex ARGS` from a developer's machine: its own empty home, no
/// config, the key in BIFROST_KEY.
fn remote_codex(
    dev: &World,
    root: &str,
    key: &str,
    root_args: &[&str],
    args: &[&str],
) -> std::process::Output {
    let mut c = dev.bifrost();
    c.env("BIFROST_KEY", key)
        .arg("--codex-bin")
        .arg(codex_bin())
        .args(["--gateway", root])
        .args(root_args)
        .arg("codex")
        .args(args);
    run_with_timeout(c, Duration::from_secs(120))
}

#[test]
fn a_real_codex_session_through_a_remote_gateway_prints_the_servers_summary() {
    let team = World::new();
    let m = Mock::start();
    team_config(&team, &m, "");
    m.push(Reply::Items {
        items: vec![
            mock::reasoning("I should run the command."),
            mock::exec_call("echo remote-tool-ok", "call_r1"),
        ],
        usage: mock::usage(1000, 200, 50, 10),
    });
    m.push(Reply::Items {
        items: vec![mock::message("Remote answer: remote-tool-ok.")],
        usage: mock::usage(1300, 1000, 20, 0),
    });
    let serve = Serve::start(&team, &[]);

    let dev = World::new();
    let args: Vec<&str> = EXEC
        .iter()
        .copied()
        .chain(["run echo remote-tool-ok"])
        .collect();
    let out = remote_codex(&dev, &serve.root, TEAM_KEY, &["--summary", "json"], &args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(text(&out.stdout).contains("Remote answer: remote-tool-ok."));

    // The mock saw both turns, with the server's default model and no bifrost headers.
    let seen = m.seen();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(s.json()["model"], "gpt-5.5");
        assert!(s.headers.get("x-bifrost-session").is_none());
        assert_eq!(
            s.headers.get("authorization").and_then(|v| v.to_str().ok()),
            Some(format!("Bearer {CANARY}").as_str())
        );
    }

    // The summary came from the server and matches the mock's usage.
    let summary: Value =
        serde_json::from_str(stderr.lines().last().unwrap_or("")).expect("summary json");
    let total = &summary["total"];
    assert_eq!(
        (total["requests"].as_u64(), total["errors"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(
        (
            &total["input_tokens"],
            &total["cached_input_tokens"],
            &total["output_tokens"],
            &total["reasoning_tokens"]
        ),
        (
            &Value::from(2300),
            &Value::from(1200),
            &Value::from(70),
            &Value::from(10)
        )
    );
    assert_eq!(summary["models"][0]["model"], "openai/gpt-5.5");
    assert_eq!(summary["exit_code"], 0);
    let session = summary["session_id"]
        .as_str()
        .expect("session id")
        .to_string();

    // The server's store holds both requests under that session, one remote session row.
    let rows = logs_json(&team, &["--session", &session]);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["status"] == "ok"));
    let sessions: Vec<Value> = serde_json::from_slice(
        &team
            .bifrost()
            .args(["sessions", "--json"])
            .output()
            .expect("sessions")
            .stdout,
    )
    .expect("sessions json");
    let ours: Vec<&Value> = sessions
        .iter()
        .filter(|s| s["id"] == session.as_str())
        .collect();
    assert_eq!(ours.len(), 1, "{sessions:?}");
    assert_eq!(ours[0]["kind"], "remote");
    assert_eq!(ours[0]["exit_code"], 0, "the launcher closed the session");
    assert!(ours[0]["ended"].is_string());
    assert_eq!(ours[0]["requests"], 2);

    // No local gateway ran: the developer's home has no store and no log of a gateway.
    assert!(!dev.home().join("logs.db").exists());
    let local_log = std::fs::read_to_string(dev.home().join("bifrost.log")).unwrap_or_default();
    assert!(!local_log.contains("gateway listening"), "{local_log}");
    assert!(local_log.contains("remote mode"), "{local_log}");
    // The key is in no file the developer's run wrote.
    crate::support::assert_nowhere(dev.dir.path(), TEAM_KEY);
    let (code, _) = serve.stop();
    assert_eq!(code, Some(0));
}

#[test]
fn the_table_summary_and_the_key_stays_off_codexs_command_line() {
    // A stand-in codex that records its arguments and environment, then calls the gateway
    // the way codex would (with the session header from its -c override).
    let team = World::new();
    let m = Mock::start();
    team_config(&team, &m, "");
    m.push(Reply::Items {
        items: vec![mock::message("hi")],
        usage: mock::usage(4321, 0, 12, 0),
    });
    let serve = Serve::start(&team, &[]);
    let dev = World::new();
    let script = dev.path("fake-codex.sh");
    let record = dev.path("record.txt");
    std::fs::write(
        &script,
        format!(
            r#"#!/bin/sh
printf '%s\n' "$@" > {rec}
session=$(printf '%s\n' "$@" | sed -n 's/.*"x-bifrost-session" = "\([^"]*\)".*/\1/p')
printf 'session=%s\nkey_var=%s\n' "$session" "$BIFROST_SESSION_KEY" >> {rec}.env
python3 - "$session" <<'EOF'
import os, sys, urllib.request
req = urllib.request.Request(os.environ["OPENAI_BASE_URL"] + "/responses",
    data=b'{{"model":"gpt-5.5","input":"hi"}}',
    headers={{"authorization": "Bearer " + os.environ["BIFROST_SESSION_KEY"],
             "content-type": "application/json", "x-bifrost-session": sys.argv[1]}})
urllib.request.urlopen(req).read()
EOF
exit 3
"#,
            rec = record.display()
        ),
    )
    .expect("script");
    std::process::Command::new("chmod")
        .args(["+x", &script.display().to_string()])
        .status()
        .expect("chmod");
    let mut c = dev.bifrost();
    c.env("BIFROST_KEY", TEAM_KEY)
        .arg("--codex-bin")
        .arg(&script)
        .args(["--gateway", &format!("{}/openai/v1/", serve.root)])
        .args(["codex", "exec", "hi"]);
    let out = run_with_timeout(c, Duration::from_secs(60));
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(3),
        "codex's exit code passes through: {stderr}"
    );
    let argv = std::fs::read_to_string(&record).expect("argv");
    assert!(!argv.contains(TEAM_KEY), "{argv}");
    assert!(argv.contains("model_providers.bifrost="), "{argv}");
    assert!(
        argv.contains("-m\nopenai/gpt-5.5"),
        "the server's default model: {argv}"
    );
    let env = std::fs::read_to_string(dev.path("record.txt.env")).expect("env");
    assert!(env.contains(&format!("key_var={TEAM_KEY}")), "{env}");
    assert!(
        stderr.contains("openai/gpt-5.5") && stderr.contains("4,321"),
        "{stderr}"
    );
    assert!(stderr.contains("bifrost session "), "{stderr}");
    drop(serve);
}

#[test]
fn an_unreachable_gateway_a_missing_key_and_a_wrong_key_are_one_line_and_exit_2() {
    let dev = World::new();
    // Nothing listens on port 1 of loopback.
    let out = remote_codex(&dev, "http://127.0.0.1:1", TEAM_KEY, &[], &["exec", "hi"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot reach the gateway at http://127.0.0.1:1"),
        "{err}"
    );
    assert!(!err.contains(TEAM_KEY));

    let mut c = dev.bifrost();
    c.env_remove("BIFROST_KEY")
        .arg("--codex-bin")
        .arg(codex_bin())
        .args(["--gateway", "http://127.0.0.1:1", "codex", "exec", "hi"]);
    let out = run_with_timeout(c, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("BIFROST_KEY"));

    let out = remote_codex(&dev, "not a url", TEAM_KEY, &[], &["exec", "hi"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--gateway https://"));

    let team = World::new();
    let m = Mock::start();
    team_config(&team, &m, "");
    let serve = Serve::start(&team, &[]);
    let out = remote_codex(&dev, &serve.root, "bfs_wrong_key", &[], &["exec", "hi"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("rejected the key"), "{err}");
    assert!(!err.contains("bfs_wrong_key"), "{err}");
    assert!(m.seen().is_empty());
    drop(serve);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_belongs_to_the_key_that_opened_it() {
    let team = World::new();
    let m = Mock::start();
    team_config(&team, &m, "");
    for _ in 0..2 {
        m.push(Reply::Items {
            items: vec![mock::message("ok")],
            usage: mock::usage(10, 0, 2, 0),
        });
    }
    let serve = Serve::start(&team, &[]);
    let http = bifrost::gateway::http_client().expect("client");
    let session = uuid::Uuid::now_v7().to_string();
    let post = |key: &'static str, session: String| {
        http.post(format!("{}/openai/v1/responses", serve.root))
            .bearer_auth(key)
            .header("x-bifrost-session", session)
            .json(&serde_json::json!({"model": "gpt-5.5", "input": "hi"}))
            .send()
    };
    let r = post(TEAM_KEY, session.clone()).await.expect("first");
    assert_eq!(r.status(), 200);
    let r = post(OTHER_KEY, session.clone()).await.expect("other key");
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "session_not_yours");
    let r = post(TEAM_KEY, "bad/id".into()).await.expect("bad id");
    assert_eq!(r.status(), 400);
    let r = post(TEAM_KEY, session.clone()).await.expect("second");
    assert_eq!(r.status(), 200);

    let get = |key: &'static str| {
        http.get(format!("{}/api/sessions/{session}", serve.root))
            .bearer_auth(key)
            .send()
    };
    let r = get(OTHER_KEY).await.expect("other");
    assert_eq!(r.status(), 404, "another key cannot read it");
    let r = get(TEAM_KEY).await.expect("owner");
    assert_eq!(r.status(), 200);
    let s: Value = r.json().await.expect("summary");
    assert_eq!(s["total"]["requests"], 2);
    assert_eq!(s["total"]["input_tokens"], 20);
    assert_eq!(s["exit_code"], Value::Null);
    let r = http
        .get(format!("{}/api/sessions/{session}", serve.root))
        .send()
        .await
        .expect("no key");
    assert_eq!(r.status(), 401);
    let end = |key: &'static str| {
        http.post(format!("{}/api/sessions/{session}/end", serve.root))
            .bearer_auth(key)
            .json(&serde_json::json!({"exit_code": 5}))
            .send()
    };
    assert_eq!(end(OTHER_KEY).await.expect("end").status(), 404);
    assert_eq!(end(TEAM_KEY).await.expect("end").status(), 204);
    assert_eq!(
        m.seen().len(),
        2,
        "the refused requests never went upstream"
    );
    drop(serve);
}

/// The issue's whole story on one shared PostgreSQL store: an admin creates a virtual key
/// with `bifrost keys create`; two `serve` instances share the store; a developer runs the
/// real Codex through `bifrost --gateway URL --key KEY codex` against one of them; the summary
/// comes back, the other instance serves the same summary, `bifrost logs` shows who made the
/// requests, and the key's spend is the summary's cost.
#[test]
fn a_virtual_key_session_on_a_shared_postgres_store_is_summarised_and_charged() {
    let db = crate::support::services::fresh_pg_database();
    let team = World::new();
    let m = Mock::start();
    team.config_for(
        &m,
        "default_model = \"openai/gpt-5.5\"\n[server]\nadmin_keys = [\"env:TEAM_ADMIN_KEY\"]\n\
         [pricing.\"openai/gpt-5.5\"]\ninput = 2.0\noutput = 10.0\n",
    );
    let team_cmd = || {
        let mut c = team.bifrost();
        c.env("BIFROST_STORE_URL", &db)
            .env("TEAM_ADMIN_KEY", "bfa_admin_for_the_story_test_0001");
        c
    };
    let created = team_cmd()
        .args([
            "keys",
            "create",
            "--name",
            "alice",
            "--budget-usd",
            "50/month",
        ])
        .args(["--rpm", "60", "--models", "openai/*"])
        .output()
        .expect("keys create");
    assert!(created.status.success(), "{}", text(&created.stderr));
    let key = text(&created.stdout).trim().to_string();
    assert!(key.starts_with("bfk_"), "{key}");

    m.push(Reply::Items {
        items: vec![
            mock::reasoning("I should run the command."),
            mock::exec_call("echo story-tool-ok", "call_s1"),
        ],
        usage: mock::usage(1000, 200, 50, 10),
    });
    m.push(Reply::Items {
        items: vec![mock::message("Story answer: story-tool-ok.")],
        usage: mock::usage(1300, 1000, 20, 0),
    });
    let a = Serve::start_with(team_cmd(), &[]);
    let b = Serve::start_with(team_cmd(), &[]);

    let dev = World::new();
    let args: Vec<&str> = EXEC
        .iter()
        .copied()
        .chain(["run echo story-tool-ok"])
        .collect();
    let out = remote_codex(&dev, &b.root, &key, &["--summary", "json"], &args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(text(&out.stdout).contains("Story answer: story-tool-ok."));
    assert_eq!(m.seen().len(), 2);
    let summary: Value =
        serde_json::from_str(stderr.lines().last().unwrap_or("")).expect("summary json");
    assert_eq!(summary["total"]["requests"], 2);
    assert_eq!(summary["total"]["input_tokens"], 2300);
    let session = summary["session_id"].as_str().expect("session").to_string();
    let cost = summary["total"]["cost_usd"].as_f64().expect("priced cost");
    assert!(cost > 0.0, "{summary}");

    // The other instance reads the same session from the shared store.
    let from_a: Value = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            bifrost::gateway::http_client()
                .expect("client")
                .get(format!("{}/api/sessions/{session}", a.root))
                .bearer_auth(&key)
                .send()
                .await
                .expect("summary from a")
                .json()
                .await
                .expect("json")
        });
    assert_eq!(from_a["total"]["requests"], 2, "{from_a}");
    assert_eq!(from_a["total"]["input_tokens"], 2300);

    // The team's logs say who made each request; the key was charged the summary's cost.
    let logs = team_cmd()
        .args(["logs", "--json", "--session", &session])
        .output()
        .expect("logs");
    assert!(logs.status.success(), "{}", text(&logs.stderr));
    let rows: Vec<Value> = serde_json::from_slice(&logs.stdout).expect("logs json");
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["virtual_key"] == "alice"), "{rows:?}");
    let charged = || -> i64 {
        let listed: Vec<Value> = serde_json::from_slice(
            &team_cmd()
                .args(["keys", "list", "--json"])
                .output()
                .expect("keys list")
                .stdout,
        )
        .expect("keys json");
        listed[0]["spend_micro_usd"].as_i64().unwrap_or(-1)
    };
    let want = (cost * 1e6).round() as i64;
    crate::support::eventually(Duration::from_secs(5), || charged() == want);
    assert_eq!(charged(), want);
    // The key never reached the developer's files or the server's stderr.
    crate::support::assert_nowhere(dev.dir.path(), &key);
    let (code_b, err_b) = b.stop();
    let (code_a, err_a) = a.stop();
    assert_eq!((code_a, code_b), (Some(0), Some(0)));
    assert!(!err_a.iter().chain(&err_b).any(|l| l.contains(&key)));
}
