import Almanac
import Foundation
import XCTest

final class CalendarTests: StoreTestCase {
    func testCalendarsAreCreatedRenamedColouredAndZoned() throws {
        let store = try openStore()
        defer { try? store.close() }
        let newYork = TimeZone(identifier: "America/New_York")!
        try store.createCalendar("work", name: "Work", timeZone: paris)
        try store.renameCalendar("work", to: "Office")
        try store.setCalendarColor("work", "#3366ff")
        try store.setCalendarTimeZone("work", newYork)
        XCTAssertEqual(try store.calendars(), [AlmanacCalendar(id: "work", name: "Office", color: "#3366ff", timeZone: newYork)])
        XCTAssertEqual(try store.calendar("work")?.name, "Office")
        XCTAssertNil(try store.calendar("nope"))
        let version = Store.tzDatabaseVersion
        XCTAssertNotNil(version.range(of: #"^20\d\d[a-z]$"#, options: .regularExpression), version)
    }

    func testOccurrencesKeepWallTimeAcrossDST() throws {
        let store = try openStore()
        defer { try? store.close() }
        try store.createEvent(weekly("standup", "2026-03-23T09:00:00"))
        let view = try store.occurrences(in: aroundDST, viewer: paris)
        // 09:00 in Paris is 08:00Z before the change and 07:00Z after it.
        XCTAssertEqual(
            view.map(\.interval.start),
            ["2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z", "2026-04-06T07:00:00Z"].map(instant))
        XCTAssertEqual(view[1].original, parisAt("2026-03-30T09:00:00"))
        XCTAssertEqual(view[1].interval.duration, 3600)
        // The same wall time built from a Date a picker would return.
        XCTAssertEqual(EventTime.zoned(instant("2026-03-30T07:00:00Z"), in: paris), view[1].start)
    }

    func testEverySpan() throws {
        let store = try openStore()
        defer { try? store.close() }
        try store.createEvent(weekly("standup", "2026-03-23T09:00:00"))
        let second = parisAt("2026-03-30T09:00:00")
        try store.editEvent("standup", span: .this(second), changes: .title("Moved"))
        try store.editEvent("standup", span: .thisAndFollowing(parisAt("2026-04-06T09:00:00")), changes: EventChanges(fields: [.location: "Room 2"]))
        try store.editEvent("standup", span: .all, changes: EventChanges(fields: [.notes: "coffee"]))
        var view = try store.occurrences(in: aroundDST, viewer: paris)
        XCTAssertEqual(view.map(\.title), ["standup", "Moved", "standup"])
        XCTAssertEqual(view.map(\.fields.location), [nil, nil, "Room 2"])
        XCTAssertTrue(view.allSatisfy { $0.fields.notes == "coffee" })

        // A nil value clears a field.
        try store.editEvent("standup", span: .all, changes: EventChanges(fields: [.notes: nil]))
        XCTAssertTrue(try store.occurrences(in: aroundDST, viewer: paris).allSatisfy { $0.fields.notes == nil })

        try store.deleteEvent("standup", span: .this(second))
        XCTAssertEqual(try store.occurrences(in: aroundDST, viewer: paris).count, 2)
        try store.restoreOccurrence("standup", original: second)
        view = try store.occurrences(in: aroundDST, viewer: paris)
        XCTAssertEqual(view[1].title, "Moved")

        try store.deleteEvent("standup", span: .thisAndFollowing(second))
        XCTAssertEqual(try store.occurrences(in: aroundDST, viewer: paris).count, 1)

        try store.deleteEvent("standup")
        XCTAssertNil(try store.event(id: "standup"))
        try store.restoreEvent("standup")
        let event = try XCTUnwrap(store.event(id: "standup"))
        XCTAssertEqual(event.rule, "FREQ=WEEKLY")
        XCTAssertEqual(event.start, parisAt("2026-03-23T09:00:00"))
        XCTAssertEqual(event.end, oneHour)
        XCTAssertFalse(event.isAllDay)
    }

    func testAllDayInViewerZone() throws {
        let store = try openStore()
        defer { try? store.close() }
        try store.createEvent(NewEvent(id: "holiday", calendar: "home", start: .date(year: 2026, month: 3, day: 25), end: .after(days: 1)))
        let tokyo = TimeZone(identifier: "Asia/Tokyo")!
        let days = try store.occurrences(in: aroundDST, viewer: tokyo)
        XCTAssertEqual(days.count, 1)
        XCTAssertTrue(days[0].isAllDay)
        XCTAssertEqual(days[0].interval.start, instant("2026-03-24T15:00:00Z"))
        XCTAssertEqual(days[0].start, .date(year: 2026, month: 3, day: 25))

        // A floating time is read in the viewer's zone too.
        try store.createEvent(NewEvent(id: "run", calendar: "home", start: .floating(year: 2026, month: 3, day: 26, hour: 7), end: oneHour))
        let run = try XCTUnwrap(store.occurrences(in: aroundDST, viewer: tokyo).first { $0.eventID == "run" })
        XCTAssertEqual(run.interval.start, instant("2026-03-25T22:00:00Z"))
        XCTAssertEqual(try store.occurrences(in: aroundDST, viewer: paris, calendars: ["work"]), [])
    }
}
