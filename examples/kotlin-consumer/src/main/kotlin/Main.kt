import dev.almanac.EventChanges
import dev.almanac.EventEnd
import dev.almanac.EventFields
import dev.almanac.EventTime
import dev.almanac.NewEvent
import dev.almanac.OccurrenceWindow
import dev.almanac.Span
import dev.almanac.Store
import java.nio.file.Files
import java.time.Duration
import java.time.Instant
import java.time.LocalDateTime
import java.time.ZoneId
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking

fun main() = runBlocking {
    val paris = ZoneId.of("Europe/Paris")
    Store(Files.createTempDirectory("almanac").resolve("calendar.almanac")).use { store ->
        store.createCalendar("work", "Work", color = "#3366ff", timeZone = paris)
        store.createEvent(
            NewEvent(
                id = "standup",
                calendar = "work",
                start = EventTime.Zoned(LocalDateTime.parse("2026-03-23T09:00:00"), paris),
                end = EventEnd.after(Duration.ofMinutes(15)),
                rule = "FREQ=WEEKLY;BYDAY=MO",
                fields = EventFields(title = "Standup"),
            ),
        )

        // A month view that stays current: it emits now and after every change to it.
        val march = OccurrenceWindow(Instant.parse("2026-03-01T00:00:00Z"), Instant.parse("2026-04-01T00:00:00Z"), paris)
        val view = launch {
            store.watchOccurrences(march).take(2).collect { occurrences ->
                println(occurrences.joinToString { "${it.startInstant.atZone(paris).toLocalDate()} ${it.title}" })
            }
        }
        val second = store.watchOccurrences(march).first()[1]
        store.editEvent("standup", Span.This(second.original), EventChanges.title("Standup (moved room)"))
        view.join()

        // Sync with an Almanac server when one is configured (see server/README.md).
        val server = System.getenv("ALMANAC_SERVER_URL")
        if (server != null) {
            store.configureSync(server, System.getenv("ALMANAC_TOKEN").orEmpty())
            println("synced: ${store.syncOnce()}")
        }
        println("tz database ${Store.tzDatabaseVersion}; ${store.conflicts().size} conflicts")
    }
}
