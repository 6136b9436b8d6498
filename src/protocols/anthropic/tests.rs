//! Unit tests for the Anthropic codec, driven by fixture files under tests/fixtures/anthropic/.

use serde_json::{Value, json};

use super::*;
use crate::canonical::{
    BlockKind, Delta, Effort, ErrorCode, Event, Image, Message, Opaque, OutputFormat, Part,
    Reasoning, Request, Response, ResultContent, Role, StopReason, Tool, ToolCall, ToolChoice,
    ToolKind, ToolResult,
};
use crate::protocols::ModelInfo;
use crate::usage::Usage;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/anthropic/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `data:` payloads of an SSE text.
fn sse_data(text: &str) -> Vec<String> {
    let mut framer = crate::sse::Framer::default();
    let mut out = Vec::new();
    framer.push(text.as_bytes(), |ev| {
        if let Some(d) = crate::sse::data(ev) {
            out.push(d.into_owned());
        }
    });
    out
}

fn decode_stream(text: &str) -> Vec<Event> {
    let mut d = StreamDecoder::new();
    let mut events = Vec::new();
    for data in sse_data(text) {
        d.push(&data, &mut events).expect("push");
    }
    d.end(&mut events);
    events
}

fn info() -> ModelInfo {
    ModelInfo {
        context_window: Some(200_000),
        max_output: Some(64_000),
    }
}

fn encode(req: &Request) -> Value {
    let bytes = encode_request(req, "claude-sonnet-4-5", &info()).expect("encode");
    serde_json::from_slice(&bytes).expect("json")
}

fn msg(role: Role, parts: Vec<Part>) -> Message {
    Message { role, parts }
}

fn text(t: &str) -> Part {
    Part::Text(t.into())
}

fn call(id: &str, name: &str, args: &str, kind: ToolKind) -> Part {
    Part::ToolCall(ToolCall {
        call_id: id.into(),
        name: name.into(),
        arguments: args.into(),
        kind,
    })
}

fn result(id: &str, out: &str) -> Part {
    Part::ToolResult(ToolResult {
        call_id: id.into(),
        name: None,
        content: vec![ResultContent::Text(out.into())],
        is_error: false,
    })
}

fn thinking(t: &str, sig: &str) -> Part {
    Part::Reasoning(Reasoning {
        text: t.into(),
        opaque: Some(Opaque::new(
            "anthropic",
            json!({"type": "thinking", "thinking": t, "signature": sig}),
        )),
    })
}

fn foreign_reasoning() -> Part {
    Part::Reasoning(Reasoning {
        text: "openai summary".into(),
        opaque: Some(Opaque::new("gemini", json!("thought-sig"))),
    })
}

fn exec_tool() -> Tool {
    Tool {
        name: "exec_command".into(),
        description: "Runs a command".into(),
        parameters: json!({"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}).into(),
        kind: ToolKind::Function,
        strict: false,
    }
}

fn apply_patch_tool() -> Tool {
    Tool {
        name: "apply_patch".into(),
        description: "Edit files with a patch".into(),
        parameters: json!({"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}).into(),
        kind: ToolKind::Custom,
        strict: false,
    }
}

/// What Codex sends on a tool follow-up: two developer messages, the environment and the
/// prompt, then a thinking turn with two parallel calls (one custom) and their results.
fn codex_request() -> Request {
    Request {
        model: "gpt-5.5".into(),
        messages: vec![
            msg(Role::System, vec![text("You are Codex, a coding agent.")]),
            msg(
                Role::System,
                vec![text("<permissions>workspace-write</permissions>")],
            ),
            msg(
                Role::User,
                vec![text(
                    "<environment_context><cwd>/w</cwd></environment_context>",
                )],
            ),
            msg(
                Role::User,
                vec![text("add a greeting file and show the date")],
            ),
            msg(
                Role::Assistant,
                vec![thinking("Two independent steps.", "sig-1")],
            ),
            msg(
                Role::Assistant,
                vec![
                    call(
                        "call_1",
                        "exec_command",
                        r#"{"cmd":"date"}"#,
                        ToolKind::Function,
                    ),
                    call(
                        "call_2",
                        "apply_patch",
                        "*** Begin Patch\n*** Add File: hi.txt\n+hi\n*** End Patch\n",
                        ToolKind::Custom,
                    ),
                ],
            ),
            msg(
                Role::Tool,
                vec![result("call_1", "Thu Jan  1 00:00:00 UTC 2026")],
            ),
            msg(
                Role::Tool,
                vec![result("call_2", "Success. Updated: A hi.txt")],
            ),
        ],
        tools: vec![exec_tool(), apply_patch_tool()],
        tool_choice: Some(ToolChoice::Auto),
        parallel_tool_calls: Some(true),
        reasoning: Some(Effort::Medium),
        stream: true,
        ..Request::default()
    }
}

#[test]
fn codex_request_encodes_system_tools_thinking_and_grouped_results() {
    let b = encode(&codex_request());
    assert_eq!(b["model"], "claude-sonnet-4-5");
    assert_eq!(b["max_tokens"], 64_000);
    assert_eq!(b["stream"], true);
    assert_eq!(
        b["thinking"],
        json!({"type": "enabled", "budget_tokens": 8192})
    );
    assert!(b.get("temperature").is_none() && b.get("tool_choice").is_none());
    assert_eq!(
        b["system"],
        json!([{"type": "text", "text": "You are Codex, a coding agent."},
               {"type": "text", "text": "<permissions>workspace-write</permissions>", "cache_control": {"type": "ephemeral"}}])
    );
    let tools = b["tools"].as_array().expect("tools");
    assert_eq!(tools.len(), 2);
    assert!(tools[0].get("cache_control").is_none());
    assert_eq!(
        tools[1],
        json!({"name": "apply_patch", "description": "Edit files with a patch", "cache_control": {"type": "ephemeral"},
               "input_schema": {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}})
    );
    let m = b["messages"].as_array().expect("messages");
    assert_eq!(m.len(), 3, "{m:#?}");
    assert_eq!(m[0]["role"], "user");
    assert_eq!(m[0]["content"].as_array().map(Vec::len), Some(2));
    assert_eq!(m[1]["role"], "assistant");
    assert_eq!(
        m[1]["content"],
        json!([
            {"type": "thinking", "thinking": "Two independent steps.", "signature": "sig-1"},
            {"type": "tool_use", "id": "call_1", "name": "exec_command", "input": {"cmd": "date"}},
            {"type": "tool_use", "id": "call_2", "name": "apply_patch",
             "input": {"input": "*** Begin Patch\n*** Add File: hi.txt\n+hi\n*** End Patch\n"}},
        ])
    );
    assert_eq!(m[2]["role"], "user");
    assert_eq!(
        m[2]["content"],
        json!([
            {"type": "tool_result", "tool_use_id": "call_1", "content": [{"type": "text", "text": "Thu Jan  1 00:00:00 UTC 2026"}]},
            {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "Success. Updated: A hi.txt"}],
             "cache_control": {"type": "ephemeral"}},
        ])
    );
}

#[test]
fn merges_same_role_turns_and_starts_with_user() {
    let req = Request {
        messages: vec![
            msg(Role::System, vec![text("sys")]),
            msg(Role::Assistant, vec![text("I spoke first")]),
            msg(Role::User, vec![text("one"), text("   ")]),
            msg(Role::User, vec![text("two")]),
            msg(Role::System, vec![text("late instruction")]),
            msg(Role::Assistant, vec![text(""), foreign_reasoning()]),
            msg(Role::Assistant, vec![text("answer")]),
            msg(
                Role::User,
                vec![Part::Image(Image::Url("https://x.test/a.png".into()))],
            ),
            msg(
                Role::User,
                vec![Part::Image(Image::Url("data:image/png;base64,iVBO".into()))],
            ),
        ],
        ..Request::default()
    };
    let b = encode(&req);
    let m = b["messages"].as_array().expect("messages");
    let roles: Vec<&str> = m.iter().filter_map(|x| x["role"].as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant", "user"]);
    assert_eq!(
        m[0]["content"],
        json!([{"type": "text", "text": "(no content)"}])
    );
    assert_eq!(
        m[2]["content"],
        json!([{"type": "text", "text": "one"}, {"type": "text", "text": "two"},
               {"type": "text", "text": "late instruction"}])
    );
    assert_eq!(m[3]["content"], json!([{"type": "text", "text": "answer"}]));
    assert_eq!(
        m[4]["content"],
        json!([{"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
               {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"},
                "cache_control": {"type": "ephemeral"}}])
    );
    assert!(b.get("tools").is_none() && b.get("thinking").is_none());
    let bad = Request {
        messages: vec![msg(
            Role::User,
            vec![Part::Image(Image::Url("file:///etc/passwd".into()))],
        )],
        ..Request::default()
    };
    assert!(matches!(
        encode_request(&bad, "m", &info()),
        Err(crate::Error::Translate(_))
    ));
}

#[test]
fn orphan_results_become_text_and_unanswered_calls_get_stand_ins() {
    let req = Request {
        messages: vec![
            msg(Role::User, vec![text("go")]),
            msg(
                Role::Assistant,
                vec![call("old", "exec_command", "{}", ToolKind::Function)],
            ),
            msg(Role::User, vec![text("never mind")]),
            msg(
                Role::Assistant,
                vec![
                    call("a", "exec_command", "{}", ToolKind::Function),
                    call("b.2", "exec_command", "not json", ToolKind::Function),
                ],
            ),
            msg(Role::User, vec![text("note first")]),
            msg(Role::Tool, vec![result("old", "late output")]),
            msg(Role::Tool, vec![result("a", "A")]),
            msg(Role::Tool, vec![result("nobody", "")]),
        ],
        tools: vec![exec_tool()],
        ..Request::default()
    };
    let b = encode(&req);
    let m = b["messages"].as_array().expect("messages");
    assert_eq!(m.len(), 5);
    // The unanswered early call gets an error stand-in before the user's text.
    assert_eq!(m[2]["content"][0]["tool_use_id"], "old");
    assert_eq!(m[2]["content"][0]["is_error"], true);
    assert_eq!(m[2]["content"][1]["text"], "never mind");
    assert_eq!(m[3]["content"][1]["id"], "b_2");
    assert_eq!(m[3]["content"][1]["input"], json!({"input": "not json"}));
    let last = m[4]["content"].as_array().expect("content");
    assert_eq!(last[0]["tool_use_id"], "a");
    assert_eq!(last[1]["tool_use_id"], "b_2");
    assert_eq!(last[1]["is_error"], true);
    assert_eq!(last[2]["text"], "note first");
    assert_eq!(last[3]["text"], "Result of tool call old:\nlate output");
    assert_eq!(last[4]["text"], "Result of tool call nobody: (no output)");
    assert_eq!(last.len(), 5);
    assert!(last.iter().skip(2).all(|b| b["type"] == "text"));
}

#[test]
fn tool_history_without_tools_is_sent_as_text() {
    // Codex's local compaction request: calls and results in the history, `tools: []`.
    let mut req = codex_request();
    req.tools.clear();
    req.reasoning = None;
    let b = encode(&req);
    assert!(b.get("tools").is_none() && b.get("tool_choice").is_none());
    let m = b["messages"].as_array().expect("messages");
    assert_eq!(m.len(), 3);
    let all: Vec<&Value> = m
        .iter()
        .flat_map(|x| x["content"].as_array().into_iter().flatten())
        .collect();
    assert!(all.iter().all(|b| b["type"] == "text"), "{all:#?}");
    assert_eq!(
        m[1]["content"][0]["text"],
        r#"[tool call exec_command (call_1): {"cmd":"date"}]"#
    );
    assert_eq!(
        m[2]["content"][0]["text"],
        "Result of tool call call_1:\nThu Jan  1 00:00:00 UTC 2026"
    );
}

#[test]
fn thinking_rules() {
    // History from another provider: the tool loop has no thinking block, so no thinking.
    let mut foreign = codex_request();
    foreign.messages[4] = msg(Role::Assistant, vec![foreign_reasoning()]);
    foreign.temperature = Some(0.3);
    let b = encode(&foreign);
    assert!(b.get("thinking").is_none());
    assert_eq!(b["temperature"], 0.3);
    assert!(
        b["messages"][1]["content"]
            .as_array()
            .expect("content")
            .iter()
            .all(|c| c["type"] == "tool_use")
    );

    // Thinking on: sampling knobs dropped, forced tool choice relaxed to auto.
    let mut on = codex_request();
    on.temperature = Some(0.3);
    on.top_p = Some(0.9);
    on.tool_choice = Some(ToolChoice::Required);
    on.parallel_tool_calls = Some(false);
    let b = encode(&on);
    assert!(b.get("temperature").is_none() && b.get("top_p").is_none());
    assert_eq!(
        b["tool_choice"],
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );

    // Thinking off: stored thinking blocks are not sent.
    let mut off = codex_request();
    off.reasoning = Some(Effort::None);
    let b = encode(&off);
    assert!(b.get("thinking").is_none());
    assert_eq!(b["messages"][1]["content"][0]["type"], "tool_use");
    off.reasoning = None;
    assert!(encode(&off).get("thinking").is_none());

    // max_tokens must exceed the budget: raised, within the model's cap.
    let mut small = codex_request();
    small.max_output_tokens = Some(1000);
    small.reasoning = Some(Effort::High);
    let b = encode(&small);
    assert_eq!(b["thinking"]["budget_tokens"], 16_384);
    assert_eq!(b["max_tokens"], 16_384 + 4_096);
    let capped = encode_request(
        &small,
        "claude-3-5-haiku",
        &ModelInfo {
            context_window: None,
            max_output: Some(8_192),
        },
    )
    .expect("encode");
    let capped: Value = serde_json::from_slice(&capped).expect("json");
    assert_eq!(capped["max_tokens"], 8_192);
    assert!(
        capped["thinking"]["budget_tokens"]
            .as_u64()
            .is_some_and(|b| (1024..8_192).contains(&b))
    );
}

#[test]
fn tool_choice_mapping() {
    let base = Request {
        messages: vec![msg(Role::User, vec![text("hi")])],
        tools: vec![exec_tool()],
        temperature: Some(0.5),
        top_p: Some(0.8),
        stop: vec!["END".into(), " ".into()],
        ..Request::default()
    };
    let choice = |c: Option<ToolChoice>, parallel: Option<bool>| {
        let mut r = base.clone();
        r.tool_choice = c;
        r.parallel_tool_calls = parallel;
        encode(&r).get("tool_choice").cloned()
    };
    assert_eq!(choice(None, None), None);
    assert_eq!(choice(Some(ToolChoice::Auto), Some(true)), None);
    assert_eq!(
        choice(Some(ToolChoice::None), Some(false)),
        Some(json!({"type": "none"}))
    );
    assert_eq!(
        choice(Some(ToolChoice::Required), None),
        Some(json!({"type": "any"}))
    );
    assert_eq!(
        choice(Some(ToolChoice::Named("exec_command".into())), Some(false)),
        Some(json!({"type": "tool", "name": "exec_command", "disable_parallel_tool_use": true}))
    );
    assert_eq!(
        choice(None, Some(false)),
        Some(json!({"type": "auto", "disable_parallel_tool_use": true}))
    );
    let b = encode(&base);
    assert_eq!(
        (b["temperature"].clone(), b["top_p"].clone()),
        (json!(0.5), json!(0.8))
    );
    assert_eq!(b["stop_sequences"], json!(["END"]));
    let mut bad = base.clone();
    bad.tools[0].parameters = json!({"type": "array"}).into();
    assert!(matches!(
        encode_request(&bad, "m", &info()),
        Err(crate::Error::Translate(_))
    ));
}

#[test]
fn json_output_uses_the_output_tool() {
    let schema = json!({"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]});
    let mut req = Request {
        messages: vec![
            msg(Role::System, vec![text("Write a title.")]),
            msg(Role::User, vec![text("fix the build")]),
        ],
        output_format: Some(OutputFormat::JsonSchema {
            name: "title".into(),
            schema: schema.clone(),
            strict: true,
        }),
        ..Request::default()
    };
    let b = encode(&req);
    assert_eq!(
        b["tools"],
        json!([{"name": JSON_TOOL, "input_schema": schema, "cache_control": {"type": "ephemeral"},
                "description": "Return your final answer by calling this tool; its input is the answer."}])
    );
    assert_eq!(b["tool_choice"], json!({"type": "tool", "name": JSON_TOOL}));

    req.reasoning = Some(Effort::Low);
    let b = encode(&req);
    assert!(b.get("tool_choice").is_none(), "auto is the default");
    assert_eq!(b["system"].as_array().map(Vec::len), Some(2));
    assert!(
        b["system"][1]["text"]
            .as_str()
            .is_some_and(|t| t.contains(JSON_TOOL))
    );

    req.output_format = Some(OutputFormat::JsonObject);
    req.reasoning = None;
    req.tools = vec![exec_tool()];
    let b = encode(&req);
    assert_eq!(b["tool_choice"], json!({"type": "any"}));
    assert_eq!(b["tools"][1]["input_schema"], json!({"type": "object"}));

    let resp = decode_response(fixture("response_json_output.json").as_bytes()).expect("decode");
    assert_eq!(
        resp.parts,
        vec![Part::Text(r#"{"title":"Fix the build"}"#.into())]
    );
    let stream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"m\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n\
        data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"bifrost_json_output\",\"input\":{}}}\n\n\
        data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"title\\\":\"}}\n\n\
        data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"x\\\"}\"}}\n\n\
        data: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
        data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":5}}\n\n\
        data: {\"type\":\"message_stop\"}\n\n";
    let events = decode_stream(stream);
    assert!(events.contains(&Event::BlockStart {
        index: 0,
        kind: BlockKind::Text
    }));
    let r = Response::from_events(&events).expect("response");
    assert_eq!(r.parts, vec![Part::Text(r#"{"title":"x"}"#.into())]);
}

#[test]
fn decode_response_maps_blocks_and_normalises_usage() {
    let r = decode_response(fixture("response_thinking_tools.json").as_bytes()).expect("decode");
    assert_eq!(r.id.as_deref(), Some("msg_01XFDUDYJgAACzvnptvVoYEL"));
    assert_eq!(r.stop, StopReason::ToolUse);
    assert_eq!(
        r.usage,
        Usage {
            input: 12 + 20_000 + 1_500,
            cached_input: 20_000,
            cache_write: 1_500,
            output: 215,
            reasoning: 0
        }
    );
    assert_eq!(r.parts.len(), 5);
    let Part::Reasoning(th) = &r.parts[0] else {
        panic!("{:?}", r.parts[0])
    };
    let opaque = th.opaque.as_ref().expect("opaque");
    assert_eq!(opaque.provider, "anthropic");
    assert_eq!(
        opaque.data["signature"],
        "EqQBCkgIARABGAIiQL0tiP5rbj0Jr2lq4mTeDKV4mBLVHSyWCUc4fBNA1Q=="
    );
    assert_eq!(opaque.data["thinking"], json!(th.text));
    let Part::Reasoning(red) = &r.parts[1] else {
        panic!("{:?}", r.parts[1])
    };
    assert!(red.text.is_empty());
    assert_eq!(
        red.opaque.as_ref().map(|o| o.data["type"].clone()),
        Some(json!("redacted_thinking"))
    );
    assert_eq!(r.parts[2], text("I'll list the files and check the date."));
    assert_eq!(
        r.parts[3],
        call(
            "toolu_01A09q90qw90lq917835lq9",
            "exec_command",
            r#"{"cmd":"printf \"a\\tb\\n\" > out.txt && ls -la","yield_time_ms":1000}"#,
            ToolKind::Function
        )
    );

    let plain = decode_response(fixture("response_text.json").as_bytes()).expect("decode");
    assert_eq!(
        plain.usage,
        Usage {
            input: 25,
            output: 12,
            ..Usage::default()
        }
    );
    assert_eq!(plain.stop, StopReason::EndTurn);
    for (wire, stop) in [
        ("max_tokens", StopReason::MaxTokens),
        ("stop_sequence", StopReason::StopSequence),
        ("refusal", StopReason::ContentFilter),
        ("weird", StopReason::Other("weird".into())),
    ] {
        let body = json!({"type": "message", "content": [], "stop_reason": wire, "usage": {"input_tokens": 1, "output_tokens": 1}});
        let r = decode_response(body.to_string().as_bytes()).expect("decode");
        assert_eq!(r.stop, stop);
    }
    for garbage in [
        &b"not json"[..],
        b"[]",
        br#"{"type":"error","error":{"type":"api_error","message":"x"}}"#,
    ] {
        assert!(matches!(
            decode_response(garbage),
            Err(crate::Error::UpstreamFormat(_))
        ));
    }
}

#[test]
fn stream_decodes_to_the_same_response_as_json() {
    let events = decode_stream(&fixture("stream_thinking_tools.sse"));
    let from_stream = Response::from_events(&events).expect("events");
    let from_json =
        decode_response(fixture("response_thinking_tools.json").as_bytes()).expect("json");
    assert_eq!(from_stream, from_json);

    // Usage first with the input side, the thinking opaque before the thinking block stops,
    // the redacted block's opaque right away, and arguments split mid-escape kept verbatim.
    assert!(matches!(events[0], Event::Start { .. }));
    assert_eq!(
        events[1],
        Event::Usage(Usage {
            input: 21_512,
            cached_input: 20_000,
            cache_write: 1_500,
            output: 1,
            reasoning: 0
        })
    );
    let opaque_at = events
        .iter()
        .position(|e| {
            matches!(
                e,
                Event::Delta {
                    index: 0,
                    delta: Delta::Opaque(_)
                }
            )
        })
        .expect("opaque");
    assert_eq!(events[opaque_at + 1], Event::BlockStop { index: 0 });
    assert!(events.contains(&Event::Delta {
        index: 3,
        delta: Delta::ToolArgs("\":\"printf \\".into())
    }));
    assert!(!events.contains(&Event::Delta {
        index: 3,
        delta: Delta::ToolArgs(String::new())
    }));
    assert_eq!(events.last(), Some(&Event::Stop(StopReason::ToolUse)));

    // The same answer fed as one decode from our own JSON → events path agrees too.
    assert_eq!(
        Response::from_events(&crate::canonical::events_of(&from_json)),
        Ok(from_json)
    );
}

#[test]
fn stream_errors_and_truncation() {
    let events = decode_stream(&fixture("stream_error.sse"));
    let Some(Event::Error(e)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(e.code, ErrorCode::ServerError);
    assert_eq!(e.message, "Overloaded");
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::Error(_)))
            .count(),
        1
    );

    let full = fixture("stream_thinking_tools.sse");
    let cut = &full[..full.find("event: message_delta").expect("delta")];
    let events = decode_stream(cut);
    let Some(Event::Error(e)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(e.code, ErrorCode::ServerError);
    assert!(e.message.contains("stream ended before message_stop"));

    let mut d = StreamDecoder::new();
    let mut out = Vec::new();
    assert!(d.push("{not json", &mut out).is_err());
    assert!(d.push(r#"{"type":"ping"}"#, &mut out).is_ok());
    assert!(
        d.push(
            r#"{"type":"content_block_delta","index":9,"delta":{"type":"text_delta","text":"x"}}"#,
            &mut out
        )
        .is_ok()
    );
    assert!(out.is_empty());
}

#[test]
fn errors_map_by_status_and_type() {
    let cases: Vec<Value> = serde_json::from_str(&fixture("errors.json")).expect("errors");
    for c in cases {
        let body = match &c["body"] {
            Value::String(s) => s.clone().into_bytes(),
            v => v.to_string().into_bytes(),
        };
        let status = c["status"].as_u64().expect("status") as u16;
        let e = decode_error(status, c["retry_after"].as_u64(), &body);
        assert_eq!(
            format!("{:?}", e.code),
            c["code"].as_str().expect("code"),
            "{c}"
        );
        let want = c["contains"].as_str().expect("contains");
        assert!(e.message.contains(want), "{} lacks {want}", e.message);
        assert_eq!(e.retry_after_secs, c["retry_after"].as_u64());
        if e.code == ErrorCode::Auth {
            assert!(e.message.contains("anthropic") && e.message.contains("ANTHROPIC_API_KEY"));
        }
    }
    assert_eq!(decode_error(529, None, b"").status, 503);
    assert_eq!(
        decode_error(418, None, &[0xff, 0xfe]).code,
        ErrorCode::InvalidRequest
    );
}

#[test]
fn decodes_a_claude_code_request() {
    let r = decode_request(fixture("request_claude_code.json").as_bytes()).expect("decode");
    assert_eq!(r.model, "claude-sonnet-4-5-20250929");
    assert_eq!(r.max_output_tokens, Some(32_000));
    assert!(r.stream);
    assert_eq!(r.temperature, Some(1.0));
    assert_eq!(r.stop, vec!["\n\nHuman:".to_string()]);
    assert_eq!(r.reasoning, Some(Effort::Medium));
    assert!(r.reasoning_summary);
    assert_eq!(r.parallel_tool_calls, Some(false));
    assert_eq!(r.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(r.messages[0].role, Role::System);
    assert_eq!(r.messages[0].parts.len(), 2);
    assert_eq!(
        r.messages[1],
        msg(Role::User, vec![text("What files are here?")])
    );
    let a = &r.messages[2];
    assert_eq!(a.role, Role::Assistant);
    assert_eq!(a.parts[0], thinking("List the directory.", "sig-abc"));
    assert_eq!(
        a.parts[2],
        call(
            "toolu_01",
            "Bash",
            r#"{"command":"ls","description":"List files"}"#,
            ToolKind::Function
        )
    );
    let u = &r.messages[3];
    let Part::ToolResult(res) = &u.parts[0] else {
        panic!("{u:?}")
    };
    assert_eq!(res.name.as_deref(), Some("Bash"));
    assert_eq!(
        res.content,
        vec![ResultContent::Text("a.txt\nb.txt".into())]
    );
    let Part::ToolResult(err) = &u.parts[1] else {
        panic!("{u:?}")
    };
    assert!(err.is_error);
    assert_eq!(
        u.parts[2],
        Part::Image(Image::Base64 {
            media_type: "image/png".into(),
            data: "iVBORw0KGgo=".into()
        })
    );
    assert_eq!(r.tools.len(), 2);
    assert_eq!(r.tools[0].name, "Bash");
    assert!(r.dropped.iter().any(|d| d.contains("web_search")));
    let flat = &r.tools[1].name;
    assert!(flat.starts_with("mcp__server_read_"), "{flat}");
    assert_eq!(r.tool_origins[flat].name, "mcp__server.read");

    for bad in [
        &b"{"[..],
        br#"{"model":"m","max_tokens":5}"#,
        br#"{"model":"m","messages":[{"role":"system","content":"x"}]}"#,
        br#"{"model":"m","messages":[{"role":"user","content":5}]}"#,
        br#"{"model":"m","messages":[{"role":"user","content":[{"text":"no type"}]}]}"#,
        br#"{"model":"m","messages":[],"tools":[{"name":"t"}]}"#,
        br#"{"model":"m","messages":[],"thinking":{"type":"enabled"}}"#,
        br#"{"model":"m","messages":[],"tool_choice":{"type":"maybe"}}"#,
    ] {
        let e = decode_request(bad).expect_err("must fail");
        assert!(matches!(e, crate::Error::Translate(_)), "{e}");
    }
}

#[test]
fn encode_response_restores_anthropic_blocks() {
    let original: Value =
        serde_json::from_str(&fixture("response_thinking_tools.json")).expect("json");
    let resp = decode_response(original.to_string().as_bytes()).expect("decode");
    let req = Request {
        model: "claude-sonnet-4-5".into(),
        ..Request::default()
    };
    let v = encode_response(&resp, &req);
    assert_eq!(v["content"], original["content"]);
    assert_eq!(v["id"], original["id"]);
    assert_eq!(v["model"], "claude-sonnet-4-5");
    assert_eq!(v["stop_reason"], "tool_use");
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 12, "cache_read_input_tokens": 20_000, "cache_creation_input_tokens": 1_500, "output_tokens": 215})
    );

    let foreign = Response {
        id: Some("resp_1".into()),
        parts: vec![
            foreign_reasoning(),
            text("done"),
            call("c1", "mcp__server_read_x", "{\"a\":1}", ToolKind::Function),
        ],
        ..Response::default()
    };
    let mut req = req;
    req.tool_origins.insert(
        "mcp__server_read_x".into(),
        crate::canonical::ToolOrigin {
            namespace: None,
            name: "mcp__server.read".into(),
            kind: ToolKind::Function,
        },
    );
    let v = encode_response(&foreign, &req);
    assert_eq!(v["id"], "msg_resp_1");
    assert_eq!(
        v["stop_reason"], "tool_use",
        "a call with a plain stop is a tool_use stop"
    );
    assert_eq!(
        v["content"],
        json!([{"type": "thinking", "thinking": "openai summary", "signature": ""},
               {"type": "text", "text": "done"},
               {"type": "tool_use", "id": "c1", "name": "mcp__server.read", "input": {"a": 1}}])
    );
}

#[test]
fn stream_encoder_round_trips_through_the_decoder() {
    let events = decode_stream(&fixture("stream_thinking_tools.sse"));
    let req = Request {
        model: "claude-sonnet-4-5".into(),
        ..Request::default()
    };
    let mut enc = StreamEncoder::new(&req);
    let mut sse = Vec::new();
    for (i, e) in events.iter().enumerate() {
        enc.event(e, &mut sse);
        if i == 2 {
            enc.heartbeat(&mut sse);
        }
    }
    enc.finish(&mut sse);
    let text = String::from_utf8(sse).expect("utf8");
    assert!(text.starts_with("event: message_start\ndata: {"));
    assert!(text.contains("event: ping\ndata: {\"type\":\"ping\"}\n\n"));
    assert!(text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    for frame in text.split_terminator("\n\n") {
        let (ev, data) = frame.split_once('\n').expect("two lines");
        let v: Value =
            serde_json::from_str(data.strip_prefix("data: ").expect("data")).expect("json");
        assert_eq!(ev.strip_prefix("event: "), v["type"].as_str());
    }
    let again = Response::from_events(&decode_stream(&text)).expect("events");
    let mut want = Response::from_events(&events).expect("events");
    want.model = Some("claude-sonnet-4-5".into());
    assert_eq!(again, want);

    // No Stop: an error event ends the stream; nothing after an error.
    let mut enc = StreamEncoder::new(&req);
    let mut out = Vec::new();
    enc.event(&events[0], &mut out);
    enc.event(
        &Event::BlockStart {
            index: 0,
            kind: BlockKind::Text,
        },
        &mut out,
    );
    enc.finish(&mut out);
    let text = String::from_utf8(out).expect("utf8");
    assert!(
        text.contains("event: error\ndata: {\"error\":{\"message\":"),
        "{text}"
    );
    assert!(!text.contains("message_stop"));

    let mut enc = StreamEncoder::new(&req);
    let mut out = Vec::new();
    let err = decode_error(
        429,
        Some(3),
        br#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#,
    );
    enc.event(&Event::Error(err), &mut out);
    enc.finish(&mut out);
    let text = String::from_utf8(out).expect("utf8");
    assert_eq!(text.matches("event: ").count(), 1);
    assert!(text.contains("\"type\":\"rate_limit_error\""));
}

#[test]
fn encode_error_statuses() {
    let e = |code, status| crate::canonical::UpstreamError {
        code,
        message: "m".into(),
        retry_after_secs: None,
        status,
    };
    for (code, status, want_status, want_type) in [
        (
            ErrorCode::ContextLengthExceeded,
            400,
            400,
            "invalid_request_error",
        ),
        (ErrorCode::RateLimit, 429, 429, "rate_limit_error"),
        (ErrorCode::ServerError, 503, 529, "overloaded_error"),
        (ErrorCode::ServerError, 502, 500, "api_error"),
        (ErrorCode::Auth, 401, 401, "authentication_error"),
        (ErrorCode::InvalidRequest, 400, 400, "invalid_request_error"),
        (ErrorCode::InsufficientQuota, 402, 402, "billing_error"),
    ] {
        let (s, body) = encode_error(&e(code, status));
        assert_eq!(s, want_status);
        assert_eq!(
            body,
            json!({"type": "error", "error": {"type": want_type, "message": "m"}})
        );
    }
}

/// Every Codex request fixture, decoded.
fn codex_requests() -> Vec<(std::path::PathBuf, Request)> {
    crate::protocols::responses::codex_fixtures()
        .into_iter()
        .map(|(path, body)| {
            let req = crate::protocols::responses::decode_request(body.as_bytes()).expect("decode");
            (path, req)
        })
        .collect()
}

#[test]
fn every_codex_function_schema_is_passed_on_as_its_text() {
    // The walk in `Schema::says_object` takes every function tool Codex sends, so none of
    // them is parsed on the way to Anthropic.
    let mut checked = 0;
    for (path, req) in codex_requests() {
        for t in req.tools.iter().filter(|t| t.kind == ToolKind::Function) {
            assert!(t.parameters.says_object(), "{}: {}", path.display(), t.name);
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} schemas");
}

#[test]
fn a_codex_body_is_written_without_growing_its_buffer() {
    // The reserve covers what is written: the body's length stays within the room given.
    let info = ModelInfo::default();
    let mut checked = 0;
    for (path, req) in codex_requests() {
        let Ok(out) = encode_request(&req, "claude-sonnet-4-5", &info) else {
            continue;
        };
        let room = upstream::body_room(&req) + 256;
        assert!(
            out.len() <= room,
            "{}: {} > {room}",
            path.display(),
            out.len()
        );
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} bodies");
}

/// The body [`encode_request_for`] writes for `caller`, checked against a plain encode's.
fn encode_both(req: &Request, caller: &[u8]) -> Option<Vec<u8>> {
    let plain = encode_request(req, "claude-sonnet-4-5", &info());
    let memo = encode_request_for(req, "claude-sonnet-4-5", &info(), caller);
    match (plain, memo) {
        (Ok(p), Ok(m)) => {
            assert_eq!(
                String::from_utf8_lossy(&p),
                String::from_utf8_lossy(&m),
                "the memo's body differs"
            );
            Some(m)
        }
        (Err(p), Err(m)) => {
            assert_eq!(p.to_string(), m.to_string());
            None
        }
        (p, m) => panic!("plain {:?}, memo {:?}", p.map(|_| ()), m.map(|_| ())),
    }
}

#[test]
fn codex_conversations_grown_turn_by_turn_encode_as_a_plain_encode_does() {
    let before = turns_memo::copied();
    let mut checked = 0;
    for (path, full) in codex_requests() {
        let caller = path.to_string_lossy().into_owned();
        for effort in [full.reasoning, None] {
            for k in 1..=full.messages.len() {
                let mut req = full.clone();
                req.reasoning = effort;
                req.messages.truncate(k);
                encode_both(&req, caller.as_bytes());
                checked += 1;
            }
        }
        // An earlier message edited, then the conversation grown again from it.
        let mut req = full.clone();
        if let Some(Part::Text(t)) = req
            .messages
            .iter_mut()
            .rev()
            .skip(2)
            .flat_map(|m| m.parts.iter_mut())
            .find(|p| matches!(p, Part::Text(_)))
        {
            t.push_str(" (edited)");
        }
        encode_both(&req, caller.as_bytes());
        encode_both(&full, caller.as_bytes());
    }
    assert!(checked >= 50, "only {checked} bodies");
    assert!(
        // The fixtures are short: a user turn, then at most a call and its result.
        turns_memo::copied() >= before + 5,
        "the memo copied {} turns",
        turns_memo::copied() - before
    );
}

/// A small deterministic generator (xorshift), for the randomised conversations below.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// One message of the kinds the encoder treats differently: texts (blank too), thinking
/// before and after text, calls with ids Anthropic refuses, results answering them, orphan
/// and repeated results, a late system message, and a message that mixes sides.
fn random_message(rng: &mut Rng, n: usize) -> Message {
    let id = |k: usize| format!("call.{}", k % 4);
    match rng.below(12) {
        0 => msg(Role::User, vec![text(&format!("user \"{n}\"\n"))]),
        1 => msg(Role::User, vec![text("  ")]),
        2 => msg(Role::Assistant, vec![text(&format!("answer {n}"))]),
        3 => msg(Role::Assistant, vec![thinking(&format!("t{n}"), "sig")]),
        4 => msg(
            Role::Assistant,
            vec![
                text("first"),
                thinking("late", "sig-late"),
                foreign_reasoning(),
            ],
        ),
        5 | 6 => msg(
            Role::Assistant,
            vec![call(
                &id(n),
                "exec_command",
                r#"{"cmd":"ls"}"#,
                ToolKind::Function,
            )],
        ),
        7 | 8 => msg(Role::Tool, vec![result(&id(n), &format!("out {n}"))]),
        9 => msg(
            Role::Tool,
            vec![result(&id(n), ""), result(&id(n), "again")],
        ),
        10 => msg(Role::System, vec![text("late system text")]),
        _ => msg(
            Role::User,
            vec![
                text("mixed"),
                call(
                    &id(n + 1),
                    "apply_patch",
                    "*** Begin Patch",
                    ToolKind::Custom,
                ),
                result(&id(n + 1), "done"),
            ],
        ),
    }
}

#[test]
fn randomised_conversations_encode_as_a_plain_encode_does() {
    let before = turns_memo::copied();
    let mut bodies = 0;
    for seed in 1..=40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut req = codex_request();
        req.messages.truncate(2);
        let caller = format!("caller {}", seed % 3);
        for step in 0..60 {
            match rng.below(20) {
                0..=13 => {
                    for _ in 0..=rng.below(3) {
                        req.messages.push(random_message(&mut rng, step));
                    }
                }
                14 | 15 if req.messages.len() > 2 => {
                    let at = rng.below(req.messages.len());
                    req.messages[at] = random_message(&mut rng, step + 100);
                }
                16 => {
                    req.messages.pop();
                }
                17 => req.reasoning = req.reasoning.xor(Some(Effort::Medium)),
                18 => {
                    if req.tools.is_empty() {
                        req.tools = vec![exec_tool(), apply_patch_tool()];
                    } else {
                        req.tools.clear();
                    }
                }
                _ => req.stream = !req.stream,
            }
            if encode_both(&req, caller.as_bytes()).is_some() {
                bodies += 1;
            }
        }
    }
    assert!(bodies > 1_000, "only {bodies} bodies");
    assert!(
        turns_memo::copied() > before + 5_000,
        "the memo copied {} turns",
        turns_memo::copied() - before
    );
    assert!(turns_memo::entries() <= 4);
}

#[test]
fn one_callers_turns_are_not_copied_for_another() {
    let req = codex_request();
    let mut grown = req.clone();
    grown.messages.push(msg(Role::User, vec![text("next")]));
    encode_both(&req, b"tenant a");
    let before = turns_memo::copied();
    encode_both(&grown, b"tenant b");
    assert_eq!(turns_memo::copied(), before, "b was given a's turns");
    encode_both(&grown, b"tenant a");
    assert!(
        turns_memo::copied() > before,
        "a's own turns were not copied"
    );
}
