import Events

/// The server's streams.
public typealias StreamCatalog = Catalog<StreamDefinition>

extension StreamDefinition: CatalogEntry {
    public static var kind: String { "streams" }

    /// Validates the stream and evolves an existing one (see ``StreamDefinition/evolved(to:)``); a
    /// new stream starts at version 1 within `limits.max_streams` and `limits.max_partitions`.
    public static func resolve(
        _ requested: StreamDefinition, over existing: StreamDefinition?, among entries: some Collection<StreamDefinition>, limits: CatalogLimits
    ) throws -> StreamDefinition {
        try requested.validate()
        if let existing { return try existing.evolved(to: requested) }
        guard entries.count < limits.maxStreams else {
            throw SchemaError(.tooManyStreams, "the server already has \(limits.maxStreams) streams, the limit (limits.max_streams)", field: "name")
        }
        let partitions = entries.reduce(0) { $0 + $1.partitions }
        guard partitions + requested.partitions <= limits.maxPartitions else {
            throw SchemaError(
                .tooManyPartitions,
                "the server has \(partitions) partitions; \(requested.partitions) more would pass the limit of \(limits.maxPartitions) (limits.max_partitions)",
                field: "partitions")
        }
        var fresh = requested
        fresh.version = 1
        return fresh
    }
}
