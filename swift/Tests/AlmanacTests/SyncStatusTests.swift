import Almanac
import Foundation
import XCTest

final class SyncStatusTests: StoreTestCase {
    /// The status stream yields the current status at once and each change after it; a failed
    /// sync shows up as `lastError`.
    func testStatusUpdates() async throws {
        let store = try openStore()
        let updates = Collector(store.syncStatusUpdates)
        let first = try await updates.next()
        XCTAssertEqual(first.state, .offline)
        XCTAssertNil(first.lastError)
        try store.configureSync(serverURL: "ws://127.0.0.1:9", token: "token")
        _ = try? await store.syncOnce()
        let failed = try await updates.first("the failed sync's status") { $0.lastError != nil }
        XCTAssertTrue(failed.lastError?.contains("cannot reach") == true, "\(failed)")
        updates.cancel()
    }

    #if canImport(Observation) && !os(Linux)
    /// The `@Observable` model follows the store on the main actor (verified here on Linux,
    /// where Swift 6's toolchain ships the Observation module and its macro).
    @MainActor
    func testObservableModel() async throws {
        guard #available(macOS 14, iOS 17, *) else { throw XCTSkip("Observation needs macOS 14 / iOS 17") }
        let store = try openStore()
        let model = SyncStatusModel(store: store)
        XCTAssertEqual(model.state, .offline)
        XCTAssertNil(model.lastError)
        try store.configureSync(serverURL: "ws://127.0.0.1:9", token: "token")
        _ = try? await store.syncOnce()
        let deadline = Date().addingTimeInterval(10)
        while model.lastError == nil && Date() < deadline {
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        XCTAssertTrue(model.lastError?.contains("cannot reach") == true, "\(model.status)")
        XCTAssertFalse(model.hasPendingChanges)
    }
    #endif
}
