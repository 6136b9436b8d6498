//! The gateway's check of a virtual key, per request: who it is (a hash lookup, cached for at
//! most [`CACHE_TTL`] so a revocation or rotation anywhere reaches every instance within a
//! second), whether it may use the model, and whether its budget and rates allow one more
//! request (the request count is taken atomically here, before the upstream call). A
//! finished request's tokens and cost are added afterwards by [`Charge::settle`], on a
//! spawned task, off the request path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::key::{KeyRow, Period, State};
use super::{Team, window};
use crate::summary::fmt_cost;

/// How long a looked-up key is trusted before it is read again.
pub const CACHE_TTL: Duration = Duration::from_millis(500);

/// Cached lookups kept at most (unknown keys included); past it the cache starts afresh.
const CACHE_MAX: usize = 10_000;

/// Why a virtual key's request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No key has this value (never made, or rotated away).
    Unknown,
    /// Revoked: its name.
    Revoked(String),
    /// Past its expiry: name and when.
    Expired(String, i64),
    /// The model is not on its allow-list.
    Model {
        /// The key's name.
        key: String,
        /// The model asked for.
        model: String,
        /// The allowed globs.
        allowed: Vec<String>,
    },
    /// Over requests or tokens per minute.
    Rate {
        /// The message.
        message: String,
        /// Seconds until the minute resets.
        retry_after: u64,
    },
    /// Its budget is spent.
    Quota(String),
    /// The key store cannot be reached.
    Unavailable(String),
}

/// The per-gateway check, with its lookup cache.
pub struct Gate {
    team: Arc<Team>,
    cache: Mutex<HashMap<String, Cached>>,
}

/// A lookup by hash and when it was made (`None`: no such key).
type Cached = (Instant, Option<Arc<KeyRow>>);

/// A request admitted under a key: what to charge when it ends.
#[derive(Clone)]
pub struct Charge {
    gate: Arc<Gate>,
    key_id: String,
    period: Period,
}

impl std::fmt::Debug for Charge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Charge")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Gate {
    /// A gate over `team`; starts the counter sweep (needs a tokio runtime).
    pub fn new(team: Arc<Team>) -> Arc<Gate> {
        let gate = Arc::new(Gate {
            team,
            cache: Mutex::new(HashMap::new()),
        });
        tokio::spawn(sweep(Arc::downgrade(&gate)));
        gate
    }

    /// The key store behind the gate.
    pub fn team(&self) -> &Arc<Team> {
        &self.team
    }

    /// The active key `presented` (a `bfk_` value) names.
    pub async fn identify(&self, presented: &[u8]) -> Result<Arc<KeyRow>, Refusal> {
        let hash = super::key::hash(presented);
        let cached = self
            .cache
            .lock()
            .ok()
            .and_then(|c| c.get(&hash).cloned())
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, k)| k);
        let key = match cached {
            Some(k) => k,
            None => {
                let k = self
                    .team
                    .sql
                    .by_hash(&hash)
                    .await
                    .map_err(|e| unavailable(&e))?
                    .map(Arc::new);
                if let Ok(mut c) = self.cache.lock() {
                    if c.len() >= CACHE_MAX {
                        c.clear();
                    }
                    c.insert(hash, (Instant::now(), k.clone()));
                }
                k
            }
        };
        let key = key.ok_or(Refusal::Unknown)?;
        match key.state(crate::store::now_ms()) {
            State::Active => Ok(key),
            State::Revoked => Err(Refusal::Revoked(key.name.clone())),
            State::Expired => Err(Refusal::Expired(
                key.name.clone(),
                key.expires_at_ms.unwrap_or(0),
            )),
        }
    }

    /// Whether `key` may use the model asked for as `requested`, which routes to `resolved`
    /// (`provider/model`).
    pub fn check_model(key: &KeyRow, requested: &str, resolved: &str) -> Result<(), Refusal> {
        if key.allows(&[requested, resolved]) {
            Ok(())
        } else {
            Err(Refusal::Model {
                key: key.name.clone(),
                model: requested.to_string(),
                allowed: key.models.clone(),
            })
        }
    }

    /// Checks the budget and rates and counts the request; `Ok` carries what to charge.
    pub async fn admit(self: &Arc<Self>, key: &KeyRow) -> Result<Charge, Refusal> {
        let period = key.budget.map_or(Period::Month, |b| b.period);
        let charge = Charge {
            gate: self.clone(),
            key_id: key.id.clone(),
            period,
        };
        if key.budget.is_none() && key.rpm.is_none() && key.tpm.is_none() {
            return Ok(charge);
        }
        let now = crate::store::now_ms();
        let usage = self
            .team
            .usage(
                &key.id,
                &window::minute(now),
                Some(&window::period(period, now)),
                key.rpm.is_some(),
            )
            .await
            .map_err(|e| unavailable(&e))?;
        if let Some(b) = key.budget
            && usage.spend_micro >= b.micro_usd
        {
            let renews = match b.period {
                Period::Day => "at 00:00 UTC tomorrow",
                Period::Month => "on the 1st of next month (UTC)",
            };
            return Err(Refusal::Quota(format!(
                "bifrost key `{}` has used its budget: {} spent of {}; it renews {renews}, or ask your bifrost admin to raise it",
                key.name,
                fmt_cost(Some(usage.spend_micro as f64 / 1e6), false),
                b.display(),
            )));
        }
        let retry_after = window::retry_after_secs(now);
        if let Some(rpm) = key.rpm
            && usage.requests > rpm
        {
            return Err(Refusal::Rate {
                message: format!(
                    "bifrost key `{}` is over its limit of {rpm} requests per minute; try again in {retry_after}s",
                    key.name
                ),
                retry_after,
            });
        }
        if let Some(tpm) = key.tpm
            && usage.tokens >= tpm
        {
            return Err(Refusal::Rate {
                message: format!(
                    "bifrost key `{}` is over its limit of {tpm} tokens per minute ({} used); try again in {retry_after}s",
                    key.name, usage.tokens
                ),
                retry_after,
            });
        }
        Ok(charge)
    }
}

impl Charge {
    /// Adds a finished request's tokens and cost to the key's counters, on a spawned task.
    pub fn settle(self, tokens: u64, cost_micro_usd: i64) {
        if tokens == 0 && cost_micro_usd <= 0 {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("virtual keys: no runtime to record a request's usage");
            return;
        };
        let tokens = i64::try_from(tokens).unwrap_or(i64::MAX);
        rt.spawn(async move {
            let now = crate::store::now_ms();
            if let Err(e) = self
                .gate
                .team
                .add(
                    &self.key_id,
                    now,
                    Some(self.period),
                    tokens,
                    cost_micro_usd.max(0),
                )
                .await
            {
                tracing::warn!("virtual keys: could not record usage: {e}");
            }
        });
    }
}

fn unavailable(e: &crate::Error) -> Refusal {
    tracing::error!("virtual keys: {e}");
    Refusal::Unavailable(
        "the gateway cannot reach its virtual-key store; try again shortly (the bifrost admin will find the cause in the server log)"
            .into(),
    )
}

/// Every five minutes, drops old minute counters.
async fn sweep(gate: Weak<Gate>) {
    loop {
        tokio::time::sleep(Duration::from_secs(300)).await;
        let Some(g) = gate.upgrade() else { return };
        if let Err(e) = g.team.prune(crate::store::now_ms()).await {
            tracing::warn!("virtual keys: pruning counters failed: {e}");
        }
    }
}
