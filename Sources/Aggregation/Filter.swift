import Events

/// A literal in a filter: a string, a number or a bool (JSON values).
public enum FilterValue: Sendable, Equatable, Codable {
    case string(String)
    case number(Double)
    case bool(Bool)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Each `try?` probes one JSON type; the last branch reports a value of none of them.
        if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "a filter value must be a string, a number or a bool")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let text): try container.encode(text)
        case .number(let number): try container.encode(number)
        case .bool(let flag): try container.encode(flag)
        }
    }
}

/// A comparison operator of a filter.
public enum FilterOperator: String, Sendable, Codable, CaseIterable {
    case equal = "="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
    case `in` = "in"
    case exists = "exists"
}

/// A filter over an event's fields (views) or a row's dimensions (queries):
/// `{"field": F, "op": OP, "value": V}`, `{"and": [...]}`, `{"or": [...]}`, `{"not": {...}}`.
public indirect enum Filter: Sendable, Equatable, Codable {
    /// Compares a field with a value (`in` takes a list, `exists` none).
    case compare(field: String, op: FilterOperator, values: [FilterValue])
    case and([Filter])
    case or([Filter])
    case not(Filter)

    private enum CodingKeys: String, CodingKey {
        case field, op, value, and, or, not
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let all = try container.decodeIfPresent([Filter].self, forKey: .and) {
            self = .and(all)
        } else if let any = try container.decodeIfPresent([Filter].self, forKey: .or) {
            self = .or(any)
        } else if let inner = try container.decodeIfPresent(Filter.self, forKey: .not) {
            self = .not(inner)
        } else {
            let field = try container.decode(String.self, forKey: .field)
            let op = try container.decode(FilterOperator.self, forKey: .op)
            switch op {
            case .exists:
                self = .compare(field: field, op: op, values: [])
            case .in:
                self = .compare(field: field, op: op, values: try container.decode([FilterValue].self, forKey: .value))
            default:
                self = .compare(field: field, op: op, values: [try container.decode(FilterValue.self, forKey: .value)])
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .and(let all): try container.encode(all, forKey: .and)
        case .or(let any): try container.encode(any, forKey: .or)
        case .not(let inner): try container.encode(inner, forKey: .not)
        case .compare(let field, let op, let values):
            try container.encode(field, forKey: .field)
            try container.encode(op, forKey: .op)
            switch op {
            case .exists: break
            case .in: try container.encode(values, forKey: .value)
            default: try container.encode(values[0], forKey: .value)
            }
        }
    }

    /// Every field the filter names.
    public var fields: [String] {
        switch self {
        case .compare(let field, _, _): [field]
        case .and(let all), .or(let all): all.flatMap(\.fields)
        case .not(let inner): inner.fields
        }
    }
}

/// A filter bound to field positions and types, evaluated without allocation.
public struct CompiledFilter: Sendable {
    indirect enum Node: Sendable {
        case compare(index: Int, op: FilterOperator, values: [FieldValue])
        case and([Node])
        case or([Node])
        case not(Node)
    }

    let root: Node

    /// Binds `filter` to fields.
    /// - Parameters:
    ///   - filter: the filter.
    ///   - fields: the name and type of each position a value array will have.
    /// - Throws: ``ViewError`` naming an unknown field or a value of the wrong type.
    public init(_ filter: Filter, fields: [(name: String, type: FieldType)]) throws(ViewError) {
        var budget = Self.maxNodes
        root = try Self.compile(filter, fields, depth: 0, budget: &budget)
    }

    /// The deepest nesting of `and`, `or` and `not` a filter may have.
    public static let maxDepth = 32
    /// The most comparisons, `and`, `or` and `not` nodes a filter may have.
    public static let maxNodes = 1000
    /// The most values an `in` list may hold.
    public static let maxInValues = 10_000

    private static func compile(
        _ filter: Filter, _ fields: [(name: String, type: FieldType)], depth: Int, budget: inout Int
    ) throws(ViewError) -> Node {
        guard depth <= maxDepth else {
            throw ViewError(.invalidFilter, "the filter is nested deeper than \(maxDepth) levels", field: "filter")
        }
        budget -= 1
        guard budget >= 0 else { throw ViewError(.invalidFilter, "the filter has more than \(maxNodes) nodes", field: "filter") }
        switch filter {
        case .and(let all):
            var nodes: [Node] = []
            for item in all { nodes.append(try compile(item, fields, depth: depth + 1, budget: &budget)) }
            return .and(nodes)
        case .or(let any):
            var nodes: [Node] = []
            for item in any { nodes.append(try compile(item, fields, depth: depth + 1, budget: &budget)) }
            return .or(nodes)
        case .not(let inner):
            return .not(try compile(inner, fields, depth: depth + 1, budget: &budget))
        case .compare(let name, let op, let values):
            guard values.count <= maxInValues else {
                throw ViewError(.invalidFilter, "an in list may hold at most \(maxInValues) values", field: "filter")
            }
            guard let index = fields.firstIndex(where: { $0.name == name }) else {
                throw ViewError(.unknownField, "filter names field \"\(name)\", which is not available here", field: "filter")
            }
            let type = fields[index].type
            var typed: [FieldValue] = []
            for value in values {
                guard let converted = convert(value, to: type) else {
                    throw ViewError(.invalidFilter, "filter value \(value) does not fit field \"\(name)\" of type \(type.rawValue)", field: "filter")
                }
                typed.append(converted)
            }
            return .compare(index: index, op: op, values: typed)
        }
    }

    static func convert(_ value: FilterValue, to type: FieldType) -> FieldValue? {
        switch (value, type) {
        case (.string(let text), .string): .string(text)
        case (.string(let text), .timestamp): Timestamp.parse(text).map(FieldValue.timestamp)
        // `Int64(exactly:)`, never `Int64(_:)`: a literal such as 1e19 must be refused, not trap.
        case (.number(let number), .timestamp):
            Int64(exactly: number).flatMap { Timestamp.supportedRange.contains($0) ? FieldValue.timestamp($0) : nil }
        case (.number(let number), .int): Int64(exactly: number).map(FieldValue.int)
        case (.number(let number), .double): number.isFinite ? .double(number) : nil
        case (.bool(let flag), .bool): .bool(flag)
        default: nil
        }
    }

    /// Whether `values` (one per field position) pass the filter.
    @inline(__always)
    public func matches(_ values: [FieldValue?]) -> Bool { Self.evaluate(root, values) }

    static func evaluate(_ node: Node, _ values: [FieldValue?]) -> Bool {
        switch node {
        case .and(let all): return all.allSatisfy { evaluate($0, values) }
        case .or(let any): return any.contains { evaluate($0, values) }
        case .not(let inner): return !evaluate(inner, values)
        case .compare(let index, let op, let literals):
            guard let value = values[index] else { return op == .notEqual }
            switch op {
            case .exists: return true
            case .in: return literals.contains(value)
            case .equal: return value == literals[0]
            case .notEqual: return value != literals[0]
            case .less: return FieldValueOrder.compare(value, literals[0]) == .some(.less)
            case .lessOrEqual: return FieldValueOrder.compare(value, literals[0]).map { $0 != .greater } ?? false
            case .greater: return FieldValueOrder.compare(value, literals[0]) == .some(.greater)
            case .greaterOrEqual: return FieldValueOrder.compare(value, literals[0]).map { $0 != .less } ?? false
            }
        }
    }
}

/// Ordering of field values of the same type.
public enum FieldValueOrder {
    public enum Result { case less, equal, greater }

    /// Compares two values of one type; `nil` for different types.
    public static func compare(_ a: FieldValue, _ b: FieldValue) -> Result? {
        func order<T: Comparable>(_ x: T, _ y: T) -> Result { x < y ? .less : (x == y ? .equal : .greater) }
        switch (a, b) {
        case (.string(let x), .string(let y)): return order(x, y)
        case (.int(let x), .int(let y)): return order(x, y)
        case (.double(let x), .double(let y)): return order(x, y)
        case (.timestamp(let x), .timestamp(let y)): return order(x, y)
        case (.bool(let x), .bool(let y)): return order(x ? 1 : 0, y ? 1 : 0)
        default: return nil
        }
    }
}
