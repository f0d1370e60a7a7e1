package dev.almanac

import java.nio.file.Path
import java.time.Instant
import java.time.LocalDate
import java.time.ZoneId
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

class CalendarTest {
    @Test
    fun `calendars are created, renamed, coloured and zoned`(@TempDir dir: Path) = runBlocking {
        openStore(dir).use { store ->
            store.createCalendar("work", "Work", timeZone = paris)
            store.renameCalendar("work", "Office")
            store.setCalendarColor("work", "#3366ff")
            store.setCalendarTimeZone("work", ZoneId.of("America/New_York"))
            assertEquals(listOf(Calendar("work", "Office", "#3366ff", ZoneId.of("America/New_York"))), store.calendars())
            assertTrue(Store.tzDatabaseVersion.matches(Regex("20\\d\\d[a-z]")), Store.tzDatabaseVersion)
        }
    }

    @Test
    fun `occurrences keep their wall time across the DST change`(@TempDir dir: Path) = runBlocking {
        openStore(dir).use { store ->
            store.createEvent(weekly("standup", "2026-03-23T09:00:00"))
            val view = store.occurrences(aroundDst)
            assertEquals(
                listOf("2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z", "2026-04-06T07:00:00Z").map(Instant::parse),
                view.map { it.startInstant },
            )
            assertEquals(parisAt("2026-03-30T09:00:00"), view[1].original)
            assertEquals(3600, view[1].endInstant.epochSecond - view[1].startInstant.epochSecond)
        }
    }

    @Test
    fun `create, edit and delete with every span, and restore`(@TempDir dir: Path) = runBlocking {
        openStore(dir).use { store ->
            store.createEvent(weekly("standup", "2026-03-23T09:00:00"))
            val second = parisAt("2026-03-30T09:00:00")
            store.editEvent("standup", Span.This(second), EventChanges.title("Moved"))
            store.editEvent("standup", Span.ThisAndFollowing(parisAt("2026-04-06T09:00:00")), EventChanges(fields = mapOf(EventField.LOCATION to "Room 2")))
            store.editEvent("standup", Span.All, EventChanges(fields = mapOf(EventField.NOTES to "coffee")))
            val view = store.occurrences(aroundDst)
            assertEquals(listOf("standup", "Moved", "standup"), view.map { it.title })
            assertEquals(listOf(null, null, "Room 2"), view.map { it.fields.location })
            assertTrue(view.all { it.fields.notes == "coffee" })

            store.deleteEvent("standup", Span.This(second))
            assertEquals(2, store.occurrences(aroundDst).size)
            store.restoreOccurrence("standup", second)
            assertEquals("Moved", store.occurrences(aroundDst)[1].title)

            store.deleteEvent("standup", Span.ThisAndFollowing(second))
            assertEquals(1, store.occurrences(aroundDst).size)

            store.deleteEvent("standup", Span.All)
            assertNull(store.event("standup"))
            store.restoreEvent("standup")
            val event = store.event("standup")!!
            assertEquals("FREQ=WEEKLY", event.rule)
            assertEquals(parisAt("2026-03-23T09:00:00"), event.start)
        }
    }

    @Test
    fun `all-day and floating events are read in the viewer's zone`(@TempDir dir: Path) = runBlocking {
        openStore(dir).use { store ->
            store.createEvent(NewEvent("holiday", "home", EventTime.Date(LocalDate.parse("2026-03-25")), EventEnd.days(1)))
            val tokyo = aroundDst.copy(viewer = ZoneId.of("Asia/Tokyo"))
            val day = store.occurrences(tokyo).single()
            assertTrue(day.isAllDay)
            assertEquals(Instant.parse("2026-03-24T15:00:00Z"), day.startInstant)
            assertEquals(EventTime.Date(LocalDate.parse("2026-03-25")), day.start)
        }
    }
}
