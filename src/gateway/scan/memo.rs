//! What a thread's request scans remember, so that an agent's next turn is compared, not
//! scanned again.
//!
//! Codex resends its instructions, its tool list and the whole conversation on every turn:
//! each request repeats almost all of the one before and adds a few items at the end of
//! `input`. [`Memo`] keeps the large top-level values of the bodies it has checked (slices of
//! those bodies, not copies) and, for an array, where each of its elements ends. A new body's
//! value is compared with them byte for byte:
//!
//! - the same bytes as a remembered value: it ends where that one ended, and is valid;
//! - the same bytes up to the end of a remembered array's k-th element: the walk resumes
//!   there, inside the array after an element, which is the state a walk from the start
//!   would be in at that byte;
//! - otherwise the value is walked from its start, as without a memo.
//!
//! So the result is the one [`super::top_level`] gives, offsets and errors included (a test
//! checks this on random bodies and edits of them). Validity is a property of the bytes, and
//! only bytes compared equal are skipped.
//!
//! Entries belong to the caller that sent them (its key, hashed): a body is compared only
//! with what the same key sent, so on a shared gateway one tenant's response times cannot
//! say what another tenant sent (providers scope their prompt caches per organisation for
//! the same reason).
//!
//! Memory is bounded: at most [`ENTRIES`] values, their lengths together at most
//! [`BUDGET`]; a larger body is checked but not remembered.

use std::ops::Range;

use bytes::Bytes;

use super::{ScanError, Start, TopField, fields, value_end, walk};

/// How many values a memo holds (a few concurrent sessions' instructions, tools and input).
const ENTRIES: usize = 8;

/// Values shorter than this are walked: comparing would save too little to be worth keeping.
const MIN_VALUE: usize = 512;

/// The most bytes of values a memo holds (the bodies they are slices of stay alive). Larger
/// bodies are not remembered.
const BUDGET: usize = 8 << 20;

/// Large top-level values of bodies checked before, most recently used first.
#[derive(Debug, Default)]
pub struct Memo {
    entries: Vec<Entry>,
    /// Hashes callers' keys (randomly keyed, per memo).
    hasher: std::hash::RandomState,
    /// The `max_depth` the entries were checked with.
    depth: usize,
    /// Values found equal to a remembered one, and walks resumed inside one (for tests).
    #[cfg(test)]
    counts: std::cell::Cell<(usize, usize)>,
}

#[derive(Debug)]
struct Entry {
    /// Who sent it: the hash of the caller's key.
    owner: u64,
    /// The field's key, raw (only keys without escapes are remembered).
    key: Bytes,
    /// The value's bytes, a slice of the body it came from.
    value: Bytes,
    /// For an array: the offset in `value` just after each element, in order.
    ends: Vec<usize>,
}

/// One body's scan: who sent it, whether it may be remembered, and what its fields used.
struct Pass {
    owner: u64,
    learn: bool,
    uses: Vec<Use>,
}

/// What scanning one field took from the memo, or gives it.
enum Use {
    /// The value repeated entry `n` exactly.
    Same(usize),
    /// A value to remember, with its element ends; it extends entry `replaces`, if any.
    New {
        key: Range<usize>,
        value: Range<usize>,
        ends: Vec<usize>,
        replaces: Option<usize>,
    },
}

impl Memo {
    /// An empty memo.
    pub fn new() -> Memo {
        Memo::default()
    }

    /// [`super::top_level`] on `body`, comparing its large values with the ones `caller`
    /// (the client's key, or any bytes that name who sent it) sent before; the result is the
    /// same. When the whole body checks out, its large values are remembered in place of the
    /// ones they repeat or extend.
    pub fn top_level(
        &mut self,
        body: &Bytes,
        max_depth: usize,
        caller: &[u8],
    ) -> Result<Vec<TopField>, ScanError> {
        use std::hash::BuildHasher;
        let owner = self.hasher.hash_one(caller);
        if self.depth != max_depth {
            self.entries.clear();
            self.depth = max_depth;
        }
        let b: &[u8] = body;
        let mut pass = Pass {
            owner,
            learn: body.len() <= BUDGET,
            uses: Vec::new(),
        };
        let found = fields(b, max_depth, |field, start, depth| {
            self.value_end(b, field, start, depth, &mut pass)
        })?;
        self.remember(body, pass);
        Ok(found)
    }

    /// Where the value of `field`, starting at `start`, ends: by comparison where it can.
    fn value_end(
        &self,
        b: &[u8],
        field: &TopField,
        start: usize,
        depth: usize,
        pass: &mut Pass,
    ) -> Result<usize, ScanError> {
        // Only values that close themselves (a string, an array, an object): a number that
        // matches a remembered one may go on with more digits.
        let Some(&first) = b.get(start) else {
            return value_end(b, start, depth);
        };
        if field.key_escaped || !matches!(first, b'[' | b'{' | b'"') {
            return value_end(b, start, depth);
        }
        let key = b.get(field.key.clone()).unwrap_or_default();
        let rest = b.get(start..).unwrap_or_default();
        // The best resume point: (entry, elements kept, offset after the last kept).
        let mut best: Option<(usize, usize, usize)> = None;
        for (n, e) in self.entries.iter().enumerate() {
            if e.owner != pass.owner || e.key.as_ref() != key {
                continue;
            }
            let common = crate::json_text::common_prefix(rest, &e.value);
            if common == e.value.len() {
                #[cfg(test)]
                self.counts
                    .set((self.counts.get().0 + 1, self.counts.get().1));
                pass.uses.push(Use::Same(n));
                return Ok(start + common);
            }
            let kept = e.ends.partition_point(|&end| end <= common);
            if let Some(&at) = kept.checked_sub(1).and_then(|k| e.ends.get(k))
                && best.is_none_or(|(_, _, best_at)| at > best_at)
            {
                best = Some((n, kept, at));
            }
        }
        let record = pass.learn && first == b'[';
        let mut ends = Vec::new();
        let (end, replaces) = match best {
            Some((n, kept, at)) => {
                #[cfg(test)]
                self.counts
                    .set((self.counts.get().0, self.counts.get().1 + 1));
                // The walk pushes the resumed element's end itself.
                if let Some(e) = self.entries.get(n) {
                    ends.extend_from_slice(e.ends.get(..kept - 1).unwrap_or_default());
                }
                let recorder = record.then_some((&mut ends, start));
                let end = walk(b, start + at, depth, Start::AfterElement, recorder)?;
                (end, Some(n))
            }
            None => {
                let recorder = record.then_some((&mut ends, start));
                (walk(b, start, depth, Start::Value, recorder)?, None)
            }
        };
        if pass.learn && end - start >= MIN_VALUE {
            pass.uses.push(Use::New {
                key: field.key.clone(),
                value: start..end,
                ends,
                replaces,
            });
        }
        Ok(end)
    }

    /// Puts what the body used or gave first, then the other entries, within the bounds.
    fn remember(&mut self, body: &Bytes, pass: Pass) {
        let Pass { owner, uses, .. } = pass;
        let mut old: Vec<Option<Entry>> = self.entries.drain(..).map(Some).collect();
        let mut next = Vec::with_capacity(ENTRIES);
        for u in uses {
            match u {
                Use::Same(n) => next.extend(old.get_mut(n).and_then(Option::take)),
                Use::New {
                    key,
                    value,
                    ends,
                    replaces,
                } => {
                    if let Some(n) = replaces {
                        drop(old.get_mut(n).and_then(Option::take));
                    }
                    next.push(Entry {
                        owner,
                        key: body.slice(key),
                        value: body.slice(value),
                        ends,
                    });
                }
            }
        }
        next.extend(old.into_iter().flatten());
        let mut held = 0;
        next.retain(|e| {
            held += e.value.len();
            held <= BUDGET
        });
        next.truncate(ENTRIES);
        self.entries = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::scan::top_level;

    /// Scans `bodies` in order with one memo, and checks each result against a plain scan.
    fn agrees(bodies: &[String]) -> Result<Memo, String> {
        let mut memo = Memo::new();
        for body in bodies {
            let bytes = Bytes::from(body.clone());
            let with = memo.top_level(&bytes, 128, b"sk-one");
            let without = top_level(body.as_bytes(), 128);
            if with != without {
                return Err(format!("{body}: memo {with:?}, plain {without:?}"));
            }
        }
        Ok(memo)
    }

    fn text(n: usize) -> String {
        format!("\"{}\"", "word ".repeat(n))
    }

    fn body(items: &[String]) -> String {
        format!(
            "{{\"model\":\"m\",\"instructions\":{},\"input\":[{}]}}",
            text(200),
            items.join(",")
        )
    }

    fn item(n: usize) -> String {
        format!(
            "{{\"type\":\"message\",\"content\":[{{\"type\":\"input_text\",\"text\":{}}}]}}",
            text(40 + n)
        )
    }

    #[test]
    fn common_prefix_finds_the_first_difference() {
        let a: Vec<u8> = (0..10_000).map(|i| (i % 251) as u8).collect();
        for at in [
            0, 1, 15, 16, 255, 256, 257, 1000, 1999, 4095, 4096, 4097, 9000,
        ] {
            let mut b = a.clone();
            b[at] ^= 1;
            assert_eq!(crate::json_text::common_prefix(&a, &b), at);
        }
        assert_eq!(crate::json_text::common_prefix(&a, &a), a.len());
        assert_eq!(crate::json_text::common_prefix(&a[..300], &a), 300);
        assert_eq!(crate::json_text::common_prefix(b"", &a), 0);
    }

    #[test]
    fn a_growing_conversation_resumes_after_the_last_element_it_shares() -> Result<(), String> {
        let items: Vec<String> = (0..6).map(item).collect();
        let turns: Vec<String> = (1..=6).map(|n| body(&items[..n])).collect();
        let memo = agrees(&turns)?;
        // Turns 2 to 6 repeat the instructions; turns 3 to 6 resume the input after the turn
        // before's (turn 1's one element is too short to remember).
        assert_eq!(memo.counts.get(), (5, 4));
        // One entry per large field: the input was extended in place, not added again.
        assert_eq!(memo.entries.len(), 2, "{:?}", memo.entries);
        let input = memo
            .entries
            .iter()
            .find(|e| e.key.as_ref() == b"input")
            .ok_or("no input entry")?;
        assert_eq!(input.ends.len(), 6);
        // Each end is just after an element: the byte there closes or continues the array.
        for &end in &input.ends {
            assert!(matches!(input.value[end], b',' | b']'), "{end}");
        }
        Ok(())
    }

    #[test]
    fn a_replaced_last_message_and_bad_bytes_after_a_shared_prefix() -> Result<(), String> {
        let items: Vec<String> = (0..4).map(item).collect();
        let mut other = items.clone();
        other[3] = item(9);
        let three = body(&items[..3]);
        let open = three.strip_suffix("]}").ok_or("no end")?;
        let memo = agrees(&[
            body(&items),
            body(&other),
            // Bad bytes right after the shared elements, and inside the next one.
            format!("{open},]}}"),
            format!("{open},{{]}}"),
            body(&items).replacen("\"type\":\"message\"", "\"type\":message", 4),
            // The same prefix, then nesting past the limit.
            body(&[items[0].clone(), "[".repeat(130) + &"]".repeat(130)]),
            body(&items),
        ])?;
        // Every body after the first repeats the instructions; each input but the one whose
        // first element differs resumes.
        assert_eq!(memo.counts.get(), (6, 5));
        Ok(())
    }

    #[test]
    fn memory_stays_within_its_bounds() -> Result<(), String> {
        let bodies: Vec<String> = (0..20)
            .map(|n| format!("{{\"k{n}\":{},\"input\":[{}]}}", text(300), item(n)))
            .collect();
        let memo = agrees(&bodies)?;
        assert!(memo.entries.len() <= ENTRIES);
        let big = format!("{{\"input\":[{}]}}", text(BUDGET / 5 + 1));
        let mut memo = Memo::new();
        memo.top_level(&Bytes::from(big), 128, b"sk-one")
            .map_err(|e| e.to_string())?;
        assert!(memo.entries.is_empty(), "a body over the budget was kept");
        Ok(())
    }

    #[test]
    fn a_caller_is_compared_only_with_what_it_sent() -> Result<(), String> {
        let items: Vec<String> = (0..4).map(item).collect();
        let (first, next) = (Bytes::from(body(&items[..3])), Bytes::from(body(&items)));
        let mut memo = Memo::new();
        memo.top_level(&first, 128, b"sk-alice")
            .map_err(|e| e.to_string())?;
        let other = memo.top_level(&next, 128, b"sk-bob");
        assert_eq!(memo.counts.get(), (0, 0), "bob's body met alice's");
        let same = memo.top_level(&next, 128, b"sk-alice");
        assert_eq!(memo.counts.get(), (1, 1));
        assert_eq!(other, same);
        Ok(())
    }

    /// A JSON array of small values, as text.
    fn array() -> impl proptest::strategy::Strategy<Value = Vec<String>> {
        use proptest::prelude::*;
        proptest::collection::vec(
            prop_oneof![
                "\"[a-z \\\\\"]{0,300}\"",
                "[0-9]{1,4}",
                Just("{\"a\":[1,{\"b\":null}],\"c\":\"x\"}".to_string()),
                Just("[[],{}]".to_string()),
            ],
            0..12,
        )
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_a_plain_scan_on_edited_bodies(
            first in array(),
            keep in 0usize..12,
            more in array(),
            edit in proptest::option::of((0usize..4000, "[\\[\\]{},:\" a0\\\\]")),
        ) {
            let wrap = |items: &[String]| format!("{{\"input\":[{}],\"tools\":{}}}", items.join(","), text(120));
            let mut second: Vec<String> = first[..keep.min(first.len())].to_vec();
            second.extend(more);
            let mut second = wrap(&second);
            if let Some((at, byte)) = edit {
                let at = at % (second.len() + 1);
                if second.is_char_boundary(at) {
                    second.insert_str(at, &byte);
                }
            }
            let result = agrees(&[wrap(&first), second.clone(), wrap(&first), second]);
            proptest::prop_assert!(result.is_ok(), "{:?}", result.err());
        }
    }
}
