//! The provider key (the canary) through `bifrost serve`: success, an upstream 401 and 500s
//! that echo the key back, and successful answers (a JSON body and a stream) whose text echoes
//! it. It must appear in none of the store, the log file, `bifrost logs
//! --json`, `bifrost logs show`, the error responses, `/metrics` or the server's stderr.

use std::io::BufRead;
use std::process::Stdio;

use serde_json::json;

use crate::support::mock::{self, Mock, Reply};
use crate::support::{CANARY, World, assert_nowhere, logs_json, text};

const KEY: &str = "bfs_secrets_team_key";

#[tokio::test]
async fn the_provider_key_never_leaks_even_when_upstream_echoes_it() {
    let w = World::new();
    let m = Mock::start();
    w.config_for(
        &m,
        // No retries: each upstream error must reach the client as it is.
        &format!("[server]\nkeys = [\"{KEY}\"]\n[logs]\ncapture_bodies = true\n[gateway]\nmax_retries = 0\n"),
    );
    let mut child = w
        .bifrost()
        .args(["serve", "--port", "0"])
        .env("BIFROST_LOG", "debug")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.unwrap_or_default();
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let url = loop {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("serve starts");
        if line.contains("bifrost serve: listening") {
            break line
                .split_whitespace()
                .find(|w| w.starts_with("http://"))
                .expect("url")
                .trim_end_matches('/')
                .to_string();
        }
    };
    let base = url.trim_end_matches("/v1").to_string();
    m.push(Reply::Items {
        items: vec![mock::message("ok")],
        usage: mock::usage(5, 0, 1, 0),
    });
    m.push(Reply::Raw(
        401,
        format!("Incorrect API key provided: {CANARY}. Find your key at ..."),
    ));
    m.push(Reply::Json(
        500,
        json!({"error": {"message": format!("internal error for key {CANARY}"), "type": "server_error", "code": "boom"}}),
    ));
    m.push(Reply::Raw(500, format!("<html>key={CANARY}</html>")));
    // A 200 whose answer repeats the key, as a JSON body and as a stream.
    for _ in 0..2 {
        m.push(Reply::Items {
            items: vec![mock::message(&format!(
                "you sent {CANARY}, and again {CANARY}"
            ))],
            usage: mock::usage(5, 0, 1, 0),
        });
    }
    let http = bifrost::gateway::http_client().expect("client");
    let mut bodies = Vec::new();
    for stream in [false, false, true, false, false, true] {
        let r = http
            .post(format!("{base}/v1/responses"))
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(format!(
                r#"{{"model":"gpt-5.5","stream":{stream},"input":"hi"}}"#
            ))
            .send()
            .await
            .expect("send");
        bodies.push((r.status().as_u16(), r.text().await.expect("body")));
    }
    assert_eq!(
        bodies.iter().map(|b| b.0).collect::<Vec<_>>(),
        [200, 401, 500, 500, 200, 200]
    );
    for (status, body) in &bodies {
        assert!(!body.contains(CANARY), "{status}: {body}");
    }
    for i in [1, 4, 5] {
        assert!(bodies[i].1.contains("[redacted]"), "{}", bodies[i].1);
    }
    assert!(
        bodies[5].1.contains("response.completed"),
        "the scrubbed stream still completes: {}",
        bodies[5].1
    );
    let metrics = http
        .get(format!("{base}/metrics"))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("bifrost"), "{metrics:.200}");
    assert!(!metrics.contains(CANARY));
    // The mock did get the key: the canary is real.
    assert!(m.seen().iter().all(|s| {
        s.headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains(CANARY))
    }));

    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert_eq!(child.wait().expect("wait").code(), Some(0));
    let stderr = reader.join().expect("stderr");
    assert!(!stderr.contains(CANARY), "stderr leaks the key");

    let rows = logs_json(&w, &["--limit", "0"]);
    assert_eq!(rows.len(), 6);
    let all = serde_json::to_string(&rows).expect("json");
    assert!(!all.contains(CANARY));
    assert!(
        all.contains("[redacted]"),
        "the echoed key is scrubbed, not dropped"
    );
    for row in &rows {
        let id = row["id"].as_str().expect("id");
        let out = w
            .bifrost()
            .args(["logs", "show", id])
            .output()
            .expect("show");
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(!text(&out.stdout).contains(CANARY), "logs show {id}");
    }
    // The store (database, WAL), bifrost.log and everything else under BIFROST_HOME.
    assert_nowhere(&w.home(), CANARY);
}
