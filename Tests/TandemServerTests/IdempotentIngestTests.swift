import Events
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Ingest
import NIOCore
import NIOHTTP1
import TandemAPI
import TandemServer
import TandemTestSupport
import Testing

/// A stream with an `id_field`: no id is appended twice within the window.
@Suite("Idempotent ingest")
struct IdempotentIngestTests {
    /// Not keyed, so retries of one event go to another partition (round-robin).
    static let orders = StreamDefinition(
        name: "orders", partitions: 4,
        fields: [
            FieldDefinition(name: "ts", type: .timestamp, required: true),
            FieldDefinition(name: "order_id", type: .string),
            FieldDefinition(name: "amount", type: .int, required: true),
        ],
        timeField: "ts", idField: "order_id")

    static func event(_ id: String?, amount: Int = 1) -> String {
        let idPart = id.map { #""order_id":"\#($0)","# } ?? ""
        return #"{"ts":1763596800000,\#(idPart)"amount":\#(amount)}"#
    }

    static func ndjson(_ ids: [String?]) -> String { ids.map { event($0) }.joined(separator: "\n") }

    static func ingest(_ client: any TestClientProtocol, _ body: String) async throws -> IngestResponse {
        let response = try await client.post(body, stream: "orders", contentType: "application/x-ndjson")
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        return try decode(IngestResponse.self, response)
    }

    @Test func aRetriedRequestAppendsNothingTwiceWhateverPartitionItWouldLandIn() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-dedup")
        defer { directory.remove() }
        try await withApp(directory: directory, configure: { $0.streams = [Self.orders] }) { client in
            let ids = (0..<40).map { "o-\($0)" }
            let first = try await Self.ingest(client, Self.ndjson(ids))
            #expect(first.accepted == 40 && first.duplicates == 0)
            // The same request again: every event is a duplicate, nothing is appended.
            let retry = try await Self.ingest(client, Self.ndjson(ids))
            #expect(retry.accepted == 0 && retry.duplicates == 40)
            #expect(retry.partitions.values.isEmpty)
            // Shifted by one: round-robin would put each in another partition than before.
            let shifted = try await Self.ingest(client, Self.ndjson(["o-new"] + ids))
            #expect(shifted.accepted == 1 && shifted.duplicates == 40)
            // Within one request, the second occurrence is the duplicate; events without an id
            // are always appended.
            let mixed = try await Self.ingest(client, Self.ndjson(["o-a", "o-a", nil, nil, "o-b", "o-0"]))
            #expect(mixed.accepted == 4 && mixed.duplicates == 2)
            let stored = try await client.get(PartitionsResponse.self, "/v1/streams/orders/partitions")
            #expect(stored.partitions.reduce(0) { $0 + $1.endOffset } == 45)
            // The merged answer counts every id once.
            let view =
                #"{"name":"order_totals","stream":"orders","dimensions":[],"bucket":"1h","aggregates":{"n":{"fn":"count"},"amount":{"fn":"sum","field":"amount"}}}"#
            let created = try await client.execute(
                uri: "/v1/views", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: view))
            #expect(created.status == .created, "\(String(buffer: created.body))")
            let query = #"{"view":"order_totals","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"all"}"#
            var answer: QueryResponse?
            for _ in 0..<500 {
                let response = try await client.execute(
                    uri: "/v1/query", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: query))
                answer = try decode(QueryResponse.self, response)
                if answer?.provenance.lagRecords == 0 && answer?.rows.first?["n"] == .int(45) { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(answer?.rows.first?["n"] == .int(45), "\(String(describing: answer?.rows))")
            #expect(answer?.rows.first?["amount"] == .int(45))
        }
    }

    @Test func concurrentRetriesOfTheSameEventsAppendEachOnce() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-dedup-concurrent")
        defer { directory.remove() }
        try await withApp(directory: directory, configure: { $0.streams = [Self.orders] }) { client async throws in
            // 8 clients post overlapping, crossed slices of the same 200 ids at once.
            let accepted = try await withThrowingTaskGroup(of: Int.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        var ids = (0..<200).map { "c-\($0)" }
                        if worker % 2 == 1 { ids.reverse() }
                        var accepted = 0
                        for chunk in stride(from: 0, to: 200, by: 50) {
                            let answer = try await Self.ingest(client, Self.ndjson(Array(ids[chunk..<chunk + 50])))
                            #expect(answer.accepted + answer.duplicates == 50)
                            accepted += answer.accepted
                        }
                        return accepted
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(accepted == 200)
            let stored = try await client.get(PartitionsResponse.self, "/v1/streams/orders/partitions")
            #expect(stored.partitions.reduce(0) { $0 + $1.endOffset } == 200)
        }
    }

    @Test func idsOfEveryTypeAreRecognised() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-dedup-types")
        defer { directory.remove() }
        for type in [FieldType.int, .double, .timestamp, .bool, .string] {
            var definition = Self.orders
            definition.name = "ids_\(type.rawValue)"
            definition.fields[1].type = type
            let stream = definition
            let values: [String] =
                switch type {
                case .int: ["1", "2", "-7", "1"]
                case .double: ["1.5", "0.0", "-0.0", "1.5"]
                case .timestamp: [#""2025-11-20T00:00:00Z""#, "1763596800001", "1763596800000", "1763596800000"]
                case .bool: ["true", "false", "true", "false"]
                case .string: [#""a""#, #""\u0061b""#, #""ab""#, #""é""#]
                }
            try await withApp(directory: directory, configure: { $0.streams = [stream] }) { client in
                let body = values.map { #"{"ts":1763596800000,"order_id":\#($0),"amount":1}"# }.joined(separator: "\n")
                let response = try await client.post(body, stream: stream.name, contentType: "application/x-ndjson")
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                let answer = try decode(IngestResponse.self, response)
                let expected: (Int, Int) =
                    switch type {
                    case .int: (3, 1)
                    // 0.0 and -0.0 are one id
                    case .double: (2, 2)
                    // an RFC 3339 time and its epoch milliseconds are one id
                    case .timestamp: (2, 2)
                    case .bool: (2, 2)
                    // "\u0061b" is "ab"
                    case .string: (3, 1)
                    }
                #expect(answer.accepted == expected.0 && answer.duplicates == expected.1, "\(type): \(answer)")
            }
        }
    }

    @Test func theWindowIsRememberedAtLeastItsLengthAndThenForgotten() async throws {
        let index = IDIndex(windowMilliseconds: 60_000)
        let id = EventFingerprint(integer: 42)
        let other = EventFingerprint(integer: 43)
        let start: Int64 = 1_000_000_000
        let first = await index.reserve([id], now: start)
        #expect(first.isNew == [true])
        index.settle(first, appended: [id], now: start)
        // a failed append is not remembered
        let failed = await index.reserve([other], now: start)
        index.settle(failed, appended: [], now: start)
        #expect(await index.reserve([other], now: start + 1).isNew == [true])
        for later in [start + 1, start + 30_000, start + 59_999, start + 60_000] {
            let again = await index.reserve([id], now: later)
            #expect(again.isNew == [false], "remembered \(later - start) ms later")
            index.settle(again, appended: [], now: later)
        }
        // at most a quarter of the window longer
        let forgotten = await index.reserve([id], now: start + 75_001)
        #expect(forgotten.isNew == [true])
    }

    @Test func aReservationHeldByAnotherRequestIsWaitedFor() async throws {
        let index = IDIndex(windowMilliseconds: 60_000)
        let a = EventFingerprint(integer: 1), b = EventFingerprint(integer: 2)
        let holder = await index.reserve([a, b], now: 0)
        #expect(holder.isNew == [true, true])
        let waiter = Task { await index.reserve([b, a], now: 1) }
        try await Task.sleep(for: .milliseconds(50))
        // the holder's append of `a` succeeded and of `b` failed
        index.settle(holder, appended: [a], now: 1)
        let second = await waiter.value
        #expect(second.isNew == [true, false])
        index.settle(second, appended: [b], now: 2)
        #expect(index.size.ids == 2)
    }

    @Test func memoryPerRememberedIdIs21To43Bytes() async throws {
        let index = IDIndex(windowMilliseconds: 3_600_000)
        var random = SplitMix64(seed: 7)
        let count = 1_000_000
        for i in 0..<count {
            index.remember(EventFingerprint(high: random.next(), low: random.next()), at: Int64(i / 1000))
        }
        let size = index.size
        #expect(size.ids == count)
        let perID = Double(size.bytes) / Double(count)
        #expect(perID >= 21 && perID <= 43, "\(perID) bytes per id")
    }
}

/// Through real processes: the ids survive a SIGKILL, and `tandem post` retries a batch whose
/// answer it lost without doubling it.
@Suite("Idempotent ingest through a real server")
struct IdempotentIngestProcessTests {
    static let config = """
        server: {host: 127.0.0.1, port: 0}
        ingest: {max_event_future: none, dedup_window: 1h}
        streams:
          - name: orders
            partitions: 3
            time_field: ts
            id_field: order_id
            fields:
              ts: {type: timestamp, required: true}
              order_id: {type: string, required: true}
              amount: {type: int}
        """

    /// Starts `tandem serve` on `port`, as `ServerProcess.start` does on a free one.
    static func start(in directory: TemporaryDirectory, run: Int, port: Int) async throws -> ServerProcess {
        let server = try ServerProcess(
            arguments: [
                "--config", directory.path + "/tandem.yaml", "--data-dir", directory.path + "/data", "--port", "\(port)", "--no-batch", "--no-auth",
            ],
            outputPath: directory.path + "/server-\(run).log")
        try await server.waitUntilListening()
        return server
    }

    /// How many times each id is in the log.
    static func stored(_ server: ServerProcess) async throws -> [String: Int] {
        let reader = HTTPTestClient(baseURL: server.baseURL)
        var seen: [String: Int] = [:]
        for partition in 0..<3 {
            for record in try await reader.readAll(StoredRecord.self, stream: "orders", partition: partition) {
                seen[try #require(record.event["order_id"]?.string), default: 0] += 1
            }
        }
        return seen
    }

    @Test func idsSurviveACrashAndPostRetriesAcrossARestart() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-dedup-process")
        defer { directory.remove() }
        try Self.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let events = 20_000
        let file = directory.path + "/orders.ndjson"
        try (0..<events).map { #"{"ts":1763596800000,"order_id":"e-\#($0)","amount":\#($0 % 10)}"# }.joined(separator: "\n")
            .write(toFile: file, atomically: true, encoding: .utf8)

        var server = try await ServerProcess.start(in: directory, run: 1)
        let port = server.port
        // `tandem post` reads the events from a pipe. The first half goes in at once; the server
        // is killed part-way through it, and the second half goes in only after the kill, so the
        // command must retry whatever the machine's speed. The server comes back on the same
        // port once the command has said it is retrying.
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        let halves = [lines[..<(events / 2)], lines[(events / 2)...]].map { Data(($0.joined(separator: "\n") + "\n").utf8) }
        let pipe = Pipe()
        let killed = DispatchSemaphore(value: 0)
        let writer = Thread {
            pipe.fileHandleForWriting.write(halves[0])
            killed.wait()
            pipe.fileHandleForWriting.write(halves[1])
            try? pipe.fileHandleForWriting.close()
        }
        writer.start()
        let errorPath = directory.path + "/post-retries.err"
        let post = Task {
            try await PostCommandTests.tandem(
                [
                    "post", "orders", "-", "--server", "http://127.0.0.1:\(port)", "--batch-size", "200", "--concurrency", "2",
                    "--retries", "12", "--retry-delay", "0.2",
                ], in: directory, input: pipe.fileHandleForReading, errorPath: errorPath)
        }
        let client = HTTPTestClient(baseURL: server.baseURL)
        var deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let (_, body) = try await client.send(.GET, "/v1/streams/orders/partitions")
            let partitions = try JSONDecoder().decode(PartitionsResponse.self, from: Data(body.utf8))
            if partitions.partitions.reduce(0, { $0 + $1.endOffset }) >= 2_000 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        server.kill()
        killed.signal()
        deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline, !((try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "").contains("retrying in") {
            try await Task.sleep(for: .milliseconds(20))
        }
        server = try await Self.start(in: directory, run: 2, port: port)
        let run = try await post.value
        #expect(run.status == 0, "\(run.output)\n\(run.errors)")
        #expect(run.errors.contains("retrying in"), "the kill should have made the command retry: \(run.errors)")
        var seen = try await Self.stored(server)
        #expect(seen.count == events, "every id is in the log")
        #expect(seen.values.allSatisfy { $0 == 1 }, "no id twice: \(seen.filter { $0.value > 1 }.count) doubled")

        // After a second crash, the whole file again: every event is a duplicate.
        server.kill()
        server = try await ServerProcess.start(in: directory, run: 3)
        defer { server.terminate() }
        let again = try await PostCommandTests.tandem(["post", "orders", file, "--server", server.baseURL], in: directory)
        #expect(again.status == 0, "\(again.errors)")
        #expect(again.output.contains("accepted 0 events into orders (\(events) duplicates skipped)"), "\(again.output)")
        seen = try await Self.stored(server)
        #expect(seen.count == events && seen.values.allSatisfy { $0 == 1 })
    }
}
