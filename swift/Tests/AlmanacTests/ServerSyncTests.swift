import Almanac
import Foundation
import XCTest

/// The real `almanac-server` (built by cargo; scripts/test.sh sets ALMANAC_SERVER_BIN) on a
/// free loopback port with a temporary data folder.
final class TestServer {
    let binary: String
    let data: URL
    let url: String
    private let process = Process()

    init(data: URL) throws {
        guard let binary = ProcessInfo.processInfo.environment["ALMANAC_SERVER_BIN"] else {
            throw XCTSkip("set ALMANAC_SERVER_BIN to the almanac-server binary (swift/scripts/test.sh does)")
        }
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw TimedOut(what: "almanac-server at \(binary): run cargo build -p almanac-server")
        }
        self.binary = binary
        self.data = data
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--data", data.path, "--listen", "127.0.0.1:0"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // "almanac-server listening on ... (devices connect to ws://127.0.0.1:PORT/v1/sync)"
        var first = ""
        while !first.contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            first += String(decoding: chunk, as: UTF8.self)
        }
        guard let from = first.range(of: "devices connect to ws://"),
              let end = first[from.upperBound...].firstIndex(where: { $0 == "/" || $0 == " " || $0 == ")" })
        else {
            process.terminate()
            throw TimedOut(what: "the server's address; it printed: \(first)")
        }
        url = "ws://" + first[from.upperBound..<end]
    }

    /// `almanac-server --data D <args>`: its output, trimmed.
    @discardableResult
    func admin(_ args: String...) throws -> String {
        let run = Process()
        run.executableURL = URL(fileURLWithPath: binary)
        run.arguments = ["--data", data.path] + args
        let out = Pipe()
        run.standardOutput = out
        run.standardError = out
        try run.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        run.waitUntilExit()
        guard run.terminationStatus == 0 else { throw TimedOut(what: "almanac-server \(args): \(text)") }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A new user and a token for them.
    func user(_ name: String) throws -> String {
        try admin("user", "add", name)
        let lines = try admin("token", "--user", name).split(separator: "\n")
        return lines.last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}

final class ServerSyncTests: StoreTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        try super.setUpWithError()
        let folder = directory.appendingPathComponent("server", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        server = try TestServer(data: folder.appendingPathComponent("data"))
    }

    override func tearDownWithError() throws {
        server?.stop()
        try super.tearDownWithError()
    }

    func testSyncThroughServer() async throws {
        let token = try server.user("alice")
        let phone = try openStore("phone")
        let laptop = try openStore("laptop")
        try phone.createCalendar("work", name: "Work", timeZone: paris)
        try phone.createEvent(weekly("standup", "2026-03-23T09:00:00"))
        try phone.configureSync(serverURL: server.url, token: token)
        try laptop.configureSync(serverURL: server.url, token: token)
        XCTAssertTrue(phone.syncStatus.hasPendingChanges || phone.syncStatus.lastSyncedAt == nil)
        let sent = try await phone.syncOnce()
        XCTAssertGreaterThanOrEqual(sent.recordsSent, 2, "\(sent)")
        XCTAssertTrue(phone.syncStatus.lastSyncedAt != nil && !phone.syncStatus.hasPendingChanges, "\(phone.syncStatus)")

        try laptop.joinCalendar("work")
        let joined = try await laptop.syncOnce()
        XCTAssertEqual(joined.joinedCalendars, ["work"])
        XCTAssertEqual(try laptop.calendar("work")?.name, "Work")
        XCTAssertEqual(try phone.occurrences(in: aroundDST, viewer: paris), try laptop.occurrences(in: aroundDST, viewer: paris))

        // Live on both: an edit on the laptop reaches the phone's open month view.
        let phoneStatus = Collector(phone.syncStatusUpdates)
        let laptopStatus = Collector(laptop.syncStatusUpdates)
        try phone.startLiveSync()
        try laptop.startLiveSync()
        _ = try await phoneStatus.first("phone up to date") { $0.state == .upToDate }
        _ = try await laptopStatus.first("laptop up to date") { $0.state == .upToDate }
        let views = Collector(phone.watchOccurrences(in: aroundDST, viewer: paris))
        _ = try await views.next()
        try laptop.editEvent("standup", span: .this(parisAt("2026-03-30T09:00:00")), changes: .title("From the laptop"))
        let updated = try await views.first("the laptop's edit on the phone") { $0.contains { $0.title == "From the laptop" } }
        XCTAssertEqual(updated.map(\.title), ["standup", "From the laptop", "standup"])
        views.cancel()

        try await phone.suspendSync()
        XCTAssertEqual(phone.syncStatus.state, .offline)
        phone.resumeSync()
        _ = try await phoneStatus.first("phone up to date after resume") { $0.state == .upToDate && phone.syncStatus.state == .upToDate }
        try await phone.stopLiveSync()
        try await laptop.stopLiveSync()
        XCTAssertEqual(laptop.syncStatus.state, .offline)
        phoneStatus.cancel()
        laptopStatus.cancel()
    }

    func testRefusedToken() async throws {
        let phone = try openStore("phone")
        try phone.configureSync(serverURL: server.url, token: "not-a-token")
        await assertFailsAsync(AlmanacError.unauthorized, "sign in again") { try await phone.syncOnce() }
    }

    func testOwnerSharesFromTheAppAndUnsharingStopsTheMembersSync() async throws {
        let (alice, bob) = (try server.user("alice"), try server.user("bob"))
        let owner = try openStore("alice")
        let member = try openStore("bob")
        try owner.createCalendar("family", name: "Family", timeZone: paris)
        try owner.createEvent(weekly("dinner", "2026-03-23T19:00:00", calendar: "family"))
        try owner.configureSync(serverURL: server.url, token: alice)
        _ = try await owner.syncOnce()
        let none = try await owner.calendarShares("family")
        XCTAssertEqual(none, [])
        let added = try await owner.shareCalendar("family", with: "bob", readOnly: true)
        XCTAssertEqual(added, .added)
        let shares = try await owner.calendarShares("family")
        XCTAssertEqual(shares, [CalendarShare(user: "bob", readOnly: true)])

        try member.configureSync(serverURL: server.url, token: bob)
        try member.joinCalendar("family")
        let joined = try await member.syncOnce()
        XCTAssertEqual(joined.joinedCalendars, ["family"])
        XCTAssertEqual(try member.event(id: "dinner")?.fields.title, "dinner")
        await assertFailsAsync(AlmanacError.forbidden, "only the owner") {
            try await member.shareCalendar("family", with: "alice")
        }
        await assertFailsAsync(AlmanacError.notFound, "zoe") { try await owner.shareCalendar("family", with: "zoe") }

        let removed = try await owner.unshareCalendar("family", with: "bob")
        XCTAssertTrue(removed)
        let again = try await owner.unshareCalendar("family", with: "bob")
        XCTAssertFalse(again)
        let denied = try await member.syncOnce()
        XCTAssertEqual(denied.deniedCalendars, ["family"])
    }
}
