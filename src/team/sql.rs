//! The SQL side of virtual keys: the key rows, and the usage counters when Redis is not
//! configured. One async interface over the embedded SQLite file (rusqlite on the blocking
//! pool) and PostgreSQL (tokio-postgres, reconnecting when the connection drops).
//!
//! Counters are atomic in both: an upsert that adds and returns the new value in one
//! statement (`INSERT ... ON CONFLICT DO UPDATE SET n = n + x RETURNING n`), so two gateways
//! sharing a database never both take the last request of a minute.

use std::path::Path;
use std::sync::{Arc, Mutex};

use super::key::{Budget, KeyRow, Period};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// A key's counters in the current windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Requests this minute (including the one being admitted, when counted).
    pub requests: i64,
    /// Tokens this minute.
    pub tokens: i64,
    /// Micro-USD this budget period.
    pub spend_micro: i64,
}

/// Where key rows (and, without Redis, counters) live.
pub enum Sql {
    /// `logs.db` under `BIFROST_HOME`.
    Sqlite(Arc<Mutex<rusqlite::Connection>>),
    /// A PostgreSQL database.
    Postgres(Pg),
}

/// PostgreSQL: two connections, each re-opened when it drops. Key rows are written with
/// the server's durable commits; counters go through a connection with `synchronous_commit
/// = off`, which keeps every statement atomic and visible to other sessions at once but
/// does not wait for the WAL flush (a few ms per statement here): a server crash can lose
/// the last fraction of a second of counts, never a key change.
pub struct Pg {
    url: Secret,
    keys: tokio::sync::Mutex<Option<Arc<Conn>>>,
    counters: tokio::sync::Mutex<Option<Arc<Conn>>>,
}

/// One connection and its prepared statements (prepared once, not once per request).
pub struct Conn {
    client: tokio_postgres::Client,
    prepared: Mutex<std::collections::HashMap<String, tokio_postgres::Statement>>,
}

type PgParams<'a> = [&'a (dyn tokio_postgres::types::ToSql + Sync)];

impl Conn {
    async fn statement(&self, sql: &str) -> Result<tokio_postgres::Statement> {
        if let Some(st) = self.prepared.lock().ok().and_then(|m| m.get(sql).cloned()) {
            return Ok(st);
        }
        let st = self.client.prepare(sql).await.map_err(pg_err)?;
        if let Ok(mut m) = self.prepared.lock() {
            m.insert(sql.to_string(), st.clone());
        }
        Ok(st)
    }

    async fn query(&self, sql: &str, params: &PgParams<'_>) -> Result<Vec<tokio_postgres::Row>> {
        let st = self.statement(sql).await?;
        self.client.query(&st, params).await.map_err(pg_err)
    }

    async fn execute(
        &self,
        sql: &str,
        params: &PgParams<'_>,
    ) -> std::result::Result<u64, tokio_postgres::Error> {
        match self.statement(sql).await {
            Ok(st) => self.client.execute(&st, params).await,
            // Preparing failed: run it unprepared to get the driver's own error.
            Err(_) => self.client.execute(sql, params).await,
        }
    }
}

const COLUMNS: &str = "id, name, prefix, hash, budget_micro, budget_period, rpm, tpm, models, expires_at, created_at, revoked_at, rotated_at";

/// `postgres://user:[redacted]@host/db`: a URL fit for a message.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return "[redacted]".into();
    };
    let rest = &url[scheme_end..];
    let host_at = rest.find('/').unwrap_or(rest.len());
    match rest[..host_at].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or("");
            format!(
                "{}{user}:[redacted]@{}",
                &url[..scheme_end],
                &rest[at + 1..]
            )
        }
        None => url.to_string(),
    }
}

/// Whether a store URL selects PostgreSQL.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The statement in SQLite's spelling: `$N` (by first appearance there) becomes `?N` (by
/// number, as in PostgreSQL).
fn lite(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

/// The error with PostgreSQL's own message ("password authentication failed ...") when
/// there is one; none of them carry the URL.
fn pg_detail(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{e}: {}", db.message()),
        None => match std::error::Error::source(e) {
            Some(s) => format!("{e}: {s}"),
            None => e.to_string(),
        },
    }
}

fn pg_err(e: tokio_postgres::Error) -> Error {
    Error::Team(format!("PostgreSQL: {}", pg_detail(&e)))
}

fn join_err(e: tokio::task::JoinError) -> Error {
    Error::Internal(format!("a store task failed: {e}"))
}

fn models_text(models: &[String]) -> Option<String> {
    (!models.is_empty()).then(|| models.join(","))
}

fn models_of(text: Option<String>) -> Vec<String> {
    text.map(|t| {
        t.split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

fn budget_of(micro: Option<i64>, period: Option<String>) -> Option<Budget> {
    Some(Budget {
        micro_usd: micro?,
        period: Period::from_name(&period?)?,
    })
}

fn sqlite_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok(KeyRow {
        id: r.get(0)?,
        name: r.get(1)?,
        prefix: r.get(2)?,
        hash: r.get(3)?,
        budget: budget_of(r.get(4)?, r.get(5)?),
        rpm: r.get(6)?,
        tpm: r.get(7)?,
        models: models_of(r.get(8)?),
        expires_at_ms: r.get(9)?,
        created_at_ms: r.get(10)?,
        revoked_at_ms: r.get(11)?,
        rotated_at_ms: r.get(12)?,
    })
}

fn pg_row(r: &tokio_postgres::Row) -> Result<KeyRow> {
    let row = || -> std::result::Result<KeyRow, tokio_postgres::Error> {
        Ok(KeyRow {
            id: r.try_get(0)?,
            name: r.try_get(1)?,
            prefix: r.try_get(2)?,
            hash: r.try_get(3)?,
            budget: budget_of(r.try_get(4)?, r.try_get(5)?),
            rpm: r.try_get(6)?,
            tpm: r.try_get(7)?,
            models: models_of(r.try_get(8)?),
            expires_at_ms: r.try_get(9)?,
            created_at_ms: r.try_get(10)?,
            revoked_at_ms: r.try_get(11)?,
            rotated_at_ms: r.try_get(12)?,
        })
    };
    row().map_err(pg_err)
}

fn name_taken(name: &str) -> Error {
    Error::Usage(format!(
        "a key named `{name}` already exists (possibly revoked); pick another --name, or `bifrost keys rotate {name}` for a new secret"
    ))
}

impl Sql {
    /// Opens the store named by `url` (`None`: `logs.db` in `home`) running the store's migrations first.
    pub async fn open(url: Option<&str>, home: &Path) -> Result<Sql> {
        match url {
            Some(u) if is_postgres(u) => {
                let pg = Pg {
                    url: Secret::new(u),
                    keys: tokio::sync::Mutex::new(None),
                    counters: tokio::sync::Mutex::new(None),
                };
                // The tables come with the store's migrations (advisory-locked, so instances
                // starting together take turns); run them before the first query.
                let location = crate::store::Location::Postgres(
                    crate::store::PgUrl::parse(u).map_err(Error::Usage)?,
                );
                tokio::task::spawn_blocking(move || crate::store::connect(&location).map(drop))
                    .await
                    .map_err(join_err)??;
                pg.keys().await?;
                Ok(Sql::Postgres(pg))
            }
            Some(u) => Err(Error::Usage(format!(
                "store URL `{}` is not supported; write [store] url = \"postgres://user:password@host/db\", or remove it for the embedded SQLite store",
                redact_url(u)
            ))),
            None => {
                let path = home.join("logs.db");
                let conn = tokio::task::spawn_blocking(move || -> Result<rusqlite::Connection> {
                    // Opening migrates: the tables are part of the store's schema.
                    crate::store::open(&path)
                })
                .await
                .map_err(join_err)??;
                Ok(Sql::Sqlite(Arc::new(Mutex::new(conn))))
            }
        }
    }

    /// Runs `f` on the SQLite connection on the blocking pool.
    async fn sqlite<T: Send + 'static>(
        conn: &Arc<Mutex<rusqlite::Connection>>,
        f: impl FnOnce(&mut rusqlite::Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn
                .lock()
                .map_err(|_| Error::Internal("the key store lock is poisoned".into()))?;
            f(&mut c)
        })
        .await
        .map_err(join_err)?
    }

    /// Adds a key; a taken name is a usage error.
    pub async fn insert(&self, k: &KeyRow) -> Result<()> {
        let k = k.clone();
        let sql = format!(
            "INSERT INTO virtual_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        );
        match self {
            Sql::Sqlite(c) => {
                Self::sqlite(c, move |c| {
                    let r = c.execute(
                        &lite(&sql),
                        rusqlite::params![
                            k.id,
                            k.name,
                            k.prefix,
                            k.hash,
                            k.budget.map(|b| b.micro_usd),
                            k.budget.map(|b| b.period.name()),
                            k.rpm,
                            k.tpm,
                            models_text(&k.models),
                            k.expires_at_ms,
                            k.created_at_ms,
                            k.revoked_at_ms,
                            k.rotated_at_ms
                        ],
                    );
                    match r {
                        Ok(_) => Ok(()),
                        Err(rusqlite::Error::SqliteFailure(e, _))
                            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                        {
                            Err(name_taken(&k.name))
                        }
                        Err(e) => Err(e.into()),
                    }
                })
                .await
            }
            Sql::Postgres(pg) => {
                let conn = pg.keys().await?;
                let r = conn
                    .execute(
                        &sql,
                        &[
                            &k.id,
                            &k.name,
                            &k.prefix,
                            &k.hash,
                            &k.budget.map(|b| b.micro_usd),
                            &k.budget.map(|b| b.period.name()),
                            &k.rpm,
                            &k.tpm,
                            &models_text(&k.models),
                            &k.expires_at_ms,
                            &k.created_at_ms,
                            &k.revoked_at_ms,
                            &k.rotated_at_ms,
                        ],
                    )
                    .await;
                match r {
                    Ok(_) => Ok(()),
                    Err(e)
                        if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) =>
                    {
                        Err(name_taken(&k.name))
                    }
                    Err(e) => Err(pg_err(e)),
                }
            }
        }
    }

    /// Every key, oldest first.
    pub async fn list(&self) -> Result<Vec<KeyRow>> {
        let sql = format!("SELECT {COLUMNS} FROM virtual_keys ORDER BY created_at, id");
        self.select(sql, Vec::new()).await
    }

    /// The key with this hash, whatever its state.
    pub async fn by_hash(&self, hash: &str) -> Result<Option<KeyRow>> {
        let sql = format!("SELECT {COLUMNS} FROM virtual_keys WHERE hash = $1");
        Ok(self.select(sql, vec![hash.to_string()]).await?.pop())
    }

    /// The key with this name or id.
    pub async fn find(&self, name_or_id: &str) -> Result<Option<KeyRow>> {
        let sql = format!("SELECT {COLUMNS} FROM virtual_keys WHERE name = $1 OR id = $1");
        Ok(self.select(sql, vec![name_or_id.to_string()]).await?.pop())
    }

    async fn select(&self, sql: String, args: Vec<String>) -> Result<Vec<KeyRow>> {
        match self {
            Sql::Sqlite(c) => {
                Self::sqlite(c, move |c| {
                    let mut st = c.prepare_cached(&lite(&sql))?;
                    let rows = st
                        .query_map(rusqlite::params_from_iter(args.iter()), sqlite_row)?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    Ok(rows)
                })
                .await
            }
            Sql::Postgres(pg) => {
                let conn = pg.keys().await?;
                let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = args
                    .iter()
                    .map(|a| a as &(dyn tokio_postgres::types::ToSql + Sync))
                    .collect();
                let rows = conn.query(&sql, &params).await?;
                rows.iter().map(pg_row).collect()
            }
        }
    }

    /// Marks a key revoked (once; a second revoke keeps the first time).
    pub async fn revoke(&self, id: &str, now_ms: i64) -> Result<()> {
        let sql = "UPDATE virtual_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1";
        self.update(sql, id.to_string(), vec![Box::new(now_ms)])
            .await
    }

    /// Replaces a key's secret: the old hash stops matching at once.
    pub async fn rotate(&self, id: &str, hash: &str, prefix: &str, now_ms: i64) -> Result<()> {
        let sql = "UPDATE virtual_keys SET hash = $2, prefix = $3, rotated_at = $4 WHERE id = $1";
        self.update(
            sql,
            id.to_string(),
            vec![
                Box::new(hash.to_string()),
                Box::new(prefix.to_string()),
                Box::new(now_ms),
            ],
        )
        .await
    }

    async fn update(&self, sql: &'static str, id: String, rest: Vec<Box<dyn Param>>) -> Result<()> {
        match self {
            Sql::Sqlite(c) => {
                Self::sqlite(c, move |c| {
                    let mut args: Vec<&dyn rusqlite::ToSql> = vec![&id];
                    args.extend(rest.iter().map(|p| p.sqlite()));
                    c.execute(&lite(sql), args.as_slice())?;
                    Ok(())
                })
                .await
            }
            Sql::Postgres(pg) => {
                let conn = pg.keys().await?;
                let mut args: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&id];
                args.extend(rest.iter().map(|p| p.pg()));
                conn.execute(sql, &args).await.map_err(pg_err)?;
                Ok(())
            }
        }
    }

    /// Reads a key's counters; with `count`, first adds this request to the minute's count,
    /// atomically, and returns the new value.
    pub async fn admit(
        &self,
        key_id: &str,
        minute: &str,
        period: Option<&str>,
        count: bool,
    ) -> Result<Usage> {
        let (id, minute, period) = (
            key_id.to_string(),
            minute.to_string(),
            period.unwrap_or("").to_string(),
        );
        const COUNT: &str = "WITH m AS (
                INSERT INTO virtual_key_usage (key_id, win, requests) VALUES ($1, $2, 1)
                ON CONFLICT (key_id, win) DO UPDATE SET requests = virtual_key_usage.requests + 1
                RETURNING requests, tokens)
            SELECT m.requests, m.tokens,
                COALESCE((SELECT spend_micro FROM virtual_key_usage WHERE key_id = $1 AND win = $3), 0)
            FROM m";
        const READ: &str = "SELECT
                COALESCE((SELECT requests FROM virtual_key_usage WHERE key_id = $1 AND win = $2), 0),
                COALESCE((SELECT tokens FROM virtual_key_usage WHERE key_id = $1 AND win = $2), 0),
                COALESCE((SELECT spend_micro FROM virtual_key_usage WHERE key_id = $1 AND win = $3), 0)";
        match self {
            Sql::Sqlite(c) => {
                Self::sqlite(c, move |c| {
                    if count {
                        // SQLite has no data-modifying CTEs: upsert, then read, in one
                        // IMMEDIATE transaction (other processes on the file wait).
                        let tx = c.transaction_with_behavior(
                            rusqlite::TransactionBehavior::Immediate,
                        )?;
                        let (requests, tokens): (i64, i64) = tx.query_row(
                            "INSERT INTO virtual_key_usage (key_id, win, requests) VALUES (?1, ?2, 1)
                             ON CONFLICT (key_id, win) DO UPDATE SET requests = requests + 1
                             RETURNING requests, tokens",
                            rusqlite::params![id, minute],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )?;
                        let spend_micro: i64 = tx.query_row(
                            "SELECT COALESCE((SELECT spend_micro FROM virtual_key_usage WHERE key_id = ?1 AND win = ?2), 0)",
                            rusqlite::params![id, period],
                            |r| r.get(0),
                        )?;
                        tx.commit()?;
                        Ok(Usage {
                            requests,
                            tokens,
                            spend_micro,
                        })
                    } else {
                        Ok(c.query_row(&lite(READ), rusqlite::params![id, minute, period], |r| {
                            Ok(Usage {
                                requests: r.get(0)?,
                                tokens: r.get(1)?,
                                spend_micro: r.get(2)?,
                            })
                        })?)
                    }
                })
                .await
            }
            Sql::Postgres(pg) => {
                let conn = pg.counters().await?;
                let rows = conn
                    .query(if count { COUNT } else { READ }, &[&id, &minute, &period])
                    .await?;
                let row = rows
                    .first()
                    .ok_or_else(|| Error::Team("PostgreSQL returned no counter row".into()))?;
                Ok(Usage {
                    requests: row.try_get(0).map_err(pg_err)?,
                    tokens: row.try_get(1).map_err(pg_err)?,
                    spend_micro: row.try_get(2).map_err(pg_err)?,
                })
            }
        }
    }

    /// Adds a finished request's tokens to the minute and its cost to the budget period.
    pub async fn add(
        &self,
        key_id: &str,
        minute: &str,
        period: Option<&str>,
        tokens: i64,
        spend_micro: i64,
    ) -> Result<()> {
        const TOKENS: &str =
            "INSERT INTO virtual_key_usage (key_id, win, tokens) VALUES ($1, $2, $3)
            ON CONFLICT (key_id, win) DO UPDATE SET tokens = virtual_key_usage.tokens + $3";
        const SPEND: &str = "INSERT INTO virtual_key_usage (key_id, win, spend_micro) VALUES ($1, $2, $3)
            ON CONFLICT (key_id, win) DO UPDATE SET spend_micro = virtual_key_usage.spend_micro + $3";
        let mut adds: Vec<(&'static str, String, i64)> = Vec::new();
        if tokens > 0 {
            adds.push((TOKENS, minute.to_string(), tokens));
        }
        if let Some(p) = period
            && spend_micro > 0
        {
            adds.push((SPEND, p.to_string(), spend_micro));
        }
        if adds.is_empty() {
            return Ok(());
        }
        let id = key_id.to_string();
        match self {
            Sql::Sqlite(c) => {
                Self::sqlite(c, move |c| {
                    let tx = c.transaction()?;
                    for (sql, win, n) in &adds {
                        tx.execute(&lite(sql), rusqlite::params![id, win, n])?;
                    }
                    tx.commit()?;
                    Ok(())
                })
                .await
            }
            Sql::Postgres(pg) => {
                let conn = pg.counters().await?;
                for (sql, win, n) in &adds {
                    conn.execute(sql, &[&id, win, n]).await.map_err(pg_err)?;
                }
                Ok(())
            }
        }
    }

    /// Deletes minute counters older than `before` (a [`super::window::minute`] name).
    pub async fn prune_minutes(&self, before: &str) -> Result<()> {
        let before = before.to_string();
        const SQL: &str = "DELETE FROM virtual_key_usage WHERE win LIKE 'min:%' AND win < $1";
        match self {
            Sql::Sqlite(c) => {
                Self::sqlite(c, move |c| {
                    c.execute(&lite(SQL), [before])?;
                    Ok(())
                })
                .await
            }
            Sql::Postgres(pg) => {
                let conn = pg.counters().await?;
                conn.execute(SQL, &[&before]).await.map_err(pg_err)?;
                Ok(())
            }
        }
    }
}

/// A parameter both drivers can bind.
trait Param: Send + Sync {
    fn sqlite(&self) -> &dyn rusqlite::ToSql;
    fn pg(&self) -> &(dyn tokio_postgres::types::ToSql + Sync);
}

impl Param for i64 {
    fn sqlite(&self) -> &dyn rusqlite::ToSql {
        self
    }
    fn pg(&self) -> &(dyn tokio_postgres::types::ToSql + Sync) {
        self
    }
}

impl Param for String {
    fn sqlite(&self) -> &dyn rusqlite::ToSql {
        self
    }
    fn pg(&self) -> &(dyn tokio_postgres::types::ToSql + Sync) {
        self
    }
}

impl Pg {
    /// The connection for key rows.
    async fn keys(&self) -> Result<Arc<Conn>> {
        self.connect(&self.keys, false).await
    }

    /// The connection for counters (`synchronous_commit = off`).
    async fn counters(&self) -> Result<Arc<Conn>> {
        self.connect(&self.counters, true).await
    }

    /// The live connection in `slot`, connecting (again) when there is none or it closed.
    async fn connect(
        &self,
        slot: &tokio::sync::Mutex<Option<Arc<Conn>>>,
        fast_commits: bool,
    ) -> Result<Arc<Conn>> {
        let mut slot = slot.lock().await;
        if let Some(c) = slot.as_ref()
            && !c.client.is_closed()
        {
            return Ok(c.clone());
        }
        let (client, connection) =
            tokio_postgres::connect(self.url.expose(), tokio_postgres::NoTls)
                .await
                .map_err(|e| {
                    Error::Team(format!(
                        "cannot connect to PostgreSQL at {}: {}",
                        redact_url(self.url.expose()),
                        pg_detail(&e)
                    ))
                })?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!("virtual keys: PostgreSQL connection ended: {e}");
            }
        });
        if fast_commits {
            client
                .batch_execute("SET synchronous_commit = off")
                .await
                .map_err(pg_err)?;
        }
        let conn = Arc::new(Conn {
            client,
            prepared: Mutex::new(std::collections::HashMap::new()),
        });
        *slot = Some(conn.clone());
        Ok(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(
            redact_url("postgres://bifrost:s3cret@127.0.0.1:5432/db"),
            "postgres://bifrost:[redacted]@127.0.0.1:5432/db"
        );
        assert_eq!(
            redact_url("postgres://127.0.0.1/db"),
            "postgres://127.0.0.1/db"
        );
        assert_eq!(redact_url("garbage s3cret"), "[redacted]");
        assert!(is_postgres("postgresql://h/db") && !is_postgres("mysql://h/db"));
        assert_eq!(
            lite("SET a = COALESCE(a, $2) WHERE id = $1 AND x = '$'"),
            "SET a = COALESCE(a, ?2) WHERE id = ?1 AND x = '$'"
        );
    }
}
