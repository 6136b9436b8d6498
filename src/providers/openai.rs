//! OpenAI: speaks Responses and Chat Completions natively, so both pass through as bytes;
//! only the `model` value may be spliced, and chat streams get `include_usage`.

use crate::protocols::Protocol;
use crate::secret::Secret;

/// Default base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// The protocol used upstream for a client protocol.
pub fn wire(inbound: Protocol) -> Protocol {
    match inbound {
        Protocol::Responses => Protocol::Responses,
        _ => Protocol::Chat,
    }
}

/// Adds the key.
pub fn authorize(rb: reqwest::RequestBuilder, key: Option<&Secret>) -> reqwest::RequestBuilder {
    super::bearer(rb, key)
}
