import Almanac
import Foundation
import XCTest

final class ConcurrencyTests: StoreTestCase {
    func testManyTasks() async throws {
        let store = try openStore()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    for i in 0..<10 {
                        let id = "w\(worker)-\(i)"
                        let start = EventTime.zoned(year: 2026, month: 3, day: 23 + i % 7, hour: 6 + worker, in: paris)
                        try store.createEvent(NewEvent(id: id, calendar: "work", start: start, end: oneHour))
                        _ = try store.occurrences(in: aroundDST, viewer: paris)
                        try store.editEvent(id, span: .all, changes: .title("done"))
                    }
                }
            }
            try await group.waitForAll()
        }
        let all = try store.occurrences(in: aroundDST, viewer: paris)
        XCTAssertEqual(all.count, 160)
        XCTAssertTrue(all.allSatisfy { $0.title == "done" })
    }
}
