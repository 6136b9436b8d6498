//! Errors as clients expect them: OpenAI's JSON error body, or `response.failed` mid-stream.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error response in OpenAI's format.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// OpenAI `type`, e.g. `invalid_request_error`.
    pub kind: &'static str,
    /// OpenAI `code`, e.g. `invalid_api_key`.
    pub code: Option<&'static str>,
    /// The human message.
    pub message: String,
}

impl ApiError {
    /// 400 `invalid_request_error`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request_error",
            code: None,
            message: message.into(),
        }
    }

    /// Any status with a type and code.
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        code: Option<&'static str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            code,
            message: message.into(),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({"error": {"message": self.message, "type": self.kind, "param": null, "code": self.code}})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(self.body())).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    }
}

/// A `response.failed` SSE event, the only error form Codex acts on inside a stream.
pub fn response_failed_event(code: &str, message: &str) -> bytes::Bytes {
    let ev = json!({
        "type": "response.failed",
        "response": {
            "id": format!("resp_bifrost_{}", crate::ids::uuid_v7().simple()),
            "object": "response",
            "status": "failed",
            "error": {"code": code, "message": message},
            "output": [],
        }
    });
    bytes::Bytes::from(format!("event: response.failed\ndata: {ev}\n\n"))
}
