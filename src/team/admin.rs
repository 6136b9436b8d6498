//! `/admin/keys` on `bifrost serve`: create, list, revoke and rotate virtual keys over HTTP,
//! as `bifrost keys` does locally. Only `[server] admin_keys` get in: no key or an unknown
//! one is 401, a key that may call the API (a `[server] keys` key or any virtual key) but
//! not manage it is 403.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::KeyInput;
use crate::error::Error;
use crate::gateway::{ApiError, AppState, presented_key};
use crate::secret::any_matches;

/// The admin routes, merged into the gateway's router.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin/keys", get(list).post(create))
        .route("/admin/keys/{key}/revoke", post(revoke))
        .route("/admin/keys/{key}/rotate", post(rotate))
}

/// The admin check; `Ok` carries the key store.
fn admitted(state: &AppState, headers: &HeaderMap) -> Result<Arc<super::Team>, ApiError> {
    let Some(k) = presented_key(headers) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            Some("missing_api_key"),
            "missing admin key: send `Authorization: Bearer <key>` with a key from [server] admin_keys",
        ));
    };
    let virtual_key = k.starts_with(super::key::PREFIX.as_bytes());
    if !virtual_key && any_matches(&state.config.server.admin_keys, k) {
        return state
            .team
            .as_ref()
            .map(|g| g.team().clone())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "invalid_request_error",
                    Some("virtual_keys_disabled"),
                    "virtual keys are off on this gateway; remove `virtual_keys = false` from [server]",
                )
            });
    }
    if virtual_key || any_matches(&state.keys, k) {
        let hint = if state.config.server.admin_keys.is_empty() {
            "no admin key is configured; add `[server] admin_keys = [\"env:BIFROST_ADMIN_KEY\"]` to the server's config"
        } else {
            "use a key from [server] admin_keys"
        };
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_error",
            Some("admin_key_required"),
            format!("this key may call the API but not manage keys; {hint}"),
        ));
    }
    Err(ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_request_error",
        Some("invalid_api_key"),
        "invalid admin key: use a key from the server's [server] admin_keys",
    ))
}

fn failed(e: Error) -> Response {
    match e {
        Error::Usage(m) => ApiError::bad_request(m).into_response(),
        e => {
            tracing::error!("admin: {e}");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                None,
                "the virtual-key store failed; see the server log",
            )
            .into_response()
        }
    }
}

async fn list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let team = match admitted(&state, &headers) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    match team.list(crate::store::now_ms()).await {
        Ok(keys) => axum::Json(json!({"object": "list", "data": keys})).into_response(),
        Err(e) => failed(e),
    }
}

async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let team = match admitted(&state, &headers) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let input: KeyInput = match serde_json::from_slice(&body) {
        Ok(i) => i,
        Err(e) => {
            return ApiError::bad_request(format!(
                "unreadable key request ({e}); send e.g. {{\"name\": \"alice\", \"budget_usd\": \"50/month\", \"rpm\": 60, \"models\": [\"anthropic/*\"], \"expires\": \"30d\"}}"
            ))
            .into_response();
        }
    };
    match team.create(&input, crate::store::now_ms()).await {
        Ok((row, secret)) => {
            tracing::info!("admin: created virtual key {} ({})", row.name, row.id);
            (
                StatusCode::CREATED,
                axum::Json(json!({"key": secret.expose(), "virtual_key": row})),
            )
                .into_response()
        }
        Err(e) => failed(e),
    }
}

async fn revoke(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    let team = match admitted(&state, &headers) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    match team.revoke(&key, crate::store::now_ms()).await {
        Ok(row) => {
            tracing::info!("admin: revoked virtual key {} ({})", row.name, row.id);
            axum::Json(json!({"virtual_key": row})).into_response()
        }
        Err(e) => failed(e),
    }
}

async fn rotate(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    let team = match admitted(&state, &headers) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    match team.rotate(&key, crate::store::now_ms()).await {
        Ok((row, secret)) => {
            tracing::info!("admin: rotated virtual key {} ({})", row.name, row.id);
            axum::Json(json!({"key": secret.expose(), "virtual_key": row})).into_response()
        }
        Err(e) => failed(e),
    }
}
