/// The type of one field of a stream's schema.
public enum FieldType: String, Sendable, Codable, CaseIterable {
    /// A UTF-8 string.
    case string
    /// A signed 64-bit integer.
    case int
    /// A 64-bit IEEE 754 floating-point number.
    case double
    /// `true` or `false`.
    case bool
    /// A point in time, stored as milliseconds since the Unix epoch (UTC). Accepted as an RFC 3339
    /// string or as an integer number of epoch milliseconds.
    case timestamp

    /// The tag that marks a value of this type in the binary record format. Stable: never renumber.
    var tag: UInt8 {
        switch self {
        case .string: 1
        case .int: 2
        case .double: 3
        case .bool: 4
        case .timestamp: 5
        }
    }
}

/// A typed field value, as decoded from a stored record.
public enum FieldValue: Sendable, Hashable {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    /// Milliseconds since the Unix epoch, UTC.
    case timestamp(Int64)

    /// The type of this value.
    public var type: FieldType {
        switch self {
        case .string: .string
        case .int: .int
        case .double: .double
        case .bool: .bool
        case .timestamp: .timestamp
        }
    }
}
