//! Providers: which upstreams exist, how a model name picks one, and which key it uses.
//!
//! A provider is data (a [`ProviderConfig`]) plus a [`ProviderKind`] that fixes its wire
//! protocol. Adding a provider is one file beside this one, one arm in [`ProviderKind`], and
//! the shared test matrix.

pub mod openai;

use serde::Deserialize;

use crate::config::{ApiKey, Config, ProviderConfig};

/// The wire protocols bifrost speaks upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI's API (Responses, Chat Completions, embeddings): byte passthrough.
    #[serde(rename = "openai")]
    OpenAi,
}

impl ProviderKind {
    /// Every kind, for zero-config discovery.
    pub const ALL: &'static [ProviderKind] = &[ProviderKind::OpenAi];

    /// The canonical name, also the default provider name.
    pub fn name(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
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

    /// Upstream base URL when the config gives none.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Self::OpenAi => openai::DEFAULT_BASE_URL,
        }
    }

    /// Whether requests need a key.
    pub fn needs_key(self) -> bool {
        match self {
            Self::OpenAi => true,
        }
    }

    /// The environment variable zero config reads the key from.
    pub fn key_var(self) -> Option<&'static str> {
        match self {
            Self::OpenAi => Some("OPENAI_API_KEY"),
        }
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

/// Picks the provider and upstream model for a requested model name.
///
/// Order: an exact `[aliases]` entry, then a `provider/` prefix naming a configured provider,
/// then the default provider for a bare name.
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
    fn weights_split_traffic() {
        let c = cfg();
        let mut p = c.providers["openai"].clone();
        p.keys.push(ApiKey {
            secret: crate::secret::Secret::new("z"),
            weight: 3,
            alias: "z".into(),
        });
        let picks: Vec<_> = (0..4)
            .filter_map(|s| pick_key(&p, s))
            .map(|k| k.alias.clone())
            .collect();
        assert_eq!(picks, ["default", "z", "z", "z"]);
    }
}
