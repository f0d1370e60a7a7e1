import Almanac
import Foundation
import XCTest

final class SyncTests: XCTestCase {
    private var directories: [URL] = []

    override func tearDownWithError() throws {
        for directory in directories { try? FileManager.default.removeItem(at: directory) }
        directories = []
    }

    private func openStore() throws -> Store {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("almanac-swift-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        directories.append(directory)
        return try Store(url: directory.appendingPathComponent("almanac.db"))
    }

    func testConcurrentEditsConvergeAfterSync() throws {
        let phone = try openStore()
        let laptop = try openStore()
        XCTAssertNotEqual(phone.replicaID, laptop.replicaID)

        // The same record edited on both replicas: one conflicting field, one distinct field each.
        try phone.put("evt-1", in: "events", fields: ["title": "Standup (phone)", "location": "Room 4"])
        try laptop.put("evt-1", in: "events", fields: ["title": "Standup (laptop)", "attendees": 3])

        try phone.sync(with: laptop)

        let onPhone = try XCTUnwrap(phone.record("evt-1", in: "events"))
        let onLaptop = try XCTUnwrap(laptop.record("evt-1", in: "events"))

        // Both replicas agree on the winner and on the conflict.
        XCTAssertEqual(onPhone.fields, onLaptop.fields)
        XCTAssertEqual(onPhone.conflicts, onLaptop.conflicts)

        let edits: Set<Value> = ["Standup (phone)", "Standup (laptop)"]
        let winner = try XCTUnwrap(onPhone["title"])
        XCTAssertTrue(edits.contains(winner), "unexpected winner \(winner)")
        XCTAssertEqual(onPhone.conflicts["title"], Array(edits.subtracting([winner])))

        // Fields written on only one replica are present on both, without conflicts.
        XCTAssertEqual(onPhone["location"], "Room 4")
        XCTAssertEqual(onPhone["attendees"], 3)
        XCTAssertNil(onPhone.conflicts["location"])
        XCTAssertNil(onPhone.conflicts["attendees"])
        XCTAssertEqual(onPhone.collection, "events")
        XCTAssertEqual(onPhone.id, "evt-1")
    }
}
