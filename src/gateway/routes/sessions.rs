//! Remote-mode sessions: a launcher in remote mode (`bifrost --gateway URL codex`) tags every
//! request with `x-bifrost-session: <id>`; the gateway attributes those requests to that
//! session (one `sessions` row of kind `remote`, written on first sight, owned by the key that
//! opened it) and serves the session's summary at `GET /api/sessions/{id}` to that key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::error::Result;
use crate::gateway::{ApiError, AppState, auth};
use crate::store::{SessionRecord, Writer};

/// Past this many remembered sessions, idle ones are forgotten (the store still knows their
/// owner, which is read again on the next request).
const MAX_REMEMBERED: usize = 10_000;
/// How long the summary waits for the session's own requests to finish being logged.
const SETTLE: Duration = Duration::from_secs(2);

/// The remote sessions this gateway has seen: owner and requests in flight.
#[derive(Default)]
pub(crate) struct RemoteSessions {
    map: Mutex<HashMap<String, Entry>>,
    idle: Notify,
}

struct Entry {
    owner: String,
    inflight: usize,
}

/// Held by a request of a remote session until its row is queued.
pub(crate) struct SessionGuard {
    sessions: Arc<RemoteSessions>,
    id: String,
}

impl std::fmt::Debug for SessionGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionGuard")
            .field("id", &self.id)
            .finish()
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if let Ok(mut map) = self.sessions.map.lock()
            && let Some(e) = map.get_mut(&self.id)
        {
            e.inflight = e.inflight.saturating_sub(1);
        }
        self.sessions.idle.notify_waiters();
    }
}

/// A short, non-secret name for a key: the first 16 bytes of its SHA-256, in hex.
pub(crate) fn fingerprint(key: &[u8]) -> String {
    Sha256::digest(key)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Session ids are what the launcher generates (UUIDs); anything else is refused.
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl RemoteSessions {
    /// Attributes a request to session `id` for the key `owner`: on first sight the store is
    /// asked who owns it (another instance, or an earlier run of this one, may have opened
    /// it); an unknown session is opened (`kind = "remote"`, the owner's fingerprint in
    /// `argv`). A session owned by another key is refused with 403.
    pub(crate) async fn enter(
        self: &Arc<Self>,
        id: &str,
        owner: String,
        writer: &Writer,
    ) -> std::result::Result<SessionGuard, ApiError> {
        if !valid_id(id) {
            return Err(ApiError::bad_request(
                "x-bifrost-session must be 1-64 letters, digits, `-` or `_` (bifrost's launcher sends a UUID)",
            ));
        }
        if let Some(r) = self.try_enter(id, &owner) {
            return r;
        }
        let stored = stored_owner(writer.pool().clone(), id.to_string()).await;
        let stored = match stored {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!("reading the owner of session {id}: {e}");
                None
            }
        };
        if let Some(o) = &stored
            && *o != owner
        {
            return Err(not_yours());
        }
        if stored.is_none() {
            writer.session_open(SessionRecord {
                id: id.to_string(),
                kind: "remote".into(),
                started_at_ms: crate::store::now_ms(),
                argv: vec!["remote".into(), format!("key:{owner}")],
                cwd: None,
            });
        }
        let Ok(mut map) = self.map.lock() else {
            return Err(not_yours());
        };
        if map.len() >= MAX_REMEMBERED {
            map.retain(|_, e| e.inflight > 0);
        }
        let e = map.entry(id.to_string()).or_insert(Entry {
            owner: owner.clone(),
            inflight: 0,
        });
        if e.owner != owner {
            return Err(not_yours());
        }
        e.inflight += 1;
        Ok(SessionGuard {
            sessions: self.clone(),
            id: id.to_string(),
        })
    }

    fn try_enter(
        self: &Arc<Self>,
        id: &str,
        owner: &str,
    ) -> Option<std::result::Result<SessionGuard, ApiError>> {
        let mut map = self.map.lock().ok()?;
        let e = map.get_mut(id)?;
        if e.owner != owner {
            return Some(Err(not_yours()));
        }
        e.inflight += 1;
        Some(Ok(SessionGuard {
            sessions: self.clone(),
            id: id.to_string(),
        }))
    }

    fn inflight(&self, id: &str) -> usize {
        self.map
            .lock()
            .ok()
            .and_then(|m| m.get(id).map(|e| e.inflight))
            .unwrap_or(0)
    }

    /// Waits until no request of session `id` is in flight here, or `limit` passes.
    async fn wait_idle(&self, id: &str, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.idle.notified();
            if self.inflight(id) == 0 {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }
}

fn not_yours() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "permission_error",
        Some("session_not_yours"),
        "this x-bifrost-session belongs to another key; start a new session",
    )
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("session_not_found"),
        format!("no remote session {id} for this key on this gateway"),
    )
}

/// The owner fingerprint stored with a remote session, if the session exists.
async fn stored_owner(store: Arc<crate::store::Pool>, id: String) -> Result<Option<String>> {
    store.read(move |db| owner_of(db, &id)).await
}

fn owner_of(db: &(impl crate::store::Sql + ?Sized), id: &str) -> Result<Option<String>> {
    let argv: Option<String> = crate::store::query_opt(
        db,
        "SELECT argv FROM sessions WHERE id = ?1 AND kind = 'remote'",
        &[id.into()],
        |r| r.get(0),
    )?;
    Ok(argv.map(|a| {
        serde_json::from_str::<Vec<String>>(&a)
            .unwrap_or_default()
            .into_iter()
            .find_map(|s| s.strip_prefix("key:").map(str::to_string))
            .unwrap_or_default()
    }))
}

/// `GET /api/sessions/{id}`: the session's summary (the same JSON as `--summary json`, with
/// a null exit code: only the launcher knows it), for the key that owns the session. Waits
/// briefly for the session's last requests to be logged first, so the launcher, which asks
/// right after codex exits, sees every request.
pub(super) async fn summary(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    // Any key the gateway accepts (a `[server] keys` value or a virtual key) reads its own
    // sessions; ownership is checked below.
    if let Err(e) = auth::authenticate(&state, &headers).await {
        return e.into_response();
    }
    let owner = fingerprint(auth::presented(&headers).unwrap_or_default());
    if !valid_id(&id) {
        return not_found(&id).into_response();
    }
    state.remote.wait_idle(&id, SETTLE).await;
    state.writer.flush().await;
    let sid = id.clone();
    let loaded = state
        .writer
        .pool()
        .read(move |db| -> Result<Option<crate::summary::Summary>> {
            match owner_of(db, &sid)? {
                Some(o) if o == owner => Ok(Some(crate::summary::load(db, &sid, None)?)),
                _ => Ok(None),
            }
        })
        .await;
    match loaded {
        Ok(Some(s)) => Json(s).into_response(),
        Ok(None) => not_found(&id).into_response(),
        Err(e) => {
            tracing::error!("session summary {id}: {e}");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                None,
                "the session summary could not be read from the store; see the gateway's log",
            )
            .into_response()
        }
    }
}

/// The body of `POST /api/sessions/{id}/end`.
#[derive(serde::Deserialize)]
pub(super) struct End {
    exit_code: Option<i32>,
}

/// `POST /api/sessions/{id}/end` `{"exit_code": N}`: the launcher reports that codex exited,
/// so the session row gets its end time and exit code as a local session's does. Only the
/// owning key may; 204 on success.
pub(super) async fn end(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Option<Json<End>>,
) -> Response {
    // Any key the gateway accepts (a `[server] keys` value or a virtual key) reads its own
    // sessions; ownership is checked below.
    if let Err(e) = auth::authenticate(&state, &headers).await {
        return e.into_response();
    }
    let owner = fingerprint(auth::presented(&headers).unwrap_or_default());
    if !valid_id(&id) {
        return not_found(&id).into_response();
    }
    state.writer.flush().await;
    match stored_owner(state.writer.pool().clone(), id.clone()).await {
        Ok(Some(o)) if o == owner => {
            state
                .writer
                .session_end(&id, body.and_then(|Json(b)| b.exit_code));
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(_) => not_found(&id).into_response(),
        Err(e) => {
            tracing::error!("session end {id}: {e}");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                None,
                "the session could not be read from the store; see the gateway's log",
            )
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_fingerprints() {
        assert!(valid_id("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"));
        assert!(!valid_id(""));
        assert!(!valid_id("a/b"));
        assert!(!valid_id(&"a".repeat(65)));
        let f = fingerprint(b"bfs_key");
        assert_eq!(f.len(), 32);
        assert_ne!(f, fingerprint(b"bfs_other"));
        assert!(!f.contains("bfs_key"));
    }
}
