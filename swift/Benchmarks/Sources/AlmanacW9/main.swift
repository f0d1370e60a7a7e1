// W9, the Swift side: the W4 month view (June 2026 in UTC, every calendar) on a store that
// `w9 populate` built. Prints two medians (ms) and the occurrence count:
//   `swift <ms> <count>`: `Store.occurrences(in:viewer:)`, the idiomatic call an app makes
//       (FFI records converted to `Occurrence` values with `Date`s, `DateComponents`, `TimeZone`);
//   `swift-ffi <ms> <count>`: the generated `AlmanacStore.occurrences` alone (the C call and
//       the generated record decoding), to show where the time goes.
// The first calls (which index the month) are not timed; the two are timed interleaved.
import Almanac
import AlmanacFFI
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 3, let runs = Int(arguments[2]), runs > 0 else {
    FileHandle.standardError.write("usage: AlmanacW9 <store> <runs>\n".data(using: .utf8)!)
    exit(2)
}
let store = try Store(path: arguments[1])
let generated = try AlmanacStore.open(path: arguments[1])
let june = DateInterval(
    start: Date(timeIntervalSince1970: 1_780_272_000),  // 2026-06-01T00:00:00Z
    end: Date(timeIntervalSince1970: 1_782_864_000))  // 2026-07-01T00:00:00Z
let utc = TimeZone(identifier: "UTC")!
let query = OccurrenceQuery(
    fromEpochSeconds: 1_780_272_000, toEpochSeconds: 1_782_864_000, calendars: [], viewerZone: "UTC")
let count = try store.occurrences(in: june, viewer: utc).count
let generatedCount = try generated.occurrences(query: query).count
precondition(generatedCount == count, "both calls read the same month")

func milliseconds(_ body: () throws -> Void) rethrows -> Double {
    let started = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
}

var idiomatic: [Double] = []
var ffi: [Double] = []
for _ in 0..<runs {
    idiomatic.append(try milliseconds { _ = try store.occurrences(in: june, viewer: utc) })
    ffi.append(try milliseconds { _ = try generated.occurrences(query: query) })
}
print(String(format: "swift %.3f %d", idiomatic.sorted()[runs / 2], count))
print(String(format: "swift-ffi %.3f %d", ffi.sorted()[runs / 2], count))
try store.close()
try generated.closeStore()
