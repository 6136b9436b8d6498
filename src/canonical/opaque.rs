//! Provider-only data carried through clients that cannot hold it, such as Codex, which keeps
//! a reasoning item's `encrypted_content` and echoes it back verbatim on the next request.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Data only one provider reads: an Anthropic thinking block with its signature, a Gemini
/// thought signature. Never sent to another provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Opaque {
    /// The protocol that made it: `anthropic`, `gemini`, ...
    #[serde(rename = "p")]
    pub provider: String,
    /// What that provider needs back.
    #[serde(rename = "d")]
    pub data: Value,
}

/// Marks bifrost's encoding inside `encrypted_content`, versioned.
pub const PREFIX: &str = "bifrost.v1.";

impl Opaque {
    /// Builds one.
    pub fn new(provider: &str, data: Value) -> Self {
        Self {
            provider: provider.to_string(),
            data,
        }
    }

    /// `bifrost.v1.<base64url(JSON)>`.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(json))
    }

    /// Reads an encoded value; `None` for anything bifrost did not make (OpenAI's own
    /// encrypted reasoning, for instance).
    pub fn decode(s: &str) -> Option<Self> {
        let b = URL_SAFE_NO_PAD.decode(s.strip_prefix(PREFIX)?).ok()?;
        serde_json::from_slice(&b).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_ignores_foreign_values() {
        let o = Opaque::new(
            "anthropic",
            serde_json::json!({"type": "thinking", "signature": "sig=="}),
        );
        let s = o.encode();
        assert!(s.starts_with("bifrost.v1."));
        assert_eq!(Opaque::decode(&s), Some(o));
        assert_eq!(Opaque::decode("gAAAAABopenai"), None);
        assert_eq!(Opaque::decode("bifrost.v1.!!!"), None);
    }
}
