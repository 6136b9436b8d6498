//! Token usage in one convention (OpenAI's), read from whatever a response reports.
//!
//! Input includes cached tokens; output includes reasoning tokens. Extraction reads only the
//! fields it needs with typed serde structs, so a usage-bearing event costs one small parse.

use serde::Deserialize;

/// Tokens used by one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// All input tokens, cached ones included.
    pub input: u64,
    /// Input tokens read from a prompt cache.
    pub cached_input: u64,
    /// Input tokens written to a prompt cache.
    pub cache_write: u64,
    /// All output tokens, reasoning included.
    pub output: u64,
    /// Reasoning tokens (part of `output`).
    pub reasoning: u64,
}

#[derive(Deserialize)]
struct ResponsesUsage {
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    input_tokens_details: Option<InputDetails>,
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Deserialize)]
struct ChatUsage {
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    prompt_tokens_details: Option<InputDetails>,
    completion_tokens_details: Option<OutputDetails>,
}

#[derive(Deserialize)]
struct InputDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct OutputDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

/// Either usage shape OpenAI uses: Responses (`input_tokens`) or Chat (`prompt_tokens`).
#[derive(Deserialize)]
#[serde(untagged)]
enum AnyUsage {
    Responses(ResponsesUsage),
    Chat(ChatUsage),
}

impl Usage {
    /// Reads a `usage` object in either OpenAI shape.
    pub fn from_openai(v: &serde_json::Value) -> Option<Self> {
        if v.get("input_tokens").is_some() {
            let u = ResponsesUsage::deserialize(v).ok()?;
            return Some(u.into());
        }
        if v.get("prompt_tokens").is_some() {
            let u = ChatUsage::deserialize(v).ok()?;
            return Some(u.into());
        }
        None
    }

    /// Reads a `usage` object from raw JSON.
    pub fn from_openai_json(raw: &str) -> Option<Self> {
        match serde_json::from_str::<AnyUsage>(raw).ok()? {
            AnyUsage::Responses(u) => Some(u.into()),
            AnyUsage::Chat(u) => Some(u.into()),
        }
    }
}

impl From<ResponsesUsage> for Usage {
    fn from(u: ResponsesUsage) -> Self {
        Self {
            input: u.input_tokens,
            cached_input: u
                .input_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            cache_write: 0,
            output: u.output_tokens,
            reasoning: u
                .output_tokens_details
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
        }
    }
}

impl From<ChatUsage> for Usage {
    fn from(u: ChatUsage) -> Self {
        Self {
            input: u.prompt_tokens,
            cached_input: u
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            cache_write: 0,
            output: u.completion_tokens,
            reasoning: u
                .completion_tokens_details
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_openai_shapes() {
        let r = serde_json::json!({"input_tokens": 100, "input_tokens_details": {"cached_tokens": 40},
            "output_tokens": 30, "output_tokens_details": {"reasoning_tokens": 12}, "total_tokens": 130});
        assert_eq!(
            Usage::from_openai(&r),
            Some(Usage {
                input: 100,
                cached_input: 40,
                cache_write: 0,
                output: 30,
                reasoning: 12
            })
        );
        let c = r#"{"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12, "prompt_tokens_details": {"cached_tokens": null}}"#;
        assert_eq!(
            Usage::from_openai_json(c),
            Some(Usage {
                input: 9,
                output: 3,
                ..Usage::default()
            })
        );
        assert_eq!(Usage::from_openai(&serde_json::json!({"x": 1})), None);
    }
}
