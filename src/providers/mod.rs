//! Providers: which upstreams exist, how a model name picks one, and which key it uses.
//!
//! A provider is data (a [`ProviderConfig`]) plus a [`ProviderKind`] that fixes its wire
//! protocol. Adding a provider is one file beside this one, one arm in [`ProviderKind`], and
//! the shared test matrix.

pub mod anthropic;
pub mod gemini;
pub mod ollama;
pub mod openai;
pub mod openai_compatible;

use axum::http::HeaderValue;
use serde::Deserialize;

use crate::config::{ApiKey, Config, ProviderConfig};
use crate::protocols::Protocol;
use crate::secret::Secret;

/// The kinds of upstream bifrost speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI (Responses and Chat pass through as bytes).
    #[serde(rename = "openai")]
    OpenAi,
    /// Anthropic's Messages API.
    Anthropic,
    /// Google's Gemini API.
    Gemini,
    /// A local Ollama server (no key).
    Ollama,
    /// Any OpenAI-compatible Chat Completions server at a `base_url`.
    #[serde(rename = "openai_compatible")]
    OpenAiCompatible,
}

impl ProviderKind {
    /// Every kind.
    pub const ALL: &'static [ProviderKind] = &[
        ProviderKind::OpenAi,
        ProviderKind::Anthropic,
        ProviderKind::Gemini,
        ProviderKind::Ollama,
        ProviderKind::OpenAiCompatible,
    ];

    /// The canonical name, also the default provider name.
    pub fn name(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
            Self::Ollama => "ollama",
            Self::OpenAiCompatible => "openai_compatible",
        }
    }

    /// All accepted `type` values.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|k| k.name()).collect()
    }

    /// The kind a built-in provider name implies.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// Upstream base URL when the config gives none; `None` when one is required.
    pub fn default_base_url(self, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        match self {
            Self::OpenAi => Some(openai::DEFAULT_BASE_URL.into()),
            Self::Anthropic => Some(anthropic::DEFAULT_BASE_URL.into()),
            Self::Gemini => Some(gemini::DEFAULT_BASE_URL.into()),
            Self::Ollama => Some(ollama::default_base_url(env)),
            Self::OpenAiCompatible => None,
        }
    }

    /// Whether requests need a key.
    pub fn needs_key(self) -> bool {
        matches!(self, Self::OpenAi | Self::Anthropic | Self::Gemini)
    }

    /// Environment variables zero config reads the key from, in order.
    pub fn key_vars(self) -> &'static [&'static str] {
        match self {
            Self::OpenAi => &["OPENAI_API_KEY"],
            Self::Anthropic => &["ANTHROPIC_API_KEY"],
            Self::Gemini => &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
            Self::Ollama | Self::OpenAiCompatible => &[],
        }
    }

    /// Local providers cost nothing.
    pub fn is_local(self) -> bool {
        matches!(self, Self::Ollama)
    }

    /// The protocol to speak upstream for a client protocol.
    pub fn wire(self, inbound: Protocol) -> Protocol {
        match self {
            Self::OpenAi => openai::wire(inbound),
            Self::Anthropic => anthropic::wire(inbound),
            Self::Gemini => gemini::wire(inbound),
            Self::Ollama => ollama::wire(inbound),
            Self::OpenAiCompatible => openai_compatible::wire(inbound),
        }
    }

    /// The upstream URL for a protocol's endpoint.
    pub fn url(self, base: &str, wire: Protocol, path: &str, model: &str, stream: bool) -> String {
        match (self, wire) {
            (Self::Gemini, _) => gemini::url(base, model, stream),
            (_, Protocol::Anthropic) => format!("{base}/messages"),
            _ => format!("{base}{path}"),
        }
    }

    /// Adds the provider's credentials and required headers.
    pub fn authorize(
        self,
        rb: reqwest::RequestBuilder,
        key: Option<&Secret>,
    ) -> reqwest::RequestBuilder {
        match self {
            Self::OpenAi => openai::authorize(rb, key),
            Self::Anthropic => anthropic::authorize(rb, key),
            Self::Gemini => gemini::authorize(rb, key),
            Self::Ollama => ollama::authorize(rb, key),
            Self::OpenAiCompatible => openai_compatible::authorize(rb, key),
        }
    }
}

/// A header value marked sensitive (hyper then never logs it), or `None` if the key has
/// characters a header cannot carry.
pub fn sensitive(value: &str) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(value).ok()?;
    v.set_sensitive(true);
    Some(v)
}

fn bearer(rb: reqwest::RequestBuilder, key: Option<&Secret>) -> reqwest::RequestBuilder {
    match key.and_then(|k| sensitive(&format!("Bearer {}", k.expose()))) {
        Some(v) => rb.header(reqwest::header::AUTHORIZATION, v),
        None => rb,
    }
}

/// Where one request goes.
#[derive(Debug, Clone)]
pub struct Route<'a> {
    /// The provider.
    pub provider: &'a ProviderConfig,
    /// The model name sent upstream.
    pub upstream_model: String,
}

/// Why a model name could not be routed; the message lists what is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteError(pub String);

/// The provider kind a bare model name belongs to, when its family says so.
fn family(model: &str) -> Option<ProviderKind> {
    if model.starts_with("claude-") {
        Some(ProviderKind::Anthropic)
    } else if model.starts_with("gemini-") {
        Some(ProviderKind::Gemini)
    } else {
        None
    }
}

/// Picks the provider and upstream model for a requested model name.
///
/// Order: an exact `[aliases]` entry, then a `provider/` prefix naming a configured provider,
/// then, for a bare `claude-*` or `gemini-*` name, the provider of that kind when exactly one
/// is configured, then the default provider.
pub fn route<'a>(config: &'a Config, requested: &str) -> Result<Route<'a>, RouteError> {
    let target = config
        .aliases
        .get(requested)
        .map(String::as_str)
        .unwrap_or(requested);
    let configured = || {
        let names: Vec<&str> = config.providers.keys().map(String::as_str).collect();
        if names.is_empty() {
            "none (export OPENAI_API_KEY or add [providers.NAME] to the config)".to_string()
        } else {
            names.join(", ")
        }
    };
    if let Some((prefix, model)) = target.split_once('/') {
        return match config.providers.get(prefix) {
            Some(provider) if !model.is_empty() => Ok(Route {
                provider,
                upstream_model: model.to_string(),
            }),
            Some(_) => Err(RouteError(format!(
                "model `{requested}` names provider `{prefix}` but no model; write `{prefix}/MODEL`"
            ))),
            None => Err(RouteError(format!(
                "unknown provider `{prefix}` in model `{requested}`; configured providers: {}",
                configured()
            ))),
        };
    }
    if let Some(kind) = family(target) {
        let mut of_kind = config.providers.values().filter(|p| p.kind == kind);
        if let (Some(provider), None) = (of_kind.next(), of_kind.next()) {
            return Ok(Route {
                provider,
                upstream_model: target.to_string(),
            });
        }
    }
    let Some(default) = config.default_provider.as_deref() else {
        return Err(RouteError(format!(
            "model `{requested}` has no provider prefix and no default provider is set; write `PROVIDER/{requested}` (configured providers: {}) or set default_provider",
            configured()
        )));
    };
    match config.providers.get(default) {
        Some(provider) => Ok(Route {
            provider,
            upstream_model: target.to_string(),
        }),
        None => Err(RouteError(format!(
            "default provider `{default}` is not configured; configured providers: {}",
            configured()
        ))),
    }
}

/// What routing rules can look at besides the model name.
#[derive(Debug, Clone, Default)]
pub struct RouteContext {
    /// Codex's request kind (`turn`, `compaction`, ...), from `x-codex-turn-metadata`.
    pub request_kind: Option<String>,
    /// Estimated input tokens.
    pub input_tokens: u64,
}

/// `*` matches any run of characters; everything else literally.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let Some((first, rest)) = parts.split_first() else {
        return pattern == text;
    };
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    if rest.is_empty() {
        return remaining.is_empty();
    }
    for (i, part) in rest.iter().enumerate() {
        if i == rest.len() - 1 {
            return remaining.ends_with(part);
        }
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Applies `[[routes]]` rules (first match wins), then [`route`].
pub fn route_with<'a>(
    config: &'a Config,
    requested: &str,
    ctx: &RouteContext,
) -> Result<Route<'a>, RouteError> {
    for rule in &config.routes {
        let model_ok = rule.model.as_deref().is_none_or(|g| glob(g, requested));
        let kind_ok = rule
            .request_kind
            .as_deref()
            .is_none_or(|k| ctx.request_kind.as_deref() == Some(k));
        let size_ok = rule.min_input_tokens.is_none_or(|n| ctx.input_tokens > n);
        if model_ok && kind_ok && size_ok {
            return route(config, &rule.target);
        }
    }
    route(config, requested)
}

/// Picks a key by weight. `seed` spreads choices; balancing and health belong to a later layer.
pub fn pick_key(provider: &ProviderConfig, seed: u64) -> Option<&ApiKey> {
    let total: u64 = provider.keys.iter().map(|k| u64::from(k.weight)).sum();
    if total == 0 {
        return provider.keys.first();
    }
    let mut n = seed % total;
    for key in &provider.keys {
        let w = u64::from(key.weight);
        if n < w {
            return Some(key);
        }
        n -= w;
    }
    provider.keys.last()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Loaded;

    fn cfg() -> Config {
        let l = Loaded::from_text(
            "[providers.openai]\napi_key = \"a\"\n[providers.work]\ntype = \"openai\"\napi_key = \"b\"\n[aliases]\nfast = \"work/gpt-5-mini\"\n",
        )
        .unwrap_or_default();
        match l.resolve(&|_| None) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn prefixes_aliases_and_defaults_route() {
        let c = cfg();
        let r = route(&c, "openai/gpt-5.5").map_err(|e| e.0);
        assert_eq!(
            r.map(|r| (r.provider.name.clone(), r.upstream_model)),
            Ok(("openai".into(), "gpt-5.5".into()))
        );
        let r = route(&c, "fast").map_err(|e| e.0);
        assert_eq!(
            r.map(|r| (r.provider.name.clone(), r.upstream_model)),
            Ok(("work".into(), "gpt-5-mini".into()))
        );
        let r = route(&c, "gpt-5.5").map_err(|e| e.0);
        assert_eq!(
            r.map(|r| (r.provider.name.clone(), r.upstream_model)),
            Ok(("openai".into(), "gpt-5.5".into()))
        );
    }

    #[test]
    fn unknown_prefix_lists_configured_providers() {
        let c = cfg();
        let Err(RouteError(msg)) = route(&c, "anthropic/claude") else {
            panic!("expected an error")
        };
        assert!(msg.contains("unknown provider `anthropic`"), "{msg}");
        assert!(msg.contains("openai, work"), "{msg}");
    }

    #[test]
    fn rules_route_by_kind_size_and_glob() {
        let l = Loaded::from_text(
            "[providers.openai]\napi_key = \"a\"\n[providers.work]\ntype = \"openai\"\napi_key = \"b\"\n\
             [[routes]]\nrequest_kind = \"compaction\"\ntarget = \"work/cheap\"\n\
             [[routes]]\nmodel = \"gpt-*\"\nmin_input_tokens = 1000\ntarget = \"work/big\"\n",
        )
        .unwrap_or_default();
        let c = l.resolve(&|_| None).unwrap_or_else(|e| panic!("{e}"));
        let pick = |m: &str, kind: Option<&str>, n: u64| {
            let ctx = RouteContext {
                request_kind: kind.map(str::to_string),
                input_tokens: n,
            };
            route_with(&c, m, &ctx)
                .map(|r| format!("{}/{}", r.provider.name, r.upstream_model))
                .map_err(|e| e.0)
        };
        assert_eq!(
            pick("gpt-5.5", Some("compaction"), 10),
            Ok("work/cheap".into())
        );
        assert_eq!(pick("gpt-5.5", Some("turn"), 5000), Ok("work/big".into()));
        assert_eq!(
            pick("gpt-5.5", Some("turn"), 10),
            Ok("openai/gpt-5.5".into())
        );
        assert_eq!(pick("o3", None, 5000), Ok("openai/o3".into()));
        assert!(
            glob("gpt-*-mini", "gpt-5-mini")
                && !glob("gpt-*-mini", "gpt-5")
                && glob("*", "x")
                && glob("a", "a")
        );
    }

    #[test]
    fn weights_split_traffic() {
        let c = cfg();
        let mut p = c.providers["openai"].clone();
        p.keys.push(ApiKey {
            secret: crate::secret::Secret::new("z"),
            weight: 3,
            alias: "z".into(),
            models: Vec::new(),
        });
        let picks: Vec<_> = (0..4)
            .filter_map(|s| pick_key(&p, s))
            .map(|k| k.alias.clone())
            .collect();
        assert_eq!(picks, ["default", "z", "z", "z"]);
    }
}
