//! The gateway's URL map. Every OpenAI route answers under `/openai/v1/...` and `/v1/...`.

mod dispatch;
mod health;
mod models;
mod proxy;
mod sessions;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};

use super::AppState;
use super::error::ApiError;
pub use dispatch::App;
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
    // The proxy routes: the same table `dispatch` serves a POST from without the router.
    for prefix in dispatch::OPENAI_PREFIXES {
        for (path, endpoint) in dispatch::OPENAI_ROUTES {
            let route = proxied(endpoint);
            let route = if endpoint == proxy::Endpoint::Responses {
                route.get(websocket_refused)
            } else {
                route
            };
            r = r.route(&format!("{prefix}{path}"), route);
        }
        r = r.route(&format!("{prefix}/models"), get(models::models));
    }
    for prefix in dispatch::ANTHROPIC_PREFIXES {
        let (path, endpoint) = dispatch::ANTHROPIC_ROUTE;
        r = r.route(&format!("{prefix}{path}"), proxied(endpoint));
    }
    r = r.merge(crate::team::admin::routes());
    r.with_state(state)
        .merge(crate::dashboard::router(dashboard))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// `POST` to a proxy endpoint, as a route.
fn proxied(endpoint: proxy::Endpoint) -> MethodRouter<Arc<AppState>> {
    post(
        move |axum::extract::State(state): axum::extract::State<Arc<AppState>>,
              req: axum::extract::Request| proxy::handle(state, endpoint, req),
    )
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
