//! What a request's `input` items decoded to, kept per thread and caller: each turn of an
//! agent session resends the whole conversation so far and adds a few items at its end.
//!
//! Decoding the ~37 KB `input` of the benchmark's Codex request took most of a translated
//! request's decode (serde copies every string with escapes, and a Codex history is mostly
//! such strings). Here each item's effect on the request ([`Op`]) is kept with where the item
//! ends in the array's text. A new `input` is compared with the one its caller sent last
//! (`memcmp`); the items it shares whole are replayed from the kept ops (clones, no parsing)
//! and only the items after them are decoded, then kept too. An item's ops depend on its bytes
//! alone, so the request is the one a plain decode gives (tests in `gateway/body.rs` compare
//! the two on fixtures and on edited bodies).
//!
//! As in the tools memo next door, an entry belongs to the caller that sent it (its key,
//! hashed), so one tenant's response times cannot say what another sent. Memory is bounded:
//! [`ENTRIES`] conversations per thread, each an `input` of at most [`MAX_TEXT`] bytes, kept
//! as a slice of a body of at most twice that (a larger body's `input` is copied out).

use std::borrow::Cow;
use std::cell::RefCell;

use serde_json::value::RawValue;

use crate::canonical::{Message, Part, Request, ToolResult};
use crate::json_text::skip_ws;
use crate::protocols::caller_memo::CallerMemo;

use super::wire::Item;

/// Conversations kept per thread: a few concurrent sessions or sub-agents.
const ENTRIES: usize = 4;

/// Longer `input` arrays are decoded every time, not kept.
const MAX_TEXT: usize = 2 << 20;

/// What one input item does to the request being built.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Op {
    /// A message of its own (user, system).
    Message(Message),
    /// A part of the assistant message being built (text, reasoning, a tool call).
    Assistant(Part),
    /// A result in the tool message being built.
    Result(ToolResult),
    /// Something the provider cannot be sent, for the request's notes.
    Dropped(String),
}

impl Op {
    pub(super) fn apply(self, req: &mut Request) {
        match self {
            Op::Message(m) => req.messages.push(m),
            Op::Assistant(p) => super::push_assistant(req, p),
            Op::Result(r) => super::push_tool_result(req, r),
            Op::Dropped(d) => req.dropped.push(d),
        }
    }
}

struct Entry {
    /// The `input` text, as received: a slice of the body it came in (no copy).
    text: bytes::Bytes,
    /// Where each kept item ends in `text`, and its ops: the items up to the first one whose
    /// effect depends on more than its bytes (`additional_tools`), which is not kept.
    ends: Vec<usize>,
    ops: Vec<Vec<Op>>,
}

#[derive(Default)]
struct Memo {
    entries: CallerMemo<Entry, ENTRIES>,
    /// Counts changes, so that [`remember`] knows the entry [`shared`] found is still there.
    generation: u64,
}

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

/// The leading items of an `input` array that equal ones its caller sent before.
pub(super) struct Shared<'t> {
    /// Their ops, in order.
    pub(super) ops: Vec<Op>,
    /// How many items they are.
    pub(super) items: usize,
    /// `[` and the array's text after them: the items still to decode (the array itself,
    /// borrowed, when none are shared).
    tail: Cow<'t, str>,
    /// Where `tail`'s second byte is in the array's text.
    resume: usize,
    owner: u64,
    /// The entry they came from and the memo's generation then.
    from: Option<(usize, u64)>,
}

impl Shared<'_> {
    /// The items after the shared ones, each with where it ends in the array's text; `None`
    /// when they are not an array of items (the caller then decodes the whole body, for the
    /// error in the body's own terms).
    pub(super) fn rest(&self) -> Option<Vec<(usize, Item<'_>)>> {
        let raws: Vec<&RawValue> = serde_json::from_str(&self.tail).ok()?;
        let base = self.tail.as_ptr() as usize;
        raws.into_iter()
            .map(|raw| {
                let at = raw.get().as_ptr() as usize - base;
                let end = self.resume + at + raw.get().len() - 1;
                serde_json::from_str::<Item<'_>>(raw.get())
                    .ok()
                    .map(|item| (end, item))
            })
            .collect()
    }
}

/// What `caller` sent before of the `input` value `text`: the ops of the items the two share
/// whole, and the rest to decode. `None` when `text` is not an array.
pub(super) fn shared<'t>(text: &'t str, caller: &[u8]) -> Option<Shared<'t>> {
    let b = text.as_bytes();
    let open = skip_ws(b, 0);
    if b.get(open) != Some(&b'[') {
        return None;
    }
    let fresh = |owner| Shared {
        ops: Vec::new(),
        items: 0,
        tail: Cow::Borrowed(&text[open..]),
        resume: open + 1,
        owner,
        from: None,
    };
    MEMO.with(|memo| {
        let Ok(memo) = memo.try_borrow() else {
            return Some(fresh(0));
        };
        let owner = memo.entries.owner(caller);
        // The entry sharing the most whole items. An item counts when its bytes are shared
        // and it cannot go on in `text`: the byte after it is shared too, or it ends with a
        // closing `}`, `]` or `"` (a number or a literal could go on; the last item of the
        // last turn's array is followed by `]`, this turn's by `,`).
        let mut best: Option<(usize, usize, &Entry)> = None;
        for (i, e) in memo.entries.of(owner) {
            let common = crate::json_text::common_prefix(&e.text, b);
            let mut k = e.ends.partition_point(|&end| end <= common);
            let open_ended =
                |end: usize| !matches!(b.get(end.wrapping_sub(1)), Some(b'}' | b']' | b'"'));
            if k > 0 && e.ends[k - 1] == common && open_ended(common) {
                k -= 1;
            }
            if k > 0 && best.is_none_or(|(_, n, _)| k > n) {
                best = Some((i, k, e));
            }
        }
        let Some((i, k, e)) = best else {
            return Some(fresh(owner));
        };
        #[cfg(test)]
        REPLAYED.with(|n| n.set(n.get() + k));
        let after = skip_ws(b, e.ends[k - 1]);
        let resume = match b.get(after) {
            Some(b',') => after + 1,
            _ => after,
        };
        let mut tail = String::with_capacity(text.len() - resume + 1);
        tail.push('[');
        tail.push_str(text.get(resume..)?);
        Some(Shared {
            ops: e.ops[..k].iter().flatten().cloned().collect(),
            items: k,
            tail: Cow::Owned(tail),
            resume,
            owner,
            from: Some((i, memo.generation)),
        })
    })
}

/// Keeps the items of the `input` value at `range` in `body` (the text [`shared`] was given):
/// the shared ones `shared` found, then `new`, each with where it ends and its ops (`None` for
/// an item that is not kept, which ends what is kept).
pub(super) fn remember(
    shared: Shared<'_>,
    body: &bytes::Bytes,
    range: std::ops::Range<usize>,
    new: Vec<(usize, Option<Vec<Op>>)>,
) {
    if range.len() > MAX_TEXT || range.end > body.len() {
        return;
    }
    // A slice of the body, not a copy (a 30 KB `input` was copied on every turn), unless the
    // body is much larger than its `input`: then the memo would hold on to all of it.
    let text = if body.len() <= 2 * MAX_TEXT {
        body.slice(range)
    } else {
        bytes::Bytes::copy_from_slice(&body[range])
    };
    MEMO.with(|memo| {
        let Ok(mut memo) = memo.try_borrow_mut() else {
            return;
        };
        let generation = memo.generation;
        let found = shared
            .from
            .filter(|&(_, g)| g == generation)
            .and_then(|(i, _)| memo.entries.remove(i));
        let mut entry = match found {
            Some(mut e) => {
                e.ends.truncate(shared.items);
                e.ops.truncate(shared.items);
                e
            }
            None if shared.items == 0 => Entry {
                text: bytes::Bytes::new(),
                ends: Vec::new(),
                ops: Vec::new(),
            },
            None => return,
        };
        // Kept only while every earlier item is.
        for (end, ops) in new {
            let Some(ops) = ops else { break };
            entry.ends.push(end);
            entry.ops.push(ops);
        }
        entry.text = text;
        memo.entries.put(shared.owner, entry);
        memo.generation += 1;
    });
}

#[cfg(test)]
thread_local! {
    static REPLAYED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many items this thread has taken from the memo (for tests elsewhere that it is used).
#[cfg(test)]
pub(crate) fn replayed() -> usize {
    REPLAYED.with(std::cell::Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(n: usize) -> String {
        format!(
            r#"{{"type":"message","role":"user","content":[{{"type":"input_text","text":"m{n}\n"}}]}}"#
        )
    }

    fn array(items: &[String]) -> String {
        format!("[{}]", items.join(", "))
    }

    /// Decodes `text` through the memo as the decoder does; returns how many items were shared.
    fn through(text: &str, caller: &[u8]) -> usize {
        let Some(s) = shared(text, caller) else {
            return usize::MAX;
        };
        let k = s.items;
        let rest: Vec<(usize, Option<Vec<Op>>)> = s
            .rest()
            .unwrap_or_default()
            .into_iter()
            .map(|(end, _)| (end, Some(vec![Op::Dropped(format!("end {end}"))])))
            .collect();
        let body = bytes::Bytes::copy_from_slice(text.as_bytes());
        remember(s, &body, 0..body.len(), rest);
        k
    }

    #[test]
    fn a_growing_conversation_shares_its_earlier_items() {
        let items: Vec<String> = (0..5).map(msg).collect();
        assert_eq!(through(&array(&items[..2]), b"k"), 0);
        assert_eq!(through(&array(&items[..4]), b"k"), 2);
        // The same again: all four, nothing to decode.
        assert_eq!(through(&array(&items[..4]), b"k"), 4);
        // A number can go on: after `[1, 2]`, `[1, 23]` shares only its first value.
        MEMO.with(|m| {
            let mut m = m.borrow_mut();
            let owner = m.entries.owner(b"n");
            let ops = vec![Vec::new(), Vec::new()];
            let (text, ends) = ("[1, 2]".into(), vec![2, 5]);
            m.entries.put(owner, Entry { text, ends, ops });
        });
        assert_eq!(shared("[1, 23]", b"n").map(|s| s.items), Some(1));
        assert_eq!(shared("[1, 2, 3]", b"n").map(|s| s.items), Some(1));
        assert_eq!(shared("[1, 2]", b"n").map(|s| s.items), Some(2));
        // Another caller shares nothing with it.
        assert_eq!(through(&array(&items[..4]), b"j"), 0);
        // A changed third item: the first two still count.
        let mut changed = items.clone();
        changed[2] = msg(9);
        assert_eq!(through(&array(&changed), b"k"), 2);
        // Where every item ends, as kept: the ends of the items in the text.
        let text = array(&changed);
        let ends: Vec<usize> = MEMO.with(|m| {
            m.borrow()
                .entries
                .get(0)
                .map(|e| e.ends.clone())
                .unwrap_or_default()
        });
        assert_eq!(ends.len(), 5);
        for end in ends {
            assert!(matches!(&text[end..end + 1], "," | "]"), "{end} in {text}");
            assert_eq!(&text[end - 1..end], "}");
        }
        assert_eq!(shared("\"hi\"", b"k").map(|s| s.items), None);
        assert_eq!(through(" [ ] ", b"k"), 0);
    }

    #[test]
    fn memory_stays_within_its_bounds() {
        for i in 0..10 {
            through(&array(&[msg(100 + i)]), b"b");
        }
        assert_eq!(MEMO.with(|m| m.borrow().entries.len()), ENTRIES);
        let big = array(&[format!("\"{}\"", "x".repeat(MAX_TEXT))]);
        let before = MEMO.with(|m| m.borrow().generation);
        through(&big, b"b");
        assert_eq!(MEMO.with(|m| m.borrow().generation), before, "not kept");
    }
}
