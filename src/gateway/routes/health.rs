//! `GET /health`: liveness, with no authentication and no secrets.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::gateway::AppState;

pub(super) async fn health(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "providers": state.config.providers.keys().collect::<Vec<_>>(),
        "in_flight": state.inflight.count(),
    }))
}
