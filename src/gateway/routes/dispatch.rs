//! The per-connection hyper service in front of the router: a `POST` to one of the proxy
//! routes (the requests an agent loop sends) goes straight to its handler, and every other
//! request goes through axum's [`Router`]. Both paths first check the header size limit.
//!
//! Under perf, axum's router, its `from_fn` middleware and the tower adapter wrapped every
//! proxied request in several boxed futures, a route lookup and extension inserts. The
//! proxy routes need none of that: their paths are a fixed table ([`endpoint`]), and the
//! router keeps the same table for everything else (a `GET` to `/v1/responses`, a 405).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::service::TowerToHyperService;

use super::proxy::{self, Endpoint};
use crate::gateway::{ApiError, AppState};

/// Prefixes the OpenAI routes answer under, longest first so `/openai/v1` wins over `/openai`.
pub(super) const OPENAI_PREFIXES: [&str; 3] = ["/openai/v1", "/v1", "/openai"];
/// Prefixes the Anthropic route answers under.
pub(super) const ANTHROPIC_PREFIXES: [&str; 2] = ["/anthropic/v1", "/anthropic"];
/// The OpenAI proxy routes, after a prefix.
pub(super) const OPENAI_ROUTES: [(&str, Endpoint); 4] = [
    ("/responses", Endpoint::Responses),
    ("/chat/completions", Endpoint::Chat),
    ("/completions", Endpoint::Completions),
    ("/embeddings", Endpoint::Embeddings),
];
/// The Anthropic proxy route, after a prefix.
pub(super) const ANTHROPIC_ROUTE: (&str, Endpoint) = ("/messages", Endpoint::Messages);

/// The proxy endpoint a `POST` to `path` is for, if any: the same paths the router
/// registers the proxy handlers on.
pub(super) fn endpoint(path: &str) -> Option<Endpoint> {
    let under = |prefixes: &[&str], routes: &[(&str, Endpoint)]| {
        prefixes.iter().find_map(|prefix| {
            let rest = path.strip_prefix(prefix)?;
            routes.iter().find(|(p, _)| *p == rest).map(|(_, e)| *e)
        })
    };
    under(&OPENAI_PREFIXES, &OPENAI_ROUTES)
        .or_else(|| under(&ANTHROPIC_PREFIXES, &[ANTHROPIC_ROUTE]))
}

/// What [`crate::gateway::serve`] runs: the router, and the gateway state when the proxy
/// routes should skip it. A bare router (the `bifrost ui` dashboard) serves everything.
#[derive(Clone)]
pub struct App {
    router: Router,
    api: Option<Arc<AppState>>,
}

impl From<Router> for App {
    fn from(router: Router) -> Self {
        App { router, api: None }
    }
}

impl App {
    /// The gateway's app: `router` (from [`super::router`]) with the proxy routes served
    /// straight from `state`.
    pub(crate) fn gateway(router: Router, state: Arc<AppState>) -> Self {
        App {
            router,
            api: Some(state),
        }
    }

    /// The service for one connection, rejecting heads over `max_header_bytes`.
    pub(crate) fn service(&self, max_header_bytes: usize) -> Service {
        Service {
            app: self.clone(),
            max_header_bytes,
        }
    }
}

/// [`App`] as a hyper service, for one connection.
#[derive(Clone)]
pub(crate) struct Service {
    app: App,
    max_header_bytes: usize,
}

type Answer = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl hyper::service::Service<Request<hyper::body::Incoming>> for Service {
    type Response = Response;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, req: Request<hyper::body::Incoming>) -> Answer {
        let size = head_bytes(&req);
        if size > self.max_header_bytes {
            let max = self.max_header_bytes;
            tracing::warn!("rejected a request with {size} bytes of headers (limit {max})");
            let answer = ApiError::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "invalid_request_error",
                Some("request_header_fields_too_large"),
                format!(
                    "request headers take {size} bytes, more than the gateway's limit of {max}; raise [gateway] max_header_bytes or send fewer headers"
                ),
            )
            .into_response();
            return Box::pin(std::future::ready(Ok(answer)));
        }
        if let Some(state) = &self.app.api
            && req.method() == Method::POST
            && let Some(endpoint) = endpoint(req.uri().path())
        {
            let state = state.clone();
            let req = req.map(Body::new);
            return Box::pin(async move { Ok(proxy::handle(state, endpoint, req).await) });
        }
        let router = TowerToHyperService::new(self.app.router.clone());
        Box::pin(hyper::service::Service::call(&router, req))
    }
}

/// Bytes a request's head took on the wire, near enough: start line and `name: value\r\n`.
fn head_bytes<B>(req: &Request<B>) -> usize {
    let line = req.method().as_str().len() + display_len(req.uri()) + 11;
    req.headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum::<usize>()
        + line
}

/// The length of `v`'s `Display` text, without building the string.
fn display_len(v: &impl std::fmt::Display) -> usize {
    struct Count(usize);
    impl std::fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = std::fmt::write(&mut count, format_args!("{v}"));
    count.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxy_paths_and_no_others_are_served_directly() {
        for (path, want) in [
            ("/openai/v1/responses", Some(Endpoint::Responses)),
            ("/v1/responses", Some(Endpoint::Responses)),
            ("/openai/responses", Some(Endpoint::Responses)),
            ("/v1/chat/completions", Some(Endpoint::Chat)),
            ("/openai/completions", Some(Endpoint::Completions)),
            ("/openai/v1/embeddings", Some(Endpoint::Embeddings)),
            ("/anthropic/v1/messages", Some(Endpoint::Messages)),
            ("/anthropic/messages", Some(Endpoint::Messages)),
            ("/v1/models", None),
            ("/v1/responses/", None),
            ("/openai/v1/v1/responses", None),
            ("/openai/v1/messages", None),
            ("/anthropic/v1/responses", None),
            ("/responses", None),
            ("/health", None),
            ("", None),
        ] {
            assert_eq!(endpoint(path), want, "{path}");
        }
    }

    #[test]
    fn the_head_size_counts_the_uri_as_written() {
        let req = Request::post("http://example.com/v1/responses?x=1")
            .header("authorization", "Bearer k")
            .body(())
            .unwrap_or_default();
        let uri = req.uri().to_string();
        assert_eq!(display_len(req.uri()), uri.len());
        assert_eq!(
            head_bytes(&req),
            "POST".len() + uri.len() + 11 + "authorization".len() + "Bearer k".len() + 4
        );
    }
}
