//! The crate's one error type: every failure a user can cause or meet, with the exit code it maps to.
//!
//! Messages are written for the person at the terminal: they say what went wrong and what to do.
//! `anyhow` appears only in `main.rs`; everything below it returns [`Result`].

use std::path::PathBuf;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A config problem pinned to a place in a file, with the fix to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The file, when the problem comes from one.
    pub path: Option<PathBuf>,
    /// 1-based line and column, when known.
    pub line: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
    /// What to write instead.
    pub fix: Option<String>,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.path, self.line) {
            (Some(p), Some((l, c))) => write!(f, "{}:{l}:{c}: ", p.display())?,
            (Some(p), None) => write!(f, "{}: ", p.display())?,
            (None, Some((l, c))) => write!(f, "{l}:{c}: ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, "; {fix}")?;
        }
        Ok(())
    }
}

/// Every error bifrost reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more problems in the config file or the environment it names.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Config(Vec<ConfigProblem>),

    /// The codex binary could not be found.
    #[error(
        "codex not found ({0}); install it with `npm install -g @openai/codex`, or pass --codex-bin PATH"
    )]
    CodexNotFound(String),

    /// A command-line or input mistake the user can fix.
    #[error("{0}")]
    Usage(String),

    /// The child program could not be started.
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        /// The program we tried to run.
        program: String,
        /// Why it failed.
        source: std::io::Error,
    },

    /// A file-system or socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// Why it failed.
        source: std::io::Error,
    },

    /// The request log store failed.
    #[error("log store: {0}")]
    Store(#[from] rusqlite::Error),

    /// The PostgreSQL store failed (the message never holds the URL or its password).
    #[error("log store (PostgreSQL): {}", crate::store::pg_error_text(.0))]
    Postgres(#[from] postgres::Error),

    /// A request that cannot be expressed in the provider's protocol (a 400 for the client).
    #[error("{0}")]
    Translate(String),

    /// An upstream answer that is not what its protocol promises (a 502 for the client).
    #[error("malformed upstream response: {0}")]
    UpstreamFormat(String),

    /// A value could not be encoded or decoded as JSON.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),

    /// The virtual-key store (keys and usage counters in SQLite, PostgreSQL or Redis) failed.
    #[error("virtual keys: {0}")]
    Team(String),

    /// Something the program should never reach; reported instead of panicking.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Builds an [`Error::Io`] with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) | Self::Usage(_) => 2,
            Self::CodexNotFound(_) => 127,
            Self::Spawn { source, .. } if source.kind() == std::io::ErrorKind::NotFound => 127,
            Self::Spawn { .. } => 126,
            _ => 1,
        }
    }
}
