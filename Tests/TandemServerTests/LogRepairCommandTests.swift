import Foundation
import NIOHTTP1
import TandemAPI
import TandemTestSupport
import Testing

/// The operator's side of a damaged or shared log, through the real `tandem` binary.
@Suite("tandem log repair and the data directory lock")
struct LogRepairCommandTests {
    static let config = CrashTests.config

    /// Posts `count` events (one request each, so each is its own record) and returns them.
    static func post(_ count: Int, to server: ServerProcess) async throws {
        let client = HTTPTestClient(baseURL: server.baseURL)
        for seq in 0..<count {
            let (status, body) = try await client.send(
                .POST, "/v1/streams/orders/events", body: #"{"ts":1763596800000,"client":"c0","seq":\#(seq)}"#)
            #expect(status == 200, "\(body)")
        }
    }

    @Test func aSecondServerOnTheSameDataDirectoryFailsFast() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-lock")
        defer { directory.remove() }
        try Self.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let first = try await ServerProcess.start(in: directory, run: 1)
        defer { first.terminate() }
        let second = try ServerProcess.launch(in: directory, run: 2)
        let error = await #expect(throws: (any Error).self) { try await second.waitUntilListening(timeout: .seconds(30)) }
        let text = "\(String(describing: error))"
        #expect(text.contains("log_locked"), "\(text)")
        #expect(text.contains("in use by another process"), "\(text)")
        // the first one is unharmed
        try await Self.post(1, to: first)
    }

    @Test func damageWithValidRecordsAfterItStopsTheStartUntilRepaired() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-repair")
        defer { directory.remove() }
        try Self.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let server = try await ServerProcess.start(in: directory, run: 1)
        try await Self.post(12, to: server)
        server.terminate()

        // Damage the length field of the third record of the partition holding client c0.
        let log = directory.path + "/data/log/orders"
        let files = try (0..<4).map { "\(log)/\($0)/00000000000000000000.log" }
        let file = try #require(files.first { ((try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? 0) > 0 })
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        let third = bytes.withUnsafeBytes { raw -> Int in
            var position = 0
            for _ in 0..<2 { position += Int(raw.loadUnaligned(fromByteOffset: position, as: UInt32.self).littleEndian) + 4 }
            return position
        }
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
        try handle.seek(toOffset: UInt64(third))
        try handle.write(contentsOf: Data([0xFF, 0xFF, 0x00, 0x00]))
        try handle.close()

        let refused = try ServerProcess.launch(in: directory, run: 2)
        let error = await #expect(throws: (any Error).self) { try await refused.waitUntilListening(timeout: .seconds(30)) }
        let text = "\(String(describing: error))"
        #expect(text.contains("log_corrupt"), "\(text)")
        #expect(text.contains("byte \(third)") && text.contains(file), "names the file and byte: \(text)")
        #expect(text.contains("tandem log repair"), "\(text)")

        let report = try await PostCommandTests.tandem(
            ["log", "repair", "--config", directory.path + "/tandem.yaml", "--data-dir", directory.path + "/data"], in: directory)
        #expect(report.status == 2, "a report alone changes nothing and says so by its status: \(report.errors)")
        #expect(report.output.contains("\(file) is damaged at byte \(third)"), "\(report.output)")
        #expect(report.output.contains("gives up offsets from 2"), "\(report.output)")
        #expect(report.output.contains("valid records from offset 3"), "\(report.output)")
        #expect(report.output.contains("run again with --apply"), "\(report.output)")

        let applied = try await PostCommandTests.tandem(
            ["log", "repair", "--config", directory.path + "/tandem.yaml", "--data-dir", directory.path + "/data", "--apply"],
            in: directory)
        #expect(applied.status == 0, "\(applied.output) \(applied.errors)")
        #expect(applied.output.contains("moved the damaged data to \(directory.path)/data/log/.quarantine/"), "\(applied.output)")

        let restarted = try await ServerProcess.start(in: directory, run: 3)
        defer { restarted.terminate() }
        let reader = HTTPTestClient(baseURL: restarted.baseURL)
        let partition = try #require(files.firstIndex(of: file))
        let records = try await reader.readAll(StoredRecord.self, stream: "orders", partition: partition)
        #expect(records.map(\.offset) == [0, 1], "the records before the damage, and nothing after it")
    }
}
