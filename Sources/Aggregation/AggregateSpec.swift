/// An aggregate function of a view.
public enum AggregateFunction: String, Sendable, Codable, CaseIterable {
    case count, sum, min, max, avg, distinct, quantile
}

/// One named aggregate of a view: `{"fn": "quantile", "field": "latency_ms", "q": 0.95}`.
public struct AggregateSpec: Sendable, Equatable, Codable {
    /// The function.
    public var function: AggregateFunction
    /// The field it reads (all but `count`).
    public var field: String?
    /// The quantiles wanted (`quantile` only), each in [0, 1].
    public var quantiles: [Double]
    /// Whether `q` was given as a list (the answer is then an object keyed by quantile).
    public var quantilesAsList: Bool
    /// HyperLogLog precision for `distinct` (4...16; 2^p registers, error about 1.04 / sqrt(2^p)).
    public var precision: Int
    /// Relative accuracy of the `quantile` sketch (0 < a < 1): every answer is within a factor
    /// (1 ± a) of a value whose rank is the one asked for.
    public var relativeAccuracy: Double

    /// The default HyperLogLog precision: 4096 registers, about 1.6 % standard error.
    public static let defaultPrecision = 12
    /// The default quantile accuracy: 1 %.
    public static let defaultRelativeAccuracy = 0.01

    /// Creates a spec.
    public init(
        _ function: AggregateFunction, field: String? = nil, quantiles: [Double] = [], quantilesAsList: Bool = false,
        precision: Int = AggregateSpec.defaultPrecision, relativeAccuracy: Double = AggregateSpec.defaultRelativeAccuracy
    ) {
        self.function = function
        self.field = field
        self.quantiles = quantiles
        self.quantilesAsList = quantilesAsList
        self.precision = precision
        self.relativeAccuracy = relativeAccuracy
    }

    private enum CodingKeys: String, CodingKey {
        case function = "fn"
        case field, q, precision
        case relativeAccuracy = "relative_accuracy"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        function = try container.decode(AggregateFunction.self, forKey: .function)
        field = try container.decodeIfPresent(String.self, forKey: .field)
        // `q` is a list or one number: the `try?` probes for the list, the else branch decodes
        // (and reports errors in) the single number.
        if let list = try? container.decodeIfPresent([Double].self, forKey: .q) {
            quantiles = list
            quantilesAsList = true
        } else {
            quantiles = try container.decodeIfPresent(Double.self, forKey: .q).map { [$0] } ?? []
            quantilesAsList = false
        }
        precision = try container.decodeIfPresent(Int.self, forKey: .precision) ?? Self.defaultPrecision
        relativeAccuracy = try container.decodeIfPresent(Double.self, forKey: .relativeAccuracy) ?? Self.defaultRelativeAccuracy
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(function, forKey: .function)
        try container.encodeIfPresent(field, forKey: .field)
        switch function {
        case .quantile:
            if quantilesAsList { try container.encode(quantiles, forKey: .q) } else { try container.encode(quantiles.first ?? 0.5, forKey: .q) }
            try container.encode(relativeAccuracy, forKey: .relativeAccuracy)
        case .distinct:
            try container.encode(precision, forKey: .precision)
        default:
            break
        }
    }
}
