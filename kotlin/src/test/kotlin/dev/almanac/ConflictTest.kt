package dev.almanac

import java.nio.file.Path
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

class ConflictTest {
    @Test
    fun `concurrent edits are listed, resolved and an edit racing a delete is restored`(@TempDir dir: Path) = runBlocking {
        openStore(dir, "phone").use { phone ->
            openStore(dir, "laptop").use { laptop ->
                phone.createEvent(NewEvent("review", "work", parisAt("2026-03-24T14:00:00"), oneHour))
                phone.sync(laptop)
                phone.editEvent("review", Span.All, EventChanges.title("Phone"))
                laptop.editEvent("review", Span.All, EventChanges.title("Laptop"))
                phone.sync(laptop)

                val log = phone.conflicts()
                assertEquals(log, laptop.conflicts())
                val title = log.single().fields.single()
                assertEquals(ConflictPath("title"), title.path)
                val loser = title.candidates.single()
                assertNotEquals(title.shown, loser)
                phone.resolveConflict("review", title.path, Resolution.Candidate(0))
                phone.sync(laptop)
                assertEquals(emptyList<EventConflicts>(), laptop.conflicts())
                assertEquals(loser, laptop.event("review")!!.fields.title)

                laptop.deleteEvent("review")
                phone.editEvent("review", Span.All, EventChanges.title("Edited meanwhile"))
                phone.sync(laptop)
                val deleted = phone.conflicts().single()
                assertTrue(deleted.deleted)
                assertEquals(1, deleted.editsHiddenByDelete)
                laptop.restoreEvent("review")
                assertEquals("Edited meanwhile", laptop.event("review")!!.fields.title)
            }
        }
    }

    @Test
    fun `a cancelled occurrence with a concurrent edit is restorable from the log`(@TempDir dir: Path) = runBlocking {
        openStore(dir, "phone").use { phone ->
            openStore(dir, "laptop").use { laptop ->
                phone.createEvent(weekly("gym", "2026-03-23T18:00:00"))
                phone.sync(laptop)
                val second = parisAt("2026-03-30T18:00:00")
                phone.deleteEvent("gym", Span.This(second))
                laptop.editEvent("gym", Span.This(second), EventChanges.title("Leg day"))
                phone.sync(laptop)
                val hidden = phone.conflicts().single().occurrences.single()
                assertEquals(ShadowReason.CANCELLED, hidden.reason)
                assertEquals(second, hidden.original)
                phone.restoreOccurrence("gym", hidden.original!!)
                assertEquals("Leg day", phone.occurrences(aroundDst)[1].title)
            }
        }
    }

    @Test
    fun `an override orphaned by a rule change is listed`(@TempDir dir: Path) = runBlocking {
        openStore(dir).use { store ->
            store.createEvent(weekly("gym", "2026-03-23T18:00:00"))
            store.editEvent("gym", Span.This(parisAt("2026-03-30T18:00:00")), EventChanges.title("Leg day"))
            store.editEvent("gym", Span.All, EventChanges(rule = RuleUpdate.Set("FREQ=WEEKLY;BYDAY=TU")))
            val orphan = store.orphanedOverrides("gym").single()
            assertEquals(parisAt("2026-03-30T18:00:00"), orphan.original)
            assertEquals("Leg day", orphan.fields["title"])
        }
    }
}
