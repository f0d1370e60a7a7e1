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
}
