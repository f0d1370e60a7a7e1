import Almanac
import Foundation
import XCTest

final class StoreFileTests: StoreTestCase {
    /// The device marker goes where the app says (a folder its backups skip), and a store that
    /// comes back without its marker, as from a backup, takes a new replica id.
    func testDeviceMarkerLivesWhereTheAppSays() throws {
        let path = directory.appendingPathComponent("calendar.almanac")
        let noBackup = directory.appendingPathComponent("no-backup", isDirectory: true)
        try FileManager.default.createDirectory(at: noBackup, withIntermediateDirectories: true)
        let marker = noBackup.appendingPathComponent("almanac.device")

        let first = try Store(url: path, deviceMarker: marker)
        let id = first.replicaID
        try first.close()
        XCTAssertTrue(FileManager.default.fileExists(atPath: marker.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path.path + ".device"))

        let again = try Store(url: path, deviceMarker: marker)
        XCTAssertEqual(again.replicaID, id)
        try again.close()

        let restored = try Store(url: path, deviceMarker: noBackup.appendingPathComponent("other.device"))
        XCTAssertNotEqual(restored.replicaID, id)
        try restored.close()
    }

    /// `compact` gives back the space deleted events left and changes nothing that is seen.
    func testCompactShrinksTheFileAndKeepsWhatIsSeen() throws {
        let store = try openStore()
        let file = directory.appendingPathComponent("almanac.db")
        func onDisk() throws -> Int {
            let size = { (path: String) -> Int in
                ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
            }
            return size(file.path) + size(file.path + "-wal")
        }
        for i in 0..<200 {
            var event = weekly("e\(i)", "2026-03-23T09:00:00")
            event.fields.notes = String(repeating: "n", count: 500)
            try store.createEvent(event)
        }
        for i in 1..<200 { try store.deleteEvent("e\(i)") }
        let seen = try store.occurrences(in: aroundDST, viewer: paris)
        let before = try onDisk()
        try store.compact()
        XCTAssertLessThan(try onDisk(), before)
        XCTAssertEqual(try store.occurrences(in: aroundDST, viewer: paris), seen)
        try store.close()
    }
}
