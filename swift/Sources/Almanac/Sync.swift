import AlmanacFFI
import Foundation

/// Where sync stands.
public enum SyncState: Hashable, Sendable {
    /// Not connected (not started, suspended, stopped or waiting to reconnect).
    case offline
    case connecting
    case syncing
    /// Connected and up to date; the server pushes what changes next.
    case upToDate
}

/// What an app shows about sync: a badge, a "last synced" line, the last error.
public struct SyncStatus: Hashable, Sendable {
    public let state: SyncState
    /// Calendars with local changes the server has not acknowledged.
    public let pendingCalendars: [String]
    public let lastSyncedAt: Date?
    /// The last error's message, cleared by the next successful sync.
    public let lastError: String?

    /// Whether this device holds changes the server has not acknowledged.
    public var hasPendingChanges: Bool { !pendingCalendars.isEmpty }
}

/// Someone a calendar is shared with, as its owner sees it (`Store.calendarShares(_:)`).
public struct CalendarShare: Hashable, Sendable {
    public let user: String
    public let readOnly: Bool

    public init(user: String, readOnly: Bool) {
        self.user = user
        self.readOnly = readOnly
    }
}

/// What `Store.shareCalendar(_:with:readOnly:)` changed.
public enum ShareOutcome: Hashable, Sendable {
    /// The user had no access before.
    case added
    /// The user's access changed (read-only to read-write or back).
    case changed
    /// The user already had exactly this access.
    case unchanged

    init(_ outcome: AlmanacFFI.ShareOutcome) {
        switch outcome {
        case .added: self = .added
        case .changed: self = .changed
        case .unchanged: self = .unchanged
        }
    }
}

/// What one `Store.syncOnce()` did.
public struct SyncReport: Hashable, Sendable {
    public let recordsSent: Int
    public let recordsReceived: Int
    public let joinedCalendars: [String]
    public let deniedCalendars: [String]
    public let readOnlyWithPendingChanges: [String]
}

/// One committed change, local or received by sync.
public struct Change: Hashable, Sendable {
    public let isLocal: Bool
    public let calendar: String
    public let eventIDs: [String]
    /// Whether the calendar's own settings (name, colour, zone) changed.
    public let calendarChanged: Bool

    public init(isLocal: Bool, calendar: String, eventIDs: [String], calendarChanged: Bool) {
        self.isLocal = isLocal
        self.calendar = calendar
        self.eventIDs = eventIDs
        self.calendarChanged = calendarChanged
    }
}

extension SyncStatus {
    init(_ s: SyncStatusInfo) {
        switch s.state {
        case .offline: state = .offline
        case .connecting: state = .connecting
        case .syncing: state = .syncing
        case .upToDate: state = .upToDate
        }
        pendingCalendars = s.pendingCalendars
        lastSyncedAt = s.lastSyncedAtEpochMillis.map { Date(timeIntervalSince1970: TimeInterval($0) / 1000) }
        lastError = s.lastError
    }
}

extension SyncReport {
    init(_ r: AlmanacFFI.SyncReport) {
        recordsSent = Int(r.recordsSent)
        recordsReceived = Int(r.recordsReceived)
        joinedCalendars = r.joinedCalendars
        deniedCalendars = r.deniedCalendars
        readOnlyWithPendingChanges = r.readOnlyWithPendingChanges
    }
}

extension Change {
    init(_ c: StoreChange) {
        self.init(isLocal: c.origin == .local, calendar: c.calendar, eventIDs: c.eventIds, calendarChanged: c.calendarChanged)
    }
}

// The callback objects handed to the bindings. They run on the committing (or sync) thread,
// so they only hand the value to a stream's continuation, which is thread-safe.
final class ChangeForwarder: ChangeListener, @unchecked Sendable {
    private let handler: @Sendable (StoreChange) -> Void
    init(_ handler: @escaping @Sendable (StoreChange) -> Void) {
        self.handler = handler
        Self.count(+1)
    }
    deinit { Self.count(-1) }
    func onChange(change: StoreChange) { handler(change) }

    // How many forwarders the bindings still hold: lets the tests see that a stream whose
    // consumer stopped really released its subscription (a leak would be invisible otherwise).
    private static let lock = NSLock()
    nonisolated(unsafe) private static var live = 0
    private static func count(_ delta: Int) {
        lock.lock(); defer { lock.unlock() }
        live += delta
    }
    static var liveCount: Int {
        lock.lock(); defer { lock.unlock() }
        return live
    }
}

final class StatusForwarder: SyncStatusListener, @unchecked Sendable {
    private let handler: @Sendable (SyncStatusInfo) -> Void
    init(_ handler: @escaping @Sendable (SyncStatusInfo) -> Void) { self.handler = handler }
    func onStatus(status: SyncStatusInfo) { handler(status) }
}

final class ProgressForwarder: ImportProgressListener, @unchecked Sendable {
    private let handler: (Int, Int) -> Void
    init(_ handler: @escaping (Int, Int) -> Void) { self.handler = handler }
    func onProgress(done: UInt64, total: UInt64) { handler(Int(done), Int(total)) }
}

// Not on Linux: Debian's Swift 6.0.3 imports Observation and expands @Observable (this file
// compiled there with the gate removed), but linking libswiftObservation.so fails
// (undefined swift::threading::fatal), and SwiftUI, its consumer, is Apple-only anyway.
#if canImport(Observation) && !os(Linux)
import Observation

/// The sync status as an observable object a SwiftUI view binds to:
/// `Text(model.state == .upToDate ? "Synced" : "…")`. Updated on the main actor from
/// `Store.syncStatusUpdates` for as long as the model lives.
@available(macOS 14, iOS 17, tvOS 17, watchOS 10, *)
@Observable
@MainActor
public final class SyncStatusModel {
    public private(set) var status: SyncStatus

    public var state: SyncState { status.state }
    public var hasPendingChanges: Bool { status.hasPendingChanges }
    public var pendingCalendars: [String] { status.pendingCalendars }
    public var lastSyncedAt: Date? { status.lastSyncedAt }
    public var lastError: String? { status.lastError }

    @ObservationIgnored private let updates = TaskHolder()

    public init(store: Store) {
        status = store.syncStatus
        let stream = store.syncStatusUpdates
        // Weak, so a view dropping the model ends the task and with it the subscription.
        updates.task = Task { [weak self] in
            for await status in stream {
                guard let self else { return }
                self.status = status
            }
        }
    }

    deinit { updates.task?.cancel() }
}

// Holds the model's task outside its main-actor state, so the nonisolated deinit can cancel it.
final class TaskHolder: @unchecked Sendable {
    var task: Task<Void, Never>?
}
#endif
