package dev.almanac

import java.nio.file.Path
import java.time.LocalDate
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

class IcsTest {
    @Test
    fun `iCalendar round trip with progress and per-item issues`(@TempDir dir: Path) = runBlocking {
        openStore(dir, "a").use { a ->
            openStore(dir, "b").use { b ->
                a.createEvent(weekly("standup", "2026-03-23T09:00:00").copy(rule = "FREQ=WEEKLY;COUNT=3"))
                a.createEvent(NewEvent("holiday", "work", EventTime.Date(LocalDate.parse("2026-03-25")), EventEnd.days(1), fields = EventFields(title = "Holiday")))
                val text = a.exportIcs("work")
                assertTrue("RRULE:FREQ=WEEKLY;COUNT=3" in text, text)

                val broken = text.replace("END:VCALENDAR", "BEGIN:VEVENT\r\nUID:broken\r\nDTSTART:nonsense\r\nEND:VEVENT\r\nEND:VCALENDAR")
                val progress = mutableListOf<Pair<Long, Long>>()
                val report = b.importIcs("work", broken) { done, total -> synchronized(progress) { progress += done to total } }
                assertEquals(2, report.events)
                assertTrue(report.issues.isNotEmpty(), report.toString())
                assertTrue(progress.isNotEmpty() && progress.last().first == progress.last().second, progress.toString())
                val seen = { s: Store -> runBlocking { s.occurrences(aroundDst).map { it.startInstant to it.title } } }
                assertEquals(seen(a), seen(b))
            }
        }
    }
}
