//! The dashboard in a real headless Chromium, driven through chromedriver's WebDriver HTTP API:
//! the one-time link, live rows, a filter that narrows them, a detail view with the prompt,
//! and a screenshot (`target/dashboard.png`; `docs/dashboard.png` for the README when it is
//! missing or `BIFROST_UPDATE_SCREENSHOT=1`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use super::dashboard::{Gw, body, client};
use crate::support::mock::{self, Reply};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_program(names: &[&str]) -> Option<PathBuf> {
    names.iter().find_map(|n| {
        let p = Path::new(n);
        if p.is_absolute() {
            p.exists().then(|| p.to_path_buf())
        } else {
            which::which(n).ok()
        }
    })
}

/// chromedriver and a Chromium session; both end when this is dropped, even on a panic.
struct Browser {
    driver: Child,
    port: u16,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A blocking DELETE /session (no runtime in Drop), so Chromium exits with the driver.
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                s,
                "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.session
            );
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    async fn start() -> Browser {
        let chromium = find_program(&["/usr/bin/chromium", "chromium", "chromium-browser"]);
        let driver = find_program(&["/usr/bin/chromedriver", "chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            panic!(
                "the dashboard test needs a real headless Chromium and chromedriver: `apt-get install -y chromium chromium-driver` (Debian packages; .ci/run installs them)"
            );
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let http = client();
        let base = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        loop {
            let ready = http
                .get(format!("{base}/status"))
                .send()
                .await
                .ok()
                .map(|r| r.json::<Value>());
            if let Some(f) = ready
                && let Ok(v) = f.await
                && v["value"]["ready"] == true
            {
                break;
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                panic!("chromedriver did not become ready on port {port}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--hide-scrollbars", "--force-device-scale-factor=1",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        }}});
        let r = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new session");
        let v: Value = r.json().await.expect("session json");
        let Some(session) = v["value"]["sessionId"].as_str().map(str::to_string) else {
            let _ = child.kill();
            panic!("chromedriver refused the session: {v}");
        };
        Browser {
            driver: child,
            port,
            session,
            http,
            _profile: profile,
        }
    }

    fn url(&self, path: &str) -> String {
        format!(
            "http://127.0.0.1:{}/session/{}{path}",
            self.port, self.session
        )
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, self.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req
            .send()
            .await
            .expect("webdriver")
            .json()
            .await
            .expect("webdriver json");
        if v["value"].get("error").is_some() {
            panic!("webdriver {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn script(&self, js: &str) -> Value {
        self.post("/execute/sync", json!({"script": js, "args": []}))
            .await
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .await;
        v[ELEMENT].as_str().expect("element id").to_string()
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/click"), json!({})).await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/value"), json!({"text": text}))
            .await;
    }

    async fn clear(&self, css: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/clear"), json!({})).await;
    }

    /// Polls a script until it returns `want`.
    async fn wait_for(&self, what: &str, js: &str, want: Value) {
        let start = Instant::now();
        let mut last = Value::Null;
        while start.elapsed() < Duration::from_secs(20) {
            last = self.script(js).await;
            if last == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        let page = self
            .script("return document.body.innerText.slice(0, 2000)")
            .await;
        panic!("{what}: wanted {want}, last saw {last}\npage: {page}");
    }
}

const ROWS: &str = "return document.querySelectorAll('#rows tr[data-id]').length";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_headless_chromium() {
    let browser = Browser::start().await;
    let g = Gw::start().await;
    g.traffic().await;
    for (model, prompt, out) in [
        ("gpt-5-mini", "summarise the README", 120),
        ("gpt-4.1", "rename the variable", 60),
    ] {
        g.mock.push(Reply::Items {
            items: vec![mock::message("done")],
            usage: mock::usage(800, 200, out, 0),
        });
        let r = g
            .post("/openai/v1/responses", body(model, true, prompt))
            .await;
        let _ = r.text().await;
    }
    g.gw.settled(Duration::from_secs(10)).await;
    g.writer.flush().await;
    let rows = g.rows().await;
    let n = rows.len();
    assert_eq!(n, 7);
    let tool_id = rows
        .iter()
        .find(|r| r.reasoning_tokens == 8)
        .map(|r| r.id.clone())
        .expect("the tool-call request");

    browser
        .post("/window/rect", json!({"width": 1440, "height": 1000}))
        .await;
    browser
        .post(
            "/url",
            json!({"url": g.gw.dashboard_url().expect("dashboard url")}),
        )
        .await;
    let at = browser.get("/url").await;
    assert_eq!(
        at.as_str(),
        Some(format!("{}/logs", g.gw.url()).as_str()),
        "the token was traded for a cookie and left the address bar"
    );
    browser.wait_for("all rows", ROWS, json!(n)).await;

    // Live: a request made now shows up without a reload (the page polls every 2 s).
    g.mock.push(Reply::Items {
        items: vec![mock::message("late")],
        usage: mock::usage(50, 0, 5, 0),
    });
    let _ = g
        .post(
            "/openai/v1/responses",
            body("gpt-5-mini", false, "one more"),
        )
        .await
        .text()
        .await;
    browser
        .wait_for("the live update", ROWS, json!(n + 1))
        .await;

    // Free-text search narrows the rows; so does the status filter.
    browser.type_into("#f-q", "4.1").await;
    browser.wait_for("search narrows", ROWS, json!(1)).await;
    browser.clear("#f-q").await;
    browser
        .script("document.getElementById('f-q').dispatchEvent(new Event('input'))")
        .await;
    browser.wait_for("search cleared", ROWS, json!(n + 1)).await;
    browser.click("#f-status").await;
    browser.click("#f-status option[value=error]").await;
    browser.wait_for("errors only", ROWS, json!(3)).await;
    browser
        .wait_for(
            "error badges",
            "return Array.from(document.querySelectorAll('#rows .badge')).every(b => b.classList.contains('error'))",
            json!(true),
        )
        .await;
    browser.click("#f-status").await;
    browser.click("#f-status option[value='']").await;
    browser.wait_for("all again", ROWS, json!(n + 1)).await;

    // The detail view: prompt, tool call, timings.
    browser
        .click(&format!("#rows tr[data-id='{tool_id}']"))
        .await;
    browser
        .wait_for(
            "the prompt",
            "const p = document.getElementById('detail-prompt'); return !!p && p.innerText.includes('list the files please')",
            json!(true),
        )
        .await;
    let tools = browser
        .script("return document.getElementById('detail-tools').innerText")
        .await;
    assert!(
        tools.as_str().unwrap_or("").contains("exec_command"),
        "{tools}"
    );
    let timings = browser
        .script("return document.getElementById('detail-timings').innerText")
        .await;
    let timings = timings.as_str().unwrap_or("");
    for label in [
        "total",
        "time to first token",
        "upstream",
        "gateway overhead",
    ] {
        assert!(timings.contains(label), "{timings}");
    }
    let charts = browser
        .script("return ['c-tokens','c-cost','c-latency','c-models'].map(id => document.querySelectorAll('#' + id + ' rect, #' + id + ' polyline').length)")
        .await;
    assert!(
        charts
            .as_array()
            .is_some_and(|a| a.iter().all(|c| c.as_u64().unwrap_or(0) > 0)),
        "every chart has marks: {charts}"
    );
    let errors = browser
        .script("return document.getElementById('error').hidden")
        .await;
    assert_eq!(errors, json!(true), "no error banner");

    let png = browser.get("/screenshot").await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(png.as_str().expect("base64"))
        .expect("png");
    assert!(bytes.starts_with(b"\x89PNG"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    std::fs::create_dir_all(&target).expect("target dir");
    std::fs::write(target.join("dashboard.png"), &bytes).expect("write screenshot");
    let docs = root.join("docs/dashboard.png");
    if !docs.exists() || std::env::var_os("BIFROST_UPDATE_SCREENSHOT").is_some() {
        std::fs::create_dir_all(root.join("docs")).expect("docs dir");
        std::fs::write(&docs, &bytes).expect("write docs screenshot");
    }
}
