//! Gateway authentication: only the launch's session key (or `serve`'s configured keys) gets
//! in, presented as `Authorization: Bearer` or `x-api-key`, compared in constant time.

use axum::http::{HeaderMap, StatusCode};

use super::error::ApiError;
use crate::secret::{Secret, any_matches};

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
