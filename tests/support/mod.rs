//! Test helpers: an isolated bifrost environment per test, and the mock upstream.

#![allow(dead_code)]

pub mod anthropic_mock;
pub mod chat_mock;
pub mod gemini_mock;
pub mod mock;
pub mod services;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// An axum app served on `127.0.0.1:PORT` by its own one-thread runtime, so a mock works from
/// sync and async tests alike; dropping it stops the server without blocking.
pub struct Served {
    /// The bound address.
    pub addr: std::net::SocketAddr,
    rt: Option<tokio::runtime::Runtime>,
}

impl Served {
    /// Binds a free port and serves `app` until dropped.
    pub fn start(app: axum::Router) -> Served {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("mock runtime");
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind mock");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("addr");
        rt.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
            let _ = axum::serve(listener, app).await;
        });
        Served { addr, rt: Some(rt) }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// The fake provider key. It must never show up anywhere but the mock's Authorization header.
pub const CANARY: &str = "sk-canary-7f3a9c1e5b2d4f60-DO-NOT-LEAK";

/// A temp world for one bifrost run: BIFROST_HOME, config, CODEX_HOME, a work dir.
pub struct World {
    pub dir: tempfile::TempDir,
}

impl World {
    pub fn new() -> World {
        World {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    pub fn home(&self) -> PathBuf {
        self.path("bifrost-home")
    }
    pub fn config_path(&self) -> PathBuf {
        self.path("config.toml")
    }
    pub fn write_config(&self, text: &str) {
        std::fs::write(self.config_path(), text).expect("write config");
    }
    /// A config pointing `openai` at the mock, with the canary key read from the environment.
    pub fn config_for(&self, mock: &mock::Mock, extra: &str) {
        self.write_config(&format!(
            "{extra}\n[providers.openai]\nbase_url = \"{}\"\napi_key = \"env:BIFROST_TEST_CANARY\"\n",
            mock.base_url()
        ));
    }
    pub fn workdir(&self) -> PathBuf {
        let p = self.path("work");
        std::fs::create_dir_all(&p).expect("workdir");
        p
    }

    /// `bifrost ARGS` with an isolated environment: provider keys in the parent environment
    /// (the canary), so tests can check they never reach the child.
    pub fn bifrost(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_bifrost"));
        c.env("BIFROST_HOME", self.home())
            .env("BIFROST_CONFIG", self.config_path())
            .env("XDG_CONFIG_HOME", self.path("xdg-config"))
            .env("XDG_DATA_HOME", self.path("xdg-data"))
            .env("CODEX_HOME", self.path("codex-home"))
            .env("BIFROST_TEST_CANARY", CANARY)
            .env("OPENAI_API_KEY", CANARY)
            .env("ANTHROPIC_API_KEY", CANARY)
            .env("GEMINI_API_KEY", CANARY)
            .env_remove("GOOGLE_API_KEY")
            .env_remove("BIFROST_LOG")
            .env_remove("OPENAI_BASE_URL")
            .current_dir(self.workdir())
            .stdin(Stdio::null());
        std::fs::create_dir_all(self.path("codex-home")).expect("codex home");
        c
    }
}

/// Runs a command with a deadline; kills it when the deadline passes (Codex never gives up on
/// an unreachable gateway, so every codex run needs one).
pub fn run_with_timeout(mut cmd: Command, limit: Duration) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("wait"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            let out = rx.recv().expect("wait after kill").expect("output");
            panic!(
                "timed out after {limit:?}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The codex binary: BIFROST_CODEX_BIN, or `.deps/node_modules/.bin/codex` where .ci/run
/// installs it. A missing codex fails the test: these tests exist to run the real one.
pub fn codex_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("BIFROST_CODEX_BIN") {
        return PathBuf::from(p);
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".deps/node_modules/.bin/codex");
    assert!(
        local.exists(),
        "the real codex is needed: run `.ci/run`, or `npm install --prefix .deps @openai/codex@0.169.0`, or set BIFROST_CODEX_BIN"
    );
    local
}

/// Reads every file under `dir` (recursively) and panics if `needle` occurs in any.
pub fn assert_nowhere(dir: &Path, needle: &str) {
    for entry in walk(dir) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(
            memchr::memmem::find(&bytes, needle.as_bytes()).is_none(),
            "{needle} found in {}",
            entry.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// `bifrost logs ... --json` parsed.
pub fn logs_json(world: &World, args: &[&str]) -> Vec<serde_json::Value> {
    let out = world
        .bifrost()
        .arg("logs")
        .args(args)
        .arg("--json")
        .output()
        .expect("logs");
    assert!(out.status.success(), "logs failed: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("logs json")
}

/// Waits until `f` holds or panics after `limit`.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("condition not met within {limit:?}");
}

/// A slowloris client against `addr`: sends a request head one byte every 100 ms (each read
/// window short, the whole head far slower than a second) and returns when the server
/// closed the connection, measured from the first byte. Panics if the server answers, or
/// never closes before the head is sent.
pub async fn slowloris_closed_after(addr: &str) -> Duration {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let start = Instant::now();
    let mut buf = [0u8; 256];
    for b in head.iter() {
        if s.write_all(&[*b]).await.is_err() {
            return start.elapsed();
        }
        match tokio::time::timeout(Duration::from_millis(100), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return start.elapsed(),
            Ok(Ok(n)) => panic!("unexpected answer: {}", String::from_utf8_lossy(&buf[..n])),
            Err(_) => {}
        }
    }
    panic!("the connection was still open after the whole head was sent")
}
