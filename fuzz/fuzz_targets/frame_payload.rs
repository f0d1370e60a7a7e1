//! The input as the payload of a well-formed frame (format byte and CRC-32C fixed up),
//! so the fuzzer reaches the message decoder and a chunk's decompression instead of stopping
//! at the checksum. Also read as length-prefixed stream framing.
#![no_main]

use almanac_core::sync::Message;
use almanac_core::sync::transport::read_frame;
use libfuzzer_sys::fuzz_target;

const UNPACK_LIMIT: usize = 8 << 20;
/// `codec::FRAME_FORMAT`, the envelope of sync frames since protocol 2 (docs/encoding.md).
const FORMAT: u8 = 3;

fuzz_target!(|data: &[u8]| {
    let mut frame = vec![FORMAT];
    frame.extend_from_slice(data);
    let checksum = crc32c::crc32c(&frame);
    frame.extend_from_slice(&checksum.to_le_bytes());
    if let Ok(Message::Chunk(chunk)) = Message::decode(&frame) {
        let _ = chunk.records.unpack(UNPACK_LIMIT);
    }
    let mut stream = data;
    while let Ok(Some(_)) = read_frame(&mut stream, 1 << 20) {}
});
