//! Sending to a provider with retries: a healthy key per attempt, backoff with jitter or the
//! reset the provider asked for, a 429 cooling its key while another serves, a first-byte
//! timeout, and a verdict on whether a fallback may take over. Every attempt is recorded.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::config::{ApiKey, ProviderConfig};
use crate::gateway::AppState;
use crate::reliability::{Choice, retry};

/// One try at one provider.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// Provider name.
    pub provider: String,
    /// Upstream model.
    pub model: String,
    /// Key alias (never the key).
    pub key: Option<String>,
    /// HTTP status; 0 when no answer came.
    pub status: u16,
    /// What went wrong.
    pub error: Option<String>,
    /// How long it took.
    pub latency_us: i64,
}

/// Why the provider could not serve.
pub enum Failure {
    /// Its last answer was an error status (the body is still unread).
    Status(reqwest::Response),
    /// No answer: connect error, timeout, or no usable key.
    Transport(String),
    /// Every key is cooling down from a rate limit (or broken) for this long.
    Cooling(Duration, String),
}

/// A failed target, and whether a fallback may take over.
pub struct Failed {
    /// The last failure.
    pub failure: Failure,
    /// Retries were spent on retryable errors, or the connection failed.
    pub fallback: bool,
}

/// A POST to `url` on `client`, with the URL parsed once per gateway thread: a gateway sends
/// to a handful of URLs (one per provider, endpoint and, for Gemini, model), and parsing one
/// cost more than the rest of building the request. An unparsable URL goes as text, so that
/// reqwest reports it on send.
pub(crate) fn post(client: &reqwest::Client, url: &str) -> reqwest::RequestBuilder {
    match parsed_url(url) {
        Some(u) => client.post(u),
        None => client.post(url),
    }
}

/// `url` parsed, from this thread's memo of the last 64 (cleared when full).
fn parsed_url(url: &str) -> Option<reqwest::Url> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    const MAX: usize = 64;
    thread_local! {
        static SEEN: RefCell<HashMap<String, reqwest::Url>> = RefCell::new(HashMap::new());
    }
    SEEN.with_borrow_mut(|seen| {
        if let Some(u) = seen.get(url) {
            return Some(u.clone());
        }
        let u = reqwest::Url::parse(url).ok()?;
        if seen.len() >= MAX {
            seen.clear();
        }
        seen.insert(url.to_string(), u.clone());
        Some(u)
    })
}

/// Sends one attempt: to a local server over plain HTTP on this thread's own connections
/// (see `direct`), anything else through reqwest. A transport error is described without the
/// URL (the caller names the provider and its base URL).
async fn dispatch(builder: reqwest::RequestBuilder) -> Result<reqwest::Response, String> {
    let (client, req) = builder.build_split();
    let req = req.map_err(|e| e.without_url().to_string())?;
    if super::direct::serves(req.url()) {
        return super::direct::send(req).await;
    }
    client
        .execute(req)
        .await
        .map_err(|e| e.without_url().to_string())
}

/// Builds the request for one attempt with the chosen key.
pub type Build<'b> = dyn Fn(Option<&ApiKey>) -> reqwest::RequestBuilder + Send + Sync + 'b;

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Sends until success, a non-retryable answer, or spent retries.
pub async fn send<'p>(
    state: &AppState,
    provider: &'p ProviderConfig,
    model: &str,
    session: Option<&str>,
    attempts: &mut Vec<Attempt>,
    build: &Build<'_>,
) -> Result<(reqwest::Response, Option<&'p ApiKey>), Failed> {
    let cfg = &state.config.gateway;
    let record = |attempts: &mut Vec<Attempt>,
                  key: Option<&ApiKey>,
                  status: u16,
                  error: Option<String>,
                  started: Instant| {
        attempts.push(Attempt {
            provider: provider.name.clone(),
            model: model.to_string(),
            key: key.map(|k| k.alias.clone()),
            status,
            error,
            latency_us: micros(started.elapsed()),
        });
    };
    let mut attempt = 0u32;
    loop {
        let seed = state.seq.fetch_add(1, Ordering::Relaxed);
        let key = match state.health.choose(provider, model, session, seed, &[]) {
            Choice::Key(k) => Some(k),
            Choice::Keyless => None,
            Choice::NoneAllowed => {
                return Err(Failed {
                    failure: Failure::Transport(format!(
                        "no key of provider {} may serve model {model}; check the keys' `models` lists",
                        provider.name
                    )),
                    fallback: true,
                });
            }
            Choice::Wait(until) => {
                let wait = until.saturating_duration_since(Instant::now());
                if wait > cfg.max_retry_wait || attempt >= cfg.max_retries {
                    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
                    return Err(Failed {
                        failure: Failure::Cooling(
                            Duration::from_secs(secs),
                            format!(
                                "every key of provider {} is rate-limited or failing; try again in {secs}s",
                                provider.name
                            ),
                        ),
                        fallback: true,
                    });
                }
                attempt += 1;
                tokio::time::sleep(wait).await;
                continue;
            }
        };
        let started = Instant::now();
        let sent = tokio::time::timeout(cfg.first_byte_timeout, dispatch(build(key))).await;
        let alias = key.map(|k| k.alias.as_str()).unwrap_or("");
        let wait = match sent {
            Ok(Ok(resp)) if resp.status().is_success() => {
                state.health.success(&provider.name, alias);
                record(attempts, key, resp.status().as_u16(), None, started);
                return Ok((resp, key));
            }
            Ok(Ok(resp)) => {
                let status = resp.status().as_u16();
                let after = retry::retry_after(resp.headers());
                record(
                    attempts,
                    key,
                    status,
                    Some(format!("HTTP {status}")),
                    started,
                );
                if !retry::retryable(status) {
                    if matches!(status, 401 | 403) {
                        state.health.failure(&provider.name, alias, None);
                    }
                    return Err(Failed {
                        failure: Failure::Status(resp),
                        fallback: false,
                    });
                }
                let cooldown = (status == 429).then(|| after.unwrap_or(Duration::from_secs(10)));
                state.health.failure(&provider.name, alias, cooldown);
                if attempt >= cfg.max_retries {
                    return Err(Failed {
                        failure: Failure::Status(resp),
                        fallback: true,
                    });
                }
                let other_key = matches!(state.health.choose(provider, model, None, seed, &[]), Choice::Key(k) if k.alias != alias);
                let wait = match (status, after) {
                    (429, _) if other_key => Duration::ZERO,
                    (_, Some(d)) => d,
                    (_, None) => retry::backoff(attempt, seed),
                };
                if wait > cfg.max_retry_wait {
                    return Err(Failed {
                        failure: Failure::Status(resp),
                        fallback: true,
                    });
                }
                wait
            }
            Ok(Err(e)) => {
                let msg = format!(
                    "cannot reach provider {} at {}: {e}",
                    provider.name, provider.base_url
                );
                record(attempts, key, 0, Some(msg.clone()), started);
                state.health.failure(&provider.name, alias, None);
                if attempt >= cfg.max_retries {
                    return Err(Failed {
                        failure: Failure::Transport(msg),
                        fallback: true,
                    });
                }
                retry::backoff(attempt, seed)
            }
            Err(_) => {
                let msg = format!(
                    "provider {} sent no first byte within {:?}",
                    provider.name, cfg.first_byte_timeout
                );
                record(attempts, key, 0, Some(msg.clone()), started);
                state.health.failure(&provider.name, alias, None);
                if attempt >= cfg.max_retries {
                    return Err(Failed {
                        failure: Failure::Transport(msg),
                        fallback: true,
                    });
                }
                retry::backoff(attempt, seed)
            }
        };
        attempt += 1;
        tracing::info!(
            "retrying provider {} (attempt {}) after {wait:?}",
            provider.name,
            attempt + 1
        );
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::parsed_url;

    #[test]
    fn parsed_urls_are_remembered_and_bad_ones_are_left_to_reqwest() {
        let a = parsed_url("http://127.0.0.1:9/v1/responses");
        assert_eq!(a.as_ref().map(|u| u.path()), Some("/v1/responses"));
        assert_eq!(parsed_url("http://127.0.0.1:9/v1/responses"), a);
        assert_eq!(parsed_url("not a url"), None);
        for i in 0..200 {
            let u = format!("http://127.0.0.1:9/v1/m{i}");
            assert_eq!(parsed_url(&u).map(|u| u.to_string()), Some(u));
        }
    }
}
