//! The cache table's DDL, for each store backend. Created with `IF NOT EXISTS` when a
//! gateway opens the cache; kept as constants so the store's migration list can take them
//! over unchanged.

/// SQLite: one row per entry; `expires_at` in Unix milliseconds.
pub const SQLITE: &str = "CREATE TABLE IF NOT EXISTS cache_entries (
    key          TEXT PRIMARY KEY,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    body         BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS cache_entries_expires ON cache_entries(expires_at);";

/// PostgreSQL: the same table.
pub const POSTGRES: &str = "CREATE TABLE IF NOT EXISTS cache_entries (
    key          TEXT PRIMARY KEY,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    body         BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS cache_entries_expires ON cache_entries(expires_at);";
