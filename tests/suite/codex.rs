//! The real Codex CLI (0.169, from npm) through `bifrost codex`, against the mock upstream.

use std::time::Duration;

use serde_json::Value;

use crate::support::mock::{self, Mock, Reply};
use crate::support::{CANARY, World, assert_nowhere, codex_bin, logs_json, run_with_timeout, text};

const LIMIT: Duration = Duration::from_secs(120);

fn codex(w: &World, root_args: &[&str], exec_args: &[&str]) -> std::process::Output {
    let mut c = w.bifrost();
    c.arg("--codex-bin")
        .arg(codex_bin())
        .args(root_args)
        .arg("codex");
    c.args(exec_args);
    run_with_timeout(c, LIMIT)
}

const EXEC: &[&str] = &[
    "exec",
    "--skip-git-repo-check",
    "-c",
    "analytics.enabled=false",
    "--disable",
    "plugins",
];

#[test]
fn a_tool_round_trip_runs_and_the_summary_and_logs_match_the_mock() {
    let w = World::new();
    let m = Mock::start();
    w.config_for(&m, "default_model = \"openai/gpt-5.5\"\n");
    m.push(Reply::Items {
        items: vec![
            mock::reasoning("I should run the command."),
            mock::exec_call("echo bifrost-tool-ok", "call_1"),
        ],
        usage: mock::usage(1000, 200, 50, 10),
    });
    m.push(Reply::Items {
        items: vec![mock::message("The tool printed bifrost-tool-ok for us.")],
        usage: mock::usage(1300, 1000, 20, 0),
    });
    let args: Vec<&str> = EXEC
        .iter()
        .copied()
        .chain(["run echo bifrost-tool-ok"])
        .collect();
    let out = codex(&w, &["--summary", "json"], &args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        text(&out.stdout).contains("The tool printed bifrost-tool-ok for us."),
        "stdout: {}",
        text(&out.stdout)
    );

    // Upstream: two turns, the default model without its prefix, the tool's output sent back.
    let seen = m.seen();
    assert_eq!(
        seen.len(),
        2,
        "requests: {:?}",
        seen.iter().map(|s| s.path.clone()).collect::<Vec<_>>()
    );
    let turn2 = seen[1].json();
    assert_eq!(turn2["model"], "gpt-5.5");
    let outputs: Vec<&Value> = turn2["input"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|i| i["type"] == "function_call_output")
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0]["call_id"], "call_1");
    assert!(
        outputs[0]["output"]
            .as_str()
            .unwrap_or("")
            .contains("bifrost-tool-ok")
    );
    assert!(turn2["input"].as_array().is_some_and(|a| {
        a.iter()
            .any(|i| i["type"] == "reasoning" && i["encrypted_content"] == "gAAAAmockEncrypted==")
    }));

    // The summary: the last stderr line is the JSON summary.
    let summary: Value =
        serde_json::from_str(stderr.lines().last().unwrap_or("")).expect("summary json");
    let total = &summary["total"];
    assert_eq!(
        (total["requests"].as_u64(), total["errors"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(total["input_tokens"], 2300);
    assert_eq!(total["cached_input_tokens"], 1200);
    assert_eq!(total["output_tokens"], 70);
    assert_eq!(total["reasoning_tokens"], 10);
    assert_eq!(summary["models"][0]["model"], "openai/gpt-5.5");
    assert!(total["cost_usd"].as_f64().is_some_and(|c| c > 0.0));
    assert_eq!(summary["exit_code"], 0);

    // The log: one row per request, in order, matching the mock.
    let rows = logs_json(&w, &["--last"]);
    assert_eq!(rows.len(), 2);
    for (row, (inp, cached, outp, reas)) in
        rows.iter().zip([(1000, 200, 50, 10), (1300, 1000, 20, 0)])
    {
        assert_eq!(row["status"], "ok");
        assert_eq!(row["http_status"], 200);
        assert_eq!(row["provider"], "openai");
        assert_eq!(row["model"], "openai/gpt-5.5");
        assert_eq!(row["stream"], true);
        assert_eq!(
            (
                row["input_tokens"].as_i64(),
                row["cached_input_tokens"].as_i64()
            ),
            (Some(inp), Some(cached))
        );
        assert_eq!(
            (
                row["output_tokens"].as_i64(),
                row["reasoning_tokens"].as_i64()
            ),
            (Some(outp), Some(reas))
        );
        assert!(row["ttft_ms"].as_f64().is_some() && row["latency_ms"].as_f64().is_some());
        assert!(row["cost_usd"].as_f64().is_some());
        assert_eq!(row["error"], Value::Null);
        assert_eq!(row["session_id"], summary["session_id"]);
        assert!(
            row["time"]
                .as_str()
                .is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok())
        );
    }
    assert_nowhere(w.dir.path().join("bifrost-home").as_path(), CANARY);
    assert_nowhere(w.dir.path().join("codex-home").as_path(), CANARY);
}

#[test]
fn a_plain_answer_with_a_prefixed_model_and_the_table_summary() {
    let w = World::new();
    let m = Mock::start();
    w.config_for(&m, "");
    m.push(Reply::Items {
        items: vec![mock::message("Plain answer from the mock.")],
        usage: mock::usage(4321, 0, 12, 0),
    });
    let args: Vec<&str> = ["-m", "openai/gpt-5.5"]
        .into_iter()
        .chain(EXEC.iter().copied())
        .chain(["say hi"])
        .collect();
    let out = codex(&w, &[], &args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(text(&out.stdout).contains("Plain answer from the mock."));
    assert_eq!(m.seen().len(), 1);
    assert_eq!(
        m.seen()[0].json()["model"],
        "gpt-5.5",
        "the prefix is stripped upstream"
    );
    assert!(
        stderr.contains("openai/gpt-5.5") && stderr.contains("4,321") && stderr.contains("total"),
        "{stderr}"
    );
    let table = w.bifrost().args(["logs", "--last"]).output().expect("logs");
    let t = text(&table.stdout);
    assert!(t.contains("openai/gpt-5.5") && t.contains("4,321"), "{t}");
    let id = logs_json(&w, &["--last"])[0]["id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let show = w
        .bifrost()
        .args(["logs", "show", &id[..13]])
        .output()
        .expect("show");
    let s = text(&show.stdout);
    assert!(show.status.success(), "{}", text(&show.stderr));
    assert!(
        s.contains("say hi")
            && s.contains("Plain answer from the mock.")
            && s.contains("[redacted]"),
        "{s}"
    );
    assert!(!s.contains(CANARY));
}

#[test]
fn a_codex_error_reaches_the_user_and_the_log() {
    let w = World::new();
    let m = Mock::start();
    w.config_for(&m, "");
    m.push(Reply::Json(400, serde_json::json!({"error": {"message": "mock says the prompt is invalid", "type": "invalid_request_error", "code": "invalid_prompt"}})));
    let args: Vec<&str> = ["-m", "gpt-5.5"]
        .into_iter()
        .chain(EXEC.iter().copied())
        .chain(["hi"])
        .collect();
    let out = codex(&w, &[], &args);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("mock says the prompt is invalid"),
        "{}",
        text(&out.stderr)
    );
    let rows = logs_json(&w, &["--last"]);
    assert_eq!(rows[0]["status"], "error");
    assert_eq!(rows[0]["http_status"], 400);
    assert!(
        rows[0]["error"]
            .as_str()
            .unwrap_or("")
            .contains("mock says the prompt is invalid")
    );
}
