//! MCP injection end to end: real servers from npm and PyPI, a fault server, the real Codex.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::chat_mock::{self as cm, ChatMock};
use crate::support::{CANARY, World, codex_bin, logs_json, run_with_timeout, text};

fn deps_bin(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".deps/node_modules/.bin")
        .join(name);
    assert!(
        p.exists(),
        "{name} is needed: run `.ci/run` (npm install --prefix .deps @modelcontextprotocol/server-filesystem @modelcontextprotocol/server-everything)"
    );
    p
}

fn fault_server() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mcp/fault_server.py")
        .display()
        .to_string()
}

fn world(m: &ChatMock, mcp: &str) -> World {
    let w = World::new();
    w.write_config(&format!(
        "default_provider = \"myvllm\"\n[providers.myvllm]\ntype = \"openai_compatible\"\nbase_url = \"{}\"\napi_key = \"env:BIFROST_TEST_CANARY\"\n{mcp}",
        m.base_url()
    ));
    w
}

fn fs_server(root: &Path) -> String {
    format!(
        "[mcp.servers.fs]\ncommand = \"{}\"\nargs = [\"{}\"]\n",
        deps_bin("mcp-server-filesystem").display(),
        root.display()
    )
}

fn codex(w: &World, root: &[&str], exec: &[&str]) -> std::process::Output {
    let mut c = w.bifrost();
    c.arg("--codex-bin")
        .arg(codex_bin())
        .args(["--summary", "json"])
        .args(root)
        .arg("codex")
        .args(["-m", &format!("myvllm/{}", cm::MODEL), "exec"]);
    c.args(exec);
    run_with_timeout(c, Duration::from_secs(120))
}

fn posts(m: &ChatMock) -> Vec<Value> {
    m.seen()
        .iter()
        .filter(|s| s.path.ends_with("/chat/completions"))
        .map(|s| s.json())
        .collect()
}

fn tool_names(req: &Value) -> Vec<String> {
    req["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["function"]["name"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn codex_answers_from_an_injected_tool_and_the_exchange_survives_the_next_turn() {
    let m = ChatMock::start(true);
    let w0 = World::new();
    let root = w0.workdir();
    let token = format!("TOKEN-{}", uuid::Uuid::now_v7().simple());
    std::fs::write(root.join("note.txt"), format!("the secret is {token}\n")).expect("write");
    let w = world(&m, &fs_server(&root));
    std::fs::copy(root.join("note.txt"), w.workdir().join("note.txt")).expect("copy");
    let path = root.join("note.txt").display().to_string();
    m.push(cm::Reply::ToolCalls {
        calls: vec![(
            "fs__read_text_file".into(),
            json!({"path": path}).to_string(),
        )],
        usage: cm::usage(800, 0, 20, 0),
    });
    m.push(cm::Reply::Text {
        text: format!("The note says {token}."),
        usage: cm::usage(900, 700, 10, 0),
    });
    let out = codex(
        &w,
        &[],
        &[
            "--skip-git-repo-check",
            "-c",
            "analytics.enabled=false",
            "--disable",
            "plugins",
            "what does note.txt say?",
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        text(&out.stdout).contains(&token),
        "codex's answer carries the token: {}",
        text(&out.stdout)
    );
    assert!(
        stderr.contains("MCP: fs ("),
        "start-up line on a non-terminal: {stderr}"
    );

    let p = posts(&m);
    assert_eq!(p.len(), 2, "one Codex request, two upstream round trips");
    let names = tool_names(&p[0]);
    assert!(
        names.contains(&"exec_command".to_string())
            && names.iter().any(|n| n == "fs__read_text_file"),
        "{names:?}"
    );
    let tool_msg = p[1]["messages"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["role"] == "tool").cloned())
        .unwrap_or_default();
    assert!(
        tool_msg["content"].as_str().unwrap_or("").contains(&token),
        "the tool's result went upstream"
    );

    // Codex never saw the injected call: nothing in its session files names it.
    let codex_home = w.path("codex-home");
    let mut stack = vec![codex_home];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let s = std::fs::read_to_string(&p).unwrap_or_default();
                assert!(
                    !s.contains("fs__read_text_file"),
                    "{} mentions the injected tool",
                    p.display()
                );
            }
        }
    }
    let summary: Value =
        serde_json::from_str(stderr.lines().last().unwrap_or("")).expect("summary");
    assert_eq!(summary["tool_calls"], 1);
    assert_eq!(
        summary["total"]["input_tokens"], 1700,
        "usage of both round trips"
    );
    let rows = logs_json(&w, &["--last"]);
    assert_eq!(rows.len(), 1);
    let show = w
        .bifrost()
        .args(["logs", "show", rows[0]["id"].as_str().unwrap_or("")])
        .output()
        .expect("show");
    assert!(
        text(&show.stdout).contains("fs/read_text_file ok"),
        "{}",
        text(&show.stdout)
    );

    // Codex's own tools are exactly those of a run without MCP.
    let m2 = ChatMock::start(true);
    let w2 = world(&m2, &fs_server(&root));
    m2.push(cm::Reply::Text {
        text: "plain".into(),
        usage: cm::usage(1, 0, 1, 0),
    });
    let out2 = codex(
        &w2,
        &["--no-mcp"],
        &[
            "--skip-git-repo-check",
            "-c",
            "analytics.enabled=false",
            "--disable",
            "plugins",
            "what does note.txt say?",
        ],
    );
    assert_eq!(out2.status.code(), Some(0), "{}", text(&out2.stderr));
    let plain = posts(&m2);
    let own: Vec<&Value> = p[0]["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| {
            !t["function"]["name"]
                .as_str()
                .unwrap_or("")
                .starts_with("fs__")
        })
        .collect();
    let without: Vec<&Value> = plain[0]["tools"].as_array().into_iter().flatten().collect();
    assert_eq!(own, without, "Codex's tools are untouched");

    // Turn 2: Codex resends its history; the gateway expands the exchange it carried.
    m.push(cm::Reply::Text {
        text: format!("Still {token}."),
        usage: cm::usage(1000, 900, 5, 0),
    });
    let out3 = codex(
        &w,
        &[],
        &[
            "--skip-git-repo-check",
            "-c",
            "analytics.enabled=false",
            "--disable",
            "plugins",
            "resume",
            "--last",
            "and again?",
        ],
    );
    assert_eq!(out3.status.code(), Some(0), "{}", text(&out3.stderr));
    let p = posts(&m);
    assert_eq!(p.len(), 3);
    let msgs = p[2]["messages"].as_array().cloned().unwrap_or_default();
    let call = msgs.iter().find(|m| {
        m["tool_calls"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["function"]["name"] == "fs__read_text_file")
        })
    });
    assert!(
        call.is_some(),
        "turn 2 carries the earlier call upstream: {msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m["role"] == "tool" && m["content"].as_str().unwrap_or("").contains(&token)),
        "and its result"
    );
}

fn run_client(w: &World, body: Value, extra_headers: &[(&str, &str)]) -> Value {
    let headers: String = extra_headers
        .iter()
        .map(|(k, v)| format!(",'{k}':'{v}'"))
        .collect();
    let script = format!(
        "import json,os,urllib.request\nr=urllib.request.Request(os.environ['OPENAI_BASE_URL']+'/chat/completions',data=json.dumps({body}).encode(),headers={{'Authorization':'Bearer '+os.environ['OPENAI_API_KEY'],'Content-Type':'application/json'{headers}}})\nprint(urllib.request.urlopen(r,timeout=60).read().decode())"
    );
    let mut c = w.bifrost();
    c.args(["--summary", "none", "run", "--", "python3", "-c", &script]);
    let out = run_with_timeout(c, Duration::from_secs(120));
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_str(text(&out.stdout).trim()).unwrap_or(Value::Null)
}

fn chat_with_tools() -> Value {
    json!({"model": cm::MODEL, "messages": [{"role": "user", "content": "go"}],
           "tools": [{"type": "function", "function": {"name": "client_tool", "parameters": {"type": "object", "properties": {}}}}]})
}

#[test]
fn faulty_tools_give_the_model_an_error_and_the_client_never_hangs() {
    let m = ChatMock::start(true);
    let w = world(
        &m,
        &format!(
            "[mcp]\ntool_timeout_secs = 1\n[mcp.servers.faults]\ncommand = \"python3\"\nargs = [\"{}\"]\n",
            fault_server()
        ),
    );
    let tool_result = |req: &Value| -> Vec<String> {
        req["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["role"] == "tool")
            .map(|m| m["content"].as_str().unwrap_or("").to_string())
            .collect()
    };
    for (i, (tool, expect)) in [
        ("faults__hang", "timed out after 1s"),
        ("faults__garbage", "timed out"),
        ("faults__crash", "failed"),
    ]
    .into_iter()
    .enumerate()
    {
        m.push(cm::Reply::ToolCalls {
            calls: vec![(tool.into(), "{}".into())],
            usage: cm::usage(10, 0, 5, 0),
        });
        m.push(cm::Reply::Text {
            text: format!("recovered from {tool}"),
            usage: cm::usage(20, 0, 5, 0),
        });
        let started = Instant::now();
        let v = run_client(&w, chat_with_tools(), &[]);
        assert_eq!(
            v["choices"][0]["message"]["content"],
            format!("recovered from {tool}")
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{tool}: the client never hangs"
        );
        let results = tool_result(&posts(&m)[2 * i + 1]);
        assert_eq!(results.len(), 1, "{tool}");
        assert!(results[0].contains(expect), "{tool}: {results:?}");
    }
}

#[test]
fn parallel_calls_run_concurrently_and_filters_choose_servers() {
    let m = ChatMock::start(true);
    let mcp = format!(
        "[mcp.servers.faults]\ncommand = \"python3\"\nargs = [\"{}\"]\n[mcp.servers.everything]\ncommand = \"{}\"\n",
        fault_server(),
        deps_bin("mcp-server-everything").display()
    );
    let w = world(&m, &mcp);
    let sleep = json!({"secs": 1.5}).to_string();
    m.push(cm::Reply::ToolCalls {
        calls: vec![
            ("faults__sleep".into(), sleep.clone()),
            ("faults__sleep".into(), sleep),
        ],
        usage: cm::usage(10, 0, 5, 0),
    });
    m.push(cm::Reply::Text {
        text: "both slept".into(),
        usage: cm::usage(20, 0, 5, 0),
    });
    let started = Instant::now();
    let v = run_client(&w, chat_with_tools(), &[]);
    assert_eq!(v["choices"][0]["message"]["content"], "both slept");
    let took = started.elapsed();
    let p = posts(&m);
    assert!(tool_names(&p[0]).iter().any(|n| n == "everything__echo"));
    assert!(tool_names(&p[0]).contains(&"client_tool".to_string()));
    // Two 1.5 s calls in parallel: well under 3 s of tool time.
    let conn = rusqlite::Connection::open(w.home().join("logs.db")).expect("db");
    let tool_us: i64 = conn
        .query_row(
            "SELECT tool_us FROM requests ORDER BY started_at DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("tool_us");
    assert!(
        (1_500_000..2_900_000).contains(&tool_us),
        "tool time {tool_us} µs (whole request {took:?})"
    );

    // Header filter: exclude a server for one request.
    m.push(cm::Reply::Text {
        text: "no faults".into(),
        usage: cm::usage(1, 0, 1, 0),
    });
    run_client(
        &w,
        chat_with_tools(),
        &[("x-bifrost-mcp-exclude", "faults")],
    );
    let names = tool_names(&posts(&m)[2]);
    assert!(
        names.iter().any(|n| n.starts_with("everything__"))
            && !names.iter().any(|n| n.starts_with("faults__")),
        "{names:?}"
    );

    // --mcp picks servers for the whole run; a request without tools gets none injected.
    m.push(cm::Reply::Text {
        text: "only everything".into(),
        usage: cm::usage(1, 0, 1, 0),
    });
    let mut c = w.bifrost();
    c.args(["--mcp", "everything", "--summary", "none", "run", "--", "python3", "-c",
        "import json,os,urllib.request\nr=urllib.request.Request(os.environ['OPENAI_BASE_URL']+'/chat/completions',data=json.dumps({'model':'mock-chat-model','messages':[{'role':'user','content':'x'}],'tools':[]}).encode(),headers={'Authorization':'Bearer '+os.environ['OPENAI_API_KEY'],'Content-Type':'application/json'})\nprint(urllib.request.urlopen(r).read().decode())"]);
    let out = run_with_timeout(c, Duration::from_secs(60));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        posts(&m)[3]
            .get("tools")
            .is_none_or(|t| t.as_array().is_none_or(Vec::is_empty)),
        "tools: [] stays empty (Codex compaction)"
    );
}

#[test]
fn servers_never_see_provider_keys_and_required_failures_stop_the_launch() {
    let m = ChatMock::start(true);
    let w = world(
        &m,
        &format!(
            "[mcp.servers.everything]\ncommand = \"{}\"\n",
            deps_bin("mcp-server-everything").display()
        ),
    );
    let out = w
        .bifrost()
        .args(["mcp", "call", "everything", "get-env"])
        .output()
        .expect("call");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let env = text(&out.stdout);
    assert!(env.contains("PATH"), "{env}");
    assert!(
        !env.contains(CANARY),
        "provider keys are removed from MCP servers' environment"
    );
    let out = w
        .bifrost()
        .args([
            "mcp",
            "call",
            "everything",
            "get-sum",
            r#"{"a": 2, "b": 40}"#,
        ])
        .output()
        .expect("call");
    assert!(text(&out.stdout).contains("42"), "{}", text(&out.stdout));
    let out = w
        .bifrost()
        .args(["mcp", "call", "everything", "get-tiny-image"])
        .output()
        .expect("image");
    assert!(
        text(&out.stdout).contains("[image]"),
        "{}",
        text(&out.stdout)
    );

    let git = World::new();
    let repo = git.workdir();
    std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(&repo)
        .status()
        .expect("git init");
    std::fs::write(repo.join("a.txt"), "x").expect("write");
    let wg = world(
        &m,
        &format!(
            "[mcp.servers.git]\ncommand = \"mcp-server-git\"\nargs = [\"--repository\", \"{}\"]\n",
            repo.display()
        ),
    );
    let out = wg
        .bifrost()
        .args([
            "mcp",
            "call",
            "git",
            "git_status",
            &json!({"repo_path": repo.display().to_string()}).to_string(),
        ])
        .output()
        .expect("git");
    assert!(
        text(&out.stdout).contains("a.txt"),
        "mcp-server-git from PyPI answers: {} {}",
        text(&out.stdout),
        text(&out.stderr)
    );

    let wr = world(
        &m,
        "[mcp.servers.broken]\ncommand = \"/nonexistent/mcp\"\nrequired = true\n",
    );
    let out = wr
        .bifrost()
        .args(["run", "--", "true"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("required MCP server `broken` failed to start"),
        "{}",
        text(&out.stderr)
    );
    let wo = world(&m, "[mcp.servers.broken]\ncommand = \"/nonexistent/mcp\"\n");
    let out = wo
        .bifrost()
        .args(["run", "--", "true"])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "an optional failing server only warns"
    );
    assert!(text(&out.stderr).contains("warning: MCP server `broken` failed to start"));
}
