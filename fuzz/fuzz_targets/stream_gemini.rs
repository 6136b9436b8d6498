//! The Gemini upstream stream: arbitrary bytes, split into chunks by the first byte, through
//! `sse::Framer` and the stream decoder, then a Responses encoder; never a panic.
#![no_main]
use bifrost::canonical::Request;
use bifrost::protocols::Protocol;
use bifrost::sse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&step, body)) = data.split_first() else {
        return;
    };
    let step = usize::from(step).max(1);
    let mut framer = sse::Framer::with_limit(1 << 16);
    let mut decoder = Protocol::Gemini.stream_decoder();
    let mut encoder = Protocol::Responses.stream_encoder(&Request::default());
    let mut events = Vec::new();
    for chunk in body.chunks(step) {
        framer.push(chunk, |ev| {
            if let Some(d) = sse::data(ev) {
                let _ = decoder.push(&d, &mut events);
            }
        });
    }
    decoder.end(&mut events);
    let mut out = Vec::new();
    for ev in &events {
        encoder.event(ev, &mut out);
    }
    encoder.finish(&mut out);
});
