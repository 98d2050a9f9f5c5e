import Events

/// The JSON shape of a view (README, HTTP API: Views); `aggregate_order` carries the output order.
extension ViewDefinition: Codable {
    private enum CodingKeys: String, CodingKey {
        case name, stream, filter, dimensions, bucket, aggregates, schedule
        case aggregateOrder = "aggregate_order"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let bucketText = try container.decode(String.self, forKey: .bucket)
        guard let bucket = DurationText.milliseconds(bucketText) else {
            throw DecodingError.dataCorruptedError(
                forKey: .bucket, in: container, debugDescription: "bucket must be a duration such as 1s, 1m, 1h or 1d, got \"\(bucketText)\"")
        }
        let specs = try container.decode([String: AggregateSpec].self, forKey: .aggregates)
        var order = specs.keys.sorted()
        if let given = try container.decodeIfPresent([String].self, forKey: .aggregateOrder) {
            guard Set(given) == Set(order), given.count == order.count else {
                throw DecodingError.dataCorruptedError(
                    forKey: .aggregateOrder, in: container, debugDescription: "aggregate_order must name every aggregate once")
            }
            order = given
        }
        self.init(
            name: try container.decode(String.self, forKey: .name),
            stream: try container.decode(String.self, forKey: .stream),
            filter: try container.decodeIfPresent(Filter.self, forKey: .filter),
            dimensions: try container.decodeIfPresent([String].self, forKey: .dimensions) ?? [],
            bucketMilliseconds: bucket,
            aggregates: order.map { ($0, specs[$0]!) },
            schedule: try container.decodeIfPresent(String.self, forKey: .schedule)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(stream, forKey: .stream)
        try container.encodeIfPresent(filter, forKey: .filter)
        try container.encode(dimensions, forKey: .dimensions)
        try container.encode(DurationText.format(milliseconds: bucketMilliseconds), forKey: .bucket)
        try container.encode(Dictionary(uniqueKeysWithValues: aggregates.map { ($0.name, $0.spec) }), forKey: .aggregates)
        try container.encode(aggregates.map(\.name), forKey: .aggregateOrder)
        try container.encodeIfPresent(schedule, forKey: .schedule)
    }
}
