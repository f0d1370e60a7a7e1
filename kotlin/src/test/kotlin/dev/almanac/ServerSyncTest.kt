package dev.almanac

import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/** The real `almanac-server` (built by cargo) on a free loopback port with a temporary data folder. */
class TestServer(private val data: Path) : AutoCloseable {
    private val bin: String = System.getProperty("almanac.server.bin")
        ?: error("set -Dalmanac.server.bin to the almanac-server binary (kotlin/scripts/test.sh does)")
    private val process: Process
    val url: String

    init {
        check(Files.isExecutable(Path.of(bin))) { "almanac-server not found at $bin: run cargo build -p almanac-server" }
        process = ProcessBuilder(bin, "--data", data.toString(), "--listen", "127.0.0.1:0")
            .redirectError(data.resolveSibling("server.log").toFile())
            .start()
        val first = process.inputReader().readLine() ?: error("the server printed nothing; see ${data.resolveSibling("server.log")}")
        // "almanac-server listening on ... (devices connect to ws://127.0.0.1:PORT/v1/sync)"
        url = Regex("devices connect to (ws://[^/ ]+)").find(first)?.groupValues?.get(1) ?: error("unexpected first line: $first")
    }

    /** `almanac-server --data D <args>`: its output, trimmed. */
    fun admin(vararg args: String): String {
        val run = ProcessBuilder(listOf(bin, "--data", data.toString()) + args).redirectErrorStream(true).start()
        val out = run.inputStream.bufferedReader().readText().trim()
        check(run.waitFor(30, TimeUnit.SECONDS) && run.exitValue() == 0) { "almanac-server ${args.toList()}: $out" }
        return out
    }

    /** A new user and a token for them. */
    fun user(name: String): String {
        admin("user", "add", name)
        return admin("token", "--user", name).lines().last().trim()
    }

    override fun close() {
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly()
    }
}

class ServerSyncTest {
    @TempDir
    lateinit var dir: Path
    private lateinit var server: TestServer

    @BeforeEach
    fun start() {
        server = TestServer(Files.createDirectories(dir.resolve("server")).resolve("data"))
    }

    @AfterEach
    fun stop() = server.close()

    @Test
    fun `two stores sync through the server once and live`() = runBlocking {
        val token = server.user("alice")
        openStore(dir.resolve("phone")).use { phone ->
            openStore(dir.resolve("laptop")).use { laptop ->
                phone.createCalendar("work", "Work", timeZone = paris)
                phone.createEvent(weekly("standup", "2026-03-23T09:00:00"))
                phone.configureSync(server.url, token)
                laptop.configureSync(server.url, token)
                assertTrue(phone.syncStatus.hasPendingChanges || phone.syncStatus.lastSyncedAt == null)
                val sent = phone.syncOnce()
                assertTrue(sent.recordsSent >= 2, sent.toString())
                assertTrue(phone.syncStatus.lastSyncedAt != null && !phone.syncStatus.hasPendingChanges, phone.syncStatus.toString())

                laptop.joinCalendar("work")
                val joined = laptop.syncOnce()
                assertEquals(listOf("work"), joined.joinedCalendars)
                assertEquals("Work", laptop.calendar("work")?.name)
                assertEquals(phone.occurrences(aroundDst), laptop.occurrences(aroundDst))

                // Live on both: an edit on the laptop reaches the phone's open month view.
                phone.startLiveSync()
                laptop.startLiveSync()
                withTimeout(20_000) { phone.syncStatusFlow.first { it.state == SyncState.UP_TO_DATE } }
                withTimeout(20_000) { laptop.syncStatusFlow.first { it.state == SyncState.UP_TO_DATE } }
                val updated = async(start = CoroutineStart.UNDISPATCHED) {
                    withTimeout(20_000) { phone.watchOccurrences(aroundDst).first { view -> view.any { it.title == "From the laptop" } } }
                }
                laptop.editEvent("standup", Span.This(parisAt("2026-03-30T09:00:00")), EventChanges.title("From the laptop"))
                assertEquals(listOf("standup", "From the laptop", "standup"), updated.await().map { it.title })

                phone.suspendSync()
                assertEquals(SyncState.OFFLINE, phone.syncStatus.state)
                phone.resumeSync()
                withTimeout(20_000) { phone.syncStatusFlow.first { it.state == SyncState.UP_TO_DATE } }
                phone.stopLiveSync()
                laptop.stopLiveSync()
                assertEquals(SyncState.OFFLINE, laptop.syncStatus.state)
            }
        }
    }

    @Test
    fun `a refused token is Unauthorized`() = runBlocking {
        openStore(dir.resolve("phone")).use { phone ->
            phone.configureSync(server.url, "not-a-token")
            val error = runCatching { phone.syncOnce() }.exceptionOrNull()
            assertTrue(error is AlmanacException.Unauthorized && "sign in again" in error.message.orEmpty(), error.toString())
        }
    }

    @Test
    fun `the owner shares a calendar from the app, and unsharing stops the member's sync`() = runBlocking {
        val (alice, bob) = server.user("alice") to server.user("bob")
        openStore(dir.resolve("alice")).use { owner ->
            openStore(dir.resolve("bob")).use { member ->
                owner.createCalendar("family", "Family", timeZone = paris)
                owner.createEvent(weekly("dinner", "2026-03-23T19:00:00", calendar = "family"))
                owner.configureSync(server.url, alice)
                owner.syncOnce()
                assertEquals(emptyList<CalendarShare>(), owner.calendarShares("family"))
                assertEquals(ShareOutcome.ADDED, owner.shareCalendar("family", "bob", readOnly = true))
                assertEquals(listOf(CalendarShare("bob", readOnly = true)), owner.calendarShares("family"))

                member.configureSync(server.url, bob)
                member.joinCalendar("family")
                assertEquals(listOf("family"), member.syncOnce().joinedCalendars)
                assertEquals("dinner", member.event("dinner")?.fields?.title)
                val notOwner = runCatching { member.shareCalendar("family", "alice") }.exceptionOrNull()
                assertTrue(notOwner is AlmanacException.Forbidden && "only the owner" in notOwner.message.orEmpty(), notOwner.toString())
                val unknown = runCatching { owner.shareCalendar("family", "zoe") }.exceptionOrNull()
                assertTrue(unknown is AlmanacException.NotFound && "zoe" in unknown.message.orEmpty(), unknown.toString())

                assertEquals(true, owner.unshareCalendar("family", "bob"))
                assertEquals(false, owner.unshareCalendar("family", "bob"))
                assertEquals(listOf("family"), member.syncOnce().deniedCalendars)
            }
        }
    }
}
