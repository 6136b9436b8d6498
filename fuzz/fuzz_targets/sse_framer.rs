//! `sse::Framer`: any split of the input yields the same events as one push, and `data` and
//! `responses_event_type` never panic on what comes out.
#![no_main]
use bifrost::sse;
use libfuzzer_sys::fuzz_target;

fn frames(chunks: &[&[u8]]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut f = sse::Framer::default();
    let mut out = Vec::new();
    for c in chunks {
        f.push(c, |e| out.push(e.to_vec()));
    }
    (out, f.remainder().to_vec())
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, body)) = data.split_first() else {
        return;
    };
    let whole = frames(&[body]);
    let chunks: Vec<&[u8]> = body.chunks(usize::from(step).max(1)).collect();
    assert_eq!(frames(&chunks), whole);
    for ev in &whole.0 {
        if let Some(d) = sse::data(ev) {
            let _ = sse::responses_event_type(&d);
        }
    }
});
