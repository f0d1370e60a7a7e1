//! The live sync: one task that stays connected, runs a round whenever the server pushes
//! (`Changed`) or the store commits (debounced), reconnects with backoff, and reports its
//! status. The app steers it through a [`LiveHandle`].

use std::sync::{Arc, Mutex, Weak};

use almanac_core::{Origin, Subscription};
use tokio::sync::{Notify, broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::connection::{self, Ws};
use crate::error::{Error, Result};
use crate::round::{self, Shared, blocking};
use crate::status::{LiveEvent, StatusEvent, SyncStatus};

enum Control {
    Suspend(oneshot::Sender<()>),
    Resume,
    SyncNow,
    SetToken(String),
    Stop,
}

/// Steers a running live sync. Dropping it stops the sync (the connection is closed and the
/// round in progress abandoned, to resume next time); [`LiveHandle::stop`] also waits for that.
pub struct LiveHandle {
    control: mpsc::UnboundedSender<Control>,
    status: watch::Receiver<SyncStatus>,
    events: broadcast::Sender<LiveEvent>,
    first_events: Mutex<Option<broadcast::Receiver<LiveEvent>>>,
    task: JoinHandle<()>,
}

impl LiveHandle {
    /// The sync status, updated as it changes (`changed().await` to wait for the next).
    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }

    /// The live sync's events. The first call receives every event since the start; later
    /// calls receive those from then on. A receiver that falls more than 256 events behind
    /// loses the oldest ones (`RecvError::Lagged`).
    pub fn events(&self) -> broadcast::Receiver<LiveEvent> {
        let first =
            self.first_events.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        first.unwrap_or_else(|| self.events.subscribe())
    }

    /// Releases the connection and the store before the app is suspended: the round in
    /// progress is abandoned (what it staged stays, the next round resumes it), its thread has
    /// let go of the store, and the connection is closed when this returns. Local writes keep
    /// waiting in the store until [`LiveHandle::resume`].
    pub async fn suspend(&self) {
        let (ack, done) = oneshot::channel();
        if self.control.send(Control::Suspend(ack)).is_ok() {
            // An error means the task ended: nothing holds the store any more either.
            let _ = done.await;
        }
    }

    /// Connects again after [`LiveHandle::suspend`], or at once when waiting to reconnect.
    pub fn resume(&self) {
        let _ = self.control.send(Control::Resume);
    }

    /// Runs a round now (when connected), or reconnects now (when waiting to).
    pub fn sync_now(&self) {
        let _ = self.control.send(Control::SyncNow);
    }

    /// Uses a new token from the next connection on, and reconnects at once if the old one was
    /// refused.
    pub fn set_token(&self, token: impl Into<String>) {
        let _ = self.control.send(Control::SetToken(token.into()));
    }

    /// Stops the live sync and waits until the connection is closed and the store released.
    pub async fn stop(self) {
        let _ = self.control.send(Control::Stop);
        let _ = self.task.await;
    }
}

pub(crate) fn start(shared: Arc<Shared>) -> Result<LiveHandle> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
    let (control, control_rx) = mpsc::unbounded_channel();
    let (status_tx, status) = watch::channel(SyncStatus::default());
    let (events, first) = broadcast::channel(256);
    let local = Arc::new(Notify::new());
    let subscription = subscribe(&shared, Arc::clone(&local));
    let backoff = Backoff::new(shared.config.reconnect_initial, shared.config.reconnect_max);
    let live = Live {
        token: shared.config.token.clone(),
        shared,
        control: control_rx,
        status: status_tx,
        events: events.clone(),
        local,
        backoff,
        suspended: false,
        connected_before: false,
        _subscription: subscription,
    };
    let task = runtime.spawn(live.run());
    Ok(LiveHandle { control, status, events, first_events: Mutex::new(Some(first)), task })
}

/// Wakes the live task when the store changes by anything but this client's own rounds: the
/// app's commits, and changes from other channels (a peer synced directly) to pass on.
fn subscribe(shared: &Arc<Shared>, local: Arc<Notify>) -> Subscription {
    let weak: Weak<Shared> = Arc::downgrade(shared);
    shared.store.subscribe(move |event| {
        let ours = event.origin == Origin::Remote
            && weak.upgrade().is_some_and(|shared| shared.is_session_thread());
        if !ours {
            local.notify_one();
        }
    })
}

/// How a connection ended.
enum Ended {
    Stop,
    Suspend(oneshot::Sender<()>),
    Failed(Error),
}

/// What to do after a failure.
enum Next {
    Connect,
    Stop,
}

struct Live {
    shared: Arc<Shared>,
    control: mpsc::UnboundedReceiver<Control>,
    status: watch::Sender<SyncStatus>,
    events: broadcast::Sender<LiveEvent>,
    local: Arc<Notify>,
    token: String,
    backoff: Backoff,
    suspended: bool,
    connected_before: bool,
    _subscription: Subscription,
}

impl Live {
    async fn run(mut self) {
        self.update_pending().await;
        loop {
            if self.suspended && matches!(self.wait_while_suspended().await, Next::Stop) {
                return;
            }
            self.set(StatusEvent::Connecting);
            let shared = Arc::clone(&self.shared);
            let token = self.token.clone();
            let attempt = async move {
                let config = &shared.config;
                connection::connect(
                    &shared.endpoint,
                    &token,
                    config.max_frame_bytes,
                    config.connect_timeout,
                )
                .await
            };
            tokio::pin!(attempt);
            let connected = loop {
                tokio::select! {
                    result = &mut attempt => break Some(result),
                    control = self.control.recv() => match control {
                        None | Some(Control::Stop) => {
                            self.set(StatusEvent::Disconnected);
                            return;
                        }
                        Some(Control::Suspend(ack)) => {
                            self.suspended = true;
                            self.set(StatusEvent::Disconnected);
                            let _ = ack.send(());
                            break None;
                        }
                        Some(Control::SetToken(token)) => self.token = token,
                        Some(Control::Resume | Control::SyncNow) => {}
                    },
                    () = self.local.notified() => self.update_pending().await,
                }
            };
            let mut ws = match connected {
                None => continue,
                Some(Ok(ws)) => ws,
                Some(Err(error)) => match self.after_failure(error).await {
                    Next::Connect => continue,
                    Next::Stop => return,
                },
            };
            let _ = self.events.send(LiveEvent::Connected { reconnected: self.connected_before });
            self.connected_before = true;
            let ended = self.connected(&mut ws).await;
            connection::close(&mut ws).await;
            match ended {
                Ended::Stop => {
                    self.set(StatusEvent::Disconnected);
                    return;
                }
                Ended::Suspend(ack) => {
                    self.suspended = true;
                    self.set(StatusEvent::Disconnected);
                    let _ = ack.send(());
                }
                // The store found a copy of itself writing under its id and moved to a fresh
                // one, keeping its writes (decision 0025): nothing failed, reconnect at once.
                Ended::Failed(Error::Storage(almanac_core::Error::ReplicaRenewed { .. })) => {}
                Ended::Failed(error) => {
                    if matches!(self.after_failure(error).await, Next::Stop) {
                        return;
                    }
                }
            }
        }
    }

    /// Runs rounds on an open connection until it fails or the app stops or suspends.
    async fn connected(&mut self, ws: &mut Ws) -> Ended {
        let mut round_due = true;
        let mut debounce_until: Option<Instant> = None;
        loop {
            if round_due {
                round_due = false;
                self.set(StatusEvent::RoundStarted);
                let mut worker = None;
                let outcome = {
                    let round = round::run_round(&self.shared, ws, &mut worker);
                    tokio::pin!(round);
                    loop {
                        tokio::select! {
                            result = &mut round => break Ok(result),
                            control = self.control.recv() => match control {
                                None | Some(Control::Stop) => break Err(Ended::Stop),
                                Some(Control::Suspend(ack)) => break Err(Ended::Suspend(ack)),
                                Some(Control::SyncNow) => round_due = true,
                                Some(Control::SetToken(token)) => self.token = token,
                                Some(Control::Resume) => {}
                            },
                            () = self.local.notified() => {
                                debounce_until = Some(round::after(self.shared.config.debounce));
                            }
                        }
                    }
                };
                if let Some(worker) = worker {
                    // The round was abandoned: wait until its thread has let go of the store.
                    let _ = worker.await;
                }
                match outcome {
                    Err(ended) => return ended,
                    Ok(Err(error)) => return Ended::Failed(error),
                    Ok(Ok(outcome)) => {
                        self.backoff.reset();
                        round_due |= outcome.pushed;
                        // The event first: whoever sees the status change can rely on the
                        // round's event being there already.
                        let _ = self.events.send(LiveEvent::Synced(Arc::new(outcome.summary)));
                        self.set(StatusEvent::RoundFinished {
                            at: outcome.finished_at,
                            pending: outcome.pending,
                        });
                    }
                }
                continue;
            }
            let idle = self.shared.config.idle_timeout;
            tokio::select! {
                frame = tokio::time::timeout(idle, round::next_binary(ws)) => {
                    match frame {
                        Err(_) => return Ended::Failed(Error::Timeout(idle)),
                        Ok(Err(error)) => return Ended::Failed(error),
                        Ok(Ok(frame)) => match round::is_push(&frame) {
                            Ok(push) => round_due = push,
                            Err(error) => return Ended::Failed(error),
                        },
                    }
                }
                () = self.local.notified() => {
                    debounce_until = Some(round::after(self.shared.config.debounce));
                    self.update_pending().await;
                }
                () = sleep_until(debounce_until), if debounce_until.is_some() => {
                    debounce_until = None;
                    round_due = true;
                }
                control = self.control.recv() => match control {
                    None | Some(Control::Stop) => return Ended::Stop,
                    Some(Control::Suspend(ack)) => return Ended::Suspend(ack),
                    Some(Control::SyncNow) => round_due = true,
                    Some(Control::SetToken(token)) => self.token = token,
                    Some(Control::Resume) => {}
                },
            }
        }
    }

    /// Reports a failure, then waits: the backoff delay for errors worth retrying, or until
    /// the app acts (a new token, resume, stop) for the others.
    async fn after_failure(&mut self, error: Error) -> Next {
        let retrying = error.is_retryable();
        let error = Arc::new(error);
        self.set(StatusEvent::Failed(Arc::clone(&error)));
        let _ = self.events.send(LiveEvent::Disconnected { error, retrying });
        let wait = self.backoff.next_delay();
        let until = retrying.then(|| round::after(wait));
        loop {
            tokio::select! {
                () = sleep_until(until), if until.is_some() => return Next::Connect,
                control = self.control.recv() => match control {
                    None | Some(Control::Stop) => return Next::Stop,
                    Some(Control::Suspend(ack)) => {
                        self.suspended = true;
                        let _ = ack.send(());
                        return Next::Connect;
                    }
                    Some(Control::SetToken(token)) => {
                        self.token = token;
                        return Next::Connect;
                    }
                    Some(Control::Resume | Control::SyncNow) => return Next::Connect,
                },
                () = self.local.notified() => self.update_pending().await,
            }
        }
    }

    async fn wait_while_suspended(&mut self) -> Next {
        loop {
            tokio::select! {
                control = self.control.recv() => match control {
                    None | Some(Control::Stop) => return Next::Stop,
                    Some(Control::Suspend(ack)) => {
                        let _ = ack.send(());
                    }
                    Some(Control::SetToken(token)) => self.token = token,
                    Some(Control::Resume | Control::SyncNow) => {
                        self.suspended = false;
                        self.backoff.reset();
                        return Next::Connect;
                    }
                },
                () = self.local.notified() => self.update_pending().await,
            }
        }
    }

    fn set(&self, event: StatusEvent) {
        self.status.send_modify(|status| status.apply(event));
    }

    /// Recounts the spaces with unacknowledged local changes (after a commit, say).
    async fn update_pending(&self) {
        let shared = Arc::clone(&self.shared);
        if let Ok(Ok(pending)) = blocking(move || {
            shared.pending_spaces().map_err(|e| match e {
                Error::Storage(e) => e,
                other => almanac_core::Error::Storage(other.to_string()),
            })
        })
        .await
        {
            self.set(StatusEvent::Pending(pending));
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
