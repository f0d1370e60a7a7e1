import Almanac
import Foundation
import XCTest

final class IcsTests: StoreTestCase {
    func testICalendarRoundTrip() throws {
        let a = try openStore("a")
        let b = try openStore("b")
        var standup = weekly("standup", "2026-03-23T09:00:00")
        standup.rule = "FREQ=WEEKLY;COUNT=3"
        try a.createEvent(standup)
        try a.createEvent(NewEvent(id: "holiday", calendar: "work", start: .date(year: 2026, month: 3, day: 25), end: .after(days: 1), fields: EventFields(title: "Holiday")))
        let text = try a.exportICS(calendar: "work")
        XCTAssertTrue(text.contains("RRULE:FREQ=WEEKLY;COUNT=3"), text)

        let broken = text.replacingOccurrences(
            of: "END:VCALENDAR", with: "BEGIN:VEVENT\r\nUID:broken\r\nDTSTART:nonsense\r\nEND:VEVENT\r\nEND:VCALENDAR")
        let lock = NSLock()
        var progress: [(Int, Int)] = []
        let report = try b.importICS(broken, into: "work") { done, total in
            lock.lock(); progress.append((done, total)); lock.unlock()
        }
        XCTAssertEqual(report.events, 2)
        XCTAssertFalse(report.issues.isEmpty, "\(report)")
        XCTAssertFalse(progress.isEmpty)
        XCTAssertEqual(progress.last?.0, progress.last?.1)
        func seen(_ store: Store) throws -> [String] {
            try store.occurrences(in: aroundDST, viewer: paris).map { "\($0.interval.start) \($0.title ?? "-")" }
        }
        XCTAssertEqual(try seen(a), try seen(b))
        XCTAssertEqual(try seen(b).count, 4)
    }
}
