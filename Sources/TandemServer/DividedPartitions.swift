import AsyncHTTPClient
import BatchLayer
import Catalog
import Events
import Foundation
import Kafka
import KafkaLog
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import SpeedLayer
import Synchronization

/// Partitions divided among the servers that share one Kafka cluster and one database
/// (`kafka.divide_partitions: true`).
///
/// A Kafka consumer group (``KafkaGroupMembership``, cooperative-sticky) assigns each partition of
/// every stream to one server. The server computes the speed layer over its partitions only
/// (``SpeedLayer/own(_:)``) and records them in PostgreSQL (``PartitionDirectory``). A query for a
/// partition it does not compute asks the partition's owner for its state over the internal
/// endpoint (``InternalRoutes``), and the batch runner asks each owner to open a segment for a
/// cut. Both retry, within their deadline, while a partition moves between servers.
final class DividedPartitions: Service, Sendable {
    let speed: SpeedLayer
    let directory: PartitionDirectory
    let instance: String
    private let membership: KafkaGroupMembership
    private let streams: StreamCatalog
    private let topicPrefix: String
    let logger: Logger
    private let cache = Mutex<(owners: [String: [Int: PartitionDirectory.Owner]], read: ContinuousClock.Instant?)>(([:], nil))
    private let key = Mutex<String?>(nil)
    /// Set once the server has left the group: the last assignment (none) is recorded once, not
    /// retried until PostgreSQL answers.
    private let leaving = Atomic<Bool>(false)

    /// The header that carries the cluster key on internal requests.
    static let keyHeader = "Tandem-Cluster-Key"

    init(
        kafka: KafkaLog.Configuration, directory: PartitionDirectory, instance: String, speed: SpeedLayer, streams: StreamCatalog, logger: Logger
    ) throws {
        self.membership = try KafkaGroupMembership(configuration: kafka.client, group: kafka.topicPrefix + "servers", topics: [], logger: logger)
        self.directory = directory
        self.instance = instance
        self.speed = speed
        self.streams = streams
        self.topicPrefix = kafka.topicPrefix
        self.logger = logger
        // Nothing is computed here until the group assigns partitions to this server.
        speed.own([:])
    }

    /// Stays in the group until graceful shutdown, then leaves it (the partitions move to the
    /// other servers at once) and gives up its rows.
    func run() async throws {
        await withDiscardingTaskGroup { group in
            // Not cancelled with the rest: it must record the empty assignment the group's
            // departure ends with.
            group.addTask { await self.apply() }
            await cancelWhenGracefulShutdown {
                await withDiscardingTaskGroup { member in
                    member.addTask { await self.membership.run() }
                    // Every stream's topic is divided, including streams defined later (on any server).
                    while !Task.isCancelled {
                        let topics = self.streams.all.map { self.topicPrefix + $0.name }
                        do { try self.membership.subscribe(topics) } catch {
                            self.logger.warning("could not subscribe to the streams' topics", metadata: ["error": "\(error)"])
                        }
                        try? await Task.sleep(for: .seconds(1))
                    }
                }
            }
            leaving.store(true, ordering: .relaxed)
        }
    }

    /// Computes and records each assignment the group makes, until the membership ends.
    private func apply() async {
        var recorded: [String: Set<Int>]?
        var pending: [String: Set<Int>]?
        var changes = membership.changes.makeAsyncIterator()
        while true {
            if pending == nil || pending == recorded {
                guard let assignment = await changes.next() else { return }
                var owned: [String: Set<Int>] = [:]
                for element in assignment where element.topic.hasPrefix(topicPrefix) {
                    owned[String(element.topic.dropFirst(topicPrefix.count)), default: []].insert(element.partition)
                }
                speed.own(owned)
                pending = owned
            }
            guard let owned = pending else { continue }
            do {
                try await Task { try await directory.record(owned) }.value
                recorded = owned
                invalidate()
                logger.info("partitions computed here", metadata: ["partitions": "\(owned.mapValues { $0.sorted() })"])
            } catch {
                logger.warning("could not record the partitions this server computes; retrying", metadata: ["error": "\(error)"])
                if leaving.load(ordering: .relaxed) { return }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    // MARK: Owners

    /// The owners of every partition, read from PostgreSQL at most once a second unless
    /// `fresh`. While PostgreSQL does not answer, the owners last read (the servers themselves
    /// still answer for their partitions).
    func owners(fresh: Bool = false) async throws -> [String: [Int: PartitionDirectory.Owner]] {
        let cached = cache.withLock { cache -> [String: [Int: PartitionDirectory.Owner]]? in
            guard !fresh, let read = cache.read, ContinuousClock.now - read < .seconds(1) else { return nil }
            return cache.owners
        }
        if let cached { return cached }
        do {
            let owners = try await directory.owners()
            cache.withLock { $0 = (owners, ContinuousClock.now) }
            return owners
        } catch {
            let last = cache.withLock { $0.owners }
            if last.isEmpty { throw error }
            return last
        }
    }

    /// `partitions` of `stream` grouped by the other server recorded as each one's owner (the
    /// owners read again when `fresh`). A partition no server is recorded for gets its reason in
    /// `reasons`; those recorded for this server are returned apart.
    func locate(
        _ partitions: [Int], of stream: String, fresh: Bool, reasons: inout [Int: String]
    ) async -> (elsewhere: [(owner: PartitionDirectory.Owner, partitions: [Int])], here: [Int]) {
        let owners = (try? await owners(fresh: fresh))?[stream] ?? [:]
        var byOwner: [String: (owner: PartitionDirectory.Owner, partitions: [Int])] = [:]
        var here: [Int] = []
        for partition in partitions.sorted() {
            guard let owner = owners[partition] else {
                reasons[partition] = "no server computes it yet"
                continue
            }
            if owner.instance == instance {
                here.append(partition)
            } else {
                byOwner[owner.instance, default: (owner, [])].partitions.append(partition)
            }
        }
        return (Array(byOwner.values), here)
    }

    /// Makes the next call read the owners again.
    func invalidate() { cache.withLock { $0.read = nil } }

    /// The key servers present to each other.
    func clusterKey() async throws -> String {
        if let key = key.withLock({ $0 }) { return key }
        let read = try await directory.clusterKey()
        key.withLock { $0 = read }
        return read
    }

    /// Whether `presented` is the cluster key (compared in constant time).
    func accepts(_ presented: String?) async -> Bool {
        guard let presented, let key = try? await clusterKey() else { return false }
        let a = Array(presented.utf8), b = Array(key.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    // MARK: Requests to owners

    /// The HTTP client for requests to other servers: it fails fast on a connection that cannot
    /// be made (a server that died), so that the caller can read the owners again.
    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.timeout.connect = .seconds(2)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// Sends an internal request to another server and returns the body of a 200.
    func call(_ method: HTTPMethod, _ owner: PartitionDirectory.Owner, _ path: String, timeout: Duration) async throws -> ByteBuffer {
        var request = HTTPClientRequest(url: owner.address + path)
        request.method = method
        request.headers.add(name: Self.keyHeader, value: try await clusterKey())
        let seconds = max(Int64(1), Int64((timeout / .milliseconds(1)).rounded(.up)) / 1000 + 1)
        let response = try await Self.http.execute(request, timeout: .seconds(seconds))
        let body = try await response.body.collect(upTo: 1 << 30)
        guard response.status == .ok else {
            throw ViewErrorText(description: "\(owner.address) answered \(response.status.code): \(String(buffer: body).prefix(300))")
        }
        return body
    }

    /// A failed internal call, as its caller reports it.
    struct ViewErrorText: Error, CustomStringConvertible {
        var description: String
    }
}
