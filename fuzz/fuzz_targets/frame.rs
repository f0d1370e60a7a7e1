//! A frame exactly as it arrives from the network: decoding must return a message or an
//! error, never panic or allocate without bound. Most inputs fail the checksum; the
//! `frame_payload` target explores what lies behind it.
#![no_main]

use almanac_core::sync::Message;
use libfuzzer_sys::fuzz_target;

/// What a session allows a chunk to expand to (8 × its 1 MiB frame limit).
const UNPACK_LIMIT: usize = 8 << 20;

fuzz_target!(|data: &[u8]| {
    if let Ok(Message::Chunk(chunk)) = Message::decode(data) {
        let _ = chunk.records.unpack(UNPACK_LIMIT);
    }
});
