//! The deployment surface of `bifrost serve`: `/health` and `/ready` for load balancers,
//! `--log-format json` for log collectors, and the graceful drain on SIGTERM.

use std::time::Duration;

use serde_json::Value;

use super::remote::{Serve, TEAM_KEY, team_config};
use crate::support::mock::{self, Mock, Reply};
use crate::support::{World, logs_json};

fn client() -> reqwest::Client {
    bifrost::gateway::http_client().expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_is_200_with_a_store_and_a_provider_and_503_naming_what_is_missing() {
    let team = World::new();
    let m = Mock::start();
    team_config(&team, &m, "");
    let serve = Serve::start(&team, &[]);
    let http = client();
    let r = http
        .get(format!("{}/ready", serve.root))
        .send()
        .await
        .expect("ready");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(
        (v["status"].as_str(), v["store"].as_str()),
        (Some("ready"), Some("ok"))
    );
    let h: Value = http
        .get(format!("{}/health", serve.root))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(h["status"], "ok");
    assert_eq!(h["default_model"], "openai/gpt-5.5");
    assert!(!h.to_string().contains(TEAM_KEY) && !h.to_string().contains("canary"));

    // The store goes away under the server: not ready, and the answer says which part.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(team.home().join(format!("logs.db{suffix}")));
    }
    let r = http
        .get(format!("{}/ready", serve.root))
        .send()
        .await
        .expect("ready");
    assert_eq!(r.status(), 503);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["status"], "not_ready");
    let problems = v["problems"].to_string();
    assert!(problems.contains("log store"), "{problems}");
    assert!(!problems.contains("provider"), "{problems}");
    // Liveness is unaffected.
    let r = http
        .get(format!("{}/health", serve.root))
        .send()
        .await
        .expect("health");
    assert_eq!(r.status(), 200);
    drop(serve);

    // No provider at all (no config, no provider keys in the environment).
    let bare = World::new();
    bare.write_config("[server]\nkeys = [\"bfs_bare_key_0001\"]\n");
    let mut c = bare.bifrost();
    c.env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("GEMINI_API_KEY");
    let serve = Serve::start_with(c, &[]);
    let r = http
        .get(format!("{}/ready", serve.root))
        .send()
        .await
        .expect("ready");
    assert_eq!(r.status(), 503);
    let v: Value = r.json().await.expect("json");
    let problems = v["problems"].to_string();
    assert!(problems.contains("no provider is configured"), "{problems}");
    assert!(!problems.contains("log store"), "{problems}");
}

#[test]
fn json_log_format_makes_every_serve_line_a_json_object() {
    let team = World::new();
    let m = Mock::start();
    team_config(&team, &m, "");
    // One rejected request (wrong key) so the gateway logs a warning line too.
    let serve = Serve::start(&team, &["--log-format", "json"]);
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            &format!(
                "import urllib.request,urllib.error\ntry:\n  urllib.request.urlopen(urllib.request.Request('{}/openai/v1/responses',data=b'{{}}',headers={{'authorization':'Bearer nope','content-type':'application/json'}}))\nexcept urllib.error.HTTPError as e:\n  print(e.code)",
                serve.root
            ),
        ])
        .output()
        .expect("client");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "401");
    let (code, lines) = serve.stop();
    assert_eq!(code, Some(0));
    assert!(lines.len() >= 4, "{lines:?}");
    let mut messages = Vec::new();
    for line in &lines {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            v["timestamp"].is_string() && v["level"].is_string(),
            "{line}"
        );
        messages.push(v["message"].as_str().unwrap_or("").to_string());
    }
    assert!(
        messages.iter().any(|m| m.contains("listening on")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("wrong or missing key")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("draining")),
        "{messages:?}"
    );
    // The log file holds the tracing lines as JSON too, and neither the key nor the
    // one-time dashboard link.
    let file = std::fs::read_to_string(team.home().join("bifrost.log")).expect("log file");
    assert!(!file.is_empty());
    for line in file.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string());
    }
    assert!(
        !file.contains(TEAM_KEY) && !file.contains("token="),
        "{file}"
    );
}

#[test]
fn sigterm_lets_an_in_flight_stream_finish_then_exits_0() {
    let team = World::new();
    let m = Mock::start();
    team_config(&team, &m, "");
    m.push(Reply::Delay(
        Duration::from_millis(1500),
        Box::new(Reply::Items {
            items: vec![mock::message("finished during the drain")],
            usage: mock::usage(7, 0, 3, 0),
        }),
    ));
    let serve = Serve::start(&team, &[]);
    let url = format!("{}/openai/v1/responses", serve.root);
    let request = std::thread::spawn(move || {
        std::process::Command::new("python3")
            .args(["-c", &format!(
                "import urllib.request\nr=urllib.request.urlopen(urllib.request.Request('{url}',data=b'{{\"model\":\"gpt-5.5\",\"input\":\"hi\",\"stream\":true}}',headers={{'authorization':'Bearer {TEAM_KEY}','content-type':'application/json'}}))\nprint(r.status)\nprint(r.read().decode())"
            )])
            .output()
            .expect("client")
    });
    // SIGTERM once the request is upstream (the mock holds it for 1.5 s).
    crate::support::eventually(Duration::from_secs(20), || !m.seen().is_empty());
    let (code, lines) = serve.stop();
    let out = request.join().expect("client thread");
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(
        body.starts_with("200"),
        "{body} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        body.contains("response.completed") && body.contains("finished during the drain"),
        "{body}"
    );
    assert_eq!(code, Some(0), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("draining")), "{lines:?}");
    assert!(
        !lines.iter().any(|l| l.contains("cut at shutdown")),
        "{lines:?}"
    );
    let rows = logs_json(&team, &[]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "ok");
    assert_eq!(rows[0]["output_tokens"], 3);
}
