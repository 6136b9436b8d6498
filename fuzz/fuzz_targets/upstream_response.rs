//! Whole upstream answers and error bodies of every provider protocol on arbitrary bytes.
#![no_main]
use bifrost::canonical::Request;
use bifrost::protocols::Protocol;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for p in [Protocol::Chat, Protocol::Anthropic, Protocol::Gemini] {
        if let Ok(resp) = p.decode_response(data) {
            for client in [Protocol::Responses, Protocol::Chat, Protocol::Anthropic] {
                let _ = client.encode_response(&resp, &Request::default());
            }
        }
        let _ = p.decode_error(500, None, data);
    }
});
