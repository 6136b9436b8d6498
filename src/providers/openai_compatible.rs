//! Any Chat Completions server (vLLM, llama.cpp, LM Studio, OpenRouter, Groq, DeepSeek, ...),
//! under a name the user picks: `[providers.myvllm] type = "openai_compatible"`.

use crate::protocols::Protocol;
use crate::secret::Secret;

/// Chat Completions for everything.
pub fn wire(_inbound: Protocol) -> Protocol {
    Protocol::Chat
}

/// Bearer key when one is configured.
pub fn authorize(rb: reqwest::RequestBuilder, key: Option<&Secret>) -> reqwest::RequestBuilder {
    super::bearer(rb, key)
}
