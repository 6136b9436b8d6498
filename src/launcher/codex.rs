//! Codex specifics: where the binary is, and the `-c` overrides that define the `bifrost`
//! provider (Codex 0.169 ignores OPENAI_BASE_URL; see ARCHITECTURE.md).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// `--codex-bin`, then `BIFROST_CODEX_BIN`, then `codex` on PATH.
pub fn find_codex(flag: Option<&Path>) -> Result<PathBuf> {
    let explicit = flag.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("BIFROST_CODEX_BIN")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    match explicit {
        Some(p) => {
            let resolved = if p.components().count() > 1 {
                Ok(p.clone())
            } else {
                which::which(&p)
            };
            match resolved {
                Ok(path) if is_executable(&path) => Ok(path),
                _ => Err(Error::CodexNotFound(format!(
                    "{} is not an executable file",
                    p.display()
                ))),
            }
        }
        None => which::which("codex").map_err(|_| Error::CodexNotFound("not on PATH".into())),
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether the user already chose a model (`-m X`, `-mX`, `--model X`, `--model=X`).
pub fn has_model_flag(args: &[OsString]) -> bool {
    for a in args {
        let Some(a) = a.to_str() else { continue };
        if a == "--" {
            return false;
        }
        if a == "-m"
            || a == "--model"
            || a.starts_with("--model=")
            || (a.starts_with("-m") && a.len() > 2 && !a.starts_with("--"))
        {
            return true;
        }
    }
    false
}

/// TOML basic string for a `-c key=value` override.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The header that ties a remote-mode request to its launch's session.
pub const SESSION_HEADER: &str = "x-bifrost-session";

/// The arguments for codex: the provider overrides first, then the default model when the
/// user chose none, then the user's arguments verbatim. `session` (remote mode) becomes a
/// static `x-bifrost-session` header on every request, and turns off Codex's shell snapshot:
/// it writes the login shell's environment under CODEX_HOME, and in remote mode that
/// environment holds the long-lived gateway key.
pub fn codex_args(
    base_url: &str,
    key_var: &str,
    default_model: Option<&str>,
    session: Option<&str>,
    user: &[OsString],
) -> Vec<OsString> {
    let headers = session.map_or_else(String::new, |id| {
        format!(
            ", http_headers = {{ {} = {} }}",
            toml_str(SESSION_HEADER),
            toml_str(id)
        )
    });
    let provider = format!(
        "model_providers.bifrost={{ name = \"bifrost\", base_url = {}, env_key = {}, wire_api = \"responses\", supports_websockets = false{headers} }}",
        toml_str(base_url),
        toml_str(key_var)
    );
    let mut args: Vec<OsString> = vec![
        "-c".into(),
        "model_provider=\"bifrost\"".into(),
        "-c".into(),
        provider.into(),
    ];
    if session.is_some() {
        args.push("-c".into());
        args.push("features.shell_snapshot=false".into());
    }
    if let Some(m) = default_model
        && !has_model_flag(user)
    {
        args.push("-m".into());
        args.push(m.into());
    }
    args.extend(user.iter().cloned());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn detects_model_flags() {
        assert!(has_model_flag(&os(&["-m", "x", "exec"])));
        assert!(has_model_flag(&os(&["exec", "--model=x"])));
        assert!(has_model_flag(&os(&["-mgpt"])));
        assert!(!has_model_flag(&os(&["exec", "--", "-m"])));
        assert!(!has_model_flag(&os(&["exec", "hi"])));
    }

    #[test]
    fn overrides_come_first_and_user_args_stay_verbatim() {
        let a = codex_args(
            "http://127.0.0.1:5/openai/v1",
            "BIFROST_SESSION_KEY",
            Some("gpt-5.5"),
            None,
            &os(&["exec", "--json", "hi"]),
        );
        let s: Vec<String> = a.iter().map(|x| x.to_string_lossy().into_owned()).collect();
        assert_eq!(s[0..2], ["-c", "model_provider=\"bifrost\""]);
        assert!(
            s[3].contains("base_url = \"http://127.0.0.1:5/openai/v1\""),
            "{}",
            s[3]
        );
        assert!(s[3].contains("supports_websockets = false"));
        assert_eq!(s[4..], ["-m", "gpt-5.5", "exec", "--json", "hi"]);
        let parsed: toml::Table = toml::from_str(&s[3]).unwrap_or_default();
        assert_eq!(
            parsed["model_providers"]["bifrost"]["env_key"].as_str(),
            Some("BIFROST_SESSION_KEY")
        );
        let b = codex_args("u", "K", Some("gpt-5.5"), None, &os(&["-m", "o/x"]));
        assert_eq!(b.len(), 6);
    }

    #[test]
    fn remote_mode_adds_the_session_header() {
        let a = codex_args("https://gw/openai/v1", "K", None, Some("0190-ab"), &[]);
        let s = a[3].to_string_lossy().into_owned();
        let parsed: toml::Table = toml::from_str(&s).unwrap_or_default();
        assert_eq!(
            parsed["model_providers"]["bifrost"]["http_headers"][SESSION_HEADER].as_str(),
            Some("0190-ab"),
            "{s}"
        );
        assert_eq!(a[4..], ["-c", "features.shell_snapshot=false"]);
        assert_eq!(a.len(), 6);
    }
}
