//! The config parser and checker on arbitrary text: errors with positions, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = bifrost::config::check_text(text);
    if let Ok(loaded) = bifrost::config::Loaded::from_text(text) {
        let _ = loaded.resolve(&|_| Some("sk-fuzz-key".to_string()));
    }
});
