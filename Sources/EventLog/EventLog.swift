import Logging
import ServiceLifecycle
import Synchronization

/// The embedded, file-backed event log: topics of partitions of append-only segment files.
///
/// Layout under the log directory: `TOPIC/topic.meta` (the partition count) and `TOPIC/P/` with
/// segment files `BASEOFFSET.log` and, for sealed segments, `BASEOFFSET.index`. Everything is kept
/// (this is the master dataset); there is no retention yet.
///
/// As a `Service`, it syncs on the configured interval and closes cleanly on graceful shutdown.
public final class EventLog: Service, Sendable {
    /// The directory the log lives in.
    public let directory: String
    /// How it stores data.
    public let configuration: LogConfiguration
    private let logger: Logger
    private let fileSystem: any LogFileSystem
    private let topics: Mutex<[String: Topic]>
    private let lock: DirectoryLock

    /// The most bytes of key and payload one record may hold; a longer one is refused on append
    /// (`record_too_large`), and a configured request body limit may not exceed it.
    public static let maxRecordBytes = Int(RecordFormat.maximumLength) - (RecordFormat.headerSize - 4)

    /// Opens the log in `directory` (creating it), recovering every topic found there.
    ///
    /// The directory is locked (`flock` on its `LOCK` file) until ``close()``: a second process,
    /// or a second open in this one, fails at once with `log_locked`.
    /// - Parameter fileSystem: the calls through which files are changed; tests pass one that
    ///   injects disk faults.
    /// - Throws: ``LogError`` with code `log_corrupt` when stored data is damaged beyond a torn
    ///   tail (``LogRepair`` lets an operator decide what to do), or `log_locked`.
    public init(
        directory: String, configuration: LogConfiguration = LogConfiguration(), fileSystem: any LogFileSystem = SystemFileSystem(),
        logger: Logger
    ) throws {
        self.directory = directory
        self.configuration = configuration
        self.logger = logger
        self.fileSystem = fileSystem
        try FileIO.makeDirectories(directory)
        self.lock = try DirectoryLock(directory: directory)
        var found: [String: Topic] = [:]
        do {
            for name in try FileIO.list(directory).sorted() where FileIO.exists("\(directory)/\(name)/topic.meta") {
                let path = "\(directory)/\(name)/topic.meta"
                var meta = try Self.readMeta(path)
                if meta.id == nil {
                    // Logs written before topics had an identity get one now.
                    meta.id = Self.newTopicID()
                    try FileIO.writeFileAtomically(path, Self.metaBytes(partitions: meta.partitions, id: meta.id!), using: fileSystem)
                }
                found[name] = try Self.openTopic(
                    name, id: meta.id!, partitions: meta.partitions, directory: directory, configuration: configuration, fileSystem: fileSystem,
                    logger: logger)
            }
        } catch {
            lock.release()
            throw error
        }
        self.topics = Mutex(found)
        if !found.isEmpty {
            logger.info("opened event log", metadata: ["directory": "\(directory)", "topics": "\(found.count)"])
        }
    }

    /// A topic's `topic.meta`: `partitions=N` and `id=HEX` lines.
    private static func readMeta(_ path: String) throws -> (partitions: Int, id: String?) {
        let text = String(decoding: try FileIO.readFile(path), as: UTF8.self)
        let lines = text.split(separator: "\n")
        guard let line = lines.first(where: { $0.hasPrefix("partitions=") }),
            let count = Int(line.dropFirst("partitions=".count)), count > 0
        else { throw LogError(.corrupt, "unreadable topic metadata", path: path) }
        let id = lines.first(where: { $0.hasPrefix("id=") }).map { String($0.dropFirst(3)) }
        return (count, id?.isEmpty == false ? id : nil)
    }

    private static func metaBytes(partitions: Int, id: String) -> [UInt8] {
        Array("partitions=\(partitions)\nid=\(id)\n".utf8)
    }

    /// 128 random bits in hex: a topic's identity, different for every topic ever created.
    static func newTopicID() -> String {
        var generator = SystemRandomNumberGenerator()
        return [generator.next(), generator.next()].map { (value: UInt64) in
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }

    private static func openTopic(
        _ name: String, id: String, partitions: Int, directory: String, configuration: LogConfiguration, fileSystem: any LogFileSystem,
        logger: Logger
    ) throws -> Topic {
        let logs = try (0..<partitions).map { partition in
            try PartitionLog(
                topic: name, partition: partition, directory: "\(directory)/\(name)/\(partition)",
                configuration: configuration, fileSystem: fileSystem, logger: logger)
        }
        return Topic(name: name, id: id, partitions: logs)
    }

    /// Creates a topic, or returns the existing one when it has the same partition count.
    /// - Throws: `topic_conflict` when it exists with another partition count.
    @discardableResult
    public func createTopic(_ name: String, partitions: Int) throws -> Topic {
        try topics.withLock { topics in
            if let existing = topics[name] {
                guard existing.partitionCount == partitions else {
                    throw LogError(.topicConflict, "topic \"\(name)\" has \(existing.partitionCount) partitions, not \(partitions)")
                }
                return existing
            }
            let topicDirectory = "\(directory)/\(name)"
            try FileIO.makeDirectories(topicDirectory)
            let id = Self.newTopicID()
            let topic = try Self.openTopic(
                name, id: id, partitions: partitions, directory: directory, configuration: configuration, fileSystem: fileSystem, logger: logger)
            try FileIO.writeFileAtomically("\(topicDirectory)/topic.meta", Self.metaBytes(partitions: partitions, id: id), using: fileSystem)
            try FileIO.syncDirectory(directory, using: fileSystem)
            topics[name] = topic
            return topic
        }
    }

    /// The topic with this name, if it exists.
    public func topic(_ name: String) -> Topic? { topics.withLock { $0[name] } }

    /// The names of all topics.
    public var topicNames: [String] { topics.withLock { $0.keys.sorted() } }

    /// Syncs on the configured interval until graceful shutdown, then closes the log.
    public func run() async throws {
        if case .interval(let milliseconds) = configuration.durability {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                // Cancellation ends the sleep; the loop condition then stops.
                try? await Task.sleep(for: .milliseconds(milliseconds))
                syncIfDirty()
            }
        } else {
            // Throws only on cancellation, which is a shutdown too.
            try? await gracefulShutdown()
        }
        close()
    }

    private func syncIfDirty() {
        for topic in topics.withLock({ Array($0.values) }) {
            for partition in topic.partitions { partition.syncIfDirty() }
        }
    }

    /// Partitions that stopped taking writes after a failed sync, with the reason: health
    /// reports them, and only a restart clears them.
    public var failedPartitions: [FailedPartition] {
        topics.withLock { Array($0.values) }.sorted { $0.name < $1.name }.flatMap { topic in
            topic.partitions.compactMap { partition in
                partition.failure.map { FailedPartition(topic: topic.name, partition: partition.partition, reason: $0.message) }
            }
        }
    }

    /// Refuses new appends, finishes queued ones, syncs everything, ends every tail and releases
    /// the directory's lock.
    public func close() {
        for topic in topics.withLock({ Array($0.values) }) {
            for partition in topic.partitions { partition.close() }
        }
        lock.release()
        logger.info("closed event log", metadata: ["directory": "\(directory)"])
    }
}

/// A partition that fail-stopped, as health reports it.
public struct FailedPartition: Sendable, Equatable {
    /// The topic.
    public var topic: String
    /// The partition.
    public var partition: Int
    /// What failed.
    public var reason: String
}
