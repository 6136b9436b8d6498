//! The Chat codec over real HTTP against the strict Chat mock: what `encode_request` sends is
//! accepted by a server as strict as vLLM, what comes back decodes into the right events, and
//! those events re-encoded for a Chat client decode to the same answer.

use bifrost::canonical::{
    ErrorCode, Event, Message, Part, Request, Response, ResultContent, Role, StopReason, Tool,
    ToolCall, ToolChoice, ToolKind, ToolResult,
};
use bifrost::protocols::ModelInfo;
use bifrost::protocols::chat::{self, StreamDecoder, StreamEncoder};
use bifrost::usage::Usage;
use serde_json::{Value, json};

use crate::support::CANARY;
use crate::support::chat_mock::{self, ChatMock, Reply};

fn http() -> reqwest::Client {
    bifrost::gateway::http_client().expect("client")
}

/// POSTs a body to the mock's `/chat/completions`.
async fn post(mock: &ChatMock, body: Vec<u8>, key: Option<&str>) -> reqwest::Response {
    let mut rb = http()
        .post(format!("{}/chat/completions", mock.base_url()))
        .header("content-type", "application/json")
        .body(body);
    if let Some(k) = key {
        rb = rb.bearer_auth(k);
    }
    rb.send().await.expect("send")
}

/// Reads an SSE body chunk by chunk, as the gateway does, through the Chat decoder.
async fn decode_sse(mut resp: reqwest::Response) -> Vec<Event> {
    assert_eq!(resp.status(), 200);
    let mut framer = bifrost::sse::Framer::default();
    let mut dec = StreamDecoder::new();
    let mut events = Vec::new();
    while let Some(bytes) = resp.chunk().await.expect("chunk") {
        let mut datas = Vec::new();
        framer.push(&bytes, |ev| {
            if let Some(d) = bifrost::sse::data(ev) {
                datas.push(d.into_owned());
            }
        });
        for d in datas {
            dec.push(&d, &mut events).expect("decodes");
        }
    }
    dec.end(&mut events);
    events
}

/// Decodes an encoder's output with the decoder.
fn decode_bytes(bytes: &[u8]) -> Vec<Event> {
    let mut framer = bifrost::sse::Framer::default();
    let mut datas = Vec::new();
    framer.push(bytes, |ev| {
        if let Some(d) = bifrost::sse::data(ev) {
            datas.push(d.into_owned());
        }
    });
    let mut dec = StreamDecoder::new();
    let mut events = Vec::new();
    for d in datas {
        dec.push(&d, &mut events).expect("decodes");
    }
    dec.end(&mut events);
    events
}

fn tools() -> Vec<Tool> {
    vec![
        Tool {
            name: "exec_command".into(),
            description: "Runs a command in a PTY.".into(),
            parameters: json!({"type": "object", "properties": {"cmd": {"type": "string"},
                               "yield_time_ms": {"type": "number"}}, "required": ["cmd"]})
            .into(),
            kind: ToolKind::Function,
            strict: false,
        },
        Tool {
            name: "apply_patch".into(),
            description: "Edit files with a patch.".into(),
            parameters: json!({"type": "object", "properties": {"input": {"type": "string"}},
                               "required": ["input"]})
            .into(),
            kind: ToolKind::Custom,
            strict: false,
        },
    ]
}

/// Turn 1 of a Codex session, as the Responses codec decodes it.
fn codex_turn1() -> Request {
    Request {
        model: "local-coder".into(),
        messages: vec![
            Message {
                role: Role::System,
                parts: vec![
                    Part::Text("You are Codex, a coding agent.".into()),
                    Part::Text("<permissions instructions>".into()),
                ],
            },
            Message {
                role: Role::User,
                parts: vec![Part::Text("<environment_context/>".into())],
            },
            Message {
                role: Role::User,
                parts: vec![Part::Text("write café to a file and add a.txt".into())],
            },
        ],
        tools: tools(),
        tool_choice: Some(ToolChoice::Auto),
        parallel_tool_calls: Some(true),
        reasoning: Some(bifrost::canonical::Effort::Medium),
        stream: true,
        cache_key: Some("thread-1".into()),
        ..Request::default()
    }
}

const EXEC_ARGS: &str = r#"{"cmd":"echo \"café\" > out.txt","yield_time_ms":1000}"#;
const PATCH: &str = "*** Begin Patch\n*** Add File: a.txt\n+tab\there \\ \"q\"\n*** End Patch\n";

#[tokio::test]
async fn codex_tool_round_trip_through_the_strict_mock() {
    let mock = ChatMock::start(true);
    let info = ModelInfo::default();
    let patch_args = json!({"input": PATCH}).to_string();
    mock.push(Reply::ToolCalls {
        calls: vec![
            ("exec_command".into(), EXEC_ARGS.into()),
            ("apply_patch".into(), patch_args.clone()),
        ],
        usage: chat_mock::usage(1500, 1024, 80, 0),
    });

    // Turn 1: the model calls two tools.
    let mut req = codex_turn1();
    let body = chat::encode_request(&req, chat_mock::MODEL, &info).expect("encode");
    let events = decode_sse(post(&mock, body, Some(CANARY)).await).await;
    let first = Response::from_events(&events).expect("no error");
    assert_eq!(first.stop, StopReason::ToolUse);
    assert_eq!(
        first.usage,
        Usage {
            input: 1500,
            cached_input: 1024,
            cache_write: 0,
            output: 80,
            reasoning: 0
        }
    );
    let calls: Vec<&ToolCall> = first
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].name, "exec_command");
    assert_eq!(calls[0].arguments, EXEC_ARGS);
    assert_eq!(calls[1].arguments, patch_args);
    // Many small argument fragments, concatenated exactly.
    let frags = events
        .iter()
        .filter(|e| matches!(e, Event::Delta { .. }))
        .count();
    assert!(frags > 10, "{frags} fragments");
    let sent = mock.seen()[0].json();
    assert_eq!(sent["stream_options"], json!({"include_usage": true}));
    assert_eq!(sent["messages"][0]["role"], "system");
    assert_eq!(sent["reasoning_effort"], "medium");

    // Turn 2: the gateway restores the custom tool (raw input) and Codex sends the results.
    let mut assistant = Vec::new();
    for c in &calls {
        let mut c = (*c).clone();
        if c.name == "apply_patch" {
            let v: Value = serde_json::from_str(&c.arguments).expect("json");
            c.arguments = v["input"].as_str().expect("input").to_string();
            c.kind = ToolKind::Custom;
        }
        assistant.push(Part::ToolCall(c));
    }
    req.messages.push(Message {
        role: Role::Assistant,
        parts: assistant,
    });
    for (c, out) in calls.iter().zip(["Process exited with code 0", "Done!"]) {
        req.messages.push(Message {
            role: Role::Tool,
            parts: vec![Part::ToolResult(ToolResult {
                call_id: c.call_id.clone(),
                name: Some(c.name.clone()),
                content: vec![ResultContent::Text(out.into())],
                is_error: false,
            })],
        });
    }
    mock.push(Reply::ReasoningText {
        reasoning: "Both tools succeeded.".into(),
        text: "Wrote café to out.txt and added a.txt.".into(),
        usage: chat_mock::usage(1700, 1500, 30, 12),
    });
    let body = chat::encode_request(&req, chat_mock::MODEL, &info).expect("encode");
    let events = decode_sse(post(&mock, body, Some(CANARY)).await).await;
    let second = Response::from_events(&events).expect("no error");
    assert_eq!(second.stop, StopReason::EndTurn);
    assert_eq!(second.usage.reasoning, 12);
    assert!(
        matches!(&second.parts[..], [Part::Reasoning(r), Part::Text(t)]
            if r.text == "Both tools succeeded." && t == "Wrote café to out.txt and added a.txt.")
    );
    let sent = mock.seen()[1].json();
    let msgs = sent["messages"].as_array().expect("messages");
    assert_eq!(msgs.len(), 6);
    assert_eq!(
        msgs[3]["tool_calls"][1]["function"]["arguments"],
        patch_args
    );
    assert_eq!(msgs[4]["tool_call_id"], calls[0].call_id.as_str());
    assert_eq!(msgs[5]["content"], "Done!");

    // Re-encode both answers for a Chat client and decode them again.
    for (resp, events) in [
        (&first, bifrost::canonical::events_of(&first)),
        (&second, events),
    ] {
        let client = Request {
            model: "client-model".into(),
            stream: true,
            stream_usage: true,
            ..Request::default()
        };
        let mut enc = StreamEncoder::new(&client);
        let mut out = Vec::new();
        for e in &events {
            enc.event(e, &mut out);
        }
        enc.finish(&mut out);
        let again = Response::from_events(&decode_bytes(&out)).expect("no error");
        assert_eq!(again.parts, resp.parts);
        assert_eq!(again.usage, resp.usage);
        assert_eq!(again.stop, resp.stop);
        assert_eq!(again.model.as_deref(), Some("client-model"));
    }
}

#[tokio::test]
async fn non_streaming_and_usage_only_when_asked() {
    let mock = ChatMock::start(false);
    let mut req = codex_turn1();
    req.stream = false;
    mock.push(Reply::Text {
        text: "plain".into(),
        usage: chat_mock::usage(9, 0, 2, 0),
    });
    let body = chat::encode_request(&req, chat_mock::MODEL, &ModelInfo::default()).expect("encode");
    let resp = post(&mock, body, None).await;
    assert_eq!(resp.status(), 200);
    let r = chat::decode_response(&resp.bytes().await.expect("body")).expect("decode");
    assert_eq!(r.parts, vec![Part::Text("plain".into())]);
    assert_eq!((r.usage.input, r.usage.output), (9, 2));

    // A client that did not ask for usage gets no usage chunk.
    let raw = json!({"model": chat_mock::MODEL, "stream": true,
                     "messages": [{"role": "user", "content": "hi"}]});
    mock.push(Reply::Text {
        text: "hello there".into(),
        usage: chat_mock::usage(9, 0, 2, 0),
    });
    let events = decode_sse(post(&mock, raw.to_string().into_bytes(), None).await).await;
    assert!(!events.iter().any(|e| matches!(e, Event::Usage(_))));
    let r = Response::from_events(&events).expect("ok");
    assert_eq!(r.parts, vec![Part::Text("hello there".into())]);

    let models: Value = http()
        .get(format!("{}/models", mock.base_url()))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(models["data"][0]["id"], chat_mock::MODEL);
}

#[tokio::test]
async fn the_mock_is_as_strict_as_real_servers() {
    let mock = ChatMock::start(true);
    let ok_msgs = json!([{"role": "user", "content": "hi"}]);
    let call =
        json!({"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}});
    let cases = [
        (
            json!({"model": "m", "messages": ok_msgs, "prompt_cache_key": "x"}),
            "Unknown parameter",
        ),
        (
            json!({"model": "m", "messages": ok_msgs, "stream_options": {"include_usage": true}}),
            "stream_options",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": null}]}),
            "content or tool_calls",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [call]},
              {"role": "tool", "tool_call_id": "zzz", "content": "r"}]}),
            "does not match",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [call]},
              {"role": "user", "content": "y"}]}),
            "did not have response messages",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls":
              [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]},
              {"role": "tool", "tool_call_id": "c1", "content": "r"}]}),
            "must be a string",
        ),
        (
            json!({"model": "m", "messages": ok_msgs, "tools": [{"type": "custom", "custom": {"name": "p"}}]}),
            "must be 'function'",
        ),
        (
            json!({"model": "m", "messages": ok_msgs, "tools": [{"type": "function", "function": {"name": "a.b"}}]}),
            "must match",
        ),
        (
            json!({"model": "m", "messages": ok_msgs, "tool_choice": "auto"}),
            "only allowed when 'tools'",
        ),
    ];
    for (body, needle) in cases {
        let resp = post(&mock, body.to_string().into_bytes(), Some(CANARY)).await;
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("text");
        assert_eq!(status, 400, "{body}: {text}");
        assert!(text.contains(needle), "{needle} not in {text}");
        let err = chat::decode_error(status, None, text.as_bytes());
        assert_eq!(err.code, ErrorCode::InvalidRequest, "{text}");
    }
    let body = chat::encode_request(&codex_turn1(), "m", &ModelInfo::default()).expect("encode");
    for key in [None, Some("sk-wrong")] {
        let resp = post(&mock, body.clone(), key).await;
        let status = resp.status().as_u16();
        let err = chat::decode_error(status, None, &resp.bytes().await.expect("body"));
        assert_eq!((status, err.code), (401, ErrorCode::Auth));
        assert!(!err.message.contains("sk-"));
    }
    let resp = http()
        .get(format!("{}/models", mock.base_url()))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn http_errors_map_to_what_clients_act_on() {
    let mock = ChatMock::start(false);
    let body = chat::encode_request(&codex_turn1(), "m", &ModelInfo::default()).expect("encode");
    mock.push(Reply::Error {
        status: 429,
        body: json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}).to_string(),
        retry_after: Some(5),
    });
    mock.push(Reply::Error {
        status: 404,
        body: json!({"error": "model 'qwen9:1b' not found"}).to_string(),
        retry_after: None,
    });
    mock.push(Reply::Error {
        status: 400,
        body: json!({"error": {"message": "This model's maximum context length is 8192 tokens.", "type": "BadRequestError", "code": 400}}).to_string(),
        retry_after: None,
    });
    mock.push(Reply::Error {
        status: 503,
        body: "upstream overloaded".into(),
        retry_after: None,
    });
    let want = [
        (ErrorCode::RateLimit, Some(5)),
        (ErrorCode::InvalidRequest, None),
        (ErrorCode::ContextLengthExceeded, None),
        (ErrorCode::ServerError, None),
    ];
    for (code, retry) in want {
        let resp = post(&mock, body.clone(), None).await;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let err = chat::decode_error(status, retry_after, &resp.bytes().await.expect("body"));
        assert_eq!((err.code, err.retry_after_secs), (code, retry), "{err:?}");
        let (client_status, client_body) = chat::encode_error(&err);
        assert_eq!(client_status, status);
        assert_eq!(client_body["error"]["code"], code.openai_code());
    }
}
