//! Google Gemini: generateContent / streamGenerateContent (`alt=sse`), key in `x-goog-api-key`
//! (never in the URL, so it cannot leak into logs).

use crate::protocols::Protocol;
use crate::secret::Secret;

/// Default base URL.
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com/v1beta";

/// Gemini speaks only its own protocol.
pub fn wire(_inbound: Protocol) -> Protocol {
    Protocol::Gemini
}

/// The model goes in the path.
pub fn url(base: &str, model: &str, stream: bool) -> String {
    if stream {
        format!("{base}/models/{model}:streamGenerateContent?alt=sse")
    } else {
        format!("{base}/models/{model}:generateContent")
    }
}

/// Adds the key.
pub fn authorize(rb: reqwest::RequestBuilder, key: Option<&Secret>) -> reqwest::RequestBuilder {
    match key.and_then(|k| super::sensitive(k.expose())) {
        Some(v) => rb.header("x-goog-api-key", v),
        None => rb,
    }
}
