//! The virtual-key tables, in both SQL dialects: kept self-contained (plain `CREATE TABLE IF
//! NOT EXISTS`, run at every open) so it can become one numbered migration of the log store.
//!
//! `virtual_keys` holds one row per key: its SHA-256 hash (never the key), a short display
//! prefix, and its limits. `virtual_key_usage` holds the atomic counters, one row per key and
//! window (`min:<unix minute>` for rates, `day:YYYY-MM-DD` / `month:YYYY-MM` for budgets).

/// SQLite (the embedded `logs.db`).
pub const SQLITE: &str = "
CREATE TABLE IF NOT EXISTS virtual_keys (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    prefix        TEXT NOT NULL,
    hash          TEXT NOT NULL UNIQUE,
    budget_micro  INTEGER,
    budget_period TEXT,
    rpm           INTEGER,
    tpm           INTEGER,
    models        TEXT,
    expires_at    INTEGER,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    rotated_at    INTEGER
);
CREATE TABLE IF NOT EXISTS virtual_key_usage (
    key_id      TEXT NOT NULL,
    win         TEXT NOT NULL,
    requests    INTEGER NOT NULL DEFAULT 0,
    tokens      INTEGER NOT NULL DEFAULT 0,
    spend_micro INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, win)
);
";

/// PostgreSQL.
pub const POSTGRES: &str = "
CREATE TABLE IF NOT EXISTS virtual_keys (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    prefix        TEXT NOT NULL,
    hash          TEXT NOT NULL UNIQUE,
    budget_micro  BIGINT,
    budget_period TEXT,
    rpm           BIGINT,
    tpm           BIGINT,
    models        TEXT,
    expires_at    BIGINT,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT,
    rotated_at    BIGINT
);
CREATE TABLE IF NOT EXISTS virtual_key_usage (
    key_id      TEXT NOT NULL,
    win         TEXT NOT NULL,
    requests    BIGINT NOT NULL DEFAULT 0,
    tokens      BIGINT NOT NULL DEFAULT 0,
    spend_micro BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, win)
);
";
