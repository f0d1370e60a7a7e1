//! One device's WebSocket connection after the upgrade: reads frames, starts a round for each
//! `Open` (run by `round.rs` on a blocking thread), hands the round its frames, sends live
//! pushes when no round runs, pings, and enforces the per-connection limits.
//!
//! Three parts run at once: this task reads; a writer task sends everything queued for the
//! device (in order, over an unbounded queue: the round never waits for the network, so the
//! server always keeps reading and two sides sending large deltas at each other cannot
//! deadlock; what is queued is what the session has already produced); and the round's thread
//! runs the session. A frame read during a round waits in `waiting` until the round takes it,
//! and nothing more is read meanwhile, so a slow round slows the device down instead of filling
//! memory. Frames the round was handed but did not read (the device's next `Open`, sent as soon
//! as its own session ended) come back with its outcome and are handled next.

use std::collections::VecDeque;
use std::error::Error as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use almanac_core::sync::{ErrorCode, Message as Frame};
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinHandle};
use tokio::time::{Instant, MissedTickBehavior};
use tracing::Instrument;

use crate::metrics::Failure;
use crate::round::{self, RoundEnd, RoundOutcome};
use crate::server::{ConnectionSlot, Shared};

/// How long a closing connection waits for the device's close (so our last frames reach it
/// before the socket goes away) and for the writer to finish.
const LINGER: Duration = Duration::from_secs(2);

/// Frames a round may have waiting for it: enough to keep the session busy while acks and
/// chunks stream in, few enough that a slow disk pushes back on the device (with 8 MiB frames,
/// at most 40 MiB per connection are read but not yet handled: these and one waiting).
const ROUND_QUEUE: usize = 4;

/// What the writer task sends.
pub(crate) enum Outgoing {
    /// A protocol frame (one binary message).
    Frame(Vec<u8>),
    /// A WebSocket ping.
    Ping,
    /// A close frame; the writer stops after it.
    Close(u16, &'static str),
}

/// When the connection last showed life: a frame or pong from the device, or a frame of a
/// round for it. Shared with the round's thread.
pub(crate) struct Activity {
    opened: Instant,
    last_millis: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self { opened: Instant::now(), last_millis: AtomicU64::new(0) }
    }

    /// Something happened now.
    pub fn touch(&self) {
        let millis = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_millis.fetch_max(millis, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.opened + Duration::from_millis(self.last_millis.load(Ordering::Relaxed))
    }
}

/// A token bucket: `rate` messages a second sustained, bursts of one second's worth.
struct RateLimit {
    rate: f64,
    tokens: f64,
    refilled: Instant,
}

impl RateLimit {
    fn new(per_second: u32) -> Self {
        let rate = f64::from(per_second.max(1));
        Self { rate, tokens: rate, refilled: Instant::now() }
    }

    fn allow(&mut self) -> bool {
        let now = Instant::now();
        let earned = now.duration_since(self.refilled).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.rate);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// How the connection ends.
enum End {
    /// The device closed it or the network failed: nothing more to send.
    Gone,
    /// The server closes it with this code and reason (after any `Error` frame already queued).
    Close(u16, &'static str),
}

/// The WebSocket close code for a failure.
fn close_code(failure: Failure) -> u16 {
    match failure {
        Failure::Oversized => 1009,
        Failure::ImplausibleVector
        | Failure::TooManySpaces
        | Failure::RateLimited
        | Failure::Refused
        | Failure::Unauthorized
        | Failure::TooManyConnections => 1008,
        Failure::Storage => 1011,
        Failure::DeviceError => 1000,
        Failure::IdleTimeout => 1001,
        Failure::Malformed
        | Failure::Unexpected
        | Failure::SpaceNotOpened
        | Failure::NoCommonVersion => 1002,
    }
}

/// Serves one upgraded connection until it ends.
pub(crate) async fn serve(socket: WebSocket, shared: Arc<Shared>, slot: ConnectionSlot) {
    let registration = shared.pushes.register();
    let span = tracing::info_span!("connection", id = registration.id(), user = slot.user());
    async move {
        shared.metrics.connection_opened();
        tracing::info!("connected");
        let (sink, mut stream) = socket.split();
        let (out, outgoing) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write(sink, outgoing, Arc::clone(&shared)).in_current_span());
        let mut connection = Connection {
            shared: Arc::clone(&shared),
            user: slot.user().to_owned(),
            registration,
            out,
            activity: Arc::new(Activity::new()),
        };
        let end = connection.run(&mut stream).await;
        connection.close(end, &mut stream, writer).await;
        shared.metrics.connection_closed();
        tracing::info!("disconnected");
        drop(slot);
    }
    .instrument(span)
    .await;
}

struct Connection {
    shared: Arc<Shared>,
    user: String,
    registration: crate::push::Registration,
    out: mpsc::UnboundedSender<Outgoing>,
    activity: Arc<Activity>,
}

/// Waits for the round's thread, or forever when no round runs.
async fn join(worker: &mut Option<JoinHandle<RoundOutcome>>) -> Result<RoundOutcome, JoinError> {
    match worker {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    }
}

/// Hands the first waiting frame to the round once its queue has room; `false` if the round
/// no longer takes frames (the frame keeps waiting). Waits forever when no round takes frames.
async fn hand_over(to_round: &Option<mpsc::Sender<Bytes>>, waiting: &mut VecDeque<Bytes>) -> bool {
    let Some(sender) = to_round else { return std::future::pending().await };
    match sender.reserve().await {
        Ok(permit) => {
            if let Some(frame) = waiting.pop_front() {
                permit.send(frame);
            }
            true
        }
        Err(_) => false,
    }
}

impl Connection {
    async fn run(&mut self, stream: &mut SplitStream<WebSocket>) -> End {
        let limits = self.shared.limits.clone();
        let mut stopping = self.shared.stopping.subscribe();
        let mut shutting_down = *stopping.borrow_and_update();
        if shutting_down {
            return End::Close(1001, "the server is shutting down");
        }
        let mut ping =
            tokio::time::interval_at(Instant::now() + limits.ping_interval, limits.ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let idle = tokio::time::sleep(limits.idle_timeout);
        tokio::pin!(idle);
        let mut rate = RateLimit::new(limits.max_frames_per_second);
        // The round in progress, in parts the select below can borrow one at a time: its
        // thread, its queue (gone once it stops taking frames), and frames read but not yet
        // queued (no more is read until they are).
        let mut worker: Option<JoinHandle<RoundOutcome>> = None;
        let mut to_round: Option<mpsc::Sender<Bytes>> = None;
        let mut waiting: VecDeque<Bytes> = VecDeque::new();

        loop {
            tokio::select! {
                biased;
                _ = stopping.changed(), if !shutting_down => {
                    shutting_down = true;
                    if worker.is_none() {
                        return End::Close(1001, "the server is shutting down");
                    }
                }
                outcome = join(&mut worker), if worker.is_some() => {
                    worker = None;
                    to_round = None;
                    let outcome = match outcome {
                        Ok(outcome) => outcome,
                        Err(error) => {
                            tracing::error!(%error, "a round's thread failed");
                            self.shared.metrics.failed(Failure::Storage);
                            return End::Close(1011, "internal error");
                        }
                    };
                    for frame in outcome.leftover.iter().rev() {
                        waiting.push_front(frame.clone());
                    }
                    if let Some(end) = self.round_ended(&outcome) {
                        return end;
                    }
                    if shutting_down {
                        return End::Close(1001, "the server is shutting down");
                    }
                    self.push_pending();
                    // The device may already have sent the next Open.
                    if let Some(frame) = waiting.pop_front() {
                        let (thread, queue) = self.start_round(frame);
                        (worker, to_round) = (Some(thread), Some(queue));
                    }
                }
                handed = hand_over(&to_round, &mut waiting), if !waiting.is_empty() => {
                    if !handed {
                        // The round stopped taking frames; its outcome comes next.
                        to_round = None;
                    }
                }
                message = stream.next(), if waiting.is_empty() => {
                    let message = match message {
                        None => {
                            self.finish_round(worker.take(), to_round.take()).await;
                            return End::Gone;
                        }
                        Some(Err(error)) => {
                            self.finish_round(worker.take(), to_round.take()).await;
                            return self.read_failed(&error);
                        }
                        Some(Ok(message)) => message,
                    };
                    self.activity.touch();
                    if !rate.allow() {
                        return self.fail(
                            Failure::RateLimited,
                            ErrorCode::Refused,
                            "more frames per second than the server allows",
                        );
                    }
                    match message {
                        Message::Binary(frame) => {
                            self.shared.metrics.frame_in(frame.len());
                            if worker.is_some() {
                                waiting.push_back(frame);
                            } else {
                                let (thread, queue) = self.start_round(frame);
                                (worker, to_round) = (Some(thread), Some(queue));
                            }
                        }
                        Message::Text(_) => {
                            return self.fail(
                                Failure::Malformed,
                                ErrorCode::Malformed,
                                "text messages are not part of the protocol",
                            );
                        }
                        Message::Ping(_) | Message::Pong(_) => {}
                        // Answered with our close (which also sends tungstenite's reply).
                        Message::Close(_) => {
                            self.finish_round(worker.take(), to_round.take()).await;
                            return End::Close(1000, "closed");
                        }
                    }
                }
                () = self.registration.published(), if worker.is_none() => self.push_pending(),
                _ = ping.tick() => {
                    let _ = self.out.send(Outgoing::Ping);
                }
                () = &mut idle => {
                    let deadline = self.activity.last() + limits.idle_timeout;
                    if deadline <= Instant::now() {
                        self.shared.metrics.failed(Failure::IdleTimeout);
                        tracing::info!("closing an idle connection");
                        return End::Close(close_code(Failure::IdleTimeout), "idle for too long");
                    }
                    idle.as_mut().reset(deadline);
                }
            }
        }
    }

    /// Starts a round with `frame`, which should be an `Open`: the round's thread decodes and
    /// checks it (decoding, up to the frame limit, is kept off the async threads).
    fn start_round(&self, frame: Bytes) -> (JoinHandle<RoundOutcome>, mpsc::Sender<Bytes>) {
        let (queue, inbound) = mpsc::channel(ROUND_QUEUE);
        let shared = Arc::clone(&self.shared);
        let user = self.user.clone();
        let connection = self.registration.id();
        let out = self.out.clone();
        let activity = Arc::clone(&self.activity);
        let span = tracing::Span::current();
        let thread = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            round::run(&shared, &user, connection, &frame, inbound, &out, &activity)
        });
        (thread, queue)
    }

    /// The device is gone (or closing) while a round's thread may still be finishing — a
    /// `sync_once` closes right after its last frame. The round is told no more frames come
    /// and awaited, so what it applied is still pushed to the other devices.
    async fn finish_round(
        &self,
        worker: Option<JoinHandle<RoundOutcome>>,
        to_round: Option<mpsc::Sender<Bytes>>,
    ) {
        drop(to_round);
        if let Some(worker) = worker {
            match worker.await {
                Ok(outcome) => {
                    let _ = self.round_ended(&outcome);
                }
                Err(error) => tracing::error!(%error, "a round's thread failed"),
            }
        }
    }

    /// Handles a finished round: pushes what it changed to the other connections; `Some` if
    /// the connection ends.
    fn round_ended(&self, outcome: &RoundOutcome) -> Option<End> {
        if !outcome.changed.is_empty() {
            self.shared.pushes.publish(self.registration.id(), &outcome.changed);
        }
        match outcome.end {
            RoundEnd::Finished => None,
            RoundEnd::Failed(failure) => {
                self.shared.metrics.failed(failure);
                Some(End::Close(close_code(failure), "the round failed"))
            }
            RoundEnd::Abandoned => Some(End::Gone),
        }
    }

    /// Sends `Changed` for the spaces changed elsewhere since the last push, if any.
    fn push_pending(&self) {
        let spaces = self.registration.take();
        if spaces.is_empty() {
            return;
        }
        tracing::debug!(spaces = spaces.len(), "live push");
        self.send(&Frame::Changed { spaces });
        self.shared.metrics.push_sent();
    }

    fn send(&self, frame: &Frame) {
        match frame.encode() {
            Ok(bytes) => {
                let _ = self.out.send(Outgoing::Frame(bytes));
            }
            Err(error) => tracing::error!(%error, "cannot encode a frame"),
        }
    }

    /// Sends the device an `Error` and ends the connection.
    fn fail(&self, failure: Failure, code: ErrorCode, message: &str) -> End {
        self.shared.metrics.failed(failure);
        tracing::info!(kind = failure.label(), message, "closing the connection");
        self.send(&Frame::Error { code, message: message.to_owned() });
        End::Close(close_code(failure), failure.label())
    }

    fn read_failed(&self, error: &axum::Error) -> End {
        let oversized = error
            .source()
            .and_then(|source| source.downcast_ref::<tungstenite::Error>())
            .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)));
        if oversized {
            return self.fail(
                Failure::Oversized,
                ErrorCode::Malformed,
                "a frame is larger than the server's limit",
            );
        }
        tracing::debug!(%error, "the connection failed");
        End::Gone
    }

    /// Ends the connection: a close frame after whatever is queued, then a short wait for the
    /// device's answering close so the last frames are not cut off by the socket closing.
    async fn close(self, end: End, stream: &mut SplitStream<WebSocket>, writer: JoinHandle<()>) {
        if let End::Close(code, reason) = end {
            let _ = self.out.send(Outgoing::Close(code, reason));
            let _ = tokio::time::timeout(LINGER, async {
                while let Some(Ok(message)) = stream.next().await {
                    if matches!(message, Message::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }
        drop(self.out);
        let abort = writer.abort_handle();
        if tokio::time::timeout(LINGER, writer).await.is_err() {
            abort.abort();
        }
    }
}

/// The writer task: sends what is queued, in order, until a close or a failed send.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut outgoing: mpsc::UnboundedReceiver<Outgoing>,
    shared: Arc<Shared>,
) {
    while let Some(next) = outgoing.recv().await {
        let sent = match next {
            Outgoing::Frame(frame) => {
                let bytes = frame.len();
                let sent = sink.send(Message::Binary(Bytes::from(frame))).await;
                if sent.is_ok() {
                    shared.metrics.frame_out(bytes);
                }
                sent
            }
            Outgoing::Ping => sink.send(Message::Ping(Bytes::new())).await,
            Outgoing::Close(code, reason) => {
                let frame = CloseFrame { code, reason: reason.into() };
                let _ = sink.send(Message::Close(Some(frame))).await;
                return;
            }
        };
        if sent.is_err() {
            return;
        }
    }
}
