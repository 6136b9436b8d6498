//! A whitelist JSON-Schema sanitiser for Gemini, which rejects with a 400 any schema keyword
//! outside its OpenAPI subset (`$schema`, `additionalProperties`, `const`, `oneOf`, ...).
//!
//! Only the keys Gemini's `Schema` accepts survive. What can be expressed another way is
//! rewritten (`const` → one-value `enum`, `type: [X, "null"]` → `nullable`, `oneOf` → `anyOf`,
//! simple `$ref`s inlined, `allOf` merged); everything else is dropped.

use serde_json::{Map, Value, json};

/// The schema keys Gemini accepts.
const KEEP: &[&str] = &[
    "type",
    "format",
    "description",
    "nullable",
    "enum",
    "items",
    "properties",
    "required",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "anyOf",
    "propertyOrdering",
    "title",
];

/// String formats Gemini accepts; any other is dropped.
const FORMATS: &[&str] = &["enum", "date-time", "int32", "int64", "float", "double"];

/// The types Gemini knows.
const TYPES: &[&str] = &["string", "number", "integer", "boolean", "array", "object"];

/// Deeper than this, a schema is cut (and `$ref` cycles end).
const MAX_DEPTH: usize = 24;

/// Returns a copy of `schema` holding only what Gemini accepts. Never fails: an unusable
/// schema becomes `{}` (or `{"type": "object"}` at the top).
pub fn sanitize(schema: &Value) -> Value {
    let defs = collect_defs(schema);
    let mut refs = Vec::new();
    let out = clean(schema, &defs, &mut refs, 0);
    match out {
        Value::Object(m) if !m.is_empty() => Value::Object(m),
        _ => json!({"type": "object"}),
    }
}

/// `$defs` and `definitions` of the root, for `#/$defs/Name` references.
fn collect_defs(root: &Value) -> Map<String, Value> {
    let mut defs = Map::new();
    for key in ["definitions", "$defs"] {
        if let Some(Value::Object(m)) = root.get(key) {
            for (k, v) in m {
                defs.insert(format!("#/{key}/{k}"), v.clone());
            }
        }
    }
    defs
}

fn clean(v: &Value, defs: &Map<String, Value>, refs: &mut Vec<String>, depth: usize) -> Value {
    let Value::Object(src) = v else {
        // `true` (anything) and other non-object schemas: no constraint.
        return Value::Object(Map::new());
    };
    if depth > MAX_DEPTH {
        return Value::Object(Map::new());
    }
    // Inline a resolvable, non-recursive `$ref`; sibling keys win over the target's.
    let mut base: Map<String, Value> = Map::new();
    if let Some(r) = src.get("$ref").and_then(Value::as_str)
        && !refs.iter().any(|x| x == r)
        && let Some(target) = defs.get(r)
    {
        refs.push(r.to_string());
        if let Value::Object(m) = clean(target, defs, refs, depth + 1) {
            base = m;
        }
        refs.pop();
    }

    let mut out = Map::new();
    let mut nullable = false;

    // type: a string, or a list that may hold "null".
    match src.get("type") {
        Some(Value::String(t)) if t == "null" => nullable = true,
        Some(Value::String(t)) if TYPES.contains(&t.as_str()) => {
            out.insert("type".into(), json!(t));
        }
        Some(Value::Array(ts)) => {
            let mut kinds: Vec<&str> = Vec::new();
            for t in ts.iter().filter_map(Value::as_str) {
                if t == "null" {
                    nullable = true;
                } else if TYPES.contains(&t) && !kinds.contains(&t) {
                    kinds.push(t);
                }
            }
            match kinds.as_slice() {
                [] => {}
                [one] => {
                    out.insert("type".into(), json!(one));
                }
                many => {
                    let alts: Vec<Value> = many.iter().map(|t| json!({"type": t})).collect();
                    out.insert("anyOf".into(), Value::Array(alts));
                }
            }
        }
        _ => {}
    }

    for key in ["description", "title", "pattern"] {
        if let Some(Value::String(s)) = src.get(key) {
            out.insert(key.into(), json!(s));
        }
    }
    if let Some(Value::String(f)) = src.get("format")
        && FORMATS.contains(&f.as_str())
    {
        out.insert("format".into(), json!(f));
    }
    if src.get("nullable") == Some(&Value::Bool(true)) {
        nullable = true;
    }
    for key in [
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
    ] {
        if let Some(n @ Value::Number(_)) = src.get(key) {
            out.insert(key.into(), n.clone());
        }
    }

    // enum / const: Gemini's enum holds strings only.
    let values: Option<Vec<Value>> = match (src.get("enum"), src.get("const")) {
        (Some(Value::Array(vals)), _) => Some(vals.clone()),
        (None, Some(c)) => Some(vec![c.clone()]),
        _ => None,
    };
    if let Some(values) = values {
        if values.iter().any(Value::is_null) {
            nullable = true;
        }
        let strings: Vec<&Value> = values.iter().filter(|v| !v.is_null()).collect();
        if !strings.is_empty() && strings.iter().all(|v| v.is_string()) {
            out.insert(
                "enum".into(),
                Value::Array(strings.into_iter().cloned().collect()),
            );
            out.entry("type").or_insert_with(|| json!("string"));
        }
    }

    // items: a schema, or a (draft 4) tuple of schemas whose first one stands for all.
    match src.get("items") {
        Some(i @ Value::Object(_)) => {
            out.insert("items".into(), clean(i, defs, refs, depth + 1));
        }
        Some(Value::Array(tuple)) => {
            if let Some(first) = tuple.first() {
                out.insert("items".into(), clean(first, defs, refs, depth + 1));
            }
        }
        _ => {
            if let Some(Value::Array(tuple)) = src.get("prefixItems")
                && let Some(first) = tuple.first()
            {
                out.insert("items".into(), clean(first, defs, refs, depth + 1));
            }
        }
    }
    // Gemini requires `items` on arrays.
    if out.get("type").and_then(Value::as_str) == Some("array") && !out.contains_key("items") {
        out.insert("items".into(), json!({"type": "string"}));
    }

    // properties, required (only names that exist), propertyOrdering (likewise).
    let mut names: Vec<String> = Vec::new();
    if let Some(Value::Object(props)) = src.get("properties")
        && !props.is_empty()
    {
        let mut cleaned = Map::new();
        for (k, p) in props {
            cleaned.insert(k.clone(), clean(p, defs, refs, depth + 1));
            names.push(k.clone());
        }
        out.insert("properties".into(), Value::Object(cleaned));
    }
    for key in ["required", "propertyOrdering"] {
        if let Some(Value::Array(req)) = src.get(key) {
            let mut kept: Vec<Value> = Vec::new();
            for r in req.iter().filter_map(Value::as_str) {
                if names.iter().any(|n| n == r) && !kept.iter().any(|k| k == r) {
                    kept.push(json!(r));
                }
            }
            if !kept.is_empty() {
                out.insert(key.into(), Value::Array(kept));
            }
        }
    }

    // anyOf / oneOf: alternatives; a `{"type": "null"}` alternative becomes `nullable`.
    let mut alts: Vec<Value> = Vec::new();
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(list)) = src.get(key) {
            for a in list {
                if a.get("type").and_then(Value::as_str) == Some("null") {
                    nullable = true;
                    continue;
                }
                let c = clean(a, defs, refs, depth + 1);
                if c.as_object().is_some_and(|m| !m.is_empty()) {
                    alts.push(c);
                }
            }
        }
    }
    if let Some(Value::Array(existing)) = out.remove("anyOf") {
        // From a multi-type `type` list: combine with explicit alternatives only if none.
        if alts.is_empty() {
            alts = existing;
        }
    }
    match alts.len() {
        0 => {}
        1 => {
            if let Some(Value::Object(only)) = alts.pop() {
                merge_into(&mut out, only);
            }
        }
        _ => {
            out.insert("anyOf".into(), Value::Array(alts));
        }
    }

    // allOf: every part must hold, so merge them into this schema.
    if let Some(Value::Array(all)) = src.get("allOf") {
        for a in all {
            if let Value::Object(m) = clean(a, defs, refs, depth + 1) {
                merge_into(&mut out, m);
            }
        }
    }

    // The `$ref` target fills in whatever the schema itself did not say.
    merge_into(&mut out, base);

    if nullable {
        out.insert("nullable".into(), Value::Bool(true));
    }
    // A schema with alternatives carries no type of its own.
    if out.contains_key("anyOf") {
        out.remove("type");
    }
    out.retain(|k, _| KEEP.contains(&k.as_str()));
    Value::Object(out)
}

/// Whether Gemini accepts `key` in a schema (for tests that check sanitised output).
#[cfg(test)]
pub(super) fn is_kept(key: &str) -> bool {
    KEEP.contains(&key)
}

/// Adds `from`'s keys to `into` where `into` has none; `properties` and `required` are unioned.
fn merge_into(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        match (k.as_str(), into.get_mut(&k), v) {
            ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => {
                for (pk, pv) in theirs {
                    mine.entry(pk).or_insert(pv);
                }
            }
            ("required", Some(Value::Array(mine)), Value::Array(theirs)) => {
                for r in theirs {
                    if !mine.contains(&r) {
                        mine.push(r);
                    }
                }
            }
            (_, Some(_), _) => {}
            (_, None, v) => {
                into.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_what_gemini_rejects() {
        let s = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "$id": "x",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "mode": {"const": "fast"},
                "name": {"type": ["string", "null"], "default": "a", "examples": ["b"]},
                "count": {"type": "integer", "exclusiveMinimum": 0, "minimum": 1},
                "tags": {"type": "array", "prefixItems": [{"type": "string"}], "items": {"$ref": "#/$defs/Tag"}},
                "pick": {"oneOf": [{"type": "string"}, {"type": "number"}]},
                "maybe": {"anyOf": [{"type": "string", "format": "uri"}, {"type": "null"}]},
                "both": {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                                   {"properties": {"b": {"type": "number"}}, "required": ["b"]}]},
                "map": {"type": "object", "patternProperties": {".*": {"type": "string"}}, "propertyNames": {"pattern": "x"}},
                "self": {"$ref": "#/$defs/Node"}
            },
            "required": ["mode", "ghost"],
            "$defs": {
                "Tag": {"type": "string", "enum": ["a", "b"]},
                "Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}
            }
        });
        let out = sanitize(&s);
        let p = &out["properties"];
        assert_eq!(p["mode"], json!({"type": "string", "enum": ["fast"]}));
        assert_eq!(p["name"], json!({"type": "string", "nullable": true}));
        assert_eq!(p["count"], json!({"type": "integer", "minimum": 1}));
        assert_eq!(
            p["tags"],
            json!({"type": "array", "items": {"type": "string", "enum": ["a", "b"]}})
        );
        assert_eq!(
            p["pick"],
            json!({"anyOf": [{"type": "string"}, {"type": "number"}]})
        );
        assert_eq!(p["maybe"], json!({"type": "string", "nullable": true}));
        assert_eq!(
            p["both"],
            json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "number"}}, "required": ["a", "b"]})
        );
        assert_eq!(p["map"], json!({"type": "object"}));
        // The recursive reference is inlined once, then cut.
        assert_eq!(p["self"]["type"], "object");
        assert_eq!(p["self"]["properties"]["next"], json!({}));
        assert_eq!(out["required"], json!(["mode"]));
        assert!(out.get("$defs").is_none() && out.get("additionalProperties").is_none());
    }

    #[test]
    fn odd_inputs_never_fail() {
        assert_eq!(sanitize(&json!(true)), json!({"type": "object"}));
        assert_eq!(sanitize(&json!(null)), json!({"type": "object"}));
        assert_eq!(
            sanitize(&json!({"type": "object", "properties": {}, "required": []})),
            json!({"type": "object"})
        );
        assert_eq!(
            sanitize(&json!({"type": "object", "properties": {"n": {"enum": [1, 2]}}})),
            json!({"type": "object", "properties": {"n": {}}})
        );
        assert_eq!(
            sanitize(&json!({"type": ["string", "integer", "null"]})),
            json!({"anyOf": [{"type": "string"}, {"type": "integer"}], "nullable": true})
        );
    }
}
