//! The Anthropic codec over HTTP against the strict Anthropic mock: a real Codex turn-1
//! request encoded, streamed back with thinking and a tool call, then the follow-up turn that
//! returns the signed thinking block and the tool results.

use bifrost::canonical::{
    BlockKind, Delta, Effort, ErrorCode, Event, Message, Part, Request, Response, ResultContent,
    Role, StopReason, Tool, ToolChoice, ToolKind, ToolResult,
};
use bifrost::protocols::anthropic::{self, StreamDecoder};
use bifrost::usage::Usage;
use serde_json::{Value, json};

use crate::support::CANARY;
use crate::support::anthropic_mock::{self, AnthropicMock, Out, Reply, sign, usage};

const MODEL: &str = "claude-sonnet-4-5";

/// The canonical form of `tests/fixtures/codex/request_turn1_gpt55.json`: developer messages
/// become system, function tools stay, the freeform `apply_patch` becomes a custom tool with
/// one string `input`, hosted tools are dropped.
fn codex_turn1() -> Request {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/codex/request_turn1_gpt55.json"
    );
    let body: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let mut req = Request {
        model: body["model"].as_str().expect("model").into(),
        tool_choice: Some(ToolChoice::Auto),
        parallel_tool_calls: body["parallel_tool_calls"].as_bool(),
        reasoning: body["reasoning"]["effort"].as_str().and_then(Effort::parse),
        stream: true,
        ..Request::default()
    };
    for item in body["input"].as_array().expect("input") {
        let role = match item["role"].as_str() {
            Some("developer" | "system") => Role::System,
            Some("assistant") => Role::Assistant,
            _ => Role::User,
        };
        let parts = item["content"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["text"].as_str())
            .map(|t| Part::Text(t.into()))
            .collect();
        req.messages.push(Message { role, parts });
    }
    for t in body["tools"].as_array().expect("tools") {
        let name = t["name"].as_str().unwrap_or("").to_string();
        let description = t["description"].as_str().unwrap_or("").to_string();
        match t["type"].as_str() {
            Some("function") => req.tools.push(Tool {
                name,
                description,
                parameters: t["parameters"].clone().into(),
                kind: ToolKind::Function,
                strict: t["strict"].as_bool().unwrap_or(false),
            }),
            Some("custom") => req.tools.push(Tool {
                name,
                description,
                parameters: json!({"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}).into(),
                kind: ToolKind::Custom,
                strict: false,
            }),
            other => req.dropped.push(format!("{other:?}")),
        }
    }
    req
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn post(mock: &AnthropicMock, body: Vec<u8>, key: &str) -> reqwest::Response {
    client()
        .post(format!("{}/messages", mock.base_url()))
        .header("x-api-key", key)
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send")
}

/// Feeds the SSE body to the decoder chunk by chunk, as the gateway does.
async fn decode_stream(mut resp: reqwest::Response) -> Vec<Event> {
    assert_eq!(resp.status(), 200);
    let mut framer = bifrost::sse::Framer::default();
    let mut dec = StreamDecoder::new();
    let mut events = Vec::new();
    while let Some(chunk) = resp.chunk().await.expect("chunk") {
        let mut datas = Vec::new();
        framer.push(&chunk, |ev| {
            if let Some(d) = bifrost::sse::data(ev) {
                datas.push(d.into_owned());
            }
        });
        for d in datas {
            dec.push(&d, &mut events).expect("decode");
        }
    }
    dec.end(&mut events);
    events
}

async fn upstream_error(resp: reqwest::Response) -> bifrost::canonical::UpstreamError {
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = resp.bytes().await.expect("body");
    anthropic::decode_error(status, retry, &body)
}

#[tokio::test]
async fn anthropic_codex_turn_with_thinking_and_tool_call_round_trips() {
    let mock = AnthropicMock::start();
    let info = bifrost::catalog::lookup("anthropic", MODEL);
    let mut req = codex_turn1();
    assert_eq!(req.reasoning, Some(Effort::Medium));
    assert!(req.tools.iter().any(|t| t.kind == ToolKind::Custom));

    let cmd = "printf \"a\\tb\" | grep -c 'a' # \u{e9}";
    mock.push(anthropic_mock::thinking_tool_use(
        "The user wants a greeting; run a command first.",
        "exec_command",
        json!({"cmd": cmd, "yield_time_ms": 1000}),
        usage(40, 90, 6000, 1500),
    ));
    let body = anthropic::encode_request(&req, MODEL, &info).expect("encode");
    let events = decode_stream(post(&mock, body, CANARY).await).await;

    let sent = mock.seen()[0].json();
    assert_eq!(
        sent["thinking"],
        json!({"type": "enabled", "budget_tokens": 8192})
    );
    assert_eq!(sent["max_tokens"], 64_000);
    assert_eq!(sent["system"].as_array().map(Vec::len), Some(4));
    assert!(sent["tools"].as_array().is_some_and(|t| t.len() == 8));
    assert_eq!(
        sent["tools"][7]["cache_control"],
        json!({"type": "ephemeral"})
    );

    assert!(matches!(events[0], Event::Start { .. }));
    assert!(events.contains(&Event::BlockStart {
        index: 0,
        kind: BlockKind::Reasoning
    }));
    let opaque = events
        .iter()
        .find_map(|e| match e {
            Event::Delta {
                index: 0,
                delta: Delta::Opaque(o),
            } => Some(o.clone()),
            _ => None,
        })
        .expect("thinking opaque");
    assert_eq!(
        opaque.data["signature"],
        json!(sign("The user wants a greeting; run a command first."))
    );
    assert!(
        events
            .iter()
            .filter(|e| matches!(
                e,
                Event::Delta {
                    index: 1,
                    delta: Delta::ToolArgs(_)
                }
            ))
            .count()
            > 3,
        "arguments arrive in fragments"
    );
    let resp = Response::from_events(&events).expect("response");
    assert_eq!(resp.stop, StopReason::ToolUse);
    assert_eq!(
        resp.usage,
        Usage {
            input: 40 + 6000 + 1500,
            cached_input: 6000,
            cache_write: 1500,
            output: 90,
            reasoning: 0
        }
    );
    let Part::ToolCall(call) = &resp.parts[1] else {
        panic!("{:?}", resp.parts)
    };
    let args: Value = serde_json::from_str(&call.arguments).expect("args");
    assert_eq!(args["cmd"], cmd);

    // Turn 2: thinking and call go back as they came, with the result; the mock checks the
    // signature and the pairing.
    req.messages.push(Message {
        role: Role::Assistant,
        parts: resp.parts.clone(),
    });
    req.messages.push(Message {
        role: Role::Tool,
        parts: vec![Part::ToolResult(ToolResult {
            call_id: call.call_id.clone(),
            name: None,
            content: vec![ResultContent::Text("1\n".into())],
            is_error: false,
        })],
    });
    req.stream = false;
    mock.push(anthropic_mock::thinking_text(
        "It printed 1.",
        "The command matched one line.",
        usage(60, 20, 7500, 0),
    ));
    let body = anthropic::encode_request(&req, MODEL, &info).expect("encode");
    let r = post(&mock, body, CANARY).await;
    assert_eq!(r.status(), 200);
    let answer = anthropic::decode_response(&r.bytes().await.expect("body")).expect("decode");
    assert_eq!(
        answer.parts.last(),
        Some(&Part::Text("The command matched one line.".into()))
    );
    assert_eq!(answer.stop, StopReason::EndTurn);
    let sent = mock.seen()[1].json();
    let m = sent["messages"].as_array().expect("messages");
    assert_eq!(m.len(), 3);
    assert_eq!(m[1]["content"][0]["signature"], opaque.data["signature"]);
    assert_eq!(m[2]["content"][0]["type"], "tool_result");

    // A tampered signature is refused by the mock, and classified as an invalid request.
    let mut tampered = req.clone();
    if let Some(Part::Reasoning(r)) = tampered.messages[4].parts.first_mut()
        && let Some(o) = &mut r.opaque
    {
        o.data["signature"] = json!("sig-forged");
    }
    let body = anthropic::encode_request(&tampered, MODEL, &info).expect("encode");
    let e = upstream_error(post(&mock, body, CANARY).await).await;
    assert_eq!(e.code, ErrorCode::InvalidRequest);
    assert!(e.message.contains("signature"), "{}", e.message);
}

#[tokio::test]
async fn anthropic_parallel_results_grouped_and_errors_classified() {
    let mock = AnthropicMock::start();
    let info = bifrost::catalog::lookup("anthropic", MODEL);
    let mut req = codex_turn1();
    req.reasoning = None;
    mock.push(Reply::Message {
        content: vec![
            Out::Text("Running both.".into()),
            Out::ToolUse {
                name: "exec_command".into(),
                input: json!({"cmd": "ls"}),
            },
            Out::ToolUse {
                name: "apply_patch".into(),
                input: json!({"input": "*** Begin Patch\n*** Add File: a\n+x\n*** End Patch\n"}),
            },
        ],
        usage: usage(10, 30, 0, 0),
    });
    let body = anthropic::encode_request(&req, MODEL, &info).expect("encode");
    let resp = Response::from_events(&decode_stream(post(&mock, body, CANARY).await).await)
        .expect("response");
    let calls: Vec<_> = resp
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 2);

    // Codex-style history: one assistant message per item, one tool message per result,
    // plus a stray result; the mock accepts only results grouped first after the calls.
    req.messages.push(Message {
        role: Role::Assistant,
        parts: vec![resp.parts[0].clone()],
    });
    for c in &calls {
        req.messages.push(Message {
            role: Role::Assistant,
            parts: vec![Part::ToolCall(c.clone())],
        });
    }
    for (id, out) in [
        (calls[1].call_id.as_str(), "Done!"),
        ("call_from_elsewhere", "stray"),
        (calls[0].call_id.as_str(), "a\nb"),
    ] {
        req.messages.push(Message {
            role: Role::Tool,
            parts: vec![Part::ToolResult(ToolResult {
                call_id: id.into(),
                name: None,
                content: vec![ResultContent::Text(out.into())],
                is_error: false,
            })],
        });
    }
    req.stream = false;
    mock.push(anthropic_mock::text("Both done.", usage(5, 3, 0, 0)));
    let body = anthropic::encode_request(&req, MODEL, &info).expect("encode");
    let r = post(&mock, body, CANARY).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let sent = mock.seen()[1].json();
    let last = &sent["messages"][2]["content"];
    assert_eq!(last[0]["tool_use_id"], json!(calls[0].call_id));
    assert_eq!(last[1]["tool_use_id"], json!(calls[1].call_id));
    assert_eq!(last[2]["type"], "text");

    mock.push(anthropic_mock::error(
        429,
        "rate_limit_error",
        "Number of request tokens has exceeded your per-minute rate limit",
        Some(9),
    ));
    let body = anthropic::encode_request(&req, MODEL, &info).expect("encode");
    let e = upstream_error(post(&mock, body.clone(), CANARY).await).await;
    assert_eq!(e.code, ErrorCode::RateLimit);
    assert_eq!(e.retry_after_secs, Some(9));
    assert!(e.message.contains("try again in 9s"), "{}", e.message);

    mock.push(anthropic_mock::error(
        529,
        "overloaded_error",
        "Overloaded",
        None,
    ));
    let e = upstream_error(post(&mock, body.clone(), CANARY).await).await;
    assert_eq!(e.code, ErrorCode::ServerError);

    let e = upstream_error(post(&mock, body, "sk-wrong").await).await;
    assert_eq!(e.code, ErrorCode::Auth);
    assert!(e.message.contains("ANTHROPIC_API_KEY"));
}

#[tokio::test]
async fn anthropic_mock_rejects_what_the_api_rejects() {
    let mock = AnthropicMock::start();
    let user = |t: &str| json!({"role": "user", "content": [{"type": "text", "text": t}]});
    let base = json!({"model": MODEL, "max_tokens": 100, "messages": [user("hi")]});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let call = json!({"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "x", "input": {}}]});
    let bad = [
        with("bogus", json!(1)),
        with("messages", json!([{"role": "assistant", "content": "hi"}])),
        with("messages", json!([user("a"), user("b")])),
        with("messages", json!([user(" ")])),
        with(
            "messages",
            json!([user("a"), call.clone(), user("no result")]),
        ),
        with(
            "messages",
            json!([user("a"), call.clone(), {"role": "user", "content": [
                {"type": "text", "text": "first"}, {"type": "tool_result", "tool_use_id": "t1"}]}]),
        ),
        with(
            "messages",
            json!([user("a"), {"role": "assistant", "content": "ok"}, {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1"}]}]),
        ),
        // A well-paired tool_result, but no tools defined.
        with(
            "messages",
            json!([user("a"), call.clone(), {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1"}]}]),
        ),
        with(
            "tools",
            json!([{"name": "bad name", "input_schema": {"type": "object"}}]),
        ),
        with(
            "tools",
            json!([{"name": "x", "input_schema": {"type": "string"}}]),
        ),
        with(
            "thinking",
            json!({"type": "enabled", "budget_tokens": 1024}),
        ),
        json!({"model": MODEL, "max_tokens": 4000, "messages": [user("hi")], "temperature": 0.2,
               "thinking": {"type": "enabled", "budget_tokens": 1024}}),
        json!({"model": MODEL, "messages": [user("hi")]}),
        json!({"max_tokens": 5, "messages": [user("hi")]}),
    ];
    for b in bad {
        let r = post(&mock, b.to_string().into_bytes(), CANARY).await;
        assert_eq!(r.status(), 400, "accepted {b}");
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "invalid_request_error");
    }
    let r = client()
        .post(format!("{}/messages", mock.base_url()))
        .header("x-api-key", CANARY)
        .body(base.to_string())
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400, "anthropic-version is required");
    let r = post(&mock, base.to_string().into_bytes(), CANARY).await;
    assert_eq!(r.status(), 200);
}
