import Events

/// The mergeable state of one aggregate over some events: a commutative, associative monoid with
/// a stable, versioned binary encoding. The speed layer keeps these in memory; the batch layer
/// stores them; the serving layer merges them.
public enum AggregateState: Sendable, Equatable {
    case count(Int64)
    /// Sum of an int field: exact, in 128 bits (see ``IntegerSum``).
    case sumInt(IntegerSum)
    /// Sum of a double field: compensated.
    case sumDouble(CompensatedSum)
    /// Min or max of an int or timestamp field (`nil`: no value yet).
    case minInt(Int64?)
    case maxInt(Int64?)
    /// Min or max of a double field.
    case minDouble(Double?)
    case maxDouble(Double?)
    /// Average: a compensated sum and a count.
    case avg(CompensatedSum, Int64)
    case distinct(DistinctSketch)
    case quantile(QuantileSketch)

    /// The encoding version written first by ``encode(into:)``.
    public static let encodingVersion: UInt8 = 1

    /// The identity element for an aggregate over a field of `fieldType`.
    public static func empty(_ spec: AggregateSpec, fieldType: FieldType?) -> AggregateState {
        let isDouble = fieldType == .double
        switch spec.function {
        case .count: return .count(0)
        case .sum: return isDouble ? .sumDouble(CompensatedSum()) : .sumInt(IntegerSum())
        case .min: return isDouble ? .minDouble(nil) : .minInt(nil)
        case .max: return isDouble ? .maxDouble(nil) : .maxInt(nil)
        case .avg: return .avg(CompensatedSum(), 0)
        case .distinct: return .distinct(DistinctSketch(precision: spec.precision))
        case .quantile: return .quantile(QuantileSketch(relativeAccuracy: spec.relativeAccuracy))
        }
    }

    @inline(__always)
    private static func number(_ value: FieldValue) -> Double? {
        switch value {
        case .int(let number): Double(number)
        case .double(let number): number
        case .timestamp(let number): Double(number)
        default: nil
        }
    }

    @inline(__always)
    private static func integer(_ value: FieldValue) -> Int64? {
        switch value {
        case .int(let number), .timestamp(let number): number
        default: nil
        }
    }

    /// Adds one event's value of the aggregate's field (`count` ignores it; `nil` values are
    /// skipped by every other function).
    @inline(__always)
    public mutating func add(_ value: FieldValue?) {
        if case .count(let n) = self {
            self = .count(n &+ 1)
            return
        }
        guard let value else { return }
        switch self {
        case .count: break
        case .sumInt(var total):
            if let x = Self.integer(value) {
                total.add(x)
                self = .sumInt(total)
            }
        case .sumDouble(var total):
            if let x = Self.number(value) {
                total.add(x)
                self = .sumDouble(total)
            }
        case .minInt(let current): if let x = Self.integer(value) { self = .minInt(current.map { Swift.min($0, x) } ?? x) }
        case .maxInt(let current): if let x = Self.integer(value) { self = .maxInt(current.map { Swift.max($0, x) } ?? x) }
        case .minDouble(let current): if let x = Self.number(value) { self = .minDouble(current.map { Swift.min($0, x) } ?? x) }
        case .maxDouble(let current): if let x = Self.number(value) { self = .maxDouble(current.map { Swift.max($0, x) } ?? x) }
        case .avg(var total, let n):
            if let x = Self.number(value) {
                total.add(x)
                self = .avg(total, n &+ 1)
            }
        case .distinct(var sketch):
            self = .count(0)
            sketch.add(value)
            self = .distinct(sketch)
        case .quantile(var sketch):
            if let x = Self.number(value) {
                self = .count(0)
                sketch.add(x)
                self = .quantile(sketch)
            }
        }
    }

    /// Merges the state of other events of the same aggregate.
    public mutating func merge(_ other: AggregateState) {
        switch (self, other) {
        // Counts: decoded states are below 2^62 and each event adds one, so this never wraps in
        // practice; wrapping (not trapping) keeps even a forged state from stopping the process.
        case (.count(let a), .count(let b)): self = .count(a &+ b)
        case (.sumInt(var a), .sumInt(let b)):
            a.add(b)
            self = .sumInt(a)
        case (.sumDouble(var a), .sumDouble(let b)):
            a.merge(b)
            self = .sumDouble(a)
        case (.minInt(let a), .minInt(let b)): self = .minInt(Self.combine(a, b, Swift.min))
        case (.maxInt(let a), .maxInt(let b)): self = .maxInt(Self.combine(a, b, Swift.max))
        case (.minDouble(let a), .minDouble(let b)): self = .minDouble(Self.combine(a, b, Swift.min))
        case (.maxDouble(let a), .maxDouble(let b)): self = .maxDouble(Self.combine(a, b, Swift.max))
        case (.avg(var a, let n), .avg(let b, let m)):
            a.merge(b)
            self = .avg(a, n &+ m)
        case (.distinct(var a), .distinct(let b)):
            self = .count(0)
            a.merge(b)
            self = .distinct(a)
        case (.quantile(var a), .quantile(let b)):
            self = .count(0)
            a.merge(b)
            self = .quantile(a)
        default:
            preconditionFailure("merging states of different aggregates: \(self) and \(other)")
        }
    }

    static func combine<T>(_ a: T?, _ b: T?, _ pick: (T, T) -> T) -> T? {
        switch (a, b) {
        case (let x?, let y?): pick(x, y)
        case (let x?, nil): x
        case (nil, let y): y
        }
    }

    /// The answer this state gives.
    /// - Parameters:
    ///   - spec: the aggregate (for the quantiles asked).
    ///   - fieldType: the field's type (timestamps answer as RFC 3339 strings).
    public func result(_ spec: AggregateSpec, fieldType: FieldType?) -> AggregateValue {
        switch self {
        case .count(let n): return .int(n)
        case .sumInt(let total): return total.int64.map(AggregateValue.int) ?? .wideInt(total.value)
        case .sumDouble(let total): return .double(total.value)
        case .minInt(let x), .maxInt(let x):
            guard let x else { return .null }
            return fieldType == .timestamp ? .string(Timestamp.format(x)) : .int(x)
        case .minDouble(let x), .maxDouble(let x): return x.map(AggregateValue.double) ?? .null
        case .avg(let total, let n): return n == 0 ? .null : .double(total.value / Double(n))
        case .distinct(let sketch): return .int(sketch.estimate)
        case .quantile(let sketch):
            if spec.quantilesAsList {
                return .object(spec.quantiles.map { q in (Self.quantileKey(q), sketch.quantile(q).map(AggregateValue.double) ?? .null) })
            }
            return sketch.quantile(spec.quantiles.first ?? 0.5).map(AggregateValue.double) ?? .null
        }
    }

    /// The name a quantile goes by in answers: `0.5`, `0.95`, `1`.
    public static func quantileKey(_ q: Double) -> String {
        var text = String(q)
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }

    /// Appends the versioned binary encoding of this state.
    public func encode(into bytes: inout [UInt8]) {
        bytes.append(Self.encodingVersion)
        func optionalInt(_ tag: UInt8, _ x: Int64?) {
            bytes.append(tag)
            bytes.append(x == nil ? 0 : 1)
            if let x { Varint.appendSigned(x, to: &bytes) }
        }
        func optionalDouble(_ tag: UInt8, _ x: Double?) {
            bytes.append(tag)
            bytes.append(x == nil ? 0 : 1)
            if let x { bytes.appendDouble(x) }
        }
        switch self {
        case .count(let n):
            bytes.append(1)
            Varint.appendSigned(n, to: &bytes)
        case .sumInt(let total):
            // Tag 2 (one signed varint) while the sum fits in 64 bits, as version 1 always wrote;
            // tag 11 (high signed, low unsigned) once it is wider.
            if let narrow = total.int64 {
                bytes.append(2)
                Varint.appendSigned(narrow, to: &bytes)
            } else {
                bytes.append(11)
                Varint.appendSigned(total.high, to: &bytes)
                Varint.append(total.low, to: &bytes)
            }
        case .sumDouble(let total):
            bytes.append(3)
            bytes.appendDouble(total.sum)
            bytes.appendDouble(total.compensation)
        case .minInt(let x): optionalInt(4, x)
        case .maxInt(let x): optionalInt(5, x)
        case .minDouble(let x): optionalDouble(6, x)
        case .maxDouble(let x): optionalDouble(7, x)
        case .avg(let total, let n):
            bytes.append(8)
            bytes.appendDouble(total.sum)
            bytes.appendDouble(total.compensation)
            Varint.appendSigned(n, to: &bytes)
        case .distinct(let sketch):
            bytes.append(9)
            sketch.encode(into: &bytes)
        case .quantile(let sketch):
            bytes.append(10)
            sketch.encode(into: &bytes)
        }
    }

    /// The encoded bytes of this state.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        encode(into: &bytes)
        return bytes
    }

    /// Decodes a state written by ``encode(into:)``.
    public static func decode(_ bytes: [UInt8]) throws -> AggregateState {
        var reader = ByteReader(bytes)
        let state = try decode(&reader)
        guard reader.atEnd else { throw ByteReader.Failure(description: "trailing bytes after state") }
        return state
    }

    static func decode(_ reader: inout ByteReader) throws -> AggregateState {
        guard try reader.byte() == encodingVersion else { throw ByteReader.Failure(description: "unknown state encoding version") }
        func optional<T>(_ read: (inout ByteReader) throws -> T) throws -> T? {
            switch try reader.byte() {
            case 0: return nil
            case 1: return try read(&reader)
            default: throw ByteReader.Failure(description: "bad optional flag")
            }
        }
        // Counts are refused outside [0, 2^62) so that merging decoded states stays exact.
        func count() throws -> Int64 {
            let n = try reader.signed()
            guard n >= 0, n < 1 << 62 else { throw ByteReader.Failure(description: "bad count") }
            return n
        }
        switch try reader.byte() {
        case 1: return .count(try count())
        case 2: return .sumInt(IntegerSum(try reader.signed()))
        case 11: return .sumInt(IntegerSum(high: try reader.signed(), low: try reader.varint()))
        case 3: return .sumDouble(CompensatedSum(sum: try reader.double(), compensation: try reader.double()))
        case 4: return .minInt(try optional { try $0.signed() })
        case 5: return .maxInt(try optional { try $0.signed() })
        case 6: return .minDouble(try optional { try $0.double() })
        case 7: return .maxDouble(try optional { try $0.double() })
        case 8:
            let total = CompensatedSum(sum: try reader.double(), compensation: try reader.double())
            return .avg(total, try count())
        case 9: return .distinct(try DistinctSketch.decode(&reader))
        case 10: return .quantile(try QuantileSketch.decode(&reader))
        default: throw ByteReader.Failure(description: "unknown state kind")
        }
    }
}

/// An aggregate's answer, as it appears in a query row.
public enum AggregateValue: Sendable, Equatable {
    case int(Int64)
    /// An integer sum beyond 64 bits.
    case wideInt(Int128)
    case double(Double)
    case string(String)
    case null
    /// Several named values (quantiles asked as a list).
    case object([(String, AggregateValue)])

    public static func == (lhs: AggregateValue, rhs: AggregateValue) -> Bool {
        switch (lhs, rhs) {
        case (.int(let a), .int(let b)): a == b
        case (.wideInt(let a), .wideInt(let b)): a == b
        case (.double(let a), .double(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.null, .null): true
        case (.object(let a), .object(let b)): a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1)
        default: false
        }
    }

    /// A number for ordering rows (top-N): `nil` sorts last.
    public var sortKey: Double? {
        switch self {
        case .int(let n): Double(n)
        case .wideInt(let n): Double(n)
        case .double(let x): x
        default: nil
        }
    }
}
