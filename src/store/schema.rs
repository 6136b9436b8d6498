//! The versioned schema: each migration runs once, in order, tracked by `PRAGMA user_version`.

/// Migrations; index + 1 is the schema version after it runs. Append only.
pub const MIGRATIONS: &[&str] = &[
    // 1: sessions, requests and bodies.
    "CREATE TABLE sessions (
        id          TEXT PRIMARY KEY,
        kind        TEXT NOT NULL,
        started_at  INTEGER NOT NULL,
        ended_at    INTEGER,
        argv        TEXT NOT NULL,
        cwd         TEXT,
        exit_code   INTEGER
    );
    CREATE TABLE requests (
        id                  TEXT PRIMARY KEY,
        session_id          TEXT,
        started_at          INTEGER NOT NULL,
        route               TEXT NOT NULL,
        provider            TEXT,
        model               TEXT,
        upstream_model      TEXT,
        key_alias           TEXT,
        stream              INTEGER NOT NULL,
        http_status         INTEGER NOT NULL,
        error               TEXT,
        input_tokens        INTEGER NOT NULL DEFAULT 0,
        cached_input_tokens INTEGER NOT NULL DEFAULT 0,
        cache_write_tokens  INTEGER NOT NULL DEFAULT 0,
        output_tokens       INTEGER NOT NULL DEFAULT 0,
        reasoning_tokens    INTEGER NOT NULL DEFAULT 0,
        cost_micro_usd      INTEGER,
        latency_us          INTEGER NOT NULL,
        ttft_us             INTEGER,
        upstream_us         INTEGER,
        overhead_us         INTEGER
    );
    CREATE INDEX requests_session ON requests(session_id, started_at);
    CREATE INDEX requests_started ON requests(started_at);
    CREATE INDEX sessions_started ON sessions(started_at);
    CREATE TABLE request_bodies (
        request_id      TEXT PRIMARY KEY,
        request_headers TEXT,
        request         TEXT,
        response        TEXT
    );",
    // 2: what translation dropped or warned about (hosted tools, oversize prompts).
    "ALTER TABLE requests ADD COLUMN notes TEXT;",
    // 3: MCP tool calls the gateway ran, and each request's tool time.
    "ALTER TABLE requests ADD COLUMN tool_us INTEGER;
    CREATE TABLE tool_calls (
        id          INTEGER PRIMARY KEY,
        request_id  TEXT NOT NULL,
        session_id  TEXT,
        started_at  INTEGER NOT NULL,
        server      TEXT NOT NULL,
        tool        TEXT NOT NULL,
        arguments   TEXT,
        duration_us INTEGER NOT NULL,
        is_error    INTEGER NOT NULL,
        result      TEXT
    );
    CREATE INDEX tool_calls_request ON tool_calls(request_id);
    CREATE INDEX tool_calls_session ON tool_calls(session_id, started_at);",
    // 4: `logs` reads the newest rows by (started_at, id): one index serves the order and
    // its tie-break, so the default listing stays a short index walk at millions of rows.
    "CREATE INDEX requests_started_id ON requests(started_at, id);
    DROP INDEX IF EXISTS requests_started;",
    // 5: every upstream attempt of a request (retries, cooled-down keys, fallbacks).
    "CREATE TABLE attempts (
        id          INTEGER PRIMARY KEY,
        request_id  TEXT NOT NULL,
        n           INTEGER NOT NULL,
        provider    TEXT NOT NULL,
        model       TEXT NOT NULL,
        key_alias   TEXT,
        status      INTEGER NOT NULL,
        error       TEXT,
        latency_us  INTEGER NOT NULL
    );
    CREATE INDEX attempts_request ON attempts(request_id);",
    // 6: the exact-match cache's verdict per request: 'hit', 'miss', or NULL (not consulted).
    "ALTER TABLE requests ADD COLUMN cache TEXT;",
];
