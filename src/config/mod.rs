//! The config file: where it lives, what it may contain, and how it resolves into settings.
//!
//! Two stages, as in codex-rs: [`ConfigFile`] is the raw TOML (unknown keys rejected, spans
//! kept), and [`Config`] is what the gateway runs on, with `env:NAME` values read and defaults
//! filled in. Parsing never touches the environment, so `bifrost logs` works even when a key
//! variable is unset; resolving does, and reports every problem with file, line and fix.

mod check;
mod file;

pub use check::{check_text, suggest};
pub use file::{
    BudgetSection, ConfigFile, KeyEntry, McpServerEntry, PriceEntry, ProviderEntry, RouteEntry,
};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{ConfigProblem, Error, Result};
use crate::providers::ProviderKind;
use crate::secret::Secret;

/// The commented template written by `bifrost config init`.
pub const TEMPLATE: &str = include_str!("template.toml");

/// Environment variables that hold provider credentials bifrost may read. They are removed
/// from every child's environment.
pub const PROVIDER_KEY_VARS: &[&str] = &[
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
];

/// Default cap on a request body the gateway accepts.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 32 * 1024 * 1024;

/// Where the config file is, and whether the user named it explicitly.
#[derive(Debug, Clone)]
pub struct ConfigPath {
    /// The file.
    pub path: PathBuf,
    /// True for `--config` or `BIFROST_CONFIG`: then a missing file is an error.
    pub explicit: bool,
}

impl ConfigPath {
    /// `--config`, then `BIFROST_CONFIG`, then `$XDG_CONFIG_HOME/bifrost/config.toml`.
    pub fn locate(flag: Option<&Path>) -> Result<Self> {
        if let Some(p) = flag {
            return Ok(Self {
                path: p.to_path_buf(),
                explicit: true,
            });
        }
        if let Some(p) = std::env::var_os("BIFROST_CONFIG").filter(|v| !v.is_empty()) {
            return Ok(Self {
                path: PathBuf::from(p),
                explicit: true,
            });
        }
        let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => home_dir()?.join(".config"),
        };
        Ok(Self {
            path: base.join("bifrost").join("config.toml"),
            explicit: false,
        })
    }
}

/// `$HOME`, or an error that says to set it.
pub fn home_dir() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| Error::Usage("HOME is not set; set HOME or BIFROST_HOME".into()))
}

/// `BIFROST_HOME`, or `$XDG_DATA_HOME/bifrost`, or `~/.local/share/bifrost`: the store and
/// the log file live here.
pub fn bifrost_home() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("BIFROST_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let base = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => home_dir()?.join(".local").join("share"),
    };
    Ok(base.join("bifrost"))
}

/// A parsed config file together with its source text, for error positions.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The file, when one was read.
    pub path: Option<PathBuf>,
    /// Its text.
    pub text: String,
    /// The parsed content.
    pub file: ConfigFile,
}

impl Loaded {
    /// Reads and parses the config at `at`; a missing default file means zero config.
    pub fn read(at: &ConfigPath) -> Result<Self> {
        let text = match std::fs::read_to_string(&at.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !at.explicit => {
                return Ok(Self::default());
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::Config(vec![ConfigProblem {
                    path: Some(at.path.clone()),
                    line: None,
                    message: "the config file does not exist".into(),
                    fix: Some(format!(
                        "create it with `bifrost --config {} config init`, or drop --config / BIFROST_CONFIG",
                        at.path.display()
                    )),
                }]));
            }
            Err(e) => return Err(Error::io(format!("reading {}", at.path.display()), e)),
        };
        let file = check::parse(&text).map_err(|mut problems| {
            for p in &mut problems {
                p.path = Some(at.path.clone());
            }
            Error::Config(problems)
        })?;
        Ok(Self {
            path: Some(at.path.clone()),
            text,
            file,
        })
    }

    /// Parses config text that did not come from a file (tests, `config check` on stdin).
    pub fn from_text(text: &str) -> Result<Self> {
        let file = check::parse(text).map_err(Error::Config)?;
        Ok(Self {
            path: None,
            text: text.to_string(),
            file,
        })
    }

    /// Resolves `env:` values and defaults against an environment lookup.
    pub fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
        resolve(self, env)
    }
}

/// One key of a provider.
#[derive(Debug, Clone)]
pub struct ApiKey {
    /// The key itself.
    pub secret: Secret,
    /// Its share of traffic relative to the provider's other keys.
    pub weight: u32,
    /// A printable name (never the key).
    pub alias: String,
    /// Model globs this key may serve; empty means all.
    pub models: Vec<String>,
}

/// A resolved provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The name used as the model prefix (`openai` in `openai/gpt-5.5`).
    pub name: String,
    /// Which wire protocol and defaults apply.
    pub kind: ProviderKind,
    /// Base URL without a trailing slash, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    /// The keys; empty for providers that need none.
    pub keys: Vec<ApiKey>,
    /// Requests in flight at once (`None`: no limit).
    pub max_concurrency: Option<usize>,
    /// Requests that may wait for a slot.
    pub max_queue: usize,
}

/// `[logs]` settings.
#[derive(Debug, Clone)]
pub struct LogsConfig {
    /// Keep request and response bodies.
    pub capture_bodies: bool,
    /// Cap on each stored body.
    pub max_body_bytes: usize,
    /// Requests older than this many days are deleted when a gateway starts.
    pub retention_days: Option<u32>,
}

/// `[budget]` settings; a limit of `None` is no limit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BudgetConfig {
    /// USD per UTC day.
    pub daily_usd: Option<f64>,
    /// USD per UTC month.
    pub monthly_usd: Option<f64>,
    /// Fraction of a limit at which to warn.
    pub warn_at: f64,
    /// Refuse requests once a limit is spent.
    pub enforce: bool,
}

/// `[cache]` settings.
#[derive(Debug, Clone, Default)]
pub struct CacheConfig {
    /// The cache is on.
    pub enabled: bool,
    /// How long an entry lives.
    pub ttl: Duration,
    /// Largest response stored.
    pub max_entry_bytes: usize,
    /// Model globs whose agent traffic may be served from the cache.
    pub agent_models: Vec<String>,
    /// Redis instead of the store.
    pub redis_url: Option<Secret>,
    /// Prefix of the Redis keys.
    pub redis_prefix: String,
}

/// `[server]` settings for `bifrost serve`.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Accepted client keys; empty means one is generated at start.
    pub keys: Vec<Secret>,
    /// Default bind host.
    pub host: String,
    /// Default port.
    pub port: u16,
    /// Keys that may manage virtual keys under `/admin/keys`.
    pub admin_keys: Vec<Secret>,
    /// Whether `serve` accepts virtual keys (`bfk_...`).
    pub virtual_keys: bool,
}

/// `[limits]` settings: where virtual keys' counters live.
#[derive(Debug, Clone, Default)]
pub struct LimitsConfig {
    /// Redis for the counters; `None` keeps them in the SQL store.
    pub redis_url: Option<Secret>,
    /// Prefix of bifrost's Redis keys.
    pub redis_prefix: String,
}

/// `[gateway]` settings.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Largest accepted request body.
    pub max_request_bytes: usize,
    /// How long to wait for in-flight requests after the child exits or on SIGTERM.
    pub drain_timeout: Duration,
    /// Upstream silence before a translated stream sends a heartbeat event.
    pub heartbeat: Duration,
    /// Retries per target.
    pub max_retries: u32,
    /// Wait for an upstream's first byte.
    pub first_byte_timeout: Duration,
    /// Silence between stream events before the stream fails.
    pub idle_timeout: Duration,
    /// Consecutive failures that open a key's breaker.
    pub breaker_failures: u32,
    /// How long an open breaker skips its key.
    pub breaker_cooldown: Duration,
    /// Longest Retry-After waited out in place.
    pub max_retry_wait: Duration,
    /// How long a client may take to send a request's headers before the connection closes.
    pub header_read_timeout: Duration,
    /// Largest total size of a request's headers (start line included); larger gets 431.
    pub max_header_bytes: usize,
    /// Largest single upstream SSE event; a larger one ends the stream with an error event.
    pub max_event_bytes: usize,
}

/// A price override, USD per 1M tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceOverride {
    /// Uncached input.
    pub input: f64,
    /// Cached input (reads); defaults to `input`.
    pub cached_input: Option<f64>,
    /// Output, reasoning included.
    pub output: f64,
    /// Cache writes; defaults to `input`.
    pub cache_write: Option<f64>,
}

/// The resolved settings every command runs on.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file they came from, if any.
    pub source: Option<PathBuf>,
    /// Model passed to codex when the user gives none.
    pub default_model: Option<String>,
    /// Provider for a model name without a `provider/` prefix.
    pub default_provider: Option<String>,
    /// Providers by name.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Model name → target (`provider/model`).
    pub aliases: BTreeMap<String, String>,
    /// Logging.
    pub logs: LogsConfig,
    /// Team server.
    pub server: ServerConfig,
    /// Gateway limits.
    pub gateway: GatewayConfig,
    /// Price overrides keyed `provider/model` or `model`.
    pub pricing: BTreeMap<String, PriceOverride>,
    /// Environment variables the config reads keys from; removed from children.
    pub key_vars: Vec<String>,
    /// Routing rules.
    pub routes: Vec<RouteEntry>,
    /// MCP servers and limits.
    pub mcp: McpConfig,
    /// Spending limits.
    pub budget: BudgetConfig,
    /// Model → ordered fallback targets.
    pub fallbacks: BTreeMap<String, Vec<String>>,
    /// Where virtual keys' counters live.
    pub limits: LimitsConfig,
    /// `[store] url`: a PostgreSQL URL (checked), or `None` for the SQLite file.
    /// `BIFROST_STORE_URL` overrides it: see [`crate::store::Location::resolve`].
    pub store_url: Option<Secret>,
    /// The exact-match response cache.
    pub cache: CacheConfig,
}

/// The `[store] url` of the file (`env:NAME` read), checked to be a usable PostgreSQL URL.
/// Problems never quote the password. `BIFROST_STORE_URL` overrides it where the store is
/// opened ([`crate::store::Location::resolve`]).
pub fn store_url(loaded: &Loaded, env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Secret>> {
    let mut problems = Vec::new();
    let mut vars = Vec::new();
    let url = store_url_checked(loaded, env, &mut problems, &mut vars);
    if problems.is_empty() {
        Ok(url)
    } else {
        Err(Error::Config(problems))
    }
}

fn store_url_checked(
    loaded: &Loaded,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<ConfigProblem>,
    key_vars: &mut Vec<String>,
) -> Option<Secret> {
    let raw = loaded.file.store.url.as_ref()?;
    let at = Some(line_col(&loaded.text, raw.span().start));
    let value = match raw.get_ref().strip_prefix("env:") {
        Some(name) => {
            key_vars.push(name.to_string());
            match env(name).filter(|v| !v.trim().is_empty()) {
                Some(v) => v.trim().to_string(),
                None => {
                    problems.push(ConfigProblem {
                        path: loaded.path.clone(),
                        line: at,
                        message: format!(
                            "store.url reads the environment variable {name}, which is not set"
                        ),
                        fix: Some(format!(
                            "export {name}=postgres://..., or remove [store] url to use SQLite"
                        )),
                    });
                    return None;
                }
            }
        }
        None => raw.get_ref().trim().to_string(),
    };
    match crate::store::PgUrl::parse(&value) {
        Ok(_) => Some(Secret::new(value)),
        Err(e) => {
            problems.push(ConfigProblem {
                path: loaded.path.clone(),
                line: at,
                message: e,
                fix: Some("remove [store] url to use the SQLite file under BIFROST_HOME".into()),
            });
            None
        }
    }
}

/// A resolved MCP server.
#[derive(Debug, Clone)]
pub struct McpServer {
    /// Its name (the tool prefix).
    pub name: String,
    /// Program (stdio) or URL (HTTP).
    pub transport: McpTransport,
    /// Only these tools, when set.
    pub tools: Option<Vec<String>>,
    /// Never these tools.
    pub exclude_tools: Vec<String>,
    /// Abort the launch when it fails.
    pub required: bool,
}

/// How to reach an MCP server.
#[derive(Debug, Clone)]
pub enum McpTransport {
    /// A child process speaking JSON-RPC on stdio.
    Stdio {
        /// Program.
        command: String,
        /// Arguments.
        args: Vec<String>,
        /// Extra environment (values may be secrets).
        env: Vec<(String, Secret)>,
        /// Working directory.
        cwd: Option<String>,
    },
    /// Streamable HTTP.
    Http {
        /// Endpoint.
        url: String,
        /// Headers (values may be secrets).
        headers: Vec<(String, Secret)>,
    },
}

/// `[mcp]` resolved.
#[derive(Debug, Clone)]
pub struct McpConfig {
    /// Servers in name order.
    pub servers: Vec<McpServer>,
    /// Model round trips per request.
    pub max_iterations: u32,
    /// Per-call limit.
    pub tool_timeout: Duration,
    /// Start-up limit.
    pub startup_timeout: Duration,
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn resolve(loaded: &Loaded, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
    let file = &loaded.file;
    let mut problems = Vec::new();
    let mut key_vars = Vec::new();
    let problem =
        |span: std::ops::Range<usize>, message: String, fix: Option<String>| ConfigProblem {
            path: loaded.path.clone(),
            line: Some(line_col(&loaded.text, span.start)),
            message,
            fix,
        };

    // A value that may be `env:NAME`.
    let read_value = |raw: &toml::Spanned<String>,
                      what: &str,
                      problems: &mut Vec<ConfigProblem>,
                      key_vars: &mut Vec<String>| {
        let value = raw.get_ref();
        match value.strip_prefix("env:") {
            Some(name) => {
                key_vars.push(name.to_string());
                match env(name).filter(|v| !v.is_empty()) {
                    Some(v) => Some(Secret::new(v)),
                    None => {
                        problems.push(problem(
                            raw.span(),
                            format!("{what} reads the environment variable {name}, which is not set"),
                            Some(format!("export {name}=... before running bifrost, or write the value in place of \"env:{name}\"")),
                        ));
                        None
                    }
                }
            }
            None => Some(Secret::new(value.clone())),
        }
    };

    let mut providers = BTreeMap::new();
    for (name, entry) in &file.providers {
        let span = entry.span();
        let entry = entry.get_ref();
        let kind = match entry.kind {
            Some(k) => k,
            None => match ProviderKind::from_name(name) {
                Some(k) => k,
                None => {
                    problems.push(problem(
                        span,
                        format!("provider `{name}` has no `type`, and `{name}` is not a built-in provider name"),
                        Some(format!("add `type = \"{}\"` under [providers.{name}]", ProviderKind::names().join("\" | \""))),
                    ));
                    continue;
                }
            },
        };
        if !valid_provider_name(name) {
            problems.push(problem(
                span.clone(),
                format!("provider name `{name}` may hold only letters, digits, `-` and `_`"),
                Some("rename the table, e.g. [providers.my-server]".into()),
            ));
        }
        let base_url = match entry.base_url.as_ref() {
            Some(u) => u.get_ref().trim_end_matches('/').to_string(),
            None => match kind.default_base_url(env) {
                Some(u) => u,
                None => {
                    problems.push(problem(
                        span.clone(),
                        format!(
                            "provider `{name}` of type `{}` needs a base_url",
                            kind.name()
                        ),
                        Some(format!(
                            "add `base_url = \"http://host:port/v1\"` under [providers.{name}]"
                        )),
                    ));
                    String::new()
                }
            },
        };
        if let Some(u) = &entry.base_url
            && !(u.get_ref().starts_with("http://") || u.get_ref().starts_with("https://"))
        {
            problems.push(problem(
                u.span(),
                format!("base_url `{}` is not an http(s) URL", u.get_ref()),
                Some("write it as \"https://host/v1\"".into()),
            ));
        }
        let mut keys = Vec::new();
        if entry.api_key.is_some() && entry.keys.is_some() {
            problems.push(problem(
                span.clone(),
                format!("provider `{name}` sets both `api_key` and `keys`"),
                Some(
                    "keep one: `keys = [{ value = \"env:NAME\", weight = 1 }]` for several keys"
                        .into(),
                ),
            ));
        }
        if let Some(k) = &entry.api_key
            && let Some(secret) = read_value(
                k,
                &format!("providers.{name}.api_key"),
                &mut problems,
                &mut key_vars,
            )
        {
            keys.push(ApiKey {
                secret,
                weight: 1,
                alias: "default".into(),
                models: Vec::new(),
            });
        }
        for (i, k) in entry.keys.iter().flatten().enumerate() {
            if let Some(secret) = read_value(
                &k.value,
                &format!("providers.{name}.keys[{i}].value"),
                &mut problems,
                &mut key_vars,
            ) {
                keys.push(ApiKey {
                    secret,
                    weight: k.weight.unwrap_or(1),
                    alias: k.alias.clone().unwrap_or_else(|| format!("key{}", i + 1)),
                    models: k.models.clone().unwrap_or_default(),
                });
            }
        }
        if keys.is_empty() && kind.needs_key() && entry.api_key.is_none() && entry.keys.is_none() {
            let var = kind.key_vars().first().copied().unwrap_or("API_KEY");
            let found = kind
                .key_vars()
                .iter()
                .find_map(|v| env(v).filter(|x| !x.is_empty()).map(|x| (*v, x)));
            match found {
                Some((var, v)) => {
                    key_vars.push(var.to_string());
                    keys.push(ApiKey {
                        secret: Secret::new(v),
                        weight: 1,
                        alias: "default".into(),
                        models: Vec::new(),
                    });
                }
                None => problems.push(problem(
                    span,
                    format!("provider `{name}` has no key and {var} is not set"),
                    Some(format!(
                        "add `api_key = \"env:{var}\"` and export {var}, or write the key"
                    )),
                )),
            }
        }
        providers.insert(
            name.clone(),
            ProviderConfig {
                name: name.clone(),
                kind,
                base_url,
                keys,
                max_concurrency: entry.max_concurrency.filter(|n| *n > 0),
                max_queue: entry.max_queue.unwrap_or(64),
            },
        );
    }

    // Zero config: a provider whose key variable is set and that the file does not define;
    // Ollama (local, keyless) is always reachable as `ollama/MODEL`.
    let explicit: Vec<String> = providers.keys().cloned().collect();
    for kind in ProviderKind::ALL {
        let name = kind.name();
        if providers.contains_key(name) || file.providers.contains_key(name) {
            continue;
        }
        let Some(base_url) = kind.default_base_url(env) else {
            continue;
        };
        let found = kind
            .key_vars()
            .iter()
            .find_map(|v| env(v).filter(|x| !x.is_empty()).map(|x| (*v, x)));
        let keys = match found {
            Some((var, v)) => {
                key_vars.push(var.to_string());
                vec![ApiKey {
                    secret: Secret::new(v),
                    weight: 1,
                    alias: "default".into(),
                    models: Vec::new(),
                }]
            }
            None if kind.needs_key() => continue,
            None => Vec::new(),
        };
        providers.insert(
            name.to_string(),
            ProviderConfig {
                name: name.to_string(),
                kind: *kind,
                base_url,
                keys,
                max_concurrency: None,
                max_queue: 64,
            },
        );
    }
    // Candidates for the default provider: anything but the implicit Ollama.
    let candidates: Vec<&String> = providers
        .keys()
        .filter(|n| explicit.contains(n) || n.as_str() != "ollama")
        .collect();

    let default_provider = match &file.default_provider {
        Some(p) => {
            if !providers.contains_key(p.get_ref()) && !file.providers.contains_key(p.get_ref()) {
                problems.push(problem(
                    p.span(),
                    format!(
                        "default_provider `{}` is not a configured provider",
                        p.get_ref()
                    ),
                    Some(format!(
                        "use one of: {}",
                        file.providers
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                ));
            }
            Some(p.get_ref().clone())
        }
        None if providers.contains_key("openai") => Some("openai".into()),
        None if candidates.len() == 1 => candidates.first().map(|s| s.to_string()),
        None => None,
    };

    let mut mcp_servers = Vec::new();
    for (name, entry) in &file.mcp.servers {
        let span = entry.span();
        let e = entry.get_ref();
        let mut secrets =
            |map: &BTreeMap<String, String>, what: &str, problems: &mut Vec<ConfigProblem>| {
                let mut out = Vec::new();
                for (k, v) in map {
                    let spanned = toml::Spanned::new(span.clone(), v.clone());
                    if let Some(s) = read_value(
                        &spanned,
                        &format!("mcp.servers.{name}.{what}.{k}"),
                        problems,
                        &mut key_vars,
                    ) {
                        out.push((k.clone(), s));
                    }
                }
                out
            };
        let transport = match (&e.command, &e.url) {
            (Some(command), None) => McpTransport::Stdio {
                command: command.clone(),
                args: e.args.clone(),
                env: secrets(&e.env, "env", &mut problems),
                cwd: e.cwd.clone(),
            },
            (None, Some(url)) => McpTransport::Http {
                url: url.clone(),
                headers: secrets(&e.headers, "headers", &mut problems),
            },
            _ => {
                problems.push(problem(
                    span.clone(),
                    format!("MCP server `{name}` needs exactly one of `command` (stdio) or `url` (streamable HTTP)"),
                    Some(format!("write `command = \"npx\"` with `args = [...]`, or `url = \"https://host/mcp\"` under [mcp.servers.{name}]")),
                ));
                continue;
            }
        };
        if !valid_provider_name(name) {
            problems.push(problem(
                span.clone(),
                format!("MCP server name `{name}` may hold only letters, digits, `-` and `_` (it prefixes tool names)"),
                Some("rename the table, e.g. [mcp.servers.fs]".into()),
            ));
        }
        mcp_servers.push(McpServer {
            name: name.clone(),
            transport,
            tools: e.tools.clone(),
            exclude_tools: e.exclude_tools.clone(),
            required: e.required,
        });
    }

    let mut server_keys = Vec::new();
    for k in file.server.keys.iter().flatten() {
        if let Some(s) = read_value(k, "server.keys", &mut problems, &mut key_vars) {
            server_keys.push(s);
        }
    }

    let mut admin_keys = Vec::new();
    for k in file.server.admin_keys.iter().flatten() {
        if let Some(s) = read_value(k, "server.admin_keys", &mut problems, &mut key_vars) {
            admin_keys.push(s);
        }
    }
    let redis_url = file
        .limits
        .redis_url
        .as_ref()
        .and_then(|u| read_value(u, "limits.redis_url", &mut problems, &mut key_vars));
    if let (Some(raw), Some(url)) = (&file.limits.redis_url, &redis_url)
        && !(url.expose().starts_with("redis://") || url.expose().starts_with("rediss://"))
    {
        problems.push(problem(
            raw.span(),
            "limits.redis_url must be a redis:// or rediss:// URL".into(),
            Some("write e.g. `redis_url = \"redis://127.0.0.1:6379\"`, or remove it to keep the counters in the store".into()),
        ));
    }
    let c = &file.cache;
    let cache_redis = c
        .redis_url
        .as_ref()
        .and_then(|u| read_value(u, "cache.redis_url", &mut problems, &mut key_vars));
    if let Some(t) = &c.ttl_secs
        && !(t.get_ref().is_finite() && *t.get_ref() > 0.0)
    {
        problems.push(problem(
            t.span(),
            "cache.ttl_secs must be a positive number of seconds".into(),
            Some("write e.g. `ttl_secs = 3600`".into()),
        ));
    }

    let b = &file.budget;
    for (name, v) in [("daily_usd", &b.daily_usd), ("monthly_usd", &b.monthly_usd)] {
        if let Some(v) = v
            && !(v.get_ref().is_finite() && *v.get_ref() > 0.0)
        {
            problems.push(problem(
                v.span(),
                format!("budget.{name} must be a positive number of USD"),
                Some(format!(
                    "write e.g. `{name} = 20.0`, or remove it for no limit"
                )),
            ));
        }
    }
    if let Some(w) = &b.warn_at
        && !(*w.get_ref() > 0.0 && *w.get_ref() <= 1.0)
    {
        problems.push(problem(
            w.span(),
            "budget.warn_at must be a fraction between 0 and 1".into(),
            Some("write e.g. `warn_at = 0.8` to warn at 80 % of a limit".into()),
        ));
    }

    let store_url = store_url_checked(loaded, env, &mut problems, &mut key_vars);
    if env(crate::store::STORE_URL_VAR).is_some() {
        // It holds a database password: never passed to a child.
        key_vars.push(crate::store::STORE_URL_VAR.to_string());
    }

    if !problems.is_empty() {
        return Err(Error::Config(problems));
    }
    key_vars.sort();
    key_vars.dedup();
    Ok(Config {
        source: loaded.path.clone(),
        default_model: file.default_model.clone(),
        default_provider,
        providers,
        aliases: file.aliases.clone(),
        logs: LogsConfig {
            capture_bodies: file.logs.capture_bodies.unwrap_or(true),
            max_body_bytes: file.logs.max_body_bytes.unwrap_or(1024 * 1024),
            retention_days: file.logs.retention_days.filter(|d| *d > 0),
        },
        server: ServerConfig {
            keys: server_keys,
            host: file
                .server
                .host
                .clone()
                .unwrap_or_else(|| "127.0.0.1".into()),
            port: file.server.port.unwrap_or(8787),
            admin_keys,
            virtual_keys: file.server.virtual_keys.unwrap_or(true),
        },
        gateway: GatewayConfig {
            max_request_bytes: file
                .gateway
                .max_request_bytes
                .unwrap_or(DEFAULT_MAX_REQUEST_BYTES),
            drain_timeout: Duration::from_secs_f64(
                file.gateway.drain_timeout_secs.unwrap_or(10.0).max(0.0),
            ),
            max_retries: file.gateway.max_retries.unwrap_or(2),
            first_byte_timeout: secs(file.gateway.first_byte_timeout_secs, 300.0),
            idle_timeout: secs(file.gateway.idle_timeout_secs, 300.0),
            breaker_failures: file.gateway.breaker_failures.unwrap_or(5).max(1),
            breaker_cooldown: secs(file.gateway.breaker_cooldown_secs, 30.0),
            max_retry_wait: secs(file.gateway.max_retry_wait_secs, 20.0),
            heartbeat: Duration::from_secs_f64(
                file.gateway.heartbeat_secs.unwrap_or(15.0).max(0.05),
            ),
            header_read_timeout: Duration::from_secs_f64(
                file.gateway
                    .header_read_timeout_secs
                    .unwrap_or(30.0)
                    .clamp(0.1, 86_400.0),
            ),
            max_header_bytes: file
                .gateway
                .max_header_bytes
                .unwrap_or(64 * 1024)
                .clamp(4096, 16 << 20),
            max_event_bytes: file
                .gateway
                .max_event_bytes
                .unwrap_or(crate::sse::DEFAULT_MAX_EVENT)
                .max(1024),
        },
        pricing: file
            .pricing
            .iter()
            .map(|(k, p)| {
                (
                    k.clone(),
                    PriceOverride {
                        input: p.input,
                        cached_input: p.cached_input,
                        output: p.output,
                        cache_write: p.cache_write,
                    },
                )
            })
            .collect(),
        key_vars,
        routes: file.routes.clone(),
        mcp: McpConfig {
            servers: mcp_servers,
            max_iterations: file.mcp.max_iterations.unwrap_or(10).max(1),
            tool_timeout: Duration::from_secs_f64(
                file.mcp.tool_timeout_secs.unwrap_or(30.0).max(0.01),
            ),
            startup_timeout: Duration::from_secs_f64(
                file.mcp.startup_timeout_secs.unwrap_or(30.0).max(0.1),
            ),
        },
        fallbacks: file.fallbacks.clone(),
        limits: LimitsConfig {
            redis_url,
            redis_prefix: file
                .limits
                .redis_prefix
                .clone()
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "bifrost".into()),
        },
        store_url,
        cache: CacheConfig {
            enabled: c.enabled.unwrap_or(false),
            ttl: secs(c.ttl_secs.as_ref().map(|t| *t.get_ref()), 3600.0),
            max_entry_bytes: c.max_entry_bytes.unwrap_or(1024 * 1024),
            agent_models: c.agent_models.clone(),
            redis_url: cache_redis,
            redis_prefix: c
                .redis_prefix
                .clone()
                .unwrap_or_else(|| "bifrost:cache:".into()),
        },
        budget: BudgetConfig {
            daily_usd: b.daily_usd.as_ref().map(|v| *v.get_ref()),
            monthly_usd: b.monthly_usd.as_ref().map(|v| *v.get_ref()),
            warn_at: b.warn_at.as_ref().map_or(0.8, |v| *v.get_ref()),
            enforce: b.enforce.unwrap_or(false),
        },
    })
}

fn secs(v: Option<f64>, default: f64) -> Duration {
    Duration::from_secs_f64(v.unwrap_or(default).clamp(0.001, 86_400.0 * 365.0))
}

fn valid_provider_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> std::result::Result<Loaded, Vec<ConfigProblem>> {
        check::parse(text).map(|file| Loaded {
            path: None,
            text: text.into(),
            file,
        })
    }

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn zero_config_enables_openai_from_the_environment() -> Result<()> {
        let cfg = Loaded::default().resolve(&env_of(&[("OPENAI_API_KEY", "sk-x")]))?;
        let p = &cfg.providers["openai"];
        assert_eq!(p.base_url, "https://api.openai.com/v1");
        assert_eq!(p.keys[0].secret.expose(), "sk-x");
        assert_eq!(cfg.default_provider.as_deref(), Some("openai"));
        assert_eq!(cfg.key_vars, vec!["OPENAI_API_KEY".to_string()]);
        Ok(())
    }

    #[test]
    fn env_values_and_weighted_keys_resolve() -> Result<()> {
        let l = load(
            "[providers.openai]\nbase_url = \"http://127.0.0.1:9/v1/\"\nkeys = [{ value = \"env:K1\", weight = 3, alias = \"us\" }, { value = \"lit\" }]\n",
        )
        .map_err(Error::Config)?;
        let cfg = l.resolve(&env_of(&[("K1", "one")]))?;
        let p = &cfg.providers["openai"];
        assert_eq!(p.base_url, "http://127.0.0.1:9/v1");
        assert_eq!(p.keys.len(), 2);
        assert_eq!((p.keys[0].weight, p.keys[0].alias.as_str()), (3, "us"));
        assert_eq!(p.keys[1].alias, "key2");
        assert_eq!(cfg.key_vars, vec!["K1".to_string()]);
        Ok(())
    }

    #[test]
    fn unset_env_var_is_reported_with_line_and_fix() {
        let l = load("# c\n[providers.openai]\napi_key = \"env:NOPE_KEY\"\n");
        let Ok(l) = l else { panic!("parse failed") };
        let Err(Error::Config(p)) = l.resolve(&env_of(&[])) else {
            panic!("expected a config error")
        };
        assert_eq!(p[0].line, Some((3, 11)));
        assert!(p[0].message.contains("NOPE_KEY"));
        assert!(
            p[0].fix
                .as_deref()
                .unwrap_or("")
                .contains("export NOPE_KEY")
        );
    }

    #[test]
    fn budget_resolves_with_defaults_and_rejects_bad_values() -> Result<()> {
        let l = load("[budget]\ndaily_usd = 5\nenforce = true\n[logs]\nretention_days = 30\n")
            .map_err(Error::Config)?;
        let cfg = l.resolve(&env_of(&[]))?;
        assert_eq!(
            cfg.budget,
            BudgetConfig {
                daily_usd: Some(5.0),
                monthly_usd: None,
                warn_at: 0.8,
                enforce: true
            }
        );
        assert_eq!(cfg.logs.retention_days, Some(30));
        let l = load("[budget]\nwarn_at = 80\n").map_err(Error::Config)?;
        let Err(Error::Config(p)) = l.resolve(&env_of(&[])) else {
            panic!("warn_at = 80 must be rejected")
        };
        assert_eq!(p[0].line, Some((2, 11)));
        Ok(())
    }

    #[test]
    fn unknown_keys_are_errors_with_a_suggestion() {
        let Err(p) = load("[providers.openai]\nbase_ur = \"http://x\"\n") else {
            panic!("expected an error")
        };
        assert_eq!(p[0].line, Some((2, 1)));
        assert!(p[0].message.contains("base_ur"), "{}", p[0].message);
        assert_eq!(p[0].fix.as_deref(), Some("did you mean `base_url`?"));
    }

    #[test]
    fn the_store_url_is_checked_kept_from_children_and_never_quoted() -> Result<()> {
        let l = load("[store]\nurl = \"env:PG_URL\"\n").map_err(Error::Config)?;
        let cfg = l.resolve(&env_of(&[
            ("PG_URL", "postgres://u:pw1234@h:5432/db"),
            ("BIFROST_STORE_URL", "postgres://v:other99@h2/db2"),
        ]))?;
        assert_eq!(
            cfg.store_url.as_ref().map(Secret::expose),
            Some("postgres://u:pw1234@h:5432/db")
        );
        assert!(
            cfg.key_vars.contains(&"PG_URL".to_string()),
            "kept from children"
        );
        assert!(cfg.key_vars.contains(&"BIFROST_STORE_URL".to_string()));
        assert!(
            load("")
                .map_err(Error::Config)?
                .resolve(&env_of(&[]))?
                .store_url
                .is_none()
        );
        let l = load("\n[store]\nurl = \"mysql://root:pw1234@h/db\"\n").map_err(Error::Config)?;
        let Err(Error::Config(p)) = l.resolve(&env_of(&[])) else {
            panic!("a MySQL URL must be rejected")
        };
        let shown = p[0].to_string();
        assert_eq!(p[0].line, Some((3, 7)));
        assert!(shown.contains("mysql://root:***@h/db"), "{shown}");
        assert!(!shown.contains("pw1234"), "{shown}");
        Ok(())
    }
}
