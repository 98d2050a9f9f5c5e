import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Who this server is, as it registers in PostgreSQL (`tandem_instances`).
public struct InstanceIdentity: Sendable, Equatable {
    /// Stable for a data directory (kept in it), so that a restart of the same server, even
    /// right after a crash, is the same instance.
    public var id: String
    /// Where clients reach it (`http://host:port`).
    public var address: String
    /// Its data directory.
    public var dataDirectory: String
    /// Whether it shares the database with other servers (its log is Kafka, which they all
    /// read): such servers elect one batch runner among them (``RunnerLease``). A server with
    /// a log of its own never shares its database.
    public var shared: Bool

    /// Names an instance.
    public init(id: String, address: String, dataDirectory: String, shared: Bool = false) {
        self.id = id
        self.address = address
        self.dataDirectory = dataDirectory
        self.shared = shared
    }
}

/// The servers that use this database, each with a heartbeat (`tandem_instances`).
///
/// Servers whose log is Kafka share the database: they read the same log, elect one batch runner
/// (``RunnerLease``) and follow its publications. A server with a log of its own (the embedded
/// log) never shares it: two such servers would each take cuts over different logs, publish
/// versions and drop each other's tables. Such a server therefore refuses to start (or to attach
/// the database) while another one's heartbeat is fresh, and a sharing server refuses while such
/// a server's is; a server that stops deletes its row, and the row of one that crashed goes stale
/// after ``staleAfter``.
final class InstanceRegistry: Sendable {
    let client: PostgresClient
    let identity: InstanceIdentity
    let logger: Logger
    /// Where this server is reached: the identity's, until the server knows the port it bound.
    let address: Mutex<String>

    init(client: PostgresClient, identity: InstanceIdentity, logger: Logger) {
        self.client = client
        self.identity = identity
        self.logger = logger
        self.address = Mutex(identity.address)
    }
    /// How often the heartbeat is written.
    static let heartbeat: Duration = .seconds(3)
    /// A heartbeat older than this is a server that is gone.
    static let staleAfter: Duration = .seconds(15)

    /// Registers this server, unless another one is alive on this database.
    /// - Throws: ``BatchError`` `another_instance` naming the other server.
    func register() async throws {
        let client = self.client, identity = self.identity, logger = self.logger
        let address = self.address.withLock { $0 }
        let stale = Int((Self.staleAfter / .milliseconds(1)).rounded())
        try await client.withTransaction(logger: logger) { connection in
            // Two servers starting at once: one registers, then the other sees it.
            try await connection.query("SELECT pg_advisory_xact_lock(7351093)", logger: logger)
            let rows = try await connection.query(
                """
                SELECT address, pid, data_dir, extract(epoch FROM now() - heartbeat_at)::float8 FROM tandem_instances
                WHERE id <> \(identity.id) AND heartbeat_at > now() - make_interval(secs => \(Double(stale) / 1000))
                  AND NOT (shared AND \(identity.shared))
                ORDER BY heartbeat_at DESC LIMIT 1
                """, logger: logger)
            for try await (address, pid, dataDirectory, age) in rows.decode((String, Int32, String, Double).self) {
                throw BatchError(
                    .anotherInstance,
                    "another Tandem server uses this database: \(address) (pid \(pid), data directory \(dataDirectory)), seen \(String(format: "%.1f", age)) s ago. Only servers whose log is Kafka (log.backend: kafka) share a database; stop it, or give this one another database"
                )
            }
            try await connection.query(
                """
                INSERT INTO tandem_instances (id, address, pid, data_dir, shared)
                VALUES (\(identity.id), \(address), \(Int32(getpid())), \(identity.dataDirectory), \(identity.shared))
                ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address, pid = EXCLUDED.pid, data_dir = EXCLUDED.data_dir,
                  shared = EXCLUDED.shared, started_at = now(), heartbeat_at = now()
                """, logger: logger)
        }
    }

    /// Every registered server: id, address, pid, data directory, seconds since its heartbeat,
    /// whether it is the elected batch runner, and the partitions it computes when the servers
    /// divide them (`tandem_partition_owners`).
    func list() async throws -> [Listed] {
        let client = self.client, logger = self.logger
        return try await withTimeout(.seconds(5), "listing the instances") {
            let rows = try await client.query(
                """
                SELECT i.id, i.address, i.pid, i.data_dir, extract(epoch FROM now() - i.heartbeat_at)::float8, r.instance IS NOT NULL,
                  COALESCE((SELECT array_agg(o.stream || ':' || o.partition ORDER BY o.stream, o.partition)
                            FROM tandem_partition_owners o WHERE o.instance = i.id), '{}')
                FROM tandem_instances i LEFT JOIN tandem_runner r ON r.instance = i.id ORDER BY i.started_at, i.id
                """,
                logger: logger)
            var listed: [Listed] = []
            for try await row in rows.decode((String, String, Int32, String, Double, Bool, [String]).self) {
                var partitions: [String: [Int]] = [:]
                for pair in row.6 {
                    guard let colon = pair.lastIndex(of: ":"), let partition = Int(pair[pair.index(after: colon)...]) else { continue }
                    partitions[String(pair[..<colon]), default: []].append(partition)
                }
                listed.append(
                    Listed(id: row.0, address: row.1, pid: row.2, dataDirectory: row.3, age: row.4, runner: row.5, partitions: partitions))
            }
            return listed
        }
    }

    /// A registered server.
    struct Listed: Sendable {
        var id: String
        var address: String
        var pid: Int32
        var dataDirectory: String
        /// Seconds since its heartbeat.
        var age: Double
        /// Whether it was the last server elected batch runner.
        var runner: Bool
        /// Per stream, the partitions it computes, when the servers divide them.
        var partitions: [String: [Int]] = [:]
    }

    /// Writes the heartbeat.
    func beat() async throws {
        let client = self.client, id = identity.id, logger = self.logger, address = self.address.withLock { $0 }
        try await withTimeout(Self.heartbeat, "writing the instance heartbeat") {
            try await client.query("UPDATE tandem_instances SET heartbeat_at = now(), address = \(address) WHERE id = \(id)", logger: logger)
        }
    }

    /// Deletes this server's row (at a graceful stop).
    func unregister() async throws {
        let client = self.client, id = identity.id, logger = self.logger
        try await withTimeout(.seconds(5), "removing the instance row") {
            try await client.query("DELETE FROM tandem_instances WHERE id = \(id)", logger: logger)
        }
    }
}
