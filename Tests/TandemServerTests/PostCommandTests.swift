import Foundation
import NIOCore
import NIOHTTP1
import TandemAPI
import TandemTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `tandem post`, the real command against a real server: NDJSON, JSON arrays and CSV arrive
/// whole, a file far larger than the command's memory streams through it, and a refused batch
/// names its input lines.
@Suite("tandem post")
struct PostCommandTests {
    static let config = """
        server: {host: 127.0.0.1, port: 0}
        ingest: {max_event_future: none}
        streams:
          - name: orders
            partitions: 2
            time_field: ts
            key_field: id
            fields:
              ts: {type: timestamp, required: true}
              id: {type: int, required: true}
              price: {type: double}
              note: {type: string}
        """

    /// What a finished command did.
    struct Run {
        var status: Int32
        var output: String
        var errors: String
        /// The command's peak resident memory, KiB, as `tandem post --stats` reports it from the
        /// kernel (`ru_maxrss`) when it ends; 0 without `--stats`. (Sampling `/proc` from outside
        /// missed the peak of a short run on a loaded machine, and so overstated the difference.)
        var peakKiB: Int {
            guard let match = output.firstMatch(of: /peak memory (\d+) KiB/) else { return 0 }
            return Int(match.1) ?? 0
        }
    }

    /// Runs `tandem ARGUMENTS` until it exits. `input` becomes its
    /// standard input; its standard error goes to `errorPath` (a new file by default);
    /// `environment` adds variables.
    static func tandem(
        _ arguments: [String], in directory: TemporaryDirectory, input: FileHandle? = nil, errorPath: String? = nil,
        environment: [String: String] = [:]
    ) async throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerProcess.binaryPath)
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
        if let input { process.standardInput = input }
        let outputPath = directory.path + "/post-\(UUID().uuidString).out", errorPath = errorPath ?? outputPath + ".err"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, output: try String(contentsOfFile: outputPath, encoding: .utf8),
            errors: try String(contentsOfFile: errorPath, encoding: .utf8))
    }

    /// Records stored in the stream's log.
    static func stored(_ client: HTTPTestClient) async throws -> Int64 {
        let (status, body) = try await client.send(.GET, "/v1/streams/orders/partitions")
        #expect(status == 200, "\(body)")
        return try decode(PartitionsResponse.self, body).partitions.reduce(0) { $0 + $1.endOffset - $1.startOffset }
    }

    /// Runs `body` against a fresh server with the `orders` stream.
    static func withServer(_ body: (TemporaryDirectory, ServerProcess, HTTPTestClient) async throws -> Void) async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-post")
        defer { directory.remove() }
        try config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let server = try await ServerProcess.start(in: directory, run: 1)
        defer { server.terminate() }
        try await body(directory, server, HTTPTestClient(baseURL: server.baseURL))
    }

    @Test("NDJSON, a JSON array and CSV arrive whole, and a large file streams in bounded memory")
    func formatsAndMemory() async throws {
        try await Self.withServer { directory, server, client in
            let base: Int64 = 1_763_596_800_000

            // About 96 MB of NDJSON: the old command held all of it (and a copy) in memory.
            let large = directory.path + "/large.ndjson"
            _ = FileManager.default.createFile(atPath: large, contents: nil)
            let writer = try FileHandle(forWritingTo: URL(fileURLWithPath: large))
            let padding = String(repeating: "x", count: 280)
            let count = 300_000
            for chunk in stride(from: 0, to: count, by: 10_000) {
                var text = ""
                for index in chunk..<(chunk + 10_000) {
                    text += #"{"ts":\#(base + Int64(index)),"id":\#(index),"price":\#(Double(index) / 4),"note":"\#(padding)"}"# + "\n"
                }
                writer.write(Data(text.utf8))
            }
            try writer.close()
            let size = try #require(try FileManager.default.attributesOfItem(atPath: large)[.size] as? Int)
            #expect(size > 90 << 20)
            let posted = try await Self.tandem(["post", "--stats", "--server", server.baseURL, "orders", large], in: directory)
            #expect(posted.status == 0, "\(posted.errors)")
            #expect(posted.output.contains("accepted \(count) events into orders"))
            #expect(try await Self.stored(client) == Int64(count))

            // A pretty-printed JSON array, sent in batches of 2.
            let array = directory.path + "/orders.json"
            try """
            [
              {"ts": "2025-11-20T00:00:00Z", "id": 1,
               "note": "a, [quoted] \\"note\\""},
              {"ts": 1763596800001, "id": 2, "price": 2.5},
              {"ts": 1763596800002, "id": 3}
            ]
            """.write(toFile: array, atomically: true, encoding: .utf8)
            let arrayRun = try await Self.tandem(
                ["post", "--stats", "--server", server.baseURL, "--batch-size", "2", "orders", array], in: directory)
            #expect(arrayRun.status == 0, "\(arrayRun.errors)")
            #expect(arrayRun.output.contains("accepted 3 events"))
            // Memory is bounded by the chunks read and the batches in flight, not by the file: the
            // 96 MB file takes at most a third of its size more than a 3-event file does.
            #expect(posted.peakKiB > 0 && arrayRun.peakKiB > 0)
            #expect(
                (posted.peakKiB - arrayRun.peakKiB) * 1024 < size / 3,
                "peak \(posted.peakKiB) KiB for a \(size)-byte file, \(arrayRun.peakKiB) KiB for 3 events")

            // CSV with a header, typed by the stream's schema, sent gzip-compressed.
            let csv = directory.path + "/orders.csv"
            try "ts,id,price,note\r\n2025-11-20T00:00:00Z,4,1.25,\"multi\nline, quoted\"\r\n1763596800003,5,,\r\n"
                .write(toFile: csv, atomically: true, encoding: .utf8)
            let csvRun = try await Self.tandem(["post", "--server", server.baseURL, "--gzip", "orders", csv], in: directory)
            #expect(csvRun.status == 0, "\(csvRun.errors)")
            #expect(csvRun.output.contains("accepted 2 events"))
            #expect(try await Self.stored(client) == Int64(count + 5))
            // The last events of each partition are the ones posted after the large file.
            var stored: [StoredRecord] = []
            let (_, partitions) = try await client.send(.GET, "/v1/streams/orders/partitions")
            for partition in try decode(PartitionsResponse.self, partitions).partitions {
                let (_, records) = try await client.send(
                    .GET, "/v1/streams/orders/records?partition=\(partition.partition)&offset=\(max(0, partition.endOffset - 10))&limit=10")
                stored += try records.split(separator: "\n").map { try decode(StoredRecord.self, String($0)) }
            }
            let note = stored.first { $0.event["id"] == .int(4) }?.event["note"]
            #expect(note == .string("multi\nline, quoted"))
            #expect(stored.first { $0.event["id"] == .int(1) }?.event["note"] == .string(#"a, [quoted] "note""#))
            #expect(stored.first { $0.event["id"] == .int(5) }?.event["price"] == nil)
        }
    }

    @Test("a refused batch names its input lines and the field; bad input names its line")
    func refusals() async throws {
        try await Self.withServer { directory, server, client in

            let csv = directory.path + "/bad.csv"
            try "ts,id,price\n1763596800000,1,1\n1763596800001,2,2\n1763596800002,three,3\n1763596800003,4,4\n"
                .write(toFile: csv, atomically: true, encoding: .utf8)
            let run = try await Self.tandem(
                ["post", "--server", server.baseURL, "--batch-size", "2", "--concurrency", "1", "orders", csv], in: directory)
            #expect(run.status == 1)
            #expect(run.errors.contains("input lines 4–5"), "\(run.errors)")
            #expect(run.errors.contains("\"id\""), "\(run.errors)")
            #expect(run.errors.contains("2 events were accepted before this batch"), "\(run.errors)")
            // The first batch is durable; the refused one added nothing.
            #expect(try await Self.stored(client) == 2)

            let array = directory.path + "/open.json"
            try "[{\"ts\":1763596800000,\"id\":9},\n{\"ts\":".write(toFile: array, atomically: true, encoding: .utf8)
            let open = try await Self.tandem(["post", "--server", server.baseURL, "orders", array], in: directory)
            #expect(open.status == 1)
            #expect(open.errors.contains("line 2: the JSON array is not closed"), "\(open.errors)")

            let usage = try await Self.tandem(["post", "--server", server.baseURL, "--format", "xml", "orders", array], in: directory)
            #expect(usage.status != 0)
            #expect(usage.errors.contains("--format must be one of"))
        }
    }
}
