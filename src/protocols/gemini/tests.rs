//! Tests for the Gemini codec, on fixture files under `tests/fixtures/gemini/` (shaped like
//! the documented API) and the real Codex requests under `tests/fixtures/codex/`.

use serde_json::{Value, json};

use super::*;
use crate::canonical::{BlockKind, Effort, Event, Tool};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `data:` payloads of an SSE fixture, framed by the gateway's own SSE framer.
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

fn stream_events(text: &str) -> Vec<Event> {
    let mut dec = StreamDecoder::new();
    let mut events = Vec::new();
    for d in sse_data(text) {
        dec.push(&d, &mut events).expect("chunk");
    }
    dec.end(&mut events);
    events
}

fn encode(req: &Request, model: &str) -> Value {
    let body = encode_request(req, model, &ModelInfo::default()).expect("encode");
    serde_json::from_slice(&body).expect("json")
}

fn msg(role: Role, parts: Vec<Part>) -> Message {
    Message { role, parts }
}

fn text(t: &str) -> Part {
    Part::Text(t.into())
}

fn call(id: &str, name: &str, args: &str) -> Part {
    Part::ToolCall(ToolCall {
        call_id: id.into(),
        name: name.into(),
        arguments: args.into(),
        kind: ToolKind::Function,
    })
}

fn result(id: &str, out: &str) -> Part {
    Part::ToolResult(crate::canonical::ToolResult {
        call_id: id.into(),
        name: None,
        content: vec![ResultContent::Text(out.into())],
        is_error: false,
    })
}

fn sig(s: &str) -> Part {
    Part::Reasoning(signature_reasoning(s.into()))
}

fn roles(body: &Value) -> Vec<String> {
    body["contents"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|t| t["role"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The canonical tools of a Codex request: function tools as they are, the freeform
/// `apply_patch` as a function with one string `input`, hosted tools left out.
fn codex_tools(file: &str) -> Vec<Tool> {
    let v: Value = serde_json::from_str(&fixture(file)).expect("codex fixture");
    let mut tools = Vec::new();
    for t in v["tools"].as_array().into_iter().flatten() {
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
    tools
}

/// Walks a sanitised schema (schema positions only, not property names) and fails on
/// anything Gemini rejects.
fn assert_gemini_schema(s: &Value, at: &str) {
    let Some(m) = s.as_object() else {
        panic!("{at}: schema is not an object: {s}");
    };
    for (k, v) in m {
        assert!(schema::is_kept(k), "{at}: forbidden key `{k}` survived");
        match k.as_str() {
            "type" => assert!(v.is_string(), "{at}: type must be one string: {v}"),
            "enum" => assert!(
                v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
                "{at}: enum must hold strings"
            ),
            "properties" => {
                let props = v.as_object().expect("properties object");
                assert!(!props.is_empty(), "{at}: empty properties");
                for (pk, pv) in props {
                    assert_gemini_schema(pv, &format!("{at}.{pk}"));
                }
            }
            "items" => assert_gemini_schema(v, &format!("{at}[]")),
            "anyOf" => {
                for (i, a) in v.as_array().expect("anyOf array").iter().enumerate() {
                    assert_gemini_schema(a, &format!("{at}|{i}"));
                }
            }
            "required" => {
                for r in v.as_array().expect("required array") {
                    assert!(
                        m.get("properties")
                            .and_then(|p| p.get(r.as_str().unwrap_or("")))
                            .is_some(),
                        "{at}: required `{r}` is not a property"
                    );
                }
            }
            _ => {}
        }
    }
}

#[test]
fn sanitises_every_real_codex_tool_schema() {
    let raw: Value =
        serde_json::from_str(&fixture("codex/request_turn1_gpt55.json")).expect("fixture");
    let mut checked = 0;
    for t in raw["tools"].as_array().into_iter().flatten() {
        let Some(params) = t.get("parameters") else {
            continue;
        };
        let name = t["name"].as_str().unwrap_or("?");
        assert!(
            params.to_string().contains("additionalProperties"),
            "fixture {name} should exercise the sanitiser"
        );
        let clean = schema::sanitize(params);
        assert_gemini_schema(&clean, name);
        assert!(!clean.to_string().contains("additionalProperties"));
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} tool schemas");
    // Structure Codex relies on survives.
    let exec = raw["tools"][0]["parameters"].clone();
    let clean = schema::sanitize(&exec);
    assert_eq!(clean["required"], json!(["cmd"]));
    assert_eq!(
        clean["properties"]["sandbox_permissions"]["enum"],
        json!(["use_default", "require_escalated"])
    );
    // get_goal: no parameters at all.
    let get_goal = raw["tools"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["name"] == "get_goal"))
        .expect("get_goal");
    assert_eq!(
        schema::sanitize(&get_goal["parameters"]),
        json!({"type": "object"})
    );
    // And every tool of the request as encoded.
    let req = Request {
        messages: vec![msg(Role::User, vec![text("hi")])],
        tools: codex_tools("codex/request_turn1_gpt55.json"),
        ..Request::default()
    };
    let body = encode(&req, "gemini-2.5-flash");
    let decls = body["tools"][0]["functionDeclarations"]
        .as_array()
        .expect("declarations");
    assert_eq!(decls.len(), 8);
    for d in decls {
        assert_gemini_schema(&d["parameters"], d["name"].as_str().unwrap_or("?"));
    }
}

#[test]
fn sanitises_a_hostile_mcp_style_schema() {
    let s = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "q": {"type": ["string", "null"], "minLength": 1, "format": "uri"},
            "when": {"type": "string", "format": "date-time", "default": "now"},
            "n": {"type": "number", "exclusiveMaximum": 10, "const": 3},
            "pair": {"type": "array", "prefixItems": [{"type": "string"}], "items": false},
            "obj": {"$ref": "#/definitions/Obj"},
            "any": true
        },
        "definitions": {"Obj": {"type": "object", "additionalProperties": {"type": "string"},
                                "properties": {"k": {"oneOf": [{"const": "a"}, {"const": "b"}]}}}}
    });
    let clean = schema::sanitize(&s);
    assert_gemini_schema(&clean, "mcp");
    assert_eq!(clean["properties"]["when"]["format"], "date-time");
    assert!(clean["properties"]["q"].get("format").is_none());
    assert_eq!(clean["properties"]["q"]["nullable"], true);
    assert_eq!(
        clean["properties"]["obj"]["properties"]["k"]["anyOf"][1],
        json!({"type": "string", "enum": ["b"]})
    );
}

#[test]
fn alternates_roles_and_merges_consecutive_turns() {
    let req = Request {
        messages: vec![
            msg(Role::System, vec![text("You are Codex.")]),
            msg(Role::System, vec![text("Be brief.")]),
            msg(Role::User, vec![text("<environment_context/>")]),
            msg(Role::User, vec![text("hello")]),
            msg(Role::Assistant, vec![text("Hi.")]),
            msg(Role::Assistant, vec![text(""), text("What next?")]),
            // A later system message becomes user text.
            msg(Role::System, vec![text("Mind the sandbox.")]),
            msg(Role::User, vec![text("list files")]),
        ],
        ..Request::default()
    };
    let body = encode(&req, "gemini-2.5-flash");
    assert_eq!(roles(&body), ["user", "model", "user"]);
    assert_eq!(
        body["systemInstruction"],
        json!({"parts": [{"text": "You are Codex."}, {"text": "Be brief."}]})
    );
    assert_eq!(
        body["contents"][0]["parts"],
        json!([{"text": "<environment_context/>"}, {"text": "hello"}])
    );
    assert_eq!(
        body["contents"][1]["parts"],
        json!([{"text": "Hi."}, {"text": "What next?"}])
    );
    assert_eq!(
        body["contents"][2]["parts"],
        json!([{"text": "Mind the sandbox."}, {"text": "list files"}])
    );
    assert!(body.get("model").is_none() && body.get("stream").is_none());
}

#[test]
fn places_function_responses_after_their_calls_in_call_order() {
    let req = Request {
        messages: vec![
            msg(Role::User, vec![text("look around")]),
            msg(
                Role::Assistant,
                vec![Part::Reasoning(Reasoning {
                    text: "openai summary".into(),
                    opaque: Some(Opaque::new("openai", json!({"x": 1}))),
                })],
            ),
            msg(
                Role::Assistant,
                vec![call("c1", "exec_command", r#"{"cmd":"ls"}"#)],
            ),
            msg(
                Role::Assistant,
                vec![call("c2", "view_image", r#"{"path":"a.png"}"#)],
            ),
            // Results out of order, one per tool message, then more user text.
            msg(Role::Tool, vec![result("c2", "<image>")]),
            msg(Role::Tool, vec![result("c1", "a.png\nb.txt")]),
            msg(Role::User, vec![text("and then?")]),
            // A second turn reusing the same call id (ids are ours, not Gemini's).
            msg(
                Role::Assistant,
                vec![call("c1", "exec_command", r#"{"cmd":"pwd"}"#)],
            ),
            msg(Role::Tool, vec![result("c1", "/work")]),
        ],
        ..Request::default()
    };
    let body = encode(&req, "gemini-2.5-flash");
    assert_eq!(roles(&body), ["user", "model", "user", "model", "user"]);
    assert_eq!(
        body["contents"][1]["parts"],
        json!([
            {"functionCall": {"name": "exec_command", "args": {"cmd": "ls"}}},
            {"functionCall": {"name": "view_image", "args": {"path": "a.png"}}}
        ])
    );
    assert_eq!(
        body["contents"][2]["parts"],
        json!([
            {"functionResponse": {"name": "exec_command", "response": {"content": "a.png\nb.txt"}}},
            {"functionResponse": {"name": "view_image", "response": {"content": "<image>"}}},
            {"text": "and then?"}
        ])
    );
    assert_eq!(
        body["contents"][4]["parts"],
        json!([{"functionResponse": {"name": "exec_command", "response": {"content": "/work"}}}])
    );
}

#[test]
fn tool_results_need_a_name_and_images_must_be_inline() {
    let orphan = Request {
        messages: vec![msg(Role::Tool, vec![result("nope", "x")])],
        ..Request::default()
    };
    let err = encode_request(&orphan, "gemini-2.5-flash", &ModelInfo::default());
    assert!(matches!(err, Err(Error::Translate(m)) if m.contains("nope")));

    // A named orphan result (a client that sent the name) is kept in place.
    let mut named = orphan.clone();
    if let Part::ToolResult(r) = &mut named.messages[0].parts[0] {
        r.name = Some("exec_command".into());
    }
    let body = encode(&named, "gemini-2.5-flash");
    assert_eq!(
        body["contents"][0]["parts"][0]["functionResponse"]["name"],
        "exec_command"
    );

    let http = Request {
        messages: vec![msg(
            Role::User,
            vec![Part::Image(Image::Url(
                "https://example.com/cat.png".into(),
            ))],
        )],
        ..Request::default()
    };
    let err = encode_request(&http, "gemini-2.5-flash", &ModelInfo::default());
    assert!(matches!(err, Err(Error::Translate(m)) if m.contains("inline")));

    let data = Request {
        messages: vec![msg(
            Role::User,
            vec![
                Part::Image(Image::Url("data:image/png;base64,iVBORw0K".into())),
                Part::Image(Image::Base64 {
                    media_type: "image/jpeg".into(),
                    data: "/9j/4AAQ".into(),
                }),
            ],
        )],
        ..Request::default()
    };
    assert_eq!(
        encode(&data, "gemini-2.5-flash")["contents"][0]["parts"],
        json!([
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw0K"}},
            {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}}
        ])
    );
}

#[test]
fn custom_and_unparsable_arguments_travel_as_input() {
    let patch = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch\n";
    let req = Request {
        messages: vec![
            msg(Role::User, vec![text("patch it")]),
            msg(
                Role::Assistant,
                vec![
                    Part::ToolCall(ToolCall {
                        call_id: "p1".into(),
                        name: "apply_patch".into(),
                        arguments: patch.into(),
                        kind: ToolKind::Custom,
                    }),
                    call("b1", "exec_command", "{not json"),
                    call("e1", "get_goal", ""),
                ],
            ),
            msg(
                Role::Tool,
                vec![
                    result("p1", "Done!"),
                    result("b1", "?"),
                    result("e1", "none"),
                ],
            ),
        ],
        ..Request::default()
    };
    let body = encode(&req, "gemini-2.5-flash");
    let parts = &body["contents"][1]["parts"];
    assert_eq!(parts[0]["functionCall"]["args"], json!({"input": patch}));
    assert_eq!(
        parts[1]["functionCall"]["args"],
        json!({"input": "{not json"})
    );
    assert_eq!(parts[2]["functionCall"]["args"], json!({}));
}

#[test]
fn thought_signatures_ride_on_the_right_function_call() {
    // The decoded answer, echoed back by a client, re-encodes with the signature in place.
    let r =
        decode_response(fixture("gemini/parallel_calls_response.json").as_bytes()).expect("decode");
    let req = Request {
        messages: vec![
            msg(Role::User, vec![text("read both")]),
            msg(Role::Assistant, r.parts.clone()),
            msg(
                Role::Tool,
                r.parts
                    .iter()
                    .filter_map(|p| match p {
                        Part::ToolCall(c) => Some(result(&c.call_id, "ok")),
                        _ => None,
                    })
                    .collect(),
            ),
        ],
        ..Request::default()
    };
    let body = encode(&req, "gemini-3-pro-preview");
    let parts = body["contents"][1]["parts"].as_array().expect("parts");
    assert_eq!(parts.len(), 3);
    assert_eq!(
        parts[0]["thoughtSignature"],
        "EpYBCpMBAdHtim9zaWduYXR1cmUtZm9yLWZpcnN0LWNhbGw="
    );
    assert_eq!(
        parts[0]["functionCall"]["args"],
        json!({"cmd": "cat README.md"})
    );
    assert!(parts[1].get("thoughtSignature").is_none());
    assert!(parts[2].get("thoughtSignature").is_none());
    let names: Vec<&str> = body["contents"][2]["parts"]
        .as_array()
        .expect("responses")
        .iter()
        .filter_map(|p| p["functionResponse"]["name"].as_str())
        .collect();
    assert_eq!(names, ["exec_command", "exec_command", "view_image"]);

    // Thought text is not sent back, the text before the call carries no signature, and a
    // signature from another provider is dropped.
    let r =
        decode_response(fixture("gemini/thoughts_call_response.json").as_bytes()).expect("decode");
    let mut parts = vec![Part::Reasoning(Reasoning {
        text: "claude thinking".into(),
        opaque: Some(Opaque::new("anthropic", json!({"thoughtSignature": "x"}))),
    })];
    parts.extend(r.parts);
    let req = Request {
        messages: vec![
            msg(Role::User, vec![text("ls")]),
            msg(Role::Assistant, parts),
        ],
        ..Request::default()
    };
    let body = encode(&req, "gemini-3-pro-preview");
    assert_eq!(
        body["contents"][1]["parts"],
        json!([
            {"text": "Let me look."},
            {"functionCall": {"name": "exec_command", "args": {"cmd": "ls -la", "yield_time_ms": 1000}},
             "thoughtSignature": "CiQB0e2Kb3c2+Hl0ZXN0LXNpZ25hdHVyZS1vbmU="}
        ])
    );

    // A signature on a text part goes back on that text; a trailing one on an empty text.
    let r =
        decode_response(fixture("gemini/usage_thoughts_cached.json").as_bytes()).expect("decode");
    let mut parts = r.parts;
    parts.push(sig("trailing=="));
    let req = Request {
        messages: vec![
            msg(Role::User, vec![text("compare")]),
            msg(Role::Assistant, parts),
        ],
        ..Request::default()
    };
    assert_eq!(
        encode(&req, "gemini-2.5-pro")["contents"][1]["parts"],
        json!([
            {"text": "I compared both files; they match.", "thoughtSignature": "Cv4BAdHtim9zaWduYXR1cmUtb24tdGV4dA=="},
            {"text": "", "thoughtSignature": "trailing=="}
        ])
    );
}

#[test]
fn thinking_config_per_model_family() {
    let with = |effort: Effort, model: &str| {
        let req = Request {
            messages: vec![msg(Role::User, vec![text("hi")])],
            reasoning: Some(effort),
            ..Request::default()
        };
        encode(&req, model)["generationConfig"]["thinkingConfig"].clone()
    };
    let level = |l: &str| json!({"thinkingLevel": l, "includeThoughts": true});
    let budget = |b: u64| json!({"thinkingBudget": b, "includeThoughts": true});
    assert_eq!(with(Effort::None, "gemini-3-pro-preview"), level("low"));
    assert_eq!(with(Effort::Minimal, "gemini-3-flash"), level("low"));
    assert_eq!(
        with(Effort::Low, "models/gemini-3-pro-preview"),
        level("low")
    );
    assert_eq!(with(Effort::Medium, "gemini-3-pro-preview"), level("high"));
    assert_eq!(with(Effort::XHigh, "gemini-3.1-pro"), level("high"));
    assert_eq!(with(Effort::Medium, "gemini-2.5-flash"), budget(8192));
    assert_eq!(with(Effort::None, "gemini-2.5-flash"), budget(0));
    assert_eq!(with(Effort::XHigh, "gemini-2.5-flash"), budget(24_576));
    assert_eq!(with(Effort::None, "gemini-2.5-pro"), budget(128));
    assert_eq!(with(Effort::High, "gemini-2.5-pro"), budget(16_384));
    let none = Request {
        messages: vec![msg(Role::User, vec![text("hi")])],
        ..Request::default()
    };
    assert!(
        encode(&none, "gemini-2.5-flash")
            .get("generationConfig")
            .is_none()
    );
}

#[test]
fn generation_and_tool_config() {
    let mut req = Request {
        messages: vec![msg(Role::User, vec![text("hi")])],
        tools: codex_tools("codex/request_turn1_gpt55.json"),
        tool_choice: Some(ToolChoice::Named("exec_command".into())),
        max_output_tokens: Some(200_000),
        temperature: Some(0.2),
        top_p: Some(0.9),
        stop: vec!["END".into()],
        output_format: Some(OutputFormat::JsonSchema {
            name: "answer".into(),
            schema: json!({"type": "object", "additionalProperties": false,
                           "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}),
            strict: true,
        }),
        ..Request::default()
    };
    let info = ModelInfo {
        context_window: Some(1_048_576),
        max_output: Some(65_536),
    };
    let body: Value =
        serde_json::from_slice(&encode_request(&req, "gemini-2.5-pro", &info).expect("encode"))
            .expect("json");
    assert_eq!(
        body["generationConfig"],
        json!({"maxOutputTokens": 65_536, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"],
               "responseMimeType": "application/json",
               "responseSchema": {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}})
    );
    assert_eq!(
        body["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["exec_command"]}})
    );
    for (choice, mode) in [
        (ToolChoice::Auto, "AUTO"),
        (ToolChoice::None, "NONE"),
        (ToolChoice::Required, "ANY"),
    ] {
        req.tool_choice = Some(choice);
        assert_eq!(
            encode(&req, "gemini-2.5-pro")["toolConfig"],
            json!({"functionCallingConfig": {"mode": mode}})
        );
    }
    req.tool_choice = Some(ToolChoice::Named("missing".into()));
    assert!(matches!(
        encode_request(&req, "gemini-2.5-pro", &info),
        Err(Error::Translate(_))
    ));
    req.output_format = Some(OutputFormat::JsonObject);
    req.tool_choice = None;
    let body = encode(&req, "gemini-2.5-pro");
    assert_eq!(
        body["generationConfig"]["responseMimeType"],
        "application/json"
    );
    assert!(body["generationConfig"].get("responseSchema").is_none());
    assert!(body.get("toolConfig").is_none());
}

#[test]
fn decodes_usage_with_thoughts_and_cache() {
    let r =
        decode_response(fixture("gemini/usage_thoughts_cached.json").as_bytes()).expect("decode");
    assert_eq!(
        r.usage,
        Usage {
            input: 12_030,
            cached_input: 8_000,
            cache_write: 0,
            output: 570,
            reasoning: 420,
        }
    );
    assert_eq!(r.model.as_deref(), Some("gemini-2.5-pro"));
    assert_eq!(r.id.as_deref(), Some("9rEtaOaXLOGoz7IP57u2wQ8"));
    assert_eq!(r.stop, StopReason::EndTurn);
    assert_eq!(
        r.parts,
        vec![
            // A signed text part keeps its text whole; the signature follows it.
            text("I compared both files; they match."),
            Part::Reasoning(Reasoning {
                text: String::new(),
                opaque: Some(Opaque::new(
                    "gemini",
                    json!({"thoughtSignature": "Cv4BAdHtim9zaWduYXR1cmUtb24tdGV4dA==", "after": true})
                )),
            }),
        ]
    );
}

#[test]
fn decodes_thoughts_and_parallel_calls_with_stable_unique_ids() {
    let body = fixture("gemini/parallel_calls_response.json");
    let r = decode_response(body.as_bytes()).expect("decode");
    assert_eq!(r.stop, StopReason::ToolUse);
    assert!(
        matches!(&r.parts[0], Part::Reasoning(rz) if rz.text.is_empty()
        && rz.opaque == Some(Opaque::new("gemini", json!({"thoughtSignature": "EpYBCpMBAdHtim9zaWduYXR1cmUtZm9yLWZpcnN0LWNhbGw="}))))
    );
    let calls: Vec<&ToolCall> = r
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0].arguments, r#"{"cmd":"cat README.md"}"#);
    assert!(calls.iter().all(|c| c.call_id.starts_with("call_")));
    let mut ids: Vec<&str> = calls.iter().map(|c| c.call_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    assert_eq!(decode_response(body.as_bytes()).expect("again"), r);
    // Another response with the same calls gets other ids.
    let other = body.replace("cLctaKGyN9Cgz7IPg6mWyQ0", "another-response");
    let r2 = decode_response(other.as_bytes()).expect("decode");
    assert_ne!(r2.parts[1], r.parts[1]);

    let r =
        decode_response(fixture("gemini/thoughts_call_response.json").as_bytes()).expect("decode");
    assert!(matches!(&r.parts[0], Part::Reasoning(rz)
        if rz.text.starts_with("**Listing") && rz.opaque.is_none()));
    assert_eq!(r.parts[1], text("Let me look."));
    assert!(matches!(&r.parts[2], Part::Reasoning(rz) if rz.opaque.is_some()));
    assert!(matches!(&r.parts[3], Part::ToolCall(c) if c.name == "exec_command"));
}

#[test]
fn finish_reasons_and_blocked_prompts() {
    let r = decode_response(fixture("gemini/blocked_prompt.json").as_bytes()).expect("decode");
    assert_eq!(r.stop, StopReason::ContentFilter);
    assert!(r.parts.is_empty());
    assert_eq!(r.usage.input, 8);
    let with = |reason: &str| {
        let body = json!({"candidates": [{"content": {"parts": [{"text": "x"}], "role": "model"},
                          "finishReason": reason}]});
        decode_response(body.to_string().as_bytes())
            .expect("decode")
            .stop
    };
    assert_eq!(with("STOP"), StopReason::EndTurn);
    assert_eq!(with("MAX_TOKENS"), StopReason::MaxTokens);
    for f in [
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
    ] {
        assert_eq!(with(f), StopReason::ContentFilter, "{f}");
    }
    assert_eq!(
        with("MALFORMED_FUNCTION_CALL"),
        StopReason::Other("MALFORMED_FUNCTION_CALL".into())
    );
    // The stream path agrees.
    let events = stream_events(&format!(
        "data: {}\n\n",
        fixture("gemini/blocked_prompt.json").replace('\n', "")
    ));
    let r = Response::from_events(&events).expect("events");
    assert_eq!(r.stop, StopReason::ContentFilter);
}

#[test]
fn stream_decodes_to_the_same_response_as_the_whole_json() {
    for (sse, whole) in [
        ("gemini/text_stream.sse", "gemini/text_response.json"),
        (
            "gemini/thoughts_call_stream.sse",
            "gemini/thoughts_call_response.json",
        ),
    ] {
        let events = stream_events(&fixture(sse));
        let streamed = Response::from_events(&events).expect("events");
        let whole = decode_response(fixture(whole).as_bytes()).expect("decode");
        assert_eq!(streamed, whole, "{sse}");
        // Block discipline: starts and stops pair up, deltas only inside their block.
        let mut open = std::collections::BTreeSet::new();
        for ev in &events {
            match ev {
                Event::BlockStart { index, .. } => assert!(open.insert(*index)),
                Event::Delta { index, .. } => assert!(open.contains(index)),
                Event::BlockStop { index } => assert!(open.remove(index)),
                _ => {}
            }
        }
        assert!(open.is_empty());
        assert!(matches!(events.last(), Some(Event::Stop(_))));
    }
    // The text stream: one text block fed by three deltas; usage replaced at the end.
    let events = stream_events(&fixture("gemini/text_stream.sse"));
    let deltas = events
        .iter()
        .filter(|e| matches!(e, Event::Delta { index: 0, .. }))
        .count();
    assert_eq!(deltas, 3);
    assert_eq!(
        events.first(),
        Some(&Event::Start {
            id: Some("mAitaNe9Ks2lz7IPxeGTqAE".into()),
            model: Some("gemini-2.5-flash".into())
        })
    );
    // Thoughts then call: reasoning block, text block, signature block, call block.
    let events = stream_events(&fixture("gemini/thoughts_call_stream.sse"));
    let kinds: Vec<&BlockKind> = events
        .iter()
        .filter_map(|e| match e {
            Event::BlockStart { kind, .. } => Some(kind),
            _ => None,
        })
        .collect();
    assert!(matches!(
        kinds.as_slice(),
        [
            BlockKind::Reasoning,
            BlockKind::Text,
            BlockKind::Reasoning,
            BlockKind::ToolCall { .. }
        ]
    ));
    let r = Response::from_events(&events).expect("events");
    assert_eq!(r.stop, StopReason::ToolUse);
    assert_eq!(
        r.usage,
        Usage {
            input: 4512,
            cached_input: 4096,
            cache_write: 0,
            output: 189,
            reasoning: 158
        }
    );
}

#[test]
fn stream_errors_and_truncation() {
    let events = stream_events(&fixture("gemini/stream_error.sse"));
    let Some(Event::Error(e)) = events.last() else {
        panic!("no error: {events:?}");
    };
    assert_eq!(e.code, ErrorCode::ServerError);
    assert!(e.message.contains("overloaded"));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::Error(_)))
            .count(),
        1
    );

    // Cut before the last chunk: no finishReason, so the end is an error.
    let text = fixture("gemini/text_stream.sse");
    let cut: Vec<&str> = text.split("\n\n").take(2).collect();
    let events = stream_events(&cut.join("\n\n"));
    let Some(Event::Error(e)) = events.last() else {
        panic!("no error: {events:?}");
    };
    assert_eq!(e.code, ErrorCode::ServerError);
    assert!(e.message.contains("finishReason"));
    assert!(Response::from_events(&events).is_err());

    let mut dec = StreamDecoder::new();
    let mut out = Vec::new();
    assert!(matches!(
        dec.push("{not json", &mut out),
        Err(Error::UpstreamFormat(_))
    ));
    assert!(dec.push("", &mut out).is_ok());
    assert!(dec.push(r#"{"candidates": 5}"#, &mut out).is_err());
    dec.push(r#"{"candidates": [{}]}"#, &mut out)
        .expect("empty candidate");
    let _ = dec.push(r#"[1, 2]"#, &mut out);
    dec.end(&mut out);
    dec.end(&mut out);
    assert_eq!(
        out.iter().filter(|e| matches!(e, Event::Error(_))).count(),
        1
    );
}

#[test]
fn decode_response_rejects_what_is_not_a_response() {
    for body in [
        &b""[..],
        b"<html>",
        b"42",
        br#"{"candidates": "x"}"#,
        br#"{}"#,
    ] {
        assert!(
            matches!(decode_response(body), Err(Error::UpstreamFormat(_))),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    let err = decode_response(fixture("gemini/error_503.json").as_bytes());
    assert!(matches!(err, Err(Error::UpstreamFormat(m)) if m.contains("overloaded")));
    // The JSON-array form of streamGenerateContent.
    let chunks: Vec<Value> = sse_data(&fixture("gemini/text_stream.sse"))
        .iter()
        .map(|d| serde_json::from_str(d).expect("chunk"))
        .collect();
    let r = decode_response(Value::Array(chunks).to_string().as_bytes()).expect("array");
    assert_eq!(
        r,
        decode_response(fixture("gemini/text_response.json").as_bytes()).expect("whole")
    );
}

#[test]
fn maps_google_errors() {
    let e = decode_error(429, None, fixture("gemini/error_429_retry.json").as_bytes());
    assert_eq!(e.code, ErrorCode::RateLimit);
    assert_eq!(e.retry_after_secs, Some(12));
    assert!(e.message.contains("try again in 12s"), "{}", e.message);
    assert_eq!(e.status, 429);
    // Retry-After wins over RetryInfo.
    let e = decode_error(
        429,
        Some(3),
        fixture("gemini/error_429_retry.json").as_bytes(),
    );
    assert_eq!(e.retry_after_secs, Some(3));

    let e = decode_error(
        400,
        None,
        fixture("gemini/error_400_context.json").as_bytes(),
    );
    assert_eq!(e.code, ErrorCode::ContextLengthExceeded);

    for (status, file) in [
        (400, "gemini/error_400_api_key.json"),
        (403, "gemini/error_403_permission.json"),
    ] {
        let e = decode_error(status, None, fixture(file).as_bytes());
        assert_eq!(e.code, ErrorCode::Auth, "{file}");
        assert!(e.message.contains("gemini"));
        assert!(e.message.contains("GEMINI_API_KEY") && e.message.contains("GOOGLE_API_KEY"));
    }
    let e = decode_error(401, None, br#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#);
    assert_eq!(e.code, ErrorCode::Auth);

    let e = decode_error(503, None, fixture("gemini/error_503.json").as_bytes());
    assert_eq!((e.code, e.status), (ErrorCode::ServerError, 503));
    let e = decode_error(500, None, br#"{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}"#);
    assert_eq!(e.code, ErrorCode::ServerError);

    let e = decode_error(
        400,
        None,
        fixture("gemini/error_400_schema.json").as_bytes(),
    );
    assert_eq!(e.code, ErrorCode::InvalidRequest);
    assert!(e.message.contains("additionalProperties"));
    let e = decode_error(
        404,
        None,
        br#"{"error":{"code":404,"message":"models/gemini-9 is not found","status":"NOT_FOUND"}}"#,
    );
    assert_eq!((e.code, e.status), (ErrorCode::InvalidRequest, 404));

    // Bodies that are not Google's error JSON never panic.
    for body in [
        &b""[..],
        b"<html>502 Bad Gateway</html>",
        b"\xff\xfe\x00",
        b"[]",
        b"{\"error\": 7}",
        b"null",
    ] {
        let e = decode_error(502, None, body);
        assert_eq!(e.code, ErrorCode::ServerError);
        assert_eq!(e.status, 502);
    }
    let e = decode_error(429, Some(7), b"Too Many Requests");
    assert_eq!(
        (e.code, e.retry_after_secs),
        (ErrorCode::RateLimit, Some(7))
    );
    let e = decode_error(
        429,
        None,
        br#"[{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.2s"}]}}]"#,
    );
    assert_eq!(e.retry_after_secs, Some(2));
}

#[test]
fn a_text_signature_goes_back_on_the_text_it_came_with() {
    let after = Part::Reasoning(Reasoning {
        text: String::new(),
        opaque: Some(Opaque::new(
            "gemini",
            json!({"thoughtSignature": "sig-text", "after": true}),
        )),
    });
    let req = Request {
        messages: vec![
            msg(Role::User, vec![text("hi")]),
            msg(Role::Assistant, vec![text("hello"), after]),
            msg(Role::User, vec![text("again")]),
        ],
        ..Request::default()
    };
    let body = encode(&req, "gemini-3-pro-preview");
    let model_parts = &body["contents"][1]["parts"];
    assert_eq!(model_parts.as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(
        model_parts[0],
        json!({"text": "hello", "thoughtSignature": "sig-text"})
    );
}
