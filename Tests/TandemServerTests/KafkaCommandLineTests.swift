import Foundation
import NIOHTTP1
import TandemAPI
import TandemTestSupport
import Testing

/// A real `tandem serve` process on Kafka, driven by the command line users have: `tandem post`,
/// `tandem topics`, `tandem consume`; then SIGKILLed and started again, when its speed layer
/// rebuilds every acknowledged event from the topic.
@Suite(.timeLimit(.minutes(4))) struct KafkaCommandLineTests {
    static func config(bootstrap: String, prefix: String) -> String {
        """
        server: {host: 127.0.0.1, port: 0}
        ingest: {max_event_future: none}
        log: {backend: kafka}
        kafka: {bootstrap_servers: "\(bootstrap)", topic_prefix: "\(prefix)", replication_factor: 1}
        streams:
          - name: orders
            partitions: 3
            time_field: ts
            key_field: id
            fields:
              ts: {type: timestamp, required: true}
              id: {type: int, required: true}
              price: {type: double}
        views:
          - name: order_totals
            stream: orders
            bucket: 1d
            aggregates:
              orders: {fn: count}
              revenue: {fn: sum, field: price}
        """
    }

    /// The view's total over all time: (orders, revenue in cents).
    static func totals(_ client: HTTPTestClient) async throws -> (Int64, Int64) {
        let query = #"{"view":"order_totals","from":"2025-01-01T00:00:00Z","to":"2027-01-01T00:00:00Z","granularity":"all"}"#
        let (status, body) = try await client.send(.POST, "/v1/query", body: query)
        #expect(status == 200, "\(body)")
        let answer = try JSONDecoder().decode(QueryResponse.self, from: Data(body.utf8))
        guard let row = answer.rows.first else { return (0, 0) }
        return (row["orders"]?.int ?? 0, Int64(((row["revenue"]?.double ?? 0) * 100).rounded()))
    }

    /// Waits until the view counts `count` orders; returns the totals it answered last.
    static func settle(_ client: HTTPTestClient, count: Int64) async throws -> (Int64, Int64) {
        var totals = try await Self.totals(client)
        for _ in 0..<400 where totals.0 != count {
            try await Task.sleep(for: .milliseconds(25))
            totals = try await Self.totals(client)
        }
        return totals
    }

    @Test func postTopicsAndConsumeWorkAndAKilledServerComesBackWithEveryAcknowledgedEvent() async throws {
        let kafka = try TestKafka.current()
        let directory = try TemporaryDirectory(prefix: "tandem-kafka-cli")
        defer { directory.remove() }
        try Self.config(bootstrap: kafka.bootstrapServers, prefix: TestKafka.uniqueTopic("cli") + ".")
            .write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let base: Int64 = 1_763_596_800_000
        let events = (0..<500).map { #"{"ts":\#(base + Int64($0) * 1000),"id":\#($0),"price":\#(Double($0 % 40) / 4)}"# }
        let file = directory.path + "/orders.ndjson"
        try events.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let revenue = (0..<500).reduce(Int64(0)) { $0 + Int64($1 % 40) * 25 }

        let server = try await ServerProcess.start(in: directory, run: 1)
        let client = HTTPTestClient(baseURL: server.baseURL)
        let posted = try await PostCommandTests.tandem(["post", "--server", server.baseURL, "orders", file], in: directory)
        #expect(posted.status == 0, "\(posted.errors)")

        // tandem topics: one line per partition; the end offsets add up to what was posted.
        let topics = try await PostCommandTests.tandem(["topics", "--server", server.baseURL], in: directory)
        #expect(topics.status == 0, "\(topics.errors)")
        let rows = topics.output.split(separator: "\n").dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(rows.count == 3, "\(topics.output)")
        #expect(rows.reduce(0) { $0 + (Int($1[3]) ?? 0) } == 500, "\(topics.output)")

        // tandem consume: every record, from the beginning, as NDJSON.
        let consumed = try await PostCommandTests.tandem(["consume", "--server", server.baseURL, "--from-beginning", "orders"], in: directory)
        #expect(consumed.status == 0, "\(consumed.errors)")
        let records = try consumed.output.split(separator: "\n").map { try JSONDecoder().decode(StoredRecord.self, from: Data($0.utf8)) }
        #expect(Set(records.compactMap { $0.event["id"]?.int }) == Set((0..<500).map(Int64.init)))

        #expect(try await Self.settle(client, count: 500) == (500, revenue))

        // SIGKILL: nothing is flushed. The new process replays the topic from offset 0.
        server.kill()
        let again = try await ServerProcess.start(in: directory, run: 2)
        defer { again.terminate() }
        let restarted = HTTPTestClient(baseURL: again.baseURL)
        #expect(try await Self.settle(restarted, count: 500) == (500, revenue))
        let more = try await PostCommandTests.tandem(
            ["post", "--server", again.baseURL, "orders", "-"], in: directory,
            input: try Self.input(directory, #"{"ts":\#(base),"id":900,"price":2.5}"#))
        #expect(more.status == 0, "\(more.errors)")
        #expect(try await Self.settle(restarted, count: 501) == (501, revenue + 250))
    }

    /// A file handle reading `text`, for a command's standard input.
    static func input(_ directory: TemporaryDirectory, _ text: String) throws -> FileHandle {
        let path = directory.path + "/stdin-\(UUID().uuidString)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
    }
}
