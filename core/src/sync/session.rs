//! One sync session between this store and a peer, as a state machine without I/O: feed it the
//! frames that arrive ([`Session::receive`]), send the frames it produces
//! ([`Session::poll_transmit`]) over any reliable, ordered byte channel, until
//! [`Session::is_finished`]. Both sides run the same machine; neither is "the client".
//!
//! The flow (details and bytes: `docs/protocol.md`): each side sends `Hello` and, per space it
//! syncs, a `Want` with its version vector (only the entries that changed since the last
//! session with this peer, in steady state), inside the `Hello` when it knows its peer in
//! advance. Each side answers each `Want` with the delta the other lacks, in chunks. A delta in
//! one chunk is applied at once; a longer one is staged durably chunk by chunk, each chunk
//! acknowledged, and applied once complete (in several short transactions, see `staging.rs`).
//! A session cut short resumes from the last staged chunk next time. A side is finished when it
//! has answered every `Want` of the peer (and heard the `Ack`s of what it staged there) and
//! received everything it asked for; no frame says so (protocol 2, decision 0027).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::message::{
    self, Chunk, ChunkStart, ErrorCode, MAX_VERSION, MIN_VERSION, Message, Records, Resume, Vector,
    Want,
};
use super::replica::{Direction, SyncStore};
use crate::Store;
use crate::crdt::{ClockSkew, Delta, RecordDelta, RecordKey, ReplicaId, SpaceId, VersionVector};
use crate::error::{Error, Result};

/// Settings of a session.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// The spaces to sync. Each must be held by this store to be asked for; a `Want` for a
    /// space not listed (or not held) is answered `NotHeld`: this is also how a server limits
    /// a device to the spaces it may read.
    pub spaces: Vec<SpaceId>,
    /// The most bytes of records one chunk carries (before compression). Default 1 MiB.
    pub chunk_bytes: usize,
    /// Frames larger than this are refused before they are read. Default 8 MiB.
    pub max_frame_bytes: usize,
    /// The peer this session expects (for example the server a device synced with last time):
    /// when set, `Want`s go out with `Hello` without waiting for the peer's, saving a round trip.
    pub expected_peer: Option<ReplicaId>,
    /// Spaces of `spaces` this side shares with the peer but takes nothing of: it answers the
    /// peer's `Want` for them and sends no `Want` of its own (a server serving a read-only
    /// member).
    pub read_only: Vec<SpaceId>,
    /// Have the peer acknowledge every delta this side sends, also one that fits a single
    /// chunk (which is otherwise applied without a word), and finish only once it has: for a
    /// device that must know what the server took (the client's pending changes). Costs one
    /// small frame per space with something to send.
    pub confirm_delivery: bool,
}

impl SessionConfig {
    /// A session syncing `spaces` with default limits.
    pub fn new(spaces: Vec<SpaceId>) -> Self {
        Self {
            spaces,
            chunk_bytes: 1 << 20,
            max_frame_bytes: 8 << 20,
            expected_peer: None,
            read_only: Vec::new(),
            confirm_delivery: false,
        }
    }
}

/// What a session did.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct SyncReport {
    /// Frames sent.
    pub frames_sent: usize,
    /// Bytes of frames sent.
    pub bytes_sent: usize,
    /// Frames received.
    pub frames_received: usize,
    /// Bytes of frames received.
    pub bytes_received: usize,
    /// Records received whose state changed here.
    pub records_changed: usize,
    /// Records sent.
    pub records_sent: usize,
    /// Spaces the peer said it does not hold (or share).
    pub not_held_by_peer: Vec<SpaceId>,
    /// Set when the peer's clock is far ahead of this device's.
    pub clock_skew: Option<ClockSkew>,
}

#[derive(Clone, PartialEq, Debug)]
enum Incoming {
    /// `Want` sent, no chunk yet.
    Waiting,
    /// Chunks arriving and being staged; the next one expected.
    Receiving { next_seq: u32 },
    /// Applied, or the peer does not hold the space.
    Finished,
}

#[derive(Clone, PartialEq, Debug)]
struct Outgoing {
    /// The seq of the last chunk sent.
    last_seq: u32,
    /// Whether every chunk that is acknowledged was (a delta in one chunk is not).
    acknowledged: bool,
}

/// A sync session with one peer (see the module documentation), over any replica that
/// implements [`SyncStore`] (by default the core's [`Store`]).
pub struct Session<'s, S: SyncStore + ?Sized = Store> {
    store: &'s S,
    config: SessionConfig,
    peer: Option<ReplicaId>,
    wants_expected: Option<u32>,
    /// The peer asked for every delta it sends to be acknowledged.
    peer_confirms: bool,
    /// The vector sent in each `Want`, by space: a chunk's context is relative to it.
    wanted: BTreeMap<SpaceId, VersionVector>,
    incoming: BTreeMap<SpaceId, Incoming>,
    outgoing: BTreeMap<SpaceId, Outgoing>,
    outbox: VecDeque<Vec<u8>>,
    /// Everything the peer asked for was answered and everything asked for arrived.
    done: bool,
    failed: bool,
    /// Keeps checkpoints out of commits while a delta arrives in several chunks.
    quiet: Option<Receiving<'s, S>>,
    /// The records of each delta this session has staged from its first chunk on, in key
    /// order: applied from here after the last chunk instead of being read back and decoded
    /// again. A resumed delta (part of it staged by an earlier session), or chunks whose keys
    /// do not follow each other, are read back as staged.
    received: BTreeMap<SpaceId, Vec<(RecordKey, RecordDelta)>>,
    /// The session failed because the peer sent `Error`.
    peer_failed: bool,
    /// The session failed on version negotiation.
    no_common_version: bool,
    /// The protocol version both sides speak: the older of the two sides' newest, once the
    /// peer's `Hello` arrived (the chunks' form depends on it).
    version: u16,
    report: SyncReport,
}

impl<'s, S: SyncStore + ?Sized> Session<'s, S> {
    /// Starts a session; its first frames are ready in [`Session::poll_transmit`].
    pub fn new(store: &'s S, config: SessionConfig) -> Result<Session<'s, S>> {
        // Its reads share one read of the store (`SyncStore::reading`).
        let (mut config, mut started) = (Some(config), None);
        store.reading(&mut || {
            if let Some(config) = config.take() {
                started = Some(Self::start(store, config)?);
            }
            Ok(())
        })?;
        started.ok_or_else(|| Error::Protocol("the store never started the session".into()))
    }

    fn start(store: &'s S, config: SessionConfig) -> Result<Session<'s, S>> {
        let mut spaces: Vec<SpaceId> = Vec::new();
        for space in &config.spaces {
            if store.holds_space(space)? && !spaces.contains(space) {
                spaces.push(space.clone());
            }
        }
        let mut session = Session {
            store,
            config: SessionConfig { spaces, ..config },
            peer: None,
            wants_expected: None,
            peer_confirms: false,
            wanted: BTreeMap::new(),
            incoming: BTreeMap::new(),
            outgoing: BTreeMap::new(),
            outbox: VecDeque::new(),
            done: false,
            failed: false,
            quiet: None,
            received: BTreeMap::new(),
            peer_failed: false,
            no_common_version: false,
            version: MIN_VERSION,
            report: SyncReport::default(),
        };
        let wants = u32::try_from(session.wanted_spaces().count())
            .map_err(|_| Error::InvalidInput("too many spaces for one session".into()))?;
        let mut with = Vec::new();
        if let Some(peer) = session.config.expected_peer {
            // Resuming needs to know the peer for sure, so a session with something to resume
            // waits for the peer's Hello.
            let mut resumable = false;
            for space in session.wanted_spaces() {
                resumable |= store.inbound(space, peer)?.is_some();
            }
            if !resumable {
                with = session.wants(peer)?;
            }
        }
        session.send(&Message::Hello {
            min_version: MIN_VERSION,
            max_version: MAX_VERSION,
            replica: store.replica_id(),
            wants,
            confirm: session.config.confirm_delivery,
            with,
        })?;
        Ok(session)
    }

    /// The next frame to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        let frame = self.outbox.pop_front()?;
        self.report.frames_sent += 1;
        self.report.bytes_sent += frame.len();
        Some(frame)
    }

    /// Whether the session ended: both sides have everything, or it failed. Send what
    /// [`Session::poll_transmit`] still has before closing the channel.
    pub fn is_finished(&self) -> bool {
        self.failed || self.done
    }

    /// What the session did so far.
    pub fn report(&self) -> &SyncReport {
        &self.report
    }

    /// The largest frame this session accepts.
    pub fn max_frame_bytes(&self) -> usize {
        self.config.max_frame_bytes
    }

    /// The peer's replica id, once its `Hello` arrived.
    pub fn peer(&self) -> Option<ReplicaId> {
        self.peer
    }

    /// Handles one frame from the peer. An error ends the session: an `Error` frame for the
    /// peer is queued (unless the peer sent the error), nothing partial is applied, and a
    /// later session resumes.
    pub fn receive(&mut self, frame: &[u8]) -> Result<()> {
        // The frame's reads share one read of the store (`SyncStore::reading`).
        let store = self.store;
        let mut received = Err(Error::Protocol("the store never handled the frame".into()));
        store.reading(&mut || {
            received = self.receive_frame(frame);
            Ok(())
        })?;
        received
    }

    fn receive_frame(&mut self, frame: &[u8]) -> Result<()> {
        if self.is_finished() {
            return Err(Error::Protocol("the session is over".into()));
        }
        self.report.frames_received += 1;
        self.report.bytes_received += frame.len();
        let result = self.handle(frame);
        if let Err(error) = &result {
            self.failed = true;
            let code = match error {
                // The peer ended the session itself: nothing to tell it.
                Error::Protocol(_) if self.peer_failed => None,
                Error::Decode { .. } | Error::UnsupportedFormat { .. } => {
                    Some(ErrorCode::Malformed)
                }
                Error::Protocol(_) if self.no_common_version => Some(ErrorCode::NoCommonVersion),
                Error::Protocol(_) => Some(ErrorCode::Unexpected),
                Error::DeltaNotApplicable
                | Error::ReplicaRewound
                | Error::ReplicaRenewed { .. }
                | Error::SpaceNotHeld(_) => Some(ErrorCode::Refused),
                _ => Some(ErrorCode::Storage),
            };
            if let Some(code) = code {
                // Storage details stay on this device; the peer learns only the kind.
                let message = match code {
                    ErrorCode::Storage => "the peer could not store the data".to_owned(),
                    _ => error.to_string(),
                };
                // Best effort: the session is over either way.
                let _ = self.send(&Message::Error { code, message });
            }
        }
        result
    }

    fn handle(&mut self, frame: &[u8]) -> Result<()> {
        if frame.len() > self.config.max_frame_bytes {
            return Err(Error::Decode {
                what: "a sync message",
                detail: format!(
                    "a frame of {} bytes is larger than the limit of {}",
                    frame.len(),
                    self.config.max_frame_bytes
                ),
            });
        }
        if let Some((min, max)) = message::version_1_hello(frame) {
            return Err(self.no_common_version(min, max));
        }
        let message = Message::decode(frame)?;
        if self.peer.is_none() && !matches!(message, Message::Hello { .. } | Message::Error { .. })
        {
            return Err(unexpected("a frame before Hello"));
        }
        match message {
            Message::Hello { min_version, max_version, replica, wants, confirm, with } => {
                self.peer_confirms = confirm;
                self.on_hello(min_version, max_version, replica, wants, with)?
            }
            Message::Want(want) => self.on_want(want)?,
            Message::NeedFullVector { space } => self.on_need_full_vector(&space)?,
            Message::NotHeld { space } => {
                if self.incoming.get(&space) != Some(&Incoming::Waiting) {
                    return Err(unexpected("NotHeld for a space not asked for"));
                }
                self.incoming.insert(space.clone(), Incoming::Finished);
                self.report.not_held_by_peer.push(space);
            }
            Message::Chunk(chunk) => self.on_chunk(chunk)?,
            Message::Ack { space, seq } => {
                let Some(outgoing) = self.outgoing.get_mut(&space) else {
                    return Err(unexpected("Ack for a space not sent"));
                };
                if seq > outgoing.last_seq || outgoing.acknowledged {
                    return Err(unexpected("Ack for a chunk not sent or not staged"));
                }
                outgoing.acknowledged = seq == outgoing.last_seq;
            }
            Message::Open { .. } | Message::Opened { .. } | Message::Changed { .. } => {
                return Err(unexpected("a connection message inside a session"));
            }
            Message::Error { code, message } => {
                self.peer_failed = true;
                return Err(Error::Protocol(format!(
                    "the peer ended the session ({code:?}): {message}"
                )));
            }
        }
        self.maybe_done()
    }

    fn no_common_version(&mut self, min: u16, max: u16) -> Error {
        self.no_common_version = true;
        Error::Protocol(format!(
            "no common protocol version: the peer speaks {min} to {max}, this device \
             {MIN_VERSION} to {MAX_VERSION}; update the older side"
        ))
    }

    fn on_hello(
        &mut self,
        min: u16,
        max: u16,
        replica: ReplicaId,
        wants: u32,
        with: Vec<Want>,
    ) -> Result<()> {
        if self.wants_expected.is_some() {
            return Err(unexpected("a second Hello"));
        }
        if min > max || max < MIN_VERSION || min > MAX_VERSION {
            return Err(self.no_common_version(min, max));
        }
        if with.len() > wants as usize {
            return Err(unexpected("more Wants than announced"));
        }
        if replica == self.store.replica_id() {
            // Two stores with one id: one is a copy of the other, made with its marker.
            return Err(match self.renew_replica_id() {
                Error::ReplicaRewound => unexpected("the peer claims this store's own replica id"),
                error => error,
            });
        }
        // Wants sent early to an expected peer that turns out to be another are compressed
        // against vectors this peer never saw: it asks for full vectors, which is harmless.
        self.peer = Some(replica);
        self.wants_expected = Some(wants);
        self.version = max.min(MAX_VERSION);
        if self.wanted.is_empty() && self.wanted_spaces().next().is_some() {
            for want in self.wants(replica)? {
                self.send(&Message::Want(want))?;
            }
        }
        for want in with {
            self.on_want(want)?;
        }
        Ok(())
    }

    /// The spaces this side asks the peer for: those it syncs, less the read-only ones.
    fn wanted_spaces(&self) -> impl Iterator<Item = &SpaceId> {
        self.config.spaces.iter().filter(|s| !self.config.read_only.contains(s))
    }

    /// The `Want`s of this side, recorded as sent.
    fn wants(&mut self, peer: ReplicaId) -> Result<Vec<Want>> {
        let spaces: Vec<SpaceId> = self.wanted_spaces().cloned().collect();
        let mut wants = Vec::with_capacity(spaces.len());
        for space in spaces {
            // A delta staged completely but not applied (a crash) is applied first, so the
            // vector sent says what this store really has.
            if let Some(inbound) = self.store.inbound(&space, peer)? {
                if inbound.complete {
                    self.apply_staged(&space, peer, None)?;
                }
            }
            wants.push(self.want(&space, peer, false)?);
            self.incoming.insert(space, Incoming::Waiting);
        }
        Ok(wants)
    }

    fn want(&mut self, space: &SpaceId, peer: ReplicaId, full: bool) -> Result<Want> {
        let vector = self.store.version_vector(space)?;
        let base =
            if full { None } else { self.store.peer_vector(space, peer, Direction::Sent)? };
        let wire = match base {
            Some(base) => Vector::Changed {
                base: message::digest(&base),
                // `peer` is only the expected one until its Hello came.
                changes: message::to_parties(
                    message::difference(&base, &vector),
                    self.store.replica_id(),
                    self.peer,
                ),
            },
            None => Vector::Full(vector.clone()),
        };
        let resume = match self.store.inbound(space, peer)? {
            Some(inbound) if !inbound.complete && self.peer == Some(peer) => {
                inbound.last_key.map(|after| Resume {
                    context: inbound.context,
                    after,
                    next_seq: inbound.next_seq,
                })
            }
            _ => None,
        };
        self.store.set_peer_vector(space, peer, Direction::Sent, &vector)?;
        self.wanted.insert(space.clone(), vector);
        Ok(Want { space: space.clone(), vector: wire, resume })
    }

    fn on_need_full_vector(&mut self, space: &SpaceId) -> Result<()> {
        if self.incoming.get(space) != Some(&Incoming::Waiting) {
            return Err(unexpected("NeedFullVector for a space not asked for"));
        }
        let peer = self.peer.ok_or_else(|| unexpected("a frame before Hello"))?;
        let want = self.want(space, peer, true)?;
        self.send(&Message::Want(want))
    }

    fn on_want(&mut self, want: Want) -> Result<()> {
        let Want { space, vector, resume } = want;
        let peer = self.peer.ok_or_else(|| unexpected("a frame before Hello"))?;
        if self.outgoing.contains_key(&space) {
            return Err(unexpected("a second Want for one space"));
        }
        if self.wants_expected.is_some_and(|n| self.outgoing.len() >= n as usize) {
            return Err(unexpected("more Wants than announced"));
        }
        let shared = self.config.spaces.contains(&space) && self.store.holds_space(&space)?;
        if !shared {
            self.outgoing.insert(space.clone(), Outgoing { last_seq: 0, acknowledged: true });
            return self.send(&Message::NotHeld { space });
        }
        let since = match vector {
            Vector::Full(vector) => vector,
            Vector::Changed { base, changes } => {
                let known = self.store.peer_vector(&space, peer, Direction::Received)?;
                match known.filter(|known| message::digest(known) == base) {
                    Some(known) => message::rebuild(
                        &known,
                        &message::from_parties(&changes, peer, self.store.replica_id()),
                    ),
                    None => return self.send(&Message::NeedFullVector { space }),
                }
            }
        };
        let released = self.check_own_writes(&space, &since)?;
        self.store.set_peer_vector(&space, peer, Direction::Received, &since)?;
        // Keep what the peer has staged of a resumed delta, except records that changed since:
        // those replace their staged copies. A staged copy is applied under this delta's
        // context, so the copy replacing it must hold every write that context claims the peer
        // may lack, also when the peer has meanwhile seen all of the record elsewhere (left
        // staged, the old copy would then drop the writes it lacks). Hence records relative to
        // what both the peer has now and the interrupted delta's sender had.
        let changed: BTreeSet<RecordKey> = match &resume {
            Some(resume) => self
                .store
                .delta_since(&space, &resume.context)?
                .records
                .into_iter()
                .map(|(key, _)| key)
                .collect(),
            None => BTreeSet::new(),
        };
        let base = match &resume {
            Some(resume) if !changed.is_empty() => since.meet(&resume.context),
            _ => since.clone(),
        };
        let delta = self.store.encoded_delta_since(&space, &base)?;
        let own = delta.context.get(&self.store.replica_id());
        if own > released {
            // Durably before any of it leaves: a peer holding more than this is a copy's doing.
            // (Nothing to write in a round that sends no new writes of this store.)
            self.store.mark_released(&space, own)?;
        }
        let mut records = delta.records;
        let mut first_seq = 0;
        let resumed = resume.is_some();
        if let Some(resume) = resume {
            records.retain(|(key, _)| *key > resume.after || changed.contains(key));
            first_seq = resume.next_seq;
        }
        let context = message::to_parties(
            message::difference(&since, &delta.context),
            self.store.replica_id(),
            Some(peer),
        );
        self.report.records_sent += records.len();
        let chunks = split(records, self.config.chunk_bytes);
        let count = u32::try_from(chunks.len())
            .map_err(|_| Error::InvalidInput("too many chunks".into()))?;
        let mut staged = false;
        for (n, (count_in_chunk, encoded)) in (0u32..).zip(chunks) {
            let start =
                (n == 0).then(|| ChunkStart { context: context.clone(), hlc: delta.hlc, resumed });
            let chunk = Chunk {
                space: space.clone(),
                seq: first_seq + n,
                start,
                records: Records::pack_encoded(count_in_chunk, &encoded, self.version)?,
                last: n + 1 == count,
            };
            staged |= chunk.staged() || self.config.confirm_delivery;
            self.send(&Message::Chunk(chunk))?;
        }
        self.outgoing
            .insert(space, Outgoing { last_seq: first_seq + count - 1, acknowledged: !staged });
        Ok(())
    }

    fn on_chunk(&mut self, chunk: Chunk) -> Result<()> {
        let peer = self.peer.ok_or_else(|| unexpected("a frame before Hello"))?;
        let space = chunk.space.clone();
        let expected = match self.incoming.get(&space) {
            Some(Incoming::Waiting) => None,
            Some(Incoming::Receiving { next_seq }) => Some(*next_seq),
            _ => return Err(unexpected("a chunk for a space not asked for")),
        };
        let limit = self.config.max_frame_bytes.saturating_mul(8);
        let records = chunk.records.unpack(limit)?;
        check_order(&records)?;
        match (expected, &chunk.start) {
            (None, Some(start)) => {
                let since = self.wanted.get(&space).cloned().unwrap_or_default();
                let context = message::rebuild(
                    &since,
                    &message::from_parties(&start.context, peer, self.store.replica_id()),
                );
                self.check_own_writes(&space, &context)?;
                if chunk.last && !start.resumed {
                    // The whole delta in one frame: nothing to stage, since a session cut off now
                    // simply asks again. Applied in short transactions all the same.
                    let delta =
                        Delta { space: space.clone(), since, context, hlc: start.hlc, records };
                    self.store.drop_inbound(&space, peer)?;
                    let changes = self.store.apply_delta(delta)?;
                    self.report.records_changed += changes.records.len();
                    self.report.clock_skew = self.report.clock_skew.or(changes.clock_skew);
                    self.incoming.insert(space.clone(), Incoming::Finished);
                    if self.peer_confirms {
                        self.send(&Message::Ack { space, seq: chunk.seq })?;
                    }
                    return Ok(());
                }
                if start.resumed {
                    let staged = self.store.inbound(&space, peer)?;
                    if staged.as_ref().map(|s| s.next_seq) != Some(chunk.seq) {
                        return Err(unexpected(
                            "a resumed delta that does not continue the staged one",
                        ));
                    }
                }
                self.store.begin_inbound(
                    &space,
                    peer,
                    &since,
                    &context,
                    start.hlc,
                    start.resumed,
                )?;
                if self.quiet.is_none() {
                    self.quiet = Some(Receiving::start(self.store)?);
                }
                if start.resumed {
                    self.received.remove(&space);
                } else {
                    self.received.insert(space.clone(), Vec::new());
                }
            }
            (Some(next), None) if next == chunk.seq => {}
            _ => return Err(unexpected("a chunk out of order")),
        }
        self.store.stage_chunk(&space, peer, chunk.seq, &records, chunk.last)?;
        // Kept only while the chunks continue each other's key order, so that what is kept is
        // exactly what was staged (staging replaces a key it already holds).
        let follows = |kept: &[(RecordKey, RecordDelta)]| match (kept.last(), records.first()) {
            (Some((last, _)), Some((first, _))) => last < first,
            _ => true,
        };
        match self.received.get_mut(&space) {
            Some(kept) if follows(kept) => kept.extend(records),
            _ => {
                self.received.remove(&space);
            }
        }
        self.incoming.insert(space.clone(), Incoming::Receiving { next_seq: chunk.seq + 1 });
        self.send(&Message::Ack { space: space.clone(), seq: chunk.seq })?;
        if chunk.last {
            let received = self.received.remove(&space);
            self.apply_staged(&space, peer, received)?;
            self.incoming.insert(space, Incoming::Finished);
        }
        Ok(())
    }

    /// Refuses to go on when the peer holds writes of this store's id that the store never
    /// sent (`peer_has` is what the peer has seen): a copy of the store wrote under the same
    /// id. The store moves to a fresh id keeping its writes, and this session ends so the
    /// next one starts under the new id. Returns how far this store has sent its own writes.
    fn check_own_writes(&mut self, space: &SpaceId, peer_has: &VersionVector) -> Result<u64> {
        let released = self.store.released(space)?;
        if peer_has.get(&self.store.replica_id()) > released {
            return Err(self.renew_replica_id());
        }
        Ok(released)
    }

    /// The error that ends a session which found this store's id in use by a copy, after the
    /// store moved to a fresh id (or the store's error if it could not).
    fn renew_replica_id(&mut self) -> Error {
        let previous = self.store.replica_id();
        match self.store.renew_replica_id() {
            Ok(current) => Error::ReplicaRenewed { previous, current },
            Err(error) => error,
        }
    }

    /// Applies the complete delta staged from `peer` for `space`: `received` are its records
    /// if this session staged all of them (see `Session::received`), else they are read back.
    fn apply_staged(
        &mut self,
        space: &SpaceId,
        peer: ReplicaId,
        received: Option<Vec<(RecordKey, RecordDelta)>>,
    ) -> Result<()> {
        let changes = match received {
            Some(records) => self.store.apply_received(space, peer, records)?,
            None => self.store.apply_staged(space, peer)?,
        };
        self.report.records_changed += changes.records.len();
        self.report.clock_skew = self.report.clock_skew.or(changes.clock_skew);
        Ok(())
    }

    fn maybe_done(&mut self) -> Result<()> {
        if !self.incoming.values().any(|i| matches!(i, Incoming::Receiving { .. })) {
            self.quiet = None;
        }
        let heard_all_wants =
            self.wants_expected.is_some_and(|n| self.outgoing.len() >= n as usize);
        let received = self.incoming.values().all(|i| *i == Incoming::Finished);
        let sent = self.outgoing.values().all(|o| o.acknowledged);
        let asked = self.wanted_spaces().all(|s| self.incoming.contains_key(s));
        self.done = heard_all_wants && received && sent && asked;
        Ok(())
    }

    fn send(&mut self, message: &Message) -> Result<()> {
        self.outbox.push_back(message.encode()?);
        Ok(())
    }
}

/// While alive, a delta is arriving in chunks ([`SyncStore::receiving_chunks`]); dropped
/// however the session ends, so the storage's housekeeping always comes back.
struct Receiving<'s, S: SyncStore + ?Sized> {
    store: &'s S,
}

impl<'s, S: SyncStore + ?Sized> Receiving<'s, S> {
    fn start(store: &'s S) -> Result<Self> {
        store.receiving_chunks(true)?;
        Ok(Self { store })
    }
}

impl<S: SyncStore + ?Sized> Drop for Receiving<'_, S> {
    fn drop(&mut self) {
        // Nothing to do about a failure here: the storage recovers at its next housekeeping.
        let _ = self.store.receiving_chunks(false);
    }
}

fn unexpected(what: &str) -> Error {
    Error::Protocol(format!("unexpected message: {what}"))
}

/// Records of a delta come in strictly ascending key order, across chunks too (checked per
/// chunk here; the staged delta as a whole is validated before it is applied).
fn check_order(records: &[(RecordKey, RecordDelta)]) -> Result<()> {
    if records.windows(2).all(|w| w[0].0 < w[1].0) {
        Ok(())
    } else {
        Err(Error::Decode { what: "a sync message", detail: "chunk records out of order".into() })
    }
}

/// One chunk's records, with their encodings one after the other.
/// A chunk's number of records and their encodings, one after the other.
type Part = (usize, Vec<u8>);

/// Splits encoded records (see [`EncodedDelta`]) into chunks of about `limit` bytes each (a
/// record larger than the limit travels alone), for [`Records::pack_encoded`]. Always at least
/// one chunk, so an empty delta still says "nothing".
fn split(records: Vec<(RecordKey, Vec<u8>)>, limit: usize) -> Vec<Part> {
    let mut chunks: Vec<Part> = vec![(0, Vec::new())];
    for (_, bytes) in records {
        if chunks
            .last()
            .is_some_and(|(count, encoded)| *count > 0 && encoded.len() + bytes.len() > limit)
        {
            chunks.push((0, Vec::new()));
        }
        if let Some((count, encoded)) = chunks.last_mut() {
            *count += 1;
            encoded.extend_from_slice(&bytes);
        }
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::testing::{dot, vv};
    use crate::crdt::{Hlc, RecordState, Write};

    /// `count` records whose notes grow with their number, so chunks fill unevenly.
    fn records(count: usize) -> Vec<(RecordKey, RecordDelta)> {
        (0..count)
            .map(|n| {
                let mut state = RecordState::default();
                let write = Write::Set { field: "notes".into(), value: "x".repeat(n % 300).into() };
                let hlc = Hlc { millis: n as u64 + 1, logical: 0 };
                state.apply_local(&write, dot(1, 1), hlc, &vv(&[(1, 1)])).expect("write");
                let delta = state.delta(&VersionVector::new()).expect("delta");
                (RecordKey::new("events", format!("event-{n:04}")), delta)
            })
            .collect()
    }

    #[test]
    fn chunks_packed_from_the_encoded_records_are_the_chunks_packed_from_the_records() {
        // 0 and 1 records (one chunk, plain), and lists long enough for a multi-byte length.
        for (count, limit) in [(0, 1_000), (1, 1_000), (300, 1 << 20), (600, 20_000)] {
            let all = records(count);
            let encoded: Vec<(RecordKey, Vec<u8>)> = all
                .iter()
                .map(|(key, delta)| {
                    let mut bytes = Vec::new();
                    crate::crdt::payload_writer::write_delta(key, delta, &mut bytes);
                    (key.clone(), bytes)
                })
                .collect();
            let chunks = split(encoded, limit);
            let mut rest = all.as_slice();
            for (records, bytes) in &chunks {
                assert!(*records == 1 || bytes.len() <= limit, "a chunk over the limit");
                let (part, after) = rest.split_at(*records);
                rest = after;
                for version in [2, 3] {
                    let packed = Records::pack_encoded(*records, bytes, version).expect("packed");
                    let from_records = Records::pack(part.to_vec(), version).expect("pack");
                    assert_eq!(packed, from_records, "{count} records, protocol {version}");
                    let unpacked = packed.unpack(usize::MAX).expect("unpacks");
                    assert_eq!(unpacked, part, "{count} records, protocol {version}");
                }
            }
            assert!(rest.is_empty(), "every record in a chunk");
            assert!(count < 600 || chunks.len() > 1, "the limit splits long lists");
        }
    }
}
