//! The real PostgreSQL and Redis servers team-mode tests use (started by `scripts/services.sh`,
//! which `.ci/run` calls): each test gets its own fresh database and its own Redis namespace.

use std::sync::atomic::{AtomicU32, Ordering};

/// The server-level PostgreSQL URL (a role that may create databases).
pub fn pg_admin_url() -> String {
    std::env::var("BIFROST_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://bifrost:bifrost@127.0.0.1:5432/postgres".into())
}

/// The Redis URL.
pub fn redis_url() -> String {
    std::env::var("BIFROST_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Creates an empty database for one test and returns its URL. Panics with the fix when the
/// server is not there (the tests need it; `scripts/services.sh start` starts it).
pub fn fresh_pg_database() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "bifrost_test_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        jiff::Timestamp::now().as_millisecond()
    );
    let admin = pg_admin_url();
    let create = format!("CREATE DATABASE {name}");
    // The sync client runs its own runtime: keep it off any test runtime's thread.
    let result = std::thread::spawn(move || -> Result<(), String> {
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .map_err(|e| format!("connecting to {admin}: {e}"))?;
        client.batch_execute(&create).map_err(|e| e.to_string())
    })
    .join()
    .expect("pg thread");
    if let Err(e) = result {
        panic!(
            "PostgreSQL is needed for this test ({e}); run `scripts/services.sh start` or set BIFROST_TEST_PG_URL"
        );
    }
    // Swap the database name at the end of the URL (postgres://user:pass@host:port/db).
    let base = pg_admin_url();
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    match base[after_scheme..].find('/') {
        Some(i) => format!("{}/{name}", &base[..after_scheme + i]),
        None => format!("{base}/{name}"),
    }
}

/// A key prefix no other test uses, for tests that share the Redis server.
pub fn redis_namespace() -> String {
    format!("bifrost-test-{}", uuid::Uuid::now_v7().simple())
}
