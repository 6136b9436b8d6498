//! Key health: a 429 cools a key down until its reset, repeated failures open its circuit
//! breaker for a while (then one probe is let through), and a client session sticks to one
//! healthy key so the provider's prompt cache keeps hitting.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::{ApiKey, ProviderConfig};
use crate::providers::glob;

#[derive(Debug, Default, Clone)]
struct KeyState {
    cooldown_until: Option<Instant>,
    failures: u32,
    open_until: Option<Instant>,
}

/// What the pool offers for one attempt.
#[derive(Debug)]
pub enum Choice<'a> {
    /// Use this key.
    Key(&'a ApiKey),
    /// The provider takes no key.
    Keyless,
    /// Every eligible key is cooling down or broken until this instant.
    Wait(Instant),
    /// No key may serve this model.
    NoneAllowed,
}

/// Health of every key of every provider, shared by all requests of a gateway.
#[derive(Debug)]
pub struct Health {
    keys: Mutex<HashMap<(String, String), KeyState>>,
    sticky: Mutex<HashMap<(String, String), String>>,
    breaker_failures: u32,
    breaker_cooldown: Duration,
}

impl Health {
    /// A pool with these breaker settings.
    pub fn new(breaker_failures: u32, breaker_cooldown: Duration) -> Self {
        Self {
            keys: Mutex::new(HashMap::new()),
            sticky: Mutex::new(HashMap::new()),
            breaker_failures,
            breaker_cooldown,
        }
    }

    fn usable_at(&self, provider: &str, alias: &str) -> Option<Instant> {
        let keys = self.keys.lock().ok()?;
        let s = keys.get(&(provider.to_string(), alias.to_string()))?;
        [s.cooldown_until, s.open_until].into_iter().flatten().max()
    }

    /// Picks a key for `model`: the session's key if it is healthy, else a weighted choice
    /// among the healthy keys (`seed` spreads choices), skipping `avoid`.
    pub fn choose<'a>(
        &self,
        p: &'a ProviderConfig,
        model: &str,
        session: Option<&str>,
        seed: u64,
        avoid: &[String],
    ) -> Choice<'a> {
        if p.keys.is_empty() {
            return Choice::Keyless;
        }
        let now = Instant::now();
        let allowed: Vec<&ApiKey> = p
            .keys
            .iter()
            .filter(|k| k.models.is_empty() || k.models.iter().any(|g| glob(g, model)))
            .collect();
        if allowed.is_empty() {
            return Choice::NoneAllowed;
        }
        let healthy: Vec<&ApiKey> = allowed
            .iter()
            .copied()
            .filter(|k| {
                !avoid.contains(&k.alias)
                    && self.usable_at(&p.name, &k.alias).is_none_or(|t| t <= now)
            })
            .collect();
        if healthy.is_empty() {
            let soonest = allowed
                .iter()
                .filter_map(|k| self.usable_at(&p.name, &k.alias))
                .min()
                .unwrap_or(now);
            return Choice::Wait(soonest.max(now));
        }
        if let Some(s) = session
            && let Ok(sticky) = self.sticky.lock()
            && let Some(alias) = sticky.get(&(p.name.clone(), s.to_string()))
            && let Some(k) = healthy.iter().find(|k| &k.alias == alias)
        {
            return Choice::Key(k);
        }
        let total: u64 = healthy.iter().map(|k| u64::from(k.weight.max(1))).sum();
        let mut n = seed % total.max(1);
        let mut pick = healthy[0];
        for k in &healthy {
            let w = u64::from(k.weight.max(1));
            if n < w {
                pick = k;
                break;
            }
            n -= w;
        }
        if let Some(s) = session
            && let Ok(mut sticky) = self.sticky.lock()
        {
            if sticky.len() > 10_000 {
                sticky.clear();
            }
            sticky.insert((p.name.clone(), s.to_string()), pick.alias.clone());
        }
        Choice::Key(pick)
    }

    /// The key worked: it is healthy again.
    pub fn success(&self, provider: &str, alias: &str) {
        if let Ok(mut keys) = self.keys.lock() {
            keys.remove(&(provider.to_string(), alias.to_string()));
        }
    }

    /// The key failed; `cooldown` (from a 429's reset) benches it until then.
    pub fn failure(&self, provider: &str, alias: &str, cooldown: Option<Duration>) {
        let Ok(mut keys) = self.keys.lock() else {
            return;
        };
        let s = keys
            .entry((provider.to_string(), alias.to_string()))
            .or_default();
        let now = Instant::now();
        s.failures += 1;
        if let Some(d) = cooldown {
            s.cooldown_until = Some(now + d);
        }
        if s.failures >= self.breaker_failures {
            s.open_until = Some(now + self.breaker_cooldown);
            // Half-open after the cool-off: one more failure re-opens it at once.
            s.failures = self.breaker_failures - 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn provider() -> ProviderConfig {
        let key = |alias: &str, weight, models: &[&str]| ApiKey {
            secret: Secret::new(alias),
            weight,
            alias: alias.into(),
            models: models.iter().map(|s| s.to_string()).collect(),
        };
        ProviderConfig {
            name: "p".into(),
            kind: crate::providers::ProviderKind::OpenAi,
            base_url: "http://x".into(),
            keys: vec![
                key("us", 3, &[]),
                key("eu", 1, &[]),
                key("mini", 1, &["*-mini"]),
            ],
            max_concurrency: None,
            max_queue: 1,
        }
    }

    fn alias(c: Choice<'_>) -> String {
        match c {
            Choice::Key(k) => k.alias.clone(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn weights_allow_lists_cooldowns_and_stickiness() {
        let p = provider();
        let h = Health::new(3, Duration::from_secs(30));
        let picks: Vec<String> = (0..4)
            .map(|s| alias(h.choose(&p, "gpt-5.5", None, s, &[])))
            .collect();
        assert_eq!(
            picks,
            ["us", "us", "us", "eu"],
            "weights 3:1; `mini` only serves *-mini"
        );
        assert!((0..40).all(|s| alias(h.choose(&p, "gpt-5.5", None, s, &[])) != "mini"));
        // For a *-mini model all three keys qualify (weights 3 + 1 + 1): seed 4 is the last slot.
        assert_eq!(alias(h.choose(&p, "gpt-5-mini", None, 4, &[])), "mini");
    }

    #[test]
    fn a_rate_limited_key_cools_down_and_sessions_stick() {
        let p = provider();
        let h = Health::new(3, Duration::from_secs(30));
        let first = alias(h.choose(&p, "gpt-5.5", Some("s1"), 0, &[]));
        assert_eq!(
            alias(h.choose(&p, "gpt-5.5", Some("s1"), 3, &[])),
            first,
            "sticky"
        );
        h.failure("p", &first, Some(Duration::from_secs(60)));
        let next = alias(h.choose(&p, "gpt-5.5", Some("s1"), 0, &[]));
        assert_ne!(next, first, "the cooled key is skipped");
        h.failure("p", "eu", Some(Duration::from_secs(60)));
        assert!(matches!(
            h.choose(&p, "gpt-5.5", None, 0, &[]),
            Choice::Wait(_)
        ));
        h.success("p", "us");
        assert_eq!(alias(h.choose(&p, "gpt-5.5", None, 0, &[])), "us");
    }

    #[test]
    fn the_breaker_opens_after_repeated_failures() {
        let p = provider();
        let h = Health::new(2, Duration::from_millis(50));
        h.failure("p", "us", None);
        assert_eq!(
            alias(h.choose(&p, "gpt-5.5", None, 0, &[])),
            "us",
            "one failure is not enough"
        );
        h.failure("p", "us", None);
        assert_eq!(
            alias(h.choose(&p, "gpt-5.5", None, 0, &[])),
            "eu",
            "open: skipped"
        );
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            alias(h.choose(&p, "gpt-5.5", None, 0, &[])),
            "us",
            "half-open: probed again"
        );
        h.failure("p", "us", None);
        assert_eq!(
            alias(h.choose(&p, "gpt-5.5", None, 0, &[])),
            "eu",
            "a failed probe re-opens it"
        );
    }
}
