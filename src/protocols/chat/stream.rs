//! Chat `chat.completion.chunk` streams: upstream chunks → canonical events
//! ([`StreamDecoder`]) and canonical events → chunks for Chat clients ([`StreamEncoder`]).

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use super::response::{
    classify, completion_id, error_json, finish_reason, stop_reason, usage_json, usage_of,
};
use super::{as_json_string, client_tool_name, synth_call_id, unix_now};
use crate::canonical::{
    BlockKind, Delta, ErrorCode, Event, Request, StopReason, ToolOrigin, UpstreamError,
};
use crate::usage::Usage;
use crate::{Error, Result};

/// The block receiving deltas now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text,
    Reasoning,
    /// A tool call, by its Chat `index`.
    Tool(u64),
}

/// One streamed tool call, keyed by its Chat `index`.
#[derive(Debug, Default)]
struct ToolState {
    id: Option<String>,
    name: Option<String>,
    /// Our block, once the name is known.
    block: Option<usize>,
    /// Arguments that came before the name.
    pending: String,
    closed: bool,
}

/// Turns an upstream Chat stream into canonical events.
///
/// Blocks are sequential: a new block closes the one before. `Stop` waits for the usage
/// chunk (or `[DONE]`, or the end), so `Usage` always comes before it.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    started: bool,
    next_block: usize,
    open: Option<(usize, Open)>,
    tools: BTreeMap<u64, ToolState>,
    /// `finish_reason` seen; `Stop` not yet sent.
    stop: Option<StopReason>,
    /// `Stop` or `Error` sent: nothing more follows.
    done: bool,
}

impl StreamDecoder {
    /// A decoder for one stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Handles one SSE `data:` payload.
    pub fn push(&mut self, data: &str, out: &mut Vec<Event>) -> Result<()> {
        if self.done {
            return Ok(());
        }
        let data = data.trim();
        if data.is_empty() {
            return Ok(());
        }
        if data == "[DONE]" {
            self.finish(out);
            return Ok(());
        }
        let v: Value = serde_json::from_str(data)
            .map_err(|e| Error::UpstreamFormat(format!("chat stream chunk is not JSON: {e}")))?;
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            let status = err["code"]
                .as_u64()
                .or_else(|| err["status"].as_u64())
                .and_then(|s| u16::try_from(s).ok())
                .filter(|s| (400..=599).contains(s))
                .unwrap_or(500);
            self.close_open(out);
            out.push(Event::Error(classify(status, None, Some(&v), data)));
            self.done = true;
            return Ok(());
        }
        if !self.started {
            self.started = true;
            out.push(Event::Start {
                id: v["id"].as_str().map(str::to_string),
                model: v["model"].as_str().map(str::to_string),
            });
        }
        if let Some(choices) = v["choices"].as_array() {
            for choice in choices {
                if choice["index"].as_u64().unwrap_or(0) != 0 {
                    continue;
                }
                self.choice(choice, out);
            }
        }
        if let Some(u) = usage_of(&v) {
            out.push(Event::Usage(u));
            if self.stop.is_some() {
                self.finish(out);
            }
        }
        Ok(())
    }

    /// The stream closed.
    pub fn end(&mut self, out: &mut Vec<Event>) {
        if self.done {
            return;
        }
        if self.stop.is_some() {
            self.finish(out);
            return;
        }
        self.close_open(out);
        out.push(Event::Error(UpstreamError {
            code: ErrorCode::ServerError,
            message: "stream ended before finish_reason".into(),
            retry_after_secs: None,
            status: 502,
        }));
        self.done = true;
    }

    fn choice(&mut self, choice: &Value, out: &mut Vec<Event>) {
        let delta = &choice["delta"];
        let reasoning = [&delta["reasoning_content"], &delta["reasoning"]]
            .into_iter()
            .find_map(|r| r.as_str().filter(|s| !s.is_empty()));
        if let Some(r) = reasoning {
            self.ensure(Open::Reasoning, BlockKind::Reasoning, out);
            self.delta(Delta::Reasoning(r.to_string()), out);
        }
        let text = [&delta["content"], &delta["refusal"]]
            .into_iter()
            .find_map(|r| r.as_str().filter(|s| !s.is_empty()));
        if let Some(t) = text {
            self.ensure(Open::Text, BlockKind::Text, out);
            self.delta(Delta::Text(t.to_string()), out);
        }
        for (pos, tc) in delta["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            self.tool_delta(tc, pos as u64, out);
        }
        if let Some(fr) = choice["finish_reason"].as_str() {
            self.close_open(out);
            self.flush_unnamed(out);
            let mut stop = stop_reason(fr);
            if stop == StopReason::EndTurn && !self.tools.is_empty() {
                stop = StopReason::ToolUse;
            }
            self.stop = Some(stop);
        }
    }

    fn tool_delta(&mut self, tc: &Value, pos: u64, out: &mut Vec<Event>) {
        let idx = tc["index"].as_u64().unwrap_or(pos);
        let f = &tc["function"];
        let args = as_json_string(&f["arguments"]);
        let state = self.tools.entry(idx).or_default();
        if state.closed {
            // A fragment for a call already closed (no known server interleaves calls).
            return;
        }
        if state.id.is_none() {
            state.id = tc["id"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string);
        }
        if state.name.is_none() {
            state.name = f["name"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string);
        }
        if state.block.is_none() {
            if state.name.is_none() {
                state.pending.push_str(&args);
                return;
            }
            self.start_tool(idx, out);
        }
        if !args.is_empty() && self.open.is_some_and(|(_, o)| o == Open::Tool(idx)) {
            self.delta(Delta::ToolArgs(args), out);
        }
    }

    /// Opens the block of tool `idx` (its name is known, or the stream is finishing).
    fn start_tool(&mut self, idx: u64, out: &mut Vec<Event>) {
        self.close_open(out);
        let index = self.next_block;
        self.next_block += 1;
        let state = self.tools.entry(idx).or_default();
        state.block = Some(index);
        let call_id = state.id.clone().unwrap_or_else(synth_call_id);
        let name = state.name.clone().unwrap_or_default();
        let pending = std::mem::take(&mut state.pending);
        out.push(Event::BlockStart {
            index,
            kind: BlockKind::ToolCall { call_id, name },
        });
        self.open = Some((index, Open::Tool(idx)));
        if !pending.is_empty() {
            self.delta(Delta::ToolArgs(pending), out);
        }
    }

    /// Calls whose name never came: still deliver their arguments.
    fn flush_unnamed(&mut self, out: &mut Vec<Event>) {
        let unnamed: Vec<u64> = self
            .tools
            .iter()
            .filter(|(_, s)| s.block.is_none() && !s.closed)
            .map(|(i, _)| *i)
            .collect();
        for idx in unnamed {
            self.start_tool(idx, out);
            self.close_open(out);
        }
    }

    fn ensure(&mut self, want: Open, kind: BlockKind, out: &mut Vec<Event>) {
        if self.open.is_some_and(|(_, o)| o == want) {
            return;
        }
        self.close_open(out);
        let index = self.next_block;
        self.next_block += 1;
        out.push(Event::BlockStart { index, kind });
        self.open = Some((index, want));
    }

    fn delta(&self, delta: Delta, out: &mut Vec<Event>) {
        if let Some((index, _)) = self.open {
            out.push(Event::Delta { index, delta });
        }
    }

    fn close_open(&mut self, out: &mut Vec<Event>) {
        if let Some((index, o)) = self.open.take() {
            if let Open::Tool(idx) = o
                && let Some(s) = self.tools.get_mut(&idx)
            {
                s.closed = true;
            }
            out.push(Event::BlockStop { index });
        }
    }

    /// Closes everything and sends `Stop`.
    fn finish(&mut self, out: &mut Vec<Event>) {
        self.close_open(out);
        self.flush_unnamed(out);
        let stop = self.stop.take().unwrap_or(if self.tools.is_empty() {
            StopReason::EndTurn
        } else {
            StopReason::ToolUse
        });
        out.push(Event::Stop(stop));
        self.done = true;
    }
}

/// Turns canonical events into a Chat stream for a Chat client.
#[derive(Debug)]
pub struct StreamEncoder {
    id: String,
    created: u64,
    model: String,
    stream_usage: bool,
    origins: BTreeMap<String, ToolOrigin>,
    started: bool,
    done: bool,
    /// Block index → Chat tool-call index.
    tools: HashMap<usize, usize>,
    usage: Usage,
}

impl StreamEncoder {
    /// An encoder answering `req`.
    pub fn new(req: &Request) -> Self {
        Self {
            id: completion_id(None),
            created: unix_now(),
            model: req.model.clone(),
            stream_usage: req.stream_usage,
            origins: req.tool_origins.clone(),
            started: false,
            done: false,
            tools: HashMap::new(),
            usage: Usage::default(),
        }
    }

    fn chunk(&self, choices: Value, usage: Option<Value>, out: &mut Vec<u8>) {
        let mut c = json!({"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                           "model": self.model, "choices": choices});
        if let Some(u) = usage {
            c["usage"] = u;
        }
        data(&c, out);
    }

    fn delta(&mut self, delta: Value, finish: Option<&str>, out: &mut Vec<u8>) {
        self.chunk(
            json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]),
            None,
            out,
        );
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            self.delta(json!({"role": "assistant", "content": ""}), None, out);
        }
    }

    /// Encodes one event.
    pub fn event(&mut self, ev: &Event, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        match ev {
            Event::Start { id, .. } => {
                if let Some(id) = id.as_deref().filter(|id| id.starts_with("chatcmpl-"))
                    && !self.started
                {
                    self.id = id.to_string();
                }
                self.start(out);
            }
            Event::BlockStart { index, kind } => {
                self.start(out);
                if let BlockKind::ToolCall { call_id, name } = kind {
                    let n = self.tools.len();
                    self.tools.insert(*index, n);
                    let name = client_tool_name(&self.origins, name);
                    self.delta(
                        json!({"tool_calls": [{"index": n, "id": call_id, "type": "function",
                                               "function": {"name": name, "arguments": ""}}]}),
                        None,
                        out,
                    );
                }
            }
            Event::Delta { index, delta } => {
                self.start(out);
                match delta {
                    Delta::Text(t) if !t.is_empty() => {
                        self.delta(json!({"content": t}), None, out);
                    }
                    Delta::Reasoning(r) if !r.is_empty() => {
                        self.delta(json!({"reasoning_content": r}), None, out);
                    }
                    Delta::ToolArgs(a) if !a.is_empty() => {
                        if let Some(n) = self.tools.get(index).copied() {
                            self.delta(
                                json!({"tool_calls": [{"index": n, "function": {"arguments": a}}]}),
                                None,
                                out,
                            );
                        }
                    }
                    Delta::Text(_)
                    | Delta::Reasoning(_)
                    | Delta::ToolArgs(_)
                    | Delta::Opaque(_) => {}
                }
            }
            Event::BlockStop { .. } => {}
            Event::Usage(u) => self.usage = *u,
            Event::Stop(reason) => {
                self.start(out);
                let fr = match reason {
                    StopReason::EndTurn if !self.tools.is_empty() => "tool_calls",
                    other => finish_reason(other),
                };
                self.delta(json!({}), Some(fr), out);
                if self.stream_usage {
                    let u = usage_json(&self.usage);
                    self.chunk(json!([]), Some(u), out);
                }
                out.extend_from_slice(b"data: [DONE]\n\n");
                self.done = true;
            }
            Event::Error(e) => {
                data(&error_json(e), out);
                self.done = true;
            }
        }
    }

    /// An SSE comment: keeps idle timers of proxies and clients alive.
    pub fn heartbeat(&mut self, out: &mut Vec<u8>) {
        if !self.done {
            out.extend_from_slice(b": keep-alive\n\n");
        }
    }

    /// Ends the stream well-formed: an answer that never stopped ends with an error.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        let err = UpstreamError {
            code: ErrorCode::ServerError,
            message: "the upstream stream ended before the answer finished".into(),
            retry_after_secs: None,
            status: 502,
        };
        data(&error_json(&err), out);
        out.extend_from_slice(b"data: [DONE]\n\n");
        self.done = true;
    }
}

fn data(v: &Value, out: &mut Vec<u8>) {
    out.extend_from_slice(b"data: ");
    // Serialising a Value cannot fail.
    let _ = serde_json::to_writer(&mut *out, v);
    out.extend_from_slice(b"\n\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{Part, Response, ToolKind, events_of};
    use crate::protocols::chat::decode_response;
    use crate::protocols::chat::testutil::{decode_stream, fixture, sse_data};

    const PAIRS: &[&str] = &[
        "openai_text",
        "deepseek_reasoning",
        "vllm_parallel_tools",
        "ollama_reasoning_tool",
        "llamacpp_usage_with_finish",
    ];

    fn from_stream(name: &str) -> (Vec<Event>, Response) {
        let events = decode_stream(&fixture(&format!("{name}.sse")));
        let resp = Response::from_events(&events).expect("no error");
        (events, resp)
    }

    #[test]
    fn streams_fold_into_the_same_response_as_the_json() {
        for name in PAIRS {
            let (_, streamed) = from_stream(name);
            let whole = decode_response(fixture(&format!("{name}.json")).as_bytes()).expect("json");
            assert_eq!(streamed, whole, "{name}");
        }
    }

    #[test]
    fn tool_arguments_arrive_exactly_as_sent() {
        let (events, _) = from_stream("vllm_parallel_tools");
        let frags: Vec<Vec<String>> =
            serde_json::from_str(&fixture("vllm_parallel_tools.args.txt")).expect("frags");
        // Block 0 is the text, 1 and 2 the calls.
        for (block, want) in [(1usize, &frags[0]), (2, &frags[1])] {
            let got: Vec<&str> = events
                .iter()
                .filter_map(|e| match e {
                    Event::Delta {
                        index,
                        delta: Delta::ToolArgs(a),
                    } if *index == block => Some(a.as_str()),
                    _ => None,
                })
                .collect();
            assert_eq!(&got, want);
        }
        // Sequential blocks: text closes before the first call opens, each call before the
        // next; usage before stop, stop last.
        let shape: Vec<String> = events
            .iter()
            .filter_map(|e| match e {
                Event::Start { .. } => Some("start".to_string()),
                Event::BlockStart { index, .. } => Some(format!("+{index}")),
                Event::BlockStop { index } => Some(format!("-{index}")),
                Event::Usage(_) => Some("usage".into()),
                Event::Stop(s) => Some(format!("stop {s:?}")),
                Event::Delta { .. } => None,
                Event::Error(e) => Some(format!("error {e:?}")),
            })
            .collect();
        assert_eq!(
            shape,
            [
                "start",
                "+0",
                "-0",
                "+1",
                "-1",
                "+2",
                "-2",
                "usage",
                "stop ToolUse"
            ]
        );
    }

    #[test]
    fn usage_in_the_finish_chunk_still_precedes_stop() {
        let (events, resp) = from_stream("llamacpp_usage_with_finish");
        let n = events.len();
        assert!(matches!(events[n - 2], Event::Usage(u) if u.input == 33));
        assert_eq!(events[n - 1], Event::Stop(StopReason::EndTurn));
        assert_eq!(resp.usage.output, 5);
    }

    #[test]
    fn errors_and_cut_streams_become_error_events() {
        let events = decode_stream(&fixture("error_chunk.sse"));
        let Some(Event::Error(e)) = events.last() else {
            panic!("{events:?}")
        };
        assert_eq!(e.code, ErrorCode::ContextLengthExceeded);
        assert_eq!(e.status, 400);
        // The text block was closed before the error.
        assert!(events.contains(&Event::BlockStop { index: 0 }));

        let events = decode_stream(&fixture("cut_stream.sse"));
        let Some(Event::Error(e)) = events.last() else {
            panic!("{events:?}")
        };
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::ServerError, "stream ended before finish_reason")
        );

        let mut dec = StreamDecoder::new();
        let mut out = Vec::new();
        assert!(matches!(
            dec.push("{not json", &mut out),
            Err(Error::UpstreamFormat(_))
        ));
        let mut dec = StreamDecoder::new();
        let mut out = Vec::new();
        dec.push(r#"{"error": "upstream exploded"}"#, &mut out)
            .expect("push");
        assert!(matches!(&out[0], Event::Error(e) if e.code == ErrorCode::ServerError));
    }

    #[test]
    fn tolerates_sparse_chunks() {
        let chunks = [
            r#"{"choices": []}"#,
            r#"{"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}}]}"#,
            r#"{"choices": [{"index": 0, "delta": {"content": null, "tool_calls": [{"index": 0, "function": {"arguments": "{\"a\""}}]}}]}"#,
            r#"{"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": ":1}"}}]}}]}"#,
            r#"{"choices": [{"index": 1, "delta": {"content": "other choice"}}]}"#,
            r#"{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": null}"#,
            "[DONE]",
            r#"{"choices": [{"index": 0, "delta": {"content": "after done"}}]}"#,
        ];
        let mut dec = StreamDecoder::new();
        let mut out = Vec::new();
        for c in chunks {
            dec.push(c, &mut out).expect("push");
        }
        dec.end(&mut out);
        assert_eq!(
            out[0],
            Event::Start {
                id: None,
                model: None
            }
        );
        let resp = Response::from_events(&out).expect("ok");
        let [Part::ToolCall(c)] = resp.parts.as_slice() else {
            panic!("{:?}", resp.parts)
        };
        assert_eq!((c.name.as_str(), c.arguments.as_str()), ("f", r#"{"a":1}"#));
        assert!(c.call_id.starts_with("call_"));
        assert_eq!(resp.stop, StopReason::ToolUse);
        assert_eq!(
            out.iter().filter(|e| matches!(e, Event::Stop(_))).count(),
            1
        );
    }

    fn request(stream_usage: bool) -> Request {
        Request {
            model: "claude-sonnet-4-5".into(),
            stream: true,
            stream_usage,
            ..Request::default()
        }
    }

    fn encode_all(events: &[Event], req: &Request) -> String {
        let mut enc = StreamEncoder::new(req);
        let mut out = Vec::new();
        for e in events {
            enc.event(e, &mut out);
        }
        enc.finish(&mut out);
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn encoder_output_decodes_back() {
        for name in PAIRS {
            let original =
                decode_response(fixture(&format!("{name}.json")).as_bytes()).expect("json");
            let text = encode_all(&events_of(&original), &request(true));
            assert!(text.ends_with("data: [DONE]\n\n"), "{name}");
            let back = Response::from_events(&decode_stream(&text)).expect("ok");
            assert_eq!(back.parts, original.parts, "{name}");
            assert_eq!(back.usage, original.usage, "{name}");
            assert_eq!(back.stop, original.stop, "{name}");
            assert_eq!(back.model.as_deref(), Some("claude-sonnet-4-5"));
        }
    }

    #[test]
    fn chunks_have_the_shape_chat_clients_parse() {
        let original =
            decode_response(fixture("vllm_parallel_tools.json").as_bytes()).expect("json");
        let text = encode_all(&events_of(&original), &request(true));
        let chunks: Vec<Value> = sse_data(&text)
            .iter()
            .filter(|d| *d != "[DONE]")
            .map(|d| serde_json::from_str(d).expect("chunk json"))
            .collect();
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        let id = chunks[0]["id"].as_str().expect("id");
        assert!(id.starts_with("chatcmpl-"));
        for c in &chunks {
            assert_eq!(c["id"], id);
            assert_eq!(c["object"], "chat.completion.chunk");
        }
        let first_call = chunks
            .iter()
            .find(|c| c["choices"][0]["delta"]["tool_calls"].is_array())
            .expect("a call");
        assert_eq!(
            first_call["choices"][0]["delta"]["tool_calls"][0],
            json!({"index": 0, "id": "chatcmpl-tool-a1b2c3", "type": "function",
                   "function": {"name": "exec_command", "arguments": ""}})
        );
        let n = chunks.len();
        assert_eq!(chunks[n - 2]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(chunks[n - 1]["choices"], json!([]));
        assert_eq!(chunks[n - 1]["usage"]["prompt_tokens"], 3120);
        assert_eq!(
            chunks[n - 1]["usage"]["prompt_tokens_details"]["cached_tokens"],
            2048
        );
    }

    #[test]
    fn usage_chunk_only_when_asked() {
        let original = decode_response(fixture("openai_text.json").as_bytes()).expect("json");
        let with = encode_all(&events_of(&original), &request(true));
        let without = encode_all(&events_of(&original), &request(false));
        assert!(with.contains("\"choices\":[]"));
        assert!(with.contains("\"prompt_tokens\":1210"));
        assert!(!without.contains("\"usage\""), "{without}");
        assert!(without.ends_with("data: [DONE]\n\n"));
        let back = Response::from_events(&decode_stream(&without)).expect("ok");
        assert_eq!(back.usage, Usage::default());
        assert_eq!(back.parts, original.parts);
    }

    #[test]
    fn reasoning_goes_out_as_reasoning_content() {
        let original =
            decode_response(fixture("deepseek_reasoning.json").as_bytes()).expect("json");
        let text = encode_all(&events_of(&original), &request(false));
        assert!(text.contains(r#""delta":{"reasoning_content":"The user asks 2+2. That is 4."}"#));
    }

    #[test]
    fn heartbeats_errors_and_unfinished_streams() {
        let req = request(true);
        let mut enc = StreamEncoder::new(&req);
        let mut out = Vec::new();
        enc.heartbeat(&mut out);
        assert_eq!(out, b": keep-alive\n\n");
        enc.event(
            &Event::Start {
                id: Some("msg_123".into()),
                model: None,
            },
            &mut out,
        );
        enc.event(
            &Event::Error(UpstreamError {
                code: ErrorCode::RateLimit,
                message: "slow".into(),
                retry_after_secs: Some(2),
                status: 429,
            }),
            &mut out,
        );
        let before = out.len();
        enc.event(&Event::Stop(StopReason::EndTurn), &mut out);
        enc.heartbeat(&mut out);
        enc.finish(&mut out);
        assert_eq!(out.len(), before, "nothing after an error");
        let data = sse_data(&String::from_utf8(out).expect("utf8"));
        let err: Value = serde_json::from_str(&data[1]).expect("json");
        assert_eq!(err["error"]["code"], "rate_limit_exceeded");
        assert_eq!(err["error"]["message"], "slow");

        let mut enc = StreamEncoder::new(&req);
        let mut out = Vec::new();
        enc.event(
            &Event::BlockStart {
                index: 0,
                kind: BlockKind::Text,
            },
            &mut out,
        );
        enc.finish(&mut out);
        let data = sse_data(&String::from_utf8(out).expect("utf8"));
        assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
        let err: Value = serde_json::from_str(&data[data.len() - 2]).expect("json");
        assert_eq!(err["error"]["code"], "server_error");
        // Our own decoder reads the encoder's error chunk as an error.
        let events = decode_stream(&format!(
            "data: {}\n\ndata: {}\n\n",
            data[0],
            data[data.len() - 2]
        ));
        assert!(matches!(events.last(), Some(Event::Error(e)) if e.code == ErrorCode::ServerError));
    }

    #[test]
    fn flattened_names_are_restored_in_streams() {
        let mut req = request(false);
        req.tool_origins.insert(
            "my_tool_1234abcd".into(),
            ToolOrigin {
                namespace: None,
                name: "my.tool".into(),
                kind: ToolKind::Function,
            },
        );
        let events = [
            Event::BlockStart {
                index: 0,
                kind: BlockKind::ToolCall {
                    call_id: "c1".into(),
                    name: "my_tool_1234abcd".into(),
                },
            },
            Event::Delta {
                index: 0,
                delta: Delta::ToolArgs("{}".into()),
            },
            Event::BlockStop { index: 0 },
            Event::Stop(StopReason::EndTurn),
        ];
        let text = encode_all(&events, &req);
        assert!(text.contains(r#""name":"my.tool""#), "{text}");
        assert!(text.contains(r#""finish_reason":"tool_calls""#), "{text}");
    }

    #[test]
    fn never_panics_on_truncated_or_odd_input() {
        use crate::protocols::chat::{decode_error, decode_request};
        let files = [
            "openai_text.sse",
            "openai_text.json",
            "vllm_parallel_tools.sse",
            "vllm_parallel_tools.json",
            "deepseek_reasoning.sse",
            "ollama_reasoning_tool.sse",
            "client_request_tools.json",
            "error_chunk.sse",
        ];
        for name in files {
            let text = fixture(name);
            let cuts = (0..text.len()).filter(|i| text.is_char_boundary(*i));
            for cut in cuts.step_by(5) {
                let part = &text[..cut];
                let _ = decode_response(part.as_bytes());
                let _ = decode_error(400, None, part.as_bytes());
                let _ = decode_request(part.as_bytes());
                let mut dec = StreamDecoder::new();
                let mut out = Vec::new();
                for d in sse_data(part) {
                    let _ = dec.push(&d, &mut out);
                }
                dec.end(&mut out);
                let _ = Response::from_events(&out);
            }
        }
        let odd = [
            json!(null),
            json!(1),
            json!("x"),
            json!({"choices": 5, "usage": "many"}),
            json!({"choices": [{"delta": {"tool_calls": "x", "content": 3}}]}),
            json!({"choices": [{"delta": {"tool_calls": [{"index": -1, "function": 3}, 7]}}]}),
            json!({"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{"}}]}, "finish_reason": 9}]}),
            json!({"choices": [{"index": 0, "finish_reason": "weird"}], "usage": {"prompt_tokens": -1}}),
            json!({"error": {"code": 99999, "message": null}}),
        ];
        let mut dec = StreamDecoder::new();
        let mut out = Vec::new();
        for v in &odd {
            let _ = dec.push(&v.to_string(), &mut out);
            let _ = decode_response(v.to_string().as_bytes());
            let _ = decode_request(v.to_string().as_bytes());
        }
        dec.end(&mut out);
        for body in [
            json!({"model": "m", "messages": [1, "x", {"role": 5}]}),
            json!({"model": "m", "messages": [{"role": "user", "content": [1, {"type": 2}]}]}),
            json!({"model": "m", "messages": [{"role": "assistant", "tool_calls": [1, {"function": 2}]}], "tools": [1, {"type": "function"}], "tool_choice": 3}),
        ] {
            let _ = decode_request(body.to_string().as_bytes());
        }
    }
}
