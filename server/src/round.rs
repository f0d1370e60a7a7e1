//! One round of a connection (`docs/protocol.md`, "Over WebSocket"): the device's `Open` is
//! authorised space by space, answered with `Opened`, and an ordinary core `Session` runs with
//! the spaces not denied (the read-only ones in `SessionConfig::read_only`).
//!
//! A round runs on a blocking thread of its own, because the session borrows the engine store
//! and does SQLite I/O: frames arrive over a channel from the connection task and leave over
//! another. Before a frame reaches the session, the round checks what the session cannot know:
//! that every space it names was opened in this round, and that its version vectors are ones a
//! real replica can have. It never buffers acknowledged data: the session acknowledges a chunk
//! only once the engine has staged it durably.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use almanac_core::sync::message::{Vector, Want, digest, from_parties, rebuild};
use almanac_core::sync::{
    Access, ErrorCode, MAX_VERSION, MIN_VERSION, Message, Session, SessionConfig, SpaceAccess,
};
use almanac_core::{ReplicaId, SpaceId, VersionVector};
use axum::body::Bytes;
use tokio::sync::mpsc;

use crate::connection::{Activity, Outgoing};
use crate::engine::Engine;
use crate::error::Result;
use crate::metrics::Failure;
use crate::server::Shared;

/// No replica commits 2^48 transactions in one space (thousands a second for thousands of
/// years): a larger counter is a hostile or damaged vector, and accepting it would make the
/// server believe it has seen writes it never got.
const MAX_PLAUSIBLE_COUNTER: u64 = 1 << 48;

/// More replicas than this in one vector is not a real space (the protocol is measured with
/// 1,001); such a vector only costs memory and time.
const MAX_PLAUSIBLE_REPLICAS: usize = 100_000;

/// What devices are told when the server's storage fails (the details go to the log only).
const STORAGE_MESSAGE: &str = "the peer could not store the data";

/// How a round ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum RoundEnd {
    /// Both sessions finished.
    Finished,
    /// The round failed; the device was sent an `Error` (unless it sent one itself).
    Failed(Failure),
    /// The connection went away (or was closed for idleness) mid-round. Staged chunks stay
    /// and the device's next round resumes.
    Abandoned,
}

/// What the connection learns when a round is over.
pub(crate) struct RoundOutcome {
    pub end: RoundEnd,
    /// Spaces whose version vector moved during the round (to push to other connections).
    pub changed: Vec<SpaceId>,
    /// Frames handed to the round after its session ended (the device's next `Open` can come
    /// before the round's thread is done): the connection handles them next, in order.
    pub leftover: VecDeque<Bytes>,
}

/// Runs one round for `user`, started by `first` (a frame received outside a round, which
/// must be an `Open` within the limits). `connection` is the connection's push registration
/// id: the spaces opened are followed under it before the session starts, so a change made by
/// someone else during this round is pushed right after it.
pub(crate) fn run(
    shared: &Shared,
    user: &str,
    connection: u64,
    first: &[u8],
    mut inbound: mpsc::Receiver<Bytes>,
    out: &mpsc::UnboundedSender<Outgoing>,
    activity: &Activity,
) -> RoundOutcome {
    let started = Instant::now();
    let mut round = Round { shared, user, out, activity, writable: Vec::new() };
    let refused = |failure| RoundOutcome {
        end: RoundEnd::Failed(failure),
        changed: Vec::new(),
        leftover: VecDeque::new(),
    };
    let spaces = match Message::decode(first) {
        Ok(Message::Open { spaces }) if spaces.len() <= shared.limits.max_spaces_per_open => spaces,
        Ok(Message::Open { .. }) => {
            round
                .send_error(ErrorCode::Refused, "an Open names more spaces than the server allows");
            return refused(Failure::TooManySpaces);
        }
        Ok(_) => {
            round.send_error(ErrorCode::Unexpected, "unexpected message: only Open starts a round");
            return refused(Failure::Unexpected);
        }
        Err(error) => {
            tracing::info!(%error, "refused a frame that does not decode");
            round.send_error(ErrorCode::Malformed, &error.to_string());
            return refused(Failure::Malformed);
        }
    };
    let access = match round.authorise(&spaces) {
        Ok(access) => access,
        Err(error) => {
            tracing::error!(%error, "cannot authorise an Open");
            round.send_error(ErrorCode::Storage, STORAGE_MESSAGE);
            return refused(Failure::Storage);
        }
    };
    for entry in &access {
        if entry.access == Access::Denied {
            shared.pushes.unfollow(connection, &entry.space);
        } else {
            shared.pushes.follow(connection, &entry.space);
        }
    }
    let before = round.writable_vectors();
    let end = match round.sync(access, &mut inbound, started) {
        Ok(end) => end,
        Err(error) => {
            tracing::error!(%error, "a round failed on the server's storage");
            round.send_error(ErrorCode::Storage, STORAGE_MESSAGE);
            RoundEnd::Failed(Failure::Storage)
        }
    };
    // No frame may be handed over and then never read: refuse any more, and give back the
    // ones already queued.
    inbound.close();
    let mut leftover = VecDeque::new();
    while let Ok(frame) = inbound.try_recv() {
        leftover.push_back(frame);
    }
    // Whatever the end, what was applied is applied: other devices hear of it.
    let changed =
        round.writable_vectors().into_iter().filter(|now| !before.contains(now)).map(|(s, _)| s);
    RoundOutcome { end, changed: changed.collect(), leftover }
}

struct Round<'a> {
    shared: &'a Shared,
    user: &'a str,
    out: &'a mpsc::UnboundedSender<Outgoing>,
    activity: &'a Activity,
    /// The spaces this device may write in this round.
    writable: Vec<SpaceId>,
}

impl Round<'_> {
    /// The access of each space of the `Open`, in its order (a space named twice is answered
    /// twice, the same). A space nobody had is now owned by this user; the engine store joins
    /// every space given that it does not hold yet.
    fn authorise(&mut self, spaces: &[SpaceId]) -> Result<Vec<SpaceAccess>> {
        let shared = self.shared;
        let decisions = shared.accounts.open_spaces(self.user, spaces)?;
        let mut stable_points: HashMap<&SpaceId, Option<VersionVector>> = HashMap::new();
        let mut answers = Vec::with_capacity(spaces.len());
        for (space, access) in spaces.iter().zip(decisions) {
            let stable = match stable_points.get(space) {
                Some(known) => known.clone(),
                None if access == Access::Denied => None,
                None => {
                    if !shared.engine.holds_space(space)? {
                        shared.engine.join_space(space)?;
                        tracing::info!(%space, "space created");
                    }
                    if access == Access::ReadWrite {
                        self.writable.push(space.clone());
                    }
                    let stable = self.stable_point(space)?;
                    stable_points.insert(space, stable.clone());
                    stable
                }
            };
            answers.push(SpaceAccess { space: space.clone(), access, stable });
        }
        Ok(answers)
    }

    /// What every device of the space's members (as far as the server knows) and the server
    /// itself have seen; `None` while no device has said what it has seen.
    fn stable_point(&self, space: &SpaceId) -> Result<Option<VersionVector>> {
        let retire_after = self.shared.limits.retire_after;
        let active_since = std::time::SystemTime::now()
            .checked_sub(retire_after)
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let seen = self.shared.accounts.seen_by_members(space, active_since)?;
        if seen.is_empty() {
            return Ok(None);
        }
        let own = self.shared.engine.version_vector(space)?;
        Ok(Some(seen.iter().fold(own, |stable, device| stable.meet(device))))
    }

    /// The writable spaces' vectors now (a space that cannot be read is left out: the next
    /// round sees it).
    fn writable_vectors(&self) -> Vec<(SpaceId, VersionVector)> {
        let engine = &self.shared.engine;
        self.writable
            .iter()
            .filter_map(|s| engine.version_vector(s).ok().map(|v| (s.clone(), v)))
            .collect()
    }

    /// Sends `Opened` and runs the session to its end.
    fn sync(
        &self,
        access: Vec<SpaceAccess>,
        inbound: &mut mpsc::Receiver<Bytes>,
        started: Instant,
    ) -> Result<RoundEnd> {
        let mut opened: Vec<SpaceId> = Vec::new();
        let mut read_only: Vec<SpaceId> = Vec::new();
        for entry in &access {
            if entry.access != Access::Denied && !opened.contains(&entry.space) {
                opened.push(entry.space.clone());
                if entry.access == Access::ReadOnly {
                    read_only.push(entry.space.clone());
                }
            }
        }
        self.send(&Message::Opened { spaces: access });
        let mut config = SessionConfig::new(opened.clone());
        config.read_only = read_only;
        config.max_frame_bytes = self.shared.limits.max_frame_bytes;
        let mut session = Session::new(&*self.shared.engine, config)?;
        self.flush(&mut session);
        while !session.is_finished() {
            let Some(frame) = inbound.blocking_recv() else { return Ok(RoundEnd::Abandoned) };
            self.activity.touch();
            let message = Message::decode(&frame).ok();
            if let Some(failure) = message.as_ref().and_then(|m| self.refuse(m, &opened)) {
                return Ok(RoundEnd::Failed(failure));
            }
            if let Err(error) = session.receive(&frame) {
                // The session queued its Error frame (unless the device sent one).
                self.flush(&mut session);
                let failure = classify(&error, message.as_ref());
                match failure {
                    Failure::Storage => tracing::error!(%error, "round failed"),
                    _ => tracing::info!(%error, "round failed"),
                }
                return Ok(RoundEnd::Failed(failure));
            }
            if let (Some(message), Some(peer)) = (&message, session.peer()) {
                for want in wants(message) {
                    self.remember_seen(&want.space, peer, &want.vector);
                }
            }
            self.flush(&mut session);
        }
        let report = session.report();
        self.shared.metrics.round_finished(
            started.elapsed(),
            report.records_changed,
            report.records_sent,
        );
        tracing::info!(
            took = ?started.elapsed(),
            spaces = opened.len(),
            applied = report.records_changed,
            sent = report.records_sent,
            "round finished"
        );
        Ok(RoundEnd::Finished)
    }

    /// Refuses a frame that names a space not opened in this round, or carries an implausible
    /// version vector: sends the device an `Error` and says why.
    fn refuse(&self, message: &Message, opened: &[SpaceId]) -> Option<Failure> {
        let mut named: Vec<&SpaceId> = wants(message).map(|want| &want.space).collect();
        match message {
            Message::NeedFullVector { space }
            | Message::NotHeld { space }
            | Message::Ack { space, .. } => named.push(space),
            Message::Chunk(chunk) => named.push(&chunk.space),
            _ => {}
        }
        if named.iter().any(|space| !opened.contains(space)) {
            self.send_error(
                ErrorCode::Unexpected,
                "unexpected message: a frame names a space not opened in this round",
            );
            return Some(Failure::SpaceNotOpened);
        }
        let plausible = wants(message).all(|Want { vector, resume, .. }| {
            let vector_plausible = match vector {
                Vector::Full(vector) => plausible(&vector.iter().collect::<Vec<_>>()),
                Vector::Changed { changes, .. } => plausible(changes),
            };
            vector_plausible
                && resume.as_ref().is_none_or(|r| plausible(&r.context.iter().collect::<Vec<_>>()))
        }) && match message {
            Message::Chunk(chunk) => chunk.start.as_ref().is_none_or(|s| plausible(&s.context)),
            _ => true,
        };
        if !plausible {
            self.send_error(ErrorCode::Refused, "a version vector no replica can have");
            return Some(Failure::ImplausibleVector);
        }
        None
    }

    /// Remembers the vector a device sent for `space`, for the space's stability point, as
    /// soon as its `Want` is accepted (so before the round can end: the next `Open` of any
    /// device sees it). A vector sent as changes is rebuilt from the one remembered last; if
    /// that one is missing or differs (the digest says), the session asks the device for the
    /// full vector, which is remembered when it comes.
    fn remember_seen(&self, space: &SpaceId, peer: ReplicaId, vector: &Vector) {
        let accounts = &self.shared.accounts;
        let full = match vector {
            Vector::Full(full) => Ok(Some(full.clone())),
            Vector::Changed { base, changes } => {
                let changes = from_parties(changes, peer, self.shared.engine.replica_id());
                accounts.last_seen(space, self.user, peer).map(|last| {
                    last.filter(|last| digest(last) == *base).map(|last| rebuild(&last, &changes))
                })
            }
        };
        let recorded = full.and_then(|full| match full {
            Some(full) => accounts.record_seen(self.user, peer, &[(space.clone(), full)]),
            None => Ok(()),
        });
        if let Err(error) = recorded {
            // Only the stability point waits for a later round; the sync is unaffected.
            tracing::warn!(%error, %space, "cannot remember what a device has seen");
        }
    }

    fn send(&self, message: &Message) {
        match message.encode() {
            Ok(frame) => {
                let _ = self.out.send(Outgoing::Frame(frame));
            }
            Err(error) => tracing::error!(%error, "cannot encode a frame"),
        }
    }

    fn send_error(&self, code: ErrorCode, message: &str) {
        self.send(&Message::Error { code, message: message.to_owned() });
    }

    /// Hands every frame the session has ready to the connection's writer.
    fn flush(&self, session: &mut Session<'_, dyn Engine>) {
        while let Some(frame) = session.poll_transmit() {
            self.activity.touch();
            // A closed channel means the connection is gone; the next receive notices.
            let _ = self.out.send(Outgoing::Frame(frame));
        }
    }
}

/// The `Want`s a frame carries: a `Want`'s own, or those sent with a `Hello`.
fn wants(message: &Message) -> impl Iterator<Item = &Want> {
    let wants: &[Want] = match message {
        Message::Hello { with, .. } => with,
        Message::Want(want) => std::slice::from_ref(want),
        _ => &[],
    };
    wants.iter()
}

fn plausible<R>(entries: &[(R, u64)]) -> bool {
    entries.len() <= MAX_PLAUSIBLE_REPLICAS
        && entries.iter().all(|(_, counter)| *counter <= MAX_PLAUSIBLE_COUNTER)
}

/// The failure kind of a session error, for metrics and the close code.
fn classify(error: &almanac_core::Error, message: Option<&Message>) -> Failure {
    use almanac_core::Error;
    match (error, message) {
        (Error::Decode { .. } | Error::UnsupportedFormat { .. }, _) => Failure::Malformed,
        (Error::Protocol(_), Some(Message::Error { .. })) => Failure::DeviceError,
        (Error::Protocol(_), Some(Message::Hello { min_version, max_version, .. }))
            if *min_version > MAX_VERSION
                || *max_version < MIN_VERSION
                || min_version > max_version =>
        {
            Failure::NoCommonVersion
        }
        (Error::Protocol(_), _) => Failure::Unexpected,
        (
            Error::DeltaNotApplicable
            | Error::ReplicaRewound
            | Error::ReplicaRenewed { .. }
            | Error::SpaceNotHeld(_),
            _,
        ) => Failure::Refused,
        _ => Failure::Storage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use almanac_core::sync::message::difference;

    #[test]
    fn vectors_beyond_any_real_replica_are_implausible() {
        let replica = ReplicaId::from_bytes([1; 16]);
        assert!(plausible(&[(replica, 1), (replica, MAX_PLAUSIBLE_COUNTER)]));
        assert!(!plausible(&[(replica, u64::MAX)]));
        assert!(!plausible(&vec![(replica, 1); MAX_PLAUSIBLE_REPLICAS + 1]));
        // A difference (a Want's changes) is checked the same way.
        let base: VersionVector = [(replica, 5)].into_iter().collect();
        let huge: VersionVector = [(replica, u64::MAX)].into_iter().collect();
        assert!(!plausible(&difference(&base, &huge)));
    }
}
