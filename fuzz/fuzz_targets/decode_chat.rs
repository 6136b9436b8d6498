//! Inbound decoding of a Chat Completions request on arbitrary bytes: an error or a request, never a panic;
//! a decoded request also encodes for every upstream protocol without panicking.
#![no_main]
use bifrost::protocols::{ModelInfo, Protocol};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = Protocol::Chat.decode_request(data) {
        let info = ModelInfo::default();
        for wire in [Protocol::Chat, Protocol::Anthropic, Protocol::Gemini] {
            let _ = wire.encode_request(&req, "m", &info);
        }
    }
});
