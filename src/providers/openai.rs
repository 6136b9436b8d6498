//! OpenAI upstream: the same protocol as the inbound API, so bodies and streams pass through as
//! bytes. Only the `model` value may be spliced (for `openai/` prefixes and aliases), and chat
//! streams get `stream_options.include_usage` so usage is never missing.

/// Default base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
