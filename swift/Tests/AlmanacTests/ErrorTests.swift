import Almanac
import Foundation
import XCTest

final class ErrorTests: StoreTestCase {
    func testEveryErrorCase() throws {
        let store = try openStore()
        // A zone Foundation accepts but the calendar does not (fixed offsets have no IANA id).
        let offset = try XCTUnwrap(TimeZone(secondsFromGMT: 3600))
        let nineAM = EventTime.zoned(year: 2026, month: 3, day: 23, hour: 9, in: offset)
        assertFails(AlmanacError.invalidInput, "unknown time zone") {
            try store.createEvent(NewEvent(id: "a", calendar: "work", start: nineAM, end: oneHour))
        }
        assertFails(AlmanacError.invalidInput, "the end is before the start") {
            try store.createEvent(NewEvent(id: "b", calendar: "work", start: parisAt("2026-03-23T09:00:00"), end: .at(parisAt("2026-03-23T08:00:00"))))
        }
        assertFails(AlmanacError.invalidInput, "FREQ=SOMETIMES") {
            var event = weekly("c", "2026-03-23T09:00:00")
            event.rule = "FREQ=SOMETIMES"
            try store.createEvent(event)
        }
        assertFails(AlmanacError.invalidInput, "unknown time zone") {
            _ = try store.occurrences(in: aroundDST, viewer: TimeZone(secondsFromGMT: 7200)!)
        }
        // Incomplete components are caught on the Swift side, with the same kind of error.
        assertFails(AlmanacError.invalidInput, "year, month and day") {
            try store.createEvent(NewEvent(id: "d", calendar: "work", start: .date(DateComponents(month: 3, day: 1)), end: .after(days: 1)))
        }
        assertFails(AlmanacError.invalidInput, "not a date") {
            try store.createEvent(NewEvent(id: "d", calendar: "work", start: .date(year: 2026, month: 2, day: 30), end: .after(days: 1)))
        }
        assertFails(AlmanacError.notFound, "ghost") {
            try store.editEvent("ghost", span: .all, changes: .title("x"))
        }
        try store.createEvent(NewEvent(id: "single", calendar: "work", start: parisAt("2026-03-23T09:00:00"), end: oneHour))
        assertFails(AlmanacError.invalidInput, "does not repeat") {
            try store.editEvent("single", span: .this(parisAt("2026-03-23T09:00:00")), changes: .title("x"))
        }
        assertFails(AlmanacError.invalidInput, "already exists") {
            try store.createEvent(NewEvent(id: "single", calendar: "work", start: parisAt("2026-03-23T09:00:00"), end: oneHour))
        }
        assertFails(AlmanacError.invalidInput, "limit is 1024") {
            try store.createEvent(NewEvent(id: String(repeating: "x", count: 5000), calendar: "work", start: parisAt("2026-03-23T09:00:00"), end: oneHour))
        }
        assertFails(AlmanacError.invalidInput, "candidate index") {
            try store.resolveConflict("single", path: ConflictPath(field: "title"), resolution: .candidate(-1))
        }

        // Huge text values are stored whole.
        let huge = String(repeating: "é", count: 1 << 20)
        try store.editEvent("single", span: .all, changes: .title(huge))
        XCTAssertEqual(try store.event(id: "single")?.fields.title, huge)

        try store.close()
        try store.close()
        XCTAssertTrue(store.isClosed)
        assertFails(AlmanacError.closed, "closed") { _ = try store.occurrences(in: aroundDST, viewer: paris) }
        assertFails(AlmanacError.closed, "closed") {
            try store.createEvent(NewEvent(id: "z", calendar: "work", start: parisAt("2026-03-23T09:00:00"), end: oneHour))
        }
        // Errors read well wherever an app prints them.
        let error = AlmanacError.closed("the store is closed; open it again to use it")
        XCTAssertEqual("\(error)", "the store is closed; open it again to use it")
        XCTAssertEqual((error as Error).localizedDescription, "the store is closed; open it again to use it")
    }

    func testNotAStore() throws {
        let file = directory.appendingPathComponent("notes.txt")
        try String(repeating: "not a database at all, but long enough to have a header", count: 10)
            .write(to: file, atomically: true, encoding: .utf8)
        assertFails(AlmanacError.corrupt, "not an Almanac store") { _ = try Store(url: file) }
    }

    func testSyncErrors() async throws {
        let store = try openStore()
        await assertFailsAsync(AlmanacError.invalidInput, "configure sync") { try await store.syncOnce() }
        assertFails(AlmanacError.invalidInput, "ws") { try store.configureSync(serverURL: "http://example.com", token: "token") }
        try store.configureSync(serverURL: "ws://127.0.0.1:9", token: "token")
        await assertFailsAsync(AlmanacError.network, "cannot reach") { try await store.syncOnce() }
        XCTAssertTrue(store.syncStatus.lastError?.contains("cannot reach") == true, "\(store.syncStatus)")
    }
}
