//! The store's writer thread: owns the write connection and commits whatever has queued up.
//!
//! Rows reach it through a channel, so nothing on the request path waits for the database.
//! When a commit fails for a reason that may pass (PostgreSQL restarting, the network gone),
//! the batch is kept and retried with backoff on a fresh connection: completed rows are not
//! lost to an outage, memory stays bounded ([`MAX_PENDING`]), a warning is logged once per
//! outage, and `flush` / `join` at shutdown still commit what they can within
//! [`SHUTDOWN_GRACE`].
//!
//! On PostgreSQL every batch takes a transaction-scoped advisory lock before inserting, so
//! batches from several `serve` instances commit one after another and the `seq` identity of
//! `requests` grows in commit order: `logs --follow` can then read "everything after the last
//! seq I printed" without skipping a row that committed late.

use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::db::{Db, Sql, Value};
use super::{Location, Pool, RequestRecord, SessionRecord};
use crate::error::{Error, Result};
use crate::sql_params;

/// Rows kept while the database is unreachable; past it the oldest requests are dropped.
pub const MAX_PENDING: usize = 50_000;

/// How long `flush` and the final join keep retrying an unreachable database.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

const BATCH: usize = 512;

/// Captured bodies allowed to wait in the queue. Past it (the disk slower than the traffic),
/// rows are still queued but without their captured bodies, with a note saying so: memory
/// stays bounded and no request goes unlogged.
pub const MAX_QUEUED_BODY_BYTES: usize = 64 << 20;

/// How long the writer lets rows gather after the first one of a quiet spell before it
/// commits. One request at a time would otherwise wake the thread and commit once per row:
/// two context switches and about fifteen syscalls (WAL pages, locks) on the cores serving
/// the next request. A flush ([`Writer::flush`]) cuts the wait short, so shutdown, the
/// session summary and tests never wait for it.
const LINGER: Duration = Duration::from_millis(20);
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What a queued row still needs before it is stored, run on the writer's thread when the
/// row is taken from the queue: turning captured bytes into the row's text, and scrubbing it.
pub type Completion = Box<dyn FnOnce(&mut RequestRecord) + Send>;

/// The advisory lock every PostgreSQL batch holds until it commits ("bifrost\x02").
pub(super) const COMMIT_LOCK: i64 = 0x6269_6672_6f73_7402;

enum Msg {
    Request(Box<RequestRecord>),
    /// A row and the work it still needs ([`Completion`]), `size` bytes of bodies queued.
    Finish {
        row: Box<RequestRecord>,
        size: usize,
        then: Completion,
    },
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
    /// Bytes of captured bodies queued and not yet taken by the writer thread.
    queued: Arc<std::sync::atomic::AtomicUsize>,
    pool: Arc<Pool>,
    /// The writer thread, woken early by a flush.
    thread: std::thread::Thread,
}

/// Owns the writer thread; dropping every [`Writer`] and calling [`WriterThread::join`] ends it
/// after the queue is committed.
pub struct WriterThread {
    handle: JoinHandle<()>,
}

impl WriterThread {
    /// Waits until every queued row is committed (or given up on after [`SHUTDOWN_GRACE`]
    /// of failed retries) and the thread has ended.
    pub fn join(self) {
        self.handle.thread().unpark();
        if self.handle.join().is_err() {
            tracing::error!("the log writer thread panicked");
        }
    }
}

impl Writer {
    /// Opens the SQLite store at `path` and starts its writer thread.
    pub fn start(path: &std::path::Path) -> Result<(Writer, WriterThread)> {
        Self::open(&Location::Sqlite(path.to_path_buf()))
    }

    /// Opens the store (migrating it) and starts its writer thread. The connection is opened
    /// on the writer thread itself, so this is safe to call from async code; it blocks until
    /// the store answered, and an unreachable store is an error here, at start.
    pub fn open(location: &Location) -> Result<(Writer, WriterThread)> {
        let (tx, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<()>>();
        let loc = location.clone();
        let queued = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let taken = queued.clone();
        let handle = std::thread::Builder::new()
            .name("bifrost-store".into())
            .spawn(move || match super::connect(&loc) {
                Ok(db) => {
                    crate::sched::background();
                    let _ = ready_tx.send(Ok(()));
                    run(db, loc, rx, taken);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| Error::io("starting the log writer", e))?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = handle.join();
                return Err(e);
            }
            Err(_) => {
                let _ = handle.join();
                return Err(Error::Internal(
                    "the log writer thread ended at start".into(),
                ));
            }
        }
        Ok((
            Writer {
                tx,
                queued,
                pool: Pool::new(location.clone()),
                thread: handle.thread().clone(),
            },
            WriterThread { handle },
        ))
    }

    /// Where this writer commits.
    pub fn location(&self) -> &Location {
        self.pool.location()
    }

    /// Connections for reading the same store (dashboard, budget, readiness).
    pub fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }

    /// Queues the retention sweep: requests older than `before_ms` are deleted on the writer
    /// thread, off every request path.
    pub fn prune(&self, before_ms: i64) {
        let _ = self.tx.send(Msg::Prune { before_ms });
    }

    /// Queues a finished request. Never blocks. When the writer is far behind (more than
    /// [`MAX_QUEUED_BODY_BYTES`] of bodies waiting), the row goes without its captured bodies.
    pub fn record(&self, mut r: RequestRecord) {
        use std::sync::atomic::Ordering;
        let mut size = body_bytes(&r);
        if size > 0 && self.queued.load(Ordering::Relaxed) + size > MAX_QUEUED_BODY_BYTES {
            r.request_body = None;
            r.response_body = None;
            r.add_note("bodies not captured: the log writer was behind");
            size = 0;
        }
        self.queued.fetch_add(size, Ordering::Relaxed);
        self.send_row(Msg::Request(Box::new(r)));
    }

    /// Queues a finished request whose captured bodies (`size` bytes) `then` adds on the
    /// writer's thread. Never blocks; when the writer is far behind, the row goes without
    /// them, as with [`Writer::record`].
    pub fn record_then(&self, mut r: RequestRecord, size: usize, then: Completion) {
        use std::sync::atomic::Ordering;
        if size > 0 && self.queued.load(Ordering::Relaxed) + size > MAX_QUEUED_BODY_BYTES {
            r.add_note("bodies not captured: the log writer was behind");
            return self.record(r);
        }
        self.queued.fetch_add(size, Ordering::Relaxed);
        self.send_row(Msg::Finish {
            row: Box::new(r),
            size,
            then,
        });
    }

    fn send_row(&self, m: Msg) {
        if self.tx.send(m).is_err() {
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

    /// Resolves once everything queued before it is committed (or, with the database
    /// unreachable, once [`SHUTDOWN_GRACE`] of retries has passed; the rows stay queued).
    pub async fn flush(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).is_ok() {
            self.thread.unpark();
            let _ = rx.await;
        }
    }
}

/// Whether a failed commit may succeed later on a new connection.
fn transient(e: &Error) -> bool {
    match e {
        Error::Postgres(pg) => {
            if pg.is_closed() {
                return true;
            }
            match pg.code() {
                // No server answer at all: I/O, connect, timeouts.
                None => true,
                Some(code) => {
                    let c = code.code();
                    // connection exceptions, insufficient resources, operator intervention,
                    // serialization failures and deadlocks
                    c.starts_with("08")
                        || c.starts_with("53")
                        || c.starts_with("57")
                        || c == "40001"
                        || c == "40P01"
                }
            }
        }
        Error::Store(rusqlite::Error::SqliteFailure(f, _)) => matches!(
            f.code,
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
        ),
        Error::Usage(_) => true, // reconnecting failed: the server is still away
        _ => false,
    }
}

struct State {
    /// The writers' count of queued body bytes, lowered as rows are taken.
    queued: Arc<std::sync::atomic::AtomicUsize>,
    db: Option<Db>,
    location: Location,
    pending: Vec<Msg>,
    acks: Vec<tokio::sync::oneshot::Sender<()>>,
    /// When the current outage began (first failed commit).
    failing_since: Option<Instant>,
    backoff: Duration,
    dropped: u64,
    /// Cuts request bodies into stored pieces, remembering each session's last body.
    chunker: super::chunks::Chunker,
}

/// Bytes of captured bodies a row carries.
fn body_bytes(r: &RequestRecord) -> usize {
    r.request_body.as_ref().map_or(0, String::len) + r.response_body.as_ref().map_or(0, String::len)
}

fn run(
    db: Db,
    location: Location,
    rx: mpsc::Receiver<Msg>,
    queued: Arc<std::sync::atomic::AtomicUsize>,
) {
    let mut st = State {
        queued,
        db: Some(db),
        location,
        pending: Vec::new(),
        acks: Vec::new(),
        failing_since: None,
        backoff: FIRST_BACKOFF,
        dropped: 0,
        chunker: super::chunks::Chunker::default(),
    };
    let mut closed_at: Option<Instant> = None;
    loop {
        // Wait for work: forever when idle, for the backoff while a batch awaits a retry.
        if closed_at.is_none() {
            let first = if st.pending.is_empty() && st.acks.is_empty() {
                match rx.recv() {
                    Ok(m) => Some(m),
                    Err(_) => {
                        closed_at = Some(Instant::now());
                        None
                    }
                }
            } else if st.failing_since.is_some() {
                match rx.recv_timeout(st.backoff) {
                    Ok(m) => Some(m),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        closed_at = Some(Instant::now());
                        None
                    }
                }
            } else {
                None
            };
            if let Some(m) = first {
                // The first row after a quiet spell (nothing was pending, no outage): let
                // others join it (a flush unparks). Not when more are already queued: the
                // writer is behind, and waiting would only put it further behind.
                let lingers = matches!(
                    m,
                    Msg::Request(_) | Msg::Finish { .. } | Msg::SessionOpen(_)
                ) && st.failing_since.is_none();
                st.take(m);
                match rx.try_recv() {
                    Ok(next) => st.take(next),
                    Err(mpsc::TryRecvError::Empty) if lingers => {
                        std::thread::park_timeout(LINGER);
                    }
                    Err(_) => {}
                }
            }
            while st.pending.len() < BATCH {
                match rx.try_recv() {
                    Ok(m) => st.take(m),
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => {
                        closed_at.get_or_insert_with(Instant::now);
                        break;
                    }
                }
            }
        } else if st.failing_since.is_some() {
            std::thread::sleep(st.backoff);
        }
        st.commit();
        // Acks wait for the commit, but not forever when the database is away.
        let give_up_acks = st
            .failing_since
            .is_some_and(|t| t.elapsed() >= SHUTDOWN_GRACE);
        if st.pending.is_empty() || give_up_acks {
            for ack in st.acks.drain(..) {
                let _ = ack.send(());
            }
        }
        if let Some(t) = closed_at {
            if st.pending.is_empty() {
                return;
            }
            if t.elapsed() >= SHUTDOWN_GRACE && st.failing_since.is_some() {
                let lost = st
                    .pending
                    .iter()
                    .filter(|m| matches!(m, Msg::Request(_)))
                    .count();
                tracing::error!(
                    "log store {} still unreachable at shutdown; {lost} request row(s) lost",
                    st.location.shown()
                );
                return;
            }
        }
    }
}

impl State {
    fn take(&mut self, m: Msg) {
        use std::sync::atomic::Ordering;
        let m = match m {
            Msg::Request(r) => {
                self.queued.fetch_sub(body_bytes(&r), Ordering::Relaxed);
                Msg::Request(r)
            }
            Msg::Finish {
                mut row,
                size,
                then,
            } => {
                self.queued.fetch_sub(size, Ordering::Relaxed);
                then(&mut row);
                Msg::Request(row)
            }
            m => m,
        };
        match m {
            Msg::Flush(ack) => self.acks.push(ack),
            m => {
                self.pending.push(m);
                if self.pending.len() > MAX_PENDING {
                    // Keep session rows and the newest requests; drop the oldest request.
                    if let Some(i) = self
                        .pending
                        .iter()
                        .position(|m| matches!(m, Msg::Request(_)))
                    {
                        self.pending.remove(i);
                        self.dropped += 1;
                        if self.dropped == 1 {
                            tracing::error!(
                                "log store unreachable and {MAX_PENDING} rows queued: dropping the oldest request rows"
                            );
                        }
                    }
                }
            }
        }
    }

    /// Tries to commit everything pending, in batches.
    fn commit(&mut self) {
        while !self.pending.is_empty() {
            if self.db.as_ref().is_none_or(Db::is_broken) {
                match super::connect(&self.location) {
                    Ok(db) => self.db = Some(db),
                    Err(e) => return self.failed(&e),
                }
            }
            let Some(db) = self.db.as_mut() else { return };
            let n = self.pending.len().min(BATCH);
            match write_batch(db, &self.pending[..n], &mut self.chunker) {
                Ok(()) => {
                    self.pending.drain(..n);
                    if let Some(t) = self.failing_since.take() {
                        tracing::warn!(
                            "log store {} reachable again after {:?}; queued rows committed",
                            self.location.shown(),
                            t.elapsed()
                        );
                    }
                    self.backoff = FIRST_BACKOFF;
                }
                Err(e) if transient(&e) => {
                    // What the batch stored was rolled back.
                    self.chunker.forget();
                    if self.db.as_ref().is_some_and(Db::is_broken) {
                        self.db = None;
                    }
                    return self.failed(&e);
                }
                Err(e) => {
                    self.chunker.forget();
                    // A row the database refuses will be refused again: drop this batch.
                    tracing::error!(
                        "log store write failed, {n} row(s) dropped: {}",
                        self.scrub(&e)
                    );
                    self.pending.drain(..n);
                }
            }
        }
    }

    fn scrub(&self, e: &Error) -> String {
        match &self.location {
            Location::Postgres(u) => u.scrub(&e.to_string()),
            Location::Sqlite(_) => e.to_string(),
        }
    }

    fn failed(&mut self, e: &Error) {
        if self.failing_since.is_none() {
            self.failing_since = Some(Instant::now());
            tracing::warn!(
                "log store {} unreachable ({}); keeping {} row(s) and retrying",
                self.location.shown(),
                self.scrub(e),
                self.pending.len()
            );
        } else {
            self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        }
        if self.location.is_postgres() {
            // A failed statement may have left the connection unusable; start clean.
            self.db = None;
        }
    }
}

fn write_batch(db: &mut Db, batch: &[Msg], chunker: &mut super::chunks::Chunker) -> Result<()> {
    db.transaction(|tx| {
        if tx.dialect() == super::Dialect::Postgres {
            tx.execute("SELECT pg_advisory_xact_lock(?1)", sql_params![COMMIT_LOCK])?;
        }
        chunker.begin();
        for msg in batch {
            match msg {
                // `take` has run every row's completion before it reached a batch.
                Msg::Request(r) | Msg::Finish { row: r, .. } => insert_request(tx, r, chunker)?,
                Msg::SessionStart(s) => {
                    tx.execute(
                        "INSERT INTO sessions (id, kind, started_at, argv, cwd) VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, started_at = excluded.started_at,
                             argv = excluded.argv, cwd = excluded.cwd",
                        sql_params![&s.id, &s.kind, s.started_at_ms, serde_json::to_string(&s.argv)?, s.cwd.as_deref()],
                    )?;
                }
                Msg::SessionOpen(s) => {
                    tx.execute(
                        "INSERT INTO sessions (id, kind, started_at, argv, cwd) VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (id) DO NOTHING",
                        sql_params![&s.id, &s.kind, s.started_at_ms, serde_json::to_string(&s.argv)?, s.cwd.as_deref()],
                    )?;
                }
                Msg::SessionEnd {
                    id,
                    ended_at_ms,
                    exit_code,
                } => {
                    tx.execute(
                        "UPDATE sessions SET ended_at = ?2, exit_code = ?3 WHERE id = ?1",
                        sql_params![id, *ended_at_ms, *exit_code],
                    )?;
                }
                Msg::Flush(_) => {}
                Msg::Prune { before_ms } => {
                    let n = super::query::prune_rows(tx, *before_ms)?;
                    if n > 0 {
                        tracing::info!("retention: deleted {n} request(s) older than the limit");
                    }
                }
            }
        }
        Ok(())
    })
}

const INSERT_REQUEST: &str = "INSERT INTO requests (id, session_id, started_at, route, provider, model, upstream_model,
            key_alias, stream, http_status, error, input_tokens, cached_input_tokens, cache_write_tokens,
            output_tokens, reasoning_tokens, cost_micro_usd, latency_us, ttft_us, upstream_us, overhead_us, notes, virtual_key, cache)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)
         ON CONFLICT (id) DO UPDATE SET session_id = excluded.session_id, started_at = excluded.started_at,
            route = excluded.route, provider = excluded.provider, model = excluded.model,
            upstream_model = excluded.upstream_model, key_alias = excluded.key_alias, stream = excluded.stream,
            http_status = excluded.http_status, error = excluded.error, input_tokens = excluded.input_tokens,
            cached_input_tokens = excluded.cached_input_tokens, cache_write_tokens = excluded.cache_write_tokens,
            output_tokens = excluded.output_tokens, reasoning_tokens = excluded.reasoning_tokens,
            cost_micro_usd = excluded.cost_micro_usd, latency_us = excluded.latency_us, ttft_us = excluded.ttft_us,
            upstream_us = excluded.upstream_us, overhead_us = excluded.overhead_us, notes = excluded.notes,
            virtual_key = excluded.virtual_key, cache = excluded.cache";
const SET_TOOL_US: &str = "UPDATE requests SET tool_us = ?2 WHERE id = ?1";
const INSERT_ATTEMPT: &str =
    "INSERT INTO attempts (request_id, n, provider, model, key_alias, status, error, latency_us)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
const INSERT_TOOL_CALL: &str = "INSERT INTO tool_calls (request_id, session_id, started_at, server, tool, arguments, duration_us, is_error, result)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
const INSERT_BODIES: &str =
    "INSERT INTO request_bodies (request_id, request_headers, request, response, request_chunks)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (request_id) DO UPDATE SET request_headers = excluded.request_headers,
                request = excluded.request, response = excluded.response,
                request_chunks = excluded.request_chunks";

/// Statements are prepared once per connection (cached by SQL text), not once per row.
fn insert_request(
    tx: &dyn Sql,
    r: &RequestRecord,
    chunker: &mut super::chunks::Chunker,
) -> Result<()> {
    let sat = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let params: Vec<Value> = vec![
        Value::from(&r.id),
        r.session_id.as_deref().into(),
        r.started_at_ms.into(),
        Value::from(&r.route),
        r.provider.as_deref().into(),
        r.model.as_deref().into(),
        r.upstream_model.as_deref().into(),
        r.key_alias.as_deref().into(),
        r.stream.into(),
        r.http_status.into(),
        r.error.as_deref().into(),
        sat(r.usage.input).into(),
        sat(r.usage.cached_input).into(),
        sat(r.usage.cache_write).into(),
        sat(r.usage.output).into(),
        sat(r.usage.reasoning).into(),
        r.cost_micro_usd.into(),
        r.latency_us.into(),
        r.ttft_us.into(),
        r.upstream_us.into(),
        r.overhead_us.into(),
        r.notes.as_deref().into(),
        r.virtual_key.as_deref().into(),
        r.cache.into(),
    ];
    tx.execute(INSERT_REQUEST, &params)?;
    if let Some(us) = r.tool_us {
        tx.execute(SET_TOOL_US, sql_params![&r.id, us])?;
    }
    if r.attempts.len() > 1 {
        for (n, a) in r.attempts.iter().enumerate() {
            tx.execute(
                INSERT_ATTEMPT,
                sql_params![
                    &r.id,
                    n as i64 + 1,
                    &a.provider,
                    &a.model,
                    a.key_alias.as_deref(),
                    a.status,
                    a.error.as_deref(),
                    a.latency_us
                ],
            )?;
        }
    }
    for c in &r.tool_calls {
        tx.execute(
            INSERT_TOOL_CALL,
            sql_params![
                &r.id,
                r.session_id.as_deref(),
                c.started_at_ms,
                &c.server,
                &c.tool,
                &c.arguments,
                c.duration_us,
                c.is_error,
                &c.result
            ],
        )?;
    }
    if r.request_body.is_some() || r.response_body.is_some() || r.request_headers.is_some() {
        // A large request body goes in as pieces, most of them already stored by the turn
        // before; a small one inline.
        let (inline, pieces) = match r.request_body.as_deref() {
            Some(body) if body.len() >= super::chunks::INLINE_BELOW => {
                let session = r.session_id.as_deref().unwrap_or_default();
                (None, Some(chunker.store(tx, session, body)?))
            }
            other => (other, None),
        };
        tx.execute(
            INSERT_BODIES,
            sql_params![
                &r.id,
                r.request_headers.as_deref(),
                inline,
                r.response_body.as_deref(),
                pieces
            ],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    fn row(id: &str) -> RequestRecord {
        RequestRecord {
            id: id.into(),
            started_at_ms: super::super::now_ms(),
            route: "/openai/v1/responses".into(),
            request_body: Some("{\"model\":\"m\"}".into()),
            response_body: Some("{\"ok\":true}".into()),
            ..RequestRecord::default()
        }
    }

    #[tokio::test]
    async fn a_completion_adds_the_bodies_on_the_writer_thread() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", e))?;
        let path = dir.path().join("logs.db");
        let (writer, thread) = Writer::start(&path)?;
        let bare = |id: &str| RequestRecord {
            request_body: None,
            response_body: None,
            ..row(id)
        };
        let completion = || -> Completion {
            Box::new(|r: &mut RequestRecord| {
                let here = std::thread::current().name().map(str::to_string);
                r.request_body = Some(format!("{here:?}"));
                r.response_body = Some("{\"ok\":true}".into());
            })
        };
        writer.record_then(bare("completed"), 20, completion());
        writer.flush().await;
        assert_eq!(writer.queued.load(Ordering::Relaxed), 0);
        // Behind: the row is kept, without the bodies its completion would have added.
        writer
            .queued
            .store(MAX_QUEUED_BODY_BYTES, Ordering::Relaxed);
        writer.record_then(bare("behind"), 20, completion());
        writer.flush().await;
        drop(writer);
        thread.join();

        let db = super::super::connect(&Location::Sqlite(path))?;
        let done = super::super::query::bodies(&db, "completed")?;
        assert_eq!(done.request.as_deref(), Some("Some(\"bifrost-store\")"));
        assert_eq!(done.response.as_deref(), Some("{\"ok\":true}"));
        let behind = super::super::query::bodies(&db, "behind")?;
        assert_eq!((behind.request, behind.response), (None, None));
        let rows = super::super::query::request(&db, "behind")?;
        assert!(
            rows.first()
                .and_then(|r| r.notes.as_deref())
                .is_some_and(|n| n.contains("log writer was behind")),
            "{rows:?}"
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_writer_far_behind_keeps_rows_but_not_their_bodies() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", e))?;
        let path = dir.path().join("logs.db");
        let (writer, thread) = Writer::start(&path)?;
        writer.record(row("kept-with-bodies"));
        writer.flush().await;
        assert_eq!(writer.queued.load(Ordering::Relaxed), 0);
        // As if the disk had fallen 64 MiB of bodies behind.
        writer
            .queued
            .store(MAX_QUEUED_BODY_BYTES, Ordering::Relaxed);
        writer.record(row("kept-without-bodies"));
        writer.flush().await;
        drop(writer);
        thread.join();

        let db = super::super::connect(&Location::Sqlite(path))?;
        let full = super::super::query::bodies(&db, "kept-with-bodies")?;
        assert_eq!(full.request.as_deref(), Some("{\"model\":\"m\"}"));
        let bare = super::super::query::bodies(&db, "kept-without-bodies")?;
        assert_eq!(bare.request, None);
        assert_eq!(bare.response, None);
        let rows = super::super::query::request(&db, "kept-without-bodies")?;
        assert_eq!(rows.len(), 1);
        assert!(
            rows[0]
                .notes
                .as_deref()
                .is_some_and(|n| n.contains("log writer was behind")),
            "{:?}",
            rows[0].notes
        );
        Ok(())
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_writer_thread_runs_at_a_lower_priority() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", e))?;
        let (writer, thread) = Writer::start(&dir.path().join("logs.db"))?;
        let mut nice = Vec::new();
        let tasks = std::fs::read_dir("/proc/self/task").map_err(|e| Error::io("/proc", e))?;
        for task in tasks.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.trim() != "bifrost-store" {
                continue;
            }
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            // Fields after the parenthesised name: state is field 3, nice field 19.
            let after = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
            nice.push(after.split(' ').nth(16).unwrap_or("").to_string());
        }
        drop(writer);
        thread.join();
        // Other tests' writers may be starting (still at nice 0); this one is ready.
        assert!(nice.iter().any(|n| n == "10"), "{nice:?}");
        Ok(())
    }
}
