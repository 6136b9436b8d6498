//! The raw TOML shape of `config.toml`: every table and key a user may write, nothing else.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::providers::ProviderKind;

/// The whole file. Unknown keys anywhere are errors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Passed to codex as `-m` when the user gives no model.
    pub default_model: Option<String>,
    /// Provider for model names without a `provider/` prefix.
    pub default_provider: Option<Spanned<String>>,
    /// `[providers.NAME]` tables.
    #[serde(default)]
    pub providers: BTreeMap<String, Spanned<ProviderEntry>>,
    /// `[aliases]`: model name → `provider/model`.
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    /// `[logs]`.
    #[serde(default)]
    pub logs: LogsSection,
    /// `[server]`.
    #[serde(default)]
    pub server: ServerSection,
    /// `[gateway]`.
    #[serde(default)]
    pub gateway: GatewaySection,
    /// `[pricing."provider/model"]` overrides.
    #[serde(default)]
    pub pricing: BTreeMap<String, PriceEntry>,
    /// `[[routes]]` rules, first match wins.
    #[serde(default)]
    pub routes: Vec<RouteEntry>,
    /// `[mcp]`: MCP servers whose tools the gateway injects and runs.
    #[serde(default)]
    pub mcp: McpSection,
    /// `[budget]`.
    #[serde(default)]
    pub budget: BudgetSection,
    /// `[cache]`: the exact-match response cache (off by default).
    #[serde(default)]
    pub cache: CacheSection,
    /// `[fallbacks]`: model → ordered list of targets tried when it fails.
    #[serde(default)]
    pub fallbacks: BTreeMap<String, Vec<String>>,
    /// `[store]`: where the request log (and virtual keys) live.
    #[serde(default)]
    pub store: StoreSection,
    /// `[limits]`: where virtual keys' usage counters live.
    #[serde(default)]
    pub limits: LimitsSection,
}

/// `[store]`: the request log's database.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// `postgres://USER:PASSWORD@HOST:PORT/DB` (or `"env:NAME"`) for a store shared by several
    /// gateways; unset means the SQLite file under `BIFROST_HOME`. `BIFROST_STORE_URL` wins.
    pub url: Option<Spanned<String>>,
}

/// `[limits]`: virtual keys' rate and budget counters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    /// `redis://...`: keep the counters in Redis instead of the SQL store (`"env:NAME"` allowed).
    pub redis_url: Option<Spanned<String>>,
    /// Prefix of every Redis key bifrost writes (default `bifrost`).
    pub redis_prefix: Option<String>,
}

/// `[mcp]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpSection {
    /// Model round trips per client request before the gateway stops running tools (default 10).
    pub max_iterations: Option<u32>,
    /// Seconds one tool call may take (default 30).
    pub tool_timeout_secs: Option<f64>,
    /// Seconds a server may take to start (default 30).
    pub startup_timeout_secs: Option<f64>,
    /// `[mcp.servers.NAME]` tables.
    #[serde(default)]
    pub servers: BTreeMap<String, toml::Spanned<McpServerEntry>>,
}

/// `[mcp.servers.NAME]`: a stdio server (`command`) or a streamable HTTP server (`url`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpServerEntry {
    /// Program to run (stdio).
    pub command: Option<String>,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra environment (`"env:NAME"` values read from bifrost's environment).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory.
    pub cwd: Option<String>,
    /// Streamable HTTP endpoint.
    pub url: Option<String>,
    /// HTTP headers (`"env:NAME"` values allowed).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Only these tools.
    pub tools: Option<Vec<String>>,
    /// Never these tools.
    #[serde(default)]
    pub exclude_tools: Vec<String>,
    /// Abort the launch when this server fails to start.
    #[serde(default)]
    pub required: bool,
}

/// `[cache]`: the exact-match response cache.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSection {
    /// Turn the cache on (default false).
    pub enabled: Option<bool>,
    /// Seconds an entry lives (default 3600).
    pub ttl_secs: Option<Spanned<f64>>,
    /// Largest response stored, in bytes (default 1 MiB).
    pub max_entry_bytes: Option<usize>,
    /// Model globs whose agent traffic (tools, tool calls) may be answered from the cache.
    #[serde(default)]
    pub agent_models: Vec<String>,
    /// Keep entries in Redis instead of the store (`"env:NAME"` allowed).
    pub redis_url: Option<Spanned<String>>,
    /// Prefix of the Redis keys (default `bifrost:cache:`).
    pub redis_prefix: Option<String>,
}

/// `[budget]`: spending limits in USD, per UTC day and month.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetSection {
    /// Limit per UTC calendar day.
    pub daily_usd: Option<Spanned<f64>>,
    /// Limit per UTC calendar month.
    pub monthly_usd: Option<Spanned<f64>>,
    /// Fraction of a limit at which the session summary warns (default 0.8).
    pub warn_at: Option<Spanned<f64>>,
    /// Refuse new requests once a limit is spent (default false).
    pub enforce: Option<bool>,
}

/// One `[[routes]]` rule: when every condition given holds, the request goes to `target`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteEntry {
    /// A glob on the requested model name (`*` matches anything).
    pub model: Option<String>,
    /// Codex's request kind from `x-codex-turn-metadata`: `turn`, `compaction`, ...
    pub request_kind: Option<String>,
    /// Estimated input tokens above this.
    pub min_input_tokens: Option<u64>,
    /// Where matching requests go: `provider/model` or an alias.
    pub target: String,
}

/// `[providers.NAME]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderEntry {
    /// Wire protocol; defaults from a built-in name.
    #[serde(rename = "type")]
    pub kind: Option<ProviderKind>,
    /// Base URL, e.g. `https://api.openai.com/v1`.
    pub base_url: Option<Spanned<String>>,
    /// One key (`"env:NAME"` reads the environment).
    pub api_key: Option<Spanned<String>>,
    /// Several keys with weights.
    pub keys: Option<Vec<KeyEntry>>,
    /// Requests in flight to this provider at once (default: no limit).
    pub max_concurrency: Option<usize>,
    /// Requests that may wait for a slot; past it, 429 with Retry-After (default 64).
    pub max_queue: Option<usize>,
}

/// One entry of `keys = [...]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// The key, or `"env:NAME"`.
    pub value: Spanned<String>,
    /// Relative share of traffic (default 1).
    pub weight: Option<u32>,
    /// Printable name for logs.
    pub alias: Option<String>,
    /// Only these models (globs) use this key.
    pub models: Option<Vec<String>>,
}

/// `[logs]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsSection {
    /// Store request and response bodies (default true).
    pub capture_bodies: Option<bool>,
    /// Cap per stored body in bytes (default 1 MiB).
    pub max_body_bytes: Option<usize>,
    /// Delete requests older than this many days when a gateway starts (default: keep all).
    pub retention_days: Option<u32>,
}

/// `[server]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Accepted client keys (`"env:NAME"` allowed).
    pub keys: Option<Vec<Spanned<String>>>,
    /// Bind host (default 127.0.0.1).
    pub host: Option<String>,
    /// Port (default 8787).
    pub port: Option<u16>,
    /// Keys that may manage virtual keys under `/admin/keys` (`"env:NAME"` allowed).
    pub admin_keys: Option<Vec<Spanned<String>>>,
    /// Accept virtual keys (`bfk_...`, made with `bifrost keys create`) (default true).
    pub virtual_keys: Option<bool>,
}

/// `[gateway]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySection {
    /// Largest request body accepted (default 32 MiB).
    pub max_request_bytes: Option<usize>,
    /// Seconds to wait for in-flight requests at shutdown (default 10).
    pub drain_timeout_secs: Option<f64>,
    /// Seconds of upstream silence before a translated stream sends a heartbeat (default 15).
    pub heartbeat_secs: Option<f64>,
    /// Retries per target on 429, 5xx, 529, connect errors and timeouts (default 2).
    pub max_retries: Option<u32>,
    /// Seconds to wait for an upstream's first byte (default 300).
    pub first_byte_timeout_secs: Option<f64>,
    /// Seconds of silence between stream events before the stream fails (default 300).
    pub idle_timeout_secs: Option<f64>,
    /// Consecutive failures that open a key's circuit breaker (default 5).
    pub breaker_failures: Option<u32>,
    /// Seconds a key with an open breaker is skipped before a probe (default 30).
    pub breaker_cooldown_secs: Option<f64>,
    /// Longest `Retry-After` the gateway waits out itself before failing over (default 20).
    pub max_retry_wait_secs: Option<f64>,
    /// Seconds a client may take to send a request's headers (default 30).
    pub header_read_timeout_secs: Option<f64>,
    /// Largest total size of a request's headers (default 64 KiB); larger gets 431.
    pub max_header_bytes: Option<usize>,
    /// Largest single upstream SSE event (default 8 MiB); larger ends the stream in error.
    pub max_event_bytes: Option<usize>,
}

/// `[pricing."provider/model"]`, USD per 1M tokens.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceEntry {
    /// Uncached input.
    pub input: f64,
    /// Cached input reads.
    pub cached_input: Option<f64>,
    /// Output.
    pub output: f64,
    /// Cache writes.
    pub cache_write: Option<f64>,
}
