//! Virtual keys for teams: `bfk_` keys made with `bifrost keys create` (or `/admin/keys`),
//! stored hashed in the SQL store (the embedded SQLite file, or PostgreSQL with `[store]
//! url`), each with an optional budget, rate limits, model allow-list and expiry, enforced by
//! every `bifrost serve` instance sharing that store through atomic counters (in the store,
//! or in Redis with `[limits] redis_url`).
//!
//! `key.rs` is what a key is and how its limits are written; `window.rs` the counter
//! windows; `sql.rs` and `counters.rs` the storage; `gate.rs` the gateway's per-request
//! check; `admin.rs` the HTTP admin endpoints; the tables are migration 9 of the store (`store/schema.rs`).

pub mod admin;
mod counters;
pub mod gate;
pub mod key;

mod sql;
pub mod window;

pub use gate::{Charge, Gate, Refusal};
pub use key::{Budget, KeyRow, Period, State};
pub use sql::{Usage, is_postgres, redact_url};

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The key rows and counters of one deployment.
pub struct Team {
    sql: sql::Sql,
    redis: Option<counters::Redis>,
}

/// What a new key should be, as a user writes it (CLI flags or the admin JSON body).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyInput {
    /// Unique name.
    pub name: String,
    /// `50/month`, `5/day`.
    pub budget_usd: Option<String>,
    /// Requests per minute.
    pub rpm: Option<i64>,
    /// Tokens per minute.
    pub tpm: Option<i64>,
    /// Model globs: `"anthropic/*,openai/gpt-5.5"` or a JSON list.
    pub models: Option<Models>,
    /// `30d`, `12h`, or an RFC 3339 time.
    pub expires: Option<String>,
}

/// A model allow-list as text or a list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Models {
    /// Comma-separated.
    Text(String),
    /// One glob each.
    List(Vec<String>),
}

/// A key as `keys list` shows it: its row, state, and spend in the current budget period.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    /// The row (never the hash).
    #[serde(flatten)]
    pub key: KeyRow,
    /// Active, revoked or expired.
    pub state: State,
    /// Micro-USD spent this budget period (this UTC month without a budget).
    pub spend_micro_usd: i64,
}

fn limit(flag: &str, v: Option<i64>) -> Result<Option<i64>> {
    match v {
        Some(n) if n < 1 => Err(Error::Usage(format!(
            "--{flag} must be at least 1; leave it out for no limit"
        ))),
        v => Ok(v),
    }
}

fn not_found(r: &str) -> Error {
    Error::Usage(format!(
        "no virtual key is named or has the id `{r}`; `bifrost keys list` shows them"
    ))
}

impl Team {
    /// Opens the store `config` names (`BIFROST_STORE_URL` / `[store] url`, else `logs.db`
    /// in `home`), creating the tables, and Redis when `[limits] redis_url` is set.
    pub async fn open(config: &Config, home: &Path) -> Result<Team> {
        let location = crate::store::Location::resolve(config.store_url.as_ref(), home)?;
        let url = match &location {
            crate::store::Location::Postgres(u) => Some(u.secret().expose()),
            crate::store::Location::Sqlite(_) => None,
        };
        let sql = sql::Sql::open(url, home).await?;
        let redis = match &config.limits.redis_url {
            Some(url) => Some(counters::Redis::connect(url, &config.limits.redis_prefix).await?),
            None => None,
        };
        Ok(Team { sql, redis })
    }

    /// Creates a key; returns its row and the secret, which is never stored or shown again.
    pub async fn create(&self, input: &KeyInput, now_ms: i64) -> Result<(KeyRow, Secret)> {
        key::check_name(&input.name)?;
        let models = match &input.models {
            None => Vec::new(),
            Some(Models::Text(t)) => key::parse_models(t)?,
            Some(Models::List(l)) => key::parse_models(&l.join(","))?,
        };
        let secret = key::generate()?;
        let row = KeyRow {
            id: crate::store::new_id(),
            name: input.name.clone(),
            prefix: key::display_prefix(&secret),
            hash: key::hash(secret.expose().as_bytes()),
            budget: input.budget_usd.as_deref().map(Budget::parse).transpose()?,
            rpm: limit("rpm", input.rpm)?,
            tpm: limit("tpm", input.tpm)?,
            models,
            expires_at_ms: input
                .expires
                .as_deref()
                .map(|e| key::parse_expiry(e, now_ms))
                .transpose()?,
            created_at_ms: now_ms,
            revoked_at_ms: None,
            rotated_at_ms: None,
        };
        self.sql.insert(&row).await?;
        Ok((row, secret))
    }

    /// Every key with its state and current spend.
    pub async fn list(&self, now_ms: i64) -> Result<Vec<Listed>> {
        let mut out = Vec::new();
        for k in self.sql.list().await? {
            let period = k.budget.map_or(Period::Month, |b| b.period);
            let usage = self
                .usage(
                    &k.id,
                    &window::minute(now_ms),
                    Some(&window::period(period, now_ms)),
                    false,
                )
                .await?;
            out.push(Listed {
                state: k.state(now_ms),
                spend_micro_usd: usage.spend_micro,
                key: k,
            });
        }
        Ok(out)
    }

    /// Revokes a key by name or id; every gateway refuses it within [`gate::CACHE_TTL`].
    pub async fn revoke(&self, name_or_id: &str, now_ms: i64) -> Result<KeyRow> {
        let k = self
            .sql
            .find(name_or_id)
            .await?
            .ok_or_else(|| not_found(name_or_id))?;
        self.sql.revoke(&k.id, now_ms).await?;
        self.sql
            .find(&k.id)
            .await?
            .ok_or_else(|| not_found(name_or_id))
    }

    /// Gives a key a new secret (same row, limits and spend); the old one stops working.
    pub async fn rotate(&self, name_or_id: &str, now_ms: i64) -> Result<(KeyRow, Secret)> {
        let k = self
            .sql
            .find(name_or_id)
            .await?
            .ok_or_else(|| not_found(name_or_id))?;
        if k.revoked_at_ms.is_some() {
            return Err(Error::Usage(format!(
                "key `{}` is revoked; create a new one with `bifrost keys create --name NAME`",
                k.name
            )));
        }
        let secret = key::generate()?;
        self.sql
            .rotate(
                &k.id,
                &key::hash(secret.expose().as_bytes()),
                &key::display_prefix(&secret),
                now_ms,
            )
            .await?;
        let row = self
            .sql
            .find(&k.id)
            .await?
            .ok_or_else(|| not_found(name_or_id))?;
        Ok((row, secret))
    }

    /// The key a presented value hashes to.
    pub async fn lookup(&self, presented: &[u8]) -> Result<Option<KeyRow>> {
        self.sql.by_hash(&key::hash(presented)).await
    }

    /// A key's counters, counting one more request first when `count`.
    pub async fn usage(
        &self,
        key_id: &str,
        minute: &str,
        period: Option<&str>,
        count: bool,
    ) -> Result<Usage> {
        match &self.redis {
            Some(r) => r.admit(key_id, minute, period, count).await,
            None => self.sql.admit(key_id, minute, period, count).await,
        }
    }

    /// Adds a finished request's tokens and cost.
    pub async fn add(
        &self,
        key_id: &str,
        now_ms: i64,
        period: Option<Period>,
        tokens: i64,
        spend_micro: i64,
    ) -> Result<()> {
        let minute = window::minute(now_ms);
        let win = period.map(|p| window::period(p, now_ms));
        match &self.redis {
            Some(r) => {
                let p = period
                    .zip(win.as_deref())
                    .map(|(p, w)| (w, window::period_ttl_secs(p)));
                r.add(key_id, &minute, p, tokens, spend_micro).await
            }
            None => {
                self.sql
                    .add(key_id, &minute, win.as_deref(), tokens, spend_micro)
                    .await
            }
        }
    }

    /// Drops SQL minute counters more than ten minutes old (Redis ones expire by themselves).
    pub async fn prune(&self, now_ms: i64) -> Result<()> {
        if self.redis.is_some() {
            return Ok(());
        }
        self.sql
            .prune_minutes(&window::minute(now_ms - 10 * 60_000))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_sqlite_store_round_trips_keys_and_counts_atomically() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", e))?;
        let config = crate::config::Loaded::from_text("")?.resolve(&|_| None)?;
        let team = Team::open(&config, dir.path()).await?;
        let now = 1_749_995_120_500; // 2025-06-15T13:45:20.500Z
        let input = KeyInput {
            name: "alice".into(),
            budget_usd: Some("2/day".into()),
            rpm: Some(2),
            models: Some(Models::List(vec!["openai/*".into()])),
            ..KeyInput::default()
        };
        let (row, secret) = team.create(&input, now).await?;
        assert!(matches!(
            team.create(&input, now).await,
            Err(Error::Usage(_))
        ));
        assert_eq!(
            team.lookup(secret.expose().as_bytes()).await?,
            Some(row.clone())
        );
        assert_eq!(team.lookup(b"bfk_other").await?, None);

        let (minute, day) = (window::minute(now), window::period(Period::Day, now));
        for expected in 1..=3 {
            let u = team.usage(&row.id, &minute, Some(&day), true).await?;
            assert_eq!(u.requests, expected);
        }
        team.add(&row.id, now, Some(Period::Day), 15, 1_500_000)
            .await?;
        team.add(&row.id, now, Some(Period::Day), 5, 600_000)
            .await?;
        let u = team.usage(&row.id, &minute, Some(&day), false).await?;
        assert_eq!(
            u,
            Usage {
                requests: 3,
                tokens: 20,
                spend_micro: 2_100_000
            }
        );
        // The next minute starts from zero; the day's spend stays.
        let later = team
            .usage(&row.id, &window::minute(now + 60_000), Some(&day), false)
            .await?;
        assert_eq!((later.requests, later.spend_micro), (0, 2_100_000));
        let listed = team.list(now).await?;
        assert_eq!(listed[0].spend_micro_usd, 2_100_000);
        assert_eq!(listed[0].state, State::Active);

        let (rotated, new_secret) = team.rotate("alice", now + 1).await?;
        assert_eq!(rotated.id, row.id);
        assert_eq!(team.lookup(secret.expose().as_bytes()).await?, None);
        assert!(team.lookup(new_secret.expose().as_bytes()).await?.is_some());
        let revoked = team.revoke(&row.id, now + 2).await?;
        assert_eq!(revoked.state(now + 3), State::Revoked);
        assert!(matches!(
            team.rotate("alice", now).await,
            Err(Error::Usage(_))
        ));
        assert!(matches!(
            team.revoke("bob", now).await,
            Err(Error::Usage(_))
        ));

        team.prune(now + 11 * 60_000).await?;
        let pruned = team.usage(&row.id, &minute, Some(&day), false).await?;
        assert_eq!((pruned.requests, pruned.spend_micro), (0, 2_100_000));
        Ok(())
    }
}
