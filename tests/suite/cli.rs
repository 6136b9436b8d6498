//! The binary from the outside: exit codes, errors, the child's environment, signals, config.

use std::process::Stdio;
use std::time::Duration;

use crate::support::mock::{self, Mock, Reply};
use crate::support::{
    CANARY, World, assert_nowhere, eventually, logs_json, run_with_timeout, text,
};

#[test]
fn missing_codex_is_one_line_with_the_fix_and_exit_127() {
    let w = World::new();
    let out = w
        .bifrost()
        .args(["--codex-bin", "/nonexistent/codex", "codex", "exec", "hi"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(127));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("npm install -g @openai/codex"), "{err}");
    let out = w
        .bifrost()
        .env("PATH", "/nonexistent")
        .env_remove("BIFROST_CODEX_BIN")
        .args(["codex", "exec", "hi"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(127));
    assert!(!w.home().join("logs.db").exists(), "nothing started");
}

#[test]
fn run_passes_exit_codes_and_signal_deaths_through() {
    let w = World::new();
    let m = Mock::start();
    w.config_for(&m, "");
    let out = w
        .bifrost()
        .args(["--summary", "none", "run", "--", "sh", "-c", "exit 7"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(7));
    let out = w
        .bifrost()
        .args([
            "--summary",
            "none",
            "run",
            "--",
            "sh",
            "-c",
            "kill -TERM $$",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(128 + 15));
    let out = w
        .bifrost()
        .args(["--summary", "none", "run", "--", "/nonexistent/prog"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(127));
    assert!(text(&out.stderr).contains("cannot start `/nonexistent/prog`"));
}

#[test]
fn the_child_sees_the_gateway_and_no_provider_key() {
    let w = World::new();
    let m = Mock::start();
    w.config_for(
        &m,
        "[providers.extra]\ntype = \"openai\"\napi_key = \"env:MY_EXTRA_KEY\"\n",
    );
    let out = w
        .bifrost()
        .env("MY_EXTRA_KEY", "sk-extra-secret")
        .env("GOOGLE_API_KEY", CANARY)
        .args(["run", "--", "sh", "-c", "env > env.txt"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let env = std::fs::read_to_string(w.workdir().join("env.txt")).expect("env.txt");
    let get = |k: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .map(str::to_string)
    };
    let key = get("BIFROST_SESSION_KEY").expect("session key");
    assert!(key.starts_with("bfs_") && key.len() >= 36, "{key}");
    assert_eq!(get("OPENAI_API_KEY").as_deref(), Some(key.as_str()));
    let base = get("OPENAI_BASE_URL").expect("base url");
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/openai/v1"),
        "{base}"
    );
    for k in [
        "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "MY_EXTRA_KEY",
        "BIFROST_TEST_CANARY",
    ] {
        assert_eq!(get(k), None, "{k} leaked into the child");
    }
    assert!(!env.contains(CANARY) && !env.contains("sk-extra-secret"));
}

#[test]
fn run_serves_any_openai_client_and_prints_the_summary() {
    let w = World::new();
    let m = Mock::start();
    w.config_for(&m, "");
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
"#;
    let out = run_with_timeout(
        {
            let mut c = w.bifrost();
            c.args(["run", "--", "python3", "-c", client]);
            c
        },
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "hello from chat");
    let err = text(&out.stderr);
    assert!(err.contains("openai/gpt-5.5"), "{err}");
    assert!(err.contains("321") && err.contains("12"), "{err}");
    let rows = logs_json(&w, &["--last"]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["input_tokens"], 321);
    assert_eq!(rows[0]["stream"], false);
    assert_eq!(rows[0]["ttft_ms"], serde_json::Value::Null);
    assert_nowhere(&w.home(), CANARY);
}

#[test]
fn sigterm_is_forwarded_sigint_is_left_to_the_child() {
    let w = World::new();
    let m = Mock::start();
    w.config_for(&m, "");
    let mut child = w
        .bifrost()
        .args([
            "--summary",
            "none",
            "run",
            "--",
            "sh",
            "-c",
            "trap 'exit 42' TERM; trap '' INT; touch ready; while :; do sleep 0.05; done",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let ready = w.workdir().join("ready");
    eventually(Duration::from_secs(10), || ready.exists());
    let pid = child.id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "SIGINT must not stop bifrost"
    );
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(42));
}

#[test]
fn the_child_dies_with_bifrost() {
    let w = World::new();
    let m = Mock::start();
    w.config_for(&m, "");
    let mut child = w
        .bifrost()
        .args([
            "run",
            "--",
            "sh",
            "-c",
            "trap 'touch got-term; exit 0' TERM; touch ready; while :; do sleep 0.05; done",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let ready = w.workdir().join("ready");
    eventually(Duration::from_secs(10), || ready.exists());
    let _ = child.kill();
    let _ = child.wait();
    let got = w.workdir().join("got-term");
    eventually(Duration::from_secs(5), || got.exists());
}

#[test]
fn config_errors_name_file_line_and_fix_and_exit_2() {
    let w = World::new();
    w.write_config("[providers.openai]\nbase_ur = \"http://x\"\n");
    let out = w
        .bifrost()
        .args(["run", "--", "true"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("config.toml:2:1:") && err.contains("did you mean `base_url`?"),
        "{err}"
    );

    let out = w
        .bifrost()
        .args(["config", "check"])
        .output()
        .expect("check");
    assert_eq!(out.status.code(), Some(2));

    w.write_config("[providers.openai]\napi_key = \"env:UNSET_KEY_VAR\"\n");
    let out = w
        .bifrost()
        .args(["config", "check"])
        .output()
        .expect("check");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("export UNSET_KEY_VAR"));

    std::fs::remove_file(w.config_path()).expect("rm");
    let out = w.bifrost().args(["config", "init"]).output().expect("init");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = w
        .bifrost()
        .args(["config", "check"])
        .output()
        .expect("check");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("openai"),
        "{}",
        text(&out.stdout)
    );
    let out = w
        .bifrost()
        .args(["config", "init"])
        .output()
        .expect("init again");
    assert_eq!(out.status.code(), Some(2), "no silent overwrite");

    let out = w
        .bifrost()
        .args(["logs", "--limit", "x"])
        .output()
        .expect("bad flag");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn logs_on_an_empty_store_say_so() {
    let w = World::new();
    assert_eq!(logs_json(&w, &["--last"]), Vec::<serde_json::Value>::new());
    let out = w
        .bifrost()
        .args(["logs", "show", "nope"])
        .output()
        .expect("show");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no request with id"));
}

#[test]
fn serve_refuses_public_binds_without_a_key_and_drains_on_sigterm() {
    let w = World::new();
    let m = Mock::start();
    w.config_for(&m, "");
    let out = w
        .bifrost()
        .args(["serve", "--host", "0.0.0.0", "--port", "0"])
        .output()
        .expect("serve");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("[server] keys"));

    w.config_for(&m, "[server]\nkeys = [\"bfs_team_key\"]\n");
    let mut child = w
        .bifrost()
        .args(["serve", "--port", "0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("serve");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    while !line.contains("bifrost serve: listening") {
        line.clear();
        assert!(
            std::io::BufRead::read_line(&mut stderr, &mut line).expect("line") > 0,
            "serve exited early"
        );
    }
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("url")
        .to_string();
    let body = r#"{"model":"gpt-5.5","input":"hi"}"#;
    let resp = std::process::Command::new("python3")
        .args(["-c", &format!(
            "import urllib.request;r=urllib.request.Request('{url}/responses',data=b'{body}',headers={{'x-api-key':'bfs_team_key','Content-Type':'application/json'}});print(urllib.request.urlopen(r).status)"
        )])
        .output()
        .expect("client");
    assert_eq!(text(&resp.stdout).trim(), "200", "{}", text(&resp.stderr));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert_eq!(child.wait().expect("wait").code(), Some(0));
    let rows = logs_json(&w, &[]);
    assert_eq!(rows.len(), 1);
}
