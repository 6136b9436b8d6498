//! The Messages body's `messages` text, kept per thread and caller: each turn of an agent
//! session resends the whole conversation so far, and the turns before the last one come out
//! byte for byte as they did last time.
//!
//! Writing the turns of the benchmark's 41 KB Codex request took ~80k of the Anthropic
//! encoder's ~112k instructions under callgrind: every text escaped again, every block built
//! again. Here the last body's turns are kept as text, with where each one starts in the
//! canonical messages and ends in the text, and the messages they were written from. A new
//! request's messages are compared with those (`==`, so `memcmp` on the texts); the turns that
//! only shared messages make, and that a shared message closed, are copied, and the turns from
//! the first one that may differ are built and written as before.
//!
//! A closed turn's bytes depend only on the messages that made it and on the encoder's two
//! switches (thinking kept, tools as text), which are part of the entry. The cache breakpoint
//! is only ever on the last turn, which is never copied. A user turn orders its tool results
//! by the calls of the assistant turn before it, so the first rebuilt turn is an assistant
//! turn (or the first). Tests in `tests.rs` compare the result with a plain encode.
//!
//! As in the Responses decoder's memos, an entry belongs to the caller that sent it (its key,
//! hashed), so one tenant's response times cannot say what another sent. Memory is bounded:
//! [`ENTRIES`] conversations per thread, each at most [`MAX_TEXT`] bytes of text.

use std::borrow::Cow;
use std::cell::RefCell;

use crate::canonical::Message;
use crate::protocols::caller_memo::CallerMemo;

/// Conversations kept per thread: a few concurrent sessions or sub-agents.
const ENTRIES: usize = 4;

/// Longer `messages` texts are written every time, not kept (the input memo's bound: with the
/// messages kept beside the text, an entry holds about twice this).
const MAX_TEXT: usize = 2 << 20;

/// Where a turn's blocks start: the message (in the messages after the leading system ones),
/// and how many of that message's blocks went to the turns before.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct TurnStart {
    pub msg: usize,
    pub skip: usize,
}

/// What the memo knows of one turn of the body it keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Mark {
    pub start: TurnStart,
    /// Where the turn's JSON ends in the text.
    pub end: usize,
    pub assistant: bool,
    /// For an assistant turn that calls tools: whether it opens with a thinking block.
    pub loop_thinking: Option<bool>,
}

/// The encoder's switches a body's turns depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Switches {
    pub keep_thinking: bool,
    pub tools_as_text: bool,
}

/// One caller's last body.
pub(super) struct Entry {
    switches: Switches,
    /// The messages the turns were written from.
    messages: Vec<Message>,
    /// The `messages` array's text between its brackets.
    text: Vec<u8>,
    marks: Vec<Mark>,
}

type Memo = CallerMemo<Entry, ENTRIES>;

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

/// What a request can take from its caller's last body. It owns that entry while the body is
/// written (the memo does not hold it), and [`Plan::keep`] puts it back, updated.
pub(super) struct Plan {
    owner: u64,
    switches: Switches,
    entry: Option<Entry>,
    /// Leading messages equal to the entry's.
    shared: usize,
    /// Turns copied from the entry's text.
    pub reused: usize,
}

impl Plan {
    /// The plan for `messages` from `caller`, written with `switches`.
    pub(super) fn new(caller: &[u8], messages: &[Cow<'_, Message>], switches: Switches) -> Plan {
        let (owner, entry) = MEMO.with(|m| {
            let mut memo = m.borrow_mut();
            let owner = memo.owner(caller);
            (owner, memo.take(owner, |e| e.switches == switches))
        });
        let mut plan = Plan {
            owner,
            switches,
            entry,
            shared: 0,
            reused: 0,
        };
        let Some(e) = plan.entry.as_ref() else {
            return plan;
        };
        plan.shared = e
            .messages
            .iter()
            .zip(messages)
            .take_while(|(kept, new)| *kept == new.as_ref())
            .count();
        // Turn t is final when the block that opens turn t + 1 comes from a shared message.
        let mut reused = e
            .marks
            .iter()
            .skip(1)
            .take_while(|m| m.start.msg < plan.shared)
            .count();
        // The first turn written again must not be a user turn: its results are ordered by
        // the calls of the turn before it.
        if e.marks.get(reused).is_some_and(|m| !m.assistant) {
            reused = reused.saturating_sub(1);
        }
        plan.reused = reused;
        #[cfg(test)]
        COPIED.with(|c| c.set(c.get() + reused));
        plan
    }

    /// Where the turns to build start, when some are copied.
    pub(super) fn from(&self) -> Option<TurnStart> {
        match &self.entry {
            Some(e) if self.reused > 0 => e.marks.get(self.reused).map(|m| m.start),
            _ => None,
        }
    }

    /// The copied turns' text (empty when none is).
    pub(super) fn text(&self) -> &[u8] {
        match &self.entry {
            Some(e) if self.reused > 0 => &e.text[..e.marks[self.reused - 1].end],
            _ => &[],
        }
    }

    /// Whether the latest copied assistant turn that calls tools opens with thinking
    /// (`None` when no copied turn calls tools).
    pub(super) fn loop_thinking(&self) -> Option<bool> {
        let e = self.entry.as_ref()?;
        e.marks[..self.reused]
            .iter()
            .rev()
            .find_map(|m| m.loop_thinking)
    }

    /// Gives the entry back unchanged: the body was not written with these switches.
    pub(super) fn release(self) {
        if let Some(e) = self.entry {
            MEMO.with(|m| m.borrow_mut().put(self.owner, e));
        }
    }

    /// Keeps the body just written: `text` is its `messages` text, `marks` its turns after the
    /// copied ones (their ends counted in `text`), `messages` what they were written from.
    pub(super) fn keep(self, messages: &[Cow<'_, Message>], text: &[u8], marks: &[Mark]) {
        if text.len() > MAX_TEXT {
            return;
        }
        let mut entry = match self.entry {
            Some(e) => e,
            None => Entry {
                switches: self.switches,
                messages: Vec::new(),
                text: Vec::new(),
                marks: Vec::new(),
            },
        };
        let shared = if entry.messages.is_empty() {
            0
        } else {
            self.shared
        };
        entry.messages.truncate(shared);
        entry
            .messages
            .extend(messages[shared..].iter().map(|m| m.as_ref().clone()));
        let copied = entry.marks[..self.reused.min(entry.marks.len())]
            .last()
            .map_or(0, |m| m.end);
        entry.text.truncate(copied);
        entry.text.extend_from_slice(&text[copied..]);
        entry.marks.truncate(self.reused);
        entry.marks.extend_from_slice(marks);
        MEMO.with(|m| m.borrow_mut().put(self.owner, entry));
    }
}

#[cfg(test)]
thread_local! {
    static COPIED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Turns copied on this thread so far, for tests.
#[cfg(test)]
pub(super) fn copied() -> usize {
    COPIED.with(std::cell::Cell::get)
}

/// Conversations kept on this thread, for tests.
#[cfg(test)]
pub(super) fn entries() -> usize {
    MEMO.with(|m| m.borrow().len())
}
