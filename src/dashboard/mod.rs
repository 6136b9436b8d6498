//! The `/logs` dashboard and its JSON API (`/api/logs`, `/api/logs/{id}`, `/api/stats`,
//! `/api/sessions`), served by every gateway and by `bifrost ui`, straight from the store (SQLite or PostgreSQL).
//!
//! Everything the browser loads is embedded in the binary (`assets/`), so it works offline. A
//! request gets in with the gateway key (Bearer or `x-api-key`) or with the dashboard cookie;
//! the cookie is obtained by opening a one-time URL (`/logs?token=...`, see
//! [`Access::mint`]), which sets it (HttpOnly, SameSite=Strict) and redirects to `/logs`.

pub mod query;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::error::Result;
use crate::secret::{Secret, any_matches, generate_key};

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// Who may read the dashboard: the gateway keys, the holder of the cookie, and (once each) the
/// holders of minted tokens.
pub struct Access {
    keys: Vec<Secret>,
    cookie_name: String,
    cookie: Secret,
    tokens: Mutex<HashSet<String>>,
}

impl Access {
    /// `keys` are the gateway keys; `port` keeps cookie names apart (browsers share cookies
    /// across ports of one host).
    pub fn new(keys: Vec<Secret>, port: u16) -> Result<Access> {
        Ok(Access {
            keys,
            cookie_name: format!("bifrost_dashboard_{port}"),
            cookie: generate_key()?,
            tokens: Mutex::new(HashSet::new()),
        })
    }

    /// A new one-time token for `/logs?token=...`.
    pub fn mint(&self) -> Result<String> {
        let token = generate_key()?.expose().replacen("bfs_", "bft_", 1);
        if let Ok(mut t) = self.tokens.lock() {
            t.insert(token.clone());
        }
        Ok(token)
    }

    /// Consumes a token; true the first time only.
    fn redeem(&self, token: &str) -> bool {
        self.tokens.lock().is_ok_and(|mut t| t.remove(token))
    }

    /// Whether the request carries a gateway key or the dashboard cookie.
    fn allows(&self, headers: &HeaderMap) -> bool {
        if crate::gateway::presented_key(headers).is_some_and(|k| any_matches(&self.keys, k)) {
            return true;
        }
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .any(|(n, v)| n == self.cookie_name && self.cookie.matches(v.as_bytes()))
    }
}

/// What the dashboard routes share.
pub struct Dashboard {
    /// Who gets in.
    pub access: Arc<Access>,
    /// Read connections to the store.
    pub store: Arc<crate::store::Pool>,
    /// Provider keys, scrubbed from every API response; defence in depth: headers are
    /// stored redacted already.
    pub scrub: Arc<crate::secret::KeyScrubber>,
}

impl Dashboard {
    /// A dashboard over `store` whose answers `scrub` cleans of provider keys.
    pub fn new(
        access: Arc<Access>,
        store: Arc<crate::store::Pool>,
        scrub: Arc<crate::secret::KeyScrubber>,
    ) -> Dashboard {
        Dashboard {
            access,
            store,
            scrub,
        }
    }
}

/// The dashboard's routes, ready to merge into a gateway's router.
pub fn router(state: Arc<Dashboard>) -> Router {
    Router::new()
        .route("/logs", get(page))
        .route("/logs/", get(page))
        .route("/logs/app.js", get(app_js))
        .route("/logs/app.css", get(app_css))
        .route("/api/logs", get(api_logs))
        .route("/api/logs/{id}", get(api_log))
        .route("/api/stats", get(api_stats))
        .route("/api/sessions", get(api_sessions))
        .with_state(state)
}

fn asset(ty: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, ty),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn app_css() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

#[derive(Deserialize)]
struct PageQuery {
    token: Option<String>,
}

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async fn page(
    State(d): State<Arc<Dashboard>>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(token) = q.token {
        if d.access.redeem(&token) {
            let cookie = format!(
                "{}={}; HttpOnly; SameSite=Strict; Path=/",
                d.access.cookie_name,
                d.access.cookie.expose()
            );
            let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, "/logs")]).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            return r;
        }
        if d.access.allows(&headers) {
            // An old link opened again in the same browser: drop the token from the address.
            return (StatusCode::SEE_OTHER, [(header::LOCATION, "/logs")]).into_response();
        }
        return denied("this dashboard link was already used (each link works once)");
    }
    if !d.access.allows(&headers) {
        return denied(
            "open the one-time link bifrost printed (`dashboard: http://.../logs?token=...`), or run `bifrost ui`",
        );
    }
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        INDEX_HTML,
    )
        .into_response()
}

fn denied(why: &str) -> Response {
    let body = format!(
        "<!doctype html><meta charset=utf-8><title>bifrost: not signed in</title><p>bifrost dashboard: {}</p>",
        why.replace('&', "&amp;").replace('<', "&lt;")
    );
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"error": {"message": message}})),
    )
        .into_response()
}

/// Runs a read on a pooled connection off the async threads, then answers JSON with the
/// provider keys scrubbed.
async fn read<T, F>(d: Arc<Dashboard>, headers: &HeaderMap, f: F) -> Response
where
    T: serde::Serialize + Send + 'static,
    F: FnOnce(&crate::store::Db) -> Result<Option<T>> + Send + 'static,
{
    if !d.access.allows(headers) {
        return json_error(
            StatusCode::UNAUTHORIZED,
            "send the gateway key (Authorization: Bearer or x-api-key) or open the dashboard link",
        );
    }
    let value = match d.store.read(f).await {
        Ok(Some(v)) => v,
        Ok(None) => return json_error(StatusCode::NOT_FOUND, "no such request"),
        Err(e) => {
            tracing::error!("dashboard query failed: {e}");
            return json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
        }
    };
    let text = match serde_json::to_string(&value) {
        Ok(t) => t,
        Err(e) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let text = d.scrub.scrub(&text).into_owned();
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

async fn api_logs(
    State(d): State<Arc<Dashboard>>,
    Query(f): Query<query::Filter>,
    headers: HeaderMap,
) -> Response {
    read(d, &headers, move |c| query::list(c, &f).map(Some)).await
}

async fn api_log(
    State(d): State<Arc<Dashboard>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    read(d, &headers, move |c| query::detail(c, &id)).await
}

async fn api_stats(
    State(d): State<Arc<Dashboard>>,
    Query(f): Query<query::Filter>,
    headers: HeaderMap,
) -> Response {
    read(d, &headers, move |c| query::stats(c, &f).map(Some)).await
}

#[derive(Deserialize)]
struct SessionsQuery {
    limit: Option<usize>,
}

async fn api_sessions(
    State(d): State<Arc<Dashboard>>,
    Query(q): Query<SessionsQuery>,
    headers: HeaderMap,
) -> Response {
    read(d, &headers, move |c| {
        query::sessions(c, q.limit.unwrap_or(100)).map(Some)
    })
    .await
}
