package dev.almanac

import java.nio.file.Files
import java.nio.file.Path
import java.time.LocalDateTime
import java.time.ZoneOffset
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

class ErrorTest {
    private inline fun <reified E : AlmanacException> fails(needle: String, block: () -> Unit) {
        val error = assertThrows<E>(block)
        assertTrue(needle in error.message.orEmpty(), "'${error.message}' lacks '$needle'")
    }

    @Test
    fun `every error case throws its own exception with a readable message`(@TempDir dir: Path) = runBlocking {
        val store = openStore(dir)
        // A zone java.time accepts but the calendar does not (fixed offsets have no IANA id).
        val offset = EventTime.Zoned(LocalDateTime.parse("2026-03-23T09:00:00"), ZoneOffset.ofHours(1))
        fails<AlmanacException.InvalidInput>("unknown time zone '+01:00'") { runBlocking { store.createEvent(NewEvent("a", "work", offset, oneHour)) } }
        fails<AlmanacException.InvalidInput>("the end is before the start") {
            runBlocking { store.createEvent(NewEvent("b", "work", parisAt("2026-03-23T09:00:00"), EventEnd.At(parisAt("2026-03-23T08:00:00")))) }
        }
        fails<AlmanacException.InvalidInput>("FREQ=SOMETIMES") { runBlocking { store.createEvent(weekly("c", "2026-03-23T09:00:00").copy(rule = "FREQ=SOMETIMES")) } }
        fails<AlmanacException.InvalidInput>("+02:00") { runBlocking { store.occurrences(aroundDst.copy(viewer = ZoneOffset.ofHours(2))) } }
        fails<AlmanacException.NotFound>("ghost") { runBlocking { store.editEvent("ghost", Span.All, EventChanges.title("x")) } }
        store.createEvent(NewEvent("single", "work", parisAt("2026-03-23T09:00:00"), oneHour))
        fails<AlmanacException.InvalidInput>("does not repeat") {
            runBlocking { store.editEvent("single", Span.This(parisAt("2026-03-23T09:00:00")), EventChanges.title("x")) }
        }
        fails<AlmanacException.InvalidInput>("already exists") { runBlocking { store.createEvent(NewEvent("single", "work", parisAt("2026-03-23T09:00:00"), oneHour)) } }
        fails<AlmanacException.InvalidInput>("limit is 1024") { runBlocking { store.createEvent(NewEvent("x".repeat(5000), "work", parisAt("2026-03-23T09:00:00"), oneHour)) } }

        // Huge text values are stored whole.
        val huge = "é".repeat(1 shl 20)
        store.editEvent("single", Span.All, EventChanges.title(huge))
        assertEquals(huge, store.event("single")!!.fields.title)

        store.close()
        store.close()
        assertTrue(store.isClosed)
        fails<AlmanacException.Closed>("closed") { runBlocking { store.occurrences(aroundDst) } }
        fails<AlmanacException.Closed>("closed") { runBlocking { store.createEvent(NewEvent("z", "work", parisAt("2026-03-23T09:00:00"), oneHour)) } }
    }

    @Test
    fun `opening something that is not a store is Corrupt`(@TempDir dir: Path) {
        val file = Files.writeString(dir.resolve("notes.txt"), "not a database at all, but long enough to have a header".repeat(10))
        fails<AlmanacException.Corrupt>("not an Almanac store") { Store(file) }
    }

    @Test
    fun `sync errors say what to do`(@TempDir dir: Path) = runBlocking {
        openStore(dir).use { store ->
            fails<AlmanacException.InvalidInput>("configure sync") { runBlocking { store.syncOnce() } }
            fails<AlmanacException.InvalidInput>("ws") { store.configureSync("http://example.com", "token") }
            store.configureSync("ws://127.0.0.1:9", "token")
            fails<AlmanacException.Network>("cannot reach") { runBlocking { store.syncOnce() } }
            assertTrue(store.syncStatus.lastError!!.contains("cannot reach"))
        }
    }

    @Test
    fun `the device marker lives where the app says, and a store without it takes a new replica id`(@TempDir dir: Path) {
        val path = dir.resolve("calendar.almanac")
        val noBackup = Files.createDirectories(dir.resolve("no-backup"))
        val id = Store(path, noBackup.resolve("almanac.device")).use { it.replicaId }
        assertTrue(Files.exists(noBackup.resolve("almanac.device")))
        assertTrue(!Files.exists(dir.resolve("calendar.almanac.device")))
        assertEquals(id, Store(path, noBackup.resolve("almanac.device")).use { it.replicaId })
        // Restored from a backup, the store comes back without its marker: a fresh replica id.
        assertTrue(id != Store(path, noBackup.resolve("other.device")).use { it.replicaId })
    }
}
