import BatchLayer
import Foundation
import HTTPTypes
import HummingbirdTesting
import Kafka
import KafkaLog
import TandemAPI
import TandemServer
import TandemTestSupport
import Testing

/// One server per database: a second one, on another data directory, refuses to start while
/// the first runs, and starts once it stopped; the same data directory is the same server.
@Suite struct InstanceRegistryTests {
    @Test func aSecondServerOnTheSameDatabaseRefusesToStartUntilTheFirstStops() async throws {
        let first = try TemporaryDirectory()
        let second = try TemporaryDirectory()
        defer {
            first.remove()
            second.remove()
        }
        let database = try TestDatabase.create()
        try await withApp(directory: first, database: database) { client async throws in
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
            let rows = try database.scalar("SELECT count(*) || ' ' || min(data_dir) FROM tandem_instances")
            #expect(rows == "1 \(first.path)")
            let status = try await client.get(StatusResponse.self, "/v1/status")
            #expect(status.instances?.count == 1)
            #expect(status.instances?.first?.dataDir == first.path)
            #expect(status.instances?.first?.current == true)
            #expect(status.instances?.first?.pid == Int(getpid()))
            #expect(status.instances?.first?.runner == true, "the database's only server runs its jobs")
            let error = await #expect(throws: (any Error).self) {
                try await withApp(directory: second, database: database) { _ in }
            }
            #expect("\(error.map { "\($0)" } ?? "")".contains("another Tandem server uses this database"), "\(String(describing: error))")
            #expect("\(error.map { "\($0)" } ?? "")".contains(first.path))
        }
        // The first stopped and removed its row: the second starts.
        #expect(try database.scalar("SELECT count(*) FROM tandem_instances") == "0")
        try await withApp(directory: second, database: database) { client async throws in
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
        }
        // The same data directory is the same instance, even when its row is still fresh (a
        // restart right after a crash leaves one).
        let id = try String(contentsOfFile: first.path + "/instance-id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try database.execute("INSERT INTO tandem_instances (id, address, pid, data_dir) VALUES ('\(id)', 'http://gone:1', 1, '\(first.path)')")
        try await withApp(directory: first, database: database) { client async throws in
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
        }
    }

    /// Servers on Kafka share a database with each other (``ClusterTests``), never with a server
    /// whose log is its own.
    @Test func aServerOnKafkaRefusesADatabaseThatAServerWithItsOwnLogUses() async throws {
        let first = try TemporaryDirectory()
        let second = try TemporaryDirectory()
        defer {
            first.remove()
            second.remove()
        }
        let database = try TestDatabase.create()
        let kafka = try TestKafka.current()
        let prefix = TestKafka.uniqueTopic("registry") + "."
        try await withApp(directory: first, database: database) { client async throws in
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
            let error = await #expect(throws: (any Error).self) {
                try await withApp(
                    directory: second, database: database,
                    configure: { configuration in
                        configuration.logBackend = .kafka(
                            KafkaLog.Configuration(
                                client: KafkaConfiguration(bootstrapServers: kafka.bootstrapServers, replicationFactor: 1), topicPrefix: prefix))
                    }
                ) { _ in }
            }
            #expect("\(error.map { "\($0)" } ?? "")".contains("another Tandem server uses this database"), "\(String(describing: error))")
        }
    }
}
