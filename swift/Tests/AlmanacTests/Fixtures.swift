import Almanac
import Foundation
import XCTest

let paris = TimeZone(identifier: "Europe/Paris")!

/// `parisAt("2026-03-23T09:00:00")`: a wall time in Paris.
func parisAt(_ text: String) -> EventTime {
    let n = text.split(whereSeparator: { !$0.isNumber }).map { Int($0)! }
    return .zoned(year: n[0], month: n[1], day: n[2], hour: n[3], minute: n[4], second: n[5], in: paris)
}

func instant(_ text: String) -> Date {
    ISO8601DateFormatter().date(from: text)!
}

let oneHour = EventEnd.after(exact: 3600)

/// 2026-03-23 .. 2026-04-13: Mondays on both sides of the EU change to summer time (03-29).
let aroundDST = DateInterval(start: instant("2026-03-23T00:00:00Z"), end: instant("2026-04-13T00:00:00Z"))

func weekly(_ id: String, _ start: String, calendar: String = "work") -> NewEvent {
    NewEvent(id: id, calendar: calendar, start: parisAt(start), end: oneHour, rule: "FREQ=WEEKLY", fields: EventFields(title: id))
}

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Collects what an async sequence yields, so a test can wait for the next value with a
/// timeout (a hung stream fails the test instead of hanging the run). Polling is the test's
/// own; the library pushes.
final class Collector<Element: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Element] = []
    private var taken = 0
    private var failure: Error?
    private var task: Task<Void, Never>?

    init<S: AsyncSequence>(_ sequence: S) where S.Element == Element {
        task = Task {
            do {
                for try await item in sequence { append(item) }
            } catch {
                fail(error)
            }
        }
    }

    func next(within seconds: Double = 10, _ what: String = "the next value") async throws -> Element {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let item = try take() { return item }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        throw TimedOut(what: what)
    }

    private func append(_ item: Element) {
        lock.lock(); defer { lock.unlock() }
        items.append(item)
    }

    private func fail(_ error: Error) {
        lock.lock(); defer { lock.unlock() }
        failure = error
    }

    private func take() throws -> Element? {
        lock.lock(); defer { lock.unlock() }
        if taken < items.count {
            taken += 1
            return items[taken - 1]
        }
        if let failure { throw failure }
        return nil
    }

    /// Waits for the first value (in order) that satisfies `condition`.
    func first(within seconds: Double = 20, _ what: String, where condition: (Element) -> Bool) async throws -> Element {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { throw TimedOut(what: what) }
            let item = try await next(within: left, what)
            if condition(item) { return item }
        }
    }

    /// How many values arrived that were not taken yet.
    var pending: Int {
        lock.lock(); defer { lock.unlock() }
        return items.count - taken
    }

    func cancel() { task?.cancel() }
}

/// A test case with a temporary folder per test, removed afterwards.
class StoreTestCase: XCTestCase {
    private(set) var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("almanac-swift-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func openStore(_ name: String = "almanac.db") throws -> Store {
        try Store(url: directory.appendingPathComponent(name))
    }
}

/// Asserts that `body` throws the `AlmanacError` case `kind` with `needle` in its message.
func assertFails(
    _ kind: (String) -> AlmanacError, _ needle: String, file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> Void
) {
    do {
        try body()
        XCTFail("expected \(kind("…")) containing '\(needle)', got no error", file: file, line: line)
    } catch let error as AlmanacError {
        XCTAssertEqual(String(reflecting: kind(error.message)), String(reflecting: error), file: file, line: line)
        XCTAssertTrue(error.message.contains(needle), "'\(error.message)' lacks '\(needle)'", file: file, line: line)
        XCTAssertEqual(error.localizedDescription, error.message, file: file, line: line)
    } catch {
        XCTFail("not an AlmanacError: \(error)", file: file, line: line)
    }
}

func assertFailsAsync(
    _ kind: (String) -> AlmanacError, _ needle: String, file: StaticString = #filePath, line: UInt = #line,
    _ body: () async throws -> Void
) async {
    do {
        try await body()
        XCTFail("expected \(kind("…")) containing '\(needle)', got no error", file: file, line: line)
    } catch let error as AlmanacError {
        XCTAssertEqual(String(reflecting: kind(error.message)), String(reflecting: error), file: file, line: line)
        XCTAssertTrue(error.message.contains(needle), "'\(error.message)' lacks '\(needle)'", file: file, line: line)
    } catch {
        XCTFail("not an AlmanacError: \(error)", file: file, line: line)
    }
}
