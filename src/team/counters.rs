//! Usage counters in Redis (`[limits] redis_url`), for deployments that keep hot counters
//! out of the SQL store. Each counter is one key, `PREFIX:vk:KEY_ID:WINDOW:FIELD`, changed
//! with `INCRBY` and given an expiry in the same `MULTI` transaction, so every gateway sees
//! one atomic count and old windows vanish by themselves.

use redis::aio::ConnectionManager;

use super::sql::Usage;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// Minute counters outlive their minute by one more, for clocks slightly apart.
const MINUTE_TTL_SECS: i64 = 120;

/// A Redis connection (reconnecting by itself) and the key prefix.
#[derive(Clone)]
pub struct Redis {
    con: ConnectionManager,
    prefix: String,
}

fn redis_err(e: redis::RedisError) -> Error {
    Error::Team(format!("Redis: {e}"))
}

impl Redis {
    /// Connects; the URL's password never appears in the error.
    pub async fn connect(url: &Secret, prefix: &str) -> Result<Redis> {
        let shown = super::sql::redact_url(url.expose());
        let client = redis::Client::open(url.expose()).map_err(|_| {
            Error::Team(format!(
                "Redis URL {shown} does not parse; write redis://host:6379"
            ))
        })?;
        let con = client
            .get_connection_manager()
            .await
            .map_err(|e| Error::Team(format!("cannot connect to Redis at {shown}: {e}")))?;
        Ok(Redis {
            con,
            prefix: prefix.to_string(),
        })
    }

    fn key(&self, key_id: &str, win: &str, field: &str) -> String {
        format!("{}:vk:{key_id}:{win}:{field}", self.prefix)
    }

    /// As [`super::sql::Sql::admit`].
    pub async fn admit(
        &self,
        key_id: &str,
        minute: &str,
        period: Option<&str>,
        count: bool,
    ) -> Result<Usage> {
        let rq = self.key(key_id, minute, "requests");
        let tk = self.key(key_id, minute, "tokens");
        let sp = self.key(key_id, period.unwrap_or("none"), "spend");
        let mut con = self.con.clone();
        let (requests, tokens, spend): (Option<i64>, Option<i64>, Option<i64>) = if count {
            redis::pipe()
                .atomic()
                .incr(&rq, 1)
                .expire(&rq, MINUTE_TTL_SECS)
                .ignore()
                .get(&tk)
                .get(&sp)
                .query_async(&mut con)
                .await
                .map_err(redis_err)?
        } else {
            redis::pipe()
                .get(&rq)
                .get(&tk)
                .get(&sp)
                .query_async(&mut con)
                .await
                .map_err(redis_err)?
        };
        Ok(Usage {
            requests: requests.unwrap_or(0),
            tokens: tokens.unwrap_or(0),
            spend_micro: if period.is_some() {
                spend.unwrap_or(0)
            } else {
                0
            },
        })
    }

    /// As [`super::sql::Sql::add`]; `period_ttl` is how long the budget counter must live.
    pub async fn add(
        &self,
        key_id: &str,
        minute: &str,
        period: Option<(&str, i64)>,
        tokens: i64,
        spend_micro: i64,
    ) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        let mut any = false;
        if tokens > 0 {
            let tk = self.key(key_id, minute, "tokens");
            pipe.incr(&tk, tokens)
                .ignore()
                .expire(&tk, MINUTE_TTL_SECS)
                .ignore();
            any = true;
        }
        if let Some((p, ttl)) = period
            && spend_micro > 0
        {
            let sp = self.key(key_id, p, "spend");
            pipe.incr(&sp, spend_micro)
                .ignore()
                .expire(&sp, ttl)
                .ignore();
            any = true;
        }
        if !any {
            return Ok(());
        }
        let mut con = self.con.clone();
        pipe.query_async::<()>(&mut con).await.map_err(redis_err)
    }
}
