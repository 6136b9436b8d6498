//! Gateway authentication: only the launch's session key (or `serve`'s configured keys) gets
//! in, presented as `Authorization: Bearer` or `x-api-key`, compared in constant time; on
//! `bifrost serve`, also virtual keys (`bfk_...`), looked up by hash through the
//! [`crate::team::Gate`], whose refusals become OpenAI-style errors here.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};

use super::AppState;
use super::error::ApiError;
use crate::secret::{Secret, any_matches};
use crate::team::{KeyRow, Refusal};

/// Who a request came from.
#[derive(Debug, Clone)]
pub(crate) enum Caller {
    /// The session key or a `[server] keys` key.
    Key,
    /// A virtual key.
    Virtual(Arc<KeyRow>),
}

/// Accepts the request's key: a virtual key when the gateway has them, else [`check`].
pub(crate) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Caller, ApiError> {
    if let (Some(gate), Some(k)) = (&state.team, presented(headers))
        && k.starts_with(crate::team::key::PREFIX.as_bytes())
    {
        return match gate.identify(k).await {
            Ok(key) => Ok(Caller::Virtual(key)),
            // A `[server] keys` value may happen to start with `bfk_` too.
            Err(Refusal::Unknown) if any_matches(&state.keys, k) => Ok(Caller::Key),
            Err(r) => Err(refusal(&r)),
        };
    }
    check(&state.keys, headers).map(|()| Caller::Key)
}

/// A virtual key's refusal as the client sees it (budget refusals on Responses streams are
/// turned into `response.failed` by the proxy instead).
pub(crate) fn refusal(r: &Refusal) -> ApiError {
    let unauthorized = |m: String| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            Some("invalid_api_key"),
            m,
        )
    };
    match r {
        Refusal::Unknown => unauthorized(
            "unknown bifrost key: no virtual key has this value (it may have been rotated); ask your bifrost admin for the current key".into(),
        ),
        Refusal::Revoked(name) => unauthorized(format!(
            "bifrost key `{name}` has been revoked; ask your bifrost admin for a new key"
        )),
        Refusal::Expired(name, at) => unauthorized(format!(
            "bifrost key `{name}` expired at {}; ask your bifrost admin for a new key",
            jiff::Timestamp::from_millisecond(*at)
                .map(|t| t.to_string())
                .unwrap_or_else(|_| at.to_string())
        )),
        Refusal::Model {
            key,
            model,
            allowed,
        } => ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_error",
            Some("model_not_allowed"),
            format!(
                "bifrost key `{key}` may not use model `{model}`; it allows: {}",
                allowed.join(", ")
            ),
        ),
        Refusal::Rate { message, .. } => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            Some("rate_limit_exceeded"),
            message.clone(),
        ),
        Refusal::Quota(message) => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "insufficient_quota",
            Some("insufficient_quota"),
            message.clone(),
        ),
        Refusal::Unavailable(message) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            Some("key_store_unavailable"),
            message.clone(),
        ),
    }
}

/// The key a request presents, if any.
pub(crate) fn presented(headers: &HeaderMap) -> Option<&[u8]> {
    if let Some(v) = headers.get("authorization") {
        let b = v.as_bytes();
        if b.len() > 7 && b[..7].eq_ignore_ascii_case(b"bearer ") {
            return Some(&b[7..]);
        }
    }
    headers.get("x-api-key").map(|v| v.as_bytes())
}

/// Accepts the request or answers 401 in OpenAI's format.
pub fn check(accepted: &[Secret], headers: &HeaderMap) -> Result<(), ApiError> {
    match presented(headers) {
        Some(k) if any_matches(accepted, k) => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            Some("invalid_api_key"),
            "invalid bifrost key: this gateway accepts only the key it was started with (BIFROST_SESSION_KEY for `bifrost codex` / `bifrost run`, [server] keys for `bifrost serve`)",
        )),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            Some("missing_api_key"),
            "missing bifrost key: send `Authorization: Bearer <key>` or `x-api-key: <key>`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_map_to_openai_statuses_and_codes() {
        let cases = [
            (Refusal::Unknown, 401, Some("invalid_api_key"), "unknown"),
            (
                Refusal::Revoked("al".into()),
                401,
                Some("invalid_api_key"),
                "revoked",
            ),
            (
                Refusal::Expired("al".into(), 1_893_456_000_000),
                401,
                Some("invalid_api_key"),
                "2030-01-01T00:00:00Z",
            ),
            (
                Refusal::Model {
                    key: "al".into(),
                    model: "m".into(),
                    allowed: vec!["a/*".into(), "b/c".into()],
                },
                403,
                Some("model_not_allowed"),
                "a/*, b/c",
            ),
            (
                Refusal::Rate {
                    message: "try again in 3s".into(),
                    retry_after: 3,
                },
                429,
                Some("rate_limit_exceeded"),
                "3s",
            ),
            (
                Refusal::Quota("spent".into()),
                429,
                Some("insufficient_quota"),
                "spent",
            ),
            (
                Refusal::Unavailable("down".into()),
                503,
                Some("key_store_unavailable"),
                "down",
            ),
        ];
        for (r, status, code, text) in cases {
            let e = refusal(&r);
            assert_eq!((e.status.as_u16(), e.code), (status, code), "{r:?}");
            assert!(e.message.contains(text), "{}", e.message);
        }
    }

    #[test]
    fn accepts_bearer_and_x_api_key_only_for_the_right_key() {
        let keys = [Secret::new("bfs_good")];
        let mut h = HeaderMap::new();
        assert!(check(&keys, &h).is_err());
        h.insert(
            "authorization",
            "Bearer bfs_good".parse().unwrap_or_else(|_| unreachable!()),
        );
        assert!(check(&keys, &h).is_ok());
        h.insert(
            "authorization",
            "Bearer bfs_bad".parse().unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(
            check(&keys, &h).map_err(|e| e.status),
            Err(StatusCode::UNAUTHORIZED)
        );
        let mut h = HeaderMap::new();
        h.insert(
            "x-api-key",
            "bfs_good".parse().unwrap_or_else(|_| unreachable!()),
        );
        assert!(check(&keys, &h).is_ok());
    }
}
