//! The model catalog: context windows and output limits per model, for every provider's
//! current models. Anthropic requires `max_tokens`, so its default comes from here; requests
//! larger than a window get a logged warning.

use crate::protocols::ModelInfo;

/// (provider kind, model prefix, context window, max output). Longest matching prefix wins.
const MODELS: &[(&str, &str, u64, u64)] = &[
    ("anthropic", "claude-opus-4-1", 200_000, 32_000),
    ("anthropic", "claude-opus-4", 200_000, 32_000),
    ("anthropic", "claude-sonnet-4-5", 200_000, 64_000),
    ("anthropic", "claude-sonnet-4", 200_000, 64_000),
    ("anthropic", "claude-haiku-4-5", 200_000, 64_000),
    ("anthropic", "claude-3-7-sonnet", 200_000, 64_000),
    ("anthropic", "claude-3-5-sonnet", 200_000, 8_192),
    ("anthropic", "claude-3-5-haiku", 200_000, 8_192),
    ("anthropic", "claude-3-opus", 200_000, 4_096),
    ("anthropic", "claude-3-haiku", 200_000, 4_096),
    ("anthropic", "claude-opus-5", 200_000, 64_000),
    ("anthropic", "claude-sonnet-5", 200_000, 64_000),
    ("anthropic", "claude-haiku-5", 200_000, 64_000),
    ("anthropic", "claude-", 200_000, 32_000),
    ("gemini", "gemini-2.5-pro", 1_048_576, 65_536),
    ("gemini", "gemini-2.5-flash", 1_048_576, 65_536),
    ("gemini", "gemini-2.0-flash", 1_048_576, 8_192),
    ("gemini", "gemini-3", 1_048_576, 65_536),
    ("gemini", "gemini-", 1_048_576, 8_192),
    ("openai", "gpt-5", 400_000, 128_000),
    ("openai", "gpt-4.1", 1_047_576, 32_768),
    ("openai", "gpt-4o", 128_000, 16_384),
    ("openai", "o3", 200_000, 100_000),
    ("openai", "o4-mini", 200_000, 100_000),
];

/// Limits for `model` served by a provider of kind `kind`. The price table's context window
/// fills in where the catalog has none.
pub fn lookup(kind: &str, model: &str) -> ModelInfo {
    let lower = model.to_ascii_lowercase();
    let best = MODELS
        .iter()
        .filter(|(k, prefix, _, _)| *k == kind && lower.starts_with(prefix))
        .max_by_key(|(_, prefix, _, _)| prefix.len());
    let priced = crate::pricing::lookup(&Default::default(), kind, kind, model)
        .and_then(|p| p.context_window);
    match best {
        Some((_, _, window, out)) => ModelInfo {
            context_window: Some(priced.unwrap_or(*window).max(*window)),
            max_output: Some(*out),
        },
        None => ModelInfo {
            context_window: priced,
            max_output: None,
        },
    }
}

/// Every catalog entry, for `bifrost models`.
pub fn entries() -> impl Iterator<Item = (&'static str, &'static str, u64, u64)> {
    MODELS.iter().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        assert_eq!(
            lookup("anthropic", "claude-sonnet-4-5-20250929").max_output,
            Some(64_000)
        );
        assert_eq!(
            lookup("anthropic", "claude-3-5-haiku-latest").max_output,
            Some(8_192)
        );
        assert_eq!(
            lookup("anthropic", "claude-something-new").max_output,
            Some(32_000)
        );
        assert_eq!(
            lookup("gemini", "gemini-2.5-pro").context_window,
            Some(1_048_576)
        );
        assert_eq!(lookup("ollama", "qwen3-coder").max_output, None);
    }
}
