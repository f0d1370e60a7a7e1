package dev.almanac

import dev.almanac.ffi.AlmanacStore
import dev.almanac.ffi.ChangeListener
import dev.almanac.ffi.ImportProgressListener
import dev.almanac.ffi.OccurrenceQuery
import dev.almanac.ffi.StoreChange
import dev.almanac.ffi.SyncConfig
import dev.almanac.ffi.SyncStatusInfo
import dev.almanac.ffi.SyncStatusListener
import dev.almanac.ffi.tzDatabaseVersion
import java.nio.file.Path
import java.time.ZoneId
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.channelFlow
import kotlinx.coroutines.flow.conflate
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.withContext

/**
 * One replica of an Almanac database (one SQLite file): calendars, events, occurrence views,
 * the conflict log, iCalendar, and sync with the server.
 *
 * Thread-safe: share one instance. The `suspend` functions do their disk work on
 * [Dispatchers.IO], so they are safe to call from the main thread. Call [close] (or use
 * `use { }`) when done.
 */
class Store private constructor(private val ffi: AlmanacStore) : AutoCloseable {
    /** Opens the database at [path], creating the file if it does not exist. */
    constructor(path: Path) : this(ffiCall { AlmanacStore.open(path.toString()) })

    /**
     * Opens the database at [path] with its device marker, the small file that tells a store
     * restored from a backup from the running one (decision 0013), at [deviceMarker]: on
     * Android a file under `context.noBackupFilesDir`, which backups and device transfers skip.
     * (The one-argument constructor keeps it beside the store as `<path>.device`.)
     */
    constructor(path: Path, deviceMarker: Path) :
        this(ffiCall { AlmanacStore.openWithDeviceMarker(path.toString(), deviceMarker.toString()) })

    /** This replica's identifier (32 hex characters), stable for the life of the file. */
    val replicaId: String get() = ffi.replicaId()

    /** Whether [close] was called. */
    val isClosed: Boolean get() = ffi.isClosed()

    private suspend fun <T> io(block: () -> T): T = withContext(Dispatchers.IO) { ffiCall(block) }

    // ---- calendars ----

    /** Creates a calendar (or sets all its settings). */
    suspend fun createCalendar(id: String, name: String, color: String? = null, timeZone: ZoneId? = null) =
        io { ffi.createCalendar(id, name, color, timeZone?.id) }

    /** Every calendar this store holds. */
    suspend fun calendars(): List<Calendar> = io { ffi.calendars() }.map { it.toKotlin() }

    /** The calendar [id], or null. */
    suspend fun calendar(id: String): Calendar? = io { ffi.calendar(id) }?.toKotlin()

    /** Renames a calendar (a concurrent colour change on another device stays). */
    suspend fun renameCalendar(id: String, name: String) = io { ffi.renameCalendar(id, name) }

    /** Sets or clears a calendar's colour. */
    suspend fun setCalendarColor(id: String, color: String?) = io { ffi.setCalendarColor(id, color) }

    /** Sets or clears a calendar's default zone. */
    suspend fun setCalendarTimeZone(id: String, timeZone: ZoneId?) = io { ffi.setCalendarTimeZone(id, timeZone?.id) }

    /** Asks the server for a calendar shared with this user; the next sync joins it if allowed. */
    fun joinCalendar(id: String) = ffiCall { ffi.joinCalendar(id) }

    /** Stops following a calendar and drops its data from this device (the server keeps it). */
    suspend fun leaveCalendar(id: String) = io { ffi.leaveCalendar(id) }

    /**
     * Shares calendar [id], which this user owns, with [user] on the server (read-only or
     * read-write), or changes that user's access; their devices get it at their next sync
     * after [joinCalendar]. Needs [configureSync]. Throws [AlmanacException.Forbidden] if this
     * user does not own the calendar, [AlmanacException.NotFound] for an unknown user or a
     * calendar no device has synced yet.
     */
    suspend fun shareCalendar(id: String, user: String, readOnly: Boolean = false): ShareOutcome =
        ffiCall { ffi.shareCalendar(id, user, readOnly) }.toKotlin()

    /** Stops sharing calendar [id] with [user]; false if it was not shared with them. */
    suspend fun unshareCalendar(id: String, user: String): Boolean = ffiCall { ffi.unshareCalendar(id, user) }

    /** Who calendar [id] (owned by this user) is shared with, sorted by name. */
    suspend fun calendarShares(id: String): List<CalendarShare> =
        ffiCall { ffi.calendarShares(id) }.map { CalendarShare(it.user, it.readOnly) }

    // ---- events ----

    /** Creates an event. */
    suspend fun createEvent(event: NewEvent) = io { ffi.createEvent(event.toFfi()) }

    /** The live event [id] (the series as stored), or null. */
    suspend fun event(id: String): Event? = io { ffi.event(id) }?.toKotlin()

    /** Edits the whole series, one occurrence, or this and following occurrences. */
    suspend fun editEvent(id: String, span: Span, changes: EventChanges) =
        io { ffi.editEvent(id, span.toFfi(), changes.toFfi()) }

    /** Deletes the whole series, one occurrence or this and following; each is restorable. */
    suspend fun deleteEvent(id: String, span: Span = Span.All) = io { ffi.deleteEvent(id, span.toFfi()) }

    /** Brings back a deleted event with everything, including edits its delete hid. */
    suspend fun restoreEvent(id: String) = io { ffi.restoreEvent(id) }

    /** Brings back one deleted occurrence, named by its original start. */
    suspend fun restoreOccurrence(id: String, original: EventTime) = io { ffi.restoreOccurrence(id, original.toFfi()) }

    /** Every occurrence overlapping [window], sorted by start: one call per view. */
    suspend fun occurrences(window: OccurrenceWindow): List<Occurrence> = io {
        ffi.occurrences(
            OccurrenceQuery(window.from.epochSecond, window.to.epochSecond, window.calendars, window.viewer.id),
        )
    }.map { it.toKotlin() }

    /**
     * A live query: emits the occurrences of [window] now, and again each time they change —
     * by a local edit or by sync — without polling. Collect it for as long as the view shows.
     */
    fun watchOccurrences(window: OccurrenceWindow): Flow<List<Occurrence>> = channelFlow {
        // A conflated trigger: a burst of commits (an import, a sync) costs one query.
        val dirty = Channel<Unit>(Channel.CONFLATED)
        dirty.trySend(Unit)
        val subscription = ffiCall {
            ffi.subscribe(object : ChangeListener {
                override fun onChange(change: StoreChange) {
                    if (window.calendars.isEmpty() || change.calendar in window.calendars) dirty.trySend(Unit)
                }
            })
        }
        try {
            for (ignored in dirty) send(occurrences(window))
        } finally {
            subscription.cancel()
            subscription.close()
        }
    }.distinctUntilChanged()

    // ---- the conflict log ----

    /** The calendar conflict log, event by event. */
    suspend fun conflicts(): List<EventConflicts> = io { ffi.conflicts() }.map { it.toKotlin() }

    /** Resolves a field conflict; every device converges on the choice. */
    suspend fun resolveConflict(eventId: String, path: ConflictPath, resolution: Resolution) =
        io { ffi.resolveConflict(eventId, path.toFfi(), resolution.toFfi()) }

    /** Overrides of event [id] whose occurrence no longer exists (kept, never dropped). */
    suspend fun orphanedOverrides(id: String): List<OrphanedOverride> = io { ffi.orphanedOverrides(id) }.map { it.toKotlin() }

    // ---- iCalendar ----

    /**
     * Imports iCalendar [text] into [calendar]; problems are reported per item in the result.
     * [onProgress] is called with (done, total) events from the import's thread.
     */
    suspend fun importIcs(calendar: String, text: String, onProgress: ((Long, Long) -> Unit)? = null): ImportReport {
        val listener = onProgress?.let { report ->
            object : ImportProgressListener {
                override fun onProgress(done: ULong, total: ULong) = report(done.toLong(), total.toLong())
            }
        }
        return io { ffi.importIcs(calendar, text, listener) }.toKotlin()
    }

    /** Exports [calendar] (all calendars when null) as iCalendar text. */
    suspend fun exportIcs(calendar: String? = null): String = io { ffi.exportIcs(calendar) }

    // ---- maintenance ----

    /**
     * Gives back the space edits and deletes left free inside the store file and, once the
     * store holds 256 events or more, compresses every event against a dictionary sampled from
     * the store (about half the size on disk). The file is rewritten once, so call it
     * when the app is idle (a WorkManager job, say), not after every edit. Events, sync state
     * and the replica id are unchanged.
     */
    suspend fun compact() = io { ffi.compact() }

    // ---- changes ----

    /** Every committed change, local or synced, while collected. */
    val changes: Flow<Change>
        get() = callbackFlow {
            val subscription = ffiCall {
                ffi.subscribe(object : ChangeListener {
                    override fun onChange(change: StoreChange) {
                        trySend(change.toKotlin())
                    }
                })
            }
            awaitClose {
                subscription.cancel()
                subscription.close()
            }
        }.buffer(Channel.UNLIMITED)

    // ---- sync ----

    /** Sets the server (`wss://…`) and the user's token; a running live sync restarts with them. */
    fun configureSync(serverUrl: String, token: String) = ffiCall { ffi.configureSync(SyncConfig(serverUrl, token)) }

    /** Gives sync a new token after the server refused the old one ([AlmanacException.Unauthorized]). */
    fun setSyncToken(token: String) = ffiCall { ffi.setSyncToken(token) }

    /** Connects, syncs every calendar once (joining those asked for), disconnects. */
    suspend fun syncOnce(): SyncReport = ffiCall { ffi.syncOnce() }.toKotlin()

    /** Starts the live sync: pushes and receives changes as they happen, reconnecting by itself. */
    fun startLiveSync() = ffiCall { ffi.startLiveSync() }

    /** Stops the live sync and waits until it no longer uses the store. */
    suspend fun stopLiveSync() = ffiCall { ffi.stopLiveSync() }

    /** Before the app goes to the background: closes the connection, returns once idle. */
    suspend fun suspendSync() = ffiCall { ffi.suspend() }

    /** After [suspendSync]: reconnects at once. */
    fun resumeSync() = ffi.resume()

    /** Asks the live sync for a round now. */
    fun syncNow() = ffi.syncNow()

    /** The current sync status. */
    val syncStatus: SyncStatus get() = ffi.syncStatus().toKotlin()

    /** The sync status now and at each change, while collected (the latest wins for slow collectors). */
    val syncStatusFlow: Flow<SyncStatus>
        get() = callbackFlow {
            val subscription = ffiCall {
                ffi.observeSyncStatus(object : SyncStatusListener {
                    override fun onStatus(status: SyncStatusInfo) {
                        trySend(status.toKotlin())
                    }
                })
            }
            awaitClose {
                subscription.cancel()
                subscription.close()
            }
        }.conflate()

    // ---- generic records (app data of its own, outside the calendars) ----

    /** Writes [fields] into record [id] of [collection] in one transaction, creating it if needed. */
    fun put(collection: String, id: String, fields: Map<String, Value>) {
        val lowered = fields.mapValues { (_, value) -> value.toFfi() }
        ffiCall { ffi.put(collection, id, lowered) }
    }

    /** `put("notes", "n1", "title" to Value.Text("Groceries"))`. */
    fun put(collection: String, id: String, vararg fields: Pair<String, Value>) {
        put(collection, id, fields.toMap())
    }

    /** The current state of record [id] of [collection], or `null` if absent or deleted. */
    fun record(collection: String, id: String): Record? = ffiCall { ffi.get(collection, id) }?.toRecord()

    /** Deletes record [id] of [collection]. */
    fun delete(collection: String, id: String) {
        ffiCall { ffi.delete(collection, id) }
    }

    /** Exchanges changes with [other] directly (tests, device to device); apps sync through the server. */
    fun sync(other: Store) {
        ffiCall { ffi.syncWith(other.ffi) }
    }

    /**
     * Stops sync and closes the file; later calls throw [AlmanacException.Closed]. The small
     * native handle itself is freed when this object is garbage-collected, so a call racing
     * the close gets that exception rather than a use-after-free.
     */
    override fun close() {
        ffiCall { ffi.closeStore() }
    }

    companion object {
        /** The version of the IANA time-zone database built into Almanac (e.g. `2026f`). */
        val tzDatabaseVersion: String get() = tzDatabaseVersion()
    }
}
