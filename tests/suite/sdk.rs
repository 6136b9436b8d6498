//! The official Python SDKs (`openai`, `anthropic`, installed from PyPI by .ci/run) as real
//! clients of the gateway, under `bifrost run`, passthrough and translated.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::chat_mock::{self, ChatMock};
use crate::support::mock::{self, Mock};
use crate::support::{CANARY, World, assert_nowhere, logs_json, run_with_timeout, text};

fn script(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sdk")
        .join(name)
        .display()
        .to_string()
}

/// Runs an SDK script under `bifrost run` and returns its JSON output.
fn run_sdk(w: &World, script_name: &str, args: &[&str]) -> Value {
    let mut c = w.bifrost();
    c.args([
        "--summary",
        "none",
        "run",
        "--",
        "python3",
        &script(script_name),
    ])
    .args(args);
    let out = run_with_timeout(c, Duration::from_secs(120));
    assert!(
        out.status.success(),
        "{script_name} failed:\nstdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_str(text(&out.stdout).trim())
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
}

fn chat_world(m: &ChatMock) -> World {
    let w = World::new();
    w.write_config(&format!(
        "default_provider = \"myvllm\"\n[providers.myvllm]\ntype = \"openai_compatible\"\nbase_url = \"{}\"\napi_key = \"env:BIFROST_TEST_CANARY\"\n",
        m.base_url()
    ));
    w
}

#[test]
fn the_openai_sdk_on_openai_passes_through() {
    let w = World::new();
    let m = Mock::start();
    w.config_for(&m, "");
    m.push(mock::Reply::Chat {
        text: "chat answer".into(),
        usage: mock::usage(11, 0, 2, 0),
    });
    m.push(mock::Reply::Chat {
        text: "streamed chat answer".into(),
        usage: mock::usage(12, 0, 3, 0),
    });
    m.push(mock::Reply::Items {
        items: vec![mock::message("responses answer")],
        usage: mock::usage(13, 0, 2, 0),
    });
    m.push(mock::Reply::Items {
        items: vec![mock::message("streamed responses answer")],
        usage: mock::usage(14, 0, 3, 0),
    });
    let out = run_sdk(&w, "openai_client.py", &["gpt-5.5"]);
    assert_eq!(out["chat"], "chat answer");
    assert_eq!(out["chat_usage"], json!([11, 2]));
    assert_eq!(out["chat_stream"], "streamed chat answer");
    assert_eq!(out["chat_stream_usage"], json!([12, 3]));
    assert_eq!(out["responses"], "responses answer");
    assert_eq!(out["responses_stream"], "streamed responses answer");
    assert_eq!(out["responses_stream_usage"], json!([14, 3]));
    let rows = logs_json(&w, &["--last"]);
    assert_eq!(
        rows.iter()
            .map(|r| r["input_tokens"].as_i64().unwrap_or(0))
            .collect::<Vec<_>>(),
        vec![11, 12, 13, 14]
    );
}

#[test]
fn the_openai_sdk_on_a_chat_server_translates_responses_and_tools() {
    let m = ChatMock::start(true);
    let w = chat_world(&m);
    m.push(chat_mock::Reply::Text {
        text: "chat answer".into(),
        usage: chat_mock::usage(21, 0, 2, 0),
    });
    m.push(chat_mock::Reply::Text {
        text: "streamed chat answer".into(),
        usage: chat_mock::usage(22, 0, 3, 0),
    });
    m.push(chat_mock::Reply::Text {
        text: "responses answer".into(),
        usage: chat_mock::usage(23, 0, 2, 0),
    });
    m.push(chat_mock::Reply::Text {
        text: "streamed responses answer".into(),
        usage: chat_mock::usage(24, 0, 3, 0),
    });
    m.push(chat_mock::Reply::ToolCalls {
        calls: vec![("get_weather".into(), r#"{"city":"Oslo"}"#.into())],
        usage: chat_mock::usage(25, 0, 9, 0),
    });
    m.push(chat_mock::Reply::Text {
        text: "It is sunny in Oslo.".into(),
        usage: chat_mock::usage(26, 0, 6, 0),
    });
    let out = run_sdk(&w, "openai_client.py", &[chat_mock::MODEL, "--tools"]);
    assert_eq!(out["chat"], "chat answer");
    assert_eq!(out["chat_stream"], "streamed chat answer");
    assert_eq!(
        out["responses"], "responses answer",
        "Responses translated to Chat and back"
    );
    assert_eq!(out["responses_stream"], "streamed responses answer");
    assert!(out["responses_stream_deltas"].as_u64().unwrap_or(0) >= 1);
    assert_eq!(out["responses_stream_usage"], json!([24, 3]));
    assert_eq!(out["tool_call"], json!(["get_weather", {"city": "Oslo"}]));
    assert_eq!(out["after_tool"], "It is sunny in Oslo.");
    let rows = logs_json(&w, &["--last"]);
    assert_eq!(rows.len(), 6);
    assert!(
        rows.iter()
            .all(|r| r["status"] == "ok" && r["provider"] == "myvllm"),
        "{rows:?}"
    );
    assert_nowhere(&w.home(), CANARY);
}

#[test]
fn the_anthropic_sdk_on_a_chat_server_translates_messages_and_tools() {
    let m = ChatMock::start(true);
    let w = chat_world(&m);
    m.push(chat_mock::Reply::Text {
        text: "messages answer".into(),
        usage: chat_mock::usage(31, 0, 2, 0),
    });
    m.push(chat_mock::Reply::Text {
        text: "streamed messages answer".into(),
        usage: chat_mock::usage(32, 0, 3, 0),
    });
    m.push(chat_mock::Reply::ToolCalls {
        calls: vec![("get_weather".into(), r#"{"city":"Oslo"}"#.into())],
        usage: chat_mock::usage(33, 0, 9, 0),
    });
    m.push(chat_mock::Reply::Text {
        text: "Sunny, says the tool.".into(),
        usage: chat_mock::usage(34, 0, 5, 0),
    });
    let out = run_sdk(&w, "anthropic_client.py", &[chat_mock::MODEL]);
    assert_eq!(out["text"], "messages answer");
    assert_eq!(out["usage"], json!([31, 2]));
    assert_eq!(out["stop_reason"], "end_turn");
    assert_eq!(out["stream_text"], "streamed messages answer");
    assert_eq!(out["stream_usage"], json!([32, 3]));
    assert_eq!(out["tool_use"], json!(["get_weather", {"city": "Oslo"}]));
    assert_eq!(out["after_tool"], "Sunny, says the tool.");
    let posts: Vec<Value> = m
        .seen()
        .iter()
        .filter(|s| s.path.ends_with("/chat/completions"))
        .map(|s| s.json())
        .collect();
    let tool_msg = posts[3]["messages"]
        .as_array()
        .and_then(|a| a.iter().find(|m| m["role"] == "tool").cloned())
        .unwrap_or_default();
    assert_eq!(tool_msg["content"], "sunny, 21C");
}

fn anthropic_world(m: &crate::support::anthropic_mock::AnthropicMock) -> World {
    let w = World::new();
    w.write_config(&format!(
        "default_provider = \"anthropic\"\n[providers.anthropic]\nbase_url = \"{}\"\napi_key = \"env:BIFROST_TEST_CANARY\"\n",
        m.base_url()
    ));
    w
}

#[test]
fn the_anthropic_sdk_on_anthropic_passes_through() {
    use crate::support::anthropic_mock::{self as am, AnthropicMock};
    let m = AnthropicMock::start();
    let w = anthropic_world(&m);
    m.push(am::text("messages answer", am::usage(41, 2, 0, 0)));
    m.push(am::text(
        "streamed messages answer",
        am::usage(42, 3, 100, 0),
    ));
    m.push(am::tool_use(
        "get_weather",
        json!({"city": "Oslo"}),
        am::usage(43, 9, 0, 0),
    ));
    m.push(am::text("Sunny, says the tool.", am::usage(44, 5, 0, 0)));
    let out = run_sdk(&w, "anthropic_client.py", &["claude-sonnet-4-5"]);
    assert_eq!(out["text"], "messages answer");
    assert_eq!(out["stream_text"], "streamed messages answer");
    assert_eq!(out["tool_use"], json!(["get_weather", {"city": "Oslo"}]));
    assert_eq!(out["after_tool"], "Sunny, says the tool.");
    // The same protocol: the client's bytes went upstream (only the session key swapped for the real one).
    let seen = m.seen();
    assert!(
        seen.iter()
            .all(|s| s.headers.get("x-api-key").and_then(|v| v.to_str().ok()) == Some(CANARY))
    );
    let rows = logs_json(&w, &["--last"]);
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows[1]["input_tokens"], 142,
        "Anthropic usage normalised: input + cache reads"
    );
    assert_eq!(rows[1]["cached_input_tokens"], 100);
    assert!(rows[1]["ttft_ms"].is_number());
}

#[test]
fn the_openai_sdk_on_anthropic_translates_chat_responses_and_tools() {
    use crate::support::anthropic_mock::{self as am, AnthropicMock};
    let m = AnthropicMock::start();
    let w = anthropic_world(&m);
    m.push(am::text("chat answer", am::usage(51, 2, 0, 0)));
    m.push(am::text("streamed chat answer", am::usage(52, 3, 0, 0)));
    m.push(am::text("responses answer", am::usage(53, 2, 0, 0)));
    m.push(am::text(
        "streamed responses answer",
        am::usage(54, 3, 0, 0),
    ));
    m.push(am::tool_use(
        "get_weather",
        json!({"city": "Oslo"}),
        am::usage(55, 9, 0, 0),
    ));
    m.push(am::text("It is sunny in Oslo.", am::usage(56, 6, 0, 0)));
    let out = run_sdk(&w, "openai_client.py", &["claude-sonnet-4-5", "--tools"]);
    assert_eq!(out["chat"], "chat answer");
    assert_eq!(out["chat_usage"], json!([51, 2]));
    assert_eq!(out["chat_stream"], "streamed chat answer");
    assert_eq!(out["chat_stream_usage"], json!([52, 3]));
    assert_eq!(out["responses"], "responses answer");
    assert_eq!(out["responses_stream"], "streamed responses answer");
    assert_eq!(out["tool_call"], json!(["get_weather", {"city": "Oslo"}]));
    assert_eq!(out["after_tool"], "It is sunny in Oslo.");
    assert_eq!(m.seen()[0].json()["model"], "claude-sonnet-4-5");
}
