import EventLog
import Events
import Foundation
import Logging
import Synchronization

/// The streams this server knows, persisted as one JSON file per stream under a directory so that
/// they survive restarts. Creating a stream also creates its log topic.
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

    private let directory: String
    private let log: EventLog
    private let logger: Logger
    private let streams: Mutex<[String: StreamDefinition]>

    /// Loads every stream persisted in `directory`.
    public init(directory: String, log: EventLog, logger: Logger) throws {
        self.directory = directory
        self.log = log
        self.logger = logger
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var loaded: [String: StreamDefinition] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasSuffix(".json") {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(name)"))
            let definition = try JSONDecoder().decode(StreamDefinition.self, from: data)
            try log.createTopic(definition.name, partitions: definition.partitions)
            loaded[definition.name] = definition
        }
        self.streams = Mutex(loaded)
    }

    /// The stream with this name.
    public func stream(_ name: String) -> StreamDefinition? { streams.withLock { $0[name] } }

    /// Every stream, by name.
    public var all: [StreamDefinition] { streams.withLock { $0.values.sorted { $0.name < $1.name } } }

    /// Creates a stream, or evolves an existing one (see ``StreamDefinition/evolved(to:)``).
    /// - Returns: the stream as stored and what changed.
    /// - Throws: ``SchemaError`` when the definition is invalid or conflicts with the stream.
    @discardableResult
    public func define(_ requested: StreamDefinition) throws -> (StreamDefinition, Outcome) {
        try requested.validate()
        return try streams.withLock { streams in
            let stored: StreamDefinition
            let outcome: Outcome
            if let existing = streams[requested.name] {
                stored = try existing.evolved(to: requested)
                outcome = stored == existing ? .unchanged : .updated
            } else {
                var fresh = requested
                fresh.version = 1
                stored = fresh
                outcome = .created
            }
            guard outcome != .unchanged else { return (stored, outcome) }
            try log.createTopic(stored.name, partitions: stored.partitions)
            try persist(stored)
            streams[stored.name] = stored
            logger.info(
                "stream \(outcome == .created ? "created" : "updated")",
                metadata: ["stream": "\(stored.name)", "version": "\(stored.version)"])
            return (stored, outcome)
        }
    }

    private func persist(_ definition: StreamDefinition) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(definition)
        let url = URL(fileURLWithPath: "\(directory)/\(definition.name).json")
        try data.write(to: url, options: .atomic)
    }
}
