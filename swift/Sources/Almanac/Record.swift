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
