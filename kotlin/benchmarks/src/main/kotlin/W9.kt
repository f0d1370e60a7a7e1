// W9, the Kotlin side: the W4 month view (June 2026 in UTC, every calendar) on a store that
// `w9 populate` built. Prints two medians (ms) and the occurrence count:
//   `kotlin <ms> <count>`: Store.occurrences(window), the idiomatic call an app makes (a
//       suspend function on Dispatchers.IO, records converted to data classes with java.time);
//   `kotlin-ffi <ms> <count>`: the generated AlmanacStore.occurrences alone (JNA + the
//       generated record decoding), to show where the time goes.
// The JIT is warmed first with the same calls; the two are timed interleaved.
import dev.almanac.OccurrenceWindow
import dev.almanac.Store
import dev.almanac.ffi.AlmanacStore
import dev.almanac.ffi.OccurrenceQuery
import java.nio.file.Path
import java.time.Instant
import java.time.ZoneId
import kotlinx.coroutines.runBlocking

private const val FROM = 1_780_272_000L // 2026-06-01T00:00:00Z
private const val TO = 1_782_864_000L // 2026-07-01T00:00:00Z

fun main(args: Array<String>) = runBlocking {
    require(args.size == 2) { "usage: W9Kt <store> <runs>" }
    val runs = args[1].toInt()
    val window = OccurrenceWindow(Instant.ofEpochSecond(FROM), Instant.ofEpochSecond(TO), ZoneId.of("UTC"))
    val query = OccurrenceQuery(FROM, TO, emptyList(), "UTC")
    Store(Path.of(args[0])).use { store ->
        AlmanacStore.open(args[0]).use { ffi ->
            val count = store.occurrences(window).size
            check(ffi.occurrences(query).size == count) { "both calls read the same month" }
            repeat(runs / 2) {
                store.occurrences(window)
                ffi.occurrences(query)
            }
            val idiomatic = ArrayList<Double>()
            val generated = ArrayList<Double>()
            repeat(runs) {
                var started = System.nanoTime()
                store.occurrences(window)
                idiomatic += (System.nanoTime() - started) / 1e6
                started = System.nanoTime()
                ffi.occurrences(query)
                generated += (System.nanoTime() - started) / 1e6
            }
            println("kotlin %.3f %d".format(idiomatic.sorted()[runs / 2], count))
            println("kotlin-ffi %.3f %d".format(generated.sorted()[runs / 2], count))
        }
    }
}
