import Almanac
import Foundation

let paris = TimeZone(identifier: "Europe/Paris")!
let folder = FileManager.default.temporaryDirectory.appendingPathComponent("almanac-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
let store = try Store(url: folder.appendingPathComponent("calendar.almanac"))
try store.createCalendar("work", name: "Work", color: "#3366ff", timeZone: paris)
try store.createEvent(NewEvent(
    id: "standup",
    calendar: "work",
    start: .zoned(year: 2026, month: 3, day: 23, hour: 9, in: paris),
    end: .after(exact: 15 * 60),
    rule: "FREQ=WEEKLY;BYDAY=MO",
    fields: EventFields(title: "Standup")))

// A month view that stays current: it yields now and after every change to it.
let march = DateInterval(start: ISO8601DateFormatter().date(from: "2026-03-01T00:00:00Z")!, duration: 31 * 86_400)
var views = store.watchOccurrences(in: march, viewer: paris).makeAsyncIterator()
let before = try await views.next() ?? []
try store.editEvent("standup", span: .this(before[1].original), changes: .title("Standup (moved room)"))
for occurrence in try await views.next() ?? [] {
    print(occurrence.interval.start, occurrence.title ?? "")
}

// Sync with an Almanac server when one is configured (see server/README.md).
if let server = ProcessInfo.processInfo.environment["ALMANAC_SERVER_URL"] {
    try store.configureSync(serverURL: server, token: ProcessInfo.processInfo.environment["ALMANAC_TOKEN"] ?? "")
    print("synced:", try await store.syncOnce())
}
print("tz database \(Store.tzDatabaseVersion); \(try store.conflicts().count) conflicts")
try store.close()
