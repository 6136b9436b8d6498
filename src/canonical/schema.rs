//! A tool's JSON schema, kept as the JSON text the client sent. Most encoders pass a schema
//! on unchanged, and parsing a Codex request's nine tool schemas into `Value` trees (one
//! `BTreeMap` per object) and writing them back was a fifth of a translated request's
//! instructions under callgrind. An encoder that must change a schema parses it then.

use serde_json::Value;
use serde_json::value::RawValue;

/// The schema an object tool gets when it has none: no arguments.
const NO_ARGUMENTS: &str = r#"{"type":"object","properties":{}}"#;

/// A JSON schema as JSON text (always one valid JSON value), with what
/// [`Schema::says_object`] found, once it has looked. Shared, not copied, by a clone: a tool
/// list the decoder remembers is walked once, not on every turn that resends it, and handed
/// to each turn without copying its schemas (a copy of a Codex list's ~6 KB of schemas, one
/// allocation each, cost ~2 µs per translated request under `perf`).
#[derive(Clone)]
pub struct Schema(std::sync::Arc<(Box<RawValue>, std::sync::OnceLock<bool>)>);

impl Schema {
    /// A schema from JSON text already checked by serde (a request's field).
    pub fn from_raw(raw: Box<RawValue>) -> Schema {
        Schema(std::sync::Arc::new((raw, std::sync::OnceLock::new())))
    }

    /// `{"type":"object","properties":{}}`: a tool without arguments.
    pub fn no_arguments() -> Schema {
        // `NO_ARGUMENTS` is JSON; the `null` default only keeps this free of panics.
        Schema::from_raw(RawValue::from_string(NO_ARGUMENTS.to_string()).unwrap_or_default())
    }

    /// The JSON text, as received.
    pub fn text(&self) -> &str {
        self.0.0.get()
    }

    /// Whether the schema is a JSON object.
    pub fn is_object(&self) -> bool {
        self.text().starts_with('{')
    }

    /// Whether the schema is an object whose top level names `"type"` once, as the plain
    /// string `"object"`: what an encoder that needs an object schema may pass on as it is.
    /// A walk over the text that only reads the top level's keys, where parsing it (even into
    /// a struct that skips the rest) cost ~5k instructions per Codex tool under callgrind.
    /// `false` means "not known": an escaped key, a repeated `type` or any other value, which
    /// a caller judges by [`Schema::value`].
    pub fn says_object(&self) -> bool {
        *self.0.1.get_or_init(|| says_object(self.text().as_bytes()))
    }

    /// The schema parsed, for an encoder that changes it.
    pub fn value(&self) -> Value {
        serde_json::from_str(self.text()).unwrap_or(Value::Null)
    }
}

/// [`Schema::says_object`]'s walk over the text `b`.
fn says_object(b: &[u8]) -> bool {
    if b.first() != Some(&b'{') {
        return false;
    }
    let mut found = false;
    // Depth 1 is the top object, where a string after `{` or `,` is a key.
    let (mut depth, mut at_key, mut i) = (1usize, true, 1usize);
    while let Some(&c) = b.get(i) {
        match c {
            b'"' => {
                let Some(end) = string_end(b, i) else {
                    return false;
                };
                if depth == 1 && at_key {
                    let key = b.get(i + 1..end - 1).unwrap_or_default();
                    if key.contains(&b'\\') {
                        return false;
                    }
                    if key == b"type" {
                        // After the key: blanks, `:`, blanks, then the value.
                        let value = b.get(end..).unwrap_or_default().trim_ascii_start();
                        let value = value.get(1..).unwrap_or_default().trim_ascii_start();
                        if found || !value.starts_with(b"\"object\"") {
                            return false;
                        }
                        found = true;
                    }
                    at_key = false;
                }
                i = end;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return found;
                }
            }
            b',' if depth == 1 => at_key = true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// The offset just after the string whose opening quote is at `i`, in valid JSON text
/// (where a `"` or `\\` is the only byte that can end a run of string text).
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        j = crate::json_text::next_special(b, j)?;
        match b.get(j)? {
            b'"' => return Some(j + 1),
            _ => j += 2,
        }
    }
}

impl From<&Value> for Schema {
    fn from(v: &Value) -> Schema {
        match serde_json::value::to_raw_value(v) {
            Ok(raw) => Schema::from_raw(raw),
            Err(_) => Schema::no_arguments(),
        }
    }
}

impl From<Value> for Schema {
    fn from(v: Value) -> Schema {
        Schema::from(&v)
    }
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

/// Equal as JSON: key order and spacing do not count.
impl PartialEq for Schema {
    fn eq(&self, other: &Schema) -> bool {
        self.text() == other.text() || self.value() == other.value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_schema_keeps_its_text_and_compares_as_json() -> Result<(), serde_json::Error> {
        let raw: Box<RawValue> = serde_json::from_str(r#"{"type": "object", "b":1,"a":[true]}"#)?;
        let s = Schema::from_raw(raw);
        assert_eq!(s.text(), r#"{"type": "object", "b":1,"a":[true]}"#);
        assert!(s.is_object());
        assert_eq!(s.value(), json!({"a": [true], "b": 1, "type": "object"}));
        assert_eq!(
            s,
            Schema::from(json!({"a": [true], "type": "object", "b": 1}))
        );
        assert_ne!(s, Schema::no_arguments());
        assert_eq!(
            Schema::no_arguments().value(),
            json!({"type": "object", "properties": {}})
        );
        assert!(!Schema::from(json!([1])).is_object());
        Ok(())
    }

    /// What `says_object` stands in for: the top level's `type` read by serde, once.
    fn serde_says_object(text: &str) -> bool {
        #[derive(serde::Deserialize)]
        struct Head {
            #[serde(rename = "type")]
            kind: Option<Value>,
        }
        matches!(serde_json::from_str::<Head>(text), Ok(Head { kind: Some(k) }) if k == "object")
    }

    fn schema(text: &str) -> Result<Schema, serde_json::Error> {
        Ok(Schema::from_raw(serde_json::from_str(text)?))
    }

    #[test]
    fn says_object_reads_only_the_top_level_type() -> Result<(), serde_json::Error> {
        let yes = [
            r#"{"type":"object","properties":{}}"#,
            r#"{ "properties" : {"type": "string", "x": ["type", {"type":"a"}]} , "type" : "object" }"#,
            r#"{"description":"a \"type\": \\ {[","type":"object"}"#,
        ];
        for t in yes {
            assert!(schema(t)?.says_object(), "{t}");
            assert!(serde_says_object(t), "{t}");
        }
        let no = [
            r#"{"properties":{"type":"object"}}"#,
            r#"{"type":"string"}"#,
            r#"{"type":["object","null"]}"#,
            r#"{"type":"objects"}"#,
            r#"{"type":"object","type":"object"}"#,
            r#"{"typ\u0065":"object"}"#,
            r#"{"type":"obj\u0065ct"}"#,
            r#"["type","object"]"#,
            r#"{}"#,
            r#""{\"type\":\"object\"}""#,
        ];
        for t in no {
            assert!(!schema(t)?.says_object(), "{t}");
        }
        Ok(())
    }

    proptest::proptest! {
        /// Where the walk says yes, serde reads the same; it may only say "not known" more.
        #[test]
        fn says_object_agrees_with_serde(
            keys in proptest::collection::vec("(type|properties|a\\\\\"b|t)", 0..5),
            values in proptest::collection::vec(
                "(\"object\"|\"string\"|\\{\"type\":\"object\"\\}|\\[\"object\"\\]|null|\"ob\\\\u006aect\")", 5),
        ) {
            let body: Vec<String> = keys
                .iter()
                .zip(&values)
                .map(|(k, v)| format!("\"{k}\": {v}"))
                .collect();
            let text = format!("{{{}}}", body.join(", "));
            let Ok(s) = schema(&text) else { return Ok(()) };
            let serde = serde_says_object(&text);
            if s.says_object() {
                proptest::prop_assert!(serde, "{}", text);
            }
            // Unescaped, unrepeated keys: the walk is exact.
            let plain = !text.contains('\\') && keys.iter().filter(|k| *k == "type").count() <= 1;
            if plain {
                proptest::prop_assert_eq!(s.says_object(), serde, "{}", text);
            }
        }
    }
}
