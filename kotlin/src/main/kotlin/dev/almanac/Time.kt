package dev.almanac

import java.time.Duration
import java.time.Instant
import java.time.LocalDate
import java.time.LocalDateTime
import java.time.ZoneId
import java.time.ZonedDateTime
import java.time.format.DateTimeFormatter
import dev.almanac.ffi.EventEnd as FfiEventEnd
import dev.almanac.ffi.EventTime as FfiEventTime

/**
 * When something happens, kept as written: an all-day date, a wall time in a zone, a floating
 * wall time (read in the viewer's zone), or an instant. Stored this way so a meeting at 09:00
 * in Paris stays at 09:00 in Paris across daylight-saving changes.
 */
sealed interface EventTime {
    /** An all-day date. */
    data class Date(val date: LocalDate) : EventTime

    /** A wall time in a zone. A time in a daylight-saving gap is kept as written. */
    data class Zoned(val local: LocalDateTime, val zone: ZoneId) : EventTime {
        constructor(time: ZonedDateTime) : this(time.toLocalDateTime(), time.zone)

        /** As a `ZonedDateTime` (a time in a gap moves forward, as `java.time` does). */
        val zonedDateTime: ZonedDateTime get() = ZonedDateTime.of(local, zone)
    }

    /** A wall time with no zone. */
    data class Floating(val local: LocalDateTime) : EventTime

    /** An instant. */
    data class Utc(val instant: Instant) : EventTime
}

/** How an event's end is given. */
sealed interface EventEnd {
    /** An explicit end of the same kind as the start (exclusive). */
    data class At(val time: EventTime) : EventEnd

    /**
     * A length: [days] follow the wall clock (23 or 25 hours across a daylight-saving change),
     * [exact] is elapsed time. An all-day event lasts whole days.
     */
    data class After(val days: Int = 0, val exact: Duration = Duration.ZERO) : EventEnd

    companion object {
        /** Ends [duration] after the start (elapsed time). */
        fun after(duration: Duration): EventEnd = After(exact = duration)

        /** Lasts [days] calendar days (all-day events). */
        fun days(days: Int): EventEnd = After(days = days)
    }
}

private val wallTime: DateTimeFormatter = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss")

internal fun EventTime.toFfi(): FfiEventTime = when (this) {
    is EventTime.Date -> FfiEventTime.Date(date.toString())
    is EventTime.Zoned -> FfiEventTime.Zoned(local.format(wallTime), zone.id)
    is EventTime.Floating -> FfiEventTime.Floating(local.format(wallTime))
    is EventTime.Utc -> FfiEventTime.Utc(instant.epochSecond)
}

internal fun FfiEventTime.toKotlin(): EventTime = when (this) {
    is FfiEventTime.Date -> EventTime.Date(LocalDate.parse(date))
    is FfiEventTime.Zoned -> EventTime.Zoned(parseWallTime(local), zoneNamed(zone))
    is FfiEventTime.Floating -> EventTime.Floating(parseWallTime(local))
    is FfiEventTime.Utc -> EventTime.Utc(Instant.ofEpochSecond(epochSeconds))
}

// Every occurrence of a view carries two wall times and a zone (W9): the core's fixed
// `YYYY-MM-DDTHH:MM:SS` is read digit by digit (the ISO formatter took a third of the Kotlin
// layer's time) and zones are looked up once.
private val zones = java.util.concurrent.ConcurrentHashMap<String, ZoneId>()

private fun zoneNamed(id: String): ZoneId = zones[id] ?: ZoneId.of(id).also { if (zones.size < 1024) zones[id] = it }

internal fun parseWallTime(text: String): LocalDateTime {
    if (text.length != 19 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':') {
        return LocalDateTime.parse(text) // a year outside 0000-9999: the general parser
    }
    fun number(from: Int, to: Int): Int {
        var value = 0
        for (i in from until to) {
            val digit = text[i] - '0'
            if (digit !in 0..9) return -1
            value = value * 10 + digit
        }
        return value
    }
    val fields = intArrayOf(number(0, 4), number(5, 7), number(8, 10), number(11, 13), number(14, 16), number(17, 19))
    if (fields.any { it < 0 }) return LocalDateTime.parse(text)
    // LocalDateTime.of checks the ranges, as parse does.
    return LocalDateTime.of(fields[0], fields[1], fields[2], fields[3], fields[4], fields[5])
}

internal fun EventEnd.toFfi(): FfiEventEnd = when (this) {
    is EventEnd.At -> FfiEventEnd.At(time.toFfi())
    is EventEnd.After -> FfiEventEnd.After(days, exact.seconds)
}

internal fun FfiEventEnd.toKotlin(): EventEnd = when (this) {
    is FfiEventEnd.At -> EventEnd.At(time.toKotlin())
    is FfiEventEnd.After -> EventEnd.After(days, Duration.ofSeconds(seconds))
}
