//! One round over an open connection (`docs/protocol.md`, "Over WebSocket"): `Open` naming the
//! spaces, the server's `Opened` with the access to each, then an ordinary sync session.
//!
//! The session borrows the store and does blocking SQLite work, so it runs on a blocking
//! thread ([`tokio::task::spawn_blocking`]) that owns a clone of the `Arc<Store>`; frames cross
//! between it and the async task holding the WebSocket over two bounded channels. Dropping
//! the round's future closes both channels, and the thread ends at its next frame (a delta
//! already staged stays staged; the next round resumes it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::{Duration, Instant, SystemTime};

use almanac_core::sync::{Access, Message, Session, SessionConfig, SpaceAccess, SyncReport};
use almanac_core::{Incarnation, Origin, ReplicaId, SpaceId, Store, VersionVector};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::connection::{Ws, lost};
use crate::error::{Error, Result};
use crate::status::{SpaceSummary, SyncSummary};
use crate::{ClientConfig, GarbageCollection};

/// What a client keeps between rounds (in memory: a new process starts from what the store
/// itself remembers).
#[derive(Default)]
pub(crate) struct Memory {
    /// Per space, the greatest counter of this device's own writes the server is known to
    /// have (acknowledged in a round, or inside the server's stable vector).
    acked: HashMap<SpaceId, u64>,
    /// The server's replica id, once seen: later sessions send their `Want`s with `Hello`.
    server: Option<ReplicaId>,
    /// When garbage was last collected, per space.
    collected: HashMap<SpaceId, Instant>,
}

/// What the client and its live task share.
pub(crate) struct Shared {
    pub(crate) store: Arc<Store>,
    pub(crate) config: ClientConfig,
    pub(crate) endpoint: crate::endpoint::Endpoint,
    pub(crate) memory: Mutex<Memory>,
    /// The thread running a session right now: its commits are the server's changes, which
    /// must not start another round.
    pub(crate) session_thread: Mutex<Option<ThreadId>>,
}

impl Shared {
    pub(crate) fn memory(&self) -> MutexGuard<'_, Memory> {
        // The memory is a cache of facts that stay true; a panic elsewhere cannot leave it
        // inconsistent, so a poisoned lock is used as is.
        self.memory.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn is_session_thread(&self) -> bool {
        let current = std::thread::current().id();
        *self.session_thread.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
            == Some(current)
    }

    fn set_session_thread(&self, thread: Option<ThreadId>) {
        *self.session_thread.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = thread;
    }

    /// Spaces held with writes of this device that the server is not known to have.
    /// Blocking (reads the store).
    pub(crate) fn pending_spaces(&self) -> Result<Vec<SpaceId>> {
        let own = self.store.replica_id();
        let mut pending = Vec::new();
        for space in self.store.spaces()? {
            let written = self.store.version_vector(space.as_str())?.get(&own);
            if written > self.memory().acked.get(&space).copied().unwrap_or(0) {
                pending.push(space);
            }
        }
        Ok(pending)
    }
}

/// The result of a finished round.
pub(crate) struct RoundOutcome {
    pub(crate) summary: SyncSummary,
    /// The server announced changes (`Changed`) during the round: run another.
    pub(crate) pushed: bool,
    /// Spaces with unacknowledged local changes after the round, all held spaces counted.
    pub(crate) pending: Vec<SpaceId>,
    pub(crate) finished_at: SystemTime,
}

/// The round's blocking thread.
pub(crate) type Worker = JoinHandle<Result<WorkerDone>>;

/// What the blocking thread reports.
pub(crate) struct WorkerDone {
    report: SyncReport,
    received: HashMap<SpaceId, usize>,
    pending_in_round: HashMap<SpaceId, bool>,
    pending: Vec<SpaceId>,
    pushed: bool,
    /// Spaces fetched again from scratch in this round (see [`rejoin_if_retired`]).
    rejoined: HashMap<SpaceId, bool>,
}

enum FromWorker {
    Frame(Vec<u8>),
    /// A `Changed` arrived while the session ran.
    Pushed,
}

/// One space of the round and the server's answer for it.
#[derive(Clone)]
struct Planned {
    access: SpaceAccess,
    joined: bool,
}

/// Runs one round on `ws`. The blocking thread is kept in `worker` while it runs, so a caller
/// that drops this future (to suspend) can still wait for the thread to let go of the store.
pub(crate) async fn run_round(
    shared: &Arc<Shared>,
    ws: &mut Ws,
    worker: &mut Option<Worker>,
) -> Result<RoundOutcome> {
    let stall = shared.config.stall_timeout;
    let held = {
        let store = Arc::clone(&shared.store);
        blocking(move || store.spaces()).await??
    };
    let mut spaces = held.clone();
    for space in &shared.config.spaces_to_join {
        if !spaces.contains(space) {
            spaces.push(space.clone());
        }
    }
    let open = Message::Open { spaces: spaces.clone() }.encode()?;
    let open_bytes = open.len();
    ws.send(WsMessage::Binary(open.into())).await.map_err(lost)?;
    let (opened, opened_bytes) = loop {
        let frame = match tokio::time::timeout(stall, next_binary(ws)).await {
            Err(_) => return Err(Error::Timeout(stall)),
            Ok(frame) => frame?,
        };
        match Message::decode(&frame)? {
            Message::Opened { spaces } => break (spaces, frame.len()),
            // Changes announced before the server read `Open` are what this round brings.
            Message::Changed { .. } => {}
            other => {
                return Err(Error::Protocol(format!(
                    "the server answered Open with {}",
                    message_name(&other)
                )));
            }
        }
    };
    if opened.len() != spaces.len() || opened.iter().zip(&spaces).any(|(a, s)| a.space != *s) {
        return Err(Error::Protocol("the server's Opened does not match the spaces opened".into()));
    }
    let plan: Vec<Planned> = opened
        .into_iter()
        .map(|access| {
            let joined = !held.contains(&access.space) && access.access != Access::Denied;
            Planned { access, joined }
        })
        .collect();

    let (to_worker, from_ws) = mpsc::channel::<Vec<u8>>(16);
    let (to_ws, mut from_worker) = mpsc::channel::<FromWorker>(16);
    let thread_shared = Arc::clone(shared);
    let thread_plan = plan.clone();
    *worker = Some(tokio::task::spawn_blocking(move || {
        thread_shared.set_session_thread(Some(std::thread::current().id()));
        let result = run_session(&thread_shared, &thread_plan, from_ws, &to_ws);
        thread_shared.set_session_thread(None);
        result
    }));

    let deadline = tokio::time::sleep(stall);
    tokio::pin!(deadline);
    let mut late_push = false;
    // A frame read but not yet taken by the session thread. While one is held nothing more is
    // read (the socket pushes back on the server), but the thread's own frames keep flowing:
    // waiting for the thread while it waits for us to take its acknowledgements would
    // deadlock a long delta.
    let mut held: Option<Vec<u8>> = None;
    let network: Result<()> = async {
        loop {
            tokio::select! {
                out = from_worker.recv() => match out {
                    Some(FromWorker::Frame(frame)) => {
                        deadline.as_mut().reset(after(stall));
                        ws.send(WsMessage::Binary(frame.into())).await.map_err(lost)?;
                    }
                    Some(FromWorker::Pushed) => late_push = true,
                    // The session is over (finished or failed): its result tells which.
                    None => break,
                },
                permit = to_worker.reserve(), if held.is_some() => match (permit, held.take()) {
                    (Ok(permit), Some(frame)) => permit.send(frame),
                    // The session ended already: only a connection message can follow.
                    (Err(_), Some(frame)) => late_push |= is_push(&frame)?,
                    (_, None) => {}
                },
                incoming = next_binary(ws), if held.is_none() => {
                    deadline.as_mut().reset(after(stall));
                    held = Some(incoming?);
                }
                () = &mut deadline => return Err(Error::Timeout(stall)),
            }
        }
        ws.flush().await.map_err(lost)?;
        Ok(())
    }
    .await;
    // However the network side ended, the session thread is told (its channels close) and
    // waited for. When it failed on its own, its error says more than the connection's: a
    // device renewing its replica id sends `Error`, and the server closing the connection
    // behind it must not hide why.
    drop(to_worker);
    drop(from_worker);
    // Awaited in place: a caller that drops this future meanwhile (to suspend) still finds the
    // thread in `worker` and waits for it to let go of the store.
    let finished = match worker.as_mut() {
        Some(handle) => {
            let joined = handle.await;
            *worker = None;
            joined.map_err(|e| {
                Error::Storage(almanac_core::Error::Storage(format!("the sync thread failed: {e}")))
            })?
        }
        None => return Err(Error::Protocol("the sync thread is gone".into())),
    };
    let done = match (network, finished) {
        (_, Err(own)) if !matches!(own, Error::ConnectionLost(_)) => return Err(own),
        (Err(error), _) | (Ok(()), Err(error)) => return Err(error),
        (Ok(()), Ok(done)) => done,
    };
    // Checked only now: after a failed session the held frame may be one of its own, and the
    // session's error is the one to report.
    if let Some(frame) = held.take() {
        late_push |= is_push(&frame)?;
    }
    let summary = SyncSummary {
        spaces: plan
            .iter()
            .map(|p| SpaceSummary {
                space: p.access.space.clone(),
                access: p.access.access,
                records_received: done.received.get(&p.access.space).copied().unwrap_or(0),
                pending_local_changes: done
                    .pending_in_round
                    .get(&p.access.space)
                    .copied()
                    .unwrap_or(false),
                joined: p.joined,
                rejoined: done.rejoined.get(&p.access.space).copied().unwrap_or(false),
            })
            .collect(),
        records_sent: done.report.records_sent,
        records_received: done.report.records_changed,
        bytes_sent: open_bytes + done.report.bytes_sent,
        bytes_received: opened_bytes + done.report.bytes_received,
        clock_skew: done.report.clock_skew,
    };
    Ok(RoundOutcome {
        summary,
        pushed: late_push || done.pushed,
        pending: done.pending,
        finished_at: SystemTime::now(),
    })
}

/// The next binary message, answering pings on the way. A text message or a close ends the
/// connection with an error.
pub(crate) async fn next_binary(ws: &mut Ws) -> Result<Vec<u8>> {
    loop {
        match ws.next().await {
            None => return Err(Error::ConnectionLost("the server closed the connection".into())),
            Some(Err(error)) => return Err(lost(error)),
            Some(Ok(WsMessage::Binary(bytes))) => return Ok(bytes.into()),
            Some(Ok(WsMessage::Ping(_))) => {
                // The pong is queued by the WebSocket layer; flushing sends it now.
                ws.flush().await.map_err(lost)?;
            }
            Some(Ok(WsMessage::Pong(_) | WsMessage::Frame(_))) => {}
            Some(Ok(WsMessage::Text(_))) => {
                return Err(Error::Protocol("the server sent a text message".into()));
            }
            Some(Ok(WsMessage::Close(frame))) => {
                let reason = match frame {
                    Some(frame) if !frame.reason.is_empty() => {
                        format!("the server closed the connection ({})", frame.reason)
                    }
                    Some(frame) => {
                        format!("the server closed the connection (code {})", u16::from(frame.code))
                    }
                    None => "the server closed the connection".to_owned(),
                };
                return Err(Error::ConnectionLost(reason));
            }
        }
    }
}

/// Whether a frame received between rounds is a live push; anything else there is a protocol
/// error.
pub(crate) fn is_push(frame: &[u8]) -> Result<bool> {
    match Message::decode(frame)? {
        Message::Changed { .. } => Ok(true),
        other => Err(Error::Protocol(format!(
            "the server sent {} outside a round",
            message_name(&other)
        ))),
    }
}

fn message_name(message: &Message) -> &'static str {
    match message {
        Message::Hello { .. } => "Hello",
        Message::Want { .. } => "Want",
        Message::NeedFullVector { .. } => "NeedFullVector",
        Message::NotHeld { .. } => "NotHeld",
        Message::Chunk(_) => "a Chunk",
        Message::Ack { .. } => "Ack",
        Message::Error { .. } => "Error",
        Message::Open { .. } => "Open",
        Message::Opened { .. } => "Opened",
        Message::Changed { .. } => "Changed",
    }
}

/// Frames this small may be connection messages and are looked at before the session sees
/// them; chunks of data are larger.
const PEEK_BYTES: usize = 4096;

/// The blocking half of a round: joins the spaces to join, runs the session, then records what
/// the server acknowledged and collects garbage.
fn run_session(
    shared: &Shared,
    plan: &[Planned],
    mut from_ws: mpsc::Receiver<Vec<u8>>,
    to_ws: &mpsc::Sender<FromWorker>,
) -> Result<WorkerDone> {
    let store = &*shared.store;
    let own = store.replica_id();
    for planned in plan.iter().filter(|p| p.joined) {
        store.join_space(planned.access.space.as_str())?;
    }
    let synced: Vec<&Planned> = plan.iter().filter(|p| p.access.access != Access::Denied).collect();
    for planned in &synced {
        rejoin_if_retired(store, &planned.access)?;
    }
    // Everything written up to now goes out in this round (the delta is computed when the
    // server's Want arrives, later): once the round finishes, the server has it.
    let mut written: HashMap<SpaceId, u64> = HashMap::new();
    for planned in &synced {
        let space = &planned.access.space;
        written.insert(space.clone(), store.version_vector(space.as_str())?.get(&own));
    }
    let received: Arc<Mutex<HashMap<SpaceId, usize>>> = Arc::default();
    let counted = Arc::clone(&received);
    let thread = std::thread::current().id();
    let _subscription = store.subscribe(move |event| {
        if event.origin == Origin::Remote && std::thread::current().id() == thread {
            let mut counts = counted.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            *counts.entry(event.space.clone()).or_default() += event.records.len();
        }
    });
    let mut config = SessionConfig::new(synced.iter().map(|p| p.access.space.clone()).collect());
    // Pending changes count as taken only once the server has said so.
    config.confirm_delivery = true;
    config.max_frame_bytes = shared.config.max_frame_bytes;
    config.expected_peer = shared.memory().server;
    let mut session = Session::new(store, config)?;
    let mut pushed = false;
    loop {
        while let Some(frame) = session.poll_transmit() {
            to_ws
                .blocking_send(FromWorker::Frame(frame))
                .map_err(|_| Error::ConnectionLost("the round was cancelled".into()))?;
        }
        if session.is_finished() {
            break;
        }
        let Some(frame) = from_ws.blocking_recv() else {
            return Err(Error::ConnectionLost("the connection closed during the round".into()));
        };
        if frame.len() <= PEEK_BYTES
            && matches!(Message::decode(&frame), Ok(Message::Changed { .. }))
        {
            pushed = true;
            continue;
        }
        if let Err(error) = session.receive(&frame) {
            // Tell the server why (the session queued an Error frame), then give up.
            while let Some(frame) = session.poll_transmit() {
                let _ = to_ws.blocking_send(FromWorker::Frame(frame));
            }
            return Err(error.into());
        }
    }
    // Frames that came after the session's last one can only be pushes; the channel is
    // closed first so none slips in unseen (the async side handles what it cannot send).
    from_ws.close();
    while let Ok(frame) = from_ws.try_recv() {
        pushed |= is_push(&frame)?;
    }
    if pushed {
        let _ = to_ws.blocking_send(FromWorker::Pushed);
    }
    let report = session.report().clone();
    let server = session.peer();
    drop(session);
    // A space fetched again in this (or an interrupted earlier) round has all of the server's
    // copy now: this store's own unsent writes go on top, and out in the next round.
    let mut rejoined = HashMap::new();
    for planned in &synced {
        let space = &planned.access.space;
        if !report.not_held_by_peer.contains(space) && store.rejoin_pending(space.as_str())? {
            store.finish_rejoin(space.as_str())?;
            rejoined.insert(space.clone(), true);
        }
    }

    let mut pending_in_round = HashMap::new();
    {
        let mut memory = shared.memory();
        if server.is_some() {
            memory.server = server;
        }
        for planned in &synced {
            let space = &planned.access.space;
            let mut known = memory.acked.get(space).copied().unwrap_or(0);
            if planned.access.access == Access::ReadWrite {
                known = known.max(written.get(space).copied().unwrap_or(0));
            }
            if let Some(stable) = &planned.access.stable {
                known = known.max(stable.get(&own));
            }
            memory.acked.insert(space.clone(), known);
        }
    }
    for planned in plan {
        let space = &planned.access.space;
        let pending = store.holds_space(space.as_str())?
            && store.version_vector(space.as_str())?.get(&own)
                > shared.memory().acked.get(space).copied().unwrap_or(0);
        pending_in_round.insert(space.clone(), pending);
    }
    if let GarbageCollection::ServerStable { every, trash_retention } =
        shared.config.garbage_collection
    {
        for planned in &synced {
            if let Some(stable) = &planned.access.stable {
                collect_garbage(shared, &planned.access.space, stable, every, trash_retention);
            }
        }
    }
    let received = received.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    Ok(WorkerDone {
        report,
        received,
        pending_in_round,
        pending: shared.pending_spaces()?,
        pushed,
        rejoined,
    })
}

/// The server leaves a device that has been silent too long (or that an admin retired) out of
/// a space's stable point, so the others may purge what it has not seen. The device notices
/// when the stable point claims writes it lacks, and fetches the space again from scratch
/// before this round; its own unsent writes wait aside and are written again once the fresh
/// copy is in (`Store::rejoin_space`, decision 0025). A device holding nothing of the space
/// yet has nothing to fetch again. The entry of an id this store gave up (a copy of it wrote
/// under it, decision 0025) is left out: the store lowered it on purpose, to receive the other
/// copy's writes, not because it was left out.
fn rejoin_if_retired(store: &Store, access: &SpaceAccess) -> Result<()> {
    let Some(stable) = &access.stable else { return Ok(()) };
    let space = access.space.as_str();
    let seen = store.version_vector(space)?;
    let given_up = match store.incarnation() {
        Incarnation::Renewed { previous } => Some(previous),
        Incarnation::Continued => None,
    };
    let others: VersionVector = stable.iter().filter(|(r, _)| Some(*r) != given_up).collect();
    if !seen.is_empty() && !seen.dominates(&others) {
        store.rejoin_space(space)?;
    }
    Ok(())
}

/// Drops what every replica of the space has seen, at most once per `every` per space. A
/// failure is left for the next time: the data synced either way.
fn collect_garbage(
    shared: &Shared,
    space: &SpaceId,
    stable: &VersionVector,
    every: Duration,
    trash_retention: Duration,
) {
    let due = shared.memory().collected.get(space).is_none_or(|at| at.elapsed() >= every);
    if !due {
        return;
    }
    let store = &shared.store;
    // The stable point is what the server's devices have seen; this store has all of it after
    // the round, unless the space changed under it (left and joined again): then skip.
    let seen = match store.version_vector(space.as_str()) {
        Ok(seen) => seen,
        Err(_) => return,
    };
    if !seen.dominates(stable) {
        return;
    }
    if store.collect_garbage(space.as_str(), stable, trash_retention).is_ok() {
        shared.memory().collected.insert(space.clone(), Instant::now());
    }
}

/// Runs blocking store work off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> almanac_core::Result<T> + Send + 'static,
) -> Result<almanac_core::Result<T>> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        Error::Storage(almanac_core::Error::Storage(format!("a storage task failed: {e}")))
    })
}

/// The instant `delay` from now; a delay too long to represent means "never" (a year).
pub(crate) fn after(delay: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(delay)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 24 * 60 * 60)))
        .unwrap_or(now)
}
