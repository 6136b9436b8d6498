//! The list each of the codecs' per-thread memos keeps (`responses/tools_memo.rs`,
//! `responses/input_memo.rs`, `anthropic/turns_memo.rs`): at most `N` entries, most recently
//! used first, each owned by the caller that sent it.
//!
//! An owner is the caller's key hashed with a per-thread random key, so an entry is found
//! only by the caller it came from: one tenant's response times cannot say what another sent.

use std::hash::BuildHasher;

/// Entries `E`, at most `N`, each with its owner; most recently used first.
pub(super) struct CallerMemo<E, const N: usize> {
    entries: Vec<(u64, E)>,
    hasher: std::hash::RandomState,
}

impl<E, const N: usize> Default for CallerMemo<E, N> {
    fn default() -> Self {
        CallerMemo {
            entries: Vec::new(),
            hasher: std::hash::RandomState::new(),
        }
    }
}

impl<E, const N: usize> CallerMemo<E, N> {
    /// The owner of what `caller` (its key) sends.
    pub(super) fn owner(&self, caller: &[u8]) -> u64 {
        self.hasher.hash_one(caller)
    }

    /// `owner`'s entries, most recent first, each with where it is in the list.
    pub(super) fn of(&self, owner: u64) -> impl Iterator<Item = (usize, &E)> {
        self.entries
            .iter()
            .enumerate()
            .filter(move |(_, (o, _))| *o == owner)
            .map(|(i, (_, e))| (i, e))
    }

    /// Takes out the entry at `i` of the list.
    pub(super) fn remove(&mut self, i: usize) -> Option<E> {
        (i < self.entries.len()).then(|| self.entries.remove(i).1)
    }

    /// Takes out `owner`'s most recent entry for which `pick` holds.
    pub(super) fn take(&mut self, owner: u64, pick: impl Fn(&E) -> bool) -> Option<E> {
        let i = self.of(owner).find(|(_, e)| pick(e)).map(|(i, _)| i)?;
        self.remove(i)
    }

    /// Puts `entry` first, dropping the least recently used entry past `N`.
    pub(super) fn put(&mut self, owner: u64, entry: E) {
        self.entries.truncate(N.saturating_sub(1));
        self.entries.insert(0, (owner, entry));
    }

    /// How many entries the list holds.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entry at `i` of the list.
    #[cfg(test)]
    pub(super) fn get(&self, i: usize) -> Option<&E> {
        self.entries.get(i).map(|(_, e)| e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_found_by_their_owner_and_bounded_most_recent_first() {
        let mut m: CallerMemo<u32, 3> = CallerMemo::default();
        let (a, b) = (m.owner(b"a"), m.owner(b"b"));
        assert_ne!(a, b);
        m.put(a, 1);
        m.put(b, 2);
        m.put(a, 3);
        assert_eq!(m.of(a).collect::<Vec<_>>(), vec![(0, &3), (2, &1)]);
        assert_eq!(m.take(b, |_| true), Some(2));
        assert_eq!(m.take(b, |_| true), None);
        assert_eq!(m.take(a, |e| *e == 1), Some(1));
        for e in 10..15 {
            m.put(a, e);
        }
        assert_eq!(m.len(), 3);
        assert_eq!(m.get(0), Some(&14));
        assert_eq!(m.remove(3), None);
    }
}
