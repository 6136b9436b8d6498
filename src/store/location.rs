//! Where the store lives: the embedded SQLite file (the default) or a PostgreSQL server named by
//! `[store] url` / `BIFROST_STORE_URL`, and how to say which without printing its password.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::secret::Secret;

/// The store a command reads and writes.
#[derive(Debug, Clone)]
pub enum Location {
    /// `logs.db` under `BIFROST_HOME` (or any file).
    Sqlite(PathBuf),
    /// A PostgreSQL server.
    Postgres(PgUrl),
}

/// A `postgres://` URL: the full value stays secret, [`PgUrl::shown`] has the password masked.
#[derive(Clone)]
pub struct PgUrl {
    url: Secret,
    shown: String,
    password: Option<String>,
}

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl PgUrl {
    /// Checks that `url` is a PostgreSQL URL the client can use; the error never holds the
    /// password.
    pub fn parse(url: &str) -> std::result::Result<PgUrl, String> {
        let shown = redact_url(url);
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(format!(
                "store url `{shown}` is not a PostgreSQL URL; write postgres://USER:PASSWORD@HOST:5432/DATABASE (SQLite needs no url)"
            ));
        }
        let password = password_of(url);
        if let Err(e) = url.parse::<postgres::Config>() {
            let why = scrub_password(&e.to_string(), password.as_deref());
            return Err(format!(
                "store url `{shown}` is not a valid PostgreSQL URL ({why}); write postgres://USER:PASSWORD@HOST:5432/DATABASE"
            ));
        }
        Ok(PgUrl {
            url: Secret::new(url),
            shown,
            password,
        })
    }

    /// The full URL, for a client that connects on its own (virtual keys' async client).
    pub fn secret(&self) -> &Secret {
        &self.url
    }

    /// The URL with its password replaced by `***`: safe for messages and logs.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// `text` with this URL's password (and the whole URL) masked.
    pub fn scrub(&self, text: &str) -> String {
        let t = text.replace(self.url.expose(), &self.shown);
        scrub_password(&t, self.password.as_deref())
    }

    /// Connects (no TLS; see README "Team store"). Unless the URL says otherwise, connecting
    /// gives up after 10 s and a connection whose packets go unacknowledged for 30 s counts as
    /// dead, so neither start-up nor the writer hangs on a vanished server.
    pub fn connect(&self) -> Result<postgres::Client> {
        let mut cfg: postgres::Config =
            self.url.expose().parse().map_err(|e: postgres::Error| {
                Error::Usage(format!(
                    "store url {} is not a valid PostgreSQL URL: {}",
                    self.shown,
                    self.scrub(&e.to_string())
                ))
            })?;
        if cfg.get_connect_timeout().is_none() {
            cfg.connect_timeout(std::time::Duration::from_secs(10));
        }
        if cfg.get_application_name().is_none() {
            cfg.application_name("bifrost");
        }
        cfg.tcp_user_timeout(std::time::Duration::from_secs(30));
        cfg.connect(postgres::NoTls).map_err(|e| {
            Error::Usage(format!(
                "cannot open the PostgreSQL store {}: {}; check [store] url / BIFROST_STORE_URL and that the server is running",
                self.shown,
                self.scrub(&pg_error_text(&e))
            ))
        })
    }
}

/// A PostgreSQL error with its server detail (the plain `Display` says only "db error").
pub fn pg_error_text(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(inner) = src {
                let t = inner.to_string();
                if !s.contains(&t) {
                    s.push_str(&format!(": {t}"));
                }
                src = inner.source();
            }
            s
        }
    }
}

/// The environment variable that names the store, over the config's `[store] url`.
pub const STORE_URL_VAR: &str = "BIFROST_STORE_URL";

impl Location {
    /// `BIFROST_STORE_URL` when set, else the config's `[store] url` (already checked), else
    /// `logs.db` under `home`.
    pub fn resolve(config_url: Option<&Secret>, home: &Path) -> Result<Location> {
        let from_env = std::env::var(STORE_URL_VAR)
            .ok()
            .filter(|v| !v.trim().is_empty());
        Self::choose(from_env.as_deref(), config_url, home)
    }

    fn choose(
        from_env: Option<&str>,
        config_url: Option<&Secret>,
        home: &Path,
    ) -> Result<Location> {
        if let Some(v) = from_env {
            return PgUrl::parse(v.trim()).map(Location::Postgres).map_err(|e| {
                Error::Usage(format!(
                    "{STORE_URL_VAR}: {e}; or unset {STORE_URL_VAR} to use [store] url / SQLite"
                ))
            });
        }
        match config_url {
            Some(u) => PgUrl::parse(u.expose())
                .map(Location::Postgres)
                .map_err(Error::Usage),
            None => Ok(Location::Sqlite(home.join("logs.db"))),
        }
    }

    /// The store a command should use: `BIFROST_STORE_URL`, then `[store] url` in the config
    /// (`--config` / `BIFROST_CONFIG` / the default file), else SQLite under `BIFROST_HOME`.
    /// Reads only the `[store]` table, so `logs` works with provider keys unset, and a
    /// missing config file (even a named one) just means the SQLite file.
    pub fn for_command(config: Option<&Path>) -> Result<Location> {
        let at = crate::config::ConfigPath {
            explicit: false,
            ..crate::config::ConfigPath::locate(config)?
        };
        let loaded = crate::config::Loaded::read(&at)?;
        let url = crate::config::store_url(&loaded, &|k| std::env::var(k).ok())?;
        Location::resolve(url.as_ref(), &crate::config::bifrost_home()?)
    }

    /// A name for messages: the file path, or the URL without its password.
    pub fn shown(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(u) => u.shown().to_string(),
        }
    }

    /// Whether this is a PostgreSQL store.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Location::Postgres(_))
    }
}

/// The password in `scheme://user:password@host/...` or in a `password=` query parameter.
fn password_of(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    if let Some((userinfo, _)) = authority.rsplit_once('@')
        && let Some((_, pw)) = userinfo.split_once(':')
        && !pw.is_empty()
    {
        return Some(pw.to_string());
    }
    let query = url.split_once('?').map(|(_, q)| q)?;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("password="))
        .filter(|p| !p.is_empty())
        .map(str::to_string)
}

/// `url` with the password (in the user info or a `password=` parameter) replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), url),
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let q: Vec<String> = query
                .split('&')
                .map(|kv| {
                    if kv.starts_with("password=") {
                        "password=***".to_string()
                    } else {
                        kv.to_string()
                    }
                })
                .collect();
            format!("{path}?{}", q.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}{authority}{tail}")
}

/// Masks a password inside free text (a driver's error message). Passwords shorter than 4
/// characters are left alone: replacing them would shred the message, and the URL itself is
/// never printed unredacted.
fn scrub_password(text: &str, password: Option<&str>) -> String {
    match password {
        Some(p) if p.len() >= 4 => text.replace(p, "***"),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted_everywhere_the_password_can_be() {
        assert_eq!(
            redact_url("postgres://bifrost:s3cret@127.0.0.1:5432/db"),
            "postgres://bifrost:***@127.0.0.1:5432/db"
        );
        assert_eq!(
            redact_url("postgresql://u:p@ss:w@rd@h/db?sslmode=disable&password=x2"),
            "postgresql://u:***@h/db?sslmode=disable&password=***"
        );
        assert_eq!(
            redact_url("postgres://u@h:5432/db"),
            "postgres://u@h:5432/db"
        );
        assert_eq!(redact_url("postgres://h"), "postgres://h");
        assert_eq!(
            password_of("postgres://u:p@ss:w@rd@h/db").as_deref(),
            Some("p@ss:w@rd")
        );
        assert_eq!(
            password_of("postgres://h/db?password=zz").as_deref(),
            Some("zz")
        );
        assert_eq!(password_of("postgres://u@h/db"), None);
    }

    #[test]
    fn the_environment_wins_over_the_config() -> Result<()> {
        let home = Path::new("/h");
        let file = Secret::new("postgres://u:pw1234@h:5432/db");
        let loc = Location::choose(Some("postgres://v:other99@h2/db2"), Some(&file), home)?;
        assert_eq!(loc.shown(), "postgres://v:***@h2/db2");
        assert_eq!(
            Location::choose(None, Some(&file), home)?.shown(),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(Location::choose(None, None, home)?.shown(), "/h/logs.db");
        let Err(Error::Usage(e)) = Location::choose(Some("mysql://r:pw1234@h/db"), None, home)
        else {
            panic!("a MySQL URL must be refused")
        };
        assert!(
            e.starts_with("BIFROST_STORE_URL: ") && !e.contains("pw1234"),
            "{e}"
        );
        Ok(())
    }

    #[test]
    fn bad_urls_name_the_fix_without_the_password() {
        let e = PgUrl::parse("mysql://u:hunter22@h/db")
            .err()
            .unwrap_or_default();
        assert!(e.contains("not a PostgreSQL URL"), "{e}");
        assert!(!e.contains("hunter22"), "{e}");
        let e = PgUrl::parse("postgres://u:hunter22@h:notaport/db")
            .err()
            .unwrap_or_default();
        assert!(e.contains("not a valid PostgreSQL URL"), "{e}");
        assert!(!e.contains("hunter22"), "{e}");
        let ok = PgUrl::parse("postgres://u:hunter22@127.0.0.1:5432/db");
        assert_eq!(
            ok.map(|u| u.shown().to_string()).unwrap_or_default(),
            "postgres://u:***@127.0.0.1:5432/db"
        );
    }
}
