package dev.almanac

import java.nio.file.Path
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.fail
import org.junit.jupiter.api.io.TempDir

class SyncTest {
    @Test
    fun `two stores converge after a sync, keeping the losing write as a conflict`(
        @TempDir phone: Path,
        @TempDir laptop: Path,
    ) {
        Store(phone.resolve("almanac.db")).use { a ->
            Store(laptop.resolve("almanac.db")).use { b ->
                assertNotEquals(a.replicaId, b.replicaId)

                a.put("events", "standup", "title" to Value.Text("Standup"), "room" to Value.Text("Blue"))
                b.put("events", "standup", mapOf("title" to Value.Text("Daily standup"), "minutes" to Value.of(15)))

                a.sync(b)

                val onA = a.record("events", "standup") ?: fail("record missing on A")
                val onB = b.record("events", "standup") ?: fail("record missing on B")
                assertEquals(onA, onB, "both replicas hold the same record")

                val titles = setOf(Value.Text("Standup"), Value.Text("Daily standup"))
                val winner = onA["title"] ?: fail("title missing")
                assertEquals(titles, setOf(winner) + onA.conflicts("title"), "winner plus conflicts are both writes")
                assertEquals(1, onA.conflicts("title").size)

                assertEquals(Value.Text("Blue"), onA["room"])
                assertEquals(Value.Integer(15), onA["minutes"])
                assertEquals(listOf("minutes", "room", "title"), onA.fields.keys.toList())
                assertEquals(emptyList<Value>(), onA.conflicts("room"))
            }
        }
    }
}
