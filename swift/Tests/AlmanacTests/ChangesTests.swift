import Almanac
import Foundation
import XCTest

final class ChangesTests: StoreTestCase {
    func testChangeStream() async throws {
        let a = try openStore("a")
        let b = try openStore("b")
        // The subscription exists once `changes` is read: no probe write is needed.
        let heard = Collector(b.changes)
        try b.createCalendar("work", name: "Work")
        try a.createEvent(weekly("e1", "2026-03-23T09:00:00"))
        try a.sync(with: b)
        let local = try await heard.next()
        XCTAssertTrue(local.isLocal && local.calendarChanged && local.calendar == "work", "\(local)")
        let remote = try await heard.next()
        XCTAssertEqual(remote, Change(isLocal: false, calendar: "work", eventIDs: ["e1"], calendarChanged: false))

        // Once the consumer stops, the subscription is cancelled: later commits reach nobody.
        heard.cancel()
        try await Task.sleep(nanoseconds: 100_000_000)
        try b.createEvent(weekly("e2", "2026-03-24T09:00:00"))
        try await Task.sleep(nanoseconds: 100_000_000)
        XCTAssertEqual(heard.pending, 0)
    }

    func testWatchOccurrences() async throws {
        let a = try openStore("a")
        let b = try openStore("b")
        let views = Collector(a.watchOccurrences(in: aroundDST, viewer: paris))
        let v1 = try await views.next()
        XCTAssertEqual(v1, [])
        try a.createEvent(weekly("standup", "2026-03-23T09:00:00"))
        let v2 = try await views.next()
        XCTAssertEqual(v2.map(\.title), ["standup", "standup", "standup"])
        try a.editEvent("standup", span: .this(parisAt("2026-03-30T09:00:00")), changes: .title("Moved"))
        let v3 = try await views.next()
        XCTAssertEqual(v3.map(\.title), ["standup", "Moved", "standup"])
        try a.sync(with: b)
        try b.editEvent("standup", span: .all, changes: EventChanges(fields: [.location: "Room 2"]))
        try b.sync(with: a)
        let synced = try await views.next()
        XCTAssertEqual(synced.map(\.title), ["standup", "Moved", "standup"])
        XCTAssertEqual(synced.map(\.fields.location), ["Room 2", "Room 2", "Room 2"])
        // A change outside the window's time leaves the view as it was: nothing is yielded.
        try a.createEvent(NewEvent(id: "later", calendar: "work", start: parisAt("2026-09-01T09:00:00"), end: oneHour))
        try await Task.sleep(nanoseconds: 300_000_000)
        XCTAssertEqual(views.pending, 0, "a change outside the window yielded a view")
        try a.createEvent(weekly("other", "2026-03-24T09:00:00"))
        let v4 = try await views.next()
        XCTAssertEqual(v4.count, 6)
        views.cancel()
    }

    func testWatchOccurrencesEndsWithTheErrorWhenTheStoreCloses() async throws {
        let store = try openStore()
        let views = Collector(store.watchOccurrences(in: aroundDST, viewer: paris))
        let v5 = try await views.next()
        XCTAssertEqual(v5, [])
        try store.close()
        // Closing commits nothing, so the stream stays quiet; a new watch fails at once.
        let closed = Collector(store.watchOccurrences(in: aroundDST, viewer: paris))
        do {
            _ = try await closed.next()
            XCTFail("a closed store's watch yielded a view")
        } catch let error as AlmanacError {
            XCTAssertEqual(String(reflecting: error), String(reflecting: AlmanacError.closed(error.message)))
        }
        views.cancel()
    }
}
