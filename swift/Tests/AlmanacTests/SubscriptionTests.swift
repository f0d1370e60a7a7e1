@testable import Almanac
import Foundation
import XCTest

final class SubscriptionTests: StoreTestCase {
    /// When the consumer of `changes` or `watchOccurrences` stops, the stream's subscription is
    /// released: the bindings drop their listener (counted by `ChangeForwarder.liveCount`).
    func testStoppingAStreamReleasesItsSubscription() async throws {
        let store = try openStore()
        let before = ChangeForwarder.liveCount
        let changes = Collector(store.changes)
        let views = Collector(store.watchOccurrences(in: aroundDST, viewer: paris))
        _ = try await views.next()
        try store.createEvent(weekly("standup", "2026-03-23T09:00:00"))
        _ = try await changes.next()
        // Relative counts: an earlier test's stream may still be finishing its release.
        let peak = ChangeForwarder.liveCount
        XCTAssertGreaterThanOrEqual(peak, before + 2)
        changes.cancel()
        views.cancel()
        let deadline = Date().addingTimeInterval(10)
        while ChangeForwarder.liveCount > peak - 2 && Date() < deadline {
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        XCTAssertLessThanOrEqual(ChangeForwarder.liveCount, peak - 2, "a stopped stream kept its subscription")
    }
}
