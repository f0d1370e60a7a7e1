import AlmanacFFI
import Foundation

/// A snapshot of one record: the winning value of every field, plus the values that lost
/// a concurrent write (kept so an app can show or resolve the conflict).
public struct Record: Hashable, Sendable {
    public let collection: String
    public let id: String
    /// The current (winning) value of each field.
    public let fields: [String: Value]
    /// For fields written concurrently on several replicas: the losing values. Fields
    /// without a conflict are absent.
    public let conflicts: [String: [Value]]

    public subscript(field: String) -> Value? { fields[field] }

    init(_ snapshot: RecordSnapshot) {
        collection = snapshot.collection
        id = snapshot.id
        var fields: [String: Value] = [:]
        var conflicts: [String: [Value]] = [:]
        for field in snapshot.fields {
            fields[field.name] = Value(field.value)
            if !field.conflicts.isEmpty { conflicts[field.name] = field.conflicts.map(Value.init) }
        }
        self.fields = fields
        self.conflicts = conflicts
    }
}

/// An error reported by the Almanac core.
public struct StoreError: Error, Hashable, Sendable, LocalizedError {
    public enum Kind: Hashable, Sendable {
        case storage, corrupt, incompatibleVersion, invalidInput, recordDeleted, notFound, closed
        case unauthorized, network, sync, `internal`
    }

    public let kind: Kind
    public let message: String

    public var errorDescription: String? { message }

    init(_ error: AlmanacError) {
        switch error {
        case let .Storage(message): self.init(kind: .storage, message: message)
        case let .Corrupt(message): self.init(kind: .corrupt, message: message)
        case let .IncompatibleVersion(message): self.init(kind: .incompatibleVersion, message: message)
        case let .InvalidInput(message): self.init(kind: .invalidInput, message: message)
        case let .RecordDeleted(message): self.init(kind: .recordDeleted, message: message)
        case let .NotFound(message): self.init(kind: .notFound, message: message)
        case let .Closed(message): self.init(kind: .closed, message: message)
        case let .Unauthorized(message): self.init(kind: .unauthorized, message: message)
        case let .Network(message): self.init(kind: .network, message: message)
        case let .Sync(message): self.init(kind: .sync, message: message)
        case let .Internal(message): self.init(kind: .internal, message: message)
        }
    }

    init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }
}

/// A local Almanac replica backed by one SQLite file. Thread-safe.
public final class Store: Sendable {
    private let inner: AlmanacStore

    /// Opens the store at `path`, creating the file if it does not exist.
    public init(path: String) throws {
        inner = try Self.translatingErrors { try AlmanacStore.open(path: path) }
    }

    /// Opens the store at a file URL, creating the file if it does not exist.
    public convenience init(url: URL) throws {
        try self.init(path: url.path)
    }

    /// This replica's identifier (32 hex characters).
    public var replicaID: String { inner.replicaId() }

    /// Writes `fields` into record `id` of `collection` (one transaction). Fields not listed
    /// keep their current values.
    public func put(_ id: String, in collection: String, fields: [String: Value]) throws {
        try Self.translatingErrors {
            try inner.put(collection: collection, id: id, fields: fields.mapValues(\.ffi))
        }
    }

    /// The record `id` of `collection`, or `nil` if it does not exist or was deleted.
    public func record(_ id: String, in collection: String) throws -> Record? {
        try Self.translatingErrors { try inner.get(collection: collection, id: id) }.map(Record.init)
    }

    /// Deletes record `id` of `collection`.
    public func delete(_ id: String, in collection: String) throws {
        try Self.translatingErrors { try inner.delete(collection: collection, id: id) }
    }

    /// Exchanges changes with `other` in both directions; afterwards both stores hold the same data.
    public func sync(with other: Store) throws {
        try Self.translatingErrors { try inner.syncWith(other: other.inner) }
    }

    private static func translatingErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as AlmanacError {
            throw StoreError(error)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(kind: .internal, message: String(describing: error))
        }
    }
}
