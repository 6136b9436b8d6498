//! Identifiers minted on every request (row ids, response and call ids): UUID v7 without a
//! system call each, because `Uuid::now_v7` asks the kernel for fresh random bytes every time.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

thread_local! {
    /// Per-thread generator state, seeded once. Ids need to be unique, not secret.
    static RNG: Cell<Option<u64>> = const { Cell::new(None) };
}

/// 64 random bits from a per-thread splitmix64 stream.
fn next() -> u64 {
    RNG.with(|cell| {
        let state = cell.get().unwrap_or_else(|| {
            // std seeds RandomState from the OS once per thread; hashing the time and the
            // thread into it gives each thread its own stream.
            use std::hash::BuildHasher;
            let t = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            std::hash::RandomState::new().hash_one((t, std::thread::current().id()))
        });
        let state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        cell.set(Some(state));
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

/// A UUID v7: the Unix time in milliseconds, then 74 random bits.
pub fn uuid_v7() -> uuid::Uuid {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut random = [0u8; 10];
    random[..8].copy_from_slice(&next().to_le_bytes());
    random[8..].copy_from_slice(&next().to_le_bytes()[..2]);
    uuid::Builder::from_unix_timestamp_millis(ms, &random).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_7_unique_and_carry_the_time() {
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let ids: std::collections::HashSet<uuid::Uuid> = (0..10_000).map(|_| uuid_v7()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(10) {
            assert_eq!(id.get_version_num(), 7);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
            let (secs, nanos) = id.get_timestamp().map(|t| t.to_unix()).unwrap_or((0, 0));
            let ms = secs * 1000 + u64::from(nanos) / 1_000_000;
            assert!(ms >= before && ms <= before + 60_000, "{ms} vs {before}");
        }
    }

    #[test]
    fn threads_get_different_streams() {
        let a = std::thread::spawn(uuid_v7).join().ok();
        let b = std::thread::spawn(uuid_v7).join().ok();
        assert!(a.is_some() && b.is_some());
        assert_ne!(a, b);
    }
}
