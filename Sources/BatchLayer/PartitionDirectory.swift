import Logging
import PostgresNIO

/// Which server computes each partition, when servers on one Kafka cluster divide the partitions
/// among themselves (`tandem_partition_owners`), and the key they present to each other's
/// internal endpoints (`tandem_cluster_key`).
public final class PartitionDirectory: Sendable {
    private let client: PostgresClient
    private let instance: String
    private let logger: Logger

    /// The directory of the database `client` reaches, for the server `instance`.
    public init(client: PostgresClient, instance: String, logger: Logger) {
        self.client = client
        self.instance = instance
        self.logger = logger
    }

    /// A partition's owner.
    public struct Owner: Sendable, Equatable {
        /// Its instance id.
        public var instance: String
        /// Where it is reached (`http://host:port`).
        public var address: String
    }

    /// Records that this server computes exactly `partitions` (per stream): it takes those rows
    /// and gives up the rest of its own.
    public func record(_ partitions: [String: Set<Int>]) async throws {
        let client = self.client, instance = self.instance, logger = self.logger
        let streams = partitions.keys.sorted()
        let pairs = streams.flatMap { stream in partitions[stream]!.sorted().map { (stream, $0) } }
        try await withTimeout(.seconds(5), "recording the partitions this server computes") {
            try await client.withTransaction(logger: logger) { connection in
                let names = pairs.map(\.0), numbers = pairs.map { Int32($0.1) }
                try await connection.query(
                    """
                    DELETE FROM tandem_partition_owners WHERE instance = \(instance)
                      AND (stream, partition) NOT IN (SELECT * FROM unnest(\(names)::text[], \(numbers)::int4[]))
                    """, logger: logger)
                try await connection.query(
                    """
                    INSERT INTO tandem_partition_owners (stream, partition, instance)
                    SELECT s, p, \(instance) FROM unnest(\(names)::text[], \(numbers)::int4[]) AS t(s, p)
                    ON CONFLICT (stream, partition) DO UPDATE SET instance = EXCLUDED.instance, since = now()
                    WHERE tandem_partition_owners.instance <> EXCLUDED.instance
                    """, logger: logger)
            }
        }
    }

    /// Every recorded owner, per stream and partition, with the address it registered.
    public func owners() async throws -> [String: [Int: Owner]] {
        let client = self.client, logger = self.logger
        return try await withTimeout(.seconds(5), "reading the partitions' owners") {
            let rows = try await client.query(
                """
                SELECT o.stream, o.partition, o.instance, i.address FROM tandem_partition_owners o
                JOIN tandem_instances i ON i.id = o.instance
                """, logger: logger)
            var owners: [String: [Int: Owner]] = [:]
            for try await (stream, partition, instance, address) in rows.decode((String, Int32, String, String).self) {
                owners[stream, default: [:]][Int(partition)] = Owner(instance: instance, address: address)
            }
            return owners
        }
    }

    /// The key servers present to each other's internal endpoints.
    public func clusterKey() async throws -> String {
        let client = self.client, logger = self.logger
        return try await withTimeout(.seconds(5), "reading the cluster key") {
            for try await key in try await client.query("SELECT key FROM tandem_cluster_key WHERE id = 1", logger: logger).decode(String.self) {
                return key
            }
            throw BatchError(.unavailable, "the cluster key is missing (migration 010)")
        }
    }
}
