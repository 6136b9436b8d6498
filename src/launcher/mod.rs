//! Launching the child: find codex, point it at the gateway, scrub provider keys from its
//! environment, hand it the terminal, relay signals, and return its exit code.
//!
//! bifrost stays silent while the child runs. SIGINT is swallowed (the child, in the same
//! foreground process group, gets its own Ctrl-C); SIGTERM, SIGHUP and SIGQUIT are forwarded;
//! the child gets PR_SET_PDEATHSIG so it never outlives bifrost.

mod codex;
pub mod remote;

pub use codex::{SESSION_HEADER, codex_args, find_codex, has_model_flag};

use std::ffi::OsString;
use std::path::PathBuf;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::signal::unix::{SignalKind, signal};

use crate::error::{Error, Result};
use crate::secret::Secret;

/// Name of the variable that carries the session key to the child.
pub const SESSION_KEY_VAR: &str = "BIFROST_SESSION_KEY";

/// What to run and with which environment.
#[derive(Debug)]
pub struct ChildSpec {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// The gateway's OpenAI base URL.
    pub base_url: String,
    /// The session key.
    pub key: Secret,
    /// Variables to remove (provider keys).
    pub remove: Vec<String>,
}

/// The environment changes for a child: `(name, Some(value))` sets, `(name, None)` removes.
pub fn child_env(spec: &ChildSpec) -> Vec<(String, Option<String>)> {
    let mut env: Vec<(String, Option<String>)> =
        spec.remove.iter().map(|n| (n.clone(), None)).collect();
    for var in crate::config::PROVIDER_KEY_VARS {
        env.push(((*var).to_string(), None));
    }
    env.push((SESSION_KEY_VAR.into(), Some(spec.key.expose().to_string())));
    env.push(("OPENAI_API_KEY".into(), Some(spec.key.expose().to_string())));
    env.push(("OPENAI_BASE_URL".into(), Some(spec.base_url.clone())));
    // Anthropic clients (the SDK, Claude Code) send this as `Authorization: Bearer`.
    env.push((
        "ANTHROPIC_AUTH_TOKEN".into(),
        Some(spec.key.expose().to_string()),
    ));
    env.push((
        "ANTHROPIC_BASE_URL".into(),
        Some(anthropic_base(&spec.base_url)),
    ));
    env
}

/// `http://127.0.0.1:PORT/anthropic` from `http://127.0.0.1:PORT/openai/v1`.
fn anthropic_base(openai_base: &str) -> String {
    match openai_base.strip_suffix("/openai/v1") {
        Some(root) => format!("{root}/anthropic"),
        None => openai_base.to_string(),
    }
}

/// Runs the child to completion and returns the exit code to pass on: its own, or 128+N
/// when it died of signal N.
pub async fn run(spec: &ChildSpec) -> Result<i32> {
    // Handlers first, so no signal lands in the gap before the child exists.
    let listen = |k: SignalKind| signal(k).map_err(|e| Error::io("installing signal handlers", e));
    let mut sigint = listen(SignalKind::interrupt())?;
    let mut sigterm = listen(SignalKind::terminate())?;
    let mut sighup = listen(SignalKind::hangup())?;
    let mut sigquit = listen(SignalKind::quit())?;

    let mut cmd = tokio::process::Command::new(&spec.program);
    cmd.args(&spec.args);
    for (name, value) in child_env(spec) {
        match value {
            Some(v) => cmd.env(name, v),
            None => cmd.env_remove(name),
        };
    }
    die_with_parent(&mut cmd);
    let mut child = cmd.spawn().map_err(|source| Error::Spawn {
        program: spec.program.display().to_string(),
        source,
    })?;
    tracing::info!("spawned {} (pid {:?})", spec.program.display(), child.id());
    let pid = child
        .id()
        .and_then(|p| i32::try_from(p).ok())
        .map(Pid::from_raw);
    let forward = |sig: Signal| {
        if let Some(pid) = pid {
            tracing::info!("forwarding {sig} to the child");
            let _ = kill(pid, sig);
        }
    };
    let status = loop {
        tokio::select! {
            status = child.wait() => break status.map_err(|e| Error::io("waiting for the child", e))?,
            _ = sigint.recv() => tracing::info!("SIGINT: left to the child"),
            _ = sigterm.recv() => forward(Signal::SIGTERM),
            _ = sighup.recv() => forward(Signal::SIGHUP),
            _ = sigquit.recv() => forward(Signal::SIGQUIT),
        }
    };
    use std::os::unix::process::ExitStatusExt;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        (None, None) => 1,
    })
}

/// Makes the child receive SIGTERM when bifrost dies, however it dies.
#[allow(unsafe_code)]
fn die_with_parent(cmd: &mut tokio::process::Command) {
    let parent = nix::unistd::getpid();
    // SAFETY: the closure runs between fork and exec; it only calls async-signal-safe
    // functions (prctl, getppid, _exit) and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM);
            if nix::unistd::getppid() != parent {
                nix::libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_env_replaces_keys_and_removes_provider_vars() {
        let spec = ChildSpec {
            program: "x".into(),
            args: vec![],
            base_url: "http://127.0.0.1:1/openai/v1".into(),
            key: Secret::new("bfs_k"),
            remove: vec!["MY_KEY".into()],
        };
        let env = child_env(&spec);
        let get = |n: &str| {
            env.iter()
                .rev()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("OPENAI_API_KEY"), Some(Some("bfs_k".into())));
        assert_eq!(get("BIFROST_SESSION_KEY"), Some(Some("bfs_k".into())));
        assert_eq!(get("ANTHROPIC_API_KEY"), Some(None));
        assert_eq!(get("MY_KEY"), Some(None));
        assert_eq!(
            get("OPENAI_BASE_URL"),
            Some(Some("http://127.0.0.1:1/openai/v1".into()))
        );
        assert_eq!(
            get("ANTHROPIC_BASE_URL"),
            Some(Some("http://127.0.0.1:1/anthropic".into()))
        );
        assert_eq!(get("ANTHROPIC_AUTH_TOKEN"), Some(Some("bfs_k".into())));
    }
}
