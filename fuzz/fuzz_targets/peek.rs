//! `gateway::peek` (routing's partial parse) on arbitrary bytes: never panics, and any range it
//! reports lies inside the body.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = bifrost::gateway::peek(data) {
        if let Some((_, r)) = &p.model {
            assert!(r.end <= data.len());
        }
        if let Some(r) = &p.tools {
            assert!(r.end <= data.len());
        }
    }
});
