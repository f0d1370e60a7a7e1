//! The store object Swift and Kotlin hold: the calendar API, change subscriptions and sync.
//!
//! Every method is one user action or one view and delegates to one core (or client) call.
//! Blocking methods do SQLite work on the caller's thread (the platform layers call them off
//! the main thread); the network methods are async.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use almanac_client::{Client, ClientConfig, LiveHandle};
use almanac_core::calendar::api::{EventEdit, NewEvent};
use almanac_core::calendar::event::{CALENDARS, EVENTS, Span};
use almanac_core::calendar::time::{TimeValue, time_zone};
use almanac_core::{ChangeEvent, DeviceMarker, Origin, SpaceId, Store, StoreOptions, Value};
use tokio::sync::watch;

use crate::error::{AlmanacError, guard};
use crate::model::{
    CalendarInfo, ConflictPath, ConflictResolution, EditSpan, EventChanges, EventConflictInfo,
    EventDetails, ImportReportInfo, NewEventInput, OccurrenceInfo, OccurrenceQuery,
    OrphanedOverride, conflict_entry, describe_all,
};
use crate::subscription::Subscription;
use crate::sync::{
    CalendarShare, ShareOutcome, SyncConfig, SyncReport, SyncState, SyncStatusInfo, epoch_millis,
    on_runtime, runtime,
};
use crate::time::{EventTime, instant};
use crate::value::{FieldValue, RecordSnapshot};

/// The space the record-level calls below write in; calendars are spaces of their own.
const RECORDS_SPACE: &str = "default";

/// Told after every commit that changed something, local or synced.
#[uniffi::export(callback_interface)]
pub trait ChangeListener: Send + Sync {
    /// Called in commit order, one call at a time, on the committing thread: return quickly
    /// (hand the change to your own queue).
    fn on_change(&self, change: StoreChange);
}

/// Told how an import progresses.
#[uniffi::export(callback_interface)]
pub trait ImportProgressListener: Send + Sync {
    /// `done` of `total` events processed.
    fn on_progress(&self, done: u64, total: u64);
}

/// Told each new sync status.
#[uniffi::export(callback_interface)]
pub trait SyncStatusListener: Send + Sync {
    /// The current status (first call right away), then each change.
    fn on_status(&self, status: SyncStatusInfo);
}

/// Where a change came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum ChangeOrigin {
    /// Written on this device.
    Local,
    /// Received by sync.
    Remote,
}

/// One committed change.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct StoreChange {
    /// Local or synced.
    pub origin: ChangeOrigin,
    /// The calendar (space) it happened in.
    pub calendar: String,
    /// Events that changed.
    pub event_ids: Vec<String>,
    /// Whether the calendar's own settings (name, colour, zone) changed.
    pub calendar_changed: bool,
}

impl From<&ChangeEvent> for StoreChange {
    fn from(event: &ChangeEvent) -> Self {
        let of = |collection: &'static str| {
            event.records.iter().filter(move |k| k.collection == collection)
        };
        StoreChange {
            origin: match event.origin {
                Origin::Local => ChangeOrigin::Local,
                Origin::Remote => ChangeOrigin::Remote,
            },
            calendar: event.space.to_string(),
            event_ids: of(EVENTS).map(|k| k.id.clone()).collect(),
            calendar_changed: of(CALENDARS).next().is_some(),
        }
    }
}

/// The network side: configured once, then used for `sync_once` and the live sync.
#[derive(Default)]
struct SyncSlot {
    config: Option<SyncConfig>,
    /// Shared calendars to ask the server for on the next rounds.
    join: Vec<SpaceId>,
    client: Option<Client>,
    live: Option<Arc<LiveHandle>>,
    /// Copies the live sync's status into `AlmanacStore::status`.
    forward: Option<tokio::task::AbortHandle>,
}

/// A replica persisted in one file, with its calendars, events and sync. Thread-safe: share
/// one instance across the app.
#[derive(uniffi::Object)]
pub struct AlmanacStore {
    /// `None` once closed; every call then fails with [`AlmanacError::Closed`].
    inner: RwLock<Option<Arc<Store>>>,
    /// Fixed when the file is opened (a copied store takes a new one then, never later).
    replica_id: String,
    sync: Mutex<SyncSlot>,
    /// The status apps observe. Ours rather than the live handle's, so listeners outlive a
    /// stop/start and `sync_once` can report too.
    status: watch::Sender<SyncStatusInfo>,
}

/// Locks recover from poisoning: a panic while holding one was caught at the boundary and
/// what it guards (handles and settings) is consistent between statements.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AlmanacStore {
    fn wrap(store: Store) -> Result<Arc<Self>, AlmanacError> {
        Ok(Arc::new(Self {
            replica_id: store.replica_id().to_string(),
            inner: RwLock::new(Some(Arc::new(store))),
            sync: Mutex::new(SyncSlot::default()),
            status: watch::Sender::new(SyncStatusInfo::default()),
        }))
    }

    fn store(&self) -> Result<Arc<Store>, AlmanacError> {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(AlmanacError::closed)
    }

    /// Runs a call against the open store, panics caught.
    fn with<T>(
        &self,
        call: impl FnOnce(&Store) -> Result<T, AlmanacError>,
    ) -> Result<T, AlmanacError> {
        guard(|| call(&*self.store()?))
    }

    fn rebuild_client(&self, slot: &mut SyncSlot) -> Result<(), AlmanacError> {
        let Some(config) = &slot.config else { return Ok(()) };
        let mut client_config = ClientConfig::new(&config.server_url, &config.token);
        client_config.spaces_to_join = slot.join.clone();
        slot.client = Some(Client::new(self.store()?, client_config)?);
        Ok(())
    }

    fn stop_live(&self, slot: &mut SyncSlot) -> Option<Arc<LiveHandle>> {
        if let Some(forward) = slot.forward.take() {
            forward.abort();
        }
        let live = slot.live.take();
        self.status.send_modify(|s| s.state = SyncState::Offline);
        live
    }

    fn calendar_info(store: &Store, id: &str) -> Result<Option<CalendarInfo>, AlmanacError> {
        let Some(record) = store.get(id, CALENDARS, id)? else { return Ok(None) };
        let text = |name: &str| record.value(name).and_then(Value::as_text).map(str::to_owned);
        Ok(Some(CalendarInfo {
            id: id.to_owned(),
            name: text("name"),
            color: text("color"),
            time_zone: text("time_zone"),
        }))
    }

    fn set_calendar_field(&self, id: &str, field: &str, value: Value) -> Result<(), AlmanacError> {
        self.with(|store| {
            if Self::calendar_info(store, id)?.is_none() {
                return Err(AlmanacError::not_found(format!("there is no calendar '{id}'")));
            }
            store.transaction(id).set(CALENDARS, id, field, value).commit()?;
            Ok(())
        })
    }
}

#[uniffi::export]
impl AlmanacStore {
    /// Opens the store at `path`, creating it if missing.
    #[uniffi::constructor]
    pub fn open(path: String) -> Result<Arc<Self>, AlmanacError> {
        guard(|| Self::wrap(Store::open(path)?))
    }

    /// Opens the store at `path` with its device marker at `device_marker` (a file in storage
    /// that backups and device transfers skip: iOS `isExcludedFromBackup`, Android
    /// `getNoBackupFilesDir()`), so a store restored from a backup is told from the running
    /// one (decision 0013). `open` keeps the marker beside the store (`<path>.device`).
    #[uniffi::constructor]
    pub fn open_with_device_marker(
        path: String,
        device_marker: String,
    ) -> Result<Arc<Self>, AlmanacError> {
        guard(|| {
            if device_marker.is_empty() {
                return Err(AlmanacError::invalid("the device marker path is empty"));
            }
            let options = StoreOptions {
                device_marker: DeviceMarker::At(device_marker.into()),
                ..StoreOptions::default()
            };
            Self::wrap(Store::open_with(path, options)?)
        })
    }

    /// Stops sync and closes the file; later calls fail with `Closed`. Closing twice is fine.
    /// (Not `close`: UniFFI's Kotlin objects already have `close()`, which frees the handle.)
    pub fn close_store(&self) -> Result<(), AlmanacError> {
        guard(|| {
            {
                let mut slot = lock(&self.sync);
                // Dropping the live handle stops the live sync; its task lets go of the store
                // at its next step.
                drop(self.stop_live(&mut slot));
                *slot = SyncSlot::default();
            }
            let store = self.inner.write().unwrap_or_else(PoisonError::into_inner).take();
            match store.map(Arc::try_unwrap) {
                Some(Ok(store)) => Ok(store.close()?),
                // Still in use by a call in flight or a stopping sync: the last one out
                // closes it (dropping a store checkpoints it as well).
                _ => Ok(()),
            }
        })
    }

    /// Whether `close` was called.
    pub fn is_closed(&self) -> bool {
        self.inner.read().unwrap_or_else(PoisonError::into_inner).is_none()
    }

    /// This replica's id (32 hex digits).
    pub fn replica_id(&self) -> String {
        self.replica_id.clone()
    }

    /// Gives back the space edits and deletes left free inside the store file and compresses
    /// the records against a dictionary of the store (decision 0032; stores of 256 records or
    /// more). The file is rewritten once; run it when the app is idle, for example in a
    /// background task. What the store holds does not change.
    pub fn compact(&self) -> Result<(), AlmanacError> {
        self.with(|store| Ok(store.compact()?))
    }

    // ---- generic records (the walking skeleton's calls, kept for app data of its own) ----

    /// Sets the given fields of a record in one transaction, creating the record if needed.
    pub fn put(
        &self,
        collection: String,
        id: String,
        fields: HashMap<String, FieldValue>,
    ) -> Result<(), AlmanacError> {
        self.with(|store| {
            let mut tx = store.transaction(RECORDS_SPACE);
            for (name, value) in fields {
                tx.set(&collection, &id, &name, value);
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// The live record, or `None` if it does not exist or is deleted.
    pub fn get(
        &self,
        collection: String,
        id: String,
    ) -> Result<Option<RecordSnapshot>, AlmanacError> {
        self.with(|store| {
            Ok(store.get(RECORDS_SPACE, &collection, &id)?.as_ref().map(RecordSnapshot::from))
        })
    }

    /// Deletes a record (kept as a restorable tombstone).
    pub fn delete(&self, collection: String, id: String) -> Result<(), AlmanacError> {
        self.with(|store| {
            store.transaction(RECORDS_SPACE).delete(&collection, &id).commit()?;
            Ok(())
        })
    }

    /// Exchanges deltas with `other` in both directions for every space either holds (each
    /// joins the spaces it lacks), so both end with the same state. For tests and
    /// device-to-device transfer; apps sync through the server.
    pub fn sync_with(&self, other: Arc<AlmanacStore>) -> Result<(), AlmanacError> {
        let (this, that) = (self.store()?, other.store()?);
        guard(|| {
            for (from, to) in [(&this, &that), (&that, &this)] {
                for space in from.spaces()? {
                    to.join_space(space.as_str())?;
                    let delta =
                        from.delta_since(space.as_str(), &to.version_vector(space.as_str())?)?;
                    to.apply(&delta)?;
                }
            }
            Ok(())
        })
    }

    // ---- calendars ----

    /// Creates a calendar (or sets all its settings). `time_zone` is an IANA id.
    pub fn create_calendar(
        &self,
        id: String,
        name: String,
        color: Option<String>,
        time_zone: Option<String>,
    ) -> Result<(), AlmanacError> {
        self.with(|store| {
            Ok(store.put_calendar(&id, &name, color.as_deref(), time_zone.as_deref())?)
        })
    }

    /// Every calendar this store holds, by id.
    pub fn calendars(&self) -> Result<Vec<CalendarInfo>, AlmanacError> {
        self.with(|store| {
            let mut out = Vec::new();
            for space in store.spaces()? {
                if let Some(info) = Self::calendar_info(store, space.as_str())? {
                    out.push(info);
                }
            }
            Ok(out)
        })
    }

    /// One calendar, or `None`.
    pub fn calendar(&self, id: String) -> Result<Option<CalendarInfo>, AlmanacError> {
        self.with(|store| Self::calendar_info(store, &id))
    }

    /// Renames a calendar (only the name is written: a concurrent colour change stays).
    pub fn rename_calendar(&self, id: String, name: String) -> Result<(), AlmanacError> {
        self.set_calendar_field(&id, "name", Value::from(name))
    }

    /// Sets or clears a calendar's colour.
    pub fn set_calendar_color(
        &self,
        id: String,
        color: Option<String>,
    ) -> Result<(), AlmanacError> {
        self.set_calendar_field(&id, "color", color.map_or(Value::Null, Value::from))
    }

    /// Sets or clears a calendar's default zone (an IANA id).
    pub fn set_calendar_time_zone(
        &self,
        id: String,
        time_zone: Option<String>,
    ) -> Result<(), AlmanacError> {
        if let Some(zone) = &time_zone {
            guard(|| crate::time::check_zone(zone))?;
        }
        self.set_calendar_field(&id, "time_zone", time_zone.map_or(Value::Null, Value::from))
    }

    /// Asks the server for a calendar shared with this user: the next sync joins it when the
    /// server allows (see `SyncReport::joined_calendars` / `denied_calendars`). Needs
    /// `configure_sync` first.
    pub fn join_calendar(&self, id: String) -> Result<(), AlmanacError> {
        guard(|| {
            let space = SpaceId::new(&id)?;
            let mut slot = lock(&self.sync);
            if slot.config.is_none() {
                return Err(AlmanacError::invalid(
                    "configure sync (server URL and token) before joining a shared calendar",
                ));
            }
            if !slot.join.contains(&space) {
                slot.join.push(space);
            }
            self.rebuild_client(&mut slot)
        })
    }

    /// Stops following a calendar and drops its data from this device (the server and other
    /// devices keep it). Changes not yet synced are lost with it.
    pub fn leave_calendar(&self, id: String) -> Result<(), AlmanacError> {
        guard(|| {
            {
                let mut slot = lock(&self.sync);
                slot.join.retain(|s| s.as_str() != id);
                self.rebuild_client(&mut slot)?;
            }
            self.with(|store| Ok(store.leave_space(&id)?))
        })
    }

    // ---- events ----

    /// Creates an event in one transaction.
    pub fn create_event(&self, event: NewEventInput) -> Result<(), AlmanacError> {
        self.with(|store| Ok(store.create_event(&NewEvent::try_from(&event)?)?))
    }

    /// The live event `id` (the series as stored), or `None`.
    pub fn event(&self, id: String) -> Result<Option<EventDetails>, AlmanacError> {
        self.with(|store| Ok(store.event(&id)?.as_ref().map(EventDetails::from)))
    }

    /// Edits the whole series, one occurrence, or this and following occurrences.
    pub fn edit_event(
        &self,
        id: String,
        span: EditSpan,
        changes: EventChanges,
    ) -> Result<(), AlmanacError> {
        self.with(|store| {
            Ok(store.edit_event(&id, &Span::try_from(&span)?, &EventEdit::try_from(&changes)?)?)
        })
    }

    /// Deletes the whole series (restorable), one occurrence (restorable with
    /// `restore_occurrence`), or this and following occurrences.
    pub fn delete_event(&self, id: String, span: EditSpan) -> Result<(), AlmanacError> {
        self.with(|store| Ok(store.delete_event(&id, &Span::try_from(&span)?)?))
    }

    /// Brings back a deleted event with every field, including edits its delete hid.
    pub fn restore_event(&self, id: String) -> Result<(), AlmanacError> {
        self.with(|store| Ok(store.restore_event(&id)?))
    }

    /// Brings back one deleted occurrence, as it was.
    pub fn restore_occurrence(
        &self,
        id: String,
        occurrence: EventTime,
    ) -> Result<(), AlmanacError> {
        self.with(|store| Ok(store.restore_occurrence(&id, &TimeValue::try_from(&occurrence)?)?))
    }

    /// Every occurrence overlapping the window, sorted by start: one call per view.
    pub fn occurrences(&self, query: OccurrenceQuery) -> Result<Vec<OccurrenceInfo>, AlmanacError> {
        self.with(|store| {
            if query.to_epoch_seconds < query.from_epoch_seconds {
                return Err(AlmanacError::invalid("the window ends before it starts"));
            }
            let viewer = time_zone(&query.viewer_zone)?;
            let calendars: Vec<&str> = query.calendars.iter().map(String::as_str).collect();
            let found = store.occurrences(
                instant(query.from_epoch_seconds)?,
                instant(query.to_epoch_seconds)?,
                &calendars,
                &viewer,
            )?;
            Ok(found.iter().map(OccurrenceInfo::from).collect())
        })
    }

    // ---- the conflict log ----

    /// The calendar conflict log, event by event.
    pub fn conflicts(&self) -> Result<Vec<EventConflictInfo>, AlmanacError> {
        self.with(|store| {
            let mut out = Vec::new();
            for entry in store.calendar_conflicts()? {
                let event = if entry.deleted { None } else { store.event(&entry.event_id)? };
                out.push(conflict_entry(&entry, event.as_ref()));
            }
            Ok(out)
        })
    }

    /// Resolves a field conflict of event `event_id`: every device converges on the choice
    /// and the conflict leaves the log.
    pub fn resolve_conflict(
        &self,
        event_id: String,
        path: ConflictPath,
        resolution: ConflictResolution,
    ) -> Result<(), AlmanacError> {
        self.with(|store| {
            let path = path.to_core()?;
            let missing = || {
                AlmanacError::not_found(format!(
                    "event '{event_id}' has no conflict on that field (already resolved?)"
                ))
            };
            let entry = store
                .calendar_conflicts()?
                .into_iter()
                .find(|e| e.event_id == event_id)
                .ok_or_else(missing)?;
            let conflict = entry.fields.into_iter().find(|f| f.path == path).ok_or_else(missing)?;
            let value = match resolution {
                ConflictResolution::KeepShown => conflict.shown,
                ConflictResolution::Candidate { index } => conflict
                    .candidates
                    .into_iter()
                    .nth(index as usize)
                    .ok_or_else(|| AlmanacError::invalid(format!("no candidate {index}")))?,
                ConflictResolution::Text { value } => Value::from(value),
            };
            Ok(store.resolve_conflict(&event_id, &path, value)?)
        })
    }

    /// Overrides of event `id` whose occurrence no longer exists (its rule or start changed).
    /// They are kept, never dropped; the conflict log lists them too (reason `Orphaned`).
    pub fn orphaned_overrides(&self, id: String) -> Result<Vec<OrphanedOverride>, AlmanacError> {
        self.with(|store| {
            let event = store
                .event(&id)?
                .ok_or_else(|| AlmanacError::not_found(format!("there is no live event '{id}'")))?;
            let mut out = Vec::new();
            for key in event.orphaned_overrides()? {
                let Some(patch) = event.overrides.get(&key) else { continue };
                out.push(OrphanedOverride {
                    original: (&event.original(&key)?).into(),
                    fields: describe_all(&patch.fields),
                    cancelled: patch.cancelled,
                });
            }
            Ok(out)
        })
    }

    // ---- iCalendar ----

    /// Imports an iCalendar text into `calendar`. Problems are reported per item and the rest
    /// is imported; only a store failure is an error. Importing again updates by UID.
    pub fn import_ics(
        &self,
        calendar: String,
        text: String,
        progress: Option<Box<dyn ImportProgressListener>>,
    ) -> Result<ImportReportInfo, AlmanacError> {
        self.with(|store| {
            let report = store.import_ics(&calendar, &text, &mut |p| {
                if let Some(listener) = &progress {
                    listener.on_progress(p.done as u64, p.total as u64);
                }
            })?;
            Ok(report.into())
        })
    }

    /// Exports one calendar (or all with `None`) as iCalendar text.
    pub fn export_ics(&self, calendar: Option<String>) -> Result<String, AlmanacError> {
        self.with(|store| Ok(store.export_ics(calendar.as_deref())?))
    }

    // ---- change subscription ----

    /// Calls `listener` after every commit that changed something, local or synced, until the
    /// returned subscription is cancelled or dropped.
    pub fn subscribe(
        &self,
        listener: Box<dyn ChangeListener>,
    ) -> Result<Arc<Subscription>, AlmanacError> {
        self.with(|store| {
            let inner = store.subscribe(move |event| listener.on_change(StoreChange::from(event)));
            Ok(Subscription::store(inner))
        })
    }

    // ---- sync ----

    /// Sets the server and token for `sync_once` and the live sync. A running live sync is
    /// restarted with them.
    pub fn configure_sync(&self, config: SyncConfig) -> Result<(), AlmanacError> {
        guard(|| {
            let mut slot = lock(&self.sync);
            let previous = slot.config.replace(config);
            if let Err(error) = self.rebuild_client(&mut slot) {
                slot.config = previous;
                return Err(error);
            }
            if slot.live.is_some() {
                drop(self.stop_live(&mut slot));
                self.start_live(&mut slot)?;
            }
            Ok(())
        })
    }

    /// Gives the live sync a new token (after the server refused the old one).
    pub fn set_sync_token(&self, token: String) -> Result<(), AlmanacError> {
        guard(|| {
            let mut slot = lock(&self.sync);
            let Some(config) = slot.config.as_mut() else {
                return Err(AlmanacError::invalid("configure sync before setting a token"));
            };
            config.token = token.clone();
            self.rebuild_client(&mut slot)?;
            if let Some(live) = &slot.live {
                live.set_token(token);
            }
            Ok(())
        })
    }

    /// Starts the live sync: connected, pushing local changes and receiving the server's as
    /// they happen, reconnecting by itself. Starting it twice changes nothing.
    pub fn start_live_sync(&self) -> Result<(), AlmanacError> {
        guard(|| {
            let mut slot = lock(&self.sync);
            if slot.live.is_some() {
                return Ok(());
            }
            self.start_live(&mut slot)
        })
    }

    /// Triggers a round of the live sync now (no effect when it is not running).
    pub fn sync_now(&self) {
        if let Some(live) = &lock(&self.sync).live {
            live.sync_now();
        }
    }

    /// Resumes the live sync after `suspend`: reconnects at once.
    pub fn resume(&self) {
        if let Some(live) = &lock(&self.sync).live {
            live.resume();
        }
    }

    /// The current sync status.
    pub fn sync_status(&self) -> SyncStatusInfo {
        self.status.borrow().clone()
    }

    /// Calls `listener` with the current status now and with each change, until the returned
    /// subscription is cancelled or dropped.
    pub fn observe_sync_status(
        &self,
        listener: Box<dyn SyncStatusListener>,
    ) -> Result<Arc<Subscription>, AlmanacError> {
        guard(|| {
            let mut receiver = self.status.subscribe();
            let task = runtime()?.spawn(async move {
                loop {
                    let status = receiver.borrow_and_update().clone();
                    // A listener that throws must not end the observation for the others.
                    let _ = guard(|| {
                        listener.on_status(status);
                        Ok(())
                    });
                    if receiver.changed().await.is_err() {
                        break;
                    }
                }
            });
            Ok(Subscription::task(task.abort_handle()))
        })
    }
}

impl AlmanacStore {
    fn start_live(&self, slot: &mut SyncSlot) -> Result<(), AlmanacError> {
        let Some(client) = &slot.client else {
            return Err(AlmanacError::invalid("configure sync (server URL and token) first"));
        };
        let runtime = runtime()?;
        let live = {
            let _entered = runtime.enter();
            client.start()?
        };
        let mut receiver = live.status();
        let status = self.status.clone();
        let forward = runtime.spawn(async move {
            loop {
                let info = SyncStatusInfo::from(&*receiver.borrow_and_update());
                status.send_replace(info);
                if receiver.changed().await.is_err() {
                    break;
                }
            }
        });
        slot.live = Some(Arc::new(live));
        slot.forward = Some(forward.abort_handle());
        Ok(())
    }

    fn client(&self) -> Result<Client, AlmanacError> {
        self.store()?;
        lock(&self.sync).client.clone().ok_or_else(|| {
            AlmanacError::invalid("configure sync (server URL and token) before syncing")
        })
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl AlmanacStore {
    /// Shares calendar `id`, which this user owns, with `user` on the server (read-only or
    /// read-write), or changes that user's access; their devices get it at their next sync
    /// (after `join_calendar`). Needs `configure_sync`; `Forbidden` if this user does not own
    /// the calendar, `NotFound` for an unknown user or a calendar never synced.
    pub async fn share_calendar(
        &self,
        id: String,
        user: String,
        read_only: bool,
    ) -> Result<ShareOutcome, AlmanacError> {
        let client = self.client()?;
        let space = SpaceId::new(&id)?;
        on_runtime(async move { Ok(client.share(&space, &user, read_only).await?.into()) }).await
    }

    /// Stops sharing calendar `id` with `user`; `false` if it was not shared with them. Their
    /// devices are refused it from their next sync on.
    pub async fn unshare_calendar(&self, id: String, user: String) -> Result<bool, AlmanacError> {
        let client = self.client()?;
        let space = SpaceId::new(&id)?;
        on_runtime(async move { Ok(client.unshare(&space, &user).await?) }).await
    }

    /// Who calendar `id` (owned by this user) is shared with, sorted by name.
    pub async fn calendar_shares(&self, id: String) -> Result<Vec<CalendarShare>, AlmanacError> {
        let client = self.client()?;
        let space = SpaceId::new(&id)?;
        on_runtime(async move {
            let shares = client.shares(&space).await?;
            Ok(shares
                .into_iter()
                .map(|s| CalendarShare { user: s.user, read_only: s.read_only })
                .collect())
        })
        .await
    }

    /// Connects, syncs every calendar once (and joins those asked for), and disconnects.
    pub async fn sync_once(&self) -> Result<SyncReport, AlmanacError> {
        let client = self.client()?;
        let outcome = on_runtime(async move {
            let summary = client.sync_once().await?;
            let pending = tokio::task::spawn_blocking(move || client.pending_spaces())
                .await
                .map_err(|e| AlmanacError::Internal { message: e.to_string() })??;
            Ok((SyncReport::from(&summary), pending))
        })
        .await;
        match outcome {
            Ok((report, pending)) => {
                self.status.send_modify(|s| {
                    s.last_synced_at_epoch_millis =
                        Some(epoch_millis(std::time::SystemTime::now()));
                    s.last_error = None;
                    s.pending_calendars = pending.iter().map(ToString::to_string).collect();
                });
                Ok(report)
            }
            Err(error) => {
                let message = error.to_string();
                self.status.send_modify(|s| s.last_error = Some(message));
                Err(error)
            }
        }
    }

    /// Stops the live sync and waits until it no longer uses the store.
    pub async fn stop_live_sync(&self) -> Result<(), AlmanacError> {
        let live = self.stop_live(&mut lock(&self.sync));
        if let Some(live) = live.and_then(|l| Arc::try_unwrap(l).ok()) {
            on_runtime(async move {
                live.stop().await;
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    /// Before the app is suspended: abandons the round in progress, closes the connection and
    /// returns once the store is no longer used (no open transaction, no timer). `resume`
    /// reconnects.
    pub async fn suspend(&self) -> Result<(), AlmanacError> {
        let live = lock(&self.sync).live.clone();
        if let Some(live) = live {
            let status = self.status.clone();
            on_runtime(async move {
                live.suspend().await;
                // Right away, not when the forwarding task next runs: the caller may read the
                // status as soon as this returns.
                status.send_replace(SyncStatusInfo::from(&*live.status().borrow()));
                Ok(())
            })
            .await?;
        }
        Ok(())
    }
}
