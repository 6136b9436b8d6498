//! Connections served thread per core: each shard is a current-thread runtime on its own
//! thread, and every task of a connection (the client connection, the upstream connection,
//! the body tee) runs there. On a shared work-stealing runtime those tasks wake each other
//! across worker threads, and each hop costs a futex wake and a context switch; on a busy
//! or pinned core that was most of the gateway's added latency.
//!
//! Each shard keeps a timer pending while it has connections (a one-second tick). tokio's
//! timer wakes its own parked runtime (a write to an eventfd) whenever a timer is set while
//! none was pending when the runtime last parked; hyper sets its header-read timeout at the
//! start of every request, so without the tick every request on an idle shard cost a `write`
//! system call and a spurious wake-up (seen with `strace -f`: one per request).
//!
//! The accept loop stays on the caller's runtime and hands each accepted socket to the
//! shard with the fewest open connections. Each shard has its own upstream HTTP client, so
//! a pooled upstream connection is always driven by the thread that uses it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::error::{Error, Result};

thread_local! {
    /// The shard this thread runs, if it is a shard thread.
    static SHARD: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// The index of the shard running on this thread, if any.
pub(crate) fn current() -> Option<usize> {
    SHARD.with(std::cell::Cell::get)
}

/// How many shards a gateway runs: one per CPU this process may use (affinity respected).
pub(crate) fn count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 64))
}

/// How often a shard with connections wakes to keep a timer pending (see the module's notes).
const TICK: Duration = Duration::from_secs(1);

/// One shard: a runtime's handle, its open connections, and what stops its thread.
struct Shard {
    handle: tokio::runtime::Handle,
    open: Arc<AtomicUsize>,
    /// Told when a connection arrives, so that the tick starts again.
    connected: Arc<tokio::sync::Notify>,
    /// Dropping it ends the shard's thread (and cancels what still runs there).
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// The running shards of one gateway. Dropping it stops them.
pub(crate) struct Shards {
    shards: Vec<Shard>,
}

impl Shards {
    /// Starts `n` shard threads, each with a current-thread runtime (I/O and timers on).
    pub(crate) fn start(n: usize) -> Result<Shards> {
        let mut shards = Vec::with_capacity(n);
        for index in 0..n {
            let (ready_tx, ready_rx) = std::sync::mpsc::channel();
            let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
            let open = Arc::new(AtomicUsize::new(0));
            let connected = Arc::new(tokio::sync::Notify::new());
            let (open_here, connected_here) = (open.clone(), connected.clone());
            std::thread::Builder::new()
                .name(format!("bifrost-gw-{index}"))
                .spawn(move || {
                    let rt = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => rt,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    SHARD.with(|s| s.set(Some(index)));
                    crate::sched::latency_sensitive();
                    let _ = ready_tx.send(Ok(rt.handle().clone()));
                    rt.block_on(async {
                        tokio::select! {
                            _ = stop_rx => {}
                            () = keep_a_timer_pending(&open_here, &connected_here) => {}
                        }
                    });
                    // Connections still open are cut; the gateway drained them before.
                    rt.shutdown_timeout(Duration::from_millis(100));
                })
                .map_err(|e| Error::io("starting a gateway thread", e))?;
            let handle = match ready_rx.recv() {
                Ok(Ok(h)) => h,
                Ok(Err(e)) => return Err(Error::io("starting a gateway runtime", e)),
                Err(_) => {
                    return Err(Error::Internal(
                        "a gateway thread ended while starting".into(),
                    ));
                }
            };
            shards.push(Shard {
                handle,
                open,
                connected,
                _stop: stop_tx,
            });
        }
        Ok(Shards { shards })
    }

    /// Runs `serve(stream)` for an accepted socket on the least busy shard. The socket is
    /// moved to that shard's reactor there; `done` runs when the connection has ended.
    pub(crate) fn spawn<F, Fut>(&self, stream: tokio::net::TcpStream, serve: F) -> Result<()>
    where
        F: FnOnce(tokio::net::TcpStream) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let Some(shard) = self
            .shards
            .iter()
            .min_by_key(|s| s.open.load(Ordering::Relaxed))
        else {
            return Err(Error::Internal("the gateway has no threads".into()));
        };
        let std_stream = stream
            .into_std()
            .map_err(|e| Error::io("handing a connection to a gateway thread", e))?;
        let open = shard.open.clone();
        open.fetch_add(1, Ordering::Relaxed);
        shard.connected.notify_one();
        shard.handle.spawn(async move {
            let _open = Open(open);
            match tokio::net::TcpStream::from_std(std_stream) {
                Ok(stream) => serve(stream).await,
                Err(e) => tracing::warn!("registering a connection with a gateway thread: {e}"),
            }
        });
        Ok(())
    }
}

/// Ticks while the shard has connections, so that a timer is always pending there; waits for
/// a connection otherwise (an idle gateway does not wake).
async fn keep_a_timer_pending(open: &AtomicUsize, connected: &tokio::sync::Notify) {
    loop {
        if open.load(Ordering::Relaxed) == 0 {
            connected.notified().await;
        } else {
            tokio::time::sleep(TICK).await;
        }
    }
}

/// Counts a connection as open until dropped (also when its task is cancelled).
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connections_run_on_shard_threads_and_spread_out() -> Result<()> {
        let shards = Shards::start(2)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| Error::io("bind", e))?;
        let addr = listener.local_addr().map_err(|e| Error::io("addr", e))?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut clients = Vec::new();
        for _ in 0..2 {
            clients.push(
                tokio::net::TcpStream::connect(addr)
                    .await
                    .map_err(|e| Error::io("connect", e))?,
            );
            let (stream, _) = listener
                .accept()
                .await
                .map_err(|e| Error::io("accept", e))?;
            let tx = tx.clone();
            shards.spawn(stream, move |s| async move {
                let _ = tx.send((current(), std::thread::current().name().map(str::to_string)));
                // Keep the connection open until the client closes it.
                let mut buf = [0u8; 1];
                let _ = tokio::io::AsyncReadExt::read(&mut { s }, &mut buf).await;
            })?;
        }
        let mut seen = Vec::new();
        for _ in 0..2 {
            seen.push(rx.recv().await);
        }
        seen.sort();
        assert_eq!(
            seen,
            vec![
                Some((Some(0), Some("bifrost-gw-0".to_string()))),
                Some((Some(1), Some("bifrost-gw-1".to_string()))),
            ]
        );
        assert_eq!(current(), None);
        drop(clients);
        Ok(())
    }
}
