//! The store's writer thread: owns the write connection and commits whatever has queued up.

use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use rusqlite::{Connection, params};

use super::{RequestRecord, SessionRecord};
use crate::error::{Error, Result};

enum Msg {
    Request(Box<RequestRecord>),
    SessionStart(SessionRecord),
    /// A session first seen by a gateway (remote mode): inserted unless it already exists.
    SessionOpen(SessionRecord),
    SessionEnd {
        id: String,
        ended_at_ms: i64,
        exit_code: Option<i32>,
    },
    Flush(tokio::sync::oneshot::Sender<()>),
    Prune {
        before_ms: i64,
    },
}

/// A cheap, cloneable handle that queues rows for the writer thread.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Msg>,
    path: Arc<PathBuf>,
}

/// Owns the writer thread; dropping every [`Writer`] and calling [`WriterThread::join`] ends it
/// after the queue is committed.
pub struct WriterThread {
    handle: JoinHandle<()>,
}

impl WriterThread {
    /// Waits until every queued row is committed and the thread has ended.
    pub fn join(self) {
        if self.handle.join().is_err() {
            tracing::error!("the log writer thread panicked");
        }
    }
}

impl Writer {
    /// Opens the store and starts its writer thread.
    pub fn start(path: &Path) -> Result<(Writer, WriterThread)> {
        let conn = super::open(path)?;
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("bifrost-store".into())
            .spawn(move || run(conn, rx))
            .map_err(|e| Error::io("starting the log writer", e))?;
        Ok((
            Writer {
                tx,
                path: Arc::new(path.to_path_buf()),
            },
            WriterThread { handle },
        ))
    }

    /// The store file this writer commits to (readers open their own connection to it).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues the retention sweep: requests older than `before_ms` are deleted on the writer
    /// thread, off every request path.
    pub fn prune(&self, before_ms: i64) {
        let _ = self.tx.send(Msg::Prune { before_ms });
    }

    /// Queues a finished request. Never blocks.
    pub fn record(&self, r: RequestRecord) {
        if self.tx.send(Msg::Request(Box::new(r))).is_err() {
            tracing::error!("log writer is gone; a request row was lost");
        }
    }

    /// Queues a new session row.
    pub fn session_start(&self, s: SessionRecord) {
        let _ = self.tx.send(Msg::SessionStart(s));
    }

    /// Queues a session row that is kept if it already exists (another instance, or an
    /// earlier request, may have written it).
    pub fn session_open(&self, s: SessionRecord) {
        let _ = self.tx.send(Msg::SessionOpen(s));
    }

    /// Queues a session's end.
    pub fn session_end(&self, id: &str, exit_code: Option<i32>) {
        let _ = self.tx.send(Msg::SessionEnd {
            id: id.to_string(),
            ended_at_ms: super::now_ms(),
            exit_code,
        });
    }

    /// Resolves once everything queued before it is committed.
    pub async fn flush(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

fn run(mut conn: Connection, rx: mpsc::Receiver<Msg>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        let mut acks = Vec::new();
        if let Err(e) = write_batch(&mut conn, batch, &mut acks) {
            tracing::error!("log store write failed: {e}");
        }
        for ack in acks {
            let _ = ack.send(());
        }
    }
}

fn write_batch(
    conn: &mut Connection,
    batch: Vec<Msg>,
    acks: &mut Vec<tokio::sync::oneshot::Sender<()>>,
) -> Result<()> {
    let tx = conn.transaction()?;
    for msg in batch {
        match msg {
            Msg::Request(r) => insert_request(&tx, &r)?,
            Msg::SessionStart(s) => {
                tx.execute(
                    "INSERT OR REPLACE INTO sessions (id, kind, started_at, argv, cwd) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![s.id, s.kind, s.started_at_ms, serde_json::to_string(&s.argv)?, s.cwd],
                )?;
            }
            Msg::SessionOpen(s) => {
                tx.execute(
                    "INSERT OR IGNORE INTO sessions (id, kind, started_at, argv, cwd) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![s.id, s.kind, s.started_at_ms, serde_json::to_string(&s.argv)?, s.cwd],
                )?;
            }
            Msg::SessionEnd {
                id,
                ended_at_ms,
                exit_code,
            } => {
                tx.execute(
                    "UPDATE sessions SET ended_at = ?2, exit_code = ?3 WHERE id = ?1",
                    params![id, ended_at_ms, exit_code],
                )?;
            }
            Msg::Flush(ack) => acks.push(ack),
            Msg::Prune { before_ms } => {
                let n = super::query::prune_rows(&tx, before_ms)?;
                if n > 0 {
                    tracing::info!("retention: deleted {n} request(s) older than the limit");
                }
            }
        }
    }
    tx.commit()?;
    Ok(())
}

const INSERT_REQUEST: &str = "INSERT OR REPLACE INTO requests (id, session_id, started_at, route, provider, model, upstream_model,
            key_alias, stream, http_status, error, input_tokens, cached_input_tokens, cache_write_tokens,
            output_tokens, reasoning_tokens, cost_micro_usd, latency_us, ttft_us, upstream_us, overhead_us, notes, cache)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)";
const SET_TOOL_US: &str = "UPDATE requests SET tool_us = ?2 WHERE id = ?1";
const INSERT_TOOL_CALL: &str = "INSERT INTO tool_calls (request_id, session_id, started_at, server, tool, arguments, duration_us, is_error, result)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
const INSERT_BODIES: &str = "INSERT OR REPLACE INTO request_bodies (request_id, request_headers, request, response) VALUES (?1, ?2, ?3, ?4)";

/// Statements are prepared once per connection (`prepare_cached`), not once per row.
fn insert_request(tx: &rusqlite::Transaction<'_>, r: &RequestRecord) -> Result<()> {
    let sat = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    tx.prepare_cached(INSERT_REQUEST)?.execute(params![
        r.id,
        r.session_id,
        r.started_at_ms,
        r.route,
        r.provider,
        r.model,
        r.upstream_model,
        r.key_alias,
        r.stream,
        r.http_status,
        r.error,
        sat(r.usage.input),
        sat(r.usage.cached_input),
        sat(r.usage.cache_write),
        sat(r.usage.output),
        sat(r.usage.reasoning),
        r.cost_micro_usd,
        r.latency_us,
        r.ttft_us,
        r.upstream_us,
        r.overhead_us,
        r.notes,
        r.cache,
    ])?;
    if let Some(us) = r.tool_us {
        tx.prepare_cached(SET_TOOL_US)?.execute(params![r.id, us])?;
    }
    if r.attempts.len() > 1 {
        for (n, a) in r.attempts.iter().enumerate() {
            tx.execute(
                "INSERT INTO attempts (request_id, n, provider, model, key_alias, status, error, latency_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![r.id, n as i64 + 1, a.provider, a.model, a.key_alias, a.status, a.error, a.latency_us],
            )?;
        }
    }
    for c in &r.tool_calls {
        tx.prepare_cached(INSERT_TOOL_CALL)?.execute(params![
            r.id,
            r.session_id,
            c.started_at_ms,
            c.server,
            c.tool,
            c.arguments,
            c.duration_us,
            c.is_error,
            c.result
        ])?;
    }
    if r.request_body.is_some() || r.response_body.is_some() || r.request_headers.is_some() {
        tx.prepare_cached(INSERT_BODIES)?.execute(params![
            r.id,
            r.request_headers,
            r.request_body,
            r.response_body
        ])?;
    }
    Ok(())
}
