//! A tool's JSON schema, kept as the JSON text the client sent. Most encoders pass a schema
//! on unchanged, and parsing a Codex request's nine tool schemas into `Value` trees (one
//! `BTreeMap` per object) and writing them back was a fifth of a translated request's
//! instructions under callgrind. An encoder that must change a schema parses it then.

use serde_json::Value;
use serde_json::value::RawValue;

/// The schema an object tool gets when it has none: no arguments.
const NO_ARGUMENTS: &str = r#"{"type":"object","properties":{}}"#;

/// A JSON schema as JSON text (always one valid JSON value).
#[derive(Clone)]
pub struct Schema(Box<RawValue>);

impl Schema {
    /// A schema from JSON text already checked by serde (a request's field).
    pub fn from_raw(raw: Box<RawValue>) -> Schema {
        Schema(raw)
    }

    /// `{"type":"object","properties":{}}`: a tool without arguments.
    pub fn no_arguments() -> Schema {
        // `NO_ARGUMENTS` is JSON; the `null` default only keeps this free of panics.
        Schema(RawValue::from_string(NO_ARGUMENTS.to_string()).unwrap_or_default())
    }

    /// The JSON text, as received.
    pub fn text(&self) -> &str {
        self.0.get()
    }

    /// Whether the schema is a JSON object.
    pub fn is_object(&self) -> bool {
        self.text().starts_with('{')
    }

    /// The schema parsed, for an encoder that changes it.
    pub fn value(&self) -> Value {
        serde_json::from_str(self.text()).unwrap_or(Value::Null)
    }
}

impl From<&Value> for Schema {
    fn from(v: &Value) -> Schema {
        match serde_json::value::to_raw_value(v) {
            Ok(raw) => Schema(raw),
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
}
