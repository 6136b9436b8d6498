//! The real Codex CLI through `bifrost codex` on every translated provider: a shell tool round
//! trip, apply_patch that really edits a file, usage and cost in the summary and the log.

use std::time::Duration;

use serde_json::Value;

use crate::support::chat_mock::{self, ChatMock};
use crate::support::{CANARY, World, assert_nowhere, codex_bin, logs_json, run_with_timeout, text};

const LIMIT: Duration = Duration::from_secs(120);

fn exec(w: &World, model: &str, prompt: &str, extra: &[&str]) -> std::process::Output {
    let mut c = w.bifrost();
    c.arg("--codex-bin").arg(codex_bin()).args([
        "--summary",
        "json",
        "codex",
        "-m",
        model,
        "exec",
        "--skip-git-repo-check",
    ]);
    c.args(["-c", "analytics.enabled=false", "--disable", "plugins"])
        .args(extra)
        .arg(prompt);
    run_with_timeout(c, LIMIT)
}

fn summary(stderr: &str) -> Value {
    serde_json::from_str(stderr.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("no summary json ({e}): {stderr}"))
}

fn chat_provider(w: &World, mock: &ChatMock, name: &str, extra: &str) {
    w.write_config(&format!(
        "{extra}\n[providers.{name}]\ntype = \"openai_compatible\"\nbase_url = \"{}\"\napi_key = \"env:BIFROST_TEST_CANARY\"\n",
        mock.base_url()
    ));
}

#[test]
fn codex_on_an_openai_compatible_server_runs_a_shell_tool() {
    let w = World::new();
    let m = ChatMock::start(true);
    chat_provider(&w, &m, "myvllm", "");
    m.push(chat_mock::Reply::ToolCalls {
        calls: vec![(
            "exec_command".into(),
            r#"{"cmd":"echo bifrost-chat-tool","yield_time_ms":1000}"#.into(),
        )],
        usage: chat_mock::usage(900, 100, 30, 0),
    });
    m.push(chat_mock::Reply::Text {
        text: "Chat provider says done: bifrost-chat-tool".into(),
        usage: chat_mock::usage(1100, 800, 15, 0),
    });
    let out = exec(
        &w,
        &format!("myvllm/{}", chat_mock::MODEL),
        "run echo bifrost-chat-tool",
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(text(&out.stdout).contains("Chat provider says done: bifrost-chat-tool"));
    let seen = m.seen();
    let posts: Vec<Value> = seen
        .iter()
        .filter(|s| s.path.ends_with("/chat/completions"))
        .map(|s| s.json())
        .collect();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0]["model"], chat_mock::MODEL);
    assert!(
        posts[0]["tools"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["function"]["name"] == "exec_command"))
    );
    let tool_msg = posts[1]["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "tool").cloned())
        .unwrap_or_default();
    assert!(
        tool_msg["content"]
            .as_str()
            .unwrap_or("")
            .contains("bifrost-chat-tool"),
        "{tool_msg}"
    );
    let s = summary(&stderr);
    assert_eq!(
        (
            s["total"]["input_tokens"].as_i64(),
            s["total"]["cached_input_tokens"].as_i64()
        ),
        (Some(2000), Some(900))
    );
    assert_eq!(s["total"]["output_tokens"], 45);
    let rows = logs_json(&w, &["--last"]);
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r["provider"] == "myvllm" && r["status"] == "ok" && r["ttft_ms"].is_number())
    );
    assert_nowhere(&w.home(), CANARY);
}

#[test]
fn codex_on_ollama_with_zero_provider_config_costs_nothing() {
    let w = World::new();
    let m = ChatMock::start(false);
    let host = m
        .base_url()
        .trim_start_matches("http://")
        .trim_end_matches("/v1")
        .to_string();
    w.write_config("# no providers: ollama is always there\n");
    m.push(chat_mock::Reply::ReasoningText {
        reasoning: "thinking locally".into(),
        text: "Local model answer.".into(),
        usage: chat_mock::usage(500, 0, 20, 5),
    });
    let mut c = w.bifrost();
    c.env("OLLAMA_HOST", &host)
        .env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("GEMINI_API_KEY");
    c.arg("--codex-bin").arg(codex_bin()).args([
        "--summary",
        "json",
        "codex",
        "-m",
        &format!("ollama/{}", chat_mock::MODEL),
    ]);
    c.args([
        "exec",
        "--skip-git-repo-check",
        "-c",
        "analytics.enabled=false",
        "--disable",
        "plugins",
        "say hi",
    ]);
    let out = run_with_timeout(c, LIMIT);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(text(&out.stdout).contains("Local model answer."));
    assert!(
        m.seen()
            .iter()
            .all(|s| s.headers.get("authorization").is_none()),
        "no key goes to ollama"
    );
    let s = summary(&stderr);
    assert_eq!(s["total"]["cost_usd"], 0.0, "local models cost $0, not n/a");
    assert_eq!(s["total"]["reasoning_tokens"], 5);
}

#[test]
fn an_alias_sends_gpt_5_5_elsewhere_and_apply_patch_edits_the_file() {
    let w = World::new();
    let m = ChatMock::start(true);
    chat_provider(
        &w,
        &m,
        "myvllm",
        &format!("[aliases]\n\"gpt-5.5\" = \"myvllm/{}\"\n", chat_mock::MODEL),
    );
    std::fs::write(w.workdir().join("greeting.txt"), "hello\n").expect("write");
    let patch = "*** Begin Patch\n*** Update File: greeting.txt\n@@\n-hello\n+hello from bifrost\n*** End Patch\n";
    let args = serde_json::json!({"input": patch}).to_string();
    m.push(chat_mock::Reply::ToolCalls {
        calls: vec![("apply_patch".into(), args)],
        usage: chat_mock::usage(1000, 0, 40, 0),
    });
    m.push(chat_mock::Reply::Text {
        text: "Patched greeting.txt.".into(),
        usage: chat_mock::usage(1200, 1000, 5, 0),
    });
    let out = exec(
        &w,
        "gpt-5.5",
        "update greeting.txt",
        &["--dangerously-bypass-approvals-and-sandbox"],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(w.workdir().join("greeting.txt")).unwrap_or_default(),
        "hello from bifrost\n"
    );
    let posts: Vec<Value> = m
        .seen()
        .iter()
        .filter(|s| s.path.ends_with("/chat/completions"))
        .map(|s| s.json())
        .collect();
    let patch_tool = posts[0]["tools"]
        .as_array()
        .and_then(|t| {
            t.iter()
                .find(|t| t["function"]["name"] == "apply_patch")
                .cloned()
        })
        .unwrap_or_default();
    assert_eq!(
        patch_tool["function"]["parameters"]["required"],
        serde_json::json!(["input"]),
        "a custom tool becomes one string parameter"
    );
    assert!(
        patch_tool["function"]["description"]
            .as_str()
            .unwrap_or("")
            .contains("Begin Patch"),
        "the grammar rides in the description"
    );
    let rows = logs_json(&w, &["--last"]);
    assert_eq!(
        (rows[0]["model"].as_str(), rows[0]["provider"].as_str()),
        (Some("gpt-5.5"), Some("myvllm")),
        "the log keeps what was asked and says where it went"
    );
}

#[test]
fn codex_on_gemini_keeps_thought_signatures_across_turns() {
    use crate::support::gemini_mock::{self, GeminiMock};
    let w = World::new();
    let m = GeminiMock::start();
    w.write_config(&format!(
        "[providers.gemini]\nbase_url = \"{}\"\napi_key = \"env:BIFROST_TEST_CANARY\"\n",
        m.base_url()
    ));
    m.push(gemini_mock::Reply::Calls {
        calls: vec![(
            "exec_command".into(),
            serde_json::json!({"cmd": "echo bifrost-gemini-tool", "yield_time_ms": 1000}),
        )],
        signed: true,
        usage: gemini_mock::usage(2000, 500, 30, 12),
    });
    m.push(gemini_mock::Reply::Thoughts {
        thoughts: "The tool ran.".into(),
        text: "Gemini saw bifrost-gemini-tool.".into(),
        usage: gemini_mock::usage(2400, 2000, 10, 4),
    });
    let out = exec(
        &w,
        "gemini/gemini-3-pro-preview",
        "run echo bifrost-gemini-tool",
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        text(&out.stdout).contains("Gemini saw bifrost-gemini-tool."),
        "{}",
        text(&out.stdout)
    );
    let seen = m.seen();
    assert_eq!(
        seen.len(),
        2,
        "the strict mock accepted turn 2, signature included"
    );
    assert!(
        seen[0].path.ends_with(":streamGenerateContent"),
        "{}",
        seen[0].path
    );
    let turn2 = seen[1].json();
    let signed = turn2["contents"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["parts"].as_array().into_iter().flatten())
        .any(|p| p.get("functionCall").is_some() && p.get("thoughtSignature").is_some());
    assert!(
        signed,
        "the functionCall went back with its thoughtSignature: {turn2}"
    );
    assert!(seen.iter().all(|s| {
        s.headers
            .get("x-goog-api-key")
            .and_then(|v| v.to_str().ok())
            == Some(CANARY)
    }));
    assert!(seen.iter().all(|s| !s.path.contains(CANARY) && !s.query.as_deref().unwrap_or("").contains(CANARY)), "the key never goes in the URL");
    let s = summary(&stderr);
    // OpenAI convention: output = candidates + thoughts, reasoning counted apart.
    assert_eq!(
        (
            s["total"]["input_tokens"].as_i64(),
            s["total"]["cached_input_tokens"].as_i64()
        ),
        (Some(4400), Some(2500))
    );
    assert_eq!(
        (
            s["total"]["output_tokens"].as_i64(),
            s["total"]["reasoning_tokens"].as_i64()
        ),
        (Some(56), Some(16))
    );
    assert_nowhere(&w.home(), CANARY);
}

fn anthropic_world(m: &crate::support::anthropic_mock::AnthropicMock, extra: &str) -> World {
    let w = World::new();
    w.write_config(&format!("{extra}\n[providers.anthropic]\nbase_url = \"{}\"\napi_key = \"env:BIFROST_TEST_CANARY\"\n", m.base_url()));
    w
}

#[test]
fn codex_on_anthropic_keeps_signed_thinking_across_a_tool_round_trip() {
    use crate::support::anthropic_mock::{self as am, AnthropicMock};
    let m = AnthropicMock::start();
    let w = anthropic_world(&m, "");
    m.push(am::thinking_tool_use(
        "I will run the command.",
        "exec_command",
        serde_json::json!({"cmd": "echo bifrost-claude-tool", "yield_time_ms": 1000}),
        am::usage(300, 40, 1200, 500),
    ));
    m.push(am::thinking_text(
        "The output is there.",
        "Claude saw bifrost-claude-tool.",
        am::usage(100, 12, 2000, 0),
    ));
    let out = exec(
        &w,
        "anthropic/claude-sonnet-4-5",
        "run echo bifrost-claude-tool",
        &["-c", "model_reasoning_effort=\"medium\""],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        text(&out.stdout).contains("Claude saw bifrost-claude-tool."),
        "{}",
        text(&out.stdout)
    );
    let seen = m.seen();
    assert_eq!(
        seen.len(),
        2,
        "the strict mock accepted turn 2 (signature unchanged, roles alternating, result after its call)"
    );
    let first = seen[0].json();
    assert_eq!(first["model"], "claude-sonnet-4-5");
    assert!(
        first["system"].as_array().is_some_and(|s| s
            .iter()
            .any(|b| b["text"].as_str().unwrap_or("").contains("Codex"))),
        "developer prompt becomes system"
    );
    assert!(
        first["thinking"]["budget_tokens"].as_u64().is_some(),
        "reasoning effort maps to a thinking budget: {}",
        first["thinking"]
    );
    let turn2 = seen[1].json();
    let assistant = turn2["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "assistant").cloned())
        .unwrap_or_default();
    assert_eq!(assistant["content"][0]["type"], "thinking");
    assert_eq!(
        assistant["content"][0]["signature"],
        am::sign("I will run the command.")
    );
    assert!(
        seen.iter()
            .all(|s| s.headers.get("x-api-key").and_then(|v| v.to_str().ok()) == Some(CANARY))
    );
    assert!(
        seen.iter()
            .all(|s| s.headers.get("anthropic-version").is_some())
    );
    // input = input + cache reads + cache writes; cached = cache reads.
    let s = summary(&stderr);
    assert_eq!(
        (
            s["total"]["input_tokens"].as_i64(),
            s["total"]["cached_input_tokens"].as_i64()
        ),
        (Some(4100), Some(3200))
    );
    assert_eq!(s["total"]["output_tokens"], 52);
    let p = bifrost::pricing::lookup(
        &Default::default(),
        "anthropic",
        "anthropic",
        "claude-sonnet-4-5",
    )
    .expect("priced");
    let want = (400.0 * p.input
        + 3200.0 * p.cached_input.unwrap_or(p.input)
        + 500.0 * p.cache_write.unwrap_or(p.input)
        + 52.0 * p.output)
        / 1e6;
    let got = s["total"]["cost_usd"].as_f64().unwrap_or(0.0);
    assert!(
        (got - want).abs() < 2e-6,
        "cache reads and writes are priced: {got} vs {want}"
    );
    assert_nowhere(&w.home(), CANARY);
}

#[test]
fn gpt_5_5_aliased_to_claude_applies_a_real_patch() {
    use crate::support::anthropic_mock::{self as am, AnthropicMock};
    let m = AnthropicMock::start();
    let w = anthropic_world(
        &m,
        "[aliases]\n\"gpt-5.5\" = \"anthropic/claude-sonnet-4-5\"\n",
    );
    std::fs::write(w.workdir().join("app.py"), "print('hello')\n").expect("write");
    let patch = "*** Begin Patch\n*** Update File: app.py\n@@\n-print('hello')\n+print('hello from claude')\n*** End Patch\n";
    m.push(am::tool_use(
        "apply_patch",
        serde_json::json!({"input": patch}),
        am::usage(1000, 60, 0, 0),
    ));
    m.push(am::text("Updated app.py.", am::usage(1200, 5, 0, 0)));
    let out = exec(
        &w,
        "gpt-5.5",
        "change the greeting in app.py",
        &["--dangerously-bypass-approvals-and-sandbox"],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(w.workdir().join("app.py")).unwrap_or_default(),
        "print('hello from claude')\n"
    );
    let seen = m.seen();
    let tools = seen[0].json()["tools"].clone();
    let patch_tool = tools
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == "apply_patch").cloned())
        .unwrap_or_default();
    assert_eq!(
        patch_tool["input_schema"]["required"],
        serde_json::json!(["input"])
    );
    assert!(
        !tools
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["name"] == "web_search")),
        "hosted tools are dropped"
    );
    // Codex sent back a custom_tool_call_output for apply_patch: it reached Claude as a tool_result.
    let turn2 = seen[1].json();
    let has_result = turn2["messages"].as_array().is_some_and(|ms| {
        ms.iter().any(|m| {
            m["content"]
                .as_array()
                .is_some_and(|c| c.iter().any(|b| b["type"] == "tool_result"))
        })
    });
    assert!(has_result, "{turn2}");
    let rows = logs_json(&w, &["--last"]);
    assert_eq!(rows[0]["provider"], "anthropic");
    let show = w
        .bifrost()
        .args(["logs", "show", rows[0]["id"].as_str().unwrap_or("")])
        .output()
        .expect("show");
    assert!(
        text(&show.stdout).contains("dropped hosted tool `web_search`"),
        "{}",
        text(&show.stdout)
    );
}
