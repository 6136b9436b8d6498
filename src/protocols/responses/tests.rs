//! Responses codec tests on real Codex captures (tests/fixtures/codex/).

use serde_json::{Value, json};

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let p = format!("{}/tests/fixtures/codex/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn decode(name: &str) -> Request {
    match decode_request(&fixture(name)) {
        Ok(r) => r,
        Err(e) => panic!("{name}: {e}"),
    }
}

/// Parses SSE text into (event type, data) pairs.
fn sse(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .split("\n\n")
        .filter_map(|ev| ev.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|d| serde_json::from_str(d).unwrap_or(Value::Null))
        .collect()
}

#[test]
fn decodes_a_codex_turn_with_custom_and_hosted_tools() {
    let r = decode("request_turn1_gpt55.json");
    assert_eq!(r.model, "gpt-5.5");
    assert!(r.stream);
    let (system, rest) = r.split_system();
    assert_eq!(
        system.len(),
        4,
        "base prompt + skills, permissions, tools texts"
    );
    assert!(system[0].starts_with("You are Codex"));
    assert_eq!(rest.len(), 2, "environment context + prompt");
    let patch = r
        .tools
        .iter()
        .find(|t| t.name == "apply_patch")
        .map(|t| (t.kind, t.parameters.value(), t.description.contains("lark")));
    assert_eq!(patch.as_ref().map(|p| p.0), Some(ToolKind::Custom));
    assert_eq!(
        patch.as_ref().map(|p| p.1["required"].clone()),
        Some(json!(["input"]))
    );
    assert_eq!(
        patch.map(|p| p.2),
        Some(true),
        "the grammar goes into the description"
    );
    assert!(
        r.tools
            .iter()
            .any(|t| t.name == "exec_command" && t.kind == ToolKind::Function)
    );
    assert!(
        r.dropped.iter().any(|d| d.contains("web_search")),
        "{:?}",
        r.dropped
    );
    assert!(
        r.dropped.iter().any(|d| d.contains("tool_search")),
        "{:?}",
        r.dropped
    );
    assert_eq!(r.reasoning, Some(Effort::Medium));
    assert_eq!(r.tool_choice, Some(ToolChoice::Auto));
}

#[test]
fn decodes_history_with_reasoning_calls_and_outputs() {
    let r = decode("request_turn2_reasoning_tool_output.json");
    let assistant = r
        .messages
        .iter()
        .find(|m| m.role == Role::Assistant)
        .map(|m| m.parts.clone())
        .unwrap_or_default();
    assert!(
        matches!(&assistant[0], Part::Reasoning(rz) if rz.text == "Thinking about the request." && rz.opaque.is_none())
    );
    assert!(
        matches!(&assistant[1], Part::ToolCall(c) if c.name == "exec_command" && c.call_id == "call_mock_1")
    );
    let tool = r
        .messages
        .iter()
        .find(|m| m.role == Role::Tool)
        .map(|m| m.parts.clone())
        .unwrap_or_default();
    match &tool[0] {
        Part::ToolResult(t) => {
            assert_eq!(
                t.name.as_deref(),
                Some("exec_command"),
                "names filled from the call"
            );
            assert!(
                matches!(&t.content[0], ResultContent::Text(s) if s.contains("hello-from-tool"))
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn decodes_apply_patch_rounds_and_namespaces_and_lite_tools() {
    let r = decode("request_apply_patch_output.json");
    let calls: Vec<&ToolCall> = r
        .messages
        .iter()
        .flat_map(|m| &m.parts)
        .filter_map(|p| match p {
            Part::ToolCall(c) => Some(c),
            _ => None,
        })
        .collect();
    assert!(calls.iter().any(|c| c.kind == ToolKind::Custom
        && c.name == "apply_patch"
        && c.arguments.starts_with("*** Begin Patch")));
    let r = decode("request_unknown_model_namespace.json");
    let ns = r.tool_origins.get("multi_agent_v1__spawn_agent");
    assert_eq!(
        ns.map(|o| (o.namespace.as_deref(), o.name.as_str())),
        Some((Some("multi_agent_v1"), "spawn_agent"))
    );
    assert!(r.tools.iter().all(|t| {
        t.name.len() <= 64
            && t.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    }));
    let r = decode("request_responses_lite.json");
    assert!(!r.tools.is_empty(), "additional_tools are read as tools");
    assert!(
        r.tool_origins
            .values()
            .any(|o| o.namespace.as_deref() == Some("functions"))
    );
}

#[test]
fn compaction_keeps_an_empty_tool_list_and_title_requests_keep_their_schema() {
    let r = decode("request_compaction.json");
    assert!(r.tools.is_empty());
    let r = decode("request_tui_title_json_schema.json");
    assert!(matches!(
        &r.output_format,
        Some(OutputFormat::JsonSchema { strict: true, .. })
    ));
}

#[test]
fn rejects_what_cannot_be_translated() {
    for (body, needle) in [
        (
            json!({"model": "m", "input": [{"type": "message", "role": "user", "content": [{"type": "input_audio"}]}]}),
            "input[0]: audio",
        ),
        (
            json!({"model": "m", "input": "x", "previous_response_id": "resp_1"}),
            "previous_response_id",
        ),
        (json!({"model": "m"}), "missing `input`"),
        (
            json!({"model": "m", "input": [{"type": "item_reference", "id": "x"}]}),
            "item_reference",
        ),
    ] {
        let err = decode_request(body.to_string().as_bytes())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains(needle), "{err}");
    }
}

fn origins_req() -> Request {
    let body = json!({"model": "claude", "input": "x", "tools": [
        {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}},
        {"type": "namespace", "name": "multi_agent_v1", "tools": [{"type": "function", "name": "spawn_agent", "parameters": {"type": "object"}}]},
        {"type": "function", "name": "exec_command", "parameters": {"type": "object"}}]});
    decode_request(body.to_string().as_bytes()).unwrap_or_default()
}

#[test]
fn stream_emits_one_done_per_item_then_completed_with_full_usage() {
    let req = origins_req();
    let mut enc = StreamEncoder::new(&req);
    let mut out = Vec::new();
    let sig = Opaque::new(
        "anthropic",
        json!({"type": "thinking", "thinking": "hmm", "signature": "s1"}),
    );
    let events = vec![
        Event::Start {
            id: None,
            model: None,
        },
        Event::BlockStart {
            index: 0,
            kind: BlockKind::Reasoning,
        },
        Event::Delta {
            index: 0,
            delta: Delta::Reasoning("hmm".into()),
        },
        Event::Delta {
            index: 0,
            delta: Delta::Opaque(sig.clone()),
        },
        Event::BlockStop { index: 0 },
        Event::BlockStart {
            index: 1,
            kind: BlockKind::Text,
        },
        Event::Delta {
            index: 1,
            delta: Delta::Text("Hel".into()),
        },
        Event::Delta {
            index: 1,
            delta: Delta::Text("lo".into()),
        },
        Event::BlockStop { index: 1 },
        Event::BlockStart {
            index: 2,
            kind: BlockKind::ToolCall {
                call_id: "c1".into(),
                name: "apply_patch".into(),
            },
        },
        Event::Delta {
            index: 2,
            delta: Delta::ToolArgs("{\"input\":\"*** Begin".into()),
        },
        Event::Delta {
            index: 2,
            delta: Delta::ToolArgs(" Patch\\n\"}".into()),
        },
        Event::BlockStop { index: 2 },
        Event::BlockStart {
            index: 3,
            kind: BlockKind::ToolCall {
                call_id: "c2".into(),
                name: "multi_agent_v1__spawn_agent".into(),
            },
        },
        Event::Delta {
            index: 3,
            delta: Delta::ToolArgs("{}".into()),
        },
        Event::BlockStart {
            index: 4,
            kind: BlockKind::ToolCall {
                call_id: "c3".into(),
                name: "exec_command".into(),
            },
        },
        Event::Delta {
            index: 4,
            delta: Delta::ToolArgs("{\"cmd\":\"ls\"}".into()),
        },
        Event::Usage(Usage {
            input: 100,
            cached_input: 0,
            cache_write: 0,
            output: 20,
            reasoning: 0,
        }),
        Event::Stop(StopReason::ToolUse),
    ];
    for e in &events {
        enc.event(e, &mut out);
    }
    enc.finish(&mut out);
    let evs = sse(&out);
    let done: Vec<&Value> = evs
        .iter()
        .filter(|e| e["type"] == "response.output_item.done")
        .map(|e| &e["item"])
        .collect();
    assert_eq!(
        done.len(),
        5,
        "one done per item, unclosed blocks closed at the end"
    );
    assert_eq!(done[0]["type"], "reasoning");
    assert_eq!(
        Opaque::decode(done[0]["encrypted_content"].as_str().unwrap_or("")),
        Some(sig)
    );
    assert_eq!(done[1]["content"][0]["text"], "Hello");
    assert_eq!(done[2]["type"], "custom_tool_call");
    assert_eq!(done[2]["input"], "*** Begin Patch\n");
    assert_eq!(done[2]["name"], "apply_patch");
    assert_eq!(
        (done[3]["name"].as_str(), done[3]["namespace"].as_str()),
        (Some("spawn_agent"), Some("multi_agent_v1"))
    );
    assert_eq!(done[4]["arguments"], "{\"cmd\":\"ls\"}");
    let last = evs.last().cloned().unwrap_or_default();
    assert_eq!(last["type"], "response.completed");
    let u = &last["response"]["usage"];
    assert_eq!(
        (
            u["input_tokens"].as_u64(),
            u["output_tokens"].as_u64(),
            u["total_tokens"].as_u64()
        ),
        (Some(100), Some(20), Some(120))
    );
    assert_eq!(
        u["input_tokens_details"]["cached_tokens"], 0,
        "present even when 0"
    );
    assert_eq!(
        u["output_tokens_details"]["reasoning_tokens"], 0,
        "present even when 0"
    );
    assert_eq!(last["response"]["output"].as_array().map(Vec::len), Some(5));
    let seqs: Vec<u64> = evs
        .iter()
        .filter_map(|e| e["sequence_number"].as_u64())
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));

    // Codex echoes the items back: they decode into the same canonical parts.
    let echoed = json!({"model": "claude", "input": done, "tools": []});
    let back = decode_request(echoed.to_string().as_bytes()).unwrap_or_default();
    let parts = &back.messages[0].parts;
    assert!(
        matches!(&parts[0], Part::Reasoning(r) if r.opaque.as_ref().is_some_and(|o| o.provider == "anthropic"))
    );
    assert!(
        matches!(&parts[2], Part::ToolCall(c) if c.kind == ToolKind::Custom && c.arguments == "*** Begin Patch\n")
    );
    assert!(matches!(&parts[3], Part::ToolCall(c) if c.name == "multi_agent_v1__spawn_agent"));
}

#[test]
fn an_unfinished_or_failed_stream_ends_in_response_failed() {
    let req = origins_req();
    let mut enc = StreamEncoder::new(&req);
    let mut out = Vec::new();
    enc.event(
        &Event::BlockStart {
            index: 0,
            kind: BlockKind::Text,
        },
        &mut out,
    );
    enc.finish(&mut out);
    let last = sse(&out).last().cloned().unwrap_or_default();
    assert_eq!(last["type"], "response.failed");
    assert_eq!(last["response"]["error"]["code"], "server_error");

    let mut enc = StreamEncoder::new(&req);
    let mut out = Vec::new();
    enc.heartbeat(&mut out);
    enc.heartbeat(&mut out);
    let err = UpstreamError {
        code: ErrorCode::RateLimit,
        message: "rate limited; try again in 7s".into(),
        retry_after_secs: Some(7),
        status: 429,
    };
    enc.event(&Event::Error(err), &mut out);
    enc.finish(&mut out);
    let evs = sse(&out);
    assert_eq!(
        evs.iter()
            .filter(|e| e["type"] == "response.in_progress")
            .count(),
        2
    );
    let last = evs.last().cloned().unwrap_or_default();
    assert_eq!(last["type"], "response.failed");
    assert_eq!(last["response"]["error"]["code"], "rate_limit_exceeded");
    assert!(
        last["response"]["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("try again in 7s")
    );
}

#[test]
fn non_streaming_answers_use_the_same_items() {
    let req = origins_req();
    let resp = Response {
        parts: vec![
            Part::Text("hi".into()),
            Part::ToolCall(ToolCall {
                call_id: "c".into(),
                name: "apply_patch".into(),
                arguments: "{\"input\":\"p\"}".into(),
                kind: ToolKind::Function,
            }),
        ],
        usage: Usage {
            input: 5,
            output: 2,
            ..Usage::default()
        },
        stop: StopReason::MaxTokens,
        ..Response::default()
    };
    let v = encode_response(&resp, &req);
    assert_eq!(v["status"], "incomplete");
    assert_eq!(v["output"][1]["input"], "p");
    assert_eq!(v["usage"]["total_tokens"], 7);
    let (status, body) = encode_error(&UpstreamError {
        code: ErrorCode::ContextLengthExceeded,
        message: "too long".into(),
        retry_after_secs: None,
        status: 400,
    });
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("context_length_exceeded"))
    );
}

#[test]
fn delta_events_are_written_exactly_as_the_value_path_writes_them() {
    let mut enc = StreamEncoder::new(&origins_req());
    for d in [
        "plain",
        "quote \" backslash \\ newline \n tab \t",
        "üñï €𝄞 \u{1}",
    ] {
        let mut fast = Vec::new();
        let mut seq = enc.seq;
        write_event(
            &mut fast,
            &mut seq,
            "response.output_text.delta",
            &[
                ("content_index", Field::Num(0)),
                ("delta", Field::Str(d)),
                ("item_id", Field::Str("msg_1")),
                ("output_index", Field::Num(3)),
            ],
        );
        let mut slow = Vec::new();
        enc.emit(
            &mut slow,
            "response.output_text.delta",
            json!({"item_id": "msg_1", "output_index": 3, "content_index": 0, "delta": d}),
        );
        assert_eq!(
            String::from_utf8_lossy(&fast),
            String::from_utf8_lossy(&slow)
        );
        assert_eq!(seq, enc.seq);
    }
}

#[test]
fn a_wrong_typed_field_is_named_by_its_path() {
    let cases = [
        (
            json!({"model": "m", "temperature": "hot", "input": "hi"}),
            "`temperature`",
        ),
        (
            json!({"model": "m", "input": [{"type": "function_call", "call_id": 7, "name": "f"}]}),
            "`input[0].call_id`",
        ),
        (
            json!({"model": "m", "input": "hi", "tools": [{"type": "function", "name": ["x"]}]}),
            "`tools[0].name`",
        ),
    ];
    for (body, path) in cases {
        match decode_request(body.to_string().as_bytes()) {
            Err(Error::Translate(m)) => {
                assert!(m.starts_with(path), "{m}");
                assert!(m.contains("invalid type"), "{m}");
            }
            other => panic!("{body}: {other:?}"),
        }
    }
    for (raw, want) in [
        (&b"[1]"[..], "must be a JSON object"),
        (&b"{\"model\": "[..], "not valid JSON"),
        (
            &b"{\"model\": \"m\", \"input\": \"\xff\"}"[..],
            "not valid UTF-8",
        ),
    ] {
        match decode_request(raw) {
            Err(Error::Translate(m)) => assert!(m.contains(want), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn escaped_and_plain_strings_decode_the_same_and_odd_outputs_keep_their_text() {
    let body = json!({
        "model": "m",
        "input": [
            {"type": "message", "role": "user", "content": "line\n\"quoted\" \u{e9}"},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{\"a\":1}"},
            {"type": "function_call_output", "call_id": "c1", "output": {"ok": true}},
            {"type": "function_call_output", "call_id": "c1", "output": [{"type": "input_text", "text": "t\u{1}"}]},
            {"type": "function_call_output", "call_id": "c1", "output": null},
        ]
    });
    let r = decode_request(body.to_string().as_bytes()).expect("decodes");
    assert_eq!(
        r.messages[0].parts,
        vec![Part::Text("line\n\"quoted\" é".into())]
    );
    match &r.messages[1].parts[0] {
        Part::ToolCall(c) => assert_eq!(c.arguments, "{\"a\":1}"),
        other => panic!("{other:?}"),
    }
    let outputs: Vec<_> = r.messages[2]
        .parts
        .iter()
        .map(|p| match p {
            Part::ToolResult(t) => t.content.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        outputs,
        vec![
            vec![ResultContent::Text("{\"ok\":true}".into())],
            vec![ResultContent::Text("t\u{1}".into())],
            vec![],
        ]
    );
}

#[test]
fn answers_are_written_byte_for_byte_as_their_value_is() {
    let req = origins_req();
    let call = |name: &str, kind| {
        Part::ToolCall(ToolCall {
            call_id: "c \"1\"".into(),
            name: name.into(),
            arguments: "{\"input\":\"p\"}".into(),
            kind,
        })
    };
    let reasoning = Part::Reasoning(crate::canonical::Reasoning {
        text: "thought".into(),
        opaque: None,
    });
    let answers = [
        vec![],
        vec![Part::Text("hi".into())],
        vec![
            Part::Text("quote \" newline \n üñ€𝄞 \u{1}".into()),
            Part::Text(String::new()),
        ],
        vec![
            reasoning.clone(),
            Part::Text("a".into()),
            call("apply_patch", ToolKind::Function),
        ],
        vec![
            call("exec", ToolKind::Custom),
            reasoning,
            Part::Text("b".into()),
        ],
    ];
    for (i, parts) in answers.into_iter().enumerate() {
        for stop in [
            StopReason::EndTurn,
            StopReason::MaxTokens,
            StopReason::ContentFilter,
        ] {
            let resp = Response {
                parts: parts.clone(),
                usage: Usage {
                    input: 5 + i as u64,
                    cached_input: 3,
                    output: 2,
                    reasoning: 1,
                    ..Usage::default()
                },
                stop,
                ..Response::default()
            };
            let mut n = 0;
            let written = write_response_with(
                &resp,
                &req,
                |prefix| {
                    n += 1;
                    format!("{prefix}_{n}")
                },
                1_765_000_000,
            );
            // The same ids, in the order they were minted: the response's, then the items'.
            let mut v = encode_response(&resp, &req);
            v["id"] = json!("resp_1");
            v["created_at"] = json!(1_765_000_000);
            if let Some(items) = v["output"].as_array_mut() {
                for (k, item) in items.iter_mut().enumerate() {
                    let prefix = item["id"].as_str().and_then(|s| s.split('_').next());
                    item["id"] = json!(format!("{}_{}", prefix.unwrap_or("?"), k + 2));
                }
            }
            assert_eq!(
                String::from_utf8_lossy(&written),
                String::from_utf8_lossy(&crate::json_text::to_vec(&v)),
                "answer {i}"
            );
        }
    }
}
