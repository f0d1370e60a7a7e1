import AlmanacFFI
import Foundation

/// One replica of an Almanac database (one SQLite file): calendars, events, occurrence views,
/// the conflict log, iCalendar, and sync with the server.
///
/// Thread-safe: share one instance between tasks and threads. Reads and writes are short
/// SQLite transactions and stay synchronous (`throws`); the network calls are `async`. Call
/// `close()` when done; later calls throw `AlmanacError.closed`.
public final class Store: Sendable {
    private let inner: AlmanacStore

    /// Opens the database at `path`, creating the file if it does not exist.
    ///
    /// `deviceMarker` is where the small file that tells a restored store from the running one
    /// lives (decision 0013): pass a path in storage that backups skip (a folder marked
    /// `isExcludedFromBackup`); nil keeps it beside the store as `<path>.device`.
    ///
    /// On iOS, watchOS, tvOS and visionOS the store's folder, the database, its `-wal` and
    /// `-shm` files and the marker get the file protection class
    /// `completeUntilFirstUserAuthentication`, so background sync can open them while the
    /// device is locked (see `FileProtection.swift`).
    public init(path: String, deviceMarker: String? = nil) throws {
        try FileProtection.prepare(store: path, deviceMarker: deviceMarker)
        inner = try ffi {
            if let deviceMarker {
                return try AlmanacStore.openWithDeviceMarker(path: path, deviceMarker: deviceMarker)
            }
            return try AlmanacStore.open(path: path)
        }
        try FileProtection.apply(store: path, deviceMarker: deviceMarker)
    }

    /// Opens the database at a file URL, creating the file if it does not exist (see
    /// `init(path:deviceMarker:)`).
    public convenience init(url: URL, deviceMarker: URL? = nil) throws {
        try self.init(path: url.path, deviceMarker: deviceMarker?.path)
    }

    /// This replica's identifier (32 hex characters), stable for the life of the file.
    public var replicaID: String { inner.replicaId() }

    /// Whether `close()` was called.
    public var isClosed: Bool { inner.isClosed() }

    /// Stops sync and closes the file. Closing twice is fine.
    public func close() throws {
        try ffi { try inner.closeStore() }
    }

    /// The version of the IANA time-zone database built into Almanac (e.g. `2026f`).
    public static var tzDatabaseVersion: String { AlmanacFFI.tzDatabaseVersion() }

    // ---- calendars ----

    /// Creates a calendar (or sets all its settings).
    public func createCalendar(_ id: String, name: String, color: String? = nil, timeZone: TimeZone? = nil) throws {
        try ffi { try inner.createCalendar(id: id, name: name, color: color, timeZone: timeZone?.identifier) }
    }

    /// Every calendar this store holds.
    public func calendars() throws -> [AlmanacCalendar] {
        try ffi { try inner.calendars() }.map(AlmanacCalendar.init)
    }

    /// The calendar `id`, or `nil`.
    public func calendar(_ id: String) throws -> AlmanacCalendar? {
        try ffi { try inner.calendar(id: id) }.map(AlmanacCalendar.init)
    }

    /// Renames a calendar (a concurrent colour change on another device stays).
    public func renameCalendar(_ id: String, to name: String) throws {
        try ffi { try inner.renameCalendar(id: id, name: name) }
    }

    /// Sets or clears a calendar's colour.
    public func setCalendarColor(_ id: String, _ color: String?) throws {
        try ffi { try inner.setCalendarColor(id: id, color: color) }
    }

    /// Sets or clears a calendar's default zone.
    public func setCalendarTimeZone(_ id: String, _ timeZone: TimeZone?) throws {
        try ffi { try inner.setCalendarTimeZone(id: id, timeZone: timeZone?.identifier) }
    }

    /// Asks the server for a calendar shared with this user; the next sync joins it if allowed.
    public func joinCalendar(_ id: String) throws {
        try ffi { try inner.joinCalendar(id: id) }
    }

    /// Stops following a calendar and drops its data from this device (the server keeps it).
    public func leaveCalendar(_ id: String) throws {
        try ffi { try inner.leaveCalendar(id: id) }
    }

    /// Shares calendar `id`, which this user owns, with `user` on the server (read-only or
    /// read-write), or changes that user's access; their devices get it at their next sync
    /// after `joinCalendar(_:)`. Needs `configureSync`. Throws `AlmanacError.forbidden` if this
    /// user does not own the calendar, `.notFound` for an unknown user or a calendar no device
    /// has synced yet.
    @discardableResult
    public func shareCalendar(_ id: String, with user: String, readOnly: Bool = false) async throws -> ShareOutcome {
        ShareOutcome(try await ffiAsync { try await inner.shareCalendar(id: id, user: user, readOnly: readOnly) })
    }

    /// Stops sharing calendar `id` with `user`; false if it was not shared with them.
    @discardableResult
    public func unshareCalendar(_ id: String, with user: String) async throws -> Bool {
        try await ffiAsync { try await inner.unshareCalendar(id: id, user: user) }
    }

    /// Who calendar `id` (owned by this user) is shared with, sorted by name.
    public func calendarShares(_ id: String) async throws -> [CalendarShare] {
        try await ffiAsync { try await inner.calendarShares(id: id) }.map {
            CalendarShare(user: $0.user, readOnly: $0.readOnly)
        }
    }

    // ---- events ----

    /// Creates an event.
    public func createEvent(_ event: NewEvent) throws {
        try ffi { try inner.createEvent(event: try event.toFFI()) }
    }

    /// The live event `id` (the series as stored), or `nil`.
    public func event(id: String) throws -> Event? {
        try ffi { try inner.event(id: id) }.map(Event.init)
    }

    /// Edits the whole series, one occurrence, or this and following occurrences.
    public func editEvent(_ id: String, span: Span, changes: EventChanges) throws {
        try ffi { try inner.editEvent(id: id, span: try span.toFFI(), changes: try changes.toFFI()) }
    }

    /// Deletes the whole series, one occurrence or this and following; each is restorable.
    public func deleteEvent(_ id: String, span: Span = .all) throws {
        try ffi { try inner.deleteEvent(id: id, span: try span.toFFI()) }
    }

    /// Brings back a deleted event with everything, including edits its delete hid.
    public func restoreEvent(_ id: String) throws {
        try ffi { try inner.restoreEvent(id: id) }
    }

    /// Brings back one deleted occurrence, named by its original start.
    public func restoreOccurrence(_ id: String, original: EventTime) throws {
        try ffi { try inner.restoreOccurrence(id: id, occurrence: try original.toFFI()) }
    }

    /// Every occurrence overlapping `interval` (end exclusive), sorted by start, with all-day
    /// and floating events read in `viewer`'s zone; only `calendars` when not empty. One call
    /// per view.
    public func occurrences(
        in interval: DateInterval, viewer: TimeZone = .current, calendars: [String] = []
    ) throws -> [Occurrence] {
        let query = OccurrenceQuery(
            fromEpochSeconds: Int64(interval.start.timeIntervalSince1970.rounded(.down)),
            toEpochSeconds: Int64(interval.end.timeIntervalSince1970.rounded(.up)),
            calendars: calendars, viewerZone: viewer.identifier)
        return try ffi { try inner.occurrences(query: query) }.map(Occurrence.init)
    }

    /// A live query: yields the occurrences of `interval` now, and again each time they change
    /// — by a local edit or by sync — without polling. Iterate it for as long as the view
    /// shows; stopping (breaking out, cancelling the task) cancels the subscription. It ends
    /// with the error if a query fails (e.g. the store was closed).
    public func watchOccurrences(
        in interval: DateInterval, viewer: TimeZone = .current, calendars: [String] = []
    ) -> AsyncThrowingStream<[Occurrence], Error> {
        AsyncThrowingStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            // A conflated trigger: a burst of commits (an import, a sync) costs one query.
            let (dirty, markDirty) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            markDirty.yield()
            let subscription: Subscription
            do {
                // Subscribed before the first query, so no commit between the two is missed.
                subscription = try ffi {
                    try inner.subscribe(listener: ChangeForwarder { change in
                        if calendars.isEmpty || calendars.contains(change.calendar) { markDirty.yield() }
                    })
                }
            } catch {
                continuation.finish(throwing: error)
                return
            }
            let worker = Task {
                var last: [Occurrence]?
                for await _ in dirty {
                    do {
                        let view = try occurrences(in: interval, viewer: viewer, calendars: calendars)
                        // Changes elsewhere in the calendar leave the view as it was: nothing to yield.
                        if view != last {
                            last = view
                            continuation.yield(view)
                        }
                    } catch {
                        continuation.finish(throwing: error)
                        break
                    }
                }
                subscription.cancel()
            }
            continuation.onTermination = { _ in
                subscription.cancel()
                markDirty.finish()
                worker.cancel()
            }
        }
    }

    // ---- the conflict log ----

    /// The calendar conflict log, event by event.
    public func conflicts() throws -> [EventConflicts] {
        try ffi { try inner.conflicts() }.map(EventConflicts.init)
    }

    /// Resolves a field conflict; every device converges on the choice.
    public func resolveConflict(_ eventID: String, path: ConflictPath, resolution: Resolution) throws {
        try ffi { try inner.resolveConflict(eventId: eventID, path: path.ffi, resolution: try resolution.toFFI()) }
    }

    /// Overrides of an event whose occurrence no longer exists (kept, never dropped).
    public func orphanedOverrides(eventID: String) throws -> [OrphanedOverride] {
        try ffi { try inner.orphanedOverrides(id: eventID) }.map(OrphanedOverride.init)
    }

    // ---- iCalendar ----

    /// Imports iCalendar `text` into `calendar`; problems are reported per item in the result.
    /// `progress` is called with (done, total) events on the importing thread.
    public func importICS(_ text: String, into calendar: String, progress: ((Int, Int) -> Void)? = nil) throws -> ImportReport {
        let listener = progress.map(ProgressForwarder.init)
        return ImportReport(try ffi { try inner.importIcs(calendar: calendar, text: text, progress: listener) })
    }

    /// Exports `calendar` (all calendars when `nil`) as iCalendar text.
    public func exportICS(calendar: String? = nil) throws -> String {
        try ffi { try inner.exportIcs(calendar: calendar) }
    }

    // ---- maintenance ----

    /// Gives back the space edits and deletes left free inside the store file and, once the
    /// store holds 256 events or more, compresses every event against a dictionary sampled
    /// from the store (about half the size on disk). The file is rewritten once, so
    /// call it when the app is idle (a `BGProcessingTask`, say), not after every edit. Events,
    /// sync state and the replica id are unchanged.
    public func compact() throws {
        try ffi { try inner.compact() }
    }

    // ---- changes ----

    /// Every committed change, local or synced, from the moment this property is read until
    /// the consumer stops iterating. Buffered without limit so a slow consumer misses none.
    /// If the store is closed the stream ends at once.
    public var changes: AsyncStream<Change> {
        AsyncStream(bufferingPolicy: .unbounded) { continuation in
            do {
                let subscription = try ffi {
                    try inner.subscribe(listener: ChangeForwarder { continuation.yield(Change($0)) })
                }
                continuation.onTermination = { _ in subscription.cancel() }
            } catch {
                continuation.finish()
            }
        }
    }

    // ---- sync ----

    /// Sets the server (`wss://…`) and the user's token; a running live sync restarts with them.
    public func configureSync(serverURL: String, token: String) throws {
        try ffi { try inner.configureSync(config: SyncConfig(serverUrl: serverURL, token: token)) }
    }

    /// Gives sync a new token after the server refused the old one (`AlmanacError.unauthorized`).
    public func setSyncToken(_ token: String) throws {
        try ffi { try inner.setSyncToken(token: token) }
    }

    /// Connects, syncs every calendar once (joining those asked for), disconnects.
    @discardableResult
    public func syncOnce() async throws -> SyncReport {
        SyncReport(try await ffiAsync { try await inner.syncOnce() })
    }

    /// Starts the live sync: pushes and receives changes as they happen, reconnecting by itself.
    public func startLiveSync() throws {
        try ffi { try inner.startLiveSync() }
    }

    /// Stops the live sync and waits until it no longer uses the store.
    public func stopLiveSync() async throws {
        try await ffiAsync { try await inner.stopLiveSync() }
    }

    /// Before the app goes to the background: closes the connection, returns once idle.
    public func suspendSync() async throws {
        try await ffiAsync { try await inner.suspend() }
    }

    /// After `suspendSync()`: reconnects at once.
    public func resumeSync() { inner.resume() }

    /// Asks the live sync for a round now.
    public func syncNow() { inner.syncNow() }

    /// The current sync status.
    public var syncStatus: SyncStatus { SyncStatus(inner.syncStatus()) }

    /// The sync status now and at each change until the consumer stops iterating; a slow
    /// consumer sees the latest (only the current status matters).
    public var syncStatusUpdates: AsyncStream<SyncStatus> {
        AsyncStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            do {
                let subscription = try ffi {
                    try inner.observeSyncStatus(listener: StatusForwarder { continuation.yield(SyncStatus($0)) })
                }
                continuation.onTermination = { _ in subscription.cancel() }
            } catch {
                continuation.finish()
            }
        }
    }

    // ---- generic records (app data of its own, outside the calendars) ----

    /// Writes `fields` into record `id` of `collection` (one transaction). Fields not listed
    /// keep their current values.
    public func put(_ id: String, in collection: String, fields: [String: Value]) throws {
        try ffi { try inner.put(collection: collection, id: id, fields: fields.mapValues(\.ffi)) }
    }

    /// The record `id` of `collection`, or `nil` if it does not exist or was deleted.
    public func record(_ id: String, in collection: String) throws -> Record? {
        try ffi { try inner.get(collection: collection, id: id) }.map(Record.init)
    }

    /// Deletes record `id` of `collection`.
    public func delete(_ id: String, in collection: String) throws {
        try ffi { try inner.delete(collection: collection, id: id) }
    }

    /// Exchanges changes with `other` directly (tests, device to device); apps sync through
    /// the server.
    public func sync(with other: Store) throws {
        try ffi { try inner.syncWith(other: other.inner) }
    }
}
