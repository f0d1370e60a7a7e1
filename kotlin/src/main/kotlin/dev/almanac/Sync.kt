package dev.almanac

import java.time.Instant
import dev.almanac.ffi.ChangeOrigin
import dev.almanac.ffi.ShareOutcome as FfiShareOutcome
import dev.almanac.ffi.StoreChange
import dev.almanac.ffi.SyncReport as FfiSyncReport
import dev.almanac.ffi.SyncState as FfiSyncState
import dev.almanac.ffi.SyncStatusInfo

/** Where sync stands. */
enum class SyncState { OFFLINE, CONNECTING, SYNCING, UP_TO_DATE }

/** What an app shows about sync: a badge, a "last synced" line, the last error. */
data class SyncStatus(
    val state: SyncState,
    /** Calendars with local changes the server has not acknowledged. */
    val pendingCalendars: List<String>,
    val lastSyncedAt: Instant?,
    /** The last error's message, cleared by the next successful sync. */
    val lastError: String?,
) {
    /** Whether this device holds changes the server has not acknowledged. */
    val hasPendingChanges: Boolean get() = pendingCalendars.isNotEmpty()
}

/** Someone a calendar is shared with, as its owner sees it ([Store.calendarShares]). */
data class CalendarShare(val user: String, val readOnly: Boolean)

/** What [Store.shareCalendar] changed. */
enum class ShareOutcome {
    /** The user had no access before. */
    ADDED,

    /** The user's access changed (read-only to read-write or back). */
    CHANGED,

    /** The user already had exactly this access. */
    UNCHANGED,
}

internal fun FfiShareOutcome.toKotlin() = when (this) {
    FfiShareOutcome.ADDED -> ShareOutcome.ADDED
    FfiShareOutcome.CHANGED -> ShareOutcome.CHANGED
    FfiShareOutcome.UNCHANGED -> ShareOutcome.UNCHANGED
}

/** What one [Store.syncOnce] did. */
data class SyncReport(
    val recordsSent: Long,
    val recordsReceived: Long,
    val joinedCalendars: List<String>,
    val deniedCalendars: List<String>,
    val readOnlyWithPendingChanges: List<String>,
)

/** One committed change, local or received by sync. */
data class Change(
    val isLocal: Boolean,
    val calendar: String,
    val eventIds: List<String>,
    /** Whether the calendar's own settings (name, colour, zone) changed. */
    val calendarChanged: Boolean,
)

internal fun SyncStatusInfo.toKotlin() = SyncStatus(
    state = when (state) {
        FfiSyncState.OFFLINE -> SyncState.OFFLINE
        FfiSyncState.CONNECTING -> SyncState.CONNECTING
        FfiSyncState.SYNCING -> SyncState.SYNCING
        FfiSyncState.UP_TO_DATE -> SyncState.UP_TO_DATE
    },
    pendingCalendars = pendingCalendars,
    lastSyncedAt = lastSyncedAtEpochMillis?.let(Instant::ofEpochMilli),
    lastError = lastError,
)

internal fun FfiSyncReport.toKotlin() = SyncReport(
    recordsSent.toLong(),
    recordsReceived.toLong(),
    joinedCalendars,
    deniedCalendars,
    readOnlyWithPendingChanges,
)

internal fun StoreChange.toKotlin() = Change(origin == ChangeOrigin.LOCAL, calendar, eventIds, calendarChanged)
