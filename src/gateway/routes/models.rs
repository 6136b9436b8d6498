//! `GET /models`: each configured provider's models, named `provider/model` so they can be
//! passed back as-is.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::gateway::{ApiError, AppState, auth};
use crate::providers::pick_key;

#[derive(Deserialize)]
struct List {
    data: Vec<serde_json::Value>,
}

pub(super) async fn models(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(e) = auth::authenticate(&state, &headers).await {
        return e.into_response();
    }
    let mut data = Vec::new();
    let mut failures = Vec::new();
    for provider in state.config.providers.values() {
        let mut req = state.client.get(format!("{}/models", provider.base_url));
        if let Some(key) = pick_key(provider, 0) {
            req = req.bearer_auth(key.secret.expose());
        }
        let listed = match req.send().await {
            Ok(r) if r.status().is_success() => match r.bytes().await {
                Ok(b) => serde_json::from_slice::<List>(&b)
                    .map_err(|e| format!("unreadable model list: {e}")),
                Err(e) => Err(e.without_url().to_string()),
            },
            Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
            Err(e) => Err(e.without_url().to_string()),
        };
        match listed {
            Ok(list) => {
                for mut m in list.data {
                    if let Some(id) = m.get("id").and_then(|v| v.as_str()).map(str::to_string) {
                        m["id"] = json!(format!("{}/{id}", provider.name));
                    }
                    data.push(m);
                }
            }
            Err(e) => failures.push(format!("{}: {e}", provider.name)),
        }
    }
    if data.is_empty() && !failures.is_empty() {
        return ApiError::new(
            StatusCode::BAD_GATEWAY,
            "server_error",
            Some("upstream_unreachable"),
            format!("no provider listed its models ({})", failures.join("; ")),
        )
        .into_response();
    }
    axum::Json(json!({"object": "list", "data": data})).into_response()
}
