import Events

/// A view: what both the speed and the batch layer compute from a stream, per base time bucket
/// and group: an optional filter, group-by dimensions, and named aggregates.
public struct ViewDefinition: Sendable, Equatable {
    /// The view's name, `[a-z][a-z0-9_]{0,62}`.
    public var name: String
    /// The stream it reads.
    public var stream: String
    /// Events that do not pass are ignored.
    public var filter: Filter?
    /// The fields whose values form a group.
    public var dimensions: [String]
    /// The base time bucket, in milliseconds (1 second to 1 day).
    public var bucketMilliseconds: Int64
    /// The aggregates, by output name, in output order.
    public var aggregates: [(name: String, spec: AggregateSpec)]
    /// When the batch layer recomputes it (`every 1h` or a cron expression); kept for the batch layer.
    public var schedule: String?

    /// Creates a view definition.
    public init(
        name: String, stream: String, filter: Filter? = nil, dimensions: [String], bucketMilliseconds: Int64,
        aggregates: [(name: String, spec: AggregateSpec)], schedule: String? = nil
    ) {
        self.name = name
        self.stream = stream
        self.filter = filter
        self.dimensions = dimensions
        self.bucketMilliseconds = bucketMilliseconds
        self.aggregates = aggregates
        self.schedule = schedule
    }

    public static func == (lhs: ViewDefinition, rhs: ViewDefinition) -> Bool {
        lhs.name == rhs.name && lhs.stream == rhs.stream && lhs.filter == rhs.filter && lhs.dimensions == rhs.dimensions
            && lhs.bucketMilliseconds == rhs.bucketMilliseconds && lhs.schedule == rhs.schedule
            && lhs.aggregates.map(\.name) == rhs.aggregates.map(\.name) && lhs.aggregates.map(\.spec) == rhs.aggregates.map(\.spec)
    }

    /// The aggregate with this output name.
    public func aggregate(_ name: String) -> AggregateSpec? { aggregates.first { $0.name == name }?.spec }

    /// The smallest and largest base bucket allowed.
    public static let bucketRange: ClosedRange<Int64> = 1000...86_400_000
    /// The most group-by dimensions a view may have.
    public static let maxDimensions = 16
    /// The most aggregates a view may have.
    public static let maxAggregates = 64
    /// The quantile sketch accuracies allowed: finer than 0.01 % makes the sketch's bins
    /// explode, coarser than 50 % says nothing.
    public static let relativeAccuracyRange: ClosedRange<Double> = 0.0001...0.5
    /// The most quantiles one aggregate may ask for.
    public static let maxQuantiles = 32

    /// Checks the view against the stream it reads, throwing the first problem found.
    public func validate(against stream: StreamDefinition) throws(ViewError) {
        guard Names.isValid(name) else {
            throw ViewError(.invalidView, "view name \"\(name)\" must match [a-z][a-z0-9_]{0,62}", field: "name")
        }
        guard Self.bucketRange.contains(bucketMilliseconds), bucketMilliseconds % 1000 == 0 else {
            throw ViewError(.invalidView, "bucket must be a whole number of seconds from 1s to 1d", field: "bucket")
        }
        guard dimensions.count <= Self.maxDimensions else {
            throw ViewError(.invalidView, "a view may have at most \(Self.maxDimensions) dimensions", field: "dimensions")
        }
        guard aggregates.count <= Self.maxAggregates else {
            throw ViewError(.invalidView, "a view may have at most \(Self.maxAggregates) aggregates", field: "aggregates")
        }
        var seen = Set<String>()
        for dimension in dimensions {
            guard stream.fieldIndex(dimension) != nil else {
                throw ViewError(.unknownField, "dimension \"\(dimension)\" is not a field of stream \"\(stream.name)\"", field: "dimensions")
            }
            guard seen.insert(dimension).inserted else {
                throw ViewError(.invalidView, "dimension \"\(dimension)\" is listed twice", field: "dimensions")
            }
        }
        if let filter { _ = try CompiledFilter(filter, fields: stream.fields.map { ($0.name, $0.type) }) }
        guard !aggregates.isEmpty else { throw ViewError(.invalidView, "a view needs at least one aggregate", field: "aggregates") }
        var names = Set<String>()
        for (outputName, spec) in aggregates {
            let at = "aggregates.\(outputName)"
            guard Names.isValid(outputName), !dimensions.contains(outputName), outputName != "time", outputName != "end" else {
                throw ViewError(
                    .invalidAggregate,
                    "aggregate name \"\(outputName)\" must match [a-z][a-z0-9_]{0,62} and differ from the dimensions, time and end",
                    field: at)
            }
            guard names.insert(outputName).inserted else {
                throw ViewError(.invalidAggregate, "aggregate \"\(outputName)\" is declared twice", field: at)
            }
            if spec.function == .count {
                continue
            }
            guard let fieldName = spec.field else {
                throw ViewError(.invalidAggregate, "\(spec.function.rawValue) needs a field", field: at)
            }
            guard let index = stream.fieldIndex(fieldName) else {
                throw ViewError(.unknownField, "field \"\(fieldName)\" is not a field of stream \"\(stream.name)\"", field: at)
            }
            let type = stream.fields[index].type
            switch spec.function {
            case .sum, .avg, .quantile:
                guard type == .int || type == .double else {
                    throw ViewError(
                        .invalidAggregate, "\(spec.function.rawValue) needs an int or double field; \"\(fieldName)\" is \(type.rawValue)", field: at)
                }
            case .min, .max:
                guard type == .int || type == .double || type == .timestamp else {
                    throw ViewError(
                        .invalidAggregate, "\(spec.function.rawValue) needs an int, double or timestamp field; \"\(fieldName)\" is \(type.rawValue)",
                        field: at)
                }
            case .distinct, .count:
                break
            }
            if spec.function == .quantile {
                guard !spec.quantiles.isEmpty, spec.quantiles.count <= Self.maxQuantiles, spec.quantiles.allSatisfy({ (0...1).contains($0) })
                else {
                    throw ViewError(
                        .invalidAggregate, "quantile needs 1 to \(Self.maxQuantiles) values of q in [0, 1] (a number or a list)",
                        field: at)
                }
                guard Self.relativeAccuracyRange.contains(spec.relativeAccuracy) else {
                    throw ViewError(
                        .invalidAggregate,
                        "relative_accuracy must be between \(Self.relativeAccuracyRange.lowerBound) and \(Self.relativeAccuracyRange.upperBound)",
                        field: at)
                }
            }
            if spec.function == .distinct, !(4...16).contains(spec.precision) {
                throw ViewError(.invalidAggregate, "precision must be between 4 and 16", field: at)
            }
        }
    }
}
