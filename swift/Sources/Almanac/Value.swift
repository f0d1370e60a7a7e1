import AlmanacFFI
import Foundation

/// A field value stored in an Almanac record.
public enum Value: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case bytes(Data)
}

extension Value: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
}

extension Value: CustomStringConvertible {
    public var description: String {
        switch self {
        case .null: return "null"
        case let .bool(value): return String(value)
        case let .int(value): return String(value)
        case let .double(value): return String(value)
        case let .string(value): return String(reflecting: value)
        case let .bytes(value): return "<\(value.count) bytes>"
        }
    }
}

// Conversions to and from the generated FFI type.
extension Value {
    init(_ ffi: FieldValue) {
        switch ffi {
        case .null: self = .null
        case let .bool(value): self = .bool(value)
        case let .int(value): self = .int(value)
        case let .float(value): self = .double(value)
        case let .text(value): self = .string(value)
        case let .bytes(value): self = .bytes(value)
        }
    }

    var ffi: FieldValue {
        switch self {
        case .null: return .null
        case let .bool(value): return .bool(value: value)
        case let .int(value): return .int(value: value)
        case let .double(value): return .float(value: value)
        case let .string(value): return .text(value: value)
        case let .bytes(value): return .bytes(value: value)
        }
    }
}
