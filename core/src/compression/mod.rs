//! Record dictionaries: a few kilobytes of a store's own records that its other records are
//! compressed against (record format 5, decision 0032).
//!
//! A record of a calendar repeats what its neighbours hold (the calendar id, the zone, the
//! organizer, the status, field codes, the writer's replica id): LZ4 with such a dictionary
//! stores a 244-byte event of the benchmark in about 56 bytes, 12 of them the record's
//! envelope, where LZ4 or DEFLATE alone gain a few percent on so short an input.
//!
//! Dictionaries are immutable and named by the CRC-32C of their bytes, so a blob names the
//! dictionary it needs without naming its store. Each store keeps its dictionaries in its own
//! file (`record_dictionaries`) and loads them here, into one registry for the process, when a
//! record names one that is not loaded yet; codec then reads a record with nothing but its
//! bytes. Two different dictionaries with the same name are both kept: the record's checksum,
//! computed over the uncompressed payload, says which one it was written with.

mod block;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use block::DictionaryIndex;

/// The most bytes of records a dictionary holds. LZ4 reaches 64 KiB back; 4 KiB stored the W1
/// store's events in 33.8 B each against 37.6 B with 1 KiB (decision 0032). A dictionary is
/// indexed once (decision 0038), so its size no longer costs every record written; 16 KiB
/// was tried and not kept (decision 0038: every store pays it in full).
pub const DICTIONARY_LIMIT: usize = 4096;

/// A store's record dictionary.
pub struct RecordDictionary {
    id: u32,
    bytes: Vec<u8>,
    /// Where each 4-byte sequence of `bytes` is, computed once (decision 0038).
    index: DictionaryIndex,
}

impl std::fmt::Debug for RecordDictionary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordDictionary")
            .field("id", &self.id)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl PartialEq for RecordDictionary {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.bytes == other.bytes
    }
}

impl Eq for RecordDictionary {}

impl RecordDictionary {
    /// A dictionary of `bytes`, named by their CRC-32C.
    pub fn new(bytes: Vec<u8>) -> RecordDictionary {
        RecordDictionary::named(crc32c::crc32c(&bytes), bytes)
    }

    /// A dictionary under a name of the caller's choosing (tests of two dictionaries sharing
    /// a name).
    pub(crate) fn named(id: u32, bytes: Vec<u8>) -> RecordDictionary {
        let index = DictionaryIndex::new(&bytes);
        RecordDictionary { id, bytes, index }
    }

    /// Its name in the blobs compressed against it.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Its bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// `payload` compressed against this dictionary (an LZ4 block). Each block of the own
    /// encoder is decoded again before it is returned; should one ever not give `payload`
    /// back, `lz4_flex`'s encoder writes it instead, so a stored record is always readable.
    pub fn compress(&self, payload: &[u8]) -> Vec<u8> {
        let block = block::compress(payload, &self.bytes, &self.index);
        if self.decompress(&block, payload.len()).as_deref() == Some(payload) {
            block
        } else {
            lz4_flex::block::compress_with_dict(payload, &self.bytes)
        }
    }

    /// The `length` bytes `block` was compressed from, or `None` when `block` is not an LZ4
    /// block of exactly that many bytes against this dictionary (damage, or another
    /// dictionary of the same name).
    pub fn decompress(&self, block: &[u8], length: usize) -> Option<Vec<u8>> {
        lz4_flex::block::decompress_with_dict(block, length, &self.bytes)
            .ok()
            .filter(|payload| payload.len() == length)
    }
}

type Registry = RwLock<HashMap<u32, Vec<Arc<RecordDictionary>>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

/// Makes `dictionary` available to every record read in this process (once per content).
pub fn register(dictionary: &Arc<RecordDictionary>) {
    let mut registry = registry().write().unwrap_or_else(PoisonError::into_inner);
    let named = registry.entry(dictionary.id).or_default();
    if !named.iter().any(|known| known.bytes == dictionary.bytes) {
        named.push(Arc::clone(dictionary));
    }
}

/// The dictionaries registered under `id` (usually one; none when no store holding it has
/// been read in this process yet).
pub fn registered(id: u32) -> Vec<Arc<RecordDictionary>> {
    let registry = registry().read().unwrap_or_else(PoisonError::into_inner);
    registry.get(&id).cloned().unwrap_or_default()
}

/// Whether a dictionary named `id` is registered.
pub fn is_registered(id: u32) -> bool {
    let registry = registry().read().unwrap_or_else(PoisonError::into_inner);
    registry.contains_key(&id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_comes_back_only_with_its_own_dictionary_and_length() {
        let dictionary =
            RecordDictionary::new(b"Europe/Paris mailto:me@example.com CONFIRMED".to_vec());
        let other =
            RecordDictionary::new(b"America/New_York mailto:you@example.org TENTATIVE".to_vec());
        let payload = b"CONFIRMED at Europe/Paris by mailto:me@example.com".to_vec();
        let block = dictionary.compress(&payload);
        assert!(block.len() < payload.len() / 2, "{} of {} bytes", block.len(), payload.len());
        assert_eq!(dictionary.decompress(&block, payload.len()), Some(payload.clone()));
        assert_ne!(other.decompress(&block, payload.len()), Some(payload.clone()));
        assert_eq!(dictionary.decompress(&block, payload.len() + 1), None);
    }

    #[test]
    fn dictionaries_are_registered_once_per_content_even_under_one_name() {
        let first = Arc::new(RecordDictionary::new(b"registered once".to_vec()));
        register(&first);
        register(&Arc::new(RecordDictionary::new(b"registered once".to_vec())));
        assert_eq!(registered(first.id()).len(), 1);
        // A different dictionary that happens to share the name is kept beside it.
        let twin = Arc::new(RecordDictionary::named(first.id(), b"another".to_vec()));
        register(&twin);
        assert_eq!(registered(first.id()).len(), 2);
        assert!(is_registered(first.id()));
    }
}
