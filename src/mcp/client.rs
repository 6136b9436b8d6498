//! One MCP server connection through rmcp: a child process on stdio or a streamable HTTP
//! endpoint. Server stderr goes to bifrost's log file (never Codex's terminal), and its tail is
//! kept to explain a failed start.

use std::collections::{HashMap, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use rmcp::RoleClient;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

use crate::config::{McpServer, McpTransport};

/// A tool as the server describes it.
pub(super) struct ServerTool {
    pub name: String,
    pub description: String,
    pub schema: Value,
}

/// A connected server.
pub(super) struct Client {
    service: tokio::sync::Mutex<Option<RunningService<RoleClient, ClientConfig>>>,
    peer: rmcp::Peer<RoleClient>,
    pub tools: Vec<ServerTool>,
}

type Tail = Arc<Mutex<VecDeque<String>>>;

fn tail_text(tail: &Tail) -> String {
    let lines: Vec<String> = tail
        .lock()
        .map(|t| t.iter().cloned().collect())
        .unwrap_or_default();
    if lines.is_empty() {
        String::new()
    } else {
        format!("; stderr: {}", lines.join(" | "))
    }
}

impl Client {
    /// Starts (or reaches) the server, handshakes and lists its tools.
    pub async fn connect(s: &McpServer, scrub_env: &[String]) -> Result<Client, String> {
        let info = ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("bifrost", env!("CARGO_PKG_VERSION")),
        );
        let tail: Tail = Arc::new(Mutex::new(VecDeque::new()));
        let service = match &s.transport {
            McpTransport::Stdio {
                command,
                args,
                env,
                cwd,
            } => {
                let mut cmd = tokio::process::Command::new(command);
                cmd.args(args);
                for var in crate::config::PROVIDER_KEY_VARS
                    .iter()
                    .map(|v| v.to_string())
                    .chain(scrub_env.iter().cloned())
                {
                    cmd.env_remove(var);
                }
                for (k, v) in env {
                    cmd.env(k, v.expose());
                }
                if let Some(dir) = cwd {
                    cmd.current_dir(dir);
                }
                cmd.kill_on_drop(true);
                let (transport, stderr) = TokioChildProcess::builder(cmd)
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| format!("cannot run `{command}`: {e}"))?;
                if let Some(stderr) = stderr {
                    let (name, tail) = (s.name.clone(), tail.clone());
                    tokio::spawn(async move {
                        let mut lines = tokio::io::BufReader::new(stderr).lines();
                        while let Ok(Some(line)) = lines.next_line().await {
                            tracing::info!(target: "mcp", "[{name}] {line}");
                            if let Ok(mut t) = tail.lock() {
                                if t.len() >= 5 {
                                    t.pop_front();
                                }
                                t.push_back(line.chars().take(300).collect());
                            }
                        }
                    });
                }
                info.serve(transport)
                    .await
                    .map_err(|e| format!("handshake failed: {e}{}", tail_text(&tail)))?
            }
            McpTransport::Http { url, headers } => {
                let mut cfg = StreamableHttpClientTransportConfig::with_uri(url.clone());
                let mut custom = HashMap::new();
                for (k, v) in headers {
                    if k.eq_ignore_ascii_case("authorization") {
                        let token = v.expose();
                        cfg = cfg.auth_header(
                            token.strip_prefix("Bearer ").unwrap_or(token).to_string(),
                        );
                    } else if let (Ok(n), Ok(val)) = (
                        http::HeaderName::from_bytes(k.as_bytes()),
                        http::HeaderValue::from_str(v.expose()),
                    ) {
                        custom.insert(n, val);
                    }
                }
                let transport =
                    StreamableHttpClientTransport::from_config(cfg.custom_headers(custom));
                info.serve(transport)
                    .await
                    .map_err(|e| format!("handshake with {url} failed: {e}"))?
            }
        };
        let listed = service
            .list_all_tools()
            .await
            .map_err(|e| format!("tools/list failed: {e}{}", tail_text(&tail)))?;
        let mut tools = Vec::new();
        for t in listed {
            let v = serde_json::to_value(&t).unwrap_or(Value::Null);
            tools.push(ServerTool {
                name: v["name"].as_str().unwrap_or_default().to_string(),
                description: v["description"].as_str().unwrap_or_default().to_string(),
                schema: v
                    .get("inputSchema")
                    .cloned()
                    .unwrap_or_else(|| serde_json::json!({"type": "object"})),
            });
        }
        let peer = service.peer().clone();
        Ok(Client {
            service: tokio::sync::Mutex::new(Some(service)),
            peer,
            tools,
        })
    }

    /// Calls a tool; the result comes back as MCP JSON.
    pub async fn call(
        &self,
        tool: &str,
        args: serde_json::Map<String, Value>,
    ) -> Result<Value, String> {
        let params = CallToolRequestParams::new(tool.to_string()).with_arguments(args);
        let r = self
            .peer
            .call_tool(params)
            .await
            .map_err(|e| e.to_string())?;
        serde_json::to_value(&r).map_err(|e| e.to_string())
    }

    /// Closes the connection (stdio: close stdin, wait, then kill).
    pub async fn close(&self) {
        if let Some(s) = self.service.lock().await.take() {
            let _ = s.cancel().await;
        }
    }
}
