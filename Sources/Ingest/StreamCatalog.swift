import EventLog
import Events
import Foundation
import Logging
import Synchronization

/// The streams this server knows, in memory for the ingest path and persisted in a
/// ``DefinitionStore`` (PostgreSQL or files) so that they survive restarts. Creating a stream also
/// creates its log topic.
public final class StreamCatalog: Sendable {
    /// What `define` did.
    public enum Outcome: Sendable, Equatable {
        /// The stream is new.
        case created
        /// The stream existed and gained fields (its version went up) or changed options.
        case updated
        /// The stream existed exactly as asked.
        case unchanged
    }

    /// The kind under which streams are stored.
    public static let kind = "streams"

    private let store: any DefinitionStore
    private let log: EventLog
    private let logger: Logger
    private let streams = Mutex<[String: StreamDefinition]>([:])
    private let changes = AsyncLock()
    /// The most streams the catalog accepts (`limits.max_streams`): each partition holds open
    /// files, so an unbounded count would exhaust file descriptors.
    public let maxStreams: Int
    /// The most partitions over all streams (`limits.max_partitions`): each holds at least one
    /// open segment file.
    public let maxPartitions: Int

    /// Creates an empty catalog; ``load()`` fills it from the store.
    public init(store: any DefinitionStore, log: EventLog, maxStreams: Int = 256, maxPartitions: Int = 4096, logger: Logger) {
        self.store = store
        self.log = log
        self.maxStreams = maxStreams
        self.maxPartitions = maxPartitions
        self.logger = logger
    }

    /// Loads every stored stream (and opens its topic).
    public func load() async throws {
        var loaded: [String: StreamDefinition] = [:]
        for (_, json) in try await store.loadAll(kind: Self.kind) {
            let definition = try JSONDecoder().decode(StreamDefinition.self, from: Data(json.utf8))
            try log.createTopic(definition.name, partitions: definition.partitions)
            loaded[definition.name] = definition
        }
        streams.withLock { $0.merge(loaded) { _, stored in stored } }
    }

    /// The stream with this name.
    public func stream(_ name: String) -> StreamDefinition? { streams.withLock { $0[name] } }

    /// Every stream, by name.
    public var all: [StreamDefinition] { streams.withLock { $0.values.sorted { $0.name < $1.name } } }

    /// Creates a stream, or evolves an existing one (see ``StreamDefinition/evolved(to:)``).
    /// - Returns: the stream as stored and what changed.
    /// - Throws: ``SchemaError`` when the definition is invalid or conflicts with the stream.
    @discardableResult
    public func define(_ requested: StreamDefinition) async throws -> (StreamDefinition, Outcome) {
        try requested.validate()
        return try await changes.withLock {
            let existing = stream(requested.name)
            let stored: StreamDefinition
            let outcome: Outcome
            if let existing {
                stored = try existing.evolved(to: requested)
                outcome = stored == existing ? .unchanged : .updated
            } else {
                let (count, partitions) = streams.withLock { ($0.count, $0.values.reduce(0) { $0 + $1.partitions }) }
                guard count < maxStreams else {
                    throw SchemaError(.tooManyStreams, "the server already has \(maxStreams) streams, the limit (limits.max_streams)", field: "name")
                }
                guard partitions + requested.partitions <= maxPartitions else {
                    throw SchemaError(
                        .tooManyPartitions,
                        "the server has \(partitions) partitions; \(requested.partitions) more would pass the limit of \(maxPartitions) (limits.max_partitions)",
                        field: "partitions")
                }
                var fresh = requested
                fresh.version = 1
                stored = fresh
                outcome = .created
            }
            guard outcome != .unchanged else { return (stored, outcome) }
            try log.createTopic(stored.name, partitions: stored.partitions)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try await store.save(kind: Self.kind, name: stored.name, json: String(decoding: try encoder.encode(stored), as: UTF8.self))
            streams.withLock { $0[stored.name] = stored }
            logger.info(
                "stream \(outcome == .created ? "created" : "updated")", metadata: ["stream": "\(stored.name)", "version": "\(stored.version)"])
            return (stored, outcome)
        }
    }
}
