package dev.almanac

import java.nio.file.Path
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

class ConcurrencyTest {
    @Test
    fun `many coroutines write and read one store at once`(@TempDir dir: Path) = runBlocking {
        openStore(dir).use { store ->
            (0 until 16).map { worker ->
                async(Dispatchers.Default) {
                    repeat(10) { i ->
                        val id = "w$worker-$i"
                        val day = 23 + (i % 7)
                        store.createEvent(NewEvent(id, "work", parisAt("2026-03-${day}T%02d:00:00".format(6 + worker)), oneHour))
                        store.occurrences(aroundDst)
                        store.editEvent(id, Span.All, EventChanges.title("done"))
                    }
                }
            }.awaitAll()
            val all = store.occurrences(aroundDst)
            assertEquals(160, all.size)
            assertTrue(all.all { it.title == "done" })
        }
    }
}
