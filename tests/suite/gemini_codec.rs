//! The Gemini codec against the strict Gemini mock over HTTP: a Codex-shaped request with the
//! real Codex tool schemas, streamed and decoded, then the tool-call turn sent back with its
//! thought signature and function response; plus the mock's rejections mapped to errors.

use bifrost::canonical::Effort;
use bifrost::canonical::{
    ErrorCode, Event, Message, Part, Request, Response, ResultContent, Role, StopReason, Tool,
    ToolChoice, ToolKind, ToolResult,
};
use bifrost::protocols::ModelInfo;
use bifrost::protocols::gemini::{self, StreamDecoder};
use bifrost::usage::Usage;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::support::CANARY;
use crate::support::gemini_mock::{GeminiMock, Reply, usage};

const MODEL: &str = "gemini-3-pro-preview";

fn codex_fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/codex/request_turn1_gpt55.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
}

/// The canonical form of Codex's first turn: developer messages as system, user messages,
/// function tools as they are, the freeform `apply_patch` as a function with one string
/// `input`, hosted tools left out.
fn codex_request() -> Request {
    let raw = codex_fixture();
    let mut messages = Vec::new();
    for item in raw["input"].as_array().into_iter().flatten() {
        let role = match item["role"].as_str() {
            Some("developer" | "system") => Role::System,
            Some("assistant") => Role::Assistant,
            _ => Role::User,
        };
        let parts = item["content"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["text"].as_str().map(|t| Part::Text(t.to_string())))
            .collect();
        messages.push(Message { role, parts });
    }
    let mut tools = Vec::new();
    for t in raw["tools"].as_array().into_iter().flatten() {
        let name = t["name"].as_str().unwrap_or("").to_string();
        let description = t["description"].as_str().unwrap_or("").to_string();
        match t["type"].as_str() {
            Some("function") => tools.push(Tool {
                name,
                description,
                parameters: t["parameters"].clone().into(),
                kind: ToolKind::Function,
                strict: false,
            }),
            Some("custom") => tools.push(Tool {
                name,
                description,
                parameters: json!({"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}).into(),
                kind: ToolKind::Custom,
                strict: false,
            }),
            _ => {}
        }
    }
    Request {
        model: "gpt-5.5".into(),
        messages,
        tools,
        tool_choice: Some(ToolChoice::Auto),
        parallel_tool_calls: Some(true),
        reasoning: Some(Effort::Medium),
        stream: true,
        ..Request::default()
    }
}

fn info() -> ModelInfo {
    ModelInfo {
        context_window: Some(1_048_576),
        max_output: Some(65_536),
    }
}

/// POSTs to `models/{model}:{method}` and returns status, Retry-After and the response.
async fn post(
    mock: &GeminiMock,
    method: &str,
    body: Vec<u8>,
    key: Option<&str>,
) -> reqwest::Response {
    let url = match method {
        "stream" => format!(
            "{}/models/{MODEL}:streamGenerateContent?alt=sse",
            mock.base_url()
        ),
        _ => format!("{}/models/{MODEL}:generateContent", mock.base_url()),
    };
    // reqwest is built without a default crypto provider (as the gateway installs its own).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut rb = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    if let Some(k) = key {
        rb = rb.header("x-goog-api-key", k);
    }
    rb.send().await.expect("send")
}

/// Reads an SSE answer chunk by chunk through the gateway's framer and the codec's decoder.
async fn decode_stream(resp: reqwest::Response) -> Vec<Event> {
    assert_eq!(resp.status(), 200);
    let mut framer = bifrost::sse::Framer::default();
    let mut dec = StreamDecoder::new();
    let mut events = Vec::new();
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.expect("chunk");
        let mut datas = Vec::new();
        framer.push(&chunk, |ev| {
            if let Some(d) = bifrost::sse::data(ev) {
                datas.push(d.into_owned());
            }
        });
        for d in datas {
            dec.push(&d, &mut events).expect("decode chunk");
        }
    }
    dec.end(&mut events);
    events
}

async fn error_of(resp: reqwest::Response) -> bifrost::canonical::UpstreamError {
    let status = resp.status().as_u16();
    let body = resp.bytes().await.expect("body");
    gemini::decode_error(status, None, &body)
}

fn has_signature(p: &Part) -> bool {
    matches!(p, Part::Reasoning(r) if r.opaque.as_ref().is_some_and(|o| o.provider == "gemini"))
}

#[tokio::test]
async fn codex_turns_round_trip_through_the_strict_mock() {
    let mock = GeminiMock::start();
    let mut req = codex_request();

    // Turn 1: the model answers with a signed function call.
    mock.push(Reply::Calls {
        calls: vec![(
            "exec_command".into(),
            json!({"cmd": "ls -la", "yield_time_ms": 1000}),
        )],
        signed: true,
        usage: usage(4_512, 4_096, 31, 158),
    });
    let body = gemini::encode_request(&req, MODEL, &info()).expect("encode");
    let events = decode_stream(post(&mock, "stream", body, Some(CANARY)).await).await;
    assert!(
        matches!(events.first(), Some(Event::Start { id: Some(_), model: Some(m) }) if m == MODEL)
    );
    let turn1 = Response::from_events(&events).expect("turn 1");
    assert_eq!(turn1.stop, StopReason::ToolUse);
    assert_eq!(
        turn1.usage,
        Usage {
            input: 4_512,
            cached_input: 4_096,
            cache_write: 0,
            output: 189,
            reasoning: 158
        }
    );
    assert_eq!(turn1.parts.len(), 2);
    assert!(has_signature(&turn1.parts[0]));
    let Part::ToolCall(call) = &turn1.parts[1] else {
        panic!("no call: {:?}", turn1.parts);
    };
    assert_eq!(call.name, "exec_command");
    assert_eq!(
        serde_json::from_str::<Value>(&call.arguments).expect("args"),
        json!({"cmd": "ls -la", "yield_time_ms": 1000})
    );

    // What the mock saw: sanitised tools, the system prompt apart, thinking for Gemini 3.
    let sent = mock.seen()[0].json();
    assert_eq!(
        sent["tools"][0]["functionDeclarations"]
            .as_array()
            .map(Vec::len),
        Some(8)
    );
    assert!(!sent.to_string().contains("additionalProperties"));
    assert_eq!(
        sent["systemInstruction"]["parts"].as_array().map(Vec::len),
        Some(4)
    );
    assert_eq!(sent["contents"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        sent["generationConfig"]["thinkingConfig"],
        json!({"thinkingLevel": "high", "includeThoughts": true})
    );
    assert_eq!(sent["toolConfig"]["functionCallingConfig"]["mode"], "AUTO");

    // Turn 2: the call (signature included) and its result go back; thoughts and text come.
    req.messages.push(Message {
        role: Role::Assistant,
        parts: turn1.parts.clone(),
    });
    req.messages.push(Message {
        role: Role::Tool,
        parts: vec![Part::ToolResult(ToolResult {
            call_id: call.call_id.clone(),
            name: None,
            content: vec![ResultContent::Text("Cargo.toml\nsrc\n".into())],
            is_error: false,
        })],
    });
    mock.push(Reply::Thoughts {
        thoughts: "The listing shows a Rust crate with sources.".into(),
        text: "This is a Rust project: Cargo.toml and src/.".into(),
        usage: usage(4_700, 4_096, 12, 40),
    });
    let body = gemini::encode_request(&req, MODEL, &info()).expect("encode");
    let events = decode_stream(post(&mock, "stream", body, Some(CANARY)).await).await;
    let turn2 = Response::from_events(&events).expect("turn 2");
    assert_eq!(turn2.stop, StopReason::EndTurn);
    assert!(
        matches!(&turn2.parts[0], Part::Reasoning(r) if r.text.starts_with("The listing") && r.opaque.is_none())
    );
    let text: String = turn2
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "This is a Rust project: Cargo.toml and src/.");
    assert!(
        turn2.parts.iter().any(has_signature),
        "the text signature is kept"
    );
    assert_eq!(turn2.usage.reasoning, 40);

    let sent = mock.seen()[1].json();
    let contents = sent["contents"].as_array().expect("contents");
    assert_eq!(contents.len(), 3);
    assert!(
        contents[1]["parts"][0]["thoughtSignature"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    assert_eq!(
        contents[2]["parts"][0]["functionResponse"],
        json!({"name": "exec_command", "response": {"content": "Cargo.toml\nsrc\n"}})
    );

    // The same turn with the signature lost (a client that dropped reasoning) is refused.
    let mut stripped = req.clone();
    for m in &mut stripped.messages {
        m.parts.retain(|p| !has_signature(p));
    }
    let body = gemini::encode_request(&stripped, MODEL, &info()).expect("encode");
    let resp = post(&mock, "stream", body, Some(CANARY)).await;
    assert_eq!(resp.status(), 400);
    let err = error_of(resp).await;
    assert_eq!(err.code, ErrorCode::InvalidRequest);
    assert!(err.message.contains("thought_signature"), "{}", err.message);

    // And so is one whose signature was altered.
    let mut altered = req.clone();
    for m in &mut altered.messages {
        for p in &mut m.parts {
            if let Part::Reasoning(r) = p
                && let Some(o) = &mut r.opaque
            {
                o.data = json!({"thoughtSignature": "Zm9yZ2Vk"});
            }
        }
    }
    let body = gemini::encode_request(&altered, MODEL, &info()).expect("encode");
    let err = error_of(post(&mock, "stream", body, Some(CANARY)).await).await;
    assert!(
        err.message.contains("Thought signature is not valid"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn parallel_calls_non_streaming_round_trip() {
    let mock = GeminiMock::start();
    let mut req = codex_request();
    req.stream = false;
    req.reasoning = Some(Effort::Low);
    mock.push(Reply::Calls {
        calls: vec![
            ("exec_command".into(), json!({"cmd": "cat README.md"})),
            ("view_image".into(), json!({"path": "logo.png"})),
            (
                "apply_patch".into(),
                json!({"input": "*** Begin Patch\n*** End Patch\n"}),
            ),
        ],
        signed: true,
        usage: usage(3_000, 0, 60, 0),
    });
    let body = gemini::encode_request(&req, MODEL, &info()).expect("encode");
    let resp = post(&mock, "whole", body, Some(CANARY)).await;
    assert_eq!(resp.status(), 200);
    let turn1 = gemini::decode_response(&resp.bytes().await.expect("body")).expect("decode");
    assert_eq!(turn1.stop, StopReason::ToolUse);
    let calls: Vec<_> = turn1
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 3);
    assert_eq!(
        turn1.usage,
        Usage {
            input: 3_000,
            output: 60,
            ..Usage::default()
        }
    );

    // The client answers in its own order; apply_patch comes back as a custom call.
    let mut echoed = turn1.parts.clone();
    if let Some(Part::ToolCall(c)) = echoed.last_mut() {
        c.kind = ToolKind::Custom;
        c.arguments = "*** Begin Patch\n*** End Patch\n".into();
    }
    req.messages.push(Message {
        role: Role::Assistant,
        parts: echoed,
    });
    for c in calls.iter().rev() {
        req.messages.push(Message {
            role: Role::Tool,
            parts: vec![Part::ToolResult(ToolResult {
                call_id: c.call_id.clone(),
                name: None,
                content: vec![ResultContent::Text(format!("output of {}", c.name))],
                is_error: false,
            })],
        });
    }
    mock.push(Reply::Text {
        text: "All three done.".into(),
        usage: usage(3_200, 0, 5, 0),
    });
    let body = gemini::encode_request(&req, MODEL, &info()).expect("encode");
    let resp = post(&mock, "whole", body, Some(CANARY)).await;
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    let sent = mock.seen()[1].json();
    let names: Vec<&str> = sent["contents"][2]["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .filter_map(|p| p["functionResponse"]["name"].as_str())
        .collect();
    assert_eq!(names, ["exec_command", "view_image", "apply_patch"]);
    assert_eq!(
        sent["contents"][1]["parts"][2]["functionCall"]["args"],
        json!({"input": "*** Begin Patch\n*** End Patch\n"})
    );
}

#[tokio::test]
async fn mock_rejections_map_to_client_errors() {
    let mock = GeminiMock::start();
    let req = codex_request();
    let good = gemini::encode_request(&req, MODEL, &info()).expect("encode");

    // Keys: wrong → 400 API_KEY_INVALID, missing → 403; both are auth errors.
    for key in [Some("AIza-wrong"), None] {
        let err = error_of(post(&mock, "stream", good.clone(), key).await).await;
        assert_eq!(err.code, ErrorCode::Auth, "{key:?}");
        assert!(err.message.contains("GEMINI_API_KEY"));
    }

    // The raw (unsanitised) Codex schemas are refused, naming the keyword.
    let mut raw: Value = serde_json::from_slice(&good).expect("json");
    raw["tools"][0]["functionDeclarations"][0]["parameters"] =
        codex_fixture()["tools"][0]["parameters"].clone();
    let resp = post(&mock, "stream", raw.to_string().into_bytes(), Some(CANARY)).await;
    assert_eq!(resp.status(), 400);
    let err = error_of(resp).await;
    assert_eq!(err.code, ErrorCode::InvalidRequest);
    assert!(
        err.message.contains("additionalProperties"),
        "{}",
        err.message
    );

    // Other schema keywords Gemini rejects.
    for bad in [
        json!({"type": "object", "properties": {"a": {"type": ["string", "null"]}}}),
        json!({"type": "object", "properties": {"a": {"const": "x"}}}),
        json!({"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}]}}}),
        json!({"$schema": "x", "type": "object", "properties": {"a": {"type": "string"}}}),
        json!({"type": "object", "properties": {"a": {"type": "string", "default": "x"}}}),
    ] {
        let mut body: Value = serde_json::from_slice(&good).expect("json");
        body["tools"][0]["functionDeclarations"][0]["parameters"] = bad.clone();
        let resp = post(&mock, "whole", body.to_string().into_bytes(), Some(CANARY)).await;
        assert_eq!(resp.status(), 400, "{bad}");
    }

    // Unknown fields, OpenAI roles, and a function response with no call before it.
    let base: Value = serde_json::from_slice(&good).expect("json");
    let mut with_model = base.clone();
    with_model["model"] = json!(MODEL);
    let mut bad_gen = base.clone();
    bad_gen["generationConfig"]["max_tokens"] = json!(10);
    let mut assistant = base.clone();
    assistant["contents"][0]["role"] = json!("assistant");
    let mut orphan = base.clone();
    orphan["contents"][0]["parts"] =
        json!([{"functionResponse": {"name": "exec_command", "response": {"content": "x"}}}]);
    for (what, body) in [
        ("model", with_model),
        ("max_tokens", bad_gen),
        ("valid role", assistant),
        ("function response turn", orphan),
    ] {
        let resp = post(&mock, "whole", body.to_string().into_bytes(), Some(CANARY)).await;
        assert_eq!(resp.status(), 400, "{what}");
        let err = error_of(resp).await;
        assert!(err.message.contains(what), "{what}: {}", err.message);
    }

    // A scripted 429 with RetryInfo becomes a rate limit with the delay.
    mock.push(Reply::Error {
        status: 429,
        google_status: "RESOURCE_EXHAUSTED".into(),
        message: "Resource has been exhausted (e.g. check quota).".into(),
        retry_secs: Some(17),
    });
    let err = error_of(post(&mock, "stream", good.clone(), Some(CANARY)).await).await;
    assert_eq!(
        (err.code, err.retry_after_secs, err.status),
        (ErrorCode::RateLimit, Some(17), 429)
    );
    assert!(err.message.contains("try again in 17s"));

    // The key never went anywhere but the header.
    for s in mock.seen() {
        assert!(!String::from_utf8_lossy(&s.body).contains(CANARY));
        assert!(s.query.as_deref().is_none_or(|q| !q.contains(CANARY)));
    }
}
