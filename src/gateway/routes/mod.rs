//! The gateway's URL map. Every OpenAI route answers under `/openai/v1/...` and `/v1/...`.

mod health;
mod models;
mod proxy;
mod sessions;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::AppState;
use super::error::ApiError;
pub(crate) use proxy::reject;
pub(crate) use sessions::{RemoteSessions, SessionGuard};

/// Builds the router: the API routes, `/metrics`, and the dashboard's.
pub(crate) fn router(state: Arc<AppState>, dashboard: Arc<crate::dashboard::Dashboard>) -> Router {
    let mut r = Router::new()
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/api/sessions/{id}", get(sessions::summary))
        .route("/api/sessions/{id}/end", post(sessions::end))
        .route("/metrics", get(metrics));
    for prefix in ["/openai/v1", "/v1", "/openai"] {
        r = r
            .route(
                &format!("{prefix}/responses"),
                post(proxy::responses).get(websocket_refused),
            )
            .route(&format!("{prefix}/chat/completions"), post(proxy::chat))
            .route(&format!("{prefix}/completions"), post(proxy::completions))
            .route(&format!("{prefix}/embeddings"), post(proxy::embeddings))
            .route(&format!("{prefix}/models"), get(models::models));
    }
    for prefix in ["/anthropic/v1", "/anthropic"] {
        r = r.route(&format!("{prefix}/messages"), post(proxy::messages));
    }
    r = r.merge(crate::team::admin::routes());
    r.with_state(state)
        .merge(crate::dashboard::router(dashboard))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// Prometheus text format; needs the gateway key like every API route.
async fn metrics(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = super::auth::check(&state.keys, &headers) {
        return e.into_response();
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(state.inflight.count()),
    )
        .into_response()
}

/// Codex tries a WebSocket first when a provider allows it; 426 makes it fall back to HTTP at once.
async fn websocket_refused(headers: HeaderMap) -> Response {
    let upgrade = headers
        .get("upgrade")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if upgrade {
        let mut r = ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "invalid_request_error",
            Some("websocket_unsupported"),
            "bifrost serves the Responses API over HTTP only; use POST with SSE",
        )
        .into_response();
        r.headers_mut()
            .insert("connection", axum::http::HeaderValue::from_static("close"));
        return r;
    }
    method_not_allowed().await
}

async fn not_found(uri: axum::http::Uri) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("unknown_url"),
        format!(
            "no route for {}; bifrost serves /openai/v1/responses, /openai/v1/chat/completions, /openai/v1/completions, /openai/v1/embeddings and /openai/v1/models (also under /v1)",
            uri.path()
        ),
    )
    .into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        Some("method_not_allowed"),
        "method not allowed on this route",
    )
    .into_response()
}
