import Almanac
import Foundation
import XCTest

final class ConflictTests: StoreTestCase {
    func testConflictsResolveAndRestore() throws {
        let phone = try openStore("phone")
        let laptop = try openStore("laptop")
        try phone.createEvent(NewEvent(id: "review", calendar: "work", start: parisAt("2026-03-24T14:00:00"), end: oneHour))
        try phone.sync(with: laptop)
        try phone.editEvent("review", span: .all, changes: .title("Phone"))
        try laptop.editEvent("review", span: .all, changes: .title("Laptop"))
        try phone.sync(with: laptop)

        let log = try phone.conflicts()
        XCTAssertEqual(log, try laptop.conflicts())
        XCTAssertEqual(log.count, 1)
        let title = try XCTUnwrap(log.first?.fields.first)
        XCTAssertEqual(title.path, ConflictPath(field: "title"))
        XCTAssertEqual(title.candidates.count, 1)
        let loser = title.candidates[0]
        XCTAssertNotEqual(title.shown, loser)
        try phone.resolveConflict("review", path: title.path, resolution: .candidate(0))
        try phone.sync(with: laptop)
        XCTAssertEqual(try laptop.conflicts(), [])
        XCTAssertEqual(try laptop.event(id: "review")?.fields.title, loser)

        try laptop.deleteEvent("review")
        try phone.editEvent("review", span: .all, changes: .title("Edited meanwhile"))
        try phone.sync(with: laptop)
        let deleted = try XCTUnwrap(phone.conflicts().first)
        XCTAssertTrue(deleted.deleted)
        XCTAssertEqual(deleted.editsHiddenByDelete, 1)
        try laptop.restoreEvent("review")
        XCTAssertEqual(try laptop.event(id: "review")?.fields.title, "Edited meanwhile")
    }

    func testCancelledOccurrenceRestoredFromLog() throws {
        let phone = try openStore("phone")
        let laptop = try openStore("laptop")
        try phone.createEvent(weekly("gym", "2026-03-23T18:00:00"))
        try phone.sync(with: laptop)
        let second = parisAt("2026-03-30T18:00:00")
        try phone.deleteEvent("gym", span: .this(second))
        try laptop.editEvent("gym", span: .this(second), changes: .title("Leg day"))
        try phone.sync(with: laptop)
        let entries = try phone.conflicts()
        XCTAssertEqual(entries.count, 1)
        let hidden = try XCTUnwrap(entries.first?.occurrences.first)
        XCTAssertEqual(hidden.reason, .cancelled)
        XCTAssertEqual(hidden.original, second)
        try phone.restoreOccurrence("gym", original: try XCTUnwrap(hidden.original))
        XCTAssertEqual(try phone.occurrences(in: aroundDST, viewer: paris)[1].title, "Leg day")
    }

    func testOrphanedOverride() throws {
        let store = try openStore()
        try store.createEvent(weekly("gym", "2026-03-23T18:00:00"))
        try store.editEvent("gym", span: .this(parisAt("2026-03-30T18:00:00")), changes: .title("Leg day"))
        try store.editEvent("gym", span: .all, changes: EventChanges(rule: .set("FREQ=WEEKLY;BYDAY=TU")))
        let orphans = try store.orphanedOverrides(eventID: "gym")
        XCTAssertEqual(orphans.count, 1)
        XCTAssertEqual(orphans[0].original, parisAt("2026-03-30T18:00:00"))
        XCTAssertEqual(orphans[0].fields["title"], "Leg day")
    }
}
