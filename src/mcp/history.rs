//! Keeping the gateway's tool exchanges in a stateless client's history. Codex resends the whole
//! conversation on every request and knows nothing of the calls the gateway ran, so each
//! exchange is handed to it inside an opaque reasoning item (echoed back verbatim) and expanded
//! into real call and result messages before the next request goes upstream.

use serde::{Deserialize, Serialize};

use crate::canonical::{
    Message, Opaque, Part, Request, ResultContent, Role, ToolCall, ToolKind, ToolResult,
};

/// The opaque provider tag of a carried exchange.
pub const CARRY_PROVIDER: &str = "bifrost-mcp";

#[derive(Serialize, Deserialize)]
struct Carried {
    v: u32,
    calls: Vec<CarriedCall>,
}

#[derive(Serialize, Deserialize)]
struct CarriedCall {
    id: String,
    name: String,
    args: String,
    result: String,
    error: bool,
}

/// Encodes one round of injected calls and their results.
pub fn carry(calls: &[(ToolCall, ToolResult)]) -> Opaque {
    let c = Carried {
        v: 1,
        calls: calls
            .iter()
            .map(|(call, result)| CarriedCall {
                id: call.call_id.clone(),
                name: call.name.clone(),
                args: call.arguments.clone(),
                result: result
                    .content
                    .iter()
                    .map(|c| match c {
                        ResultContent::Text(t) => t.clone(),
                        ResultContent::Image(_) => "[image]".to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
                error: result.is_error,
            })
            .collect(),
    };
    Opaque::new(CARRY_PROVIDER, serde_json::to_value(c).unwrap_or_default())
}

fn decode(o: &Opaque) -> Option<Carried> {
    if o.provider != CARRY_PROVIDER {
        return None;
    }
    serde_json::from_value(o.data.clone()).ok()
}

/// Replaces every carried exchange in the history with the real assistant tool calls and the
/// tool results that followed them.
pub fn expand_history(req: &mut Request) {
    let has_carry = req.messages.iter().flat_map(|m| &m.parts).any(|p| {
        matches!(p, Part::Reasoning(r) if r.opaque.as_ref().is_some_and(|o| o.provider == CARRY_PROVIDER))
    });
    if !has_carry {
        return;
    }
    let mut out: Vec<Message> = Vec::with_capacity(req.messages.len() + 4);
    for m in std::mem::take(&mut req.messages) {
        if m.role != Role::Assistant {
            out.push(m);
            continue;
        }
        let mut current = Vec::new();
        for p in m.parts {
            let carried = match &p {
                Part::Reasoning(r) => r.opaque.as_ref().and_then(decode),
                _ => None,
            };
            let Some(c) = carried else {
                current.push(p);
                continue;
            };
            for call in &c.calls {
                current.push(Part::ToolCall(ToolCall {
                    call_id: call.id.clone(),
                    name: call.name.clone(),
                    arguments: call.args.clone(),
                    kind: ToolKind::Function,
                }));
            }
            out.push(Message {
                role: Role::Assistant,
                parts: std::mem::take(&mut current),
            });
            out.push(Message {
                role: Role::Tool,
                parts: c
                    .calls
                    .iter()
                    .map(|call| {
                        Part::ToolResult(ToolResult {
                            call_id: call.id.clone(),
                            name: Some(call.name.clone()),
                            content: vec![ResultContent::Text(call.result.clone())],
                            is_error: call.error,
                        })
                    })
                    .collect(),
            });
        }
        if !current.is_empty() {
            out.push(Message {
                role: Role::Assistant,
                parts: current,
            });
        }
    }
    req.messages = out;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::Reasoning;

    #[test]
    fn a_carried_exchange_expands_into_calls_and_results_in_place() {
        let call = ToolCall {
            call_id: "c1".into(),
            name: "fs__read_file".into(),
            arguments: "{\"path\":\"a\"}".into(),
            kind: ToolKind::Function,
        };
        let result = ToolResult {
            call_id: "c1".into(),
            name: None,
            content: vec![ResultContent::Text("TOKEN".into())],
            is_error: false,
        };
        let carried = Part::Reasoning(Reasoning {
            text: String::new(),
            opaque: Some(carry(&[(call.clone(), result)])),
        });
        // What Codex echoes: its text, the carry, then the final text.
        let encoded = carried.clone();
        let mut req = Request {
            messages: vec![
                Message {
                    role: Role::User,
                    parts: vec![Part::Text("read a".into())],
                },
                Message {
                    role: Role::Assistant,
                    parts: vec![
                        Part::Text("Let me look.".into()),
                        encoded,
                        Part::Text("It says TOKEN.".into()),
                    ],
                },
                Message {
                    role: Role::User,
                    parts: vec![Part::Text("thanks".into())],
                },
            ],
            ..Request::default()
        };
        expand_history(&mut req);
        let roles: Vec<Role> = req.messages.iter().map(|m| m.role).collect();
        assert_eq!(
            roles,
            [
                Role::User,
                Role::Assistant,
                Role::Tool,
                Role::Assistant,
                Role::User
            ]
        );
        assert!(matches!(&req.messages[1].parts[1], Part::ToolCall(c) if c == &call));
        assert!(
            matches!(&req.messages[2].parts[0], Part::ToolResult(r) if r.call_id == "c1" && r.content == vec![ResultContent::Text("TOKEN".into())])
        );
        assert!(matches!(&req.messages[3].parts[0], Part::Text(t) if t == "It says TOKEN."));
        // Survives the bifrost.v1 string encoding Codex carries.
        if let Part::Reasoning(r) = &carried {
            let s = r.opaque.as_ref().map(Opaque::encode).unwrap_or_default();
            assert_eq!(
                Opaque::decode(&s).map(|o| o.provider),
                Some(CARRY_PROVIDER.to_string())
            );
        }
    }
}
