import AlmanacFFI
import Foundation

/// Everything the Almanac API throws, by kind. `message` (also `errorDescription` and
/// `description`) says what happened and what to do; it is the Rust core's wording, so
/// Swift, Kotlin and the logs read the same.
public enum AlmanacError: Error, Hashable, Sendable {
    /// The database file could not be read or written (I/O, locking, disk full…).
    case storage(String)
    /// The database or a received change is damaged, or the file is not an Almanac store.
    case corrupt(String)
    /// The data was written by a newer version of Almanac: update the app.
    case incompatibleVersion(String)
    /// An argument was rejected: unknown time zone, end before start, invalid rule, over-long id…
    case invalidInput(String)
    /// The record was deleted; restore it before editing it.
    case recordDeleted(String)
    /// No such event, calendar or conflict.
    case notFound(String)
    /// The store was closed.
    case closed(String)
    /// The sync server refused the token: sign in again and call `Store.setSyncToken(_:)`.
    case unauthorized(String)
    /// The sync server refused a sharing change: only a calendar's owner can share it.
    case forbidden(String)
    /// The sync server could not be reached or the connection broke; retrying later can help.
    case network(String)
    /// Sync cannot work as configured (certificate, protocol); retrying the same cannot help.
    case sync(String)
    /// A bug inside Almanac (including a caught Rust panic); please report the message.
    case `internal`(String)

    /// What happened and what to do.
    public var message: String {
        switch self {
        case let .storage(m), let .corrupt(m), let .incompatibleVersion(m), let .invalidInput(m),
            let .recordDeleted(m), let .notFound(m), let .closed(m), let .unauthorized(m),
            let .forbidden(m), let .network(m), let .sync(m), let .internal(m):
            return m
        }
    }
}

extension AlmanacError: LocalizedError {
    public var errorDescription: String? { message }
}

extension AlmanacError: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { message }

    /// The kind and the message, for logs and test failures: `closed: the store is closed…`.
    public var debugDescription: String {
        let kind = String(describing: Mirror(reflecting: self).children.first?.label ?? "error")
        return "\(kind): \(message)"
    }
}

extension AlmanacError {
    // The one place generated errors become Swift ones; every FFI call goes through `ffi`.
    init(_ error: AlmanacFFI.AlmanacError) {
        switch error {
        case let .Storage(message): self = .storage(message)
        case let .Corrupt(message): self = .corrupt(message)
        case let .IncompatibleVersion(message): self = .incompatibleVersion(message)
        case let .InvalidInput(message): self = .invalidInput(message)
        case let .RecordDeleted(message): self = .recordDeleted(message)
        case let .NotFound(message): self = .notFound(message)
        case let .Closed(message): self = .closed(message)
        case let .Unauthorized(message): self = .unauthorized(message)
        case let .Forbidden(message): self = .forbidden(message)
        case let .Network(message): self = .network(message)
        case let .Sync(message): self = .sync(message)
        case let .Internal(message): self = .internal(message)
        }
    }

    static func wrap(_ error: Error) -> AlmanacError {
        switch error {
        case let error as AlmanacError: return error
        case let error as AlmanacFFI.AlmanacError: return AlmanacError(error)
        // UniFFI's own failures (a panic it caught, a lowering error) are bugs on our side.
        default: return .internal(String(describing: error))
        }
    }
}

/// Runs a generated call, throwing only `AlmanacError`.
@inline(__always)
func ffi<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch { throw AlmanacError.wrap(error) }
}

/// The async form of `ffi`.
func ffiAsync<T>(_ body: () async throws -> T) async throws -> T {
    do { return try await body() } catch { throw AlmanacError.wrap(error) }
}
