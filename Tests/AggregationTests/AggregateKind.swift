import Aggregation
import Events
import TandemTestSupport
import Testing

/// One aggregate function over one field type, with a generator of values that keeps every
/// answer exact (doubles are multiples of 1/8 of magnitude below 2^40), and a brute-force answer.
enum AggregateKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case count, sumInt, sumDouble, minInt, maxInt, minDouble, maxDouble, minTimestamp, maxTimestamp
    case avgInt, avgDouble, distinctExact, distinctDense, quantile

    var testDescription: String { rawValue }

    var spec: AggregateSpec {
        switch self {
        case .count: AggregateSpec(.count)
        case .sumInt, .sumDouble: AggregateSpec(.sum, field: "x")
        case .minInt, .minDouble, .minTimestamp: AggregateSpec(.min, field: "x")
        case .maxInt, .maxDouble, .maxTimestamp: AggregateSpec(.max, field: "x")
        case .avgInt, .avgDouble: AggregateSpec(.avg, field: "x")
        case .distinctExact, .distinctDense: AggregateSpec(.distinct, field: "x", precision: 10)
        case .quantile: AggregateSpec(.quantile, field: "x", quantiles: [0, 0.1, 0.5, 0.9, 1], quantilesAsList: true)
        }
    }

    var fieldType: FieldType? {
        switch self {
        case .count: nil
        case .sumInt, .minInt, .maxInt, .avgInt: .int
        case .sumDouble, .minDouble, .maxDouble, .avgDouble, .quantile: .double
        case .minTimestamp, .maxTimestamp: .timestamp
        case .distinctExact, .distinctDense: .string
        }
    }

    /// Whether two states of this kind must be equal value for value (not only in their answer).
    var statesCompareExactly: Bool {
        switch self {
        case .count, .sumInt, .minInt, .maxInt, .minTimestamp, .maxTimestamp, .distinctExact: true
        default: false
        }
    }

    var empty: AggregateState { AggregateState.empty(spec, fieldType: fieldType) }

    /// A random value of the field (sometimes absent).
    func value(_ random: inout SplitMix64) -> FieldValue? {
        if random.chance(0.05) { return nil }
        switch self {
        case .count: return random.chance(0.5) ? .string("c") : nil
        case .sumInt, .avgInt: return .int(random.int64(-(1 << 40)...(1 << 40)))
        case .minInt, .maxInt: return .int(random.chance(0.1) ? random.pick([Int64.min, Int64.max, 0]) : random.int64(-1000...1000))
        case .sumDouble, .avgDouble, .minDouble, .maxDouble:
            return .double(random.chance(0.05) ? random.pick([0.0, -0.0]) : random.eighths(limit: 1 << 40))
        case .quantile:
            let magnitude = random.pick([0.0, 1e-3, 1, 1000, 1e9])
            return .double(random.pick([-1.0, 1.0]) * magnitude * random.unit())
        case .minTimestamp, .maxTimestamp: return .timestamp(random.int64(-5_000_000_000_000...5_000_000_000_000))
        case .distinctExact: return .string("v\(random.int(0...150))")
        case .distinctDense: return .string("v\(random.int(0...5000))")
        }
    }

    /// A random list of values (possibly empty).
    func values(_ random: inout SplitMix64, maxCount: Int? = nil) -> [FieldValue?] {
        let limit = maxCount ?? (self == .distinctDense ? 1500 : 200)
        let count = random.chance(0.1) ? 0 : random.int(1...limit)
        return (0..<count).map { _ in value(&random) }
    }

    /// The state after adding `values` one by one to the empty state.
    func fold(_ values: [FieldValue?]) -> AggregateState {
        var state = empty
        for value in values { state.add(value) }
        return state
    }

    func result(_ state: AggregateState) -> AggregateValue { state.result(spec, fieldType: fieldType) }
}

/// `a` merged with `b`, as a value.
func merged(_ a: AggregateState, _ b: AggregateState) -> AggregateState {
    var result = a
    result.merge(b)
    return result
}
