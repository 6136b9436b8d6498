//! Remote mode (`bifrost --gateway URL --key KEY codex ...`): the launcher talks to a team's
//! `bifrost serve` instead of starting its own gateway. This file is the client side: the URL
//! check, the pre-flight (`/health`, then the key), and fetching the session's summary.

use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::summary::Summary;

/// How long the pre-flight may take before the gateway counts as unreachable.
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the summary fetch may take after codex exits.
const SUMMARY_TIMEOUT: Duration = Duration::from_secs(15);

/// A remote gateway and the key for it.
#[derive(Debug, Clone)]
pub struct RemoteGateway {
    /// `https://host[:port][/prefix]`, without a trailing slash or the OpenAI route.
    pub root: String,
    /// The key, sent as `Authorization: Bearer`.
    pub key: Secret,
}

/// What `/health` tells a launcher.
#[derive(Debug, Default, Deserialize)]
pub struct Health {
    /// The model codex should use when the user gives none.
    #[serde(default)]
    pub default_model: Option<String>,
}

impl RemoteGateway {
    /// Checks the URL (http or https; `/openai/v1` or `/v1` at the end is accepted and
    /// dropped) and the key (required, printable).
    pub fn new(url: &str, key: Option<&str>) -> Result<RemoteGateway> {
        let root = normalise(url)?;
        let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) else {
            return Err(Error::Usage(
                "--gateway needs a key: export BIFROST_KEY=<your key> (or pass --key)".into(),
            ));
        };
        if key.bytes().any(|b| !(0x21..0x7f).contains(&b)) {
            return Err(Error::Usage(
                "the key holds spaces or control characters; copy it again into BIFROST_KEY".into(),
            ));
        }
        Ok(RemoteGateway {
            root,
            key: Secret::new(key),
        })
    }

    /// The base URL codex gets: `{root}/openai/v1`.
    pub fn openai_base_url(&self) -> String {
        format!("{}/openai/v1", self.root)
    }

    /// Before codex starts: the gateway answers `/health` within a few seconds, and accepts
    /// the key (probed with the summary endpoint of a session that does not exist yet, which
    /// answers 404 to a good key and 401 to a bad one). Both failures are usage errors
    /// (exit 2) naming the fix: codex itself would retry an unreachable gateway forever.
    pub async fn preflight(&self, client: &reqwest::Client, session_id: &str) -> Result<Health> {
        let url = format!("{}/health", self.root);
        let unreachable = |why: String| {
            Error::Usage(format!(
                "cannot reach the gateway at {} ({why}); check --gateway / BIFROST_GATEWAY and that `bifrost serve` runs there",
                self.root
            ))
        };
        let resp = client
            .get(&url)
            .timeout(PREFLIGHT_TIMEOUT)
            .send()
            .await
            .map_err(|e| unreachable(describe(&e)))?;
        if !resp.status().is_success() {
            return Err(unreachable(format!(
                "GET /health answered HTTP {}",
                resp.status().as_u16()
            )));
        }
        let health: Health = resp
            .json()
            .await
            .map_err(|_| unreachable("GET /health did not answer bifrost's JSON".into()))?;
        let probe = client
            .get(self.session_url(session_id))
            .bearer_auth(self.key.expose())
            .timeout(PREFLIGHT_TIMEOUT)
            .send()
            .await
            .map_err(|e| unreachable(describe(&e)))?;
        match probe.status().as_u16() {
            401 => Err(Error::Usage(format!(
                "the gateway at {} rejected the key; check BIFROST_KEY (or --key)",
                self.root
            ))),
            403 => Err(Error::Usage(format!(
                "the gateway at {} refused this key the session API; ask its admin for a key that may run codex",
                self.root
            ))),
            _ => Ok(health),
        }
    }

    /// After codex exits: the session's summary as the gateway computed it from its store.
    /// Errors are one-line descriptions for the launcher's warning.
    pub async fn summary(
        &self,
        client: &reqwest::Client,
        session_id: &str,
    ) -> std::result::Result<Summary, String> {
        let resp = client
            .get(self.session_url(session_id))
            .bearer_auth(self.key.expose())
            .timeout(SUMMARY_TIMEOUT)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let status = resp.status();
        if status.as_u16() == 404 {
            // The session never reached the gateway (codex made no model request).
            return Ok(crate::summary::summarize(session_id, None, &[]));
        }
        if !status.is_success() {
            return Err(format!(
                "GET /api/sessions/{session_id} answered HTTP {}",
                status.as_u16()
            ));
        }
        resp.json::<Summary>()
            .await
            .map_err(|e| format!("unreadable summary: {}", describe(&e)))
    }

    /// Tells the gateway codex exited with `exit_code`, so the session row is closed.
    pub async fn end(
        &self,
        client: &reqwest::Client,
        session_id: &str,
        exit_code: i32,
    ) -> std::result::Result<(), String> {
        let resp = client
            .post(format!("{}/end", self.session_url(session_id)))
            .bearer_auth(self.key.expose())
            .json(&serde_json::json!({ "exit_code": exit_code }))
            .timeout(PREFLIGHT_TIMEOUT)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!(
                "POST /api/sessions/{session_id}/end answered HTTP {}",
                resp.status().as_u16()
            ))
        }
    }

    fn session_url(&self, id: &str) -> String {
        format!("{}/api/sessions/{id}", self.root)
    }
}

/// A reqwest error without the URL (the user knows it) and with its cause.
fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut msg = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        e.to_string()
    };
    let mut source = e.source();
    while let Some(s) = source {
        msg = format!("{msg}: {s}");
        source = s.source();
    }
    msg
}

fn normalise(url: &str) -> Result<String> {
    let trimmed = url.trim().trim_end_matches('/');
    let bad = || {
        Error::Usage(format!(
            "--gateway `{url}` is not an http(s) URL; write e.g. --gateway https://llm-gw.internal"
        ))
    };
    let parsed = reqwest::Url::parse(trimmed).map_err(|_| bad())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(bad());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::Usage(
            "--gateway must not carry credentials in the URL; put the key in BIFROST_KEY".into(),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad());
    }
    let root = trimmed
        .strip_suffix("/openai/v1")
        .or_else(|| trimmed.strip_suffix("/v1"))
        .unwrap_or(trimmed);
    Ok(root.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalised_and_bad_ones_named() {
        for (given, root) in [
            ("https://gw.internal", "https://gw.internal"),
            ("https://gw.internal/", "https://gw.internal"),
            ("http://127.0.0.1:8787/openai/v1", "http://127.0.0.1:8787"),
            ("http://127.0.0.1:8787/v1/", "http://127.0.0.1:8787"),
            ("https://lb/team/", "https://lb/team"),
        ] {
            assert_eq!(normalise(given).ok().as_deref(), Some(root), "{given}");
        }
        for bad in [
            "gw.internal",
            "ftp://gw",
            "https://u:p@gw",
            "http://gw/?a=1",
            "",
        ] {
            assert!(
                matches!(normalise(bad), Err(Error::Usage(_))),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn a_key_is_required_and_never_in_the_message() {
        let e = RemoteGateway::new("https://gw", None).err();
        assert!(matches!(e, Some(Error::Usage(m)) if m.contains("BIFROST_KEY")));
        let e = RemoteGateway::new("https://gw", Some("bad key\n")).err();
        assert!(matches!(&e, Some(Error::Usage(m)) if !m.contains("bad key")));
        let ok = RemoteGateway::new("https://gw/openai/v1", Some(" bfk_1 "));
        assert_eq!(
            ok.ok()
                .map(|g| (g.openai_base_url(), g.key.expose().to_string())),
            Some(("https://gw/openai/v1".into(), "bfk_1".into()))
        );
    }
}
