//! Anthropic: the Messages API, with `x-api-key` and `anthropic-version`.

use crate::protocols::Protocol;
use crate::secret::Secret;

/// Default base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com/v1";

/// The API version header value.
pub const VERSION: &str = "2023-06-01";

/// Anthropic speaks only Messages.
pub fn wire(_inbound: Protocol) -> Protocol {
    Protocol::Anthropic
}

/// Adds the key and the version header.
pub fn authorize(rb: reqwest::RequestBuilder, key: Option<&Secret>) -> reqwest::RequestBuilder {
    let rb = rb.header("anthropic-version", VERSION);
    match key.and_then(|k| super::sensitive(k.expose())) {
        Some(v) => rb.header("x-api-key", v),
        None => rb,
    }
}
