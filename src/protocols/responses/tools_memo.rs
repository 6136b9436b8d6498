//! A request's `tools`, decoded once per thread and caller: Codex resends the same tool list
//! (about 9 KB of definitions and JSON schemas) on every turn of a session.
//!
//! Decoding that list cost ~95k instructions of a translated 17.5 KB Codex request under
//! callgrind: serde walks every schema to keep its text, then the canonical tools are built.
//! When the `tools` bytes equal the ones the same caller sent last, the tools decoded then are
//! cloned instead; any other bytes are decoded as before and remembered. The result is a
//! function of the bytes alone, so it is the one a decode gives (a test checks this).
//!
//! As in the gateway's scan memo (`gateway/scan/memo.rs`), an entry belongs to the caller
//! that sent it (its key, hashed), so one tenant's response times cannot say what another
//! sent. Memory is bounded: [`ENTRIES`] lists, each at most [`MAX_TEXT`] bytes of JSON.

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::canonical::{Request, Tool, ToolOrigin};

use super::wire::ToolDef;
use crate::protocols::caller_memo::CallerMemo;

/// Tool lists kept per thread: a few concurrent sessions (the gateway runs one thread per core).
const ENTRIES: usize = 4;

/// Longer lists are decoded every time, not kept.
const MAX_TEXT: usize = 1 << 20;

/// What [`super::add_tools`] makes of a `tools` list on a request that has no tools yet.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Decoded {
    tools: Vec<Tool>,
    origins: BTreeMap<String, ToolOrigin>,
    dropped: Vec<String>,
}

impl Decoded {
    /// Decodes `defs` as the top-level `tools` of a request.
    fn of(defs: Vec<ToolDef<'_>>) -> Decoded {
        let mut req = Request::default();
        super::add_tools(&mut req, defs, None);
        // Decided once for the copy kept here, so that a turn resending these tools is not
        // walked again by an encoder that needs object schemas (Anthropic's).
        for t in &req.tools {
            t.parameters.says_object();
        }
        Decoded {
            tools: req.tools,
            origins: req.tool_origins,
            dropped: req.dropped,
        }
    }

    /// Puts the tools on `req`, as `add_tools` would have put them there first.
    pub(super) fn apply(self, req: &mut Request) {
        req.tools.extend(self.tools);
        // Moved whole when the request has none yet (the usual case): inserting each name
        // again, then dropping the emptied copy, cost more than the decode it replaced.
        if req.tool_origins.is_empty() {
            req.tool_origins = self.origins;
        } else {
            req.tool_origins.extend(self.origins);
        }
        req.dropped.extend(self.dropped);
    }
}

struct Entry {
    text: Box<str>,
    decoded: Decoded,
}

type Memo = CallerMemo<Entry, ENTRIES>;

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

/// The tools of the `tools` value `text` (a JSON array or `null`) that `caller` sent: the
/// remembered decode of the same bytes, else a new one. `None` when `text` does not decode;
/// the caller then decodes the whole body, for the error in the body's own terms.
pub(super) fn decode(text: &str, caller: &[u8]) -> Option<Decoded> {
    MEMO.with(|memo| {
        let Ok(mut memo) = memo.try_borrow_mut() else {
            return fresh(text);
        };
        let owner = memo.owner(caller);
        if let Some(hit) = memo.take(owner, |e| *e.text == *text) {
            let decoded = hit.decoded.clone();
            memo.put(owner, hit);
            return Some(decoded);
        }
        let decoded = fresh(text)?;
        if text.len() <= MAX_TEXT {
            let entry = Entry {
                text: text.into(),
                decoded: decoded.clone(),
            };
            memo.put(owner, entry);
        }
        Some(decoded)
    })
}

/// How many tool lists this thread remembers (for tests elsewhere that the memo is used).
#[cfg(test)]
pub(crate) fn remembered() -> usize {
    MEMO.with(|m| m.borrow().len())
}

fn fresh(text: &str) -> Option<Decoded> {
    serde_json::from_str::<Option<Vec<ToolDef<'_>>>>(text)
        .ok()
        .map(|defs| Decoded::of(defs.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOOLS: &str = r#"[{"type":"function","name":"a","description":"d","parameters":{"type":"object"}},{"type":"web_search"}]"#;

    #[test]
    fn the_same_bytes_give_the_same_tools_and_are_kept_per_caller() {
        let first = decode(TOOLS, b"k1").expect("decodes");
        assert_eq!(first.tools.len(), 1);
        assert_eq!(first.dropped, vec!["hosted tool `web_search`".to_string()]);
        assert_eq!(decode(TOOLS, b"k1"), Some(first.clone()));
        assert_eq!(decode(TOOLS, b"k2"), Some(first));
        let owners = MEMO.with(|m| m.borrow().len());
        assert_eq!(owners, 2, "one entry per caller");
        assert_eq!(decode("null", b"k1").map(|d| d.tools.len()), Some(0));
        assert_eq!(decode(r#"[{"name": 3}]"#, b"k1"), None);
        for i in 0..10 {
            decode(&format!(r#"[{{"type":"function","name":"t{i}"}}]"#), b"k3");
        }
        assert_eq!(MEMO.with(|m| m.borrow().len()), ENTRIES);
    }
}
