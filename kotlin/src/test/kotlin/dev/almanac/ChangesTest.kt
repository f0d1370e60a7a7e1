package dev.almanac

import java.nio.file.Path
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

class ChangesTest {
    @Test
    fun `the change stream names local and synced changes`(@TempDir dir: Path) = runBlocking {
        openStore(dir, "a").use { a ->
            openStore(dir, "b").use { b ->
                val heard = Channel<Change>(Channel.UNLIMITED)
                val listening = launch { b.changes.collect { heard.send(it) } }
                // The flow subscribes when its collector first runs: write until it hears.
                waitUntil {
                    b.put("probe", "p", "n" to Value.of(1))
                    heard.tryReceive().isSuccess
                }
                b.createCalendar("work", "Work")
                a.createEvent(weekly("e1", "2026-03-23T09:00:00"))
                a.sync(b)
                // Later probes may still be queued: skip the probe records' space.
                val work = suspend {
                    withTimeout(10_000) {
                        var change: Change
                        do change = heard.receive() while (change.calendar != "work")
                        change
                    }
                }
                val local = work()
                val remote = work()
                assertTrue(local.isLocal && local.calendarChanged && local.calendar == "work", local.toString())
                assertEquals(Change(false, "work", listOf("e1"), false), remote)
                listening.cancel()
            }
        }
    }

    @Test
    fun `watchOccurrences emits the view now and after each change, local or synced`(@TempDir dir: Path) = runBlocking {
        openStore(dir, "a").use { a ->
            openStore(dir, "b").use { b ->
                val views = Channel<List<Occurrence>>(Channel.UNLIMITED)
                val watching = launch { a.watchOccurrences(aroundDst).collect { views.send(it) } }
                val next = suspend { withTimeout(10_000) { views.receive() } }
                assertEquals(emptyList<Occurrence>(), next())
                a.createEvent(weekly("standup", "2026-03-23T09:00:00"))
                assertEquals(listOf("standup", "standup", "standup"), next().map { it.title })
                a.editEvent("standup", Span.This(parisAt("2026-03-30T09:00:00")), EventChanges.title("Moved"))
                assertEquals(listOf("standup", "Moved", "standup"), next().map { it.title })
                a.sync(b)
                b.editEvent("standup", Span.All, EventChanges(fields = mapOf(EventField.LOCATION to "Room 2")))
                b.sync(a)
                val synced = next()
                assertEquals(listOf("standup", "Moved", "standup"), synced.map { it.title })
                assertEquals(listOf("Room 2", "Room 2", "Room 2"), synced.map { it.fields.location })
                // A change outside the window's calendars or time leaves the view as it was: nothing is emitted.
                a.createEvent(NewEvent("later", "work", parisAt("2026-09-01T09:00:00"), oneHour))
                a.createEvent(weekly("other", "2026-03-24T09:00:00"))
                assertEquals(6, next().size)
                watching.cancel()
            }
        }
    }
}

suspend fun waitUntil(condition: suspend () -> Boolean) = withTimeout(10_000) {
    while (!condition()) kotlinx.coroutines.delay(20)
}
