//! `GET /health` (liveness: the process answers) and `GET /ready` (readiness: the store
//! answers a trivial query and a provider is configured), for load balancers and
//! orchestrators. No authentication, and nothing secret in either answer.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::gateway::AppState;

pub(super) async fn health(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "providers": state.config.providers.keys().collect::<Vec<_>>(),
        "default_model": state.config.default_model,
        "in_flight": state.inflight.count(),
    }))
}

/// 200 `{"status":"ready"}`, or 503 with `problems` naming what is missing.
pub(super) async fn ready(State(state): State<Arc<AppState>>) -> Response {
    let mut problems = Vec::new();
    let providers = configured_providers(&state.config);
    if providers == 0 {
        problems.push(
            "no provider is configured; add a [providers.NAME] table (or set OPENAI_API_KEY)"
                .to_string(),
        );
    }
    let store = match state.writer.location().clone() {
        // A fresh read-only open each time: a pooled connection would keep answering from a
        // file that has been deleted under it.
        crate::store::Location::Sqlite(db) => {
            tokio::task::spawn_blocking(move || store_answers(&db))
                .await
                .unwrap_or_else(|e| Err(format!("store task: {e}")))
        }
        crate::store::Location::Postgres(url) => state
            .writer
            .pool()
            .ping()
            .await
            .map_err(|e| url.scrub(&e.to_string())),
    };
    if let Err(e) = store {
        // The detail (which may name a file or a server) goes to the log only.
        tracing::warn!("readiness: the store does not answer: {e}");
        problems.push("the log store does not answer a query; see the gateway's log".into());
    }
    if problems.is_empty() {
        (
            StatusCode::OK,
            Json(json!({
                "status": "ready",
                "store": "ok",
                "providers": providers,
            })),
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "problems": problems})),
        )
            .into_response()
    }
}

/// Providers a team configured: the implicit local Ollama (always present, keyless) counts
/// only when it is the default.
fn configured_providers(config: &crate::config::Config) -> usize {
    let ollama_is_default = config.default_provider.as_deref() == Some("ollama")
        || config
            .default_model
            .as_deref()
            .is_some_and(|m| m.starts_with("ollama/"));
    config
        .providers
        .values()
        .filter(|p| p.name != "ollama" || !p.keys.is_empty() || ollama_is_default)
        .count()
}

/// The store answers a trivial query on a fresh connection. The one place readiness touches
/// the store, so another backend is a change here only.
fn store_answers(db: &std::path::Path) -> Result<(), String> {
    let conn = rusqlite::Connection::open_with_flags(
        db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| e.to_string())?;
    conn.busy_timeout(std::time::Duration::from_secs(2))
        .map_err(|e| e.to_string())?;
    conn.query_row("SELECT count(*) FROM sessions WHERE 0", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|_| ())
    .map_err(|e| e.to_string())
}
