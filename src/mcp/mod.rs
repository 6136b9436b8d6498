//! MCP tool injection: the gateway connects to the configured MCP servers, offers their tools
//! to the model next to the client's own, and runs the calls itself (see `agent.rs`), so the
//! client (Codex) never sees a tool it does not know.

pub mod agent;
mod client;
mod history;

pub use agent::{AgentLoop, Limits};
pub use history::{CARRY_PROVIDER, expand_history};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::canonical::{Image, ResultContent, Tool, ToolKind, flatten_name};
use crate::config::{McpConfig, McpServer};

/// One injected tool.
#[derive(Debug, Clone)]
pub struct McpTool {
    /// `<server>__<tool>`, valid for every provider.
    pub flat: String,
    /// The server.
    pub server: String,
    /// The tool's own name.
    pub name: String,
    /// Description from the server.
    pub description: String,
    /// JSON schema of its arguments.
    pub schema: Value,
}

/// What happened to one server at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Connected, with this many tools offered.
    Ready(usize),
    /// Failed, with the reason and the tail of its stderr.
    Failed(String),
}

/// The outcome of one tool call.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The server.
    pub server: String,
    /// The tool.
    pub tool: String,
    /// The arguments as sent (JSON text).
    pub arguments: String,
    /// What the model gets back.
    pub content: Vec<ResultContent>,
    /// The tool failed, timed out or the server broke.
    pub is_error: bool,
    /// How long it took.
    pub duration: Duration,
    /// When it started (unix ms).
    pub started_at_ms: i64,
}

/// All connected servers and their tools.
#[derive(Default)]
pub struct Hub {
    clients: BTreeMap<String, Arc<client::Client>>,
    tools: Vec<McpTool>,
    statuses: Vec<(String, Status)>,
    tool_timeout: Duration,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("servers", &self.statuses)
            .field("tools", &self.tools.len())
            .finish()
    }
}

impl Hub {
    /// Starts every selected server in parallel. `only` limits to these names (`--mcp`);
    /// `on_change(name, state)` reports progress. Failures are kept as [`Status::Failed`].
    pub async fn start(
        cfg: &McpConfig,
        only: Option<&[String]>,
        scrub_env: &[String],
        on_change: &(dyn Fn(&str, &str) + Sync),
    ) -> Hub {
        let selected: Vec<&McpServer> = cfg
            .servers
            .iter()
            .filter(|s| only.is_none_or(|o| o.iter().any(|n| n == &s.name)))
            .collect();
        let starts = selected.iter().map(|s| async move {
            on_change(&s.name, "starting");
            let r =
                tokio::time::timeout(cfg.startup_timeout, client::Client::connect(s, scrub_env))
                    .await;
            let r = match r {
                Ok(r) => r,
                Err(_) => Err(format!(
                    "did not finish starting within {:?}",
                    cfg.startup_timeout
                )),
            };
            on_change(&s.name, if r.is_ok() { "ready" } else { "failed" });
            (*s, r)
        });
        let mut hub = Hub {
            tool_timeout: cfg.tool_timeout,
            ..Hub::default()
        };
        for (server, result) in futures::future::join_all(starts).await {
            match result {
                Ok(c) => {
                    let mut n = 0;
                    for t in &c.tools {
                        let wanted = server
                            .tools
                            .as_ref()
                            .is_none_or(|only| only.contains(&t.name))
                            && !server.exclude_tools.contains(&t.name);
                        if wanted {
                            n += 1;
                            hub.tools.push(McpTool {
                                flat: flatten_name(Some(&server.name), &t.name),
                                server: server.name.clone(),
                                name: t.name.clone(),
                                description: t.description.clone(),
                                schema: t.schema.clone(),
                            });
                        }
                    }
                    hub.statuses.push((server.name.clone(), Status::Ready(n)));
                    hub.clients.insert(server.name.clone(), Arc::new(c));
                }
                Err(e) => {
                    tracing::warn!("MCP server {} failed to start: {e}", server.name);
                    hub.statuses.push((server.name.clone(), Status::Failed(e)));
                }
            }
        }
        hub
    }

    /// Each server's start-up status.
    pub fn statuses(&self) -> &[(String, Status)] {
        &self.statuses
    }

    /// Every injected tool.
    pub fn tools(&self) -> &[McpTool] {
        &self.tools
    }

    /// The tools to inject for one request, after header filters (server names).
    pub fn selected(&self, include: Option<&[String]>, exclude: &[String]) -> Vec<&McpTool> {
        self.tools
            .iter()
            .filter(|t| {
                include.is_none_or(|i| i.contains(&t.server)) && !exclude.contains(&t.server)
            })
            .collect()
    }

    /// The canonical tool for an injected one.
    pub fn as_tool(t: &McpTool) -> Tool {
        let mut schema = t.schema.clone();
        if !schema.is_object() || schema.get("type").and_then(Value::as_str) != Some("object") {
            schema = serde_json::json!({"type": "object", "properties": {}});
        }
        Tool {
            name: t.flat.clone(),
            description: format!("{} (MCP server `{}`)", t.description, t.server),
            parameters: schema.into(),
            kind: ToolKind::Function,
            strict: false,
        }
    }

    /// Runs one call with the per-call time limit. Never fails: errors become an error
    /// result the model can read.
    pub async fn call(&self, flat: &str, arguments: &str) -> Outcome {
        let started = Instant::now();
        let started_at_ms = crate::store::now_ms();
        let Some(tool) = self.tools.iter().find(|t| t.flat == flat) else {
            return Outcome {
                server: String::new(),
                tool: flat.to_string(),
                arguments: arguments.to_string(),
                content: vec![ResultContent::Text(format!("unknown tool `{flat}`"))],
                is_error: true,
                duration: started.elapsed(),
                started_at_ms,
            };
        };
        let error = |msg: String| (vec![ResultContent::Text(msg)], true);
        let (content, is_error) = match (self.clients.get(&tool.server), parse_arguments(arguments))
        {
            (_, Err(e)) => error(format!(
                "the arguments are not a JSON object ({e}); call the tool again with valid JSON"
            )),
            (None, _) => error(format!("MCP server `{}` is not connected", tool.server)),
            (Some(c), Ok(args)) => {
                match tokio::time::timeout(self.tool_timeout, c.call(&tool.name, args)).await {
                    Ok(Ok(result)) => result_content(&result),
                    Ok(Err(e)) => error(format!(
                        "tool `{}` on MCP server `{}` failed: {e}",
                        tool.name, tool.server
                    )),
                    Err(_) => error(format!(
                        "tool `{}` timed out after {:?}; it was stopped",
                        tool.name, self.tool_timeout
                    )),
                }
            }
        };
        Outcome {
            server: tool.server.clone(),
            tool: tool.name.clone(),
            arguments: arguments.to_string(),
            content,
            is_error,
            duration: started.elapsed(),
            started_at_ms,
        }
    }

    /// Calls a tool by server and tool name (for `bifrost mcp call`).
    pub async fn call_direct(&self, server: &str, tool: &str, arguments: &str) -> Outcome {
        self.call(&flatten_name(Some(server), tool), arguments)
            .await
    }

    /// Closes every server.
    pub async fn shutdown(&self) {
        let closing = self.clients.values().map(|c| c.close());
        let _ =
            tokio::time::timeout(Duration::from_secs(5), futures::future::join_all(closing)).await;
    }
}

fn parse_arguments(arguments: &str) -> Result<serde_json::Map<String, Value>, String> {
    if arguments.trim().is_empty() {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(other) => Err(format!("got {other}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Turns an MCP `CallToolResult` (as JSON) into result content.
fn result_content(result: &Value) -> (Vec<ResultContent>, bool) {
    let is_error = result
        .get("isError")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut out = Vec::new();
    for c in result
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match c.get("type").and_then(Value::as_str) {
            Some("text") => out.push(ResultContent::Text(
                c.get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            )),
            Some("image") => {
                if let (Some(data), Some(mime)) = (
                    c.get("data").and_then(Value::as_str),
                    c.get("mimeType").and_then(Value::as_str),
                ) {
                    out.push(ResultContent::Image(Image::Base64 {
                        media_type: mime.to_string(),
                        data: data.to_string(),
                    }));
                }
            }
            Some("resource") => {
                let r = &c["resource"];
                let text = r
                    .get("text")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| {
                        format!(
                            "[resource {}]",
                            r.get("uri").and_then(Value::as_str).unwrap_or("")
                        )
                    });
                out.push(ResultContent::Text(text));
            }
            Some("resource_link") => out.push(ResultContent::Text(format!(
                "[resource link {}]",
                c.get("uri").and_then(Value::as_str).unwrap_or("")
            ))),
            _ => out.push(ResultContent::Text(c.to_string())),
        }
    }
    if out.is_empty()
        && let Some(s) = result.get("structuredContent")
    {
        out.push(ResultContent::Text(s.to_string()));
    }
    if out.is_empty() {
        out.push(ResultContent::Text(String::new()));
    }
    (out, is_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_become_readable_content() {
        let r = serde_json::json!({"content": [{"type": "text", "text": "hi"}, {"type": "image", "data": "AAA", "mimeType": "image/png"},
            {"type": "resource", "resource": {"uri": "file:///x", "text": "body"}}], "isError": true});
        let (c, err) = result_content(&r);
        assert!(err);
        assert_eq!(c.len(), 3);
        assert!(
            matches!(&c[1], ResultContent::Image(Image::Base64 { media_type, .. }) if media_type == "image/png")
        );
        let (c, _) =
            result_content(&serde_json::json!({"content": [], "structuredContent": {"a": 1}}));
        assert!(matches!(&c[0], ResultContent::Text(t) if t == "{\"a\":1}"));
        assert!(parse_arguments("[1]").is_err());
        assert_eq!(parse_arguments("").map(|m| m.len()), Ok(0));
    }
}
