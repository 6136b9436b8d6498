//! Incremental Server-Sent Events framing: split a byte stream into whole events as the bytes
//! arrive, without waiting for the stream to end. One event is capped (8 MiB by default), so a
//! hostile or broken upstream cannot make the gateway buffer without bound.

use std::borrow::Cow;

/// The default cap on one event's bytes.
pub const DEFAULT_MAX_EVENT: usize = 8 << 20;

/// Splits chunks into events. Holds only the bytes of the event not yet complete.
#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    /// Where the next newline search starts.
    scan: usize,
    /// Start of the current line.
    line_start: usize,
    /// Largest event accepted.
    max_event: usize,
    /// An event went past `max_event`: input is ignored from then on.
    overflowed: bool,
}

impl Default for Framer {
    fn default() -> Self {
        Self::with_limit(DEFAULT_MAX_EVENT)
    }
}

impl Framer {
    /// A framer that gives up on an event larger than `max_event` bytes.
    pub fn with_limit(max_event: usize) -> Self {
        Self {
            buf: Vec::new(),
            scan: 0,
            line_start: 0,
            max_event,
            overflowed: false,
        }
    }

    /// Whether an event went past the limit. The framer then drops its buffer and ignores
    /// further input: the caller should end the stream with an error.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// The cap on one event, in bytes.
    pub fn max_event(&self) -> usize {
        self.max_event
    }

    /// Feeds a chunk; calls `on_event` with each complete event's raw bytes, terminator included.
    ///
    /// When nothing is pending (the usual case: upstreams send whole events), the chunk is
    /// scanned in place and only an incomplete tail is copied.
    pub fn push(&mut self, chunk: &[u8], mut on_event: impl FnMut(&[u8])) {
        if self.overflowed {
            return;
        }
        let max = self.max_event;
        let mut too_big = false;
        let mut guarded = |ev: &[u8]| {
            if ev.len() > max {
                too_big = true;
            } else if !too_big {
                on_event(ev);
            }
        };
        if self.buf.is_empty() {
            let (mut scan, mut line_start) = (0, 0);
            let start = split(chunk, &mut scan, &mut line_start, &mut guarded);
            if too_big || chunk.len() - start > max {
                self.overflow();
                return;
            }
            self.buf.extend_from_slice(&chunk[start..]);
            self.scan = scan - start;
            self.line_start = line_start - start;
            return;
        }
        self.buf.extend_from_slice(chunk);
        let event_start = split(
            &self.buf,
            &mut self.scan,
            &mut self.line_start,
            &mut guarded,
        );
        if too_big || self.buf.len() - event_start > max {
            self.overflow();
            return;
        }
        if event_start > 0 {
            self.buf.drain(..event_start);
            self.scan -= event_start;
            self.line_start -= event_start;
        }
    }

    fn overflow(&mut self) {
        self.overflowed = true;
        self.buf = Vec::new();
        self.scan = 0;
        self.line_start = 0;
    }

    /// Bytes of an event that never got its blank line.
    pub fn remainder(&self) -> &[u8] {
        &self.buf
    }
}

/// Calls `on_event` for each complete event in `buf`, scanning from `scan`; returns where the
/// first incomplete event starts.
fn split(
    buf: &[u8],
    scan: &mut usize,
    line_start: &mut usize,
    on_event: &mut impl FnMut(&[u8]),
) -> usize {
    let mut event_start = 0;
    while let Some(off) = memchr::memchr(b'\n', &buf[*scan..]) {
        let nl = *scan + off;
        let line = &buf[*line_start..nl];
        let empty = line.is_empty() || line == b"\r";
        *scan = nl + 1;
        *line_start = nl + 1;
        if empty {
            if nl + 1 > event_start + line.len() + 1 {
                on_event(&buf[event_start..=nl]);
            }
            event_start = nl + 1;
        }
    }
    event_start
}

/// The `data:` payload of an event (several data lines joined by `\n`), if it has one.
pub fn data(event: &[u8]) -> Option<Cow<'_, str>> {
    let mut out: Option<Cow<'_, str>> = None;
    for line in event.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(rest) = line.strip_prefix(b"data:") else {
            continue;
        };
        let rest = rest.strip_prefix(b" ").unwrap_or(rest);
        let text = String::from_utf8_lossy(rest);
        out = Some(match out {
            None => text,
            Some(prev) => Cow::Owned(format!("{prev}\n{text}")),
        });
    }
    out
}

/// The event type of an OpenAI Responses event: the first top-level-looking
/// `"type": "response.…"` in the payload. Item types never start with `response.`, and
/// quotes inside strings are escaped, so this cannot match nested content.
pub fn responses_event_type(data: &str) -> Option<&str> {
    let bytes = data.as_bytes();
    for pos in memchr::memmem::find_iter(bytes, b"\"type\":") {
        let rest = data[pos + 7..].trim_start();
        if let Some(v) = rest.strip_prefix('"')
            && (v.starts_with("response.") || v.starts_with("error\""))
        {
            let end = v.find('"')?;
            return Some(&v[..end]);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(chunks: &[&[u8]]) -> Vec<String> {
        let mut f = Framer::default();
        let mut out = Vec::new();
        for c in chunks {
            f.push(c, |e| out.push(String::from_utf8_lossy(e).into_owned()));
        }
        out
    }

    #[test]
    fn splits_events_across_arbitrary_chunks() {
        let stream = b"event: a\ndata: {\"x\":1}\n\ndata: two\r\n\r\n: comment\n\ndata: 3\n\n";
        for split in 0..stream.len() {
            let (a, b) = stream.split_at(split);
            let ev = frames(&[a, b]);
            assert_eq!(ev.len(), 4, "split at {split}: {ev:?}");
            assert_eq!(ev[0], "event: a\ndata: {\"x\":1}\n\n");
            assert_eq!(data(ev[1].as_bytes()).as_deref(), Some("two"));
            assert_eq!(data(ev[2].as_bytes()), None);
        }
    }

    #[test]
    fn joins_multiline_data_and_keeps_remainder() {
        let mut f = Framer::default();
        let mut got = Vec::new();
        f.push(b"data: a\ndata: b\n\ndata: partial", |e| {
            got.push(data(e).map(|d| d.into_owned()))
        });
        assert_eq!(got, vec![Some("a\nb".to_string())]);
        assert_eq!(f.remainder(), b"data: partial");
    }

    #[test]
    fn an_event_past_the_limit_overflows_and_frees_its_buffer() {
        let mut f = Framer::with_limit(16);
        let mut got = Vec::new();
        f.push(b"data: ok\n\ndata: 0123456789", |e| got.push(e.to_vec()));
        assert_eq!(got.len(), 1);
        assert!(!f.overflowed());
        f.push(b"abcdef", |e| got.push(e.to_vec()));
        assert!(f.overflowed());
        assert!(f.remainder().is_empty());
        f.push(b"\n\ndata: later\n\n", |e| got.push(e.to_vec()));
        assert_eq!(got.len(), 1, "nothing after an overflow");
        // A complete event over the limit in one chunk overflows too.
        let mut f = Framer::with_limit(16);
        f.push(b"data: 0123456789abcdef\n\n", |e| got.push(e.to_vec()));
        assert!(f.overflowed());
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn finds_the_event_type_not_an_item_type() {
        let python = r#"{"item": {"type": "function_call", "name": "x"}, "type": "response.output_item.done"}"#;
        assert_eq!(
            responses_event_type(python),
            Some("response.output_item.done")
        );
        let openai = r#"{"type":"response.completed","response":{"id":"r"}}"#;
        assert_eq!(responses_event_type(openai), Some("response.completed"));
        let tricky =
            r#"{"delta":"\"type\":\"response.completed\"","type":"response.output_text.delta"}"#;
        assert_eq!(
            responses_event_type(tricky),
            Some("response.output_text.delta")
        );
    }
}
