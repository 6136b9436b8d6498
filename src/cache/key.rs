//! What makes two requests "the same" for the exact-match cache: the route, the resolved
//! provider and model, and the body with volatile fields removed, serialised with sorted
//! object keys and hashed with SHA-256. Also what counts as agent traffic. Pure functions.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Top-level fields that do not change the answer: who asks, bookkeeping, provider-side
/// caching and storage hints, and bifrost's own `fallbacks`.
pub const VOLATILE: &[&str] = &[
    "user",
    "metadata",
    "prompt_cache_key",
    "prompt_cache_retention",
    "store",
    "service_tier",
    "client_metadata",
    "safety_identifier",
    "fallbacks",
];

/// Item types that mark a request as agent traffic (tool calls, their results, tools).
const TOOL_TYPES: &[&str] = &[
    "function_call",
    "function_call_output",
    "custom_tool_call",
    "custom_tool_call_output",
    "additional_tools",
    "local_shell_call",
    "local_shell_call_output",
    "mcp_call",
    "tool_use",
    "tool_result",
];

/// The cache key: hex SHA-256 over a version tag, the route, `provider/model` as resolved,
/// and the normalised body.
pub fn key(route: &str, provider: &str, upstream_model: &str, body: &Value) -> String {
    let mut h = Sha256::new();
    h.update(b"bifrost-cache-v1\n");
    h.update(route.as_bytes());
    h.update(b"\n");
    h.update(provider.as_bytes());
    h.update(b"/");
    h.update(upstream_model.as_bytes());
    h.update(b"\n");
    let mut canon = Vec::new();
    canonical(&normalise(body), &mut canon);
    h.update(&canon);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The body without volatile fields; Responses `input` items lose their client-made `id`s.
pub fn normalise(body: &Value) -> Value {
    let mut v = body.clone();
    if let Some(obj) = v.as_object_mut() {
        for f in VOLATILE {
            obj.remove(*f);
        }
        if let Some(Value::Array(items)) = obj.get_mut("input") {
            for item in items {
                if let Some(o) = item.as_object_mut() {
                    o.remove("id");
                }
            }
        }
    }
    v
}

/// JSON with object keys sorted at every level, whatever map order serde_json was built with.
pub fn canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                crate::json_text::write_str(out, k);
                out.push(b':');
                if let Some(x) = map.get(k) {
                    canonical(x, out);
                }
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(x, out);
            }
            out.push(b']');
        }
        other => crate::json_text::write_value(out, other),
    }
}

/// Whether a request is agent traffic: it declares tools, or its conversation carries tool
/// calls or tool results (every Codex request does).
pub fn is_agent(body: &Value) -> bool {
    let nonempty = |k: &str| {
        body.get(k)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    };
    if nonempty("tools") || nonempty("functions") {
        return true;
    }
    ["input", "messages"]
        .iter()
        .filter_map(|k| body.get(*k))
        .any(has_tool_items)
}

fn has_tool_items(v: &Value) -> bool {
    match v {
        Value::Array(items) => items.iter().any(has_tool_items),
        Value::Object(o) => {
            let ty = o.get("type").and_then(Value::as_str);
            if ty.is_some_and(|t| TOOL_TYPES.contains(&t)) {
                return true;
            }
            if matches!(
                o.get("role").and_then(Value::as_str),
                Some("tool" | "function")
            ) {
                return true;
            }
            if o.get("tool_calls")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
            {
                return true;
            }
            o.get("content").is_some_and(has_tool_items)
        }
        _ => false,
    }
}

/// Whether a finished response is complete and successful, so it may be stored: a JSON
/// document without `error`, or a stream whose last event is its protocol's terminal
/// success event (`response.completed`, `[DONE]`, `message_stop`) and that carries no error.
pub fn complete(content_type: &str, body: &[u8]) -> bool {
    if content_type.starts_with("text/event-stream") {
        if memchr::memmem::find(body, b"\"response.failed\"").is_some()
            || memchr::memmem::find(body, b"data: {\"error\"").is_some()
            || memchr::memmem::find(body, b"event: error").is_some()
        {
            return false;
        }
        let text = String::from_utf8_lossy(body);
        let last = text
            .split("\n\n")
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .last()
            .unwrap_or("");
        let data: String = last
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim_start)
            .collect();
        if data.trim() == "[DONE]" {
            return true;
        }
        return serde_json::from_str::<Value>(&data).is_ok_and(|v| {
            matches!(
                v.get("type").and_then(Value::as_str),
                Some("response.completed" | "message_stop")
            )
        });
    }
    serde_json::from_slice::<Value>(body)
        .is_ok_and(|v| v.is_object() && v.get("error").is_none_or(Value::is_null))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn volatile_fields_and_key_order_do_not_change_the_key() {
        let a = json!({"model": "m", "input": [{"id": "msg_1", "role": "user", "content": "hi"}],
                       "user": "alice", "metadata": {"x": 1}, "store": false, "prompt_cache_key": "p"});
        let b: Value = serde_json::from_str(
            r#"{"input":[{"content":"hi","role":"user","id":"msg_2"}],"model":"m","user":"bob"}"#,
        )
        .unwrap_or_default();
        assert_eq!(
            key("/responses", "openai", "m", &a),
            key("/responses", "openai", "m", &b)
        );
        let c = json!({"model": "m", "input": [{"role": "user", "content": "hi!"}]});
        assert_ne!(
            key("/responses", "openai", "m", &a),
            key("/responses", "openai", "m", &c)
        );
        assert_ne!(
            key("/responses", "openai", "m", &a),
            key("/responses", "openai", "m2", &a)
        );
        assert_ne!(
            key("/responses", "openai", "m", &a),
            key("/chat/completions", "openai", "m", &a)
        );
        let s = json!({"model": "m", "input": [{"role": "user", "content": "hi"}], "stream": true});
        assert_ne!(
            key("/responses", "openai", "m", &a),
            key("/responses", "openai", "m", &s)
        );
    }

    #[test]
    fn canonical_sorts_keys_at_every_level() {
        let mut out = Vec::new();
        canonical(
            &json!({"b": {"d": 1, "c": [{"f": 2, "e": "x"}]}, "a": null, "q\"k": "t\t\u{1}é"}),
            &mut out,
        );
        // Escapes are pinned too: a stored entry's key must not change between versions.
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"{"a":null,"b":{"c":[{"e":"x","f":2}],"d":1},"q\"k":"t\t\u0001é"}"#
        );
    }

    #[test]
    fn agent_traffic_is_recognised() {
        assert!(!is_agent(&json!({"model": "m", "input": "hi"})));
        assert!(!is_agent(
            &json!({"model": "m", "tools": [], "messages": [{"role": "user", "content": "hi"}]})
        ));
        assert!(is_agent(
            &json!({"model": "m", "tools": [{"type": "function", "name": "f"}]})
        ));
        assert!(is_agent(
            &json!({"input": [{"type": "function_call_output", "call_id": "c", "output": "x"}]})
        ));
        assert!(is_agent(
            &json!({"messages": [{"role": "tool", "content": "x"}]})
        ));
        assert!(is_agent(
            &json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "1"}]}]})
        ));
        assert!(is_agent(
            &json!({"messages": [{"role": "user", "content": [{"type": "tool_result"}]}]})
        ));
    }

    #[test]
    fn only_complete_successes_are_stored() {
        let sse = "text/event-stream";
        assert!(complete(sse, b"data: {\"type\":\"response.created\"}\n\ndata: {\"type\":\"response.completed\",\"response\":{}}\n\n"));
        assert!(!complete(sse, b"data: {\"type\":\"response.created\"}\n\n"));
        assert!(!complete(
            sse,
            b"data: {\"type\":\"response.failed\",\"response\":{}}\n\n"
        ));
        assert!(complete(sse, b"data: {\"choices\":[]}\n\ndata: [DONE]\n\n"));
        assert!(!complete(sse, b"data: {\"error\":{}}\n\ndata: [DONE]\n\n"));
        assert!(complete(
            sse,
            b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        ));
        assert!(complete("application/json", br#"{"id":"r","output":[]}"#));
        assert!(!complete(
            "application/json",
            br#"{"error":{"message":"x"}}"#
        ));
        assert!(!complete("application/json", b"{\"id\":"));
    }
}
