package dev.almanac

import java.time.Duration
import java.time.Instant
import java.time.ZoneId
import dev.almanac.ffi.AttendeeRole as FfiRole
import dev.almanac.ffi.AttendeeStatus as FfiStatus
import dev.almanac.ffi.CalendarInfo
import dev.almanac.ffi.ConflictPath as FfiConflictPath
import dev.almanac.ffi.ConflictResolution as FfiResolution
import dev.almanac.ffi.EditSpan
import dev.almanac.ffi.EventAlarm
import dev.almanac.ffi.EventAttendee
import dev.almanac.ffi.EventChanges as FfiEventChanges
import dev.almanac.ffi.EventConflictInfo
import dev.almanac.ffi.EventDetails
import dev.almanac.ffi.EventFields as FfiEventFields
import dev.almanac.ffi.FieldChange
import dev.almanac.ffi.ImportReportInfo
import dev.almanac.ffi.NewEventInput
import dev.almanac.ffi.OccurrenceInfo
import dev.almanac.ffi.OrphanedOverride as FfiOrphanedOverride
import dev.almanac.ffi.RuleChange
import dev.almanac.ffi.ShadowReason as FfiShadowReason

/** A calendar: each is its own unit of sync and sharing. */
data class Calendar(val id: String, val name: String?, val color: String?, val timeZone: ZoneId?)

/** The text fields of an event (null: not set). */
data class EventFields(
    val title: String? = null,
    val location: String? = null,
    val notes: String? = null,
    val url: String? = null,
    val status: String? = null,
    val availability: String? = null,
    val color: String? = null,
    val organizer: String? = null,
)

/** The names of [EventFields], for [EventChanges.fields]. */
enum class EventField(internal val key: String) {
    TITLE("title"), LOCATION("location"), NOTES("notes"), URL("url"),
    STATUS("status"), AVAILABILITY("availability"), COLOR("color"), ORGANIZER("organizer"),
}

/** An attendee's role. */
enum class AttendeeRole { CHAIR, REQUIRED, OPTIONAL, NON_PARTICIPANT }

/** An attendee's answer. */
enum class AttendeeStatus { NEEDS_ACTION, ACCEPTED, DECLINED, TENTATIVE, DELEGATED }

/** One attendee; [address] is `mailto:…` or a bare e-mail address. */
data class Attendee(
    val address: String,
    val name: String? = null,
    val role: AttendeeRole = AttendeeRole.REQUIRED,
    val status: AttendeeStatus = AttendeeStatus.NEEDS_ACTION,
)

/** One alarm, [offset] from the occurrence's start (negative: before). */
data class Alarm(val id: String, val offset: Duration, val description: String? = null)

/** A new event. [rule] is an RFC 5545 `RRULE` value such as `FREQ=WEEKLY;BYDAY=MO`. */
data class NewEvent(
    val id: String,
    val calendar: String,
    val start: EventTime,
    val end: EventEnd,
    val rule: String? = null,
    val fields: EventFields = EventFields(),
    val rdates: List<EventTime> = emptyList(),
    val exdates: List<EventTime> = emptyList(),
    val attendees: List<Attendee> = emptyList(),
    val alarms: List<Alarm> = emptyList(),
)

/** A change to the recurrence rule (whole series only). */
sealed interface RuleUpdate {
    /** Repeat by this `RRULE` value. */
    data class Set(val rule: String) : RuleUpdate

    /** Stop repeating. */
    data object Remove : RuleUpdate
}

/**
 * An edit: only what is given changes. In [fields], a null value clears the field. [start] and
 * [end] go together. Rules, attendees and alarms change on the whole series only.
 */
data class EventChanges(
    val fields: Map<EventField, String?> = emptyMap(),
    val start: EventTime? = null,
    val end: EventEnd? = null,
    val rule: RuleUpdate? = null,
    val setAttendees: List<Attendee> = emptyList(),
    val removeAttendees: List<String> = emptyList(),
    val setAlarms: List<Alarm> = emptyList(),
    val removeAlarms: List<String> = emptyList(),
) {
    companion object {
        /** `EventChanges.title("Standup")`. */
        fun title(title: String?): EventChanges = EventChanges(fields = mapOf(EventField.TITLE to title))
    }
}

/** Which occurrences an edit or delete applies to; an occurrence is named by its original start. */
sealed interface Span {
    /** The whole series (or the single event). */
    data object All : Span

    /** Only this occurrence. */
    data class This(val occurrence: EventTime) : Span

    /** This occurrence and every later one. */
    data class ThisAndFollowing(val occurrence: EventTime) : Span
}

/** An event as stored (the series). */
data class Event(
    val id: String,
    val calendar: String,
    val uid: String,
    val start: EventTime,
    val end: EventEnd,
    val isAllDay: Boolean,
    val rule: String?,
    val fields: EventFields,
    val rdates: List<EventTime>,
    val exdates: List<EventTime>,
    val attendees: List<Attendee>,
    val alarms: List<Alarm>,
)

/** One occurrence in a window, with every edit applied. */
data class Occurrence(
    val eventId: String,
    /** Its original start: what names it in a [Span]. */
    val original: EventTime,
    val start: EventTime,
    val end: EventEnd,
    val isAllDay: Boolean,
    /** When it starts for the viewer. */
    val startInstant: Instant,
    /** When it ends for the viewer (exclusive). */
    val endInstant: Instant,
    val fields: EventFields,
) {
    /** Shortcut for `fields.title`. */
    val title: String? get() = fields.title
}

/** A window of occurrences: `[from, to)`, read in [viewer]'s zone, in [calendars] (all if empty). */
data class OccurrenceWindow(
    val from: Instant,
    val to: Instant,
    val viewer: ZoneId = ZoneId.systemDefault(),
    val calendars: List<String> = emptyList(),
)

/** Where a conflicting value sits in an event. */
data class ConflictPath(val field: String, val key: String? = null, val memberField: String? = null)

/** A field with concurrent values: [shown] is what every device shows. */
data class FieldConflict(val path: ConflictPath, val shown: String, val candidates: List<String>)

/** Why an occurrence's edits are hidden. */
enum class ShadowReason { CANCELLED, TRUNCATED, ORPHANED, HIDDEN }

/** Occurrence edits the app cannot currently see. */
data class ShadowedOccurrence(
    /** The occurrence's original start, when the event is live (for [Store.restoreOccurrence]). */
    val original: EventTime?,
    val following: Boolean,
    val reason: ShadowReason,
    val fields: Map<String, String>,
    val cancelled: Boolean,
)

/** One event's entry in the conflict log. */
data class EventConflicts(
    val eventId: String,
    val deleted: Boolean,
    val fields: List<FieldConflict>,
    val editsHiddenByDelete: Int,
    val occurrences: List<ShadowedOccurrence>,
)

/** How a field conflict is resolved. */
sealed interface Resolution {
    /** Keep the value shown. */
    data object KeepShown : Resolution

    /** Choose `candidates[index]`. */
    data class Candidate(val index: Int) : Resolution

    /** Write this text instead. */
    data class Text(val value: String) : Resolution
}

/** An override whose occurrence no longer exists (the rule or start changed). */
data class OrphanedOverride(val original: EventTime, val fields: Map<String, String>, val cancelled: Boolean)

/** One problem met while importing. */
data class ImportIssue(val line: Long?, val uid: String?, val message: String)

/** What an import did. */
data class ImportReport(val events: Long, val issues: List<ImportIssue>)

// ---- conversions to and from the generated types ----

internal fun CalendarInfo.toKotlin() = Calendar(id, name, color, timeZone?.let(ZoneId::of))

internal fun EventFields.toFfi() = FfiEventFields(title, location, notes, url, status, availability, color, organizer)

internal fun FfiEventFields.toKotlin() = EventFields(title, location, notes, url, status, availability, color, organizer)

internal fun Attendee.toFfi() = EventAttendee(address, name, FfiRole.valueOf(role.name), FfiStatus.valueOf(status.name))

internal fun EventAttendee.toKotlin() =
    Attendee(address, name, AttendeeRole.valueOf(role.name), AttendeeStatus.valueOf(status.name))

internal fun Alarm.toFfi() = EventAlarm(id, offset.seconds, description)

internal fun EventAlarm.toKotlin() = Alarm(id, Duration.ofSeconds(offsetSeconds), description)

internal fun NewEvent.toFfi() = NewEventInput(
    id = id,
    calendar = calendar,
    start = start.toFfi(),
    end = end.toFfi(),
    rule = rule,
    rdates = rdates.map { it.toFfi() },
    exdates = exdates.map { it.toFfi() },
    fields = fields.toFfi(),
    attendees = attendees.map { it.toFfi() },
    alarms = alarms.map { it.toFfi() },
)

internal fun EventChanges.toFfi() = FfiEventChanges(
    fields = fields.entries.associate { (field, value) ->
        field.key to (if (value == null) FieldChange.Clear else FieldChange.Set(value))
    },
    start = start?.toFfi(),
    end = end?.toFfi(),
    rule = when (val r = rule) {
        null -> null
        is RuleUpdate.Set -> RuleChange.Set(r.rule)
        RuleUpdate.Remove -> RuleChange.Remove
    },
    setAttendees = setAttendees.map { it.toFfi() },
    removeAttendees = removeAttendees,
    setAlarms = setAlarms.map { it.toFfi() },
    removeAlarms = removeAlarms,
)

internal fun Span.toFfi(): EditSpan = when (this) {
    Span.All -> EditSpan.All
    is Span.This -> EditSpan.This(occurrence.toFfi())
    is Span.ThisAndFollowing -> EditSpan.ThisAndFollowing(occurrence.toFfi())
}

internal fun EventDetails.toKotlin() = Event(
    id = id,
    calendar = calendar,
    uid = uid,
    start = start.toKotlin(),
    end = end.toKotlin(),
    isAllDay = allDay,
    rule = rule,
    fields = fields.toKotlin(),
    rdates = rdates.map { it.toKotlin() },
    exdates = exdates.map { it.toKotlin() },
    attendees = attendees.map { it.toKotlin() },
    alarms = alarms.map { it.toKotlin() },
)

internal fun OccurrenceInfo.toKotlin() = Occurrence(
    eventId = eventId,
    original = original.toKotlin(),
    start = start.toKotlin(),
    end = end.toKotlin(),
    isAllDay = allDay,
    startInstant = Instant.ofEpochSecond(startEpochSeconds),
    endInstant = Instant.ofEpochSecond(endEpochSeconds),
    fields = fields.toKotlin(),
)

internal fun FfiConflictPath.toKotlin() = ConflictPath(field, key, memberField)

internal fun ConflictPath.toFfi() = FfiConflictPath(field, key, memberField)

internal fun Resolution.toFfi(): FfiResolution = when (this) {
    Resolution.KeepShown -> FfiResolution.KeepShown
    is Resolution.Candidate -> {
        require(index >= 0) { "a candidate index is not negative" }
        FfiResolution.Candidate(index.toUInt())
    }
    is Resolution.Text -> FfiResolution.Text(value)
}

internal fun EventConflictInfo.toKotlin() = EventConflicts(
    eventId = eventId,
    deleted = deleted,
    fields = fields.map { f -> FieldConflict(f.path.toKotlin(), f.shown.text, f.candidates.map { it.text }) },
    editsHiddenByDelete = editsHiddenByDelete.toInt(),
    occurrences = occurrences.map { o ->
        ShadowedOccurrence(
            original = o.original?.toKotlin(),
            following = o.following,
            reason = when (o.reason) {
                FfiShadowReason.CANCELLED -> ShadowReason.CANCELLED
                FfiShadowReason.TRUNCATED -> ShadowReason.TRUNCATED
                FfiShadowReason.ORPHANED -> ShadowReason.ORPHANED
                FfiShadowReason.HIDDEN -> ShadowReason.HIDDEN
            },
            fields = o.fields,
            cancelled = o.cancelled,
        )
    },
)

internal fun FfiOrphanedOverride.toKotlin() = OrphanedOverride(original.toKotlin(), fields, cancelled)

internal fun ImportReportInfo.toKotlin() =
    ImportReport(events.toLong(), issues.map { ImportIssue(it.line?.toLong(), it.uid, it.message) })
