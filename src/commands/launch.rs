//! `bifrost codex` and `bifrost run`: gateway up, child run, drain, summary.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::{Cli, SummaryFormat};
use crate::config::{ConfigPath, Loaded, bifrost_home};
use crate::error::{Error, Result};
use crate::gateway::Gateway;
use crate::launcher::remote::RemoteGateway;
use crate::launcher::{self, ChildSpec, SESSION_KEY_VAR};
use crate::store::{self, SessionRecord, Writer};

/// `bifrost codex ARGS...`.
pub async fn codex(cli: &Cli, args: &[OsString]) -> Result<u8> {
    let program = launcher::find_codex(cli.codex_bin.as_deref())?;
    if let Some(url) = &cli.gateway {
        return remote_codex(cli, url, program, args).await;
    }
    session(cli, "codex", program, |base_url, default_model| {
        launcher::codex_args(base_url, SESSION_KEY_VAR, default_model, None, args)
    })
    .await
}

/// `bifrost --gateway URL codex ARGS...`: no local gateway, no local store. Codex goes to the
/// team's gateway with the user's key and a session header; the summary comes back from the
/// gateway's `/api/sessions/{id}`.
async fn remote_codex(cli: &Cli, url: &str, program: PathBuf, args: &[OsString]) -> Result<u8> {
    let remote = RemoteGateway::new(url, cli.key.as_deref())?;
    let home = bifrost_home()?;
    crate::telemetry::init(&home, false, cli.log_format);
    let client = crate::gateway::http_client()?;
    let session_id = store::new_id();
    let health = remote.preflight(&client, &session_id).await?;
    tracing::info!(
        "remote mode: session {session_id} on {}; no local gateway",
        remote.root
    );
    let base_url = remote.openai_base_url();
    let default_model = health.default_model.as_deref();
    let spec = ChildSpec {
        args: launcher::codex_args(
            &base_url,
            SESSION_KEY_VAR,
            default_model,
            Some(&session_id),
            args,
        ),
        program,
        base_url,
        key: remote.key.clone(),
        remove: Vec::new(),
    };
    let code = launcher::run(&spec).await?;
    if let Err(e) = remote.end(&client, &session_id, code).await {
        // A session that made no request has no row to close: nothing to report.
        tracing::info!("closing remote session {session_id}: {e}");
    }
    if cli.summary != SummaryFormat::None {
        match remote.summary(&client, &session_id).await {
            Ok(mut summary) => {
                summary.exit_code = Some(code);
                eprint!(
                    "{}",
                    match cli.summary {
                        SummaryFormat::Json => format!("{}\n", serde_json::to_string(&summary)?),
                        _ => crate::summary::render(&summary),
                    }
                );
            }
            Err(e) => eprintln!(
                "bifrost: warning: no session summary from {} ({e}); the requests are logged there under session {session_id}",
                remote.root
            ),
        }
    }
    Ok(u8::try_from(code).unwrap_or(1))
}

/// `bifrost run -- CMD ARGS...`.
pub async fn run(cli: &Cli, command: &[OsString]) -> Result<u8> {
    if cli.gateway.is_some() {
        return Err(Error::Usage(
            "--gateway works with `bifrost codex` only; for other programs set OPENAI_BASE_URL=<gateway>/openai/v1 and OPENAI_API_KEY yourself".into(),
        ));
    }
    let mut parts = command.iter();
    if parts.as_slice().first().is_some_and(|a| a == "--") {
        parts.next();
    }
    let Some(program) = parts.next() else {
        return Err(Error::Usage(
            "no command given; write `bifrost run -- CMD [ARGS]...`".into(),
        ));
    };
    let rest: Vec<OsString> = parts.cloned().collect();
    session(cli, "run", PathBuf::from(program), |_, _| rest.clone()).await
}

async fn session(
    cli: &Cli,
    kind: &str,
    program: PathBuf,
    build_args: impl FnOnce(&str, Option<&str>) -> Vec<OsString>,
) -> Result<u8> {
    let loaded = Loaded::read(&ConfigPath::locate(cli.config.as_deref())?)?;
    let config = loaded.resolve(&|k| std::env::var(k).ok())?;
    if kind == "codex"
        && config.default_provider.is_none()
        && config.default_model.is_none()
        && !codex_chose_model(cli)
    {
        return Err(Error::Usage(
            "no default provider: export OPENAI_API_KEY (or ANTHROPIC_API_KEY, GEMINI_API_KEY), set default_provider in the config, or pass -m provider/model".into(),
        ));
    }
    let home = bifrost_home()?;
    crate::telemetry::init(&home, false, cli.log_format);
    let location = store::Location::resolve(config.store_url.as_ref(), &home)?;
    let (writer, _thread) = Writer::open(&location)?;
    let session_id = store::new_id();
    writer.session_start(SessionRecord {
        id: session_id.clone(),
        kind: kind.into(),
        started_at_ms: store::now_ms(),
        argv: std::env::args().collect(),
        cwd: std::env::current_dir()
            .ok()
            .map(|p| p.display().to_string()),
    });
    let key = crate::secret::generate_key()?;
    let hub = super::mcp::start_hub(cli, &config, false).await?;
    let config = Arc::new(config);
    let gateway = Gateway::start_with_mcp(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        config.clone(),
        writer.clone(),
        Some(session_id.clone()),
        vec![key.clone()],
        hub.clone(),
    )
    .await?;
    // Codex owns the terminal, so the live dashboard link goes to bifrost.log only.
    if let Ok(url) = gateway.dashboard_url() {
        tracing::info!("dashboard (while the session runs): {url}");
    }
    let base_url = gateway.openai_base_url();
    let spec = ChildSpec {
        args: build_args(&base_url, config.default_model.as_deref()),
        program,
        base_url,
        key,
        remove: config.key_vars.clone(),
    };
    let outcome = launcher::run(&spec).await;
    let exit_code = outcome.as_ref().ok().copied();
    let cut = gateway.shutdown(config.gateway.drain_timeout).await;
    if let Some(hub) = &hub {
        hub.shutdown().await;
    }
    writer.session_end(&session_id, exit_code);
    writer.flush().await;
    let code = outcome?;
    // The child's exit code is what matters: a store that went away (PostgreSQL) costs the
    // summary, not the code.
    if let Err(e) = print_summary(
        cli.summary,
        writer.pool(),
        &session_id,
        exit_code,
        cut,
        &config.budget,
    )
    .await
    {
        eprintln!("bifrost: no session summary ({e}); later: bifrost logs --session {session_id}");
    }
    Ok(u8::try_from(code).unwrap_or(1))
}

fn codex_chose_model(cli: &Cli) -> bool {
    match &cli.command {
        crate::cli::Command::Codex { args } => launcher::has_model_flag(args),
        _ => false,
    }
}

async fn print_summary(
    format: SummaryFormat,
    store: &Arc<store::Pool>,
    session_id: &str,
    exit_code: Option<i32>,
    cut: usize,
    budget: &crate::config::BudgetConfig,
) -> Result<()> {
    if format == SummaryFormat::None {
        return Ok(());
    }
    // Read on a blocking thread: the PostgreSQL client must not run on the async threads.
    let id = session_id.to_string();
    let (summary, spend) = store
        .read(move |db| {
            Ok((
                crate::summary::load(db, &id, exit_code)?,
                crate::budget::spend(db, store::now_ms())?,
            ))
        })
        .await?;
    let mut out = match format {
        SummaryFormat::Json => format!("{}\n", serde_json::to_string(&summary)?),
        _ => crate::summary::render(&summary),
    };
    if format == SummaryFormat::Table {
        // The session's gateway (and its dashboard) ended with the child; `bifrost ui` serves
        // the same store and prints a fresh one-time link.
        out.push_str("dashboard: bifrost ui\n");
    }
    if cut > 0 && format == SummaryFormat::Table {
        out.push_str(&format!(
            "{cut} request(s) were still running at exit and were cut\n"
        ));
    }
    if format == SummaryFormat::Table
        && let Some(s) = crate::budget::status(budget, &spend)
        && s.level != crate::budget::Level::Ok
    {
        out.push_str(&format!("{}\n", s.warning()));
    }
    eprint!("{out}");
    Ok(())
}
