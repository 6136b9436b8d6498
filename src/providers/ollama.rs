//! Ollama: a local server with an OpenAI-compatible Chat endpoint under `/v1`; no key.

use crate::protocols::Protocol;
use crate::secret::Secret;

/// The base URL: `OLLAMA_HOST` (host:port or a URL), else localhost:11434.
pub fn default_base_url(env: &dyn Fn(&str) -> Option<String>) -> String {
    match env("OLLAMA_HOST").filter(|h| !h.is_empty()) {
        Some(h) if h.starts_with("http://") || h.starts_with("https://") => {
            format!("{}/v1", h.trim_end_matches('/'))
        }
        Some(h) => format!("http://{}/v1", h.trim_end_matches('/')),
        None => "http://localhost:11434/v1".to_string(),
    }
}

/// Chat Completions for everything.
pub fn wire(_inbound: Protocol) -> Protocol {
    Protocol::Chat
}

/// A key is optional (a proxy in front of Ollama may want one).
pub fn authorize(rb: reqwest::RequestBuilder, key: Option<&Secret>) -> reqwest::RequestBuilder {
    super::bearer(rb, key)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_ollama_host() {
        assert_eq!(
            super::default_base_url(&|_| None),
            "http://localhost:11434/v1"
        );
        assert_eq!(
            super::default_base_url(&|_| Some("0.0.0.0:9999".into())),
            "http://0.0.0.0:9999/v1"
        );
        assert_eq!(
            super::default_base_url(&|_| Some("https://o.example/".into())),
            "https://o.example/v1"
        );
    }
}
