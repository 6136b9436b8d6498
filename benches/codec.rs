//! Codec microbenchmarks (criterion): a ~50 KB Codex request peeked as the passthrough does,
//! parsed, translated and serialised (Responses → canonical → Anthropic JSON), and a
//! 500-event Anthropic stream translated into Responses SSE. Run: `cargo bench --bench codec`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use bifrost::protocols::{anthropic, responses};

/// The turn-1 Codex request padded with earlier turns to about `kb` KB, as a long session
/// would have.
fn codex_request(kb: usize) -> Vec<u8> {
    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/codex/request_turn1_gpt55.json"
    ))
    .expect("fixture");
    let mut req: serde_json::Value = serde_json::from_slice(&fixture).expect("json");
    req["model"] = serde_json::json!("claude-sonnet-4-5");
    req["stream"] = serde_json::json!(true);
    let mut turn = 0;
    while serde_json::to_vec(&req).map(|v| v.len()).unwrap_or(0) < kb * 1024 {
        turn += 1;
        let (role, kind) = if turn % 2 == 0 {
            ("user", "input_text")
        } else {
            ("assistant", "output_text")
        };
        if let Some(input) = req["input"].as_array_mut() {
            input.push(serde_json::json!({"type": "message", "role": role,
                "content": [{"type": kind, "text": "Earlier turn of the session: ".repeat(20)}]}));
        }
    }
    serde_json::to_vec(&req).expect("ser")
}

/// The `data:` payloads of an Anthropic stream with `events` text deltas.
fn anthropic_stream(events: usize) -> Vec<String> {
    let mut v = vec![
        r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":1000,"cache_read_input_tokens":4000,"cache_creation_input_tokens":0,"output_tokens":1}}}"#.to_string(),
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#.to_string(),
    ];
    for i in 0..events {
        v.push(format!(
            r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":"token{i} "}}}}"#
        ));
    }
    v.push(r#"{"type":"content_block_stop","index":0}"#.to_string());
    v.push(r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":500}}"#.to_string());
    v.push(r#"{"type":"message_stop"}"#.to_string());
    v
}

fn request(c: &mut Criterion) {
    let body = codex_request(50);
    let info = bifrost::catalog::lookup("anthropic", "claude-sonnet-4-5");
    let mut g = c.benchmark_group("request_50kb");
    g.throughput(Throughput::Bytes(body.len() as u64));
    // What the passthrough does to a body: the validating scan for its top-level fields.
    g.bench_function("peek_passthrough", |b| {
        b.iter(|| bifrost::gateway::peek(black_box(&body)).expect("peek"))
    });
    g.bench_function("decode_responses", |b| {
        b.iter(|| responses::decode_request(black_box(&body)).expect("decode"))
    });
    let req = responses::decode_request(&body).expect("decode");
    g.bench_function("encode_anthropic", |b| {
        b.iter(|| {
            anthropic::encode_request(black_box(&req), "claude-sonnet-4-5", &info).expect("enc")
        })
    });
    g.bench_function("responses_to_anthropic", |b| {
        b.iter(|| {
            let req = responses::decode_request(black_box(&body)).expect("decode");
            anthropic::encode_request(&req, "claude-sonnet-4-5", &info).expect("enc")
        })
    });
    g.finish();
}

fn stream(c: &mut Criterion) {
    let body = codex_request(50);
    let req = responses::decode_request(&body).expect("decode");
    let events = anthropic_stream(500);
    let mut g = c.benchmark_group("stream_500_events");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("anthropic_to_responses_sse", |b| {
        b.iter(|| {
            let mut dec = anthropic::StreamDecoder::new();
            let mut enc = responses::StreamEncoder::new(&req);
            let mut canon = Vec::new();
            let mut out = Vec::with_capacity(128 * 1024);
            for data in &events {
                dec.push(black_box(data), &mut canon).expect("push");
                for ev in canon.drain(..) {
                    enc.event(&ev, &mut out);
                }
            }
            dec.end(&mut canon);
            for ev in canon.drain(..) {
                enc.event(&ev, &mut out);
            }
            enc.finish(&mut out);
            out
        })
    });
    g.finish();
}

criterion_group!(benches, request, stream);
criterion_main!(benches);
