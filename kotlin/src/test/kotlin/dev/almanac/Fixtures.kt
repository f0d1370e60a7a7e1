package dev.almanac

import java.nio.file.Files
import java.nio.file.Path
import java.time.Duration
import java.time.Instant
import java.time.LocalDateTime
import java.time.ZoneId

val paris: ZoneId = ZoneId.of("Europe/Paris")

fun parisAt(text: String) = EventTime.Zoned(LocalDateTime.parse(text), paris)

val oneHour: EventEnd = EventEnd.after(Duration.ofHours(1))

/** 2026-03-23 .. 2026-04-13: Mondays on both sides of the EU change to summer time (03-29). */
val aroundDst = OccurrenceWindow(Instant.parse("2026-03-23T00:00:00Z"), Instant.parse("2026-04-13T00:00:00Z"), paris)

fun weekly(id: String, start: String, calendar: String = "work") =
    NewEvent(id = id, calendar = calendar, start = parisAt(start), end = oneHour, rule = "FREQ=WEEKLY", fields = EventFields(title = id))

fun openStore(dir: Path, name: String = "almanac.db"): Store = Store(Files.createDirectories(dir).resolve(name))
