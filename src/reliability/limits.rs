//! Backpressure: at most `max_concurrency` requests in flight per provider, a bounded queue
//! behind them, and a 429 with `Retry-After` past the queue, so memory stays bounded.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::ProviderConfig;

/// The queue is full.
#[derive(Debug)]
pub struct QueueFull;

struct Slot {
    sem: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_queue: usize,
}

/// Per-provider slots.
#[derive(Default)]
pub struct Limits {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

impl Limits {
    /// Waits for a slot (held until the permit drops), or fails at once when the queue is
    /// full. `Ok(None)` when the provider has no limit.
    pub async fn acquire(
        &self,
        p: &ProviderConfig,
    ) -> Result<Option<OwnedSemaphorePermit>, QueueFull> {
        let Some(max) = p.max_concurrency else {
            return Ok(None);
        };
        let slot = {
            let Ok(mut slots) = self.slots.lock() else {
                return Ok(None);
            };
            slots
                .entry(p.name.clone())
                .or_insert_with(|| {
                    Arc::new(Slot {
                        sem: Arc::new(Semaphore::new(max)),
                        waiting: AtomicUsize::new(0),
                        max_queue: p.max_queue,
                    })
                })
                .clone()
        };
        if let Ok(permit) = slot.sem.clone().try_acquire_owned() {
            return Ok(Some(permit));
        }
        if slot.waiting.fetch_add(1, Ordering::SeqCst) >= slot.max_queue {
            slot.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(QueueFull);
        }
        let permit = slot.sem.clone().acquire_owned().await;
        slot.waiting.fetch_sub(1, Ordering::SeqCst);
        permit.map(Some).map_err(|_| QueueFull)
    }
}
