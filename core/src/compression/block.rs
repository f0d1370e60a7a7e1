//! An LZ4 block encoder for short records against a fixed dictionary (decision 0038).
//!
//! `lz4_flex` indexes the dictionary again for every block it compresses: for a record of a
//! few hundred bytes against a 4 KiB dictionary, allocating, zeroing and filling that hash
//! table was four fifths of the work. Here the dictionary is indexed once, when it is loaded
//! ([`DictionaryIndex`], read-only afterwards), and each block indexes only its own bytes, in a
//! table sized to the block. The output is an ordinary LZ4 block (the format of the LZ4 block
//! specification, read by `lz4_flex`'s decoder); the caller checks each block by decoding it
//! before using it.
//!
//! The encoder is greedy: at each position it looks up the last place the next four bytes
//! were seen earlier in the input, then in the dictionary, and takes the first match of at
//! least four bytes. Matches found in the dictionary stop at its end, so no match straddles
//! dictionary and input.

use std::cell::RefCell;

/// log2 of the number of entries of a dictionary's hash table, and the most of a block's.
const HASH_BITS: u32 = 12;

/// log2 of the fewest entries of a block's own hash table.
const MIN_BLOCK_HASH_BITS: u32 = 8;

/// The shortest match LZ4 can express.
const MIN_MATCH: usize = 4;

/// The last match must start at least this many bytes before the end of the block.
const MATCH_START_MARGIN: usize = 12;

/// The last this many bytes of a block are always literals.
const LAST_LITERALS: usize = 5;

/// The farthest back a match can reach (a 16-bit offset).
const MAX_OFFSET: usize = u16::MAX as usize;

fn hash(four_bytes: u32, bits: u32) -> usize {
    (four_bytes.wrapping_mul(2_654_435_761) >> (32 - bits)) as usize
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Where each 4-byte sequence of a dictionary was last seen: entry `hash` holds the position
/// plus one (0: never seen), positions counted in the stream the decoder sees, the dictionary
/// followed by the block's own bytes.
pub struct DictionaryIndex {
    table: Box<[u32]>,
}

impl DictionaryIndex {
    /// Indexes every position of `dictionary` (at most 64 KiB: farther bytes cannot be reached).
    pub fn new(dictionary: &[u8]) -> DictionaryIndex {
        let mut table = vec![0u32; 1 << HASH_BITS].into_boxed_slice();
        let reachable = dictionary.len().min(MAX_OFFSET);
        let start = dictionary.len() - reachable;
        if reachable >= MIN_MATCH {
            for position in start..=dictionary.len() - MIN_MATCH {
                // Later positions overwrite earlier ones: nearer matches, smaller offsets.
                table[hash(read_u32(dictionary, position), HASH_BITS)] = position as u32 + 1;
            }
        }
        DictionaryIndex { table }
    }
}

/// A block's own hash table, kept between blocks on each thread. Entries hold positions plus
/// `epoch` plus one, and `epoch` moves past every block compressed, so an entry written for an
/// earlier block reads as empty: the table is neither allocated nor cleared per block
/// (allocating it cost about 3,700 instructions per record, a sixth of compressing one, and
/// zeroing a table on the stack as much; decision 0039).
struct BlockTable {
    entries: Vec<u32>,
    epoch: u32,
}

thread_local! {
    static BLOCK_TABLE: RefCell<BlockTable> =
        RefCell::new(BlockTable { entries: vec![0; 1 << HASH_BITS], epoch: 0 });
}

/// `input` as an LZ4 block against `dictionary`, which `index` indexes.
pub fn compress(input: &[u8], dictionary: &[u8], index: &DictionaryIndex) -> Vec<u8> {
    let Ok(span) = u32::try_from(input.len() + 1) else {
        // Beyond what positions in the table can name (never a record): a table of its own.
        return compress_with(input, dictionary, index, &mut vec![0; 1 << HASH_BITS], 0);
    };
    BLOCK_TABLE.with(|table| {
        let Ok(mut table) = table.try_borrow_mut() else {
            return compress_with(input, dictionary, index, &mut vec![0; 1 << HASH_BITS], 0);
        };
        let epoch = table.claim(span);
        compress_with(input, dictionary, index, &mut table.entries, epoch)
    })
}

impl BlockTable {
    /// The epoch for a block of `span - 1` bytes; the table is cleared once the epochs run out.
    fn claim(&mut self, span: u32) -> u32 {
        if self.epoch.checked_add(span).is_none() {
            self.entries.fill(0);
            self.epoch = 0;
        }
        let epoch = self.epoch;
        self.epoch += span;
        epoch
    }
}

/// `compress` with the block's table: entries above `epoch` are this block's.
fn compress_with(
    input: &[u8],
    dictionary: &[u8],
    index: &DictionaryIndex,
    table: &mut [u32],
    epoch: u32,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 255 + 16);
    if input.len() < MATCH_START_MARGIN + 1 {
        literals_only(&mut out, input);
        return out;
    }
    // The block's own positions (plus one; 0: none), about one entry per byte.
    let bits =
        input.len().next_power_of_two().trailing_zeros().clamp(MIN_BLOCK_HASH_BITS, HASH_BITS);
    let recent = &mut table[..1 << bits];
    let base = dictionary.len();
    let match_starts_before = input.len() - MATCH_START_MARGIN;
    let match_ends_by = input.len() - LAST_LITERALS;
    let (mut anchor, mut at) = (0usize, 0usize);
    while at < match_starts_before {
        let four = read_u32(input, at);
        let slot = hash(four, bits);
        let earlier = recent[slot].saturating_sub(epoch) as usize;
        recent[slot] = epoch + at as u32 + 1;
        let mut found = None;
        if earlier != 0 && at + 1 - earlier <= MAX_OFFSET {
            let length = common_prefix_within(input, earlier - 1, at, match_ends_by);
            if length >= MIN_MATCH {
                found = Some((at + 1 - earlier, length));
            }
        }
        if found.is_none() {
            let seen = index.table[hash(four, HASH_BITS)] as usize;
            if seen != 0 && base + at + 1 - seen <= MAX_OFFSET {
                let length = common_prefix(&dictionary[seen - 1..], &input[at..match_ends_by]);
                if length >= MIN_MATCH {
                    found = Some((base + at + 1 - seen, length));
                }
            }
        }
        match found {
            Some((offset, length)) => {
                sequence(&mut out, &input[anchor..at], offset as u16, length);
                at += length;
                anchor = at;
            }
            None => at += 1,
        }
    }
    literals_only(&mut out, &input[anchor..]);
    out
}

/// How many leading bytes `a` and `b` share.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// How many bytes from `earlier` repeat those from `at` (`earlier < at`), stopping at `end`.
/// The two runs may overlap: the decoder copies byte by byte, as this reads.
fn common_prefix_within(input: &[u8], earlier: usize, at: usize, end: usize) -> usize {
    (0..end - at).take_while(|k| input[earlier + k] == input[at + k]).count()
}

/// One sequence: `literals`, then a match of `length` bytes `offset` bytes back.
fn sequence(out: &mut Vec<u8>, literals: &[u8], offset: u16, length: usize) {
    let extra = length - MIN_MATCH;
    out.push(nibble(literals.len()) << 4 | nibble(extra));
    if literals.len() >= 15 {
        length_bytes(out, literals.len() - 15);
    }
    out.extend_from_slice(literals);
    out.extend_from_slice(&offset.to_le_bytes());
    if extra >= 15 {
        length_bytes(out, extra - 15);
    }
}

/// The block's last sequence: literals and no match.
fn literals_only(out: &mut Vec<u8>, literals: &[u8]) {
    out.push(nibble(literals.len()) << 4);
    if literals.len() >= 15 {
        length_bytes(out, literals.len() - 15);
    }
    out.extend_from_slice(literals);
}

fn nibble(length: usize) -> u8 {
    length.min(15) as u8
}

/// A length beyond the token's 15, as LZ4 writes it: bytes of 255, then the rest.
fn length_bytes(out: &mut Vec<u8>, mut rest: usize) {
    while rest >= 255 {
        out.push(255);
        rest -= 255;
    }
    out.push(rest as u8);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn round_trip(input: &[u8], dictionary: &[u8]) -> Vec<u8> {
        let block = compress(input, dictionary, &DictionaryIndex::new(dictionary));
        let back = lz4_flex::block::decompress_with_dict(&block, input.len(), dictionary)
            .expect("a valid LZ4 block");
        assert_eq!(back, input);
        block
    }

    #[test]
    fn matches_in_the_dictionary_and_in_the_input_shrink_a_record() {
        let dictionary = b"title Weekly sync location Room 4 status CONFIRMED Europe/Paris";
        let input = b"title Planning location Room 4 status CONFIRMED Europe/Paris aaaaaaaaaaaaaaaaaaaaaaaa end";
        let block = round_trip(input, dictionary);
        assert!(block.len() < input.len() / 2, "{} of {} bytes", block.len(), input.len());
    }

    /// Entries a table holds from earlier blocks (at or below the epoch) read as empty: the
    /// block is the one a fresh table gives. When the epochs run out, the table is cleared.
    #[test]
    fn a_table_reused_between_blocks_gives_the_blocks_of_a_fresh_one() {
        let dictionary: Vec<u8> = (0..600u32).map(|i| (i * 7 % 13) as u8).collect();
        let index = DictionaryIndex::new(&dictionary);
        let input: Vec<u8> = (0..700u32).map(|i| (i * 5 % 11) as u8).collect();
        let fresh = compress_with(&input, &dictionary, &index, &mut vec![0; 1 << HASH_BITS], 0);
        let epoch = 1_000_000;
        let mut stale: Vec<u32> = (0..1u32 << HASH_BITS).map(|i| i * 37 % epoch + 1).collect();
        let reused = compress_with(&input, &dictionary, &index, &mut stale, epoch);
        assert_eq!(reused, fresh);
        let mut table = BlockTable { entries: vec![7; 4], epoch: u32::MAX - 10 };
        assert_eq!(table.claim(5), u32::MAX - 10);
        assert_eq!(table.claim(11), 0, "cleared when the epochs run out");
        assert_eq!(table.entries, [0; 4]);
        assert_eq!(table.claim(3), 11);
    }

    #[test]
    fn edge_lengths_round_trip() {
        for n in [0, 1, 4, 12, 13, 14, 15, 16, 19, 20, 270, 271, 600] {
            let input: Vec<u8> = (0..n).map(|i| (i % 7) as u8).collect();
            round_trip(&input, b"");
            round_trip(&input, &[0, 1, 2, 3, 4, 5, 6, 0, 1, 2]);
        }
    }

    #[test]
    fn long_inputs_reach_past_the_dictionary_only_within_64_kib() {
        let dictionary: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut input = dictionary[..300].to_vec();
        input.extend((0..70_000u32).map(|i| (i * 13 % 253) as u8));
        input.extend_from_slice(&dictionary[..300]);
        round_trip(&input, &dictionary);
    }

    proptest! {
        /// Any input against any dictionary comes back exactly through `lz4_flex`'s decoder.
        #[test]
        fn every_block_decodes_to_its_input(
            dictionary in proptest::collection::vec(0u8..6, 0..600),
            input in proptest::collection::vec(0u8..6, 0..900),
            repeat in 0usize..3,
        ) {
            let mut input = input;
            // Runs copied from the dictionary, as records repeat their neighbours' bytes.
            for _ in 0..repeat {
                let take = dictionary.len().min(40);
                input.extend_from_slice(&dictionary[..take]);
            }
            round_trip(&input, &dictionary);
        }
    }
}
