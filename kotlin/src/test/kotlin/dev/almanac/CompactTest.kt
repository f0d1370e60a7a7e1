package dev.almanac

import java.nio.file.Files
import java.nio.file.Path
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

class CompactTest {
    @Test
    fun `compact shrinks the file and keeps what is seen`(@TempDir dir: Path) = runBlocking {
        val file = dir.resolve("almanac.db")
        val onDisk = { Files.size(file) + (dir.resolve("almanac.db-wal").takeIf { Files.exists(it) }?.let(Files::size) ?: 0L) }
        openStore(dir).use { store ->
            for (i in 0 until 200) {
                store.createEvent(weekly("e$i", "2026-03-23T09:00:00").copy(fields = EventFields(title = "e$i", notes = "n".repeat(500))))
            }
            for (i in 1 until 200) store.deleteEvent("e$i")
            val seen = store.occurrences(aroundDst)
            val before = onDisk()
            store.compact()
            assertTrue(onDisk() < before, "${onDisk()} of $before bytes")
            assertEquals(seen, store.occurrences(aroundDst))
        }
    }
}
