//! The command line, as clap types only. Behaviour lives in `commands/`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Run the Codex CLI (or any OpenAI client) through an embedded, logged, multi-provider gateway.
#[derive(Debug, Parser)]
#[command(name = "bifrost", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Examples:\n  bifrost codex exec \"explain app.py\"\n  bifrost codex -m openai/gpt-5.5\n  bifrost run -- python my_agent.py\n  bifrost logs --last"
)]
pub struct Cli {
    /// Config file [default: $BIFROST_CONFIG, then $XDG_CONFIG_HOME/bifrost/config.toml]
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// The codex binary [default: $BIFROST_CODEX_BIN, then `codex` on PATH]
    #[arg(long, value_name = "PATH")]
    pub codex_bin: Option<PathBuf>,

    /// What to print when the child exits
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
    pub summary: SummaryFormat,

    /// Only these MCP servers (comma-separated names from the config)
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "NAMES",
        conflicts_with = "no_mcp"
    )]
    pub mcp: Option<Vec<String>>,

    /// No MCP servers for this run
    #[arg(long)]
    pub no_mcp: bool,

    /// Remote mode: use the `bifrost serve` gateway at URL instead of starting one (codex only)
    #[arg(long, env = "BIFROST_GATEWAY", value_name = "URL")]
    pub gateway: Option<String>,

    /// The key for --gateway; prefer the BIFROST_KEY variable (a flag shows in `ps`)
    #[arg(long, env = "BIFROST_KEY", hide_env_values = true, value_name = "KEY")]
    pub key: Option<String>,

    /// bifrost's own log lines: plain text, or one JSON object per line
    #[arg(long, value_enum, env = "BIFROST_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,

    /// The command
    #[command(subcommand)]
    pub command: Command,
}

/// Formats for bifrost's own log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for log collectors).
    Json,
}

/// Session summary formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    /// A table on stderr.
    Table,
    /// One JSON object on stderr.
    Json,
    /// Nothing.
    None,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run Codex through the gateway; every argument after `codex` goes to codex unchanged
    #[command(disable_help_flag = true)]
    Codex {
        /// Arguments for codex (e.g. `exec "explain app.py"`, `-m anthropic/claude-sonnet-4-5`)
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0.., value_name = "CODEX_ARGS")]
        args: Vec<OsString>,
    },

    /// Run any OpenAI-compatible program with OPENAI_BASE_URL and OPENAI_API_KEY pointing at the gateway
    #[command(disable_help_flag = true)]
    Run {
        /// The program and its arguments, after `--`
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 1.., required = true, value_name = "CMD")]
        command: Vec<OsString>,
    },

    /// Run the gateway as a long-lived server for other clients
    Serve(ServeArgs),

    /// Show logged requests
    Logs(LogsArgs),

    /// Tokens, cost, success rate and latency per model, provider, day or session
    Stats(StatsArgs),

    /// One line per session: command, models, requests, tokens, cost, exit code
    Sessions(SessionsArgs),

    /// Show the embedded price table, or import one as config overrides
    Pricing(PricingArgs),
    /// Serve the logs dashboard on 127.0.0.1 (no providers needed) and print its one-time URL
    Ui(UiArgs),

    /// List each provider's models with context windows and prices
    Models {
        /// JSON instead of a table
        #[arg(long)]
        json: bool,
    },

    /// Write or check the config file
    #[command(subcommand)]
    Config(ConfigCommand),

    /// Create, list, revoke and rotate virtual keys for `bifrost serve`
    #[command(subcommand)]
    Keys(KeysCommand),

    /// Inspect and call the configured MCP servers
    #[command(subcommand)]
    Mcp(McpCommand),

    /// Print a shell completion script
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Regenerate completions/ and man/ (for maintainers)
    #[command(hide = true)]
    GenerateAssets {
        /// The repository root
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

/// `bifrost serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to bind [default: [server] host, or 127.0.0.1]
    #[arg(long)]
    pub host: Option<String>,
    /// Port [default: [server] port, or 8787]; 0 picks a free one
    #[arg(long)]
    pub port: Option<u16>,
}

/// `bifrost ui`.
#[derive(Debug, Args)]
pub struct UiArgs {
    /// Port on 127.0.0.1; 0 picks a free one
    #[arg(long, default_value_t = 0)]
    pub port: u16,
}

/// `bifrost logs`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LogsArgs {
    /// Only the latest session
    #[arg(long, conflicts_with = "session")]
    pub last: bool,
    /// Only this session
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Only requests since a span ago (30m, 2h, 7d) or an RFC 3339 time
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only this model: as requested, or as provider/upstream-model
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// Only this provider
    #[arg(long, value_name = "NAME")]
    pub provider: Option<String>,
    /// Only failed requests
    #[arg(long)]
    pub errors: bool,
    /// At most N requests (the newest); 0 for all
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,
    /// JSON array instead of a table (one object per line with --follow)
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// CSV (RFC 4180) with the --json fields as columns
    #[arg(long)]
    pub csv: bool,
    /// Write to FILE instead of stdout, streaming rows, with progress on stderr
    #[arg(long, short = 'o', value_name = "FILE", conflicts_with = "follow")]
    pub output: Option<PathBuf>,
    /// Keep printing requests as they are logged, by any bifrost, until Ctrl-C
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Show one request, or prune old ones
    #[command(subcommand)]
    pub action: Option<LogsAction>,
}

/// `bifrost stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Only requests since a span ago (30m, 2h, 7d) or an RFC 3339 time
    #[arg(long, value_name = "WHEN", default_value = "30d")]
    pub since: String,
    /// Group rows by
    #[arg(long, value_enum, default_value_t = StatsBy::Model)]
    pub by: StatsBy,
    /// JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

/// `bifrost stats --by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsBy {
    /// provider/model
    Model,
    /// Provider name
    Provider,
    /// UTC calendar day
    Day,
    /// Session id
    Session,
}

/// `bifrost sessions`.
#[derive(Debug, Args)]
pub struct SessionsArgs {
    /// At most N sessions (the newest)
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,
    /// JSON array instead of a table
    #[arg(long)]
    pub json: bool,
}

/// `bifrost pricing`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct PricingArgs {
    /// Only models whose `provider/model` contains this text
    #[arg(value_name = "MODEL")]
    pub model: Option<String>,
    /// JSON instead of a table
    #[arg(long)]
    pub json: bool,
    /// Convert a price file into config overrides
    #[command(subcommand)]
    pub action: Option<PricingAction>,
}

/// `bifrost pricing import`.
#[derive(Debug, Subcommand)]
pub enum PricingAction {
    /// Convert a genai-prices data.json or a LiteLLM model_prices_and_context_window.json into
    /// a TOML file of [pricing."provider/model"] tables to paste into the config
    Import {
        /// The JSON file
        file: PathBuf,
        /// Where to write the TOML [default: pricing-overrides.toml next to the config]
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
    },
}

/// `bifrost logs show`.
#[derive(Debug, Subcommand)]
pub enum LogsAction {
    /// Print one request: metadata, headers (redacted), request and response
    Show {
        /// Request id, or a unique prefix of it
        id: String,
    },
    /// Delete old requests and their bodies
    Prune {
        /// Delete requests older than this span (30m, 2h, 7d) or RFC 3339 time
        #[arg(long, value_name = "WHEN", default_value = "30d")]
        older_than: String,
        /// Then VACUUM the store to give the space back to the file system
        #[arg(long)]
        vacuum: bool,
    },
}

/// `bifrost mcp`.
#[derive(Debug, Subcommand)]
pub enum McpCommand {
    /// Start every configured server and list its state and tools
    List,
    /// Call one tool once and print its result
    Call {
        /// Server name
        server: String,
        /// Tool name (as the server calls it)
        tool: String,
        /// Arguments as a JSON object
        arguments: Option<String>,
    },
}

/// `bifrost config`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Write a commented template to the config path
    Init {
        /// Overwrite an existing file
        #[arg(long)]
        force: bool,
    },
    /// Report every problem in the config, with file, line and fix
    Check,
    /// Print the config path in use
    Path,
}

/// `bifrost keys`: virtual keys in the store `bifrost serve` reads ([store] url, else logs.db).
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a key and print it once (only its hash is stored)
    Create(KeysCreateArgs),
    /// Every key: name, id, prefix, limits, spend this period, state
    List {
        /// JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Stop a key working on every gateway (within a second)
    Revoke {
        /// The key's name or id
        #[arg(value_name = "NAME|ID")]
        key: String,
    },
    /// Give a key a new secret (limits and spend stay); the old one stops working
    Rotate {
        /// The key's name or id
        #[arg(value_name = "NAME|ID")]
        key: String,
    },
}

/// `bifrost keys create`.
#[derive(Debug, Args)]
pub struct KeysCreateArgs {
    /// A unique name, shown in logs (e.g. alice)
    #[arg(long)]
    pub name: String,
    /// Spend limit in USD per UTC day or month: 50/month, 5/day
    #[arg(long, value_name = "USD/PERIOD")]
    pub budget_usd: Option<String>,
    /// Requests per minute
    #[arg(long, value_name = "N")]
    pub rpm: Option<i64>,
    /// Tokens (input + output) per minute
    #[arg(long, value_name = "N")]
    pub tpm: Option<i64>,
    /// Allowed models, comma-separated globs: "anthropic/*,openai/gpt-5.5" [default: all]
    #[arg(long, value_name = "GLOBS")]
    pub models: Option<String>,
    /// Expiry: a span (30d, 12h) or an RFC 3339 time [default: never]
    #[arg(long, value_name = "WHEN")]
    pub expires: Option<String>,
    /// Print the key and its settings as JSON
    #[arg(long)]
    pub json: bool,
}
