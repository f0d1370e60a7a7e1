//! Reads that share one read transaction (decision 0052).
//!
//! Every read of a [`Store`](super::Store) runs in its own read transaction on a pooled
//! connection, and SQLite takes and releases its file and log-index locks for each: one
//! `fcntl` call after another. A sync session answers each frame with a handful of small
//! reads of bookkeeping (is the space held, what was staged from the peer, which vectors were
//! exchanged): a one-field sync made 24 read transactions. While a thread runs
//! [`Store::reading`](super::Store::reading), its reads share one transaction instead, begun
//! at the first of them. A write on that thread ends it first, so whatever the thread reads
//! after its own write includes it; the next read begins a new one.
//!
//! Reads that share a transaction see the store as it was at the first of them: as if they
//! all ran at that moment, which is what a caller that reads one thing after another could
//! have seen anyway. Other threads are unaffected (they do not share this thread's reads).

use std::collections::HashMap;
use std::thread::ThreadId;

use super::Reader;

/// The threads running [`Store::reading`](super::Store::reading), each with how deeply it is
/// nested and the reader whose transaction its reads share, once one read ran.
#[derive(Default)]
pub(super) struct SharedReads {
    threads: HashMap<ThreadId, Shared>,
    /// How many reads ran in a transaction an earlier read began (for tests).
    #[cfg(test)]
    pub(super) joined: usize,
}

struct Shared {
    depth: usize,
    reader: Option<Reader>,
}

/// What a read on a thread finds (see [`SharedReads::take`]).
pub(super) enum Found {
    /// The thread is not sharing its reads: the read runs its own transaction.
    Alone,
    /// The thread shares its reads and none is open: the read begins the shared one.
    NotBegun,
    /// The reader whose transaction is open for the thread's reads.
    Open(Reader),
}

impl SharedReads {
    /// The thread starts (or nests) sharing its reads.
    pub(super) fn enter(&mut self, thread: ThreadId) {
        self.threads.entry(thread).or_insert(Shared { depth: 0, reader: None }).depth += 1;
    }

    /// The thread leaves one level; when it leaves the last, the reader whose transaction is
    /// open (if any) is handed back, to be ended.
    pub(super) fn leave(&mut self, thread: ThreadId) -> Option<Reader> {
        let shared = self.threads.get_mut(&thread)?;
        shared.depth -= 1;
        if shared.depth > 0 {
            return None;
        }
        self.threads.remove(&thread).and_then(|shared| shared.reader)
    }

    /// What a read on `thread` uses; an open reader is taken out while the read runs.
    pub(super) fn take(&mut self, thread: ThreadId) -> Found {
        match self.threads.get_mut(&thread) {
            None => Found::Alone,
            Some(shared) => match shared.reader.take() {
                None => Found::NotBegun,
                Some(reader) => {
                    #[cfg(test)]
                    {
                        self.joined += 1;
                    }
                    Found::Open(reader)
                }
            },
        }
    }

    /// Puts back the reader of a read that ran while `thread` shares its reads, its
    /// transaction still open. Hands back what must be ended: the reader itself when the
    /// thread no longer shares, or one a nested read left there meanwhile.
    pub(super) fn put(&mut self, thread: ThreadId, reader: Reader) -> Option<Reader> {
        match self.threads.get_mut(&thread) {
            None => Some(reader),
            Some(shared) => shared.reader.replace(reader),
        }
    }

    /// How many threads share their reads now.
    #[cfg(test)]
    pub(super) fn threads_sharing(&self) -> usize {
        self.threads.len()
    }

    /// Takes out the reader whose transaction is open for `thread`, to be ended before the
    /// thread writes; the thread goes on sharing its later reads.
    pub(super) fn take_open(&mut self, thread: ThreadId) -> Option<Reader> {
        self.threads.get_mut(&thread).and_then(|shared| shared.reader.take())
    }
}
